//! End-to-end tests of `mobile-backend` against the local AWS emulator
//! (MiniStack) that `scripts/test.sh` starts: the real binary, real AWS APIs,
//! and AWS state checked through the SDK directly, never through the tool.
//!
//! Every test has its own AWS account on the shared emulator (a 12-digit
//! access key is the account id there), so tests run in parallel. Without
//! `MOBILE_BACKEND_TEST_ENDPOINT` every test here fails and says to run
//! `scripts/test.sh`.

mod support;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, StreamSpecification, StreamViewType, Tag,
    TimeToLiveStatus, UpdateGlobalSecondaryIndexAction,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use support::{
    actions_of, change_of, mutating, read_call_log, summary, World, OWNER_ID_TAG, OWNER_STACK_TAG,
};

/// The example stack's shape (stacks/photo-notes.toml): a table with a range
/// key, a stream, a GSI and TTL; a versioned bucket with CORS.
const PHOTO_NOTES: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
billing = "pay_per_request"
stream = "new_image"
ttl_attribute = "expiresAt"
global_secondary_indexes.by_date = { hash_key = { name = "userId", type = "S" }, range_key = { name = "createdAt", type = "N" }, projection = "all" }

[bucket.uploads]
name = "${stack.name}-uploads-${aws.account_id}"
versioning = true
cors = [{ allowed_methods = ["PUT", "GET"], allowed_origins = ["*"], max_age_seconds = 3000 }]
"#;

/// A table and nothing else.
const NOTES_TABLE: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
"#;

fn bucket_name(w: &World) -> String {
    format!("{}-uploads-{}", w.stack, w.account)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap()
}

