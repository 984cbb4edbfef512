//! `stages`: the stages of this stack that exist in the account, with who
//! applied each last, so forgotten previews and sandboxes can be found and
//! destroyed.
//!
//! A stage exists when it owns something: for each candidate stage, the same
//! reads as `plan --destroy --stage <stage>` say what it owns (resources
//! found by name and ownership tags, as everywhere else). The candidates are
//! the stages the lock table has records of (every `up` and `destroy` that
//! applied changes leaves one), the stack-tag values the tagging API reports
//! (`<stack>-<stage>`), the stages `[stages]` declares, and the stack without
//! a stage. Searched: `--region` if given, else the default region and every
//! region `[stages]` names.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::{json, Value};

use super::live::make_plan;
use super::load::{connect, load_any_stage};
use super::print::emit;
use super::{Failure, Result};
use crate::aws::Aws;
use crate::cli::{GlobalArgs, StagesArgs};
use crate::lock::{self, now_secs, Holder, Record};
use crate::plan::{Action, Mode};
use crate::resource;
use crate::stack::{self, Stack};

/// `format_version` of `stages --json`.
const JSON_FORMAT_VERSION: &str = "1";

/// One stage that exists, in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// `None`: the stack deployed without a stage.
    stage: Option<String>,
    region: String,
    /// The stack's name as AWS sees it (`<stack>-<stage>`).
    stack_name: String,
    /// Resources it owns (its parts, such as app clients, not counted).
    resources: usize,
    last: Option<Record>,
    /// A run applying it now.
    locked_by: Option<Holder>,
}

/// `stages`: lists the stages of the stack file that own resources.
pub(super) async fn run(g: &GlobalArgs, args: &StagesArgs) -> Result<ExitCode> {
    // The stack file as every stage shares it; `--stage` only marks the
    // current stage.
    let base_args = GlobalArgs {
        stage: None,
        ..g.clone()
    };
    let base = load_any_stage(&base_args)?;
    let home = connect(&base_args, &base).await?;
    let mut regions = vec![home.clone()];
    if g.region.is_none() {
        for region in stage_regions(&base, &home.region) {
            let settings = GlobalArgs {
                region: Some(region),
                ..base_args.clone()
            };
            regions.push(connect(&settings, &base).await?);
        }
    }
    let surveyed =
        futures::future::join_all(regions.iter().map(|aws| survey(&base, aws, &home.region))).await;
    let mut rows = Vec::new();
    for found in surveyed {
        rows.extend(found?);
    }
    rows.sort_by(|a, b| (&a.stage, &a.region).cmp(&(&b.stage, &b.region)));
    let region_names: Vec<&str> = regions.iter().map(|a| a.region.as_str()).collect();
    let now = now_secs();
    let text = if args.json {
        format!("{:#}\n", document(&base, &home.account_id, &rows, now))
    } else {
        human(
            &base,
            &home.account_id,
            &region_names,
            &rows,
            g.stage.as_deref(),
            now,
        )
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The regions `[stages]` names other than `home`, each once.
fn stage_regions(base: &Stack, home: &str) -> BTreeSet<String> {
    base.declared_stages
        .values()
        .flatten()
        .filter(|r| r.as_str() != home)
        .cloned()
        .collect()
}

/// The stages of `base` that own something in `aws`'s region.
async fn survey(base: &Stack, aws: &Aws, home: &str) -> Result<Vec<Row>> {
    let (kept, tagged) = tokio::join!(
        lock::of_stack_file(aws, &base.base_name),
        resource::stack_tag_values(aws)
    );
    let (holders, records) = kept.map_err(Failure)?;
    let tagged = tagged.map_err(|e| {
        Failure(format!(
            "cannot list the stacks' tagged resources in {}: {e}",
            aws.region
        ))
    })?;
    let candidates = candidates(base, &aws.region, home, &holders, &records, &tagged);
    let owned = futures::future::join_all(
        candidates
            .iter()
            .map(|stage| owned_by(base, stage.as_deref(), aws)),
    )
    .await;
    let mut rows = Vec::new();
    let now = now_secs();
    for (stage, owned) in candidates.into_iter().zip(owned) {
        let (stack_name, resources) = owned?;
        let mine = |id: &lock::StackId| id.base == base.base_name && id.stage == stage;
        let last = records.iter().find(|r| mine(&r.id)).cloned();
        let locked_by = holders
            .iter()
            .find(|h| mine(&h.id) && !h.expired(now))
            .cloned();
        if resources > 0 || locked_by.is_some() {
            rows.push(Row {
                stage,
                region: aws.region.clone(),
                stack_name,
                resources,
                last,
                locked_by,
            });
        }
    }
    Ok(rows)
}

/// The stages that may exist in this region (`None`: no stage).
fn candidates(
    base: &Stack,
    region: &str,
    home: &str,
    holders: &[Holder],
    records: &[Record],
    tagged: &BTreeSet<String>,
) -> BTreeSet<Option<String>> {
    let ids = || {
        holders
            .iter()
            .map(|h| &h.id)
            .chain(records.iter().map(|r| &r.id))
    };
    // Stacks of their own whose names start with `<stack>-`.
    let others: BTreeSet<&str> = ids()
        .filter(|id| id.base != base.base_name)
        .map(|id| id.name.as_str())
        .collect();
    let mut found: BTreeSet<Option<String>> = BTreeSet::from([None]);
    found.extend(
        ids()
            .filter(|id| id.base == base.base_name)
            .map(|id| id.stage.clone()),
    );
    let prefix = format!("{}-", base.base_name);
    found.extend(
        tagged
            .iter()
            .filter(|v| !others.contains(v.as_str()))
            .filter_map(|v| v.strip_prefix(&prefix))
            .filter(|s| stack::is_stack_name(s))
            .map(|s| Some(s.to_string())),
    );
    found.extend(
        base.declared_stages
            .iter()
            .filter(|(_, r)| r.as_deref().unwrap_or(home) == region)
            .map(|(s, _)| Some(s.clone())),
    );
    found
}

/// What stage `stage` of the stack owns in `aws`'s region: its stack name
/// and how many resources `destroy --stage <stage>` would delete.
async fn owned_by(base: &Stack, stage: Option<&str>, aws: &Aws) -> Result<(String, usize)> {
    let loaded = stack::load_stage(&base.file, stage);
    if stage.is_none() && loaded.is_err() {
        // A file that needs a stage (`${stack.stage}`) has no copy without one.
        return Ok((base.base_name.clone(), 0));
    }
    let stack = loaded.map_err(|d| {
        Failure(format!(
            "stage `{}` found in {}: {}",
            stage.unwrap_or("(none)"),
            aws.region,
            d.render(false).trim_end()
        ))
    })?;
    let (plan, _) = make_plan(&stack, aws, Mode::Destroy).await?;
    let resources = plan
        .resource_changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.address.part.is_none())
        .count();
    Ok((stack.name, resources))
}

fn document(base: &Stack, account_id: &str, rows: &[Row], now: i64) -> Value {
    let stages: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "stage": r.stage,
                "stack_name": r.stack_name,
                "region": r.region,
                "resources": r.resources,
                "last_applied": r.last.as_ref().map(|l| json!({
                    "command": l.command,
                    "outcome": l.outcome.map(lock::Outcome::as_str),
                    "who": l.who,
                    "host": l.host,
                    "location": l.location,
                    "started_at": l.started_at,
                    "finished_at": l.finished_at,
                    "age_seconds": (now - l.finished_at).max(0),
                })),
                "locked_by": r.locked_by.as_ref().map(|h| json!({
                    "command": h.command,
                    "who": h.who,
                    "host": h.host,
                    "location": h.location,
                    "since": h.acquired_at,
                })),
            })
        })
        .collect();
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "stack": base.base_name,
        "account_id": account_id,
        "stages": stages,
    })
}

