//! `man`: the man pages.

use std::process::ExitCode;

use super::print::emit;
use super::{Failure, Result};
use crate::cli::Cli;

/// `man`: the man page (roff) clap_mangen generates from the command-line
/// definition; with `--out-dir DIR`, `mobile-backend.1` and one page per
/// command written to DIR (replacing earlier ones: they are generated).
pub(super) fn run(args: &crate::cli::ManArgs) -> Result<ExitCode> {
    use clap::CommandFactory;
    use clap_mangen::Man;

    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let Some(dir) = &args.out_dir else {
        let mut page = Vec::new();
        Man::new(command)
            .render(&mut page)
            .map_err(|e| Failure(format!("cannot render the man page: {e}")))?;
        emit(&String::from_utf8_lossy(&page))?;
        return Ok(ExitCode::SUCCESS);
    };
    let fail = |e: std::io::Error| {
        Failure(format!(
            "cannot write the man pages to {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut pages = vec![Man::new(command.clone())];
    pages.extend(
        command
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .cloned()
            .map(Man::new),
    );
    let mut written = String::new();
    for page in pages {
        let path = page.generate_to(dir).map_err(fail)?;
        written.push_str(&format!("wrote {}\n", path.display()));
    }
    emit(&written)?;
    Ok(ExitCode::SUCCESS)
}
