//! The XDP dataplane: loads the embedded `vrrp-ebpf` object, attaches it to interfaces, programs
//! its maps (VRIDs of interest, VIP gate), reads its counters and streams adverts from its ring
//! buffer. The only userspace code that touches aya.

pub mod watch;

/// The XDP object built by `build.rs`, embedded so that `vrrpd` is one self-contained binary.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp"));
