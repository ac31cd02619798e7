//! The object depends on `bpf-linker`, which cargo cannot see: rebuild when the linker changes.
fn main() {
    if let Ok(linker) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", linker.display());
    }
}
