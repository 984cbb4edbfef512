//! Holding the stack lock around a command's work, and releasing it on
//! Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// Handed to a command's work: it says when changes start being applied,
/// so that the lock's release records who applied the stack last.
#[derive(Clone, Default)]
pub(super) struct Applying(Arc<AtomicBool>);

impl Applying {
    /// The run has confirmed and is about to change AWS.
    pub(super) fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn started(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Asks STS who we are and takes the stack's lock, together (the lock
/// needs no account id: one round trip instead of two), and sets the
/// identity on `aws`. A lock taken while STS refuses is released again.
pub(super) async fn identify_and_lock(
    aws: &mut Aws,
    stack: &Stack,
    command: &str,
    timeout: Option<Duration>,
) -> Result<lock::Lock> {
    let id = lock::StackId::of(stack);
    let (identity, lock) = tokio::select! {
        both = async {
            tokio::join!(
                aws.identify(),
                lock::acquire(aws, &id, command, timeout.unwrap_or(Duration::ZERO))
            )
        } => both,
        signal = interrupted() => return Err(Failure(format!("{command} interrupted by {signal} while waiting for the stack lock; nothing was changed"))),
    };
    match (identity, lock) {
        (Ok(identity), Ok(lock)) => {
            aws.set_identity(identity);
            Ok(lock)
        }
        (Err(e), lock) => {
            if let Ok(lock) = lock {
                lock.release(None).await;
            }
            Err(Failure(e))
        }
        (Ok(_), Err(e)) => Err(Failure(e)),
    }
}

/// Runs `work` holding the stack's `lock`, and releases it however `work`
/// ends: done, failed, or interrupted by Ctrl-C or SIGTERM. A run that
/// applied changes leaves a record of who did it, when and how it ended.
pub(super) async fn locked<W, F>(lock: lock::Lock, command: &str, work: W) -> Result<ExitCode>
where
    W: FnOnce(Applying) -> F,
    F: std::future::Future<Output = Result<ExitCode>>,
{
    let applying = Applying::default();
    let mut was_interrupted = false;
    let result = tokio::select! {
        r = work(applying.clone()) => r,
        signal = interrupted() => {
            was_interrupted = true;
            Err(Failure(format!(
                "{command} interrupted by {signal}: steps in flight were abandoned and the stack lock was released. Run `mobile-backend {command}` again; it continues from what exists now"
            )))
        }
    };
    let outcome = applying.started().then_some(match &result {
        _ if was_interrupted => lock::Outcome::Interrupted,
        Ok(_) => lock::Outcome::Succeeded,
        Err(_) => lock::Outcome::Failed,
    });
    lock.release(outcome).await;
    result
}