fn definition(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

fn throughput(units: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(units)
        .write_capacity_units(units)
        .build()
        .unwrap()
}

/// Creates `name` out of band with the `notes` key schema (userId S, noteId S),
/// on demand, with the given tags.
async fn create_notes_table_out_of_band(w: &World, name: &str, tags: &[(&str, &str)]) {
    w.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(definition("userId", ScalarAttributeType::S))
        .attribute_definitions(definition("noteId", ScalarAttributeType::S))
        .key_schema(key("userId", KeyType::Hash))
        .key_schema(key("noteId", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .set_tags(if tags.is_empty() {
            None
        } else {
            Some(tags.iter().map(|(k, v)| tag(k, v)).collect())
        })
        .send()
        .await
        .expect("dynamodb:CreateTable (out of band)");
}

async fn put_note(w: &World, table: &str, user: &str, note: &str) {
    w.dynamodb
        .put_item()
        .table_name(table)
        .item("userId", s(user))
        .item("noteId", s(note))
        .item("text", s("written out of band"))
        .send()
        .await
        .expect("dynamodb:PutItem");
}

// ------------------------------------------------------------ lifecycle ----

#[tokio::test]
async fn full_lifecycle_creates_the_stack_as_declared_and_converges() {
    let w = World::new("lifecycle");
    w.write_stack(PHOTO_NOTES);
    let table = w.name("notes");
    let bucket = bucket_name(&w);

    w.run(&["validate"]).code(0);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("+ table.notes")
        .stdout_has("+ bucket.uploads");

    // No terminal to confirm on and no --auto-approve: refuse, change nothing.
    w.run(&["up"]).code(1).stderr_has("--auto-approve");
    assert!(
        w.table_names().await.is_empty(),
        "`up` without --auto-approve created a table: {:?}",
        w.table_names().await
    );
    assert!(
        w.bucket_names().await.is_empty(),
        "`up` without --auto-approve created a bucket: {:?}",
        w.bucket_names().await
    );

    w.run(&["up", "--auto-approve"]).code(0);

    // The table, as declared.
    let t = w.must_table(&table).await;
    assert_eq!(
        w.key_schema(&table).await,
        vec![
            ("userId".into(), "HASH".into(), "S".into()),
            ("noteId".into(), "RANGE".into(), "S".into()),
        ]
    );
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let stream = t.stream_specification().expect("a stream specification");
    assert!(stream.stream_enabled(), "stream disabled: {stream:?}");
    assert_eq!(stream.stream_view_type(), Some(&StreamViewType::NewImage));
    let gsis = t.global_secondary_indexes();
    assert_eq!(gsis.len(), 1, "{gsis:?}");
    assert_eq!(gsis[0].index_name(), Some("by_date"));
    let gsi_keys: Vec<(&str, &KeyType)> = gsis[0]
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    assert_eq!(
        gsi_keys,
        vec![("userId", &KeyType::Hash), ("createdAt", &KeyType::Range)]
    );
    assert_eq!(
        gsis[0].projection().and_then(|p| p.projection_type()),
        Some(&ProjectionType::All)
    );
    let ttl = w
        .dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("dynamodb:DescribeTimeToLive")
        .time_to_live_description
        .expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    let tags = w.table_tags(&table).await;
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack), "{tags:?}");
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("table.notes")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));

    // The bucket, as declared.
    assert!(w.bucket_exists(&bucket).await, "bucket {bucket} missing");
    let versioning =
        w.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:GetBucketVersioning");
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    let cors =
        w.s3.get_bucket_cors()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:GetBucketCors");
    assert_eq!(cors.cors_rules().len(), 1, "{cors:?}");
    let rule = &cors.cors_rules()[0];
    assert_eq!(rule.allowed_methods(), ["PUT", "GET"]);
    assert_eq!(rule.allowed_origins(), ["*"]);
    assert_eq!(rule.max_age_seconds(), Some(3000));
    let tags = w.bucket_tags(&bucket).await;
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack), "{tags:?}");
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("bucket.uploads")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));
    let block =
        w.s3.get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:GetPublicAccessBlock")
            .public_access_block_configuration
            .expect("a public access block");
    assert_eq!(block.block_public_acls(), Some(true), "{block:?}");
    assert_eq!(block.ignore_public_acls(), Some(true), "{block:?}");
    assert_eq!(block.block_public_policy(), Some(true), "{block:?}");
    assert_eq!(block.restrict_public_buckets(), Some(true), "{block:?}");

    // Converged: `plan` reads little and finds no changes; a second `up`
    // changes nothing (the tool's own call log says what it sent).
    let plan_log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &plan_log)
        .code(0)
        .stdout_has("No changes");
    let calls = read_call_log(&plan_log);
    eprintln!(
        "converged plan of 2 resources: {} AWS calls: {}",
        calls.len(),
        summary(&calls)
    );
    // Reading the table and the bucket describes them: an empty log is a broken log.
    assert!(
        calls.iter().any(|c| c.ends_with(":DescribeTable"))
            && calls.iter().any(|c| c.ends_with(":GetBucketVersioning")),
        "the call log lacks DescribeTable or GetBucketVersioning; is it written at all? {calls:?}"
    );
    assert!(
        mutating(&calls).is_empty(),
        "plan made mutating calls: {calls:?}"
    );
    // One read of each aspect per resource (2 for the table, 4 for the
    // bucket: their tags come with the tagging API's listing), plus a fixed
    // overhead that does not grow with the stack: who am I (STS) and one
    // listing per discovery route for resources removed from the file (the
    // tagging API, user pools, identity pools, IAM roles, REST APIs, Lambda
    // functions, CloudFront distributions).
    assert!(
        calls.len() <= 14,
        "a converged plan of 2 resources made {} calls (want <= 14): {}",
        calls.len(),
        summary(&calls)
    );

    let up_log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &up_log)
        .code(0)
        .stdout_has("No changes");
    let calls = read_call_log(&up_log);
    eprintln!("second up: {} AWS calls: {}", calls.len(), summary(&calls));
    assert!(
        calls.iter().any(|c| c.ends_with(":DescribeTable")),
        "the call log of the second `up` lacks DescribeTable: {calls:?}"
    );
    let changes = mutating(&calls);
    assert!(
        changes.is_empty(),
        "`up` on a converged stack made {} mutating calls: {changes:?}\nall calls: {calls:?}",
        changes.len()
    );
    assert_eq!(w.table_names().await, vec![table.clone()]);
    assert_eq!(w.bucket_names().await, vec![bucket.clone()]);
}

// ---------------------------------------------------------------- drift ----

