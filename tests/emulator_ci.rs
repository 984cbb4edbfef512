//! The CI pipeline step on the local emulator: saved plans (`plan --out`,
//! `up FILE`, `destroy FILE`) that apply exactly what was reviewed or nothing,
//! and the per-stack lock that keeps two runs from applying one stack at once.
//! Run with `scripts/test.sh --test emulator_ci`.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Tag};
use support::{is_lock_call, mutating, read_call_log, World};

const NOTES: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
"#;

const NOTES_TAGGED: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
tags = { owner = "notes-team" }
"#;

fn table_arn(w: &World) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{}",
        support::REGION,
        w.account,
        w.name("notes")
    )
}

/// The stack's own calls that changed something, read from a call log.
fn changes_in(log: &std::path::Path) -> Vec<String> {
    mutating(&read_call_log(log))
}

// ---------------------------------------------------------- saved plans ----

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_and_only_while_its_inputs_hold() {
    let w = World::new("saved");
    w.write_stack(NOTES);

    // `plan --out` writes the same document `plan --json` prints, with the
    // fingerprint of what it was made from.
    let plan_file = w.path("create.json");
    let printed = w.run(&["plan", "--json"]);
    printed.code(0);
    w.run(&["plan", "--out", plan_file.to_str().unwrap()])
        .code(0)
        .stderr_has("mobile-backend up");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(
        saved,
        printed.json(),
        "plan --json and the saved plan differ"
    );
    assert_eq!(saved["format_version"], "1");
    let fp = &saved["fingerprint"];
    assert_eq!(fp["algorithm"], "sha256");
    assert_eq!(fp["account_id"], w.account.as_str());
    assert_eq!(fp["files"].as_object().unwrap().len(), 1, "{fp}");
    assert!(
        fp["files"]["stack.toml"].as_str().unwrap().len() == 64,
        "{fp}"
    );
    assert_eq!(fp["live"]["table.notes"], "absent");

    let up = w.run(&["up", "--auto-approve", plan_file.to_str().unwrap()]);
    up.code(0);
    assert_eq!(w.table_names().await, vec![w.name("notes")]);

    // A plan made, then the table changed out of band: refused, nothing done.
    w.write_stack(NOTES_TAGGED);
    let update_file = w.path("update.json");
    w.run(&["plan", "--out", update_file.to_str().unwrap()])
        .code(0);
    w.dynamodb
        .tag_resource()
        .resource_arn(table_arn(&w))
        .tags(
            Tag::builder()
                .key("cost-center")
                .value("42")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("dynamodb:TagResource (out of band)");
    let log = w.path("stale-live.log");
    let stale = w.run_logged(
        &["up", "--auto-approve", update_file.to_str().unwrap()],
        &log,
    );
    stale
        .code(1)
        .stderr_has("is out of date")
        .stderr_has("`table.notes` changed in AWS")
        .stderr_has("Nothing was changed");
    assert!(changes_in(&log).is_empty(), "{:?}", read_call_log(&log));
    assert_eq!(w.table_tags(&w.name("notes")).await.get("owner"), None);

    // A plan made, then the stack file edited: refused, nothing done.
    let edited_file = w.path("edited.json");
    w.run(&["plan", "--out", edited_file.to_str().unwrap()])
        .code(0);
    w.write_stack(&NOTES_TAGGED.replace("notes-team", "other-team"));
    let log = w.path("stale-file.log");
    w.run_logged(
        &["up", "--auto-approve", edited_file.to_str().unwrap()],
        &log,
    )
    .code(1)
    .stderr_has("file `stack.toml` was edited");
    assert!(changes_in(&log).is_empty(), "{:?}", read_call_log(&log));
    assert_eq!(w.table_tags(&w.name("notes")).await.get("owner"), None);

    // A fresh plan of the current file applies exactly its tag change.
    let fresh = w.path("fresh.json");
    w.run(&["plan", "--out", fresh.to_str().unwrap()]).code(0);
    // A hand-edited plan is not the plan its inputs give.
    let mut tampered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fresh).unwrap()).unwrap();
    tampered["resource_changes"][0]["change"]["actions"] = serde_json::json!(["delete"]);
    let tampered_file = w.path("tampered.json");
    std::fs::write(&tampered_file, tampered.to_string()).unwrap();
    w.run(&["up", "--auto-approve", tampered_file.to_str().unwrap()])
        .code(1)
        .stderr_has("was the file edited?");
    let log = w.path("fresh.log");
    w.run_logged(&["up", "--auto-approve", fresh.to_str().unwrap()], &log)
        .code(0);
    let tags = w.table_tags(&w.name("notes")).await;
    assert_eq!(tags.get("owner").map(String::as_str), Some("other-team"));
    // The stack owns every tag of its table: the saved plan also removed the
    // out-of-band tag, as it said it would, and touched nothing else.
    assert_eq!(tags.get("cost-center"), None);
    let changes = changes_in(&log);
    assert!(
        changes.iter().all(|c| c.starts_with("DynamoDB:")),
        "{changes:?}"
    );
    // Applying the same saved plan twice: the live state it was made from is
    // gone, so the second run refuses.
    w.run(&["up", "--auto-approve", fresh.to_str().unwrap()])
        .code(1)
        .stderr_has("is out of date");

    // Saved destroy plans: only `destroy FILE` applies them.
    let destroy_file = w.path("destroy.json");
    w.run(&["plan", "--destroy", "--out", destroy_file.to_str().unwrap()])
        .code(0)
        .stderr_has("mobile-backend destroy");
    w.run(&["up", "--auto-approve", destroy_file.to_str().unwrap()])
        .code(1)
        .stderr_has("is a destroy plan");
    w.run(&["destroy", "--auto-approve", fresh.to_str().unwrap()])
        .code(1)
        .stderr_has("not for `destroy`");
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
    w.run(&["destroy", "--auto-approve", destroy_file.to_str().unwrap()])
        .code(0);
    assert!(w.table_names().await.is_empty());

    // Not a plan at all.
    let junk = w.path("junk.json");
    std::fs::write(&junk, "{\"hello\": 1}").unwrap();
    w.run(&["up", "--auto-approve", junk.to_str().unwrap()])
        .code(1)
        .stderr_has("is not a plan written by `mobile-backend plan --out`");
}

