//! What every AtlHyper service does the same way, done once: reading the clock ([`clock`]),
//! talking HTTP to a peer that may refuse or throttle ([`http`]), waiting before a retry
//! ([`backoff`]), logging ([`log`]) and stopping on a signal ([`signals`]).
//!
//! `model` stays free of I/O; this crate is where the shared I/O lives.

pub mod backoff;
pub mod clock;
pub mod http;
pub mod log;
pub mod print_config;
pub mod signals;

pub use backoff::Backoff;
pub use clock::{Clock, SystemClock, TestClock, now_ms};
