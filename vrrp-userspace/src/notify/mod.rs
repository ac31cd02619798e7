//! Notifications of state changes to the outside (keepalived-behaviour.md §3.3): notify scripts
//! run fire-and-forget, and lines written to a notify FIFO. Neither ever makes the daemon wait.

mod fifo;
mod script;

pub use fifo::{FifoError, FifoLines, FifoSpec, NotifyFifo, fifo_line};
pub use script::{NotifyScript, NotifyScripts, NotifyState, NotifyTarget, spawn_notify};
