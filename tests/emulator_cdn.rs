//! End-to-end tests of `[cdn.<key>]` (a CloudFront distribution in front of a
//! bucket of the stack) against the local AWS emulator that
//! `scripts/test.sh` starts. MiniStack serves viewer requests from an S3
//! origin at its own port (`Host: <id>.cloudfront.net`), honours the viewer
//! protocol policy (`X-Forwarded-Proto: https`), and serves an object
//! through an origin access control only when the bucket policy lets
//! `cloudfront.amazonaws.com` read it with `AWS:SourceArn` = the
//! distribution's ARN: the statement the tool manages.

mod support;

use std::time::Instant;

use serde_json::{json, Value};
use support::{actions_of, change_of, http, World, OWNER_ID_TAG, OWNER_STACK_TAG};

const STACK: &str = r#"
[bucket.media]

[cdn.media]
origin = "bucket.media"
default_root_object = "index.html"
comment = "photos of the app"
"#;

/// The statement a person added to the bucket policy by hand.
fn hand_made(account: &str, bucket: &str) -> Value {
    json!({
        "Sid": "HandMadeList",
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
        "Action": "s3:ListBucket",
        "Resource": format!("arn:aws:s3:::{bucket}"),
    })
}

/// Every distribution of the account: (id, ARN, enabled, origin ids).
async fn distributions(w: &World) -> Vec<(String, String, bool, Vec<String>)> {
    let out = w
        .cloudfront()
        .list_distributions()
        .send()
        .await
        .expect("cloudfront:ListDistributions");
    out.distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let origins = d
                .origins()
                .map(|o| o.items())
                .unwrap_or_default()
                .iter()
                .map(|o| o.id().to_string())
                .collect();
            (
                d.id().to_string(),
                d.arn().to_string(),
                d.enabled(),
                origins,
            )
        })
        .collect()
}

/// The one distribution of the account, by id.
async fn the_distribution(w: &World) -> aws_sdk_cloudfront::types::Distribution {
    let all = distributions(w).await;
    assert_eq!(all.len(), 1, "{all:?}");
    w.cloudfront()
        .get_distribution()
        .id(&all[0].0)
        .send()
        .await
        .expect("cloudfront:GetDistribution")
        .distribution
        .expect("a distribution")
}

/// The origin access controls of the account: (id, name).
async fn controls(w: &World) -> Vec<(String, String)> {
    w.cloudfront()
        .list_origin_access_controls()
        .send()
        .await
        .expect("cloudfront:ListOriginAccessControls")
        .origin_access_control_list()
        .map(|l| l.items())
        .unwrap_or_default()
        .iter()
        .map(|c| (c.id().to_string(), c.name().to_string()))
        .collect()
}

/// The bucket's policy, parsed; `None` without one.
async fn policy(w: &World, bucket: &str) -> Option<Value> {
    match w.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Some(serde_json::from_str(out.policy().unwrap_or_default()).expect("JSON")),
        Err(e) => {
            let code = e
                .as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s).map(str::to_string));
            assert_eq!(code.as_deref(), Some("NoSuchBucketPolicy"), "{e:?}");
            None
        }
    }
}

