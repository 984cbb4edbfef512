//! Stages: one stack file deployed as several separate copies (`--stage`,
//! `$MOBILE_BACKEND_STAGE`): each with its own names, ownership tags and
//! lock; `destroy` of one leaves the others untouched; a saved plan of one
//! stage is refused for another; a bad stage name is an error before any
//! AWS call.
//!
//! Run with `scripts/test.sh --test emulator_stages`.

mod support;

use support::{read_call_log, World, OWNER_STACK_TAG};

const STACK: &str = r#"
[vars]
tier = "free"

[stages.prod]
region = "us-west-2"
vars = { tier = "paid" }

[table.notes]
hash_key = { name = "id", type = "S" }

[bucket.files]
name = "${stack.name}-files-${aws.account_id}"
tags = { stage = "${stack.stage}", tier = "${var.tier}" }
"#;

#[tokio::test]
async fn stages_are_separate_copies_of_one_stack_file() {
    let w = World::new("stg");
    w.write_stack(STACK);
    let dev = ["--stage", "dev"];
    let args = |stage: &[&'static str], rest: &[&'static str]| -> Vec<&'static str> {
        stage.iter().chain(rest).copied().collect()
    };
    w.run(&args(&dev, &["up", "--auto-approve"])).code(0);
    // The sandbox is chosen by the environment variable.
    let sandbox = [("MOBILE_BACKEND_STAGE", "ann")];
    w.run_env(&["up", "--auto-approve"], &sandbox, None).code(0);

    // Each stage has its own names and ownership tag, and plans empty.
    let tables = w.table_names().await;
    for stage in ["dev", "ann"] {
        let table = format!("{}-{stage}-notes", w.stack);
        assert!(tables.contains(&table), "{table} in {tables:?}");
        let tags = w.table_tags(&table).await;
        assert_eq!(tags[OWNER_STACK_TAG], format!("{}-{stage}", w.stack));
        let bucket = format!("{}-{stage}-files-{}", w.stack, w.account);
        assert_eq!(w.bucket_tags(&bucket).await["stage"], stage);
    }
    assert!(
        !tables.contains(&w.name("notes")),
        "no unstaged copy was made"
    );
    w.run(&args(&dev, &["plan", "--detailed-exitcode"])).code(0);
    w.run_env(&["plan", "--detailed-exitcode"], &sandbox, None)
        .code(0);

    // A plan saved for dev is refused for the sandbox.
    let saved = w.path("dev-plan.json");
    let saved_arg = saved.to_str().expect("a UTF-8 path");
    w.run(&["--stage", "dev", "plan", "--out", saved_arg])
        .code(0);
    w.run_env(&["up", "--auto-approve", saved_arg], &sandbox, None)
        .code(1)
        .stderr_has("is a plan for stage `dev`")
        .stderr_has("this run is for stage `ann`");
    let saved_doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("the saved plan"))
            .expect("JSON");
    assert_eq!(saved_doc["stage"], "dev");
    assert_eq!(saved_doc["stack"], format!("{}-dev", w.stack));

    // prod: another region and a var of its own, from [stages.prod].
    w.run(&["--stage", "prod", "up", "--auto-approve"]).code(0);
    w.run(&["--stage", "prod", "plan", "--detailed-exitcode"])
        .code(0);
    let outputs = w.run(&["--stage", "prod", "outputs"]);
    outputs.code(0);
    let outputs = outputs.json();
    assert_eq!(outputs["region"], "us-west-2", "{outputs}");
    assert_eq!(outputs["stack"], format!("{}-prod", w.stack), "{outputs}");
    assert_eq!(outputs["stage"], "prod", "{outputs}");
    let east = w.table_names().await;
    assert!(
        !east.contains(&format!("{}-prod-notes", w.stack)),
        "prod is not in us-east-1: {east:?}"
    );
    let dev_bucket = format!("{}-dev-files-{}", w.stack, w.account);
    assert_eq!(w.bucket_tags(&dev_bucket).await["tier"], "free");

    // An `up` that changes nothing is no apply: the record keeps who did.
    w.run_env(
        &["--stage", "dev", "up", "--auto-approve"],
        &[("USER", "bob")],
        None,
    )
    .code(0);

    // `stages` finds exactly the three, in both regions, with who applied them.
    let listed = w.run(&["stages", "--json"]);
    listed.code(0);
    let listed = listed.json();
    let found: Vec<(String, String, u64)> = listed["stages"]
        .as_array()
        .expect("a list of stages")
        .iter()
        .map(|s| {
            let last = &s["last_applied"];
            assert_eq!(last["command"], "up", "{s}");
            assert_eq!(last["outcome"], "succeeded", "{s}");
            assert!(
                last["who"]
                    .as_str()
                    .is_some_and(|w| !w.is_empty() && w != "bob"),
                "{s}"
            );
            assert_eq!(
                s["stack_name"],
                format!("{}-{}", w.stack, s["stage"].as_str().unwrap_or("")),
                "{s}"
            );
            (
                s["stage"].as_str().unwrap_or("(none)").to_string(),
                s["region"].as_str().unwrap_or("").to_string(),
                s["resources"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want = |v: &[(&str, &str)]| -> Vec<(String, String, u64)> {
        v.iter()
            .map(|(s, r)| (s.to_string(), r.to_string(), 2))
            .collect()
    };
    assert_eq!(
        found,
        want(&[
            ("ann", "us-east-1"),
            ("dev", "us-east-1"),
            ("prod", "us-west-2")
        ]),
        "{listed}"
    );
    // The sandbox's developer sees theirs marked.
    let human = w.run_env(&["stages"], &sandbox, None);
    human.code(0).stdout_has(": 3 stages with resources");
    let marked: Vec<&str> = human
        .stdout
        .lines()
        .filter(|l| l.starts_with('*'))
        .collect();
    assert_eq!(marked.len(), 1, "{}", human.stdout);
    assert!(marked[0].starts_with("* ann "), "{}", human.stdout);

    // Destroying dev leaves the sandbox (and prod) as they were.
    w.run(&args(&dev, &["destroy", "--auto-approve"])).code(0);
    let tables = w.table_names().await;
    assert!(
        !tables.contains(&format!("{}-dev-notes", w.stack)),
        "{tables:?}"
    );
    assert!(
        tables.contains(&format!("{}-ann-notes", w.stack)),
        "{tables:?}"
    );
    w.run_env(&["plan", "--detailed-exitcode"], &sandbox, None)
        .code(0);
    w.run(&["--stage", "prod", "plan", "--detailed-exitcode"])
        .code(0);
    let left = w.run(&["stages", "--json"]).json();
    let left: Vec<&str> = left["stages"]
        .as_array()
        .expect("a list of stages")
        .iter()
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert_eq!(left, ["ann", "prod"], "dev is gone");
    w.run_env(&["destroy", "--auto-approve"], &sandbox, None)
        .code(0);
    w.run(&["--stage", "prod", "destroy", "--auto-approve"])
        .code(0);
    w.run(&["stages"])
        .code(0)
        .stdout_has(&format!("no stage of stack `{}` exists", w.stack))
        .stdout_has("us-east-1, us-west-2");
    assert!(w
        .table_names()
        .await
        .iter()
        .all(|t| !t.starts_with(&w.stack)));
}

#[tokio::test]
async fn a_bad_stage_name_is_an_error_before_any_aws_call() {
    let w = World::new("stgbad");
    w.write_stack(STACK);
    let log = w.path("calls.log");
    w.run_logged(&["--stage", "Feature_X", "plan"], &log)
        .code(1)
        .stderr_has("stage name `Feature_X`")
        .stderr_has("[a-z0-9-]");
    assert!(read_call_log(&log).is_empty(), "{:?}", read_call_log(&log));
    // A file that names ${stack.stage} needs a stage.
    w.run_logged(&["plan"], &log)
        .code(1)
        .stderr_has("`${stack.stage}` needs a stage")
        .stderr_has("--stage NAME");
    assert!(read_call_log(&log).is_empty());
    // An unknown `${var.x}`: at its line, with the nearest name.
    w.write_stack(&STACK.replace("${var.tier}", "${var.tire}"));
    w.run_logged(&["--stage", "dev", "plan"], &log)
        .code(1)
        .stderr_has("tire")
        .stderr_has("tier")
        .stderr_has(":19:");
    assert!(read_call_log(&log).is_empty());
}
