//! End-to-end tests of `[function.<key>]` (Lambda functions built from a
//! folder) against the local AWS emulator that `scripts/test.sh` starts:
//! MiniStack runs Node.js handlers for real (with the `node` on PATH), so
//! the function is invoked through the SDK and answers with its code.

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use support::{actions_of, change_of, copy_tree, http, World, OWNER_ID_TAG, OWNER_STACK_TAG};

const STACK: &str = r#"
[role.exec]
trust = { service = "lambda.amazonaws.com" }

[function.hello]
source = "functions/hello"
runtime = "nodejs20.x"
handler = "index.handler"
role = "exec"
timeout = 10
description = "Says hello"
environment = { GREETING = "hello", ROLE_ARN = "${role.exec.arn}" }
"#;

/// Sets the modification time of every file under `dir` to `when`.
fn touch_all(dir: &Path, when: SystemTime) {
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let entry = entry.expect("an entry");
        if entry.file_type().expect("a file type").is_dir() {
            touch_all(&entry.path(), when);
        } else {
            std::fs::File::options()
                .write(true)
                .open(entry.path())
                .and_then(|f| f.set_modified(when))
                .expect("a new mtime");
        }
    }
}

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/function-hello")
}

/// Invokes the function with `event`; its answer, parsed.
async fn invoke(w: &World, name: &str, event: Value) -> Value {
    let out = w
        .lambda()
        .invoke()
        .function_name(name)
        .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
        .send()
        .await
        .expect("lambda:Invoke");
    let payload = out
        .payload()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&payload).into_owned();
    assert_eq!(out.function_error(), None, "the handler failed: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn a_function_from_a_folder_runs_and_its_code_is_identified_by_its_hash() {
    let mut w = World::new("fn");
    copy_tree(&fixture(), &w.path("functions/hello"));
    w.write_stack(STACK);
    let name = w.name("hello");
    let lambda = w.lambda();

    let first = w.run(&["plan", "--json", "--detailed-exitcode"]);
    first.code(2);
    assert_eq!(actions_of(&first.json(), "function.hello"), ["create"]);
    w.run(&["up", "--auto-approve"]).code(0);

    // It runs: the code, its module and its environment arrived.
    let answer = invoke(&w, &name, json!({ "name": "tester" })).await;
    let role_arn = format!("arn:aws:iam::{}:role/{}", w.account, w.name("exec"));
    assert_eq!(
        answer,
        json!({ "greeting": "hello tester", "loud": "TESTER!", "role": role_arn, "version": 1 })
    );
    let got = lambda
        .get_function()
        .function_name(&name)
        .send()
        .await
        .expect("lambda:GetFunction");
    let config = got.configuration().expect("a configuration");
    assert_eq!(config.role(), Some(role_arn.as_str()));
    assert_eq!(config.timeout(), Some(10));
    assert_eq!(config.description(), Some("Says hello"));
    let tags = got.tags().cloned().unwrap_or_default();
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack));
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("function.hello")
    );
    let live_hash = config.code_sha256().expect("a CodeSha256").to_string();

    // Converged: nothing to do.
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // New modification times change no byte of the package.
    let later = SystemTime::now() + Duration::from_secs(3 * 24 * 3600);
    touch_all(&w.path("functions"), later);
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // Nor does another checkout path: the stack and its folder, copied.
    let original = w.stack_file.clone();
    let elsewhere = w.path("another/checkout/of/the/repo");
    copy_tree(&w.path("functions"), &elsewhere.join("functions"));
    std::fs::copy(&original, elsewhere.join("stack.toml")).expect("the stack, copied");
    touch_all(
        &elsewhere,
        SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000),
    );
    w.stack_file = elsewhere.join("stack.toml");
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
    w.stack_file = original;

    // One changed handler is one update, of `code` alone, old hash to new.
    let handler = w.path("functions/hello/index.js");
    let text = std::fs::read_to_string(&handler).expect("the handler");
    std::fs::write(&handler, text.replace("version: 1", "version: 2")).expect("edited");
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    let plan = changed.json();
    assert_eq!(actions_of(&plan, "function.hello"), ["update"]);
    assert_eq!(actions_of(&plan, "role.exec"), ["no-op"]);
    let attributes = change_of(&plan, "function.hello")["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .clone();
    assert_eq!(attributes.len(), 1, "{attributes:?}");
    assert_eq!(attributes[0]["path"], "code");
    assert_eq!(attributes[0]["before"], live_hash.as_str());
    assert_ne!(attributes[0]["after"], live_hash.as_str());
    w.run(&["plan"]).code(0).stdout_has("code");

    w.run(&["up", "--auto-approve"]).code(0);
    let answer = invoke(&w, &name, json!({})).await;
    assert_eq!(answer["version"], 2, "{answer}");
    assert_eq!(answer["greeting"], "hello world", "{answer}");
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // A configuration change is an update in place too.
    w.write_stack(&STACK.replace("timeout = 10", "timeout = 20"));
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    assert_eq!(actions_of(&changed.json(), "function.hello"), ["update"]);
    w.run(&["up", "--auto-approve"]).code(0);
    let config = lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .expect("lambda:GetFunctionConfiguration");
    assert_eq!(config.timeout(), Some(20));

    // Out of the file, it is found by its tags and planned for deletion.
    let without = STACK
        .split("[function.hello]")
        .next()
        .expect("the role's part");
    w.write_stack(without);
    let removed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    removed.code(2);
    assert_eq!(actions_of(&removed.json(), "function.hello"), ["delete"]);
    w.write_stack(&STACK.replace("timeout = 10", "timeout = 20"));

    // Destroy removes it.
    w.run(&["destroy", "--auto-approve"]).code(0);
    let gone = lambda.get_function().function_name(&name).send().await;
    assert!(
        gone.as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "the function is still there: {gone:?}"
    );
}

