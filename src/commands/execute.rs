//! Carrying out a plan: each step through the resource layer, with progress
//! lines, and the report at the end.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use super::live::{desired_for, live_outputs, Reads, Values};
use super::print::emit;
use super::{Failure, Result};
use crate::apply::{self, Report};
use crate::aws::Aws;
use crate::cli::GlobalArgs;
use crate::plan::{self, Action, Plan, ResourceChange};
use crate::render;
use crate::resource::{self, ApplyOptions, Desired, Live};
use crate::stack::{Address, Stack};

pub(super) fn finish(report: &Report, g: &GlobalArgs, command: &str) -> Result<ExitCode> {
    let text = render::human::report(report, render::stdout_color(g.no_color), command);
    emit(&text)?;
    if report.succeeded() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(failed_steps(report.failed().count()))
    }
}

/// The error after a run in which steps failed (their errors are above it).
fn failed_steps(failed: usize) -> Failure {
    Failure(format!(
        "{} step{} failed; see above",
        failed,
        if failed == 1 { "" } else { "s" }
    ))
}

/// Carries out the plan's steps through the resource layer, resolving each
/// resource's references with the outputs of what ran before it. Returns the
/// report and every resource's outputs afterwards.
pub(super) async fn execute(
    stack: &Stack,
    aws: &Aws,
    plan: &Plan,
    reads: Reads,
    options: ApplyOptions,
) -> (Report, BTreeMap<Address, resource::Outputs>) {
    let outputs = live_outputs(plan, &reads);
    let values = Mutex::new(Values {
        account_id: aws.account_id.clone(),
        region: aws.region.clone(),
        outputs,
    });
    let lives = &reads.lives;
    let values = &values;
    let _display = crate::progress::Session::start(crate::progress::terminal());
    let report = apply::walk(plan, apply::DEFAULT_CONCURRENCY, |change| async move {
        let started = Instant::now();
        let symbol = render::human::symbol(change.action);
        let doing = format!(
            "{symbol} {} ({}): {}",
            change.address,
            change.physical_name,
            progressive(change.action)
        );
        let result =
            crate::progress::track(doing, step(stack, aws, &change, lives, values, options)).await;
        crate::progress::line(&match &result {
            Ok(()) => format!(
                "{symbol} {}: {} in {:.1}s",
                change.address,
                render::human::past(change.action),
                started.elapsed().as_secs_f64()
            ),
            Err(e) => format!(
                "{symbol} {}: failed after {:.1}s: {e}",
                change.address,
                started.elapsed().as_secs_f64()
            ),
        });
        result.map_err(|e| format!("{e} [{}]", stack.location(&change.address)))
    })
    .await;
    let mut outputs = values.lock().map(|v| v.outputs.clone()).unwrap_or_default();
    // What was deleted has no outputs any more.
    for c in &plan.resource_changes {
        if c.action == Action::Delete {
            outputs.remove(&c.address);
        }
    }
    (report, outputs)
}

fn progressive(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Replace => "replacing (delete, then create)",
        Action::Delete => "deleting",
        Action::NoOp => "checking",
    }
}

async fn step(
    stack: &Stack,
    aws: &Aws,
    change: &ResourceChange,
    lives: &BTreeMap<(Address, String), Live>,
    values: &Mutex<Values>,
    options: ApplyOptions,
) -> std::result::Result<(), String> {
    let address = &change.address;
    let live_named = |name: &str| {
        lives
            .get(&(address.clone(), name.to_string()))
            .ok_or_else(|| {
                format!("{address}: no live state was read for `{name}`; run `plan` again")
            })
    };
    let resolve = || -> std::result::Result<Desired, String> {
        let v = values
            .lock()
            .map_err(|_| "internal: values lock poisoned".to_string())?;
        let d = desired_for(stack, aws, address, &change.physical_name, &v)?;
        if plan::contains_unknown(&d.attributes) {
            return Err(format!(
                "{address}: a referenced value is still unknown after its resource was applied"
            ));
        }
        Ok(d)
    };
    // A part (client, group, role attachment) needs its resource's outputs.
    let parent = || -> Option<resource::Outputs> {
        address.part.as_ref()?;
        values
            .lock()
            .ok()?
            .outputs
            .get(&address.resource())
            .cloned()
    };
    let store = |outs: BTreeMap<String, String>| {
        if let Ok(mut v) = values.lock() {
            v.outputs.insert(address.clone(), outs);
        }
    };
    match change.action {
        Action::NoOp => Ok(()),
        Action::Create => {
            let desired = resolve()?;
            let outs = resource::create(aws, &desired, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Update => {
            let desired = resolve()?;
            let live = live_named(&change.physical_name)?;
            let outs = resource::update(aws, &desired, live, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Replace => {
            let old_name = change
                .previous_physical_name
                .as_deref()
                .unwrap_or(&change.physical_name);
            let live = live_named(old_name)?;
            // Replacing deletes data: the caller checked --allow-replace.
            let options = ApplyOptions {
                empty_buckets: true,
            };
            resource::delete(aws, live, options)
                .await
                .map_err(|e| e.to_string())?;
            let desired = resolve()?;
            let outs = resource::create(aws, &desired, parent().as_ref())
                .await
                .map_err(|e| e.to_string())?;
            store(outs);
            Ok(())
        }
        Action::Delete => {
            let live = live_named(&change.physical_name)?;
            resource::delete(aws, live, options)
                .await
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_steps_are_counted_in_the_error() {
        assert_eq!(failed_steps(1).0, "1 step failed; see above");
        assert_eq!(failed_steps(2).0, "2 steps failed; see above");
    }

    #[test]
    fn progress_lines_say_what_each_action_does() {
        assert_eq!(progressive(Action::Create), "creating");
        assert_eq!(progressive(Action::Update), "updating");
        assert_eq!(
            progressive(Action::Replace),
            "replacing (delete, then create)"
        );
        assert_eq!(progressive(Action::Delete), "deleting");
        assert_eq!(progressive(Action::NoOp), "checking");
    }
}
