//! Technician subcommands of the `kiosk` binary, one module each.

pub mod check_config;
pub mod print_test;
pub mod run;
pub mod report;
pub mod token;
pub mod user;
