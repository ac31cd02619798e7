//! Command line: `vrrpd [run] …`, `vrrpd watch`, `vrrpd check` (alias `vrrpd -t -f PATH`).
//! Flags mirror keepalived's where keepalived has one (`-f/--use-file`, `-t/--config-test`,
//! `-i/--config-id`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Default configuration file, as keepalived's.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Debug, Parser)]
#[command(
    name = "vrrpd",
    version,
    about = "VRRP daemon with an XDP dataplane; reads keepalived.conf"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `vrrpd -t -f PATH`: check the configuration and exit (keepalived's `--config-test`).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// With `-t`: every missing include file is an error (keepalived's `-e/--all-config`).
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Print the number of the signal keepalived names NAME (STOP, RELOAD, DATA, STATS,
    /// STATS_CLEAR) and exit, as `keepalived --signum=NAME` does for exporters.
    #[arg(long, value_name = "NAME")]
    pub signum: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default when no subcommand is given).
    Run(RunArgs),
    /// Attach in observe mode and print every VRRP advert seen on an interface.
    Watch(WatchArgs),
    /// Check a keepalived.conf and print a normalised summary; exit 0 if it would run.
    Check(CheckArgs),
    /// Ask the running daemon to re-read its configuration (SIGHUP).
    Reload(ReloadArgs),
    /// Show the running daemon's instances and interfaces (from its status socket).
    Status(StatusArgs),
    /// Hold a pass-through XDP program on veth peer ends, so that the ARP/ND answers vrrpd sends
    /// with XDP_TX on the other end are delivered (veth drops XDP_TX frames otherwise).
    XdpPeer(XdpPeerArgs),
    /// Internal: how the daemon starts its scripts (see `track::exec`): sets the parent-death
    /// signal and the user, then becomes the script.
    #[command(hide = true)]
    ScriptExec(ScriptExecArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum XdpMode {
    /// Native (driver) mode.
    Native,
    /// Generic (SKB) mode.
    Skb,
    /// Native, falling back to SKB mode with a warning.
    #[default]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// keepalived.conf to use; default /etc/keepalived/keepalived.conf when it exists, else observe mode.
    #[arg(short = 'f', long = "config", alias = "use-file")]
    pub config: Option<PathBuf>,
    /// Override the `interface` of every instance (the seed configs say eth0); in observe mode, the
    /// interface to watch.
    #[arg(long)]
    pub iface: Option<String>,
    #[arg(long, value_enum, default_value_t = XdpMode::Auto)]
    pub xdp_mode: XdpMode,
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Config-id for `@ID` conditional lines (default: first component of the host name).
    #[arg(short = 'i', long)]
    pub config_id: Option<String>,
    /// Pid file (keepalived's `-p/--pid`).
    #[arg(short = 'p', long = "pid", default_value = DEFAULT_PID_FILE)]
    pub pid_file: PathBuf,
    /// SCHED_RR priority of the daemon (keepalived's `vrrp_rt_priority`); 0 = normal scheduling.
    #[arg(long, default_value_t = 10)]
    pub rt_priority: u8,
    /// Unix socket `vrrpd status` reads (mode 0600, root only).
    #[arg(long, value_name = "PATH", default_value = crate::status::DEFAULT_SOCKET)]
    pub status_socket: PathBuf,
    /// Serve Prometheus metrics at http://ADDR/metrics (off by default).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Where SIGUSR1 writes the keepalived-format data dump; overrides the configuration's
    /// state_file_location [default: /tmp/keepalived.data].
    #[arg(long, value_name = "PATH")]
    pub data_file: Option<PathBuf>,
    /// Where SIGUSR2 writes the keepalived-format stats dump; overrides the configuration's
    /// stats_file_location [default: /tmp/keepalived.stats].
    #[arg(long, value_name = "PATH")]
    pub stats_file: Option<PathBuf>,
    /// Where SIGRTMIN+2 writes the keepalived-format JSON dump [default: /tmp/keepalived.json].
    #[arg(long, value_name = "PATH")]
    pub json_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print the daemon's JSON snapshot instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The daemon's status socket.
    #[arg(long, value_name = "PATH", default_value = crate::status::DEFAULT_SOCKET)]
    pub socket: PathBuf,
}

/// Default pid file.
pub const DEFAULT_PID_FILE: &str = "/run/vrrpd.pid";

#[derive(Debug, Clone, Args)]
pub struct ReloadArgs {
    /// Pid file of the running daemon.
    #[arg(short = 'p', long = "pid", default_value = DEFAULT_PID_FILE)]
    pub pid_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Interface to attach to.
    #[arg(long)]
    pub iface: String,
    #[arg(long, value_enum, default_value_t = XdpMode::Auto)]
    pub xdp_mode: XdpMode,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// keepalived.conf to check (default /etc/keepalived/keepalived.conf, as keepalived's).
    #[arg(short = 'f', long = "config", alias = "use-file", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Every missing include file is an error (keepalived's `-e/--all-config`).
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Print the normalised model as JSON.
    #[arg(long)]
    pub dump: bool,
    /// Config-id for `@ID` conditional lines.
    #[arg(short = 'i', long)]
    pub config_id: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ScriptExecArgs {
    /// The daemon's pid: if it is no longer the parent, the script is not run.
    #[arg(long)]
    pub parent: u32,
    #[arg(long)]
    pub uid: Option<u32>,
    #[arg(long)]
    pub gid: Option<u32>,
    /// The script's program and arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<std::ffi::OsString>,
}

#[derive(Debug, Clone, Args)]
pub struct XdpPeerArgs {
    /// Interfaces (veth peer ends) to hold `xdp_pass` on; repeatable.
    #[arg(long, required = true)]
    pub iface: Vec<String>,
}
