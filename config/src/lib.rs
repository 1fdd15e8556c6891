//! The configuration of a service center (`kiosk-config`).
//!
//! One TOML file describes a center; a display daemon has its own small file.
//! Parsing (raw serde types) and validation (into [`model`]) are separate
//! steps. This crate does no I/O beyond reading the file it is asked to load.

pub mod model;

pub use model::*;