#[tokio::test]
async fn out_of_band_drift_is_planned_and_repaired() {
    let w = World::new("drift");
    w.write_stack(PHOTO_NOTES);
    let table = w.name("notes");
    let bucket = bucket_name(&w);
    w.run(&["up", "--auto-approve"]).code(0);

    // Someone changes things behind the tool's back.
    w.s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("s3:PutBucketVersioning");
    w.dynamodb
        .update_table()
        .table_name(&table)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(5))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name("by_date")
                        .provisioned_throughput(throughput(5))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("dynamodb:UpdateTable to PROVISIONED");
    let arn = w.must_table(&table).await.table_arn().unwrap().to_string();
    w.dynamodb
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag("team", "someone-else"))
        .send()
        .await
        .expect("dynamodb:TagResource");
    assert_eq!(
        w.must_table(&table)
            .await
            .billing_mode_summary()
            .and_then(|b| b.billing_mode()),
        Some(&BillingMode::Provisioned),
        "the emulator did not switch the table to PROVISIONED"
    );

    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ table.notes")
        .stdout_has("~ bucket.uploads")
        .stdout_has("versioning")
        .stdout_has("billing")
        .stdout_has("tags.team");

    let run = w.run(&["plan", "--json"]);
    run.code(0);
    let plan = run.json();
    assert_eq!(plan["format_version"], "1", "{plan:#}");
    assert_eq!(actions_of(&plan, "table.notes"), ["update"]);
    assert_eq!(actions_of(&plan, "bucket.uploads"), ["update"]);
    let table_paths: Vec<&str> = change_of(&plan, "table.notes")["change"]["attributes"]
        .as_array()
        .expect("change.attributes")
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    assert!(table_paths.contains(&"billing"), "{table_paths:?}");
    assert!(table_paths.contains(&"tags.team"), "{table_paths:?}");
    assert!(
        change_of(&plan, "table.notes")["replace_paths"]
            .as_array()
            .is_some_and(|p| p.is_empty()),
        "drift of billing and tags must not replace the table: {plan:#}"
    );

    w.run(&["up", "--auto-approve"]).code(0);

    let versioning =
        w.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:GetBucketVersioning");
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    assert_eq!(
        w.must_table(&table)
            .await
            .billing_mode_summary()
            .and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let tags = w.table_tags(&table).await;
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack));

    w.run(&["plan", "--detailed-exitcode"]).code(0);
}

// ----------------------------------------------------------- key schema ----

#[tokio::test]
async fn key_schema_change_is_a_guarded_replace() {
    let w = World::new("rekey");
    w.write_stack(NOTES_TABLE);
    let table = w.name("notes");
    w.run(&["up", "--auto-approve"]).code(0);
    put_note(&w, &table, "alice", "n1").await;

    w.write_stack(
        r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "createdAt", type = "N" }
"#,
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("-/+ table.notes")
        .stdout_has("range_key")
        .stdout_has("--allow-replace");
    let run = w.run(&["plan", "--json"]);
    run.code(0);
    let plan = run.json();
    assert_eq!(actions_of(&plan, "table.notes"), ["delete", "create"]);
    let replace_paths = &change_of(&plan, "table.notes")["replace_paths"];
    assert!(
        replace_paths
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "range_key")),
        "replace_paths lacks range_key: {plan:#}"
    );

    // Replacing a table deletes its items: refused without --allow-replace.
    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("--allow-replace");
    assert_eq!(
        w.key_schema(&table).await,
        vec![
            ("userId".into(), "HASH".into(), "S".into()),
            ("noteId".into(), "RANGE".into(), "S".into()),
        ],
        "the refused `up` changed the table"
    );
    assert_eq!(w.item_count(&table).await, 1, "the refused `up` lost data");
    let item = w
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("userId", s("alice"))
        .key("noteId", s("n1"))
        .send()
        .await
        .expect("dynamodb:GetItem");
    assert!(item.item().is_some(), "the item is gone");

    w.run(&["up", "--auto-approve", "--allow-replace"]).code(0);
    assert_eq!(
        w.key_schema(&table).await,
        vec![
            ("userId".into(), "HASH".into(), "S".into()),
            ("createdAt".into(), "RANGE".into(), "N".into()),
        ]
    );
    let tags = w.table_tags(&table).await;
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("table.notes")
    );
    assert_eq!(w.table_names().await, vec![table]);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
}

// ------------------------------------------------------------ ownership ----