fn sids(policy: &Option<Value>) -> Vec<String> {
    policy
        .as_ref()
        .and_then(|p| p["Statement"].as_array())
        .map(|all| {
            all.iter()
                .map(|s| s["Sid"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A viewer's GET of `path` from the distribution whose domain name is
/// `domain` (`d111111abcdef8.cloudfront.net`), through HTTPS as CloudFront's
/// edge sees it, unless `https` is false.
fn viewer_get(w: &World, domain: &str, path: &str, https: bool) -> (u16, String) {
    let mut headers = vec![("Host", domain)];
    if https {
        headers.push(("X-Forwarded-Proto", "https"));
    }
    http(&w.account, &format!("GET {path}"), &headers, "")
}

/// Changes the live distribution `id` with the SDK, as someone in the console would.
async fn change_by_hand(
    w: &World,
    id: &str,
    change: impl FnOnce(&mut aws_sdk_cloudfront::types::DistributionConfig),
) {
    let cf = w.cloudfront();
    let out = cf
        .get_distribution_config()
        .id(id)
        .send()
        .await
        .expect("cloudfront:GetDistributionConfig");
    let etag = out.e_tag().expect("an ETag").to_string();
    let mut config = out.distribution_config.expect("a configuration");
    change(&mut config);
    cf.update_distribution()
        .id(id)
        .if_match(etag)
        .distribution_config(config)
        .send()
        .await
        .expect("cloudfront:UpdateDistribution");
}

/// The distribution `up` made, checked: tagged as ours, its origin the
/// bucket through an OAC named after it, the fixed cache behaviour, and the
/// bucket policy's one statement for it. Returns (id, ARN, domain name).
async fn check_made(w: &World, bucket: &str) -> (String, String, String) {
    // The distribution: tagged as ours, its origin the bucket through an OAC
    // named after it, the fixed cache behaviour.
    let d = the_distribution(w).await;
    let id = d.id().to_string();
    let arn = d.arn().to_string();
    let domain = d.domain_name().to_string();
    let config = d.distribution_config().expect("a configuration");
    assert_eq!(config.comment(), "photos of the app");
    assert_eq!(config.default_root_object(), Some("index.html"));
    assert_eq!(
        config.price_class().map(|p| p.as_str()),
        Some("PriceClass_100")
    );
    let origins = config.origins().expect("origins").items();
    assert_eq!(origins.len(), 1);
    assert_eq!(origins[0].id(), w.name("media"));
    assert_eq!(
        origins[0].domain_name(),
        format!("{bucket}.s3.us-east-1.amazonaws.com")
    );
    let oacs = controls(w).await;
    assert_eq!(oacs.len(), 1, "{oacs:?}");
    assert_eq!(oacs[0].1, w.name("media"));
    assert_eq!(
        origins[0].origin_access_control_id(),
        Some(oacs[0].0.as_str())
    );
    let oac = w
        .cloudfront()
        .get_origin_access_control()
        .id(&oacs[0].0)
        .send()
        .await
        .expect("cloudfront:GetOriginAccessControl");
    let oac = oac
        .origin_access_control()
        .and_then(|o| o.origin_access_control_config())
        .expect("its configuration");
    assert_eq!(oac.signing_behavior().as_str(), "always");
    assert_eq!(oac.signing_protocol().as_str(), "sigv4");
    assert_eq!(oac.origin_access_control_origin_type().as_str(), "s3");
    let behavior = config
        .default_cache_behavior()
        .expect("a default behaviour");
    assert_eq!(
        behavior.viewer_protocol_policy().as_str(),
        "redirect-to-https"
    );
    assert_eq!(
        behavior.cache_policy_id(),
        Some("658327ea-f89d-4fab-a63d-7e88639e58f6")
    );
    let tags = w
        .cloudfront()
        .list_tags_for_resource()
        .resource(&arn)
        .send()
        .await
        .expect("cloudfront:ListTagsForResource");
    let tags: Vec<(String, String)> = tags
        .tags()
        .map(|t| t.items())
        .unwrap_or_default()
        .iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for want in [
        (OWNER_STACK_TAG.to_string(), w.stack.clone()),
        (OWNER_ID_TAG.to_string(), "cdn.media".to_string()),
        ("team".to_string(), "mobile".to_string()),
    ] {
        assert!(tags.contains(&want), "{want:?} in {tags:?}");
    }

    // The bucket policy: one statement, exactly for this distribution.
    let p = policy(w, bucket).await.expect("a bucket policy");
    let statements = p["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{p:#}");
    assert_eq!(
        statements[0]["Principal"],
        json!({ "Service": "cloudfront.amazonaws.com" })
    );
    assert_eq!(statements[0]["Action"], "s3:GetObject");
    assert_eq!(
        statements[0]["Resource"],
        format!("arn:aws:s3:::{bucket}/*")
    );
    assert_eq!(
        statements[0]["Condition"]["StringEquals"]["AWS:SourceArn"],
        arn.as_str()
    );
    (id, arn, domain)
}

/// An object of the bucket served through the CDN; the domain in every
/// `outputs` format.
async fn check_served(w: &World, bucket: &str, domain: &str) {
    // An object of the bucket is served through the CDN, over HTTPS only.
    w.s3.put_object()
        .bucket(bucket)
        .key("hello.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"hello from s3",
        ))
        .content_type("text/plain")
        .send()
        .await
        .expect("s3:PutObject");
    let (status, body) = viewer_get(w, domain, "/hello.txt", true);
    assert_eq!((status, body.trim()), (200, "hello from s3"));
    let (status, _) = viewer_get(w, domain, "/hello.txt", false);
    assert_eq!(status, 301, "plain HTTP is redirected to HTTPS");

    // Outputs: the domain in every format.
    let json_out = w.run(&["outputs", "--format", "json"]);
    json_out.code(0);
    assert_eq!(
        json_out.json()["resources"]["cdn.media"]["domain_name"],
        domain
    );
    w.run(&["outputs", "--format", "env"])
        .code(0)
        .stdout_has(domain);
    w.run(&["outputs", "--format", "swift"])
        .code(0)
        .stdout_has(domain);
    let amplify = w.run(&["outputs", "--format", "amplify"]);
    amplify.code(0);
    assert_eq!(
        amplify.json()["custom"]["CDN"]["media"]["domain_name"],
        domain
    );
}

/// A converged plan: no change, for a bounded number of reads.
fn check_converged(w: &World) {
    // Converged: no change, for a bounded number of reads.
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    let calls = support::read_call_log(&log);
    let counts = support::per_operation(&calls);
    let cloudfront: usize = counts
        .iter()
        .filter(|(op, _)| op.starts_with("CloudFront:"))
        .map(|(_, n)| n)
        .sum();
    eprintln!("a converged plan: {}", support::summary(&calls));
    assert!(
        cloudfront <= 4,
        "CloudFront calls: {}",
        support::summary(&calls)
    );
    assert_eq!(
        counts.get("CloudFront:GetDistribution"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert_eq!(
        counts.get("CloudFront:ListTagsForResource"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert_eq!(
        counts.get("S3:GetBucketPolicy"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert!(
        support::mutating(&calls).is_empty(),
        "{}",
        support::summary(&calls)
    );
}

/// The comment changed and the distribution disabled by hand are shown and
/// repaired in place.
async fn check_drift_repaired(w: &World, id: &str) {
    // Drift: the comment changed and the distribution disabled by hand is
    // shown and repaired.
    change_by_hand(w, id, |c| {
        c.comment = "changed in the console".into();
        c.enabled = false;
    })
    .await;
    let drift = w.run(&["plan", "--json", "--detailed-exitcode"]);
    drift.code(2);
    let plan = drift.json();
    assert_eq!(actions_of(&plan, "cdn.media"), ["update"]);
    let changed: Vec<String> = change_of(&plan, "cdn.media")["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["path"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changed, ["enabled", "comment"], "{plan:#}");
    assert_eq!(actions_of(&plan, "bucket.media"), ["no-op"]);
    w.run(&["up", "--auto-approve"]).code(0);
    let d = the_distribution(w).await;
    let config = d.distribution_config().expect("a configuration");
    assert!(config.enabled());
    assert_eq!(config.comment(), "photos of the app");
    assert_eq!(d.id(), id, "repaired in place");
}

/// A statement added to the bucket policy by hand is kept; ours removed by
/// hand is drift of the statement alone.
async fn check_hand_made_statements(w: &World, bucket: &str, domain: &str) {
    // A statement added to the bucket policy by hand is kept; ours removed by
    // hand is drift of the statement alone.
    let mut p = policy(w, bucket).await.expect("a policy");
    let ours = p["Statement"][0].clone();
    p["Statement"] = json!([hand_made(&w.account, bucket)]);
    w.s3.put_bucket_policy()
        .bucket(bucket)
        .policy(p.to_string())
        .send()
        .await
        .expect("s3:PutBucketPolicy");
    let (status, _) = viewer_get(w, domain, "/hello.txt", true);
    assert_eq!(status, 403, "without the statement CloudFront may not read");
    let drift = w.run(&["plan", "--json", "--detailed-exitcode"]);
    drift.code(2);
    let plan = drift.json();
    assert_eq!(actions_of(&plan, "cdn.media.bucket_policy"), ["create"]);
    assert_eq!(actions_of(&plan, "cdn.media"), ["no-op"]);
    w.run(&["up", "--auto-approve"]).code(0);
    let p = policy(w, bucket).await;
    assert_eq!(
        sids(&p),
        ["HandMadeList", ours["Sid"].as_str().unwrap_or_default()]
    );
    let (status, _) = viewer_get(w, domain, "/hello.txt", true);
    assert_eq!(status, 200);
}

/// The stack's own change of comment and price class: one update in place,
/// through GetDistributionConfig and UpdateDistribution with the ETag.
async fn check_updated_in_place(w: &World) {
    // The stack's own change of comment and price class: one update in place,
    // through GetDistributionConfig and UpdateDistribution with the ETag.
    w.write_stack(
        &STACK
            .replace("photos of the app", "media of the app")
            .replace("comment = ", "price_class = \"PriceClass_All\"\ncomment = "),
    );
    let changed = w.run(&["plan", "--json", "--detailed-exitcode"]);
    changed.code(2);
    assert_eq!(actions_of(&changed.json(), "cdn.media"), ["update"]);
    let log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let calls = support::read_call_log(&log);
    let counts = support::per_operation(&calls);
    assert_eq!(
        counts.get("CloudFront:UpdateDistribution"),
        Some(&1),
        "{}",
        support::summary(&calls)
    );
    assert!(
        counts.contains_key("CloudFront:GetDistributionConfig"),
        "{}",
        support::summary(&calls)
    );
    let d = the_distribution(w).await;
    let config = d.distribution_config().expect("a configuration");
    assert_eq!(config.comment(), "media of the app");
    assert_eq!(
        config.price_class().map(|p| p.as_str()),
        Some("PriceClass_All")
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
}

#[tokio::test]
async fn a_distribution_serves_the_bucket_through_its_origin_access_control_and_converges() {
    let w = World::new("cdn");
    w.write_stack(STACK);
    let bucket = w.name("media");

    let started = Instant::now();
    let up = w.run(&["up", "--auto-approve"]);
    up.code(0);
    eprintln!("up of a bucket and a distribution: {:?}", started.elapsed());

    let (id, _arn, domain) = check_made(&w, &bucket).await;
    check_served(&w, &bucket, &domain).await;
    check_converged(&w);
    check_drift_repaired(&w, &id).await;
    check_hand_made_statements(&w, &bucket, &domain).await;
    check_updated_in_place(&w).await;

    // Taken out of the stack file: the distribution is disabled, deleted with
    // its OAC, and only its statement leaves the bucket policy.
    w.write_stack("[bucket.media]\n");
    let plan = w.run(&["plan", "--json"]);
    plan.code(0);
    assert_eq!(actions_of(&plan.json(), "cdn.media"), ["delete"]);
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(distributions(&w).await, vec![]);
    assert_eq!(controls(&w).await, vec![]);
    assert_eq!(sids(&policy(&w, &bucket).await), ["HandMadeList"]);

    // Back again, then destroyed with the rest: nothing of the stack is left.
    w.write_stack(STACK);
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(distributions(&w).await.len(), 1);
    let destroy = w.run(&["destroy", "--auto-approve", "--empty-buckets"]);
    destroy.code(0);
    let left = support::inventory::inventory(&w).await;
    assert_eq!(left, vec![], "{}", destroy.dump());
}

#[tokio::test]
async fn destroy_disables_and_deletes_the_distribution_and_keeps_other_statements() {
    // A statement added by hand to the policy of the stack's bucket; the
    // bucket is empty, so `destroy` deletes it too, last.
    let w = World::new("cdndel");
    w.write_stack(STACK);
    let bucket = w.name("media");
    w.run(&["up", "--auto-approve"]).code(0);
    let mut p = policy(&w, &bucket).await.expect("a policy");
    let mut statements = p["Statement"].as_array().cloned().unwrap_or_default();
    statements.insert(0, hand_made(&w.account, &bucket));
    p["Statement"] = Value::Array(statements);
    w.s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(p.to_string())
        .send()
        .await
        .expect("s3:PutBucketPolicy");

    // The plan of a destroy: the statement, then the distribution, then the bucket.
    let plan = w.run(&["plan", "--destroy", "--json"]);
    plan.code(0);
    let plan = plan.json();
    for address in ["cdn.media.bucket_policy", "cdn.media", "bucket.media"] {
        assert_eq!(actions_of(&plan, address), ["delete"], "{address}");
    }

    let log = w.path("destroy-calls.log");
    let destroy = w.run_logged(&["destroy", "--auto-approve"], &log);
    destroy.code(0);
    let calls = support::read_call_log(&log);
    let order: Vec<&String> = calls
        .iter()
        .filter(|c| {
            [
                "CloudFront:UpdateDistribution",
                "CloudFront:DeleteDistribution",
                "CloudFront:DeleteOriginAccessControl",
            ]
            .contains(&c.as_str())
        })
        .collect();
    assert_eq!(
        order,
        [
            "CloudFront:UpdateDistribution",
            "CloudFront:DeleteOriginAccessControl",
            "CloudFront:DeleteDistribution"
        ],
        "disabled and detached, its OAC deleted while the distribution (found again by its tags) still exists, then the distribution: {}",
        support::summary(&calls)
    );
    assert_eq!(distributions(&w).await, vec![]);
    assert_eq!(controls(&w).await, vec![]);
    assert!(!w.bucket_exists(&bucket).await);
    assert_eq!(support::inventory::inventory(&w).await, vec![]);
}

#[tokio::test]
async fn a_new_name_replaces_the_distribution_and_moves_the_statement_to_it() {
    let w = World::new("cdnrep");
    w.write_stack(STACK);
    let bucket = w.name("media");
    w.run(&["up", "--auto-approve"]).code(0);
    let old = the_distribution(&w).await;
    w.s3.put_object()
        .bucket(&bucket)
        .key("a.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"a"))
        .send()
        .await
        .expect("s3:PutObject");

    let renamed = STACK.replace(
        "[cdn.media]\n",
        &format!("[cdn.media]\nname = \"{}-media2\"\n", w.stack),
    );
    w.write_stack(&renamed);
    let plan = w.run(&["plan", "--json", "--detailed-exitcode"]);
    plan.code(2);
    let plan = plan.json();
    // The new name is a new distribution; the old one, found by its tags
    // under its old name, goes.
    let mut actions: Vec<String> = plan["resource_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["address"] == "cdn.media")
        .flat_map(|c| {
            c["change"]["actions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    actions.sort();
    assert_eq!(actions, ["create", "delete"], "{plan:#}");
    // The statement of the new distribution (whose ARN is not known yet)
    // takes the place of the old one's: same Sid, new AWS:SourceArn.
    assert_eq!(actions_of(&plan, "cdn.media.bucket_policy"), ["create"]);
    w.run(&["up", "--auto-approve"]).code(0);

    let new = the_distribution(&w).await;
    assert_ne!(new.id(), old.id());
    let p = policy(&w, &bucket).await.expect("a policy");
    let statements = p["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{p:#}");
    assert_eq!(
        statements[0]["Condition"]["StringEquals"]["AWS:SourceArn"],
        new.arn()
    );
    let (status, body) = viewer_get(&w, new.domain_name(), "/a.txt", true);
    assert_eq!((status, body.trim()), (200, "a"));
    assert_eq!(controls(&w).await.len(), 1, "the old OAC is gone");
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
    w.run(&["destroy", "--auto-approve", "--empty-buckets"])
        .code(0);
    assert_eq!(support::inventory::inventory(&w).await, vec![]);
}

#[test]
fn an_origin_that_is_not_a_declared_bucket_is_an_error_with_file_and_line() {
    let w = World::new("cdnbad");
    w.write_stack(
        "[bucket.media]\n\n[cdn.media]\norigin = \"bucket.medai\"\nprice_class = \"PriceClass_300\"\n",
    );
    let run = w.run(&["validate"]);
    run.code(1);
    run.stderr_has("PriceClass_300");
    w.write_stack("[bucket.media]\n\n[cdn.media]\norigin = \"bucket.medai\"\n");
    let run = w.run(&["validate"]);
    run.code(1)
        .stderr_has("bucket.medai")
        .stderr_has("did you mean `bucket.media`?")
        .stderr_has("stack.toml:9");
    w.write_stack("[bucket.media]\n\n[cdn.media]\norigin = \"media\"\n");
    w.run(&["validate"])
        .code(1)
        .stderr_has("must name a bucket of this stack as `bucket.<key>`");
}
