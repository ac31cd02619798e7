//! `vrrpd watch`: observe mode.
use crate::cli::WatchArgs;

pub fn main(args: WatchArgs) -> anyhow::Result<()> {
    anyhow::bail!("watch on {}: not built yet", args.iface)
}