#[tokio::test]
async fn a_saved_plan_is_refused_in_another_account() {
    let w = World::new("elsewhere");
    w.write_stack(NOTES);
    let plan_file = w.path("plan.json");
    w.run(&["plan", "--out", plan_file.to_str().unwrap()])
        .code(0);
    let other = World::new("elsewhere");
    std::fs::write(&other.stack_file, std::fs::read(&w.stack_file).unwrap()).unwrap();
    other
        .run(&["up", "--auto-approve", plan_file.to_str().unwrap()])
        .code(1)
        .stderr_has(&format!("the plan was made for account {}", w.account));
    assert!(other.table_names().await.is_empty());
}

// ----------------------------------------------------------------- lock ----

#[tokio::test]
async fn two_ups_started_together_apply_once() {
    let w = World::new("together");
    w.write_stack(NOTES);
    // Nothing to destroy yet: it only takes and releases the lock.
    w.run(&["destroy", "--auto-approve"]).code(0);

    for (round, extra) in [("fail", &[][..]), ("wait", &["--lock-timeout", "60s"][..])] {
        let logs = [
            w.path(&format!("{round}-a.log")),
            w.path(&format!("{round}-b.log")),
        ];
        let children: Vec<_> = logs
            .iter()
            .map(|log| {
                let mut args = vec!["up", "--auto-approve"];
                args.extend_from_slice(extra);
                w.process(&args, Some(log)).spawn().expect("start up")
            })
            .collect();
        let outs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("up ends"))
            .collect();
        let mut applied = 0;
        for (out, log) in outs.iter().zip(&logs) {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let changes = changes_in(log);
            if !changes.is_empty() {
                applied += 1;
                assert_eq!(out.status.code(), Some(0), "{stderr}");
            } else if out.status.code() == Some(1) {
                // The loser without --lock-timeout names who holds the lock.
                assert!(extra.is_empty(), "a waiting run failed: {stderr}");
                assert!(stderr.contains("is locked: held by"), "{stderr}");
                assert!(stderr.contains("for `up` since"), "{stderr}");
            } else {
                // Or it ran after the winner and found nothing to do.
                assert_eq!(out.status.code(), Some(0), "{stderr}");
            }
        }
        assert!(applied <= 1, "{round}: both runs applied");
        // The first round creates the table; the second finds it converged.
        if round == "fail" {
            assert_eq!(applied, 1, "nobody applied");
        }
        assert_eq!(w.table_names().await, vec![w.name("notes")]);
        w.run(&["unlock"]).code(0).stdout_has("is not locked");
    }
}

