//! `destroy`: plan the deletion of everything the stack owns (or check a
//! saved destroy plan), check, ask, and delete.

use std::path::PathBuf;
use std::process::ExitCode;

use super::confirm::ask;
use super::execute::{execute, finish};
use super::live::make_plan;
use super::load::{clients, load};
use super::locking::{identify_and_lock, locked, Applying};
use super::preflight::preflight;
use super::print::emit;
use super::saved::{check_saved, read_saved};
use super::Result;
use crate::aws::Aws;
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::plan::fingerprint::Saved;
use crate::plan::Mode;
use crate::render;
use crate::resource::ApplyOptions;
use crate::stack::Stack;

pub(super) async fn run(g: &GlobalArgs, args: &DestroyArgs) -> Result<ExitCode> {
    let saved = read_saved(args.plan_file.as_deref())?;
    let stack = load(g)?;
    let mut aws = clients(g, &stack).await?;
    let lock = identify_and_lock(&mut aws, &stack, "destroy", args.lock_timeout).await?;
    let work = |applying| destroy_locked(g, args, &stack, &aws, saved.as_ref(), applying);
    locked(lock, "destroy", work).await
}

async fn destroy_locked(
    g: &GlobalArgs,
    args: &DestroyArgs,
    stack: &Stack,
    aws: &Aws,
    saved: Option<&(PathBuf, Saved)>,
    applying: Applying,
) -> Result<ExitCode> {
    let (plan, reads) = make_plan(stack, aws, Mode::Destroy).await?;
    if let Some(saved) = saved {
        check_saved(saved, stack, &plan, &reads.fingerprint)?;
    }
    emit(&render::human::plan(
        &plan,
        render::stdout_color(g.no_color),
    ))?;
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    preflight(aws, stack, &plan, args.empty_buckets).await?;
    ask(
        args.auto_approve,
        format!(
            "Delete everything stack `{}` owns in account {} ({})?",
            stack.name, aws.account_id, aws.region
        ),
    )
    .await?;
    applying.start();
    let options = ApplyOptions {
        empty_buckets: args.empty_buckets,
    };
    let (report, _) = execute(stack, aws, &plan, reads, options).await;
    finish(&report, g, "destroy")
}
