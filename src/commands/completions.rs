//! `completions`: a shell completion script.

use std::process::ExitCode;

use super::print::emit;
use super::Result;
use crate::cli::Cli;

/// `completions SHELL`: the completion script clap_complete generates from
/// the command-line definition.
pub(super) fn run(args: &crate::cli::CompletionsArgs) -> Result<ExitCode> {
    use crate::cli::Shell as Choice;
    use clap::CommandFactory;
    use clap_complete::Shell;

    let shell = match args.shell {
        Choice::Bash => Shell::Bash,
        Choice::Zsh => Shell::Zsh,
        Choice::Fish => Shell::Fish,
        Choice::Powershell => Shell::PowerShell,
    };
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mobile-backend", &mut script);
    emit(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}
