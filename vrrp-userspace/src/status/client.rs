//! `vrrpd status [--json] [--socket PATH]`: one request to the daemon's status socket, printed as
//! a table or as the daemon's JSON.

use crate::cli::StatusArgs;

pub fn main(args: StatusArgs) -> anyhow::Result<()> {
    let (json, status) = super::server::query(&args.socket)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", super::table::render(&status));
    }
    Ok(())
}
