//! Walks a plan's dependency graph with bounded concurrency. A step whose
//! dependency failed (or was skipped) is skipped, naming the root cause; the
//! walk always finishes and returns what was done and what was not.
//!
//! Edges: a create, update or replace waits for the steps of the resources it
//! depends on; a delete waits for the deletes of the resources that depend on
//! it (dependents go first).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::plan::{Action, Plan, ResourceChange};
use crate::resource::ResourceType;
use crate::stack::Address;

/// How many steps run at once. AWS control planes throttle well before this
/// matters for a stack of this size; it bounds memory and open connections.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    Failed(String),
    /// Not attempted because this step (the root cause) failed.
    Skipped {
        because: Address,
    },
}

/// One step's result, in the order steps finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepResult {
    pub address: Address,
    pub physical_name: String,
    pub action: Action,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub steps: Vec<StepResult>,
}

impl Report {
    pub(crate) fn failed(&self) -> impl Iterator<Item = &StepResult> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Failed(_)))
    }
    pub(crate) fn skipped(&self) -> impl Iterator<Item = &StepResult> {
        self.steps
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Skipped { .. }))
    }
    pub(crate) fn done(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.outcome == Outcome::Done)
    }
    pub(crate) fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| s.outcome == Outcome::Done)
    }
}

/// Which steps each step waits for, by index into `steps`.
fn edges(steps: &[&ResourceChange]) -> Vec<BTreeSet<usize>> {
    let by_address: BTreeMap<&Address, Vec<usize>> =
        steps
            .iter()
            .enumerate()
            .fold(BTreeMap::new(), |mut m, (i, s)| {
                m.entry(&s.address).or_default().push(i);
                m
            });
    let mut waits = vec![BTreeSet::new(); steps.len()];
    for (i, s) in steps.iter().enumerate() {
        if s.action == Action::Delete {
            continue;
        }
        for dep in &s.depends_on {
            for &j in by_address.get(dep).into_iter().flatten() {
                if j != i && steps[j].action != Action::Delete {
                    waits[i].insert(j);
                }
            }
        }
    }
    // A delete waits for the deletes of everything that depends on it.
    for (i, s) in steps.iter().enumerate() {
        if s.action != Action::Delete {
            continue;
        }
        for (j, other) in steps.iter().enumerate() {
            if j != i && other.action == Action::Delete && other.depends_on.contains(&s.address) {
                waits[i].insert(j);
            }
        }
    }
    waits
}

/// About how long a step runs, in calls made one after the other (AWS's own
/// waits and the client-side pacing counted as calls): what the walk uses to
/// start the longest chains first. A REST API's calls are serialized and
/// paced (one `CreateDeployment` per 5 s, one `DeleteRestApi` per 30 s), a
/// search domain waits minutes for its configuration; a table, a bucket or a
/// role makes a few calls; a part makes one.
fn cost(step: &ResourceChange) -> u64 {
    ResourceType::of(&step.address).cost()
}

/// Each step's priority: its own cost plus the costliest chain of steps that
/// wait for it. Ready steps start highest first, so a long chain (or a long
/// step, such as a paced REST API) is not left to start last behind a crowd
/// of short ones while the walk is at its concurrency bound.
fn priorities(steps: &[&ResourceChange], waits: &[BTreeSet<usize>]) -> Vec<u64> {
    let mut dependents = vec![Vec::new(); steps.len()];
    for (i, w) in waits.iter().enumerate() {
        for &j in w {
            dependents[j].push(i);
        }
    }
    // Iteratively, dependents first (the graph has no cycle: the stack loader
    // rejects them; a cycle here would only leave a priority unraised).
    let mut priority: Vec<Option<u64>> = vec![None; steps.len()];
    for start in 0..steps.len() {
        let mut stack = vec![(start, false)];
        let mut on_path = vec![false; steps.len()];
        while let Some((i, expanded)) = stack.pop() {
            if priority[i].is_some() {
                continue;
            }
            if expanded {
                on_path[i] = false;
                let longest = dependents[i]
                    .iter()
                    .filter_map(|&d| priority[d])
                    .max()
                    .unwrap_or(0);
                priority[i] = Some(cost(steps[i]) + longest);
                continue;
            }
            on_path[i] = true;
            stack.push((i, true));
            for &d in &dependents[i] {
                if priority[d].is_none() && !on_path[d] {
                    stack.push((d, false));
                }
            }
        }
    }
    priority.into_iter().map(|p| p.unwrap_or(0)).collect()
}

