//! Saved plans (`plan --out`): reading one, and refusing it unless it is the
//! plan made now from the same inputs.

use std::path::{Path, PathBuf};

use super::{Failure, Result};
use crate::plan::fingerprint::{Fingerprint, Saved};
use crate::plan::{Mode, Plan};
use crate::render;
use crate::stack::Stack;

/// Reads the saved plan named on the command line.
pub(super) fn read_saved(path: Option<&Path>) -> Result<Option<(PathBuf, Saved)>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot read the saved plan {}: {e}",
            path.display()
        ))
    })?;
    let saved = Saved::parse(&text).map_err(|why| {
        Failure(format!(
            "{} cannot be applied: {why}. Nothing was changed",
            path.display()
        ))
    })?;
    Ok(Some((path.to_path_buf(), saved)))
}

/// Applies a saved plan only if it is the plan made now from the same inputs.
pub(super) fn check_saved(
    (path, saved): &(PathBuf, Saved),
    stack: &Stack,
    plan: &Plan,
    now: &Fingerprint,
) -> Result<()> {
    let file = path.display();
    if saved.stack != stack.name {
        return Err(Failure(format!(
            "{file} is a plan for stack `{}`, but {} is stack `{}`; pass the stack file it was made from. Nothing was changed",
            saved.stack,
            stack.file.display(),
            stack.name
        )));
    }
    if saved.mode != plan.mode {
        return Err(Failure(match saved.mode {
            Mode::Destroy => format!(
                "{file} is a destroy plan (`plan --destroy`); apply it with `mobile-backend destroy {file}`. Nothing was changed"
            ),
            Mode::Apply => format!(
                "{file} is a plan for `up`, not for `destroy`; apply it with `mobile-backend up {file}`. Nothing was changed"
            ),
        }));
    }
    let then = saved
        .fingerprint
        .as_ref()
        .ok_or_else(|| Failure(format!("{file} has no fingerprint")))?;
    let differences = then.differences(now);
    if !differences.is_empty() {
        let command = match plan.mode {
            Mode::Apply => "plan",
            Mode::Destroy => "plan --destroy",
        };
        return Err(Failure(format!(
            "the saved plan {file} is out of date; what it was made from has changed since:\n  - {}\nNothing was changed. Make a new plan with `mobile-backend {command} --out {file}`, review it, and apply that",
            differences.join("\n  - ")
        )));
    }
    let made_now = render::json::document(plan);
    if made_now.get("resource_changes") != Some(&saved.resource_changes) {
        return Err(Failure(format!(
            "the saved plan {file} is not the plan its inputs give (was the file edited?). Nothing was changed; make a new plan with `mobile-backend plan --out {file}`"
        )));
    }
    Ok(())
}
