//! `vrrpd check` / `vrrpd -t -f PATH`.
use std::process::ExitCode;

use crate::cli::CheckArgs;

pub fn main(args: CheckArgs) -> ExitCode {
    eprintln!("check {}: not built yet", args.config.display());
    ExitCode::FAILURE
}
