//! The ticket-machine daemon (`kiosk`): durable queue, buttons, printing, LAN API.

pub mod accounts;
pub mod api;
pub mod app;
pub mod auth;
pub mod buttons;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod daemon;
pub mod demo;
pub mod leds;
pub mod metrics;
pub mod printing;
pub mod report;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod store;
pub mod systemd;
pub mod web;
