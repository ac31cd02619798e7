//! VRRP advertisements: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) over IPv4 and IPv6.
//!
//! ```text
//! RFC 5798 §5.1 (VRRPv3):
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |(rsvd) |     Max Adver Int     |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     IPvX Address(es) (4 or 16 bytes each)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! RFC 3768 §5.1 (VRRPv2, IPv4 only) differs in bytes 4-5 and appends authentication data:
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address(es)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (1)                   |
//! |                     Authentication Data (2)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The VRRP header does not carry its IP family; the caller takes it from the IP header, along
//! with the addresses for the checksum's pseudo-header ([`PseudoHeader`]).
//!
//! **Length.** A message is `8 + count × (4|16) [+ 8 for v2]` bytes. The caller passes the IP
//! payload as the IP length field delimits it; bytes after the message (which keepalived
//! tolerates as padding, keepalived-behaviour.md §2.8 step 2) are ignored and not covered by the
//! checksum. [`Packet::message_len`] tells the caller how long the message was, should it want to
//! compare against the IP length itself.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Family, checksum, ipv4};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// The only VRRP packet type (ADVERTISEMENT).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Size of the VRRPv2 authentication data field.
pub const AUTH_DATA_LEN: usize = 8;
/// The address count is one byte.
pub const MAX_ADDRS: usize = 255;
/// VRRPv3 Max Adver Int is 12 bits of centiseconds.
pub const MAX_ADVERT_INT_V3: u16 = 0x0fff;

mod field {
    use core::ops::Range;
    /// Version (high nibble) | type (low nibble).
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v3: 4 reserved bits + 12-bit max advert interval in centiseconds.
    pub const MAX_ADVER: Range<usize> = 4..6;
    /// v2: byte 4 is the authentication type ...
    pub const AUTH_TYPE: usize = 4;
    /// ... and byte 5 the advert interval in whole seconds.
    pub const ADVER_INT_V2: usize = 5;
    pub const CHECKSUM: Range<usize> = 6..8;
    /// Start of the address list (and, for v2, of the auth data after it).
    pub const ADDRS: usize = 8;
}

/// Length of the fixed part, before the address list.
pub const HEADER_LEN: usize = field::ADDRS;

/// Why an advert was rejected. One variant per reason, so the engine can count them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error, serde::Serialize, serde::Deserialize,
)]
pub enum Error {
    #[error("VRRP message of {len} bytes is shorter than the {need}-byte header")]
    Truncated { len: usize, need: usize },
    #[error("VRRP version field is {0}, expected 2 or 3")]
    BadVersion(u8),
    #[error("VRRP version 2 over IPv6 (RFC 3768 is IPv4 only)")]
    V2OverIpv6,
    #[error("VRRP address count {count} needs a longer message than the {len} bytes received")]
    AddrCountMismatch { count: u8, len: usize },
    #[error("VRRP type field is {0}, expected 1 (ADVERTISEMENT)")]
    BadType(u8),
    #[error("VRRPv2 authentication type is {0}, expected 0, 1 or 2")]
    BadAuthType(u8),
    #[error("VRRP advertisement interval is 0")]
    ZeroInterval,
    #[error("VRRP checksum is {got:#06x}, expected {want:#06x}")]
    BadChecksum { got: u16, want: u16 },
}

impl Error {
    /// A stable snake_case counter name per reason, after keepalived's `.stats` / SNMP counters
    /// where one exists (`packet_len_err`, `invalid_type_rcvd`, `advert_interval_err`,
    /// `invalid_authtype`).
    pub const fn reason(&self) -> &'static str {
        match self {
            Error::Truncated { .. } | Error::AddrCountMismatch { .. } => "packet_len_err",
            Error::BadVersion(_) | Error::V2OverIpv6 => "version_err",
            Error::BadType(_) => "invalid_type_rcvd",
            Error::BadAuthType(_) => "invalid_authtype",
            Error::ZeroInterval => "advert_interval_err",
            Error::BadChecksum { .. } => "checksum_err",
        }
    }
}

