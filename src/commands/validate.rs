//! `validate`: the stack file's offline checks; never calls AWS.

use std::process::ExitCode;

use super::load::load;
use super::print::emit;
use super::Result;
use crate::cli::GlobalArgs;

pub(super) fn run(g: &GlobalArgs) -> Result<ExitCode> {
    let stack = load(g)?;
    let list: Vec<String> = stack.resources.keys().map(|a| a.to_string()).collect();
    emit(&format!(
        "{} is valid: stack `{}` with {} resource{}{}\n",
        stack.file.display(),
        stack.name,
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}
