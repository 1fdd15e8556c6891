//! Shared helpers of the end-to-end tests and the perf harness.

pub mod citizen;
pub mod emupos;
pub mod loopback_printer;
pub mod perf;
pub mod soak;
pub mod webdriver;
