//! The read side of the latency targets (BENCHMARKS.md), cheap enough for
//! every run: a converged `plan` reads nothing twice. Counted per operation
//! from the tool's call log, and per HTTP request at the fault-injection
//! proxy (so a retry would show too). Run with
//! `scripts/test.sh --test emulator_bench_checks`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::proxy::Proxy;
use support::{read_call_log, World};

/// Operations of a call log and how often each was made.
fn counts(calls: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in calls {
        *counts.entry(c.clone()).or_default() += 1;
    }
    counts
}

/// `up`, then a converged `plan` through the proxy: its calls per operation
/// (tool's call log) and the requests the proxy saw per operation.
fn converged_plan(w: &mut World) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    w.run(&["up", "--auto-approve"]).code(0);
    let proxy = Proxy::start(&w.endpoint);
    let direct = std::mem::replace(&mut w.endpoint, proxy.url());
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    w.endpoint = direct;
    (counts(&read_call_log(&log)), proxy.seen())
}

fn expected(ops: &[(&str, usize)]) -> BTreeMap<String, usize> {
    ops.iter().map(|(op, n)| (op.to_string(), *n)).collect()
}

#[tokio::test]
async fn a_converged_plan_of_photo_notes_reads_nothing_twice() {
    let mut w = World::new("once");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(
        &root.join("stacks/photo-notes.toml"),
        &root.join("policies"),
    );
    let (calls, requests) = converged_plan(&mut w);
    // One table and one bucket: each read of each exactly once, and each
    // search for the stack's leftovers once. The tagging API's listing
    // (the search for leftovers) reports both with the tags the stack
    // wants, so neither's own tag read is made (no ListTagsOfResource, no
    // GetBucketTagging), nor HeadBucket: GetBucketVersioning says the
    // bucket exists.
    assert_eq!(
        calls,
        expected(&[
            ("API Gateway:GetRestApis", 1),
            ("CloudFront:ListDistributions", 1),
            ("Cognito Identity Provider:ListUserPools", 1),
            ("Cognito Identity:ListIdentityPools", 1),
            ("DynamoDB:DescribeTable", 1),
            ("DynamoDB:DescribeTimeToLive", 1),
            ("IAM:ListRoles", 1),
            ("Lambda:ListFunctions", 1),
            ("Resource Groups Tagging API:GetResources", 1),
            ("S3:GetBucketCors", 1),
            ("S3:GetBucketEncryption", 1),
            ("S3:GetBucketVersioning", 1),
            ("S3:GetPublicAccessBlock", 1),
            ("STS:GetCallerIdentity", 1),
        ]),
        "a converged plan of photo-notes reads each thing exactly once"
    );
    // Nor twice on the wire (no retry, no second request for one call).
    let twice: Vec<(&String, &usize)> = requests.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "requests made more than once: {twice:?}");
    assert_eq!(requests.values().sum::<usize>(), 14, "{requests:?}");
}

