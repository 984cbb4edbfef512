//! `up`: plan (or check a saved plan), refuse conflicts and unaccepted
//! replacements, check, ask, apply, and print the outputs summary.

use std::path::PathBuf;
use std::process::ExitCode;

use super::confirm::ask;
use super::execute::{execute, finish};
use super::live::{live_outputs, make_plan};
use super::load::{connect, ensure_provisioned, load};
use super::locking::locked;
use super::preflight::preflight;
use super::print::{emit, summary};
use super::saved::{check_saved, read_saved};
use super::{Failure, Result};
use crate::aws::Aws;
use crate::cli::{GlobalArgs, UpArgs};
use crate::plan::fingerprint::Saved;
use crate::plan::{Mode, ResourceChange};
use crate::render;
use crate::resource::ApplyOptions;
use crate::stack::Stack;

pub(super) async fn run(g: &GlobalArgs, args: &UpArgs) -> Result<ExitCode> {
    let saved = read_saved(args.plan_file.as_deref())?;
    let stack = load(g)?;
    ensure_provisioned(&stack)?;
    let aws = connect(g, &stack).await?;
    let work = up_locked(g, args, &stack, &aws, saved.as_ref());
    locked(&aws, &stack, "up", args.lock_timeout, work).await
}

async fn up_locked(
    g: &GlobalArgs,
    args: &UpArgs,
    stack: &Stack,
    aws: &Aws,
    saved: Option<&(PathBuf, Saved)>,
) -> Result<ExitCode> {
    let (plan, reads) = make_plan(stack, aws, Mode::Apply).await?;
    if let Some(saved) = saved {
        check_saved(saved, stack, &plan, &reads.fingerprint)?;
    }
    let color = render::stdout_color(g.no_color);
    emit(&render::human::plan(&plan, color))?;
    if plan.conflicts().next().is_some() {
        return Err(Failure(format!(
            "up refused: {} resource{} conflict with resources this stack does not own (see `! conflict` above). Nothing was changed",
            plan.conflicts().count(),
            if plan.conflicts().count() == 1 { "" } else { "s" }
        )));
    }
    let guarded: Vec<&ResourceChange> = plan.guarded().collect();
    if !guarded.is_empty() && !args.allow_replace {
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
    let (report, outputs) = execute(stack, aws, &plan, reads, ApplyOptions::default()).await;
    let code = finish(&report, g, "up");
    if report.succeeded() {
        emit(&summary(&outputs))?;
    }
    code
}