#[tokio::test]
async fn a_missing_folder_a_missing_handler_and_an_unknown_runtime_are_errors_with_file_and_line() {
    let w = World::new("fnbad");
    std::fs::create_dir_all(w.path("functions/empty-handler")).expect("a folder");
    std::fs::write(w.path("functions/empty-handler/other.js"), "x").expect("a file");
    w.write_stack(
        r#"
[role.exec]
trust = { service = "lambda.amazonaws.com" }

[function.missing]
source = "functions/nope"
runtime = "nodejs20.x"
handler = "index.handler"
role = "exec"

[function.nohandler]
source = "functions/empty-handler"
runtime = "nodejs20.x"
handler = "index.handler"
role = "exec"

[function.oldruntime]
source = "functions/empty-handler"
runtime = "nodejs12.x"
handler = "other.handler"
role = "exec"
"#,
    );
    let run = w.run(&["validate"]);
    run.code(1);
    for want in [
        "functions/nope",
        "index.js",
        "nodejs12.x",
        "stack.toml:11",
        "stack.toml:19",
        "stack.toml:24",
    ] {
        assert!(
            run.stderr.contains(want) || run.stdout.contains(want),
            "{want} missing:\n{}",
            run.dump()
        );
    }
}

const APP: &str = r#"
[role.exec]
trust = { service = "lambda.amazonaws.com" }

[function.notes]
source = "functions/notes"
runtime = "nodejs20.x"
handler = "index.handler"
role = "exec"

[function.confirm]
source = "functions/confirm"
runtime = "nodejs20.x"
handler = "index.handler"
role = "exec"

[user_pool.users]
triggers.pre_sign_up = { function = "confirm" }
clients.app = { auth_flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }

[api.notes]
stage = "prod"
routes."GET /notes" = { integration = { function = "notes" } }
"#;

#[tokio::test]
async fn a_route_and_a_sign_up_trigger_run_functions_the_stack_builds() {
    let w = World::new("fnapp");
    for (dir, code) in [
        (
            "functions/notes",
            "exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ notes: [], path: event.path }) });\n",
        ),
        (
            "functions/confirm",
            "exports.handler = async (event) => { event.response.autoConfirmUser = true; return event; };\n",
        ),
    ] {
        std::fs::create_dir_all(w.path(dir)).expect("a folder");
        std::fs::write(w.path(dir).join("index.js"), code).expect("a handler");
    }
    w.write_stack(APP);
    w.run(&["up", "--auto-approve"]).code(0);

    // The route answers with the handler's output.
    let api_id = w
        .apigateway()
        .get_rest_apis()
        .send()
        .await
        .expect("apigateway:GetRestApis")
        .items()
        .iter()
        .find(|a| a.name() == Some(w.name("notes").as_str()))
        .and_then(|a| a.id())
        .expect("the API")
        .to_string();
    let (status, body) = http(
        &w.account,
        &format!("GET /_aws/execute-api/{api_id}/prod/notes"),
        &[],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(answer, json!({ "notes": [], "path": "/notes" }));

    // A sign-up comes back confirmed by the stack's own trigger.
    let pools = w
        .idp()
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("cognito-idp:ListUserPools");
    let pool_id = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(w.name("users").as_str()))
        .and_then(|p| p.id())
        .expect("the pool")
        .to_string();
    let clients = w
        .idp()
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("cognito-idp:ListUserPoolClients");
    let client_id = clients.user_pool_clients()[0]
        .client_id()
        .expect("a client id")
        .to_string();
    let sign_up =
        json!({ "ClientId": client_id, "Username": "someone", "Password": "Correct-Horse-9" });
    let (status, body) = http(
        &w.account,
        "POST /",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "AWSCognitoIdentityProviderService.SignUp"),
        ],
        &sign_up.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let signed_up: Value =
        serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(signed_up["UserConfirmed"], json!(true), "{signed_up}");

    // Converged; and nothing of the stack is left after destroy.
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
    w.run(&["destroy", "--auto-approve"]).code(0);
    let functions = w
        .lambda()
        .list_functions()
        .send()
        .await
        .expect("lambda:ListFunctions");
    let prefix = w.name("");
    assert!(
        functions
            .functions()
            .iter()
            .all(|f| !f.function_name().unwrap_or_default().starts_with(&prefix)),
        "{functions:?}"
    );
}

