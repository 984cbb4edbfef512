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
        Command::Init(args) => init::run(g, args),
        Command::Adopt(args) => adopt::run(g, args).await,
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}
