//! The commands: each is a thin wrapper over the layers (stack → live reads →
//! plan → apply → render). Errors a user can hit become a [`Failure`] with what
//! went wrong, where, and what to do; `main` turns it into exit code 1.
//!
//! One module per command; the pieces several commands share (loading the
//! stack, reading live state and planning, saved plans, the lock, asking,
//! checking, executing, printing) have modules of their own.

use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod adopt;
mod completions;
mod confirm;
mod destroy;
mod execute;
#[cfg(test)]
mod fixtures;
mod init;
mod live;
mod load;
mod locking;
mod man;
mod outputs;
mod plan;
mod preflight;
mod print;
mod saved;
mod schema;
mod secrets;
mod stages;
mod unlock;
mod up;
mod validate;

/// A user-facing error: printed as `error: ...`, exit code 1.
#[derive(Debug)]
pub struct Failure(pub(crate) String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Failure {
    /// The line(s) `main` prints: `error: <message>`, unless the message is
    /// already rendered diagnostics, which carry their own `error:` labels.
    pub fn report(&self) -> String {
        let plain: String = strip_ansi(&self.0);
        if plain.starts_with("error:") || plain.starts_with("error[") {
            self.0.clone()
        } else {
            format!("error: {}", self.0)
        }
    }
}

/// The text without its terminal colour codes (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

type Result<T> = std::result::Result<T, Failure>;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Validate => validate::run(g),
        Command::Plan(args) => plan::run(g, args).await,
        Command::Up(args) => up::run(g, args).await,
        Command::Destroy(args) => destroy::run(g, args).await,
        Command::Outputs(args) => outputs::run(g, args).await,
        Command::Unlock(args) => unlock::run(g, args).await,
        Command::Stages(args) => stages::run(g, args).await,
        Command::Init(args) => init::run(g, args),
        Command::Adopt(args) => adopt::run(g, args).await,
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_reported_with_one_error_label() {
        assert_eq!(Failure("no stack".into()).report(), "error: no stack");
        let rendered = "error: `table.notes`: invalid type\n  ┌─ s.toml:4:12";
        assert_eq!(Failure(rendered.into()).report(), rendered);
        let coloured = "\u{1b}[1m\u{1b}[38;5;9merror\u{1b}[0m\u{1b}[1m: bad\u{1b}[0m";
        assert_eq!(Failure(coloured.into()).report(), coloured);
        assert_eq!(strip_ansi(coloured), "error: bad");
    }
}
