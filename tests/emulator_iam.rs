//! End-to-end tests of `[role.<key>]` (IAM roles) against the local AWS
//! emulator that `scripts/test.sh` starts: the real binary, and IAM checked
//! through the SDK directly, never through the tool.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::{
    actions_of, change_of, mutating, read_call_log, summary, World, OWNER_ID_TAG, OWNER_STACK_TAG,
};

const MANAGED: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

/// A table, and a Lambda role that may use it, each user only their own items.
const STACK: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }

[role.app]
trust = { service = "lambda.amazonaws.com" }
policies = ["policies/notes-access.json"]
managed_policies = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
max_session_duration = 7200
description = "Notes API functions"
tags = { purpose = "api" }
"#;

fn policy(actions: &[&str]) -> String {
    serde_json::to_string_pretty(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": actions,
            "Resource": "${table.notes.arn}",
            "Condition": {
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]
                }
            }
        }]
    }))
    .unwrap()
}

fn write_policy(w: &World, actions: &[&str]) {
    std::fs::create_dir_all(w.path("policies")).unwrap();
    std::fs::write(w.path("policies/notes-access.json"), policy(actions)).unwrap();
}

fn iam(w: &World) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    )
}

/// IAM returns policy documents percent-encoded (RFC 3986; `+` is a plus).
fn document(raw: &str) -> Value {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_string()
    } else {
        let bytes = raw.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8 policy document")
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("policy document {text}: {e}"))
}

async fn role(iam: &aws_sdk_iam::Client, name: &str) -> Option<aws_sdk_iam::types::Role> {
    match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) => {
            let service = e.into_service_error();
            assert!(
                service.is_no_such_entity_exception(),
                "iam:GetRole {name}: {service:?}"
            );
            None
        }
    }
}

async fn inline_policies(iam: &aws_sdk_iam::Client, name: &str) -> BTreeMap<String, Value> {
    let names = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .expect("iam:ListRolePolicies")
        .policy_names()
        .to_vec();
    let mut out = BTreeMap::new();
    for policy in names {
        let got = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await
            .expect("iam:GetRolePolicy");
        out.insert(policy, document(got.policy_document()));
    }
    out
}

