//! Shared helpers of the end-to-end tests and the perf harness.

pub mod perf;
