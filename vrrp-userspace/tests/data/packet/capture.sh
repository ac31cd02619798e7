#!/bin/bash
# Regenerates the golden frames in this directory from a real keepalived (see README.md).
# usage (as root): ./capture.sh [CASE...]     default: every *.conf here
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    for c in "$here"/*.conf; do cases+=("$(basename "$c" .conf)"); done
fi
work=$(mktemp -d)
ns_k=vrrpcap$$k   # keepalived's side
ns_p=vrrpcap$$p   # the capturing peer
ka_pid= td_pid=

cleanup() {
    [ -n "$ka_pid" ] && kill "$ka_pid" 2>/dev/null || true
    [ -n "$td_pid" ] && kill "$td_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$ns_k" 2>/dev/null || true
    ip netns del "$ns_p" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for case in "${cases[@]}"; do
    ip netns add "$ns_k"
    ip netns add "$ns_p"
    ip link add vk netns "$ns_k" address 02:00:00:00:00:01 type veth \
        peer name vp netns "$ns_p" address 02:00:00:00:00:02
    for ns in "$ns_k" "$ns_p"; do
        # No DAD: link-local addresses are usable at once, so the first IPv6 advert has
        # its final source address.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        ip -n "$ns" link set lo up
    done
    ip -n "$ns_k" addr add 10.0.0.1/24 dev vk
    ip -n "$ns_k" addr add fd00::1/64 dev vk nodad
    ip -n "$ns_p" addr add 10.0.0.2/24 dev vp
    ip -n "$ns_p" addr add fd00::2/64 dev vp nodad
    ip -n "$ns_k" link set vk up
    ip -n "$ns_p" link set vp up

    ip netns exec "$ns_p" tcpdump -q -U -i vp -w "$work/$case.pcap" 'ip proto 112 or ip6 proto 112 or arp or icmp6' 2>/dev/null &
    td_pid=$!
    sleep 1
    ip netns exec "$ns_k" keepalived --vrrp -n -l -D -f "$here/$case.conf" \
        -p "$work/ka.pid" -r "$work/vrrp.pid" >"$work/$case.log" 2>&1 &
    ka_pid=$!
    # Long enough for master_down_interval (3 × advert_int + skew) and a few adverts.
    sleep 12
    # SIGTERM makes keepalived send its priority-0 "I am leaving" advert.
    kill -TERM "$ka_pid"; wait "$ka_pid" || true; ka_pid=
    sleep 1
    kill "$td_pid"; wait "$td_pid" || true; td_pid=

    if ! python3 "$here/extract.py" "$case" "$work/$case.pcap" "$here"; then
        cat "$work/$case.log" >&2
        exit 1
    fi
    ip netns del "$ns_k"
    ip netns del "$ns_p"
done
