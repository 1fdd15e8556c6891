//! `kiosk demo`: the whole kiosk on the embedded Phú Xuân configuration
//! with simulated hardware (see [`crate::demo`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::demo::{run_demo, DemoOptions};

/// `kiosk demo`.
pub async fn demo(
    dir: PathBuf,
    listen: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    // Commands are read from stdin whenever it is a terminal or a pipe;
    // under systemd or with stdin closed there is nothing to read.
    let keyboard = true;
    run_demo(
        DemoOptions {
            dir,
            listen,
            keyboard,
        },
        shutdown,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
