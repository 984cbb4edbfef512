//! Real AWS throttles, answers 5xx and drops connections. Through the
//! fault-injection proxy: with 10 % throttling, 5 % 5xx and 2 % dropped
//! connections on every operation, `up`, `plan` and `destroy` of the whole
//! reference architecture succeed with a bounded number of retries; with
//! every attempt of an operation failing, they stop in bounded time with an
//! error that names the operation and the resource.
//!
//! Run with `scripts/test.sh --test emulator_faults`.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::inventory::inventory;
use support::proxy::{Faults, Proxy};
use support::{read_call_log, World};

/// Runs the tool through `proxy` (the test's own SDK clients keep talking to
/// the emulator directly).
fn through(w: &mut World, proxy: &Proxy, args: &[&str], log: &Path) -> support::Run {
    let direct = std::mem::replace(&mut w.endpoint, proxy.url());
    let run = w.run_logged(args, log);
    w.endpoint = direct;
    run
}

#[tokio::test]
async fn up_plan_and_destroy_succeed_through_throttling_5xx_and_dropped_connections() {
    let mut w = World::new("faults");
    w.use_reference_architecture("opensearch").await;
    let proxy = Proxy::start(&w.endpoint);
    proxy.set_seed(20261123);
    proxy.set_faults(Faults {
        throttle: 0.10,
        error_500: 0.025,
        error_503: 0.025,
        drop: 0.02,
    });

    let mut calls = 0;
    for (step, args, code) in [
        ("up", &["up", "--auto-approve"][..], 0),
        ("plan", &["plan", "--detailed-exitcode"][..], 0),
        ("destroy", &["destroy", "--auto-approve"][..], 0),
    ] {
        let log = w.path(&format!("{step}.log"));
        let started = Instant::now();
        through(&mut w, &proxy, args, &log).code(code);
        calls += read_call_log(&log).len();
        eprintln!(
            "{step}: {:.1}s, {} calls so far, {} faults injected so far",
            started.elapsed().as_secs_f64(),
            calls,
            proxy.faults_injected()
        );
    }
    assert!(
        inventory(&w).await.is_empty(),
        "destroy left something: {:#?}",
        inventory(&w).await
    );

    // Faults were injected (the test means something), every call got
    // through in the end, and retries stayed bounded: about one extra
    // attempt per fault, never a storm.
    let counts = proxy.counts();
    let seen: usize = counts.values().map(|c| c.seen).sum();
    let faults = proxy.faults_injected();
    assert!(faults >= 10, "only {faults} faults in {seen} requests");
    assert!(
        seen <= calls + faults + calls / 10,
        "{seen} requests for {calls} calls and {faults} faults: {counts:#?}"
    );
    for (operation, c) in &counts {
        assert!(
            c.faults() < mobile_backend::aws::MAX_ATTEMPTS as usize * c.seen.max(1),
            "{operation}: {c:?}"
        );
    }
}

#[tokio::test]
async fn a_read_that_always_fails_stops_plan_in_bounded_time_naming_it() {
    let mut w = World::new("readfail");
    w.use_reference_architecture("opensearch").await;
    let proxy = Proxy::start(&w.endpoint);
    proxy.set_faults_for("dynamodb:DescribeTable", Faults::throttle(1.0));
    let started = Instant::now();
    let log = w.path("plan.log");
    let run = through(&mut w, &proxy, &["plan"], &log);
    let took = started.elapsed();
    run.code(1)
        .stderr_has("table.notes")
        .stderr_has("DescribeTable")
        .stderr_has("ThrottlingException");
    assert!(took < Duration::from_secs(60), "plan took {took:?}");
    let attempts = proxy.count("dynamodb:DescribeTable").seen;
    assert_eq!(
        attempts,
        mobile_backend::aws::MAX_ATTEMPTS as usize,
        "{:#?}",
        proxy.counts()
    );
}

#[tokio::test]
async fn a_create_that_always_fails_stops_up_naming_it_and_a_rerun_converges() {
    let mut w = World::new("createfail");
    w.use_reference_architecture("opensearch").await;
    let proxy = Proxy::start(&w.endpoint);
    proxy.set_faults_for("cognito-idp:CreateUserPool", Faults::error_500(1.0));
    let started = Instant::now();
    let log = w.path("up.log");
    let run = through(&mut w, &proxy, &["up", "--auto-approve"], &log);
    let took = started.elapsed();
    run.code(1)
        .stderr_has("user_pool.users")
        .stderr_has("CreateUserPool")
        .stdout_has("skipped");
    assert!(took < Duration::from_secs(90), "up took {took:?}");
    // The same connection dropped on every attempt: the same, in bounded time.
    proxy.clear_faults();
    proxy.set_faults_for("cognito-idp:CreateUserPool", Faults::drop_connection(1.0));
    let started = Instant::now();
    through(&mut w, &proxy, &["up", "--auto-approve"], &log)
        .code(1)
        .stderr_has("user_pool.users")
        .stderr_has("CreateUserPool");
    assert!(started.elapsed() < Duration::from_secs(90));
    // Once AWS answers again, `up` finishes what the failed runs started.
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(inventory(&w).await.is_empty());
}

#[tokio::test]
async fn with_every_call_failing_the_tool_stops_at_the_first_one_in_bounded_time() {
    let mut w = World::new("allfail");
    w.use_reference_architecture("opensearch").await;
    let proxy = Proxy::start(&w.endpoint);
    proxy.set_faults(Faults::error_503(1.0));
    let started = Instant::now();
    let log = w.path("plan.log");
    through(&mut w, &proxy, &["plan"], &log)
        .code(1)
        .stderr_has("sts:GetCallerIdentity")
        .stderr_has("ServiceUnavailable");
    assert!(started.elapsed() < Duration::from_secs(60));
}
