//! The ticket-machine daemon (`kiosk`): durable queue, buttons, printing, LAN API.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod clock;
pub mod commands;
pub mod store;