/// Runs every step of `plan` that is not a no-op through `run`, at most
/// `concurrency` at once, in dependency order; of the steps that are ready,
/// those heading the costliest chains start first (plan order breaks ties).
pub(crate) async fn walk<F, Fut>(plan: &Plan, concurrency: usize, run: F) -> Report
where
    F: Fn(ResourceChange) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let steps: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let waits = edges(&steps);
    let concurrency = concurrency.max(1);
    let mut state: Vec<Option<Outcome>> = vec![None; steps.len()];
    let mut started = vec![false; steps.len()];
    let mut report = Report::default();
    let mut running = FuturesUnordered::new();
    let priority = priorities(&steps, &waits);
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(priority[i]), i));

    loop {
        // Skip what can never run; start what is ready, costliest chain first.
        let mut progressed = true;
        while progressed {
            progressed = false;
            for &i in &order {
                if started[i] {
                    continue;
                }
                let blocked_by = waits[i].iter().find_map(|&j| match &state[j] {
                    Some(Outcome::Failed(_)) => Some(steps[j].address.clone()),
                    Some(Outcome::Skipped { because }) => Some(because.clone()),
                    _ => None,
                });
                if let Some(because) = blocked_by {
                    started[i] = true;
                    let outcome = Outcome::Skipped { because };
                    state[i] = Some(outcome.clone());
                    report.steps.push(result(steps[i], outcome));
                    progressed = true;
                    continue;
                }
                let ready = waits[i].iter().all(|&j| state[j] == Some(Outcome::Done));
                if ready && running.len() < concurrency {
                    started[i] = true;
                    let step = steps[i].clone();
                    let fut = run(step);
                    running.push(async move { (i, fut.await) });
                    progressed = true;
                }
            }
        }
        match running.next().await {
            Some((i, r)) => {
                let outcome = match r {
                    Ok(()) => Outcome::Done,
                    Err(e) => Outcome::Failed(e),
                };
                state[i] = Some(outcome.clone());
                report.steps.push(result(steps[i], outcome));
            }
            None => break,
        }
    }
    report
}

