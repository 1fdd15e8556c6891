//! Technician subcommands of the `kiosk` binary, one module each.

pub mod check_config;
pub mod demo;
pub mod print_test;
pub mod report;
pub mod run;
pub mod token;
pub mod user;