/// Why a [`Repr`] could not be written. These are caller bugs or impossible configurations, not
/// network input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    #[error("VRRP emit buffer is {len} bytes, the message needs exactly {need}")]
    BufferLen { len: usize, need: usize },
    #[error("VRRP address list has {0} entries, the count field holds at most 255")]
    TooManyAddrs(usize),
    #[error("VRRP address {index} is not {family} like the pseudo-header")]
    MixedFamily { index: usize, family: Family },
    #[error("VRRP version 2 over IPv6 (RFC 3768 is IPv4 only)")]
    V2OverIpv6,
    #[error("VRRP advertisement interval {value} does not fit the {version} field")]
    IntervalRange { version: Version, value: u16 },
    #[error("VRRP advertisement interval is 0")]
    ZeroInterval,
    #[error("VRRPv3 has no authentication, but {0:?} was given")]
    AuthWithV3(Auth),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in seconds, authentication.
    V2,
    /// RFC 5798: IPv4 and IPv6, interval in centiseconds, no authentication.
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    /// The largest value the interval field of this version holds.
    pub const fn max_advert_int(self) -> u16 {
        match self {
            Version::V2 => u8::MAX as u16,
            Version::V3 => MAX_ADVERT_INT_V3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6, keepalived's `authentication { }` block). Always
/// [`Auth::None`] for v3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Auth {
    /// Type 0. The auth data field is sent as zeros and ignored on receipt.
    None,
    /// Type 1: a clear-text password, NUL-padded to 8 bytes.
    Pass([u8; AUTH_DATA_LEN]),
    /// Type 2: IPsec AH. The advert arrives inside an AH header the caller has already
    /// removed; the auth data field is zeros.
    Ah,
}

impl Auth {
    pub const TYPE_NONE: u8 = 0;
    pub const TYPE_PASS: u8 = 1;
    pub const TYPE_AH: u8 = 2;

    /// A PASS block as keepalived builds it from `auth_pass`: the first 8 bytes, NUL-padded.
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::Pass(data)
    }

    pub const fn auth_type(&self) -> u8 {
        match self {
            Auth::None => Self::TYPE_NONE,
            Auth::Pass(_) => Self::TYPE_PASS,
            Auth::Ah => Self::TYPE_AH,
        }
    }

    const fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::Pass(data) => *data,
            Auth::None | Auth::Ah => [0; AUTH_DATA_LEN],
        }
    }
}

/// How the checksum of a VRRPv3 advert over IPv4 is computed (keepalived-behaviour.md §2.7).
/// VRRPv2 never uses a pseudo-header, and VRRPv3 over IPv6 always does, whatever the mode.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ChecksumMode {
    /// RFC 5798 §5.2.8: with the IPv4 pseudo-header (src, dst, 0, 112, length). keepalived's
    /// default.
    #[default]
    Rfc5798,
    /// keepalived's `v3_checksum_as_v2`: no pseudo-header, as VRRPv2 (RFC 9568 errata; Cisco,
    /// Juniper).
    V3AsV2,
    /// keepalived before 1.3.6 in unicast mode: the pseudo-header's destination is the multicast
    /// group 224.0.0.18 rather than the unicast peer (`old_unicast_checksum`, keepalived #642).
    OldUnicast,
}

/// The IP addresses an advert travelled between; they feed the pseudo-header and fix the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PseudoHeader {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl PseudoHeader {
    /// `None` when `src` and `dst` are of different families.
    pub const fn new(src: IpAddr, dst: IpAddr) -> Option<PseudoHeader> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(PseudoHeader::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(PseudoHeader::V6 { src, dst }),
            _ => None,
        }
    }

    pub const fn family(&self) -> Family {
        match self {
            PseudoHeader::V4 { .. } => Family::Ipv4,
            PseudoHeader::V6 { .. } => Family::Ipv6,
        }
    }
}