#[tokio::test]
async fn a_held_lock_names_its_holder_and_a_killed_one_can_be_broken() {
    let w = World::new("held");
    w.write_stack(NOTES);

    // `up` on a terminal holds the lock while it waits for `yes`.
    let waiting = w.on_a_terminal(&["up"]);
    let pid = waiting.pid;
    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("is locked: held by")
        .stderr_has(&format!("(pid {pid}) for `up`"))
        .stderr_has("--lock-timeout");
    let started = Instant::now();
    w.run(&["up", "--auto-approve", "--lock-timeout", "2s"])
        .code(1)
        .stderr_has("waiting up to 2s")
        .stderr_has("still locked after waiting");
    assert!(started.elapsed() >= Duration::from_secs(2));
    // `plan` never locks.
    w.run(&["plan"]).code(0);
    assert!(w.table_names().await.is_empty());

    // Killed without any cleanup: the lock stays, and is recognised as stale.
    let (code, _) = waiting.finish("KILL");
    assert_ne!(code, 0);
    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("no longer runs on this machine")
        .stderr_has("mobile-backend unlock");
    // Breaking it asks first; without a terminal that needs --auto-approve.
    w.run(&["unlock"])
        .code(1)
        .stdout_has(&format!("(pid {pid})"))
        .stderr_has("--auto-approve");
    w.run(&["unlock", "--auto-approve"])
        .code(0)
        .stdout_has("broken");
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
}

#[tokio::test]
async fn a_waiting_run_applies_once_the_holder_lets_go() {
    let w = World::new("queue");
    w.write_stack(NOTES);
    let holder = w.on_a_terminal(&["up"]);
    let log = w.path("waiter.log");
    let waiter = w
        .process(
            &["up", "--auto-approve", "--lock-timeout", "60s"],
            Some(&log),
        )
        .spawn()
        .expect("start the waiting up");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(w.table_names().await.is_empty(), "the waiter did not wait");
    // The holder is told `no`: it changes nothing and releases the lock.
    let (code, screen) = holder.finish("no");
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("cancelled; nothing was changed"),
        "{screen}"
    );
    let out = waiter.wait_with_output().expect("the waiter ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("lock: waiting up to 60s"), "{stderr}");
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
    assert!(!changes_in(&log).is_empty());
}

#[tokio::test]
async fn ctrl_c_releases_the_lock() {
    let w = World::new("ctrlc");
    w.write_stack(NOTES);
    let run = w.on_a_terminal(&["up"]);
    let (code, screen) = run.finish("SIGINT");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("interrupted by Ctrl-C"), "{screen}");
    w.run(&["unlock"]).code(0).stdout_has("is not locked");
    assert!(w.table_names().await.is_empty());
}

