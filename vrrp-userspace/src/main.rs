//! The `vrrpd` binary: parses the command line and hands over to the library.
use std::process::ExitCode;

use clap::Parser;
use vrrpd::cli::{CheckArgs, Cli, Command, LogLevel};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(name) = &cli.signum {
        // keepalived's words and exit codes, which exporters rely on.
        return match vrrpd::status::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::FAILURE
            }
        };
    }
    let result = match cli.command {
        Some(Command::Watch(args)) => {
            // Before attaching: the dataplane reports through tracing (the `--xdp-mode auto`
            // fallback to SKB mode is a warning), which says nothing without a subscriber.
            vrrpd::daemon::init_logging(LogLevel::Info.as_str());
            vrrpd::dataplane::watch::main(args)
        }
        Some(Command::Check(args)) => return vrrpd::config::check::main(args),
        Some(Command::XdpPeer(args)) => vrrpd::dataplane::peer::main(args),
        Some(Command::ScriptExec(args)) => {
            // Returns only if the script could not be started; a shell's exit codes.
            let e = vrrpd::track::exec::script_exec(&args);
            eprintln!("vrrpd script-exec: {e}");
            return ExitCode::from(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
        Some(Command::Run(args)) => run_daemon(args),
        Some(Command::Reload(args)) => vrrpd::daemon::reload(args),
        Some(Command::Status(args)) => vrrpd::status::client::main(args),
        None if cli.config_test => {
            // keepalived -t without -f checks the default file.
            let config = cli
                .run
                .config
                .unwrap_or_else(|| vrrpd::cli::DEFAULT_CONFIG.into());
            return vrrpd::config::check::main(CheckArgs {
                config,
                dump: false,
                config_id: cli.run.config_id,
                all_config: cli.all_config,
            });
        }
        None => run_daemon(cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vrrpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The daemon, whose scripts start through this binary (`script-exec`), never by forking the
/// daemon. `/proc/self/exe` keeps working when an upgrade replaces the file.
fn run_daemon(args: vrrpd::cli::RunArgs) -> anyhow::Result<()> {
    let own_binary = std::path::Path::new("/proc/self/exe");
    if own_binary.exists() {
        vrrpd::track::exec::use_helper(own_binary.into());
    } else if let Ok(path) = std::env::current_exe() {
        vrrpd::track::exec::use_helper(path);
    }
    vrrpd::daemon::main(args)
}
