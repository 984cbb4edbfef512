//! Asking before changing AWS.

use std::io::{IsTerminal, Write};

use super::{Failure, Result};

/// Asks on a terminal; refuses without one unless `--auto-approve`.
fn confirm(auto_approve: bool, question: &str) -> Result<()> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure(
            "refusing to change AWS without confirmation: standard input is not a terminal. Review the plan above and pass --auto-approve. Nothing was changed".into(),
        ));
    }
    eprint!("{question} Only `yes` is accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure(format!("cannot read the answer: {e}")))?;
    if accepted(&answer) {
        Ok(())
    } else {
        Err(Failure("cancelled; nothing was changed".into()))
    }
}

/// Only `yes` goes ahead (surrounding spaces and the newline aside).
fn accepted(answer: &str) -> bool {
    answer.trim() == "yes"
}

/// [`confirm`] off the async threads, so Ctrl-C during the question is seen.
pub(super) async fn ask(auto_approve: bool, question: String) -> Result<()> {
    tokio::task::spawn_blocking(move || confirm(auto_approve, &question))
        .await
        .map_err(|e| Failure(format!("cannot ask for confirmation: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_goes_ahead() {
        assert!(accepted("yes\n"));
        assert!(accepted("  yes  \r\n"));
        for answer in ["y\n", "YES\n", "Yes\n", "yes please\n", "\n", ""] {
            assert!(!accepted(answer), "{answer:?} was accepted");
        }
    }

    #[test]
    fn auto_approve_never_asks() {
        assert!(confirm(true, "Apply?").is_ok());
    }
}
