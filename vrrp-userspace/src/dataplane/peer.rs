//! `vrrpd xdp-peer --iface IF…`: holds the object's pass-through XDP program (`xdp_pass`) on
//! interfaces until SIGINT/SIGTERM. A frame that vrrpd sends back with XDP_TX (its ARP/ND
//! answers) on one end of a veth pair is dropped by the kernel unless the *other* end runs an XDP
//! program too; run this on the peer ends (the bridge side in containers and in our network
//! namespace tests). It forwards everything to the kernel and costs nothing else.

use anyhow::Context as _;
use vrrp_common::XdpConfig;

use super::{XdpObject, XdpProgram};
use crate::cli::XdpPeerArgs;

pub fn main(args: XdpPeerArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    runtime.block_on(async move {
        let mut object = XdpObject::load(XdpConfig::default())?;
        for iface in &args.iface {
            let ifindex = nix::net::if_::if_nametoindex(iface.as_str())
                .with_context(|| format!("interface {iface}"))?;
            object
                .program_mut(XdpProgram::Pass)?
                .attach_to_if_index(ifindex, aya::programs::XdpMode::Driver)
                .with_context(|| format!("attaching xdp_pass to {iface} (native mode)"))?;
        }
        eprintln!("xdp-peer: xdp_pass attached to {}", args.iface.join(", "));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        // Dropping the object closes the bpf_links: the programs detach.
        Ok(())
    })
}