const TRIGGERED: &str = r#"
[table.notes]
hash_key = { name = "id", type = "S" }
stream = "new_image"

[table.seen]
hash_key = { name = "id", type = "S" }

[role.copier]
trust = { service = "lambda.amazonaws.com" }
policies = ["policies/copier.json"]

[function.copy]
source = "functions/copy"
runtime = "nodejs20.x"
handler = "index.handler"
role = "copier"
timeout = 10
environment = { SEEN = "${table.seen.name}" }
triggers = [{ stream = "table.notes", starting_position = "trim_horizon", batch_size = 100 }]
"#;

/// The role's policy: read the stream, write the second table.
const COPIER_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
      "Resource": "${table.notes.stream_arn}"
    },
    { "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "${table.seen.arn}" }
  ]
}
"#;

/// Copies the key of every record of the stream into the table `SEEN`.
const COPY_HANDLER: &str = r#"const { DynamoDBClient, PutItemCommand } = require("@aws-sdk/client-dynamodb");

const client = new DynamoDBClient({});

exports.handler = async (event) => {
  const records = event.Records || [];
  for (const record of records) {
    const id = record.dynamodb && record.dynamodb.Keys && record.dynamodb.Keys.id && record.dynamodb.Keys.id.S;
    if (!id) continue;
    await client.send(new PutItemCommand({
      TableName: process.env.SEEN,
      Item: { id: { S: id }, event: { S: record.eventName || "" } },
    }));
  }
  return { copied: records.length };
};
"#;

