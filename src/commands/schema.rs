//! `schema`: the JSON Schema of the stack file.

use std::process::ExitCode;

use super::print::emit;
use super::Result;

/// `schema`: the JSON Schema of the stack file (draft-07), generated from the
/// types the loader parses each table into.
pub(super) fn run() -> Result<ExitCode> {
    emit(&crate::json_schema::render())?;
    Ok(ExitCode::SUCCESS)
}