#[tokio::test]
async fn a_same_named_foreign_table_is_a_conflict_and_never_touched() {
    let w = World::new("foreign");
    w.write_stack(NOTES_TABLE);
    let table = w.name("notes");
    create_notes_table_out_of_band(&w, &table, &[("owner", "someone-else")]).await;
    put_note(&w, &table, "bob", "n1").await;

    // A plan that `up` would refuse is an error, not "changes present": exit 1.
    w.run(&["plan", "--detailed-exitcode"])
        .code(1)
        .stdout_has("conflict")
        .stdout_has("table.notes")
        .stderr_has("`up` would refuse this plan");
    let run = w.run(&["plan", "--json"]);
    run.code(1);
    let plan = run.json();
    assert!(
        change_of(&plan, "table.notes")["conflict"].is_string(),
        "no conflict in the JSON plan: {plan:#}"
    );

    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("conflict");
    let tags = w.table_tags(&table).await;
    assert!(
        !tags.contains_key(OWNER_STACK_TAG) && !tags.contains_key(OWNER_ID_TAG),
        "up tagged the foreign table as its own: {tags:?}"
    );
    assert_eq!(tags.get("owner").map(String::as_str), Some("someone-else"));
    assert_eq!(w.item_count(&table).await, 1);
    assert_eq!(w.table_names().await, vec![table.clone()]);

    // destroy deletes only what the stack owns: it owns nothing here.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(
        w.table(&table).await.is_some(),
        "destroy deleted a foreign table"
    );
    assert_eq!(w.item_count(&table).await, 1);
}

#[tokio::test]
async fn destroy_spares_a_foreign_table_that_shares_the_stack_prefix() {
    let w = World::new("prefix");
    w.write_stack(NOTES_TABLE);
    let owned = w.name("notes");
    let copy = format!("{owned}-copy");
    w.run(&["up", "--auto-approve"]).code(0);
    create_notes_table_out_of_band(&w, &copy, &[]).await;
    // Another stack's table, in the same account.
    let other = format!("{}-other-notes", w.stack);
    create_notes_table_out_of_band(
        &w,
        &other,
        &[
            (OWNER_STACK_TAG, "another-stack"),
            (OWNER_ID_TAG, "table.notes"),
        ],
    )
    .await;

    w.run(&["plan", "--destroy", "--detailed-exitcode"])
        .code(2)
        .stdout_has("- table.notes");
    w.run(&["destroy", "--auto-approve"]).code(0);

    assert!(w.table(&owned).await.is_none(), "the owned table survived");
    let mut left = w.table_names().await;
    left.sort();
    let mut want = vec![copy, other];
    want.sort();
    assert_eq!(left, want, "destroy touched tables it does not own");
}

// ------------------------------------------------------ non-empty bucket ----

#[tokio::test]
async fn destroy_refuses_a_non_empty_bucket_unless_told_to_empty_it() {
    let w = World::new("full");
    w.write_stack(PHOTO_NOTES);
    let table = w.name("notes");
    let bucket = bucket_name(&w);
    w.run(&["up", "--auto-approve"]).code(0);

    // Two versions of one object, then a delete marker on top.
    for body in ["first", "second"] {
        w.s3.put_object()
            .bucket(&bucket)
            .key("photos/a.jpg")
            .body(ByteStream::from_static(body.as_bytes()))
            .send()
            .await
            .expect("s3:PutObject");
    }
    w.s3.delete_object()
        .bucket(&bucket)
        .key("photos/a.jpg")
        .send()
        .await
        .expect("s3:DeleteObject");
    assert_eq!(w.bucket_contents(&bucket).await, (2, 1));

    w.run(&["destroy", "--auto-approve"])
        .code(1)
        .stderr_has("--empty-buckets");
    assert!(w.table(&table).await.is_some(), "the table was deleted");
    assert!(w.bucket_exists(&bucket).await, "the bucket was deleted");
    assert_eq!(
        w.bucket_contents(&bucket).await,
        (2, 1),
        "objects were deleted"
    );

    w.run(&["destroy", "--auto-approve", "--empty-buckets"])
        .code(0);
    assert!(w.table(&table).await.is_none(), "the table survived");
    assert!(!w.bucket_exists(&bucket).await, "the bucket survived");
    assert!(w.table_names().await.is_empty());
    assert!(w.bucket_names().await.is_empty());

    w.run(&["destroy", "--auto-approve"])
        .code(0)
        .stdout_has("No changes");
    w.run(&["plan", "--destroy", "--detailed-exitcode"]).code(0);
}

