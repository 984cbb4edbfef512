//! Checks before the first change: what would stop a step half-way.

use futures::future::join_all;

use super::{Failure, Result};
use crate::aws::Aws;
use crate::plan::{Action, Mode, Plan, ResourceChange};
use crate::resource;
use crate::stack::{self, Stack};

/// Everything that would stop a step half-way, checked before the first
/// change: protected tables and (unless they may be emptied) buckets that
/// still hold objects.
pub(super) async fn preflight(
    aws: &Aws,
    stack: &Stack,
    plan: &Plan,
    empty_buckets: bool,
) -> Result<()> {
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
    // A replace was accepted with --allow-replace and empties its bucket.
    let buckets: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.address.kind == stack::Kind::Bucket)
        .filter(|_| !empty_buckets)
        .collect();
    let probes = join_all(buckets.iter().map(|c| async move {
        (
            c,
            resource::bucket::holds_objects(aws, &c.physical_name).await,
        )
    }))
    .await;
    for (c, probe) in probes {
        match probe {
            Ok(Some(true)) => blockers.push(match plan.mode {
                Mode::Destroy => format!(
                    "{} ({}) still holds objects; pass --empty-buckets to delete every object, version and delete marker in it (this cannot be undone)",
                    c.address, c.physical_name
                ),
                Mode::Apply => format!(
                    "{} ({}) is no longer in the stack file but still holds objects, and `up` never deletes objects: put `[{}]` back to keep it, or empty it yourself and run `up` again",
                    c.address, c.physical_name, c.address
                ),
            }),
            Ok(_) => {}
            Err(e) => blockers.push(format!("{} ({}): {e}", c.address, c.physical_name)),
        }
    }
    if blockers.is_empty() {
        return Ok(());
    }
    let command = match plan.mode {
        Mode::Apply => "up",
        Mode::Destroy => "destroy",
    };
    Err(Failure(format!(
        "{command} refused before changing anything:\n  {}\nNothing was changed in stack `{}`",
        blockers.join("\n  "),
        stack.name
    )))
}