/// A zero-copy view of a VRRP message in `buffer`.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps without checking. Accessors may panic unless [`Packet::check_len`] passed.
    pub const fn new_unchecked(buffer: T, family: Family) -> Packet<T> {
        Packet { buffer, family }
    }

    /// Wraps and checks the length (the only constructor for untrusted input).
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer, family);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks, in layers, that the buffer holds the fixed header, then `count` addresses, then
    /// (when the version nibble says 2) the auth data. After this, no accessor panics.
    pub fn check_len(&self) -> Result<(), Error> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated {
                len,
                need: HEADER_LEN,
            });
        }
        if len < self.message_len() {
            return Err(Error::AddrCountMismatch {
                count: self.addr_count(),
                len,
            });
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub const fn family(&self) -> Family {
        self.family
    }

    /// The version nibble, unvalidated.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    /// The type nibble, unvalidated.
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    #[inline]
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    #[inline]
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v3 view of bytes 4-5: the 12-bit max advert interval in centiseconds (the reserved bits
    /// are ignored, as RFC 5798 §5.2.4 asks of receivers).
    #[inline]
    pub fn max_advert_int(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER];
        u16::from_be_bytes([b[0], b[1]]) & MAX_ADVERT_INT_V3
    }

    /// v2 view of byte 4: the authentication type.
    #[inline]
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// v2 view of byte 5: the advert interval in seconds.
    #[inline]
    pub fn advert_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn addrs_end(&self) -> usize {
        field::ADDRS + usize::from(self.addr_count()) * self.family.addr_len()
    }

    /// The message length the header implies: fixed part, address list and, for version 2, the
    /// auth data. Never more than 8 + 255 × 16 + 8, so it cannot overflow.
    pub fn message_len(&self) -> usize {
        self.addrs_end()
            + if self.version() == 2 {
                AUTH_DATA_LEN
            } else {
                0
            }
    }

    /// Address `index` of the list, `None` past `count` (or past the buffer, if unchecked).
    pub fn addr(&self, index: usize) -> Option<IpAddr> {
        if index >= usize::from(self.addr_count()) {
            return None;
        }
        let alen = self.family.addr_len();
        let start = field::ADDRS + index * alen;
        let bytes = self.buffer.as_ref().get(start..start + alen)?;
        Some(match self.family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
            Family::Ipv6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(a))
            }
        })
    }

    /// The v2 auth data after the address list; `None` unless the version nibble is 2 and the
    /// bytes are there.
    pub fn auth_data(&self) -> Option<[u8; AUTH_DATA_LEN]> {
        if self.version() != 2 {
            return None;
        }
        let start = self.addrs_end();
        let bytes = self.buffer.as_ref().get(start..start + AUTH_DATA_LEN)?;
        let mut data = [0u8; AUTH_DATA_LEN];
        data.copy_from_slice(bytes);
        Some(data)
    }

    /// The checksum the message should carry, computed with the checksum field as zero over
    /// the message (not trailing bytes), with the pseudo-header `mode` and the version call for.
    /// Requires a passed `check_len`; returns 0 on a too-short buffer rather than panicking.
    pub fn compute_checksum(&self, ph: &PseudoHeader, mode: ChecksumMode) -> u16 {
        let Some(msg) = self.buffer.as_ref().get(..self.message_len()) else {
            return 0;
        };
        let len = msg.len();
        let body = checksum::combine(&[
            checksum::sum(&msg[..field::CHECKSUM.start]),
            checksum::sum(&msg[field::CHECKSUM.end..]),
        ]);
        let pseudo = match (self.version(), ph, mode) {
            (2, _, _) | (_, PseudoHeader::V4 { .. }, ChecksumMode::V3AsV2) => 0,
            (_, PseudoHeader::V4 { src, dst }, ChecksumMode::Rfc5798) => {
                checksum::pseudo_header_v4(*src, *dst, IPPROTO_VRRP, len as u16)
            }
            (_, PseudoHeader::V4 { src, .. }, ChecksumMode::OldUnicast) => {
                checksum::pseudo_header_v4(*src, ipv4::VRRP_MULTICAST, IPPROTO_VRRP, len as u16)
            }
            (_, PseudoHeader::V6 { src, dst }, _) => {
                checksum::pseudo_header_v6(src, dst, IPPROTO_VRRP, len as u32)
            }
        };
        checksum::finish(&[pseudo, body])
    }

    /// Whether the checksum field holds [`Packet::compute_checksum`]'s value.
    pub fn verify_checksum(&self, ph: &PseudoHeader, mode: ChecksumMode) -> bool {
        self.checksum() == self.compute_checksum(ph, mode)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.buffer.as_mut()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0f);
    }

    #[inline]
    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    #[inline]
    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    #[inline]
    pub fn set_addr_count(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    /// Writes the v3 interval with the reserved bits zero (RFC 5798 §5.2.4).
    #[inline]
    pub fn set_max_advert_int(&mut self, centiseconds: u16) {
        self.buffer.as_mut()[field::MAX_ADVER]
            .copy_from_slice(&(centiseconds & MAX_ADVERT_INT_V3).to_be_bytes());
    }

    #[inline]
    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    #[inline]
    pub fn set_advert_int_v2(&mut self, seconds: u8) {
        self.buffer.as_mut()[field::ADVER_INT_V2] = seconds;
    }

    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes address `index`; panics if it lies outside the buffer or is of the wrong family
    /// (emit checks both first).
    pub fn set_addr(&mut self, index: usize, addr: &IpAddr) {
        let alen = self.family.addr_len();
        let start = field::ADDRS + index * alen;
        let dst = &mut self.buffer.as_mut()[start..start + alen];
        match addr {
            IpAddr::V4(a) if alen == 4 => dst.copy_from_slice(&a.octets()),
            IpAddr::V6(a) if alen == 16 => dst.copy_from_slice(&a.octets()),
            _ => panic!("VRRP set_addr: {addr} in a {} packet", self.family),
        }
    }

    /// Writes the v2 auth data after the address list given by the count field.
    pub fn set_auth_data(&mut self, data: &[u8; AUTH_DATA_LEN]) {
        let start = self.addrs_end();
        self.buffer.as_mut()[start..start + AUTH_DATA_LEN].copy_from_slice(data);
    }

    pub fn fill_checksum(&mut self, ph: &PseudoHeader, mode: ChecksumMode) {
        self.set_checksum(0);
        let c = self.compute_checksum(ph, mode);
        self.set_checksum(c);
    }
}

