//! `up`: plan (or check a saved plan), refuse conflicts and unaccepted
//! replacements, check, ask, apply, and print the outputs summary.

use std::path::PathBuf;
use std::process::ExitCode;

use super::confirm::ask;
use super::execute::{execute, finish};
use super::live::{live_outputs, make_plan};
use super::load::{clients, load};
use super::locking::{identify_and_lock, locked, Applying};
use super::preflight::preflight;
use super::print::{emit, summary};
use super::saved::{check_saved, read_saved};
use super::{Failure, Result};
use crate::aws::Aws;
use crate::cli::{GlobalArgs, UpArgs};
use crate::plan::fingerprint::Saved;
use crate::plan::{Mode, Plan, ResourceChange};
use crate::render;
use crate::resource::ApplyOptions;
use crate::stack::Stack;

pub(super) async fn run(g: &GlobalArgs, args: &UpArgs) -> Result<ExitCode> {
    let saved = read_saved(args.plan_file.as_deref())?;
    let stack = load(g)?;
    let mut aws = clients(g, &stack).await?;
    let lock = identify_and_lock(&mut aws, &stack, "up", args.lock_timeout).await?;
    let work = |applying| up_locked(g, args, &stack, &aws, saved.as_ref(), applying);
    locked(lock, "up", work).await
}

async fn up_locked(
    g: &GlobalArgs,
    args: &UpArgs,
    stack: &Stack,
    aws: &Aws,
    saved: Option<&(PathBuf, Saved)>,
    applying: Applying,
) -> Result<ExitCode> {
    let (plan, reads) = make_plan(stack, aws, Mode::Apply).await?;
    if let Some(saved) = saved {
        check_saved(saved, stack, &plan, &reads.fingerprint)?;
    }
    let color = render::stdout_color(g.no_color);
    emit(&render::human::plan(&plan, color))?;
    refuse_unsafe(stack, &plan, args.allow_replace)?;
    if !plan.has_changes() {
        emit(&summary(&live_outputs(&plan, &reads)))?;
        return Ok(ExitCode::SUCCESS);
    }
    preflight(aws, stack, &plan, false).await?;
    ask(
        args.auto_approve,
        format!(
            "Apply these changes to stack `{}` in account {} ({})?",
            stack.name, aws.account_id, aws.region
        ),
    )
    .await?;
    applying.start();
    let (report, outputs) = execute(stack, aws, &plan, reads, ApplyOptions::default()).await;
    let code = finish(&report, g, "up");
    if report.succeeded() {
        emit(&summary(&outputs))?;
    }
    code
}

/// Refuses a plan with conflicts, and one that replaces resources holding
/// data unless `--allow-replace` accepts the loss.
fn refuse_unsafe(stack: &Stack, plan: &Plan, allow_replace: bool) -> Result<()> {
    if plan.conflicts().next().is_some() {
        return Err(Failure(format!(
            "up refused: {} resource{} conflict with resources this stack does not own (see `! conflict` above). Nothing was changed",
            plan.conflicts().count(),
            if plan.conflicts().count() == 1 { "" } else { "s" }
        )));
    }
    let guarded: Vec<&ResourceChange> = plan.guarded().collect();
    if !guarded.is_empty() && !allow_replace {
        let list: Vec<String> = guarded
            .iter()
            .map(|c| {
                format!(
                    "{} ({}): {}",
                    c.address,
                    stack.location(&c.address),
                    c.requires_allow_replace.as_deref().unwrap_or("")
                )
            })
            .collect();
        return Err(Failure(format!(
            "up refused: the plan replaces resources that hold data:\n  {}\nPass --allow-replace to accept the loss, or change the stack so they can be updated in place. Nothing was changed",
            list.join("\n  ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fixtures::{self, change, plan};
    use crate::plan::Action;

    fn replacing_data() -> ResourceChange {
        let mut c = change("table.notes", "demo-notes", Action::Replace);
        c.requires_allow_replace = Some("replacing it deletes every item".to_string());
        c
    }

    #[test]
    fn a_plan_that_replaces_data_is_refused_without_allow_replace() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let p = plan(Mode::Apply, vec![replacing_data()]);
        let e = refuse_unsafe(&stack, &p, false).unwrap_err();
        let location = stack.location(&fixtures::address("table.notes"));
        assert_eq!(
            e.0,
            format!("up refused: the plan replaces resources that hold data:\n  table.notes ({location}): replacing it deletes every item\nPass --allow-replace to accept the loss, or change the stack so they can be updated in place. Nothing was changed")
        );
    }

    #[test]
    fn allow_replace_accepts_the_loss() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let p = plan(Mode::Apply, vec![replacing_data()]);
        assert!(refuse_unsafe(&stack, &p, true).is_ok());
    }

    #[test]
    fn a_conflict_is_refused_even_with_allow_replace() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let mut c = change("table.notes", "demo-notes", Action::Create);
        c.conflict = Some("made by hand".to_string());
        let p = plan(Mode::Apply, vec![c]);
        let e = refuse_unsafe(&stack, &p, true).unwrap_err();
        assert_eq!(
            e.0,
            "up refused: 1 resource conflict with resources this stack does not own (see `! conflict` above). Nothing was changed"
        );
    }

    #[test]
    fn a_plain_plan_goes_ahead() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let p = plan(
            Mode::Apply,
            vec![change("table.notes", "demo-notes", Action::Create)],
        );
        assert!(refuse_unsafe(&stack, &p, false).is_ok());
    }
}