fn human(
    base: &Stack,
    account_id: &str,
    regions: &[&str],
    rows: &[Row],
    current: Option<&str>,
    now: i64,
) -> String {
    let searched = regions.join(", ");
    if rows.is_empty() {
        return format!(
            "no stage of stack `{}` exists in account {account_id} ({searched})\n",
            base.base_name
        );
    }
    let name = |r: &Row| r.stage.clone().unwrap_or_else(|| "(none)".to_string());
    let width = |f: &dyn Fn(&Row) -> usize, title: &str| {
        rows.iter().map(f).max().unwrap_or(0).max(title.len())
    };
    let (w_stage, w_region) = (
        width(&|r| name(r).len(), "STAGE"),
        width(&|r| r.region.len(), "REGION"),
    );
    let staged: BTreeSet<&str> = rows.iter().filter_map(|r| r.stage.as_deref()).collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut what = Vec::new();
    if rows.iter().any(|r| r.stage.is_none()) {
        what.push("the copy without a stage".to_string());
    }
    if !staged.is_empty() {
        what.push(format!("{} stage{}", staged.len(), plural(staged.len())));
    }
    let mut out = format!(
        "stack `{}` in account {account_id} ({searched}): {} with resources\n",
        base.base_name,
        what.join(" and ")
    );
    out.push_str(&format!(
        "  {:w_stage$}  {:w_region$}  RESOURCES  LAST APPLIED\n",
        "STAGE", "REGION"
    ));
    for r in rows {
        let mark = if r.stage.as_deref() == current {
            '*'
        } else {
            ' '
        };
        let last = match &r.last {
            Some(l) => l.describe(now),
            None => "no record (applied by hand, or before the tool kept records)".to_string(),
        };
        out.push_str(&format!(
            "{mark} {:w_stage$}  {:w_region$}  {:>9}  {last}\n",
            name(r),
            r.region,
            r.resources
        ));
        if let Some(h) = &r.locked_by {
            out.push_str(&format!(
                "  {:w_stage$}  being applied now: {}\n",
                "",
                h.describe()
            ));
        }
    }
    out.push_str(
        "remove a stage you no longer need with `mobile-backend destroy --stage NAME` (add --empty-buckets to delete its objects too)\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::fixtures;
    use crate::lock::{Outcome, StackId};

    const FILE: &str = r#"
[stack]
name = "notes"

[stages.prod]
region = "us-west-2"

[stages.dev]

[table.notes]
hash_key = { name = "id", type = "S" }
"#;

    fn id(name: &str, base: &str, stage: Option<&str>) -> StackId {
        StackId {
            name: name.into(),
            base: base.into(),
            stage: stage.map(str::to_string),
        }
    }

    fn record(id: StackId, finished_at: i64) -> Record {
        Record {
            id,
            who: "ann".into(),
            host: "laptop".into(),
            command: "up".into(),
            location: None,
            started_at: finished_at - 10,
            finished_at,
            outcome: Some(Outcome::Succeeded),
        }
    }

    fn some(names: &[&str]) -> BTreeSet<Option<String>> {
        names
            .iter()
            .map(|n| (*n != "-").then(|| n.to_string()))
            .collect()
    }

    #[test]
    fn candidates_come_from_records_tags_and_the_file_and_not_from_other_stacks() {
        let (_dir, _, base) = fixtures::stack(FILE);
        let records = [
            record(id("notes-ann", "notes", Some("ann")), 100),
            // A stack of its own named `notes-api`: never stage `api`.
            record(id("notes-api", "notes-api", None), 100),
        ];
        let tagged: BTreeSet<String> = [
            "notes-pr-7",
            "notes-api",
            "notes",
            "notes-Bad_Name",
            "other-x",
            "notesy",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let here = candidates(&base, "us-east-1", "us-east-1", &[], &records, &tagged);
        // dev has no region of its own: it lives in the default region.
        assert_eq!(here, some(&["-", "ann", "dev", "pr-7"]));
        // In prod's region, prod is a candidate and dev is not.
        let west = candidates(&base, "us-west-2", "us-east-1", &[], &[], &BTreeSet::new());
        assert_eq!(west, some(&["-", "prod"]));
    }

    #[test]
    fn the_listing_marks_the_current_stage_and_says_who_applied_each_last() {
        let (_dir, _, base) = fixtures::stack(FILE);
        let now = 1_700_000_000;
        let row = |stage: Option<&str>, region: &str, last: Option<Record>| Row {
            stage: stage.map(str::to_string),
            region: region.into(),
            stack_name: "x".into(),
            resources: 3,
            last,
            locked_by: None,
        };
        let rows = [
            row(None, "us-east-1", None),
            row(
                Some("ann"),
                "us-east-1",
                Some(record(id("notes-ann", "notes", Some("ann")), now - 7200)),
            ),
            row(Some("prod"), "us-west-2", None),
        ];
        let text = human(
            &base,
            "123456789012",
            &["us-east-1", "us-west-2"],
            &rows,
            Some("ann"),
            now,
        );
        let want = "\
stack `notes` in account 123456789012 (us-east-1, us-west-2): the copy without a stage and 2 stages with resources
  STAGE   REGION     RESOURCES  LAST APPLIED
  (none)  us-east-1          3  no record (applied by hand, or before the tool kept records)
* ann     us-east-1          3  up by ann on laptop, succeeded at 2023-11-14T20:13:20Z (2h ago)
  prod    us-west-2          3  no record (applied by hand, or before the tool kept records)
remove a stage you no longer need with `mobile-backend destroy --stage NAME` (add --empty-buckets to delete its objects too)
";
        assert_eq!(text, want);
        let none = human(&base, "123456789012", &["us-east-1"], &[], None, now);
        assert_eq!(
            none,
            "no stage of stack `notes` exists in account 123456789012 (us-east-1)\n"
        );
        let doc = document(&base, "123456789012", &rows[1..2], now);
        assert_eq!(doc["stages"][0]["stage"], "ann");
        assert_eq!(doc["stages"][0]["last_applied"]["age_seconds"], 7200);
        assert_eq!(doc["stages"][0]["last_applied"]["outcome"], "succeeded");
        assert_eq!(doc["stages"][0]["locked_by"], Value::Null);
    }

    #[test]
    fn a_file_using_the_stage_loads_for_every_stage() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("s.toml");
        let text =
            "[stack]\nname = \"notes\"\n\n[bucket.files]\nname = \"notes-${stack.stage}-files\"\n";
        std::fs::write(&path, text).expect("write");
        assert!(stack::load_stage(&path, None).is_err());
        let any = stack::load_any_stage(&path).expect("loads without a stage");
        assert_eq!(any.base_name, "notes");
    }
}
