//! Builds the XDP program (`vrrp-ebpf`) with the nightly toolchain and bpf-linker through
//! aya-build, leaving the object in `OUT_DIR` for `include_bytes_aligned!`, so that `vrrpd` is one
//! self-contained binary. `cargo xtask setup` installs what this needs.
use anyhow::{Context as _, anyhow};

fn main() -> anyhow::Result<()> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = metadata
        .packages
        .into_iter()
        .find(|p| p.name.as_str() == "vrrp-ebpf")
        .ok_or_else(|| anyhow!("vrrp-ebpf package not found in the workspace"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("no parent for {}", ebpf.manifest_path))?;
    let package = aya_build::Package {
        name: ebpf.name.as_str(),
        root_dir: root_dir.as_str(),
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::default())
}
