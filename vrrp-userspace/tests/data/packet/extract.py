#!/usr/bin/env python3
"""Pick golden frames out of a classic pcap written by `tcpdump -w`.

usage: extract.py CASE PCAP OUTDIR

Writes OUTDIR/CASE.frame.hex (first VRRP advert with priority != 0),
OUTDIR/CASE_prio0.frame.hex (first priority-0 advert, sent by keepalived on shutdown),
and, if present, OUTDIR/CASE_garp.frame.hex / OUTDIR/CASE_na.frame.hex (first gratuitous
ARP / unsolicited neighbour advertisement). Each file holds one whole Ethernet frame as
lowercase hex, 32 bytes per line.
"""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    assert linktype == 1, "expected LINKTYPE_ETHERNET"
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield data[off:off + incl]
        off += incl


def classify(frame):
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0806:
        return "garp"
    if ethertype == 0x0800 and frame[14 + 9] == 112:
        ihl = (frame[14] & 0x0F) * 4
        return "prio0" if frame[14 + ihl + 2] == 0 else "advert"
    if ethertype == 0x86DD:
        nh = frame[14 + 6]
        if nh == 112:
            return "prio0" if frame[14 + 40 + 2] == 0 else "advert"
        if nh == 58 and frame[14 + 40] == 136:
            return "na"
    return None


def main():
    case, pcap, outdir = sys.argv[1:4]
    suffix = {"advert": "", "prio0": "_prio0", "garp": "_garp", "na": "_na"}
    seen = set()
    for frame in frames(pcap):
        kind = classify(frame)
        if kind is None or kind in seen:
            continue
        seen.add(kind)
        hexed = frame.hex()
        lines = [hexed[i:i + 64] for i in range(0, len(hexed), 64)]
        with open(f"{outdir}/{case}{suffix[kind]}.frame.hex", "w") as out:
            out.write("\n".join(lines) + "\n")
    missing = {"advert", "prio0"} - seen
    if missing:
        sys.exit(f"{case}: no {sorted(missing)} frame in {pcap}")
    print(f"{case}: wrote {sorted(seen)}")


main()