/// Kinds found by listing (user pools, identity pools, REST APIs) and parts
/// read through their pool's listing (clients, groups): each listing is made
/// once, however many resources of the stack need it.
#[tokio::test]
async fn a_converged_plan_lists_each_pool_and_the_account_once() {
    let mut w = World::new("once");
    std::fs::create_dir_all(w.path("policies")).expect("a policies dir");
    std::fs::write(
        w.path("policies/read.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}"#,
    )
    .expect("a policy file");
    let mut body = String::new();
    for pool in ["a", "b"] {
        body.push_str(&format!(
            r#"[user_pool.{pool}]
username_attributes = ["email"]
clients.web = {{ generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }}
clients.ios = {{ generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }}
groups.admins = {{ precedence = 0, role = "member", description = "Administrators" }}
groups.staff = {{ precedence = 1, description = "Staff" }}

"#
        ));
    }
    body.push_str(
        r#"[identity_pool.app]
providers = ["a.web"]
authenticated_role = "member"

[role.member]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["policies/read.json"]

[api.notes]
stage = "prod"
routes."GET /health" = { integration = { mock = { status = 200, response = "{\"ok\": true}" } } }
usage_plans.mobile = { keys = ["app"], throttle = { rate = 10, burst = 20 } }
"#,
    );
    w.write_stack(&body);
    let (calls, requests) = converged_plan(&mut w);
    assert_eq!(
        calls,
        expected(&[
            // Once for the account (the declared APIs' reads and the search
            // for removed ones share it), then once per API.
            ("API Gateway:GetRestApis", 1),
            ("API Gateway:GetApiKeys", 1),
            ("API Gateway:GetUsagePlans", 1),
            ("API Gateway:GetResources", 1),
            // The API's models (no validator is named, so no
            // GetRequestValidators).
            ("API Gateway:GetModels", 1),
            ("API Gateway:GetAuthorizers", 1),
            ("API Gateway:GetStages", 1),
            ("API Gateway:GetDeployment", 1),
            ("API Gateway:GetUsagePlanKeys", 1),
            // Once for the account, once per pool, once per client.
            ("Cognito Identity Provider:ListUserPools", 1),
            ("Cognito Identity Provider:DescribeUserPool", 2),
            ("Cognito Identity Provider:ListUserPoolClients", 2),
            ("Cognito Identity Provider:DescribeUserPoolClient", 4),
            ("Cognito Identity Provider:ListGroups", 2),
            ("Cognito Identity:ListIdentityPools", 1),
            ("Cognito Identity:DescribeIdentityPool", 1),
            ("Cognito Identity:GetIdentityPoolRoles", 1),
            // The declared role's tags come with GetRole: no ListRoleTags.
            ("IAM:ListRoles", 1),
            ("IAM:GetRole", 1),
            ("IAM:ListRolePolicies", 1),
            ("IAM:ListAttachedRolePolicies", 1),
            ("IAM:GetRolePolicy", 1),
            // Functions removed from the file are found by listing them.
            ("Lambda:ListFunctions", 1),
            // So are distributions.
            ("CloudFront:ListDistributions", 1),
            ("Resource Groups Tagging API:GetResources", 1),
            ("STS:GetCallerIdentity", 1),
        ]),
        "a converged plan makes each listing once"
    );
    let total: usize = calls.values().sum();
    assert_eq!(requests.values().sum::<usize>(), total, "{requests:?}");
}

/// The shortcuts of a converged plan (issue 19): tables and buckets the
/// tagging API lists with the tags the stack wants cost no tag read (nor a
/// HeadBucket); three roles or more are read from the account's roles at
/// once (ListRoles, which the search for removed roles makes anyway, and
/// one GetAccountAuthorizationDetails); a pool's clients are listed, and an
/// identity pool's roles read, with the pool's describe. Exact, so that a
/// read that comes back fails here.
#[tokio::test]
async fn a_converged_plan_takes_tags_from_the_tagging_api_and_roles_from_one_listing() {
    let mut w = World::new("once");
    std::fs::create_dir_all(w.path("policies")).expect("a policies dir");
    std::fs::write(
        w.path("policies/read.json"),
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "${table.notes.arn}"}]}"#,
    )
    .expect("a policy file");
    w.write_stack(
        r#"[user_pool.users]
username_attributes = ["email"]
clients.ios = { generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }
clients.android = { generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }
groups.admins = { precedence = 0, role = "admin", description = "Administrators" }

[identity_pool.app]
providers = ["users.ios"]
authenticated_role = "member"

[role.member]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["policies/read.json"]

[role.admin]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["policies/read.json"]

[role.worker]
trust = { service = "lambda.amazonaws.com" }
policies = ["policies/read.json"]

[table.notes]
hash_key = { name = "id", type = "S" }
ttl_attribute = "expiresAt"

[table.events]
hash_key = { name = "id", type = "S" }

[bucket.uploads]
versioning = true

[bucket.media]
cors = [{ allowed_methods = ["GET"], allowed_origins = ["*"] }]
"#,
    );
    let (calls, requests) = converged_plan(&mut w);
    assert_eq!(
        calls,
        expected(&[
            // Two tables: no ListTagsOfResource.
            ("DynamoDB:DescribeTable", 2),
            ("DynamoDB:DescribeTimeToLive", 2),
            // Two buckets: no HeadBucket, no GetBucketTagging.
            ("S3:GetBucketVersioning", 2),
            ("S3:GetBucketCors", 2),
            ("S3:GetPublicAccessBlock", 2),
            ("S3:GetBucketEncryption", 2),
            // Three roles: two calls in all.
            ("IAM:ListRoles", 1),
            ("IAM:GetAccountAuthorizationDetails", 1),
            ("Cognito Identity Provider:ListUserPools", 1),
            ("Cognito Identity Provider:DescribeUserPool", 1),
            ("Cognito Identity Provider:ListUserPoolClients", 1),
            ("Cognito Identity Provider:DescribeUserPoolClient", 2),
            ("Cognito Identity Provider:ListGroups", 1),
            ("Cognito Identity:ListIdentityPools", 1),
            ("Cognito Identity:DescribeIdentityPool", 1),
            ("Cognito Identity:GetIdentityPoolRoles", 1),
            ("API Gateway:GetRestApis", 1),
            ("Lambda:ListFunctions", 1),
            ("CloudFront:ListDistributions", 1),
            ("Resource Groups Tagging API:GetResources", 1),
            ("STS:GetCallerIdentity", 1),
        ]),
        "a converged plan takes the shortcuts"
    );
    let total: usize = calls.values().sum();
    assert_eq!(total, 28);
    assert_eq!(requests.values().sum::<usize>(), total, "{requests:?}");
}