/// The meaning of an advert.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Repr {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// v2: whole seconds (8 bits); v3: centiseconds (12 bits).
    pub max_advert_int: u16,
    /// Always [`Auth::None`] for v3.
    pub auth: Auth,
    /// All of the family in the pseudo-header.
    pub addrs: Vec<IpAddr>,
}

impl Repr {
    /// Parses and validates a received advert. `bytes` is the IP payload; `ph` gives the family
    /// and the pseudo-header addresses; `mode` is the configured v3/IPv4 checksum variant.
    /// Checks run in this order, so each rejected advert has one reason: length of the fixed
    /// header, version, v2-over-IPv6, length of the address list and auth data, type, v2 auth
    /// type, zero interval, checksum.
    pub fn parse(bytes: &[u8], ph: &PseudoHeader, mode: ChecksumMode) -> Result<Repr, Error> {
        let family = ph.family();
        let packet = Packet::new_unchecked(bytes, family);
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated {
                len: bytes.len(),
                need: HEADER_LEN,
            });
        }
        let version = match packet.version() {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(Error::BadVersion(other)),
        };
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(Error::V2OverIpv6);
        }
        packet.check_len()?;
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(Error::BadType(packet.msg_type()));
        }
        let (auth, max_advert_int) = match version {
            Version::V2 => {
                let data = packet.auth_data().unwrap_or_default();
                let auth = match packet.auth_type() {
                    Auth::TYPE_NONE => Auth::None,
                    Auth::TYPE_PASS => Auth::Pass(data),
                    Auth::TYPE_AH => Auth::Ah,
                    other => return Err(Error::BadAuthType(other)),
                };
                (auth, u16::from(packet.advert_int_v2()))
            }
            Version::V3 => (Auth::None, packet.max_advert_int()),
        };
        if max_advert_int == 0 {
            return Err(Error::ZeroInterval);
        }
        // Decoded fully before the checksum is looked at, so a fuzzer reaches every line above.
        let addrs = (0..usize::from(packet.addr_count()))
            .filter_map(|i| packet.addr(i))
            .collect();
        let repr = Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            max_advert_int,
            auth,
            addrs,
        };
        let want = packet.compute_checksum(ph, mode);
        if packet.checksum() != want {
            return Err(Error::BadChecksum {
                got: packet.checksum(),
                want,
            });
        }
        Ok(repr)
    }

    /// Bytes the message occupies (the same for either family when there are no addresses).
    pub fn buffer_len(&self) -> usize {
        let alen = match self.addrs.first() {
            Some(a) => Family::of(a).addr_len(),
            None => 0,
        };
        let auth = match self.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        HEADER_LEN + self.addrs.len() * alen + auth
    }

    /// Checks that this advert can be written for `family`, without writing anything.
    pub fn validate(&self, family: Family) -> Result<(), EmitError> {
        if self.addrs.len() > MAX_ADDRS {
            return Err(EmitError::TooManyAddrs(self.addrs.len()));
        }
        if let Some(index) = self.addrs.iter().position(|a| Family::of(a) != family) {
            return Err(EmitError::MixedFamily { index, family });
        }
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(EmitError::V2OverIpv6);
        }
        if self.max_advert_int == 0 {
            return Err(EmitError::ZeroInterval);
        }
        if self.max_advert_int > self.version.max_advert_int() {
            return Err(EmitError::IntervalRange {
                version: self.version,
                value: self.max_advert_int,
            });
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(EmitError::AuthWithV3(self.auth));
        }
        Ok(())
    }

    /// Writes the advert, checksum included, into `buf`, which must be exactly
    /// [`Repr::buffer_len`] bytes. On error nothing has been written.
    pub fn emit(
        &self,
        buf: &mut [u8],
        ph: &PseudoHeader,
        mode: ChecksumMode,
    ) -> Result<(), EmitError> {
        let family = ph.family();
        self.validate(family)?;
        let need = self.buffer_len();
        if buf.len() != need {
            return Err(EmitError::BufferLen {
                len: buf.len(),
                need,
            });
        }
        let mut packet = Packet::new_unchecked(buf, family);
        packet.set_version_type(self.version.number(), TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid);
        packet.set_priority(self.priority);
        // validate() bounds the count by 255.
        packet.set_addr_count(self.addrs.len() as u8);
        match self.version {
            Version::V2 => {
                packet.set_auth_type(self.auth.auth_type());
                // validate() bounds a v2 interval by 255.
                packet.set_advert_int_v2(self.max_advert_int as u8);
            }
            Version::V3 => packet.set_max_advert_int(self.max_advert_int),
        }
        for (i, addr) in self.addrs.iter().enumerate() {
            packet.set_addr(i, addr);
        }
        if self.version == Version::V2 {
            packet.set_auth_data(&self.auth.data());
        }
        packet.fill_checksum(ph, mode);
        Ok(())
    }

    /// [`Repr::emit`] into a new buffer of the right size.
    pub fn to_bytes(&self, ph: &PseudoHeader, mode: ChecksumMode) -> Result<Vec<u8>, EmitError> {
        let mut buf = vec![0u8; self.buffer_len()];
        self.emit(&mut buf, ph, mode)?;
        Ok(buf)
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.version {
            Version::V2 => "s",
            Version::V3 => "cs",
        };
        write!(
            f,
            "{} vrid={} prio={} int={}{} auth={:?} addrs=[",
            self.version, self.vrid, self.priority, self.max_advert_int, unit, self.auth
        )?;
        for (i, a) in self.addrs.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
#[path = "vrrp_tests.rs"]
mod tests;
