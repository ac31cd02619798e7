//! `vrrpd run`: the tokio edge that joins dataplane, engine, netlink, sockets and trackers.
//!
//! Start-up follows holo-daemon's order: command line and configuration (errors before anything
//! is touched), logging, then a single-threaded runtime that owns the engine ([`node`]).

pub mod advert;
mod execute;
pub mod garp;
mod iface;
pub mod node;
pub mod plan;
pub mod vips;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing::{info, warn};

use crate::cli::{DEFAULT_CONFIG, RunArgs, WatchArgs};
use crate::config::{LoadOptions, load};

/// Logs to stderr; without timestamps under journald (it adds its own), without colours when
/// stderr is not a terminal.
pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // netlink-packet-route warns about every kernel attribute newer than itself.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{level},netlink_packet_route=error"))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// The pid file (keepalived's `-p`), removed on a clean exit. It is how `vrrpd reload` and
/// exporters find the daemon.
struct PidFile(PathBuf);

impl PidFile {
    fn create(path: &Path) -> anyhow::Result<PidFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing pid file {}", path.display()))?;
        Ok(PidFile(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Realtime round-robin scheduling (keepalived's `vrrp_rt_priority`), on by default: adverts
/// must leave on time while the host is busy. SCHED_RESET_ON_FORK keeps scripts and notify
/// commands at normal priority. 0 turns it off.
fn set_realtime(priority: u8) {
    if priority == 0 {
        return;
    }
    let param = libc::sched_param {
        sched_priority: i32::from(priority.min(99)),
    };
    // SAFETY: sched_setscheduler only reads the sched_param we pass.
    let rc =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rc != 0 {
        warn!(
            "realtime priority {priority}: {}; running with normal scheduling",
            std::io::Error::last_os_error()
        );
    }
}

/// `vrrpd reload`: SIGHUP to the daemon named by the pid file.
pub fn reload(args: crate::cli::ReloadArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.pid_file)
        .with_context(|| format!("reading pid file {}", args.pid_file.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{}: not a pid: {text:?}", args.pid_file.display()))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .with_context(|| format!("signalling vrrpd (pid {pid})"))?;
    eprintln!("vrrpd: reload requested (SIGHUP to pid {pid})");
    Ok(())
}

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let path = match &args.config {
        Some(p) => p.clone(),
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
        None => {
            let Some(iface) = args.iface.clone() else {
                anyhow::bail!(
                    "no configuration: {DEFAULT_CONFIG} does not exist and --config was not given; \
                     give --iface IFACE to watch adverts (observe mode)"
                );
            };
            eprintln!("vrrpd: {DEFAULT_CONFIG} does not exist: running observe mode on {iface}");
            // Watch logs through tracing too (the XDP mode fallback warning).
            init_logging(args.log_level.as_str());
            return crate::dataplane::watch::main(WatchArgs {
                iface,
                xdp_mode: args.xdp_mode,
            });
        }
    };
    init_logging(args.log_level.as_str());
    let mut opts = LoadOptions::default();
    if let Some(id) = &args.config_id {
        opts.config_id = id.clone();
    }
    // --iface replaces every instance's interface, so the configured names need not exist.
    opts.check_interfaces = args.iface.is_none();
    let loaded = load(&path, &opts).map_err(|e| {
        for d in &e.diagnostics {
            eprintln!("{d}");
        }
        anyhow::anyhow!("{}: configuration not loaded", path.display())
    })?;
    for d in &loaded.diagnostics {
        warn!("{d}");
    }
    let plan = plan::Plan::build(&loaded.config, args.iface.as_deref())?;
    info!(
        "Starting vrrpd {} with {} ({} instance(s))",
        env!("CARGO_PKG_VERSION"),
        path.display(),
        plan.engine.instances.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    set_realtime(args.rt_priority);
    let pid_file = PidFile::create(&args.pid_file)?;
    let source = node::Source {
        path,
        opts,
        iface: args.iface.clone(),
        xdp_mode: args.xdp_mode,
    };
    let ops_config = crate::status::OpsConfig {
        status_socket: Some(args.status_socket.clone()),
        metrics_listen: args.metrics_listen,
        data_file: args.data_file.clone(),
        stats_file: args.stats_file.clone(),
    };
    runtime.block_on(async move {
        // Before the node: dump signals queue from here on instead of killing the process.
        let (handle, requests) = crate::status::channel();
        let _ops = crate::status::Ops::start(&ops_config, handle).await?;
        let mut node = node::Node::start(source, plan).await?;
        node.serve_status(requests);
        node.run().await
    })?;
    drop(pid_file);
    info!("Stopped");
    Ok(())
}
