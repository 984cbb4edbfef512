//! Interrupted runs converge. The whole reference architecture (every kind
//! MiniStack emulates: user pool with client and group, identity pool with
//! its roles, table, bucket, OpenSearch domain, REST API with key and usage
//! plan, IAM roles, four Lambda functions built from `functions/`, one of
//! them behind a stream trigger, a CloudFront distribution with its origin
//! access control) goes up through the fault-injection proxy, which holds
//! the (k+1)-th mutating request; the tool is then killed with SIGKILL (no
//! cleanup of any kind), so exactly k mutating calls reached AWS. For every
//! k, a re-run of `up` must converge to a plan with no changes, with no
//! duplicated resource and nothing in the account without the stack's tags;
//! the same for `destroy`, which must then leave nothing.
//!
//! k runs from 1 to the total less one: after the last mutating call (the
//! release of the stack lock) the run is complete, which `mutating_calls`
//! covers. The lock's own calls count: k = 1 kills a run that holds the lock
//! and has changed nothing else.
//!
//! Run with `scripts/test.sh --test emulator_interrupt`. The k are split into
//! shards (one test each) so they run side by side.

mod support;

use std::time::Duration;

use support::inventory::{inventory, Found};
use support::proxy::Proxy;
use support::{World, OWNER_ID_TAG};

const SHARDS: usize = 4;

/// After a converged `up`: exactly one of each resource, every taggable one
/// tagged as the stack's, nothing else.
#[track_caller]
fn assert_converged(w: &World, found: &[Found], context: &str) {
    let count = |kind: &str| found.iter().filter(|f| f.kind == kind).count();
    for (kind, want) in [
        ("table", 1),
        ("bucket", 1),
        ("user pool", 1),
        ("app client", 1),
        ("identity pool", 1),
        ("role", 4),
        ("function", 4),
        ("stream trigger", 1),
        ("distribution", 1),
        ("origin access control", 1),
        ("rest api", 1),
        ("api key", 1),
        ("usage plan", 1),
        ("search domain", 1),
    ] {
        assert_eq!(
            count(kind),
            want,
            "{context}: {want} {kind} expected, found {found:#?}"
        );
    }
    for f in found.iter().filter(|f| {
        !matches!(
            f.kind,
            "app client" | "stream trigger" | "origin access control"
        )
    }) {
        assert_eq!(
            f.stack_tag.as_deref(),
            Some(w.stack.as_str()),
            "{context}: {} `{}` is not tagged as the stack's: {found:#?}",
            f.kind,
            f.name
        );
        assert!(
            f.id_tag.is_some(),
            "{context}: {} `{}` has no {OWNER_ID_TAG} tag",
            f.kind,
            f.name
        );
    }
}

/// Runs `args` through a proxy that holds the (k+1)-th mutating request and
/// kills the tool with SIGKILL at that moment. Returns false when the run
/// made k or fewer mutating calls (it ended by itself).
fn kill_after(w: &mut World, k: usize, args: &[&str]) -> bool {
    let proxy = Proxy::start(&w.endpoint);
    proxy.hold_after_mutating(k);
    let direct = std::mem::replace(&mut w.endpoint, proxy.url());
    let mut child = w.process(args, None).spawn().expect("start the tool");
    w.endpoint = direct;
    let mut held = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < deadline {
        if proxy.wait_until_held(Duration::from_millis(100)) {
            held = true;
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    if held {
        child.kill().expect("SIGKILL the tool");
    }
    let out = child.wait_with_output().expect("the tool ends");
    if !held {
        assert_eq!(
            out.status.code(),
            Some(0),
            "k={k}: `{}` ended by itself but failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        proxy.mutating_forwarded() <= k,
        "k={k}: {} mutating calls reached AWS",
        proxy.mutating_forwarded()
    );
    held
}

/// The number of mutating requests a whole `up` and `destroy` send.
async fn mutating_calls(w: &mut World) -> (usize, usize) {
    let mut count = |args: &[&str]| {
        let proxy = Proxy::start(&w.endpoint);
        let direct = std::mem::replace(&mut w.endpoint, proxy.url());
        w.run(args).code(0);
        w.endpoint = direct;
        proxy.mutating_forwarded()
    };
    let up = count(&["up", "--auto-approve"]);
    let destroy = count(&["destroy", "--auto-approve"]);
    (up, destroy)
}

async fn shard(index: usize) {
    let mut w = World::new(&format!("kill{index}"));
    w.use_reference_architecture("opensearch").await;
    // The first `up` or `destroy` in an account creates the lock table: do
    // that first, so every counted run makes the same calls.
    w.run(&["destroy", "--auto-approve"]).code(0);
    let (ups, destroys) = mutating_calls(&mut w).await;
    assert!(ups > 20 && destroys > 10, "up {ups}, destroy {destroys}");
    eprintln!("shard {index}: up makes {ups} mutating calls, destroy {destroys}");
    let empty: Vec<Found> = Vec::new();
    assert_eq!(inventory(&w).await, empty);

    for k in (1..ups).filter(|k| k % SHARDS == index) {
        let context = format!("up killed after {k} of {ups} mutating calls");
        assert!(
            kill_after(&mut w, k, &["up", "--auto-approve"]),
            "{context}: not held"
        );
        // SIGKILL left the lock behind; its process is gone.
        w.run(&["unlock", "--auto-approve"]).code(0);
        w.run(&["up", "--auto-approve"]).code(0);
        w.run(&["plan", "--detailed-exitcode"]).code(0);
        assert_converged(&w, &inventory(&w).await, &context);
        w.run(&["destroy", "--auto-approve"]).code(0);
        assert_eq!(inventory(&w).await, empty, "{context}: destroy left these");
    }
    for k in (1..destroys).filter(|k| k % SHARDS == index) {
        let context = format!("destroy killed after {k} of {destroys} mutating calls");
        w.run(&["up", "--auto-approve"]).code(0);
        assert!(
            kill_after(&mut w, k, &["destroy", "--auto-approve"]),
            "{context}: not held"
        );
        w.run(&["unlock", "--auto-approve"]).code(0);
        w.run(&["destroy", "--auto-approve"]).code(0);
        assert_eq!(inventory(&w).await, empty, "{context}: destroy left these");
        w.run(&["plan", "--destroy", "--detailed-exitcode"]).code(0);
    }
}

#[tokio::test]
async fn interrupted_runs_converge_shard_0() {
    shard(0).await;
}

#[tokio::test]
async fn interrupted_runs_converge_shard_1() {
    shard(1).await;
}

#[tokio::test]
async fn interrupted_runs_converge_shard_2() {
    shard(2).await;
}

#[tokio::test]
async fn interrupted_runs_converge_shard_3() {
    shard(3).await;
}
