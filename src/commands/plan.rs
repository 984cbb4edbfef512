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
    let conflicts = plan.conflicts().count();
    if conflicts > 0 {
        return Err(Failure(format!(
            "{conflicts} conflict{} with resources this stack does not own (see `! conflict` above); `up` would refuse this plan",
            if conflicts == 1 { "" } else { "s" }
        )));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(EXIT_CHANGES)
    } else {
        ExitCode::SUCCESS
    })
}
