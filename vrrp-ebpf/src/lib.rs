//! Library target, so that vrrp-userspace can name this crate as a build dependency (cargo rebuilds
//! the embedded object when it changes); the program itself is the `vrrp` binary (main.rs).
#![no_std]
