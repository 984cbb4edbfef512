//! Checks before the first change: what would stop a step half-way.

use futures::future::join_all;

use super::{Failure, Result};
use crate::aws::Aws;
use crate::plan::{Action, Mode, Plan, ResourceChange};
use crate::resource::{self, ApplyOptions};
use crate::stack::Stack;

/// Everything that would stop a step half-way, checked before the first
/// change: protected tables and (unless they may be emptied) buckets that
/// still hold objects.
pub(super) async fn preflight(
    aws: &Aws,
    stack: &Stack,
    plan: &Plan,
    empty_buckets: bool,
) -> Result<()> {
    let mut blockers = protection_blockers(plan);
    blockers.extend(delete_blockers(aws, plan, empty_buckets).await);
    refusal(plan.mode, &stack.name, &blockers)
}

/// Resources the plan deletes or replaces while their deletion protection
/// is on.
fn protection_blockers(plan: &Plan) -> Vec<String> {
    let removing = |c: &&ResourceChange| matches!(c.action, Action::Delete | Action::Replace);
    let mut blockers = Vec::new();
    for c in plan.resource_changes.iter().filter(removing) {
        let protected = c
            .before
            .as_ref()
            .and_then(|b| b.get("deletion_protection"))
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        // Tables and user pools both refuse deletion while protected.
        if c.address.part.is_none() && protected {
            blockers.push(format!(
                "{} ({}): deletion protection is on; set `deletion_protection = false` in `[{}]` and run `up` first",
                c.address, c.physical_name, c.address
            ));
        }
    }
    blockers
}

/// What would stop a deletion half-way (a bucket that still holds objects,
/// unless it may be emptied), asked of AWS for every deletion at once.
async fn delete_blockers(aws: &Aws, plan: &Plan, empty_buckets: bool) -> Vec<String> {
    let options = ApplyOptions { empty_buckets };
    let destroying = plan.mode == Mode::Destroy;
    let deleting: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    let probes =
        join_all(deleting.iter().map(|c| {
            resource::delete_blocker(aws, &c.address, &c.physical_name, destroying, options)
        }))
        .await;
    let mut blockers = Vec::new();
    for (c, probe) in deleting.into_iter().zip(probes) {
        match probe {
            Ok(Some(blocker)) => blockers.push(blocker),
            Ok(None) => {}
            Err(e) => blockers.push(format!("{} ({}): {e}", c.address, c.physical_name)),
        }
    }
    blockers
}

/// One refusal listing every blocker, or nothing when there is none.
fn refusal(mode: Mode, stack: &str, blockers: &[String]) -> Result<()> {
    if blockers.is_empty() {
        return Ok(());
    }
    let command = match mode {
        Mode::Apply => "up",
        Mode::Destroy => "destroy",
    };
    Err(Failure(format!(
        "{command} refused before changing anything:\n  {}\nNothing was changed in stack `{}`",
        blockers.join("\n  "),
        stack
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::commands::fixtures::{change, plan};

    fn protected(address: &str, name: &str, action: Action, on: bool) -> ResourceChange {
        let mut c = change(address, name, action);
        c.before = Some(json!({ "deletion_protection": on }));
        c
    }

    #[test]
    fn deleting_or_replacing_a_protected_resource_is_a_blocker_that_says_how_to_unblock() {
        let p = plan(
            Mode::Destroy,
            vec![
                protected("table.notes", "demo-notes", Action::Delete, true),
                protected("user_pool.users", "demo-users", Action::Replace, true),
            ],
        );
        assert_eq!(
            protection_blockers(&p),
            [
                "table.notes (demo-notes): deletion protection is on; set `deletion_protection = false` in `[table.notes]` and run `up` first",
                "user_pool.users (demo-users): deletion protection is on; set `deletion_protection = false` in `[user_pool.users]` and run `up` first",
            ]
        );
    }

    #[test]
    fn protection_blocks_nothing_that_is_kept_unprotected_or_a_part() {
        let p = plan(
            Mode::Apply,
            vec![
                // Kept: an update or no-op never deletes.
                protected("table.kept", "demo-kept", Action::Update, true),
                protected("table.same", "demo-same", Action::NoOp, true),
                // Deleted, but protection is off.
                protected("table.off", "demo-off", Action::Delete, false),
                // A part's attributes are not the resource's protection.
                protected("user_pool.users.clients.ios", "ios", Action::Delete, true),
                // Nothing read before: nothing known to be protected.
                change("table.new", "demo-new", Action::Delete),
            ],
        );
        assert!(protection_blockers(&p).is_empty());
    }

    #[test]
    fn no_blocker_lets_the_command_go_on() {
        assert!(refusal(Mode::Apply, "demo", &[]).is_ok());
    }

    #[test]
    fn blockers_refuse_once_naming_the_command_every_blocker_and_the_stack() {
        let blockers = ["first blocker".to_string(), "second blocker".to_string()];
        let up = refusal(Mode::Apply, "demo", &blockers).unwrap_err();
        assert_eq!(
            up.0,
            "up refused before changing anything:\n  first blocker\n  second blocker\nNothing was changed in stack `demo`"
        );
        let destroy = refusal(Mode::Destroy, "demo", &blockers[..1]).unwrap_err();
        assert!(
            destroy
                .0
                .starts_with("destroy refused before changing anything:\n  first blocker\n"),
            "{destroy}"
        );
    }
}
