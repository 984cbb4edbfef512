//! `plan`: what `up` (or, with `--destroy`, `destroy`) would change, as
//! text, JSON or Markdown, optionally saved for applying later.

use std::process::ExitCode;

use super::live::prepare;
use super::print::emit;
use super::{Failure, Result};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::plan::Mode;
use crate::render;

const EXIT_CHANGES: u8 = 2;

pub(super) async fn run(g: &GlobalArgs, args: &PlanArgs) -> Result<ExitCode> {
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    let (_, _, plan, reads) = prepare(g, mode).await?;
    if args.json {
        emit(&render::json::to_string(&plan, Some(&reads.fingerprint)))?;
    } else if args.markdown {
        emit(&render::markdown::plan(&plan))?;
    } else {
        emit(&render::human::plan(
            &plan,
            render::stdout_color(g.no_color),
        ))?;
    }
    if let Some(out) = &args.out {
        std::fs::write(
            out,
            render::json::to_string(&plan, Some(&reads.fingerprint)),
        )
        .map_err(|e| Failure(format!("cannot write the plan to {}: {e}", out.display())))?;
        let command = match mode {
            Mode::Apply => "up",
            Mode::Destroy => "destroy",
        };
        eprintln!(
            "plan: saved to {}; apply exactly this plan with `mobile-backend {command} {}` (it refuses if the stack files or live state change before then)",
            out.display(),
            out.display()
        );
    }
    refuse_conflicts(plan.conflicts().count())?;
    Ok(exit_code(args.detailed_exitcode, plan.has_changes()))
}

/// A plan with conflicts is an error: `up` would refuse it.
fn refuse_conflicts(conflicts: usize) -> Result<()> {
    if conflicts > 0 {
        return Err(Failure(format!(
            "{conflicts} conflict{} with resources this stack does not own (see `! conflict` above); `up` would refuse this plan",
            if conflicts == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// 0, or with `--detailed-exitcode` 2 when there are changes.
fn exit_code(detailed_exitcode: bool, has_changes: bool) -> ExitCode {
    if detailed_exitcode && has_changes {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detailed_exitcode_is_2_only_when_there_are_changes() {
        assert_eq!(exit_code(true, true), ExitCode::from(2));
        assert_eq!(exit_code(true, false), ExitCode::SUCCESS);
    }

    #[test]
    fn without_detailed_exitcode_changes_still_exit_0() {
        assert_eq!(exit_code(false, true), ExitCode::SUCCESS);
        assert_eq!(exit_code(false, false), ExitCode::SUCCESS);
    }

    #[test]
    fn conflicts_fail_the_plan_and_are_counted() {
        assert!(refuse_conflicts(0).is_ok());
        assert_eq!(
            refuse_conflicts(1).unwrap_err().0,
            "1 conflict with resources this stack does not own (see `! conflict` above); `up` would refuse this plan"
        );
        assert!(refuse_conflicts(3)
            .unwrap_err()
            .0
            .starts_with("3 conflicts with "));
    }
}
