//! Progress of `up` and `destroy` while they change AWS.
//!
//! On a terminal (standard error is one, and `TERM` is not `dumb`), each
//! resource being changed gets a live line with a spinner, what is being
//! done, the state it waits for and the time elapsed, because some changes
//! take minutes on AWS (a CloudFront distribution, a search domain); the
//! lines of what finished, and each state change, are printed above them.
//! Without a terminal (CI, a pipe, a file) there is no live line and no
//! escape code: one line per step and per state change, as before.
//!
//! The resource layer reports through [`line`] and [`state`]; which
//! resource a report belongs to is known from the task-local bar that
//! [`track`] sets while that resource's step runs.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

tokio::task_local! {
    /// The live line of the resource whose step is running, with what it
    /// does (`+ table.notes (photo-notes-notes): creating`).
    static CURRENT: (ProgressBar, String);
}

/// The live display while a run changes AWS; `None` without a terminal.
static DISPLAY: Mutex<Option<MultiProgress>> = Mutex::new(None);

fn display() -> MutexGuard<'static, Option<MultiProgress>> {
    DISPLAY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether live lines may be drawn: standard error is a terminal that
/// understands escape codes.
pub(crate) fn terminal() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// The live display for as long as it lives (from the first change of a run
/// to its report).
pub(crate) struct Session {
    active: bool,
}

impl Session {
    /// Starts the live display when `live` (see [`terminal`]).
    pub(crate) fn start(live: bool) -> Session {
        if live {
            *display() = Some(MultiProgress::with_draw_target(
                ProgressDrawTarget::stderr_with_hz(10),
            ));
        }
        Session { active: live }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.active {
            if let Some(multi) = display().take() {
                let _ = multi.clear();
            }
        }
    }
}

/// Prints a finished line: above the live lines on a terminal, else on
/// standard error.
pub(crate) fn line(text: &str) {
    let guard = display();
    match guard.as_ref() {
        Some(multi) => {
            if multi.println(text).is_err() {
                eprintln!("{text}");
            }
        }
        None => eprintln!("{text}"),
    }
}

/// Reports a state a step waits in (`Processing`, `InProgress`): the line
/// `text`, and on a terminal `short` on the resource's live line.
pub(crate) fn state(text: &str, short: &str) {
    let _ = CURRENT.try_with(|(bar, doing)| bar.set_message(format!("{doing}, {short}")));
    line(text);
}

/// Runs one resource's step, with a live line saying `doing` (and the time
/// elapsed) while it runs when the display is live; else `doing` is printed
/// as a line first.
pub(crate) async fn track<F: Future>(doing: String, step: F) -> F::Output {
    let bar = {
        let guard = display();
        guard.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(doing.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        })
    };
    match bar {
        Some(bar) => {
            let out = CURRENT.scope((bar.clone(), doing), step).await;
            bar.finish_and_clear();
            if let Some(multi) = display().as_ref() {
                multi.remove(&bar);
            }
            out
        }
        None => {
            line(&doing);
            step.await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The display is one for the process: these tests take turns.
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn without_a_live_display_a_step_runs_as_is_and_reports_print_plainly() {
        let _turn = TURN.lock().await;
        let _session = Session::start(false);
        let out = track("+ table.notes: creating".into(), async {
            state("  table.notes: CREATING, waiting", "CREATING");
            7
        })
        .await;
        assert_eq!(out, 7);
        assert!(display().is_none());
    }

    #[tokio::test]
    async fn a_live_display_gives_the_running_step_a_line_and_goes_away_with_the_session() {
        let _turn = TURN.lock().await;
        {
            let _session = Session::start(true);
            let seen = track("+ search.notes (n): creating".into(), async {
                state(
                    "  CloudSearch domain `n`: Processing, waiting",
                    "Processing",
                );
                CURRENT.with(|(bar, _)| bar.message())
            })
            .await;
            assert_eq!(seen, "+ search.notes (n): creating, Processing");
            assert!(display().is_some());
        }
        assert!(display().is_none(), "the session's end stops the display");
    }
}
