//! Holding the stack lock around a command's work, and releasing it on
//! Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use super::{Failure, Result};
use crate::aws::Aws;
use crate::lock;
use crate::stack::Stack;

/// Resolves with the name of the first Ctrl-C or SIGTERM; never without one.
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "Ctrl-C",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            },
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

/// Runs `work` holding the stack's lock, and releases it however `work` ends:
/// done, failed, or interrupted by Ctrl-C or SIGTERM.
pub(super) async fn locked<F>(
    aws: &Aws,
    stack: &Stack,
    command: &str,
    timeout: Option<Duration>,
    work: F,
) -> Result<ExitCode>
where
    F: std::future::Future<Output = Result<ExitCode>>,
{
    let lock = tokio::select! {
        l = lock::acquire(aws, &stack.name, command, timeout.unwrap_or(Duration::ZERO)) => l.map_err(Failure)?,
        signal = interrupted() => return Err(Failure(format!("{command} interrupted by {signal} while waiting for the stack lock; nothing was changed"))),
    };
    let result = tokio::select! {
        r = work => r,
        signal = interrupted() => Err(Failure(format!(
            "{command} interrupted by {signal}: steps in flight were abandoned and the stack lock was released. Run `mobile-backend {command}` again; it continues from what exists now"
        ))),
    };
    lock.release().await;
    result
}