/// Regression: a paced request waits for its token inside the HTTP client,
/// and the SDK's upload stall check took a wait of more than its 5 s grace
/// for a stalled upload, abandoned the attempt and retried it, wasting a
/// token each time: the third of three `CreateDeployment`s in a row (one
/// per 5 s) went out after 28 s instead of 10 s. Now three APIs go up in
/// their pacing floor (10 s for the deployments), not much more.
#[tokio::test]
async fn three_apis_deploy_one_per_five_seconds_and_no_paced_attempt_is_abandoned() {
    let mut w = World::new("pace");
    w.create_function("pace-handler").await;
    let mut body = String::new();
    for a in 0..3 {
        body.push_str(&format!("[api.a{a}]\nstage = \"prod\"\n"));
        for (verb, path) in [
            ("GET", "/items"),
            ("POST", "/items"),
            ("GET", "/items/{id}"),
        ] {
            body.push_str(&format!(
                "routes.\"{verb} {path}\" = {{ authorization = \"aws_iam\", integration = {{ lambda = \"arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:pace-handler\" }} }}\n"
            ));
        }
        body.push_str(
            "usage_plans.basic = { keys = [\"app\"], throttle = { rate = 50, burst = 100 } }\n\n",
        );
    }
    w.write_stack(&body);
    let proxy = Proxy::start(&w.endpoint);
    let direct = std::mem::replace(&mut w.endpoint, proxy.url());
    let started = std::time::Instant::now();
    w.run(&["up", "--auto-approve"]).code(0);
    let took = started.elapsed();
    w.endpoint = direct;
    let deployments = proxy
        .seen()
        .iter()
        .filter(|(op, _)| op.ends_with("/deployments"))
        .map(|(_, n)| *n)
        .sum::<usize>();
    assert_eq!(deployments, 3, "{:?}", proxy.seen());
    assert!(
        took >= std::time::Duration::from_secs(10),
        "three deployments are paced one per 5 s: {took:?}"
    );
    assert!(
        took < std::time::Duration::from_secs(17),
        "three APIs took {took:?}: a paced attempt was abandoned and retried"
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);
}