fn result(step: &ResourceChange, outcome: Outcome) -> StepResult {
    StepResult {
        address: step.address.clone(),
        physical_name: step.physical_name.clone(),
        action: step.action,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::plan::{Mode, FORMAT_VERSION};

    fn change(address: &str, action: Action, deps: &[&str]) -> ResourceChange {
        let c = serde_json::json!({
            "address": address, "physical_name": address, "action": action,
            "before": null, "after": null, "attribute_changes": [], "replace_paths": [],
            "depends_on": deps,
        });
        serde_json::from_value(c).unwrap()
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            format_version: FORMAT_VERSION.into(),
            stack: "s".into(),
            stage: None,
            mode: Mode::Apply,
            resource_changes: changes,
        }
    }

    /// Runs the walk with each step taking `ms`, recording start and end order.
    async fn record(p: &Plan, concurrency: usize, fail: &[&str]) -> (Report, Vec<String>, usize) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let active = Arc::new(Mutex::new((0usize, 0usize)));
        let fail: Vec<String> = fail.iter().map(|s| s.to_string()).collect();
        let report = walk(p, concurrency, |c| {
            let log = log.clone();
            let active = active.clone();
            let fails = fail.contains(&c.address.to_string());
            async move {
                {
                    let mut a = active.lock().unwrap();
                    a.0 += 1;
                    a.1 = a.1.max(a.0);
                }
                log.lock().unwrap().push(format!("start {}", c.address));
                tokio::time::sleep(Duration::from_millis(20)).await;
                log.lock().unwrap().push(format!("end {}", c.address));
                active.lock().unwrap().0 -= 1;
                if fails {
                    Err("boom".to_string())
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let log = log.lock().unwrap().clone();
        let peak = active.lock().unwrap().1;
        (report, log, peak)
    }

    fn pos(log: &[String], entry: &str) -> usize {
        log.iter()
            .position(|l| l == entry)
            .unwrap_or_else(|| panic!("{entry} not in {log:?}"))
    }

    #[tokio::test]
    async fn dependencies_finish_before_dependents_start() {
        let p = plan(vec![
            change("role.r", Action::Create, &["table.t", "bucket.b"]),
            change("table.t", Action::Create, &[]),
            change("bucket.b", Action::Update, &[]),
        ]);
        let (report, log, peak) = record(&p, 8, &[]).await;
        assert!(report.succeeded());
        assert!(pos(&log, "end table.t") < pos(&log, "start role.r"));
        assert!(pos(&log, "end bucket.b") < pos(&log, "start role.r"));
        assert_eq!(peak, 2, "independent steps run at once");
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let p = plan(
            (0..10)
                .map(|i| change(&format!("table.t{i}"), Action::Create, &[]))
                .collect(),
        );
        let (report, _, peak) = record(&p, 3, &[]).await;
        assert_eq!(report.done().count(), 10);
        assert_eq!(peak, 3);
    }

    #[tokio::test]
    async fn at_the_bound_the_costliest_chains_start_first_and_plan_order_breaks_ties() {
        // Plan order puts the REST API (paced: minutes of calls one after the
        // other) and the table → role → attachment chain behind the buckets.
        let p = plan(vec![
            change("bucket.b1", Action::Create, &[]),
            change("bucket.b2", Action::Create, &[]),
            change("bucket.b3", Action::Create, &[]),
            change("table.t", Action::Create, &[]),
            change("role.r", Action::Create, &["table.t"]),
            change("identity_pool.p.roles", Action::Create, &["role.r"]),
            change("api.a", Action::Create, &[]),
        ]);
        let (report, log, _) = record(&p, 1, &[]).await;
        assert!(report.succeeded());
        let starts: Vec<&str> = log
            .iter()
            .filter_map(|l| l.strip_prefix("start "))
            .collect();
        assert_eq!(
            starts,
            vec![
                "api.a",
                "table.t",
                "role.r",
                "bucket.b1",
                "bucket.b2",
                "bucket.b3",
                // Its cost (1 call) is below a bucket's (2).
                "identity_pool.p.roles",
            ]
        );
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_transitively_and_nothing_else() {
        let p = plan(vec![
            change("table.a", Action::Create, &[]),
            change("bucket.b", Action::Create, &["table.a"]),
            change("role.c", Action::Create, &["bucket.b"]),
            change("table.d", Action::Create, &[]),
        ]);
        let (report, log, _) = record(&p, 8, &["table.a"]).await;
        assert!(!report.succeeded());
        let failed: Vec<String> = report.failed().map(|s| s.address.to_string()).collect();
        assert_eq!(failed, vec!["table.a"]);
        let skipped: Vec<(String, String)> = report
            .skipped()
            .map(|s| match &s.outcome {
                Outcome::Skipped { because } => (s.address.to_string(), because.to_string()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("bucket.b".into(), "table.a".into()),
                ("role.c".into(), "table.a".into())
            ],
            "the root cause is named, not the intermediate step"
        );
        assert!(!log
            .iter()
            .any(|l| l.contains("bucket.b") || l.contains("role.c")));
        assert_eq!(report.done().count(), 1, "table.d still ran");
    }

    #[tokio::test]
    async fn deletes_run_dependents_first() {
        let p = plan(vec![
            change("table.t", Action::Delete, &[]),
            change("role.r", Action::Delete, &["table.t"]),
        ]);
        let (report, log, _) = record(&p, 8, &[]).await;
        assert!(report.succeeded());
        assert!(pos(&log, "end role.r") < pos(&log, "start table.t"));
    }

    #[tokio::test]
    async fn no_ops_are_not_run() {
        let p = plan(vec![change("table.t", Action::NoOp, &[])]);
        let (report, log, _) = record(&p, 8, &[]).await;
        assert!(report.steps.is_empty());
        assert!(log.is_empty());
    }
}