// ---------------------------------------------------- removed from file ----

#[tokio::test]
async fn a_table_removed_from_the_file_is_deleted_and_the_rest_kept() {
    let w = World::new("removed");
    w.write_stack(
        r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }

[table.drafts]
hash_key = { name = "userId", type = "S" }
"#,
    );
    let notes = w.name("notes");
    let drafts = w.name("drafts");
    w.run(&["up", "--auto-approve"]).code(0);
    let mut tables = w.table_names().await;
    tables.sort();
    assert_eq!(tables, vec![drafts.clone(), notes.clone()]);
    put_note(&w, &notes, "carol", "n1").await;

    w.write_stack(NOTES_TABLE);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("- table.drafts");
    let run = w.run(&["plan", "--json"]);
    run.code(0);
    let plan = run.json();
    assert_eq!(actions_of(&plan, "table.drafts"), ["delete"]);
    assert_eq!(actions_of(&plan, "table.notes"), ["no-op"]);

    w.run(&["up", "--auto-approve"]).code(0);
    assert!(w.table(&drafts).await.is_none(), "table.drafts survived");
    assert_eq!(w.table_names().await, vec![notes.clone()]);
    assert_eq!(w.item_count(&notes).await, 1, "table.notes lost data");
    w.run(&["plan", "--detailed-exitcode"]).code(0);
}

/// A table and an unversioned bucket; the bucket then removed from the file.
const TABLE_AND_BUCKET: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }

[bucket.uploads]
name = "${stack.name}-uploads-${aws.account_id}"
"#;

/// Up of `TABLE_AND_BUCKET`, an object in the bucket, then the bucket removed
/// from the stack file.
async fn removed_non_empty_bucket(w: &World) -> String {
    w.write_stack(TABLE_AND_BUCKET);
    let bucket = bucket_name(w);
    w.run(&["up", "--auto-approve"]).code(0);
    w.s3.put_object()
        .bucket(&bucket)
        .key("photos/b.jpg")
        .body(ByteStream::from_static(b"photo"))
        .send()
        .await
        .expect("s3:PutObject");
    w.write_stack(NOTES_TABLE);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("- bucket.uploads");
    bucket
}

