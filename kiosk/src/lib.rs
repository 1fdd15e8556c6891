//! The ticket-machine daemon (`kiosk`): buttons, printing, LAN API, accounts,
//! web pages, demo and the `kiosk` command line. The queue itself (store,
//! state machine, retention, reports) is the `queue-store` crate.

pub mod accounts;
pub mod api;
pub mod app;
pub mod atomic_file;
pub mod auth;
pub mod buttons;
pub mod cccd;
pub mod cli;
pub mod commands;
pub mod daemon;
pub mod demo;
pub mod leds;
pub mod metrics;
pub mod printing;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod systemd;
pub mod web;