async fn managed_policies(iam: &aws_sdk_iam::Client, name: &str) -> Vec<String> {
    iam.list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .expect("iam:ListAttachedRolePolicies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

async fn role_tags(iam: &aws_sdk_iam::Client, name: &str) -> BTreeMap<String, String> {
    iam.list_role_tags()
        .role_name(name)
        .send()
        .await
        .expect("iam:ListRoleTags")
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[tokio::test]
async fn role_lifecycle_with_policies_from_files() {
    let w = World::new("iam");
    let iam = iam(&w);
    write_policy(&w, &["dynamodb:GetItem", "dynamodb:Query"]);
    w.write_stack(STACK);
    let name = w.name("app");

    // Before anything exists the table's ARN is not known, and says so.
    let first = w.run(&["plan", "--json", "--detailed-exitcode"]);
    first.code(2);
    let plan = first.json();
    assert_eq!(actions_of(&plan, "role.app"), ["create"]);
    let unknown = change_of(&plan, "role.app")["change"]["after_unknown"].clone();
    assert!(
        unknown.as_array().is_some_and(|u| u
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("Resource")))),
        "the policy's Resource should be known only after apply: {unknown}"
    );

    w.run(&["up", "--auto-approve"]).code(0);

    // What IAM holds, read directly.
    let table_arn = w
        .must_table(&w.name("notes"))
        .await
        .table_arn()
        .expect("table ARN")
        .to_string();
    let got = role(&iam, &name).await.expect("the role exists");
    assert_eq!(
        document(got.assume_role_policy_document().expect("trust policy")),
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "lambda.amazonaws.com" },
                "Action": "sts:AssumeRole",
            }],
        })
    );
    assert_eq!(got.max_session_duration(), Some(7200));
    assert_eq!(got.description(), Some("Notes API functions"));
    let inline = inline_policies(&iam, &name).await;
    assert_eq!(
        inline.keys().collect::<Vec<_>>(),
        ["notes-access"],
        "inline policies are named after the file stem"
    );
    let statement = &inline["notes-access"]["Statement"][0];
    assert_eq!(statement["Resource"], table_arn.as_str());
    assert_eq!(
        statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        json!(["${cognito-identity.amazonaws.com:sub}"]),
        "the IAM policy variable is kept as written"
    );
    assert_eq!(managed_policies(&iam, &name).await, [MANAGED]);
    let tags = role_tags(&iam, &name).await;
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack));
    assert_eq!(tags.get(OWNER_ID_TAG).map(String::as_str), Some("role.app"));
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));
    assert_eq!(tags.get("purpose").map(String::as_str), Some("api"));

    // Converged: reading the role is a few calls and changes nothing.
    let plan_log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &plan_log)
        .code(0)
        .stdout_has("No changes");
    let calls = read_call_log(&plan_log);
    let iam_calls: Vec<String> = calls
        .iter()
        .filter(|c| c.starts_with("iam:") || c.starts_with("IAM:"))
        .cloned()
        .collect();
    eprintln!(
        "converged plan: {} AWS calls, IAM: {}",
        calls.len(),
        summary(&iam_calls)
    );
    assert!(mutating(&calls).is_empty(), "{calls:?}");
    // Per role: GetRole, ListRolePolicies and ListAttachedRolePolicies at
    // once, then one GetRolePolicy per inline policy. ListRoles (once per
    // plan, not per role) looks for roles removed from the stack file.
    let per_role: Vec<&String> = iam_calls
        .iter()
        .filter(|c| !c.ends_with(":ListRoles") && !c.ends_with(":ListRoleTags"))
        .collect();
    assert_eq!(
        per_role.len(),
        4,
        "GetRole, ListRolePolicies, ListAttachedRolePolicies, one GetRolePolicy: {}",
        summary(&iam_calls)
    );
    assert!(
        iam_calls
            .iter()
            .filter(|c| c.ends_with(":ListRoles"))
            .count()
            <= 1,
        "{}",
        summary(&iam_calls)
    );

    // The policy file changes: an in-place update that puts that one policy.
    write_policy(
        &w,
        &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"],
    );
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    let plan = changed.json();
    assert_eq!(actions_of(&plan, "role.app"), ["update"]);
    assert_eq!(actions_of(&plan, "table.notes"), ["no-op"]);
    let paths: Vec<String> = change_of(&plan, "role.app")["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !paths.is_empty()
            && paths
                .iter()
                .all(|p| p.starts_with("inline_policies.notes-access")),
        "only the changed inline policy differs: {paths:?}"
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("role.app");

    let up_log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &up_log).code(0);
    let changes = mutating(&read_call_log(&up_log));
    assert_eq!(
        changes.len(),
        1,
        "one PutRolePolicy and nothing else: {changes:?}"
    );
    assert!(changes[0].ends_with(":PutRolePolicy"), "{changes:?}");
    let inline = inline_policies(&iam, &name).await;
    assert_eq!(
        inline["notes-access"]["Statement"][0]["Action"],
        json!(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"])
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Drift behind the tool's back is planned and repaired.
    iam.detach_role_policy()
        .role_name(&name)
        .policy_arn(MANAGED)
        .send()
        .await
        .expect("iam:DetachRolePolicy");
    iam.put_role_policy()
        .role_name(&name)
        .policy_name("by-hand")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .expect("iam:PutRolePolicy");
    iam.update_role()
        .role_name(&name)
        .max_session_duration(3600)
        .send()
        .await
        .expect("iam:UpdateRole");
    let drift = w.run(&["plan", "--json", "--detailed-exitcode"]);
    drift.code(2);
    let plan = drift.json();
    assert_eq!(actions_of(&plan, "role.app"), ["update"]);
    let mut paths: Vec<String> = change_of(&plan, "role.app")["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["path"].as_str().unwrap_or_default().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "inline_policies.by-hand",
            "managed_policies",
            "max_session_duration"
        ]
    );
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(managed_policies(&iam, &name).await, [MANAGED]);
    assert_eq!(
        inline_policies(&iam, &name)
            .await
            .keys()
            .collect::<Vec<_>>(),
        ["notes-access"]
    );
    assert_eq!(
        role(&iam, &name)
            .await
            .expect("role")
            .max_session_duration(),
        Some(7200)
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Destroy detaches and deletes the policies first, then the role.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(role(&iam, &name).await.is_none(), "the role is gone");
    assert!(w.table_names().await.is_empty(), "the table is gone");
    w.run(&["plan", "--destroy", "--detailed-exitcode"]).code(0);
}

#[tokio::test]
async fn a_role_removed_from_the_stack_file_is_found_by_its_tags_and_deleted() {
    let w = World::new("iamr");
    let iam = iam(&w);
    write_policy(&w, &["dynamodb:GetItem"]);
    w.write_stack(STACK);
    let name = w.name("app");
    w.run(&["up", "--auto-approve"]).code(0);
    assert!(role(&iam, &name).await.is_some());

    // Only the table is left in the file: the role is found by ListRoles and
    // its ownership tags, and planned for deletion.
    w.write_stack(
        r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
"#,
    );
    let removed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    removed.code(2);
    let plan = removed.json();
    assert_eq!(actions_of(&plan, "role.app"), ["delete"]);
    assert_eq!(actions_of(&plan, "table.notes"), ["no-op"]);
    w.run(&["up", "--auto-approve"]).code(0);
    assert!(
        role(&iam, &name).await.is_none(),
        "the removed role is deleted"
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(w.table_names().await.is_empty());
}

#[tokio::test]
async fn a_same_named_role_made_by_hand_is_a_conflict_and_never_touched() {
    let w = World::new("iamc");
    let iam = iam(&w);
    w.write_stack(
        r#"
[role.app]
trust = { service = "lambda.amazonaws.com" }
"#,
    );
    let name = w.name("app");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("iam:CreateRole");

    w.run(&["plan"]).code(1).stdout_has("conflict");
    let log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(1);
    assert!(mutating(&read_call_log(&log)).is_empty());
    w.run(&["destroy", "--auto-approve"]).code(0);
    let still = role(&iam, &name).await.expect("the role is still there");
    assert_eq!(
        document(still.assume_role_policy_document().expect("trust"))["Statement"][0]["Principal"]
            ["Service"],
        "ec2.amazonaws.com"
    );
}