#[tokio::test]
async fn up_never_deletes_a_removed_bucket_that_still_holds_objects() {
    let w = World::new("keepfull");
    let bucket = removed_non_empty_bucket(&w).await;

    w.run(&["up", "--auto-approve"]).code(1).stderr_has(&bucket);
    assert!(w.bucket_exists(&bucket).await, "up deleted a full bucket");
    assert_eq!(
        w.bucket_contents(&bucket).await,
        (1, 0),
        "objects were lost"
    );

    // Emptied by hand, it goes with the next `up`.
    w.s3.delete_object()
        .bucket(&bucket)
        .key("photos/b.jpg")
        .send()
        .await
        .expect("s3:DeleteObject");
    w.run(&["up", "--auto-approve"]).code(0);
    assert!(
        !w.bucket_exists(&bucket).await,
        "the emptied bucket survived"
    );
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[tokio::test]
async fn up_refusing_a_removed_full_bucket_gives_advice_that_up_accepts() {
    let w = World::new("advice");
    let bucket = removed_non_empty_bucket(&w).await;

    let refused = w.run(&["up", "--auto-approve"]);
    refused.code(1);
    assert!(w.bucket_exists(&bucket).await, "up deleted a full bucket");
    if refused.stderr.contains("--empty-buckets") || refused.stdout.contains("--empty-buckets") {
        // The advice names a flag: `up` must take it.
        let run = w.run(&["up", "--auto-approve", "--empty-buckets"]);
        assert!(
            !run.stderr.contains("unexpected argument"),
            "`up` advised --empty-buckets but rejects it:\n{}\n{}",
            refused.dump(),
            run.dump()
        );
    }
}

#[tokio::test]
async fn a_failed_destroy_says_to_run_destroy_again_not_up() {
    let w = World::new("protected");
    w.write_stack(
        r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
deletion_protection = true

[bucket.uploads]
name = "${stack.name}-uploads-${aws.account_id}"
"#,
    );
    let table = w.name("notes");
    w.run(&["up", "--auto-approve"]).code(0);

    let run = w.run(&["destroy", "--auto-approve"]);
    run.code(1);
    let text = format!("{}\n{}", run.stdout, run.stderr);
    assert!(text.contains("deletion protection"), "{}", run.dump());
    assert!(
        w.table(&table).await.is_some(),
        "a protected table was deleted"
    );
    assert!(
        !text.contains("run `up` again"),
        "a failed destroy advises `up`, which re-creates what was deleted:\n{}",
        run.dump()
    );
}

// --------------------------------------------------- interrupted create ----

#[tokio::test]
async fn an_interrupted_create_converges_without_duplicates() {
    let w = World::new("resume");
    w.write_stack(PHOTO_NOTES);
    let table = w.name("notes");
    let bucket = bucket_name(&w);

    // What a killed `up` leaves behind: CreateTable (with its tags, index and
    // stream) went through but TTL was never set; CreateBucket and its tags
    // went through but nothing after.
    w.dynamodb
        .create_table()
        .table_name(&table)
        .attribute_definitions(definition("userId", ScalarAttributeType::S))
        .attribute_definitions(definition("noteId", ScalarAttributeType::S))
        .attribute_definitions(definition("createdAt", ScalarAttributeType::N))
        .key_schema(key("userId", KeyType::Hash))
        .key_schema(key("noteId", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_date")
                .key_schema(key("userId", KeyType::Hash))
                .key_schema(key("createdAt", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .tags(tag(OWNER_STACK_TAG, &w.stack))
        .tags(tag(OWNER_ID_TAG, "table.notes"))
        .tags(tag("team", "mobile"))
        .send()
        .await
        .expect("dynamodb:CreateTable");
    w.s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("s3:CreateBucket");
    w.s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key(OWNER_STACK_TAG)
                        .value(&w.stack)
                        .build()
                        .unwrap(),
                )
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key(OWNER_ID_TAG)
                        .value("bucket.uploads")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("s3:PutBucketTagging");

    // Ours by tag: an update, never a conflict or a second create.
    let run = w.run(&["plan", "--json"]);
    run.code(0);
    let plan = run.json();
    assert_eq!(actions_of(&plan, "table.notes"), ["update"]);
    assert_eq!(actions_of(&plan, "bucket.uploads"), ["update"]);
    assert!(change_of(&plan, "table.notes")["conflict"].is_null());

    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(w.table_names().await, vec![table.clone()]);
    assert_eq!(w.bucket_names().await, vec![bucket.clone()]);
    let ttl = w
        .dynamodb
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("dynamodb:DescribeTimeToLive")
        .time_to_live_description
        .expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    let versioning =
        w.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:GetBucketVersioning");
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    assert_eq!(
        w.bucket_tags(&bucket).await.get("team").map(String::as_str),
        Some("mobile")
    );

    w.run(&["plan", "--detailed-exitcode"]).code(0);
}

// ------------------------------------------------------------- terminal ----

/// Runs `up` on a pseudo-terminal and answers its question with `answer`.
/// Returns the exit code and everything the terminal showed.
fn up_on_a_terminal(w: &World, answer: &str) -> (i32, String) {
    w.on_a_terminal(&["up"]).finish(answer)
}

#[tokio::test]
async fn on_a_terminal_up_asks_first_and_only_yes_applies() {
    let w = World::new("tty");
    w.write_stack(NOTES_TABLE);

    let (code, screen) = up_on_a_terminal(&w, "y");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Only `yes` is accepted"), "{screen}");
    assert!(
        screen.contains("cancelled; nothing was changed"),
        "{screen}"
    );
    assert!(
        w.table_names().await.is_empty(),
        "an answer other than `yes` created something"
    );
    // On a terminal the plan is coloured.
    assert!(
        screen.contains("\u{1b}["),
        "no colour on a terminal: {screen}"
    );

    let (code, screen) = up_on_a_terminal(&w, "yes");
    assert_eq!(code, 0, "{screen}");
    assert_eq!(w.table_names().await, vec![w.name("notes")]);
}
