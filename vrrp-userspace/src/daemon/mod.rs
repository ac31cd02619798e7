//! `vrrpd run`: the tokio edge that joins dataplane, engine, netlink, sockets and trackers.
use crate::cli::RunArgs;

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("run {:?}: not built yet", args.config)
}
