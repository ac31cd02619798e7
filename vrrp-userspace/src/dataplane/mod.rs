//! The XDP dataplane: loads the embedded `vrrp-ebpf` object, attaches it to interfaces, programs
//! its maps (VRIDs of interest, VIP gate), reads its counters and streams adverts from its ring
//! buffer. The only userspace code that touches aya.
//!
//! [`XdpObject`] is one loaded copy of the object (programs + maps, attached nowhere: what the
//! `BPF_PROG_TEST_RUN` tests and the benchmark drive); [`Attachment`] is an `XdpObject` attached
//! to one interface with its ring buffer registered with tokio.

mod attach;
mod counters;
mod error;
mod events;
pub mod link_xdp;
mod object;
pub mod peer;
mod repeats;
pub mod watch;

pub use attach::{Attachment, XdpModeUsed};
pub use counters::Counters;
pub use error::DataplaneError;
pub use events::EventRing;
pub use object::{TestRunOutcome, VridWant, XdpObject, XdpProgram};
pub use repeats::{Received, Receiver, RxLastView};

/// The XDP object built by `build.rs`, embedded so that `vrrpd` is one self-contained binary.
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp"));

/// Name of the trivial `XDP_PASS` program in the same object (benchmark baseline, veth peer).
pub const PASS_PROGRAM_NAME: &str = "xdp_pass";

/// Name of the program that takes one receive timestamp and passes (benchmark reference).
pub const KTIME_PROGRAM_NAME: &str = "xdp_ktime";
