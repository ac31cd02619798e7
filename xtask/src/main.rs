//! `cargo xtask`: set-up, build, run, test and benchmarks for vrrpd.
fn main() -> anyhow::Result<()> {
    Ok(())
}