#[tokio::test]
async fn an_expired_lock_is_taken_over() {
    let w = World::new("expired");
    w.write_stack(NOTES);
    // The lock table, then a lock whose holder stopped renewing it long ago.
    w.run(&["destroy", "--auto-approve"]).code(0);
    let item = [
        ("stack", AttributeValue::S(w.stack.clone())),
        ("lock_id", AttributeValue::S("ghost/1/1".into())),
        ("who", AttributeValue::S("ghost".into())),
        ("host", AttributeValue::S("build-7".into())),
        ("pid", AttributeValue::N("4242".into())),
        ("command", AttributeValue::S("up".into())),
        ("acquired_at", AttributeValue::N("1700000000".into())),
        ("expires_at", AttributeValue::N("1700000060".into())),
    ];
    w.dynamodb
        .put_item()
        .table_name(mobile_backend::lock::DEFAULT_TABLE)
        .set_item(Some(
            item.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
        .send()
        .await
        .expect("dynamodb:PutItem (a dead run's lock)");
    w.run(&["unlock"])
        .stdout_has("held by ghost on build-7 (pid 4242)")
        .stdout_has("expired at 2023-11-14T22:14:20Z");
    let log = w.path("takeover.log");
    w.run_logged(&["up", "--auto-approve"], &log)
        .code(0)
        .stderr_has("took over the expired lock")
        .stderr_has("held by ghost on build-7");
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
    // The lock's own calls: one PutItem to take it, one DeleteItem to
    // release it and, as this run applied changes, one PutItem for the record
    // of who applied the stack last (release and record go together).
    let mut lock_calls: Vec<String> = read_call_log(&log)
        .into_iter()
        .filter(|c| is_lock_call(c))
        .collect();
    assert_eq!(
        lock_calls.first().map(String::as_str),
        Some("Lock DynamoDB:PutItem")
    );
    lock_calls.sort();
    assert_eq!(
        lock_calls,
        vec![
            "Lock DynamoDB:DeleteItem".to_string(),
            "Lock DynamoDB:PutItem".to_string(),
            "Lock DynamoDB:PutItem".to_string()
        ]
    );
    let record = w
        .dynamodb
        .get_item()
        .table_name(mobile_backend::lock::DEFAULT_TABLE)
        .key(
            "stack",
            AttributeValue::S(format!("{}#last-apply", w.stack)),
        )
        .send()
        .await
        .expect("dynamodb:GetItem (the record)");
    let record = record.item().expect("a record of this apply");
    let s = |k: &str| record.get(k).and_then(|v| v.as_s().ok()).cloned();
    assert_eq!(s("command").as_deref(), Some("up"));
    assert_eq!(s("outcome").as_deref(), Some("succeeded"));
    assert_eq!(s("base").as_deref(), Some(w.stack.as_str()));
    assert!(!record.contains_key("expires_at"), "a record never expires");
    w.run(&["unlock"]).code(0).stdout_has("is not locked");
}

// ------------------------------------------------------------------- CI ----

#[tokio::test]
async fn without_a_terminal_there_is_never_an_escape_code_or_a_prompt() {
    let w = World::new("plain");
    w.write_stack(NOTES);
    let plan_file = w.path("plan.json");
    let plan_file = plan_file.to_str().unwrap();
    let runs = [
        (vec!["validate"], 0),
        (vec!["plan"], 0),
        (vec!["plan", "--detailed-exitcode"], 2),
        (vec!["plan", "--markdown"], 0),
        (vec!["plan", "--json", "--out", plan_file], 0),
        // Refuses: no terminal to ask on, and no --auto-approve.
        (vec!["up"], 1),
        (vec!["up", "--auto-approve", plan_file], 0),
        (vec!["plan", "--detailed-exitcode"], 0),
        (vec!["unlock"], 0),
        (vec!["destroy"], 1),
        (vec!["destroy", "--auto-approve"], 0),
    ];
    for (args, code) in runs {
        let run = w.run_as_ci(&args);
        run.code(code);
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains('\u{1b}'),
                "an escape code on {stream}\n{}",
                run.dump()
            );
            assert!(
                !text.contains("Only `yes` is accepted"),
                "a prompt without a terminal\n{}",
                run.dump()
            );
        }
    }
    // `up` of the saved plan created the table; `destroy` removed it.
    assert!(w.table_names().await.is_empty());
}