/// The function's event source mappings, as (UUID, source, batch size,
/// starting position).
async fn mappings(w: &World, function: &str) -> Vec<(String, String, i32, String)> {
    let out = w
        .lambda()
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await
        .expect("lambda:ListEventSourceMappings");
    out.event_source_mappings()
        .iter()
        .map(|m| {
            (
                m.uuid().unwrap_or_default().to_string(),
                m.event_source_arn().unwrap_or_default().to_string(),
                m.batch_size().unwrap_or_default(),
                m.starting_position()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_stream_trigger_runs_the_function_for_each_new_item_and_changes_in_place() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let w = World::new("fntrig");
    std::fs::create_dir_all(w.path("functions/copy")).expect("a folder");
    std::fs::write(w.path("functions/copy/index.js"), COPY_HANDLER).expect("the handler");
    std::fs::create_dir_all(w.path("policies")).expect("a folder");
    std::fs::write(w.path("policies/copier.json"), COPIER_POLICY).expect("the policy");
    w.write_stack(TRIGGERED);
    let function = w.name("copy");
    let (notes, seen) = (w.name("notes"), w.name("seen"));

    let up = w.run(&["up", "--auto-approve"]);
    up.code(0);
    assert!(
        !up.stderr.contains("does not let Lambda read"),
        "the role grants the stream read:\n{}",
        up.dump()
    );
    let stream_arn = w
        .must_table(&notes)
        .await
        .latest_stream_arn()
        .expect("the table's stream")
        .to_string();
    let made = mappings(&w, &function).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(
        (&made[0].1, made[0].2, made[0].3.as_str()),
        (&stream_arn, 100, "TRIM_HORIZON")
    );

    // An item written to the first table reaches the second through the
    // stream and the function.
    w.dynamodb
        .put_item()
        .table_name(&notes)
        .item("id", AttributeValue::S("note-1".into()))
        .item("headline", AttributeValue::S("hello".into()))
        .send()
        .await
        .expect("dynamodb:PutItem");
    let started = std::time::Instant::now();
    let copied = loop {
        let got = w
            .dynamodb
            .get_item()
            .table_name(&seen)
            .key("id", AttributeValue::S("note-1".into()))
            .consistent_read(true)
            .send()
            .await
            .expect("dynamodb:GetItem");
        if let Some(item) = got.item {
            break item;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the function did not copy the item within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        copied.get("event"),
        Some(&AttributeValue::S("INSERT".into()))
    );

    // Converged: nothing to do, for one more read of the function than
    // without triggers (its mappings, listed once), and not one change.
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    let calls = support::read_call_log(&log);
    let counts = support::per_operation(&calls);
    assert_eq!(
        counts.get("Lambda:ListEventSourceMappings"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert_eq!(
        counts.get("Lambda:GetFunction"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert!(
        support::mutating(&calls).is_empty(),
        "{}",
        support::summary(&calls)
    );

    // A new batch size is one update of the function's `triggers`, made in
    // place (the same mapping).
    w.write_stack(&TRIGGERED.replace("batch_size = 100", "batch_size = 25"));
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    let plan = changed.json();
    assert_eq!(actions_of(&plan, "function.copy"), ["update"]);
    for other in ["table.notes", "table.seen", "role.copier"] {
        assert_eq!(actions_of(&plan, other), ["no-op"], "{other}");
    }
    let attributes = change_of(&plan, "function.copy")["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .clone();
    assert_eq!(attributes.len(), 1, "{attributes:?}");
    assert_eq!(attributes[0]["path"], "triggers");
    assert_eq!(attributes[0]["before"][0]["batch_size"], 100);
    assert_eq!(attributes[0]["after"][0]["batch_size"], 25);
    w.run(&["up", "--auto-approve"]).code(0);
    let updated = mappings(&w, &function).await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!((&updated[0].0, updated[0].2), (&made[0].0, 25));
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // Another starting position cannot be changed: a new mapping replaces
    // the old one, still one update of the function.
    w.write_stack(
        &TRIGGERED
            .replace("batch_size = 100", "batch_size = 25")
            .replace("\"trim_horizon\"", "\"latest\""),
    );
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    assert_eq!(actions_of(&changed.json(), "function.copy"), ["update"]);
    w.run(&["up", "--auto-approve"]).code(0);
    let replaced = mappings(&w, &function).await;
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_ne!(replaced[0].0, made[0].0);
    assert_eq!(
        (&replaced[0].1, replaced[0].2, replaced[0].3.as_str()),
        (&stream_arn, 25, "LATEST")
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // Another stream view is a new stream: the plan cannot know its ARN,
    // and one `up` moves the trigger to it.
    w.write_stack(
        &TRIGGERED
            .replace("batch_size = 100", "batch_size = 25")
            .replace("\"trim_horizon\"", "\"latest\"")
            .replace("stream = \"new_image\"", "stream = \"new_and_old_images\""),
    );
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    let plan = changed.json();
    // The role's policy names the stream too: both wait for the new ARN.
    for address in ["table.notes", "role.copier", "function.copy"] {
        assert_eq!(actions_of(&plan, address), ["update"], "{address}");
    }
    w.run(&["up", "--auto-approve"]).code(0);
    let new_stream = w
        .must_table(&notes)
        .await
        .latest_stream_arn()
        .expect("the table's stream")
        .to_string();
    let moved = mappings(&w, &function).await;
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].1, new_stream);
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // Destroy leaves no mapping and no function.
    w.run(&["destroy", "--auto-approve"]).code(0);
    let all = w
        .lambda()
        .list_event_source_mappings()
        .send()
        .await
        .expect("lambda:ListEventSourceMappings");
    let left: Vec<_> = all
        .event_source_mappings()
        .iter()
        .filter(|m| {
            m.event_source_arn() == Some(stream_arn.as_str())
                || m.event_source_arn() == Some(new_stream.as_str())
                || m.function_arn().is_some_and(|a| a.ends_with(&function))
        })
        .collect();
    assert!(left.is_empty(), "mappings left: {left:?}");
    let gone = w
        .lambda()
        .get_function()
        .function_name(&function)
        .send()
        .await;
    assert!(
        gone.as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "the function is still there: {gone:?}"
    );
}

/// On a terminal, `up` draws a live line per resource being changed, with
/// the time elapsed and the state it waits in (a new function is `Pending`
/// for a moment), and prints each finished step above the live lines; the
/// same run in a pipe has no escape code at all (see emulator_ci.rs).
#[tokio::test]
async fn on_a_terminal_up_shows_live_progress_with_the_time_elapsed() {
    let w = World::new("fnlive");
    copy_tree(&fixture(), &w.path("functions/hello"));
    w.write_stack(STACK);
    let (code, screen) = w
        .on_a_terminal_until(&["up", "--auto-approve"], "Done:")
        .finish("");
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains('\u{1b}'),
        "no escape code on a terminal:\n{screen}"
    );
    let live = screen
        .split(['\r', '\n'])
        .any(|l| l.contains("function.hello (") && l.contains("creating") && l.contains("s)"));
    assert!(
        live,
        "no live line with the time elapsed for function.hello:\n{screen}"
    );
    assert!(
        screen.contains("function.hello: created in"),
        "the finished line is printed:\n{screen}"
    );
    w.run(&["destroy", "--auto-approve"]).code(0);
}
