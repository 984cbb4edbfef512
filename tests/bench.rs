//! The latency benchmark (issue 6): `up` from nothing, a converged `plan`, a
//! second `up` and `destroy`, for `stacks/photo-notes.toml` and for a
//! generated stack of about 200 resources, through the fault-injection proxy
//! (`tests/support/proxy.rs`) in front of the local emulator, at 0 ms and at
//! 50 ms round trip; next to the same reads made one after the other with the
//! aws CLI through the same proxy, as a user checking the stack by hand would.
//!
//! Ignored by default (it takes minutes). `scripts/bench.sh` builds the
//! tool as the tests do (the dev profile, dependencies at opt-level 1: the
//! time goes to round trips, not to the CPU), starts a private emulator and
//! runs it:
//!
//! ```sh
//! scripts/bench.sh                  # prints the Markdown table of BENCHMARKS.md
//! ```
//!
//! or, against an emulator of your own (`MOBILE_BACKEND_TEST_ENDPOINT`):
//! `cargo test --test bench -- --ignored --nocapture --test-threads=1`.
//!
//! Settings (environment):
//! - `MOBILE_BACKEND_BENCH_OUT`: also write the report (Markdown) to this file;
//! - `MOBILE_BACKEND_BENCH_STACKS`: any of `photo-notes`, `mid` (the
//!   ~30-resource stack of issue 19) and `generated` (comma-separated;
//!   default all three);
//! - `MOBILE_BACKEND_BENCH_RTTS`: round trips in ms (default `0,50`);
//! - `MOBILE_BACKEND_BENCH_AWS`: the aws CLI (default `.venv/bin/aws` of the
//!   repository, which `scripts/emulator.sh install` makes); `none` skips the
//!   CLI comparison;
//! - `MOBILE_BACKEND_BENCH_LOGS`: a directory to keep each run's standard
//!   error in (the tool prints every step with the time it took), the
//!   requests per operation, and a timeline (each request's arrival at the
//!   proxy, in ms from the first: what waited on what).
//!
//! What is measured, per step: wall time of the whole process (start-up
//! included); HTTP requests the proxy saw (every attempt, the stack lock's
//! included); the stack lock's share (the tool's call log labels them
//! `Lock DynamoDB`); and the stack's mutating calls (the tool's call log,
//! lock excluded). "Round trips" is wall time / RTT.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::proxy::Proxy;
use support::{read_call_log, World, REGION};

/// How many times a converged `plan` is run; the median is reported.
const PLAN_RUNS: usize = 3;

// ------------------------------------------------------------ the stacks --

/// What a stack declares that the aws CLI reads need: physical names, and
/// per role its inline policies.
#[derive(Debug, Default, Clone)]
struct Inventory {
    tables: Vec<String>,
    buckets: Vec<String>,
    /// (role name, inline policy names)
    roles: Vec<(String, Vec<String>)>,
    /// user pool name → (client names, has groups)
    user_pools: BTreeMap<String, (Vec<String>, bool)>,
    identity_pools: Vec<String>,
    apis: Vec<String>,
}

/// `stacks/photo-notes.toml` as this world's stack.
fn photo_notes(w: &World) -> Inventory {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(
        &root.join("stacks/photo-notes.toml"),
        &root.join("policies"),
    );
    Inventory {
        tables: vec![w.name("notes")],
        buckets: vec![format!("photo-notes-uploads-{}", w.account)],
        ..Inventory::default()
    }
}

/// How many of each kind a generated stack has.
#[derive(Debug, Clone, Copy)]
struct Shape {
    tables: usize,
    buckets: usize,
    roles: usize,
    user_pools: usize,
    identity_pools: usize,
    apis: usize,
}

/// The ~200-step stack.
const GENERATED: Shape = Shape {
    tables: 72,
    buckets: 66,
    roles: 44,
    user_pools: 2,
    identity_pools: 2,
    apis: 3,
};

/// The Lambda function the generated APIs' routes integrate with.
const GEN_FUNCTION: &str = "bench-handler";

/// A stack of the given shape, of every kind the emulator has (search
/// domains aside): tables (every other one with a TTL attribute and an index),
/// buckets (versioned, with CORS), roles with an inline policy that names a
/// table and a bucket, user pools with two clients and two groups each
/// (the groups take roles), identity pools with their role attachment, and
/// REST APIs with four Lambda routes, a key and a usage plan.
fn generated(w: &World, shape: Shape) -> Inventory {
    let mut inv = Inventory::default();
    let mut s = String::new();
    for i in 0..shape.tables {
        let _ = writeln!(
            s,
            "[table.t{i:02}]\nhash_key = {{ name = \"id\", type = \"S\" }}\nbilling = \"pay_per_request\""
        );
        if i % 2 == 0 {
            let _ = writeln!(
                s,
                "ttl_attribute = \"expiresAt\"\nglobal_secondary_indexes.by_owner = {{ hash_key = {{ name = \"owner\", type = \"S\" }}, projection = \"keys_only\" }}"
            );
        }
        s.push('\n');
        inv.tables.push(w.name(&format!("t{i:02}")));
    }
    for i in 0..shape.buckets {
        let _ = writeln!(
            s,
            "[bucket.b{i:02}]\nversioning = {}\ncors = [{{ allowed_methods = [\"GET\", \"PUT\"], allowed_origins = [\"*\"] }}]\n",
            i % 2 == 0
        );
        inv.buckets.push(w.name(&format!("b{i:02}")));
    }
    let policies = w.path("policies");
    std::fs::create_dir_all(&policies).expect("a policies dir");
    for i in 0..shape.roles {
        let key = format!("r{i:02}");
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                    "Resource": [
                        format!("${{table.t{:02}.arn}}", i % shape.tables),
                        format!("${{table.t{:02}.arn}}/index/*", i % shape.tables),
                    ],
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": format!("${{bucket.b{:02}.arn}}/*", i % shape.buckets),
                },
            ],
        });
        std::fs::write(
            policies.join(format!("{key}.json")),
            serde_json::to_string_pretty(&policy).expect("JSON"),
        )
        .expect("write a policy file");
        // The first roles are the identity pools' (Cognito trust).
        let trust = if i < shape.identity_pools {
            format!("{{ identity_pool = \"ip{i}\", amr = \"authenticated\" }}")
        } else {
            "{ service = \"lambda.amazonaws.com\" }".to_string()
        };
        let _ = writeln!(
            s,
            "[role.{key}]\ntrust = {trust}\npolicies = [\"policies/{key}.json\"]\n"
        );
        inv.roles.push((w.name(&key), vec![key]));
    }
    for p in 0..shape.user_pools {
        let _ = writeln!(
            s,
            "[user_pool.up{p}]\nusername_attributes = [\"email\"]\nauto_verified_attributes = [\"email\"]\nmfa = \"off\"\npassword_policy = {{ min_length = 8, require_numbers = true }}\nattributes.email = {{ required = true }}"
        );
        for c in ["ios", "android"] {
            let _ = writeln!(
                s,
                "clients.{c} = {{ generate_secret = false, auth_flows = [\"ALLOW_USER_SRP_AUTH\", \"ALLOW_REFRESH_TOKEN_AUTH\"] }}"
            );
        }
        for (g, precedence) in [("admins", 0), ("editors", 1)] {
            let _ = writeln!(
                s,
                "groups.{g} = {{ precedence = {precedence}, role = \"r{:02}\", description = \"{g}\" }}",
                shape.identity_pools + p * 2 + precedence
            );
        }
        s.push('\n');
        let clients = ["ios", "android"]
            .iter()
            .map(|c| format!("{}-{c}", w.name(&format!("up{p}"))))
            .collect();
        inv.user_pools
            .insert(w.name(&format!("up{p}")), (clients, true));
    }
    for i in 0..shape.identity_pools {
        let _ = writeln!(
            s,
            "[identity_pool.ip{i}]\nproviders = [\"up{i}.ios\"]\nauthenticated_role = \"r{i:02}\"\n"
        );
        inv.identity_pools
            .push(format!("{}_ip{i}", w.stack.replace('-', "_")));
    }
    for a in 0..shape.apis {
        let _ = writeln!(s, "[api.a{a}]\nstage = \"prod\"");
        for (verb, path) in [
            ("GET", "/items"),
            ("POST", "/items"),
            ("GET", "/items/{id}"),
            ("DELETE", "/items/{id}"),
        ] {
            let _ = writeln!(
                s,
                "routes.\"{verb} {path}\" = {{ authorization = \"aws_iam\", integration = {{ lambda = \"arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:{GEN_FUNCTION}\" }} }}"
            );
        }
        let _ = writeln!(
            s,
            "usage_plans.basic = {{ keys = [\"app\"], throttle = {{ rate = 50, burst = 100 }} }}\n"
        );
        inv.apis.push(w.name(&format!("a{a}")));
    }
    w.write_stack(&s);
    inv
}

/// The Lambda function the mid-sized stack's routes integrate with.
const MID_FUNCTION: &str = "mid-handler";

/// The mid-sized stack of issue 19 (about 30 resources, 15 steps): a user
/// pool with two clients and a group, an identity pool with its role
/// attachment, three tables, two buckets, a REST API with four Lambda
/// routes, a key and a usage plan, and three roles.
fn mid(w: &World) -> Inventory {
    let mut inv = Inventory::default();
    let policies = w.path("policies");
    std::fs::create_dir_all(&policies).expect("a policies dir");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                "Resource": ["${table.notes.arn}", "${table.notes.arn}/index/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "${bucket.uploads.arn}/*",
            },
        ],
    });
    for key in ["app_user", "admin", "api_fn"] {
        std::fs::write(
            policies.join(format!("{key}.json")),
            serde_json::to_string_pretty(&policy).expect("JSON"),
        )
        .expect("write a policy file");
        inv.roles.push((w.name(key), vec![key.to_string()]));
    }
    let mut s = String::from(
        r#"[user_pool.users]
username_attributes = ["email"]
auto_verified_attributes = ["email"]
mfa = "off"
password_policy = { min_length = 8, require_numbers = true }
attributes.email = { required = true }
clients.ios = { generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }
clients.android = { generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }
groups.admins = { precedence = 0, role = "admin", description = "Administrators" }

[identity_pool.app]
providers = ["users.ios"]
authenticated_role = "app_user"

[role.app_user]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["policies/app_user.json"]

[role.admin]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["policies/admin.json"]

[role.api_fn]
trust = { service = "lambda.amazonaws.com" }
policies = ["policies/api_fn.json"]

"#,
    );
    for (key, ttl) in [("notes", true), ("profiles", false), ("events", false)] {
        let _ = writeln!(
            s,
            "[table.{key}]\nhash_key = {{ name = \"id\", type = \"S\" }}\nbilling = \"pay_per_request\""
        );
        if ttl {
            let _ = writeln!(s, "ttl_attribute = \"expiresAt\"");
        }
        s.push('\n');
        inv.tables.push(w.name(key));
    }
    for (key, versioning) in [("uploads", true), ("media", false)] {
        let _ = writeln!(
            s,
            "[bucket.{key}]\nversioning = {versioning}\ncors = [{{ allowed_methods = [\"GET\", \"PUT\"], allowed_origins = [\"*\"] }}]\n"
        );
        inv.buckets.push(w.name(key));
    }
    let _ = writeln!(s, "[api.notes]\nstage = \"prod\"");
    for (verb, path) in [
        ("GET", "/notes"),
        ("POST", "/notes"),
        ("GET", "/notes/{id}"),
        ("DELETE", "/notes/{id}"),
    ] {
        let _ = writeln!(
            s,
            "routes.\"{verb} {path}\" = {{ authorization = \"aws_iam\", integration = {{ lambda = \"arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:{MID_FUNCTION}\" }} }}"
        );
    }
    let _ = writeln!(
        s,
        "usage_plans.mobile = {{ keys = [\"ios\"], throttle = {{ rate = 50, burst = 100 }} }}\n"
    );
    inv.apis.push(w.name("notes"));
    inv.user_pools.insert(
        w.name("users"),
        (
            vec![
                format!("{}-ios", w.name("users")),
                format!("{}-android", w.name("users")),
            ],
            true,
        ),
    );
    inv.identity_pools
        .push(format!("{}_app", w.stack.replace('-', "_")));
    w.write_stack(&s);
    inv
}

// ------------------------------------------------------------ measuring --

/// One run of the tool (or of the aws CLI reads) through the proxy.
#[derive(Debug, Clone, Default)]
struct Sample {
    wall: Duration,
    /// HTTP requests the proxy saw (every attempt, the lock's included).
    requests: usize,
    /// Of those, the stack lock's calls (from the tool's call log).
    lock: usize,
    /// The stack's mutating calls (the tool's call log, lock excluded).
    mutating: usize,
    /// The tool's calls per `service:Operation`, lock excluded.
    ops: BTreeMap<String, usize>,
}

fn median(mut samples: Vec<Sample>) -> Sample {
    samples.sort_by_key(|s| s.wall);
    samples.swap_remove(samples.len() / 2)
}

/// Runs the tool with `args` through the proxy (the world's endpoint) and
/// measures it; the exit code must be `want`.
fn run_tool(w: &World, proxy: &Proxy, args: &[&str], want: i32) -> Sample {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = w.path(&format!("calls-{n}.log"));
    proxy.reset_counts();
    let mut cmd = w.process(args, Some(&log));
    let started = Instant::now();
    let out = cmd.output().expect("run mobile-backend");
    let wall = started.elapsed();
    let code = out.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        want,
        "`mobile-backend {}` exited {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Ok(dir) = std::env::var("MOBILE_BACKEND_BENCH_LOGS") {
        // The tool's own account of each run (one line per step, with its time).
        let file = Path::new(&dir).join(format!("{n:03}-{}.stderr", args.join("-")));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(file, &out.stderr);
        // Requests per operation as the proxy saw them (retries included).
        let seen: String = proxy
            .seen()
            .iter()
            .map(|(op, n)| format!("{n:5} {op}\n"))
            .collect();
        let file = Path::new(&dir).join(format!("{n:03}-{}.requests", args.join("-")));
        let _ = std::fs::write(file, seen);
        // Each request as it reached the proxy, in milliseconds from the first
        // (where the time of a run goes: what waited on what).
        let timeline: String = proxy
            .timeline()
            .iter()
            .map(|(at, op)| format!("{:8.1} {op}\n", at.as_secs_f64() * 1000.0))
            .collect();
        let file = Path::new(&dir).join(format!("{n:03}-{}.timeline", args.join("-")));
        let _ = std::fs::write(file, timeline);
    }
    let calls = read_call_log(&log);
    let lock = calls
        .iter()
        .filter(|c| c.starts_with(mobile_backend::aws::LOCK_SERVICE))
        .count();
    let mut ops = BTreeMap::new();
    for c in calls
        .iter()
        .filter(|c| !c.starts_with(mobile_backend::aws::LOCK_SERVICE))
    {
        *ops.entry(c.clone()).or_default() += 1;
    }
    let mutating = ops
        .iter()
        .filter(|(op, _)| {
            mobile_backend::aws::is_mutating(op.rsplit(':').next().unwrap_or_default())
        })
        .map(|(_, n)| n)
        .sum();
    Sample {
        wall,
        requests: proxy.seen().values().sum(),
        lock,
        mutating,
        ops,
    }
}

// --------------------------------------------------------- the aws CLI --

/// The aws CLI through the proxy, with this world's account.
struct AwsCli {
    program: PathBuf,
    url: String,
    account: String,
    nowhere: PathBuf,
}

impl AwsCli {
    fn find(w: &World, url: &str) -> Option<AwsCli> {
        let program = match std::env::var("MOBILE_BACKEND_BENCH_AWS") {
            Ok(v) if v == "none" => return None,
            Ok(v) if !v.trim().is_empty() => PathBuf::from(v),
            _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/aws"),
        };
        if !program.exists() {
            eprintln!(
                "bench: no aws CLI at {} (run scripts/emulator.sh install); skipping the CLI comparison",
                program.display()
            );
            return None;
        }
        Some(AwsCli {
            program,
            url: url.to_string(),
            account: w.account.clone(),
            nowhere: w.path("no-such-aws-config"),
        })
    }

    /// One CLI call; its JSON output when it succeeded.
    fn call(&self, args: &[&str]) -> Option<Value> {
        let mut cmd = std::process::Command::new(&self.program);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("AWS_") {
                cmd.env_remove(&key);
            }
        }
        let out = cmd
            .env("AWS_ACCESS_KEY_ID", &self.account)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", &self.nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--endpoint-url", &self.url, "--output", "json"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the aws CLI");
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Some(Value::Null);
        }
        serde_json::from_str(&text).ok()
    }

    /// The reads of a converged plan of `inv`, one call after the other.
    fn reads(&self, inv: &Inventory) {
        let _ = self.call(&["sts", "get-caller-identity"]);
        for t in &inv.tables {
            let table = self.call(&["dynamodb", "describe-table", "--table-name", t]);
            let arn = table
                .as_ref()
                .and_then(|d| d["Table"]["TableArn"].as_str())
                .unwrap_or_default()
                .to_string();
            let _ = self.call(&["dynamodb", "describe-time-to-live", "--table-name", t]);
            let _ = self.call(&["dynamodb", "list-tags-of-resource", "--resource-arn", &arn]);
        }
        for b in &inv.buckets {
            for read in [
                "head-bucket",
                "get-bucket-tagging",
                "get-bucket-versioning",
                "get-bucket-cors",
                "get-public-access-block",
                "get-bucket-encryption",
            ] {
                let _ = self.call(&["s3api", read, "--bucket", b]);
            }
        }
        for (role, policies) in &inv.roles {
            let _ = self.call(&["iam", "get-role", "--role-name", role]);
            let _ = self.call(&["iam", "list-role-policies", "--role-name", role]);
            let _ = self.call(&["iam", "list-attached-role-policies", "--role-name", role]);
            for p in policies {
                let _ = self.call(&[
                    "iam",
                    "get-role-policy",
                    "--role-name",
                    role,
                    "--policy-name",
                    p,
                ]);
            }
        }
        if !inv.user_pools.is_empty() {
            let listed = self.call(&["cognito-idp", "list-user-pools", "--max-results", "60"]);
            for pool in items(&listed, "UserPools") {
                let (Some(name), Some(id)) = (pool["Name"].as_str(), pool["Id"].as_str()) else {
                    continue;
                };
                let Some((_, groups)) = inv.user_pools.get(name) else {
                    continue;
                };
                let _ = self.call(&["cognito-idp", "describe-user-pool", "--user-pool-id", id]);
                let clients = self.call(&[
                    "cognito-idp",
                    "list-user-pool-clients",
                    "--user-pool-id",
                    id,
                    "--max-results",
                    "60",
                ]);
                for c in items(&clients, "UserPoolClients") {
                    if let Some(cid) = c["ClientId"].as_str() {
                        let _ = self.call(&[
                            "cognito-idp",
                            "describe-user-pool-client",
                            "--user-pool-id",
                            id,
                            "--client-id",
                            cid,
                        ]);
                    }
                }
                if *groups {
                    let _ = self.call(&["cognito-idp", "list-groups", "--user-pool-id", id]);
                }
            }
        }
        if !inv.identity_pools.is_empty() {
            let listed = self.call(&[
                "cognito-identity",
                "list-identity-pools",
                "--max-results",
                "60",
            ]);
            for pool in items(&listed, "IdentityPools") {
                let (Some(name), Some(id)) = (
                    pool["IdentityPoolName"].as_str(),
                    pool["IdentityPoolId"].as_str(),
                ) else {
                    continue;
                };
                if inv.identity_pools.iter().any(|n| n == name) {
                    let _ = self.call(&[
                        "cognito-identity",
                        "describe-identity-pool",
                        "--identity-pool-id",
                        id,
                    ]);
                    let _ = self.call(&[
                        "cognito-identity",
                        "get-identity-pool-roles",
                        "--identity-pool-id",
                        id,
                    ]);
                }
            }
        }
        if !inv.apis.is_empty() {
            let listed = self.call(&["apigateway", "get-rest-apis", "--limit", "500"]);
            for api in items(&listed, "items") {
                let (Some(name), Some(id)) = (api["name"].as_str(), api["id"].as_str()) else {
                    continue;
                };
                if !inv.apis.iter().any(|n| n == name) {
                    continue;
                }
                let _ = self.call(&[
                    "apigateway",
                    "get-resources",
                    "--rest-api-id",
                    id,
                    "--embed",
                    "methods",
                ]);
                let stages = self.call(&["apigateway", "get-stages", "--rest-api-id", id]);
                for stage in items(&stages, "item") {
                    if let Some(d) = stage["deploymentId"].as_str() {
                        let _ = self.call(&[
                            "apigateway",
                            "get-deployment",
                            "--rest-api-id",
                            id,
                            "--deployment-id",
                            d,
                        ]);
                    }
                }
            }
            let _ = self.call(&["apigateway", "get-api-keys", "--limit", "500"]);
            let plans = self.call(&["apigateway", "get-usage-plans", "--limit", "500"]);
            for plan in items(&plans, "items") {
                let ours = plan["name"]
                    .as_str()
                    .is_some_and(|n| inv.apis.iter().any(|a| n.starts_with(a.as_str())));
                if let (true, Some(id)) = (ours, plan["id"].as_str()) {
                    let _ =
                        self.call(&["apigateway", "get-usage-plan-keys", "--usage-plan-id", id]);
                }
            }
        }
    }
}

fn items<'a>(v: &'a Option<Value>, key: &str) -> Vec<&'a Value> {
    v.as_ref()
        .and_then(|v| v[key].as_array())
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

// -------------------------------------------------- the critical path --

/// The fewest calls a create of `address` must make one after the other,
/// given what each call needs from the one before (not what this tool
/// happens to do), with AWS's own waits counted as one poll each:
///
/// - table: `CreateTable`, one `DescribeTable` until ACTIVE, then
///   `UpdateTimeToLive` when it has a TTL attribute (DynamoDB refuses it on
///   a table that is not ACTIVE): 2 or 3;
/// - bucket: `CreateBucket`, then every configuration call at once: 2;
/// - role: `CreateRole`, then its policies at once: 2 (1 without policies);
/// - user pool: `CreateUserPool`, then MFA and trigger permissions at once:
///   1 or 2; an app client, a group, an identity pool, a role attachment: 1;
/// - REST API: `CreateRestApi`, one `CreateResource` per level of the
///   deepest path, `PutMethod` and `PutIntegration` (routes side by side),
///   `CreateDeployment`, `CreateStage`, `CreateUsagePlan` (it names the
///   stage), `CreateUsagePlanKey` (keys and Lambda permissions side by side
///   earlier): 7 + depth.
fn create_calls(address: &str, after: &Value) -> u32 {
    let pieces: Vec<&str> = address.split('.').collect();
    let part = pieces.len() > 2;
    let nonempty = |v: &Value| match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Null => false,
        _ => true,
    };
    match (pieces[0], part) {
        ("table", _) => 2 + u32::from(nonempty(&after["ttl_attribute"])),
        ("bucket", _) => 2,
        ("role", _) => {
            1 + u32::from(
                nonempty(&after["inline_policies"]) || nonempty(&after["managed_policies"]),
            )
        }
        ("user_pool", false) => {
            let mfa = after["mfa"].as_str().is_some_and(|m| m != "off");
            1 + u32::from(mfa || nonempty(&after["triggers"]))
        }
        ("api", _) => {
            let depth = after["routes"]
                .as_object()
                .map(|r| {
                    r.keys()
                        .filter_map(|k| k.split_once(' ').map(|(_, p)| p))
                        .map(|p| p.split('/').filter(|s| !s.is_empty()).count() as u32)
                        .max()
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            7 + depth
        }
        _ => 1,
    }
}

/// The create critical path of a plan from nothing, in calls: the longest
/// chain through `depends_on` of [`create_calls`]. Returns it and the chain.
fn critical_path(plan: &Value) -> (u32, Vec<String>) {
    let changes = plan["resource_changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_address: BTreeMap<String, &Value> = changes
        .iter()
        .filter_map(|c| Some((c["address"].as_str()?.to_string(), c)))
        .collect();
    fn longest(
        address: &str,
        by_address: &BTreeMap<String, &Value>,
        memo: &mut BTreeMap<String, (u32, Vec<String>)>,
    ) -> (u32, Vec<String>) {
        if let Some(m) = memo.get(address) {
            return m.clone();
        }
        let Some(c) = by_address.get(address) else {
            return (0, Vec::new());
        };
        let own = create_calls(address, &c["change"]["after"]);
        let mut best = (0, Vec::new());
        for dep in c["depends_on"].as_array().into_iter().flatten() {
            if let Some(d) = dep.as_str() {
                let r = longest(d, by_address, memo);
                if r.0 > best.0 {
                    best = r;
                }
            }
        }
        let mut chain = best.1;
        chain.push(format!("{address} ({own})"));
        let result = (best.0 + own, chain);
        memo.insert(address.to_string(), result.clone());
        result
    }
    let mut memo = BTreeMap::new();
    let mut best = (0, Vec::new());
    for address in by_address.keys() {
        let r = longest(address, &by_address, &mut memo);
        if r.0 > best.0 {
            best = r;
        }
    }
    best
}

/// Calls around the creates in `up` from nothing, one after the other:
/// `GetCallerIdentity` beside the lock's `PutItem`, the reads (all at once;
/// nothing exists), and the lock's `DeleteItem`.
const UP_OVERHEAD: u32 = 3;

// ----------------------------------------------------------- the report --

struct Row {
    stack: String,
    rtt_ms: u64,
    step: &'static str,
    sample: Sample,
}

struct StackResult {
    name: &'static str,
    resources: usize,
    critical_calls: u32,
    chain: Vec<String>,
    rows: Vec<Row>,
    plan_ops: BTreeMap<String, usize>,
}

/// The least time the tool's own client-side pacing (`src/aws/quotas.rs`,
/// AWS's documented rates) lets `ops` take, whatever the latency, read from
/// the table itself: a row with a burst lets it go at once, then one
/// request per interval; a rate without a documented burst lets its
/// requests go at once, then as many again per span. The rows run side by
/// side, so the floor is the largest of them. (The cap per user pool is
/// left out: the call log does not say which pool a call was for.)
fn pacing_floor(ops: &BTreeMap<String, usize>) -> f64 {
    use mobile_backend::aws::quotas::{Matches, Service, QUOTAS};
    let service = |s: Service| match s {
        Service::ApiGateway => "API Gateway:",
        Service::CognitoUserPools => "Cognito Identity Provider:",
        Service::Lambda => "Lambda:",
    };
    let count = |prefix: &str, op: &str| ops.get(&format!("{prefix}{op}")).copied().unwrap_or(0);
    let all = |prefix: &str| -> usize {
        ops.iter()
            .filter(|(op, _)| op.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    };
    QUOTAS
        .iter()
        .map(|q| {
            let prefix = service(q.service);
            // REST rows are named after their operation, as the call log is.
            let n = match q.matches {
                Matches::All => all(prefix),
                Matches::Rest(..) => count(prefix, q.name),
                Matches::Target(names) => names.iter().map(|op| count(prefix, op)).sum(),
                Matches::RestExcept(_) => {
                    let others: usize = QUOTAS
                        .iter()
                        .filter(|o| {
                            o.service == q.service && matches!(o.matches, Matches::Rest(..))
                        })
                        .map(|o| count(prefix, o.name))
                        .sum();
                    all(prefix).saturating_sub(others)
                }
            };
            match q.burst {
                Some(burst) => n.saturating_sub(burst as usize) as f64 * q.interval().as_secs_f64(),
                None => (n.saturating_sub(1) / q.requests as usize) as f64 * q.per.as_secs_f64(),
            }
        })
        .fold(0.0, f64::max)
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn report(results: &[StackResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| stack | RTT | step | wall (s) | round trips (wall / RTT) | requests | of which lock | mutating | pacing floor (s) |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in results {
        for row in &r.rows {
            let rt = if row.rtt_ms == 0 {
                "–".to_string()
            } else {
                format!(
                    "{:.1}",
                    row.sample.wall.as_secs_f64() * 1000.0 / row.rtt_ms as f64
                )
            };
            let (lock, mutating, floor) = if row.step.starts_with("aws CLI") {
                ("–".to_string(), "–".to_string(), "–".to_string())
            } else {
                (
                    row.sample.lock.to_string(),
                    row.sample.mutating.to_string(),
                    format!("{:.1}", pacing_floor(&row.sample.ops)),
                )
            };
            let _ = writeln!(
                out,
                "| {} | {} ms | {} | {} | {} | {} | {lock} | {mutating} | {floor} |",
                row.stack,
                row.rtt_ms,
                row.step,
                secs(row.sample.wall),
                rt,
                row.sample.requests,
            );
        }
    }
    out.push('\n');
    for r in results {
        let _ = writeln!(
            out,
            "- `{}`: {} steps; create critical path {} calls, `up` from nothing ideally {} round trips ({} + {UP_OVERHEAD} around it): {}",
            r.name,
            r.resources,
            r.critical_calls,
            r.critical_calls + UP_OVERHEAD,
            r.critical_calls,
            r.chain.join(" → ")
        );
    }
    out.push('\n');
    for r in results {
        let _ = writeln!(
            out,
            "<details><summary>calls of a converged plan of {} (tool's call log)</summary>\n\n| operation | calls |\n|---|---:|",
            r.name
        );
        for (op, n) in &r.plan_ops {
            let _ = writeln!(out, "| `{op}` | {n} |");
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}

// -------------------------------------------------------------- running --

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The stack lock's table, made before measuring (as after a user's first
/// run in an account): its one-time creation is not what is measured.
async fn make_lock_table(w: &World) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    w.dynamodb
        .create_table()
        .table_name(mobile_backend::lock::DEFAULT_TABLE)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("stack")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("a key attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("stack")
                .key_type(KeyType::Hash)
                .build()
                .expect("a key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the lock table");
}

async fn bench_stack(name: &'static str, rtts: &[u64]) -> StackResult {
    let mut rows = Vec::new();
    let mut critical = (0, Vec::new());
    let mut resources = 0;
    let mut plan_ops = BTreeMap::new();
    for &rtt in rtts {
        let mut w = World::new(match name {
            "generated" => "gen",
            "mid" => "mid",
            _ => "pn",
        });
        let proxy = Proxy::start(&w.endpoint);
        if std::env::var_os("MOBILE_BACKEND_BENCH_DIRECT").is_none() {
            w.endpoint = proxy.url();
        }
        let inv = match name {
            "generated" => {
                w.create_function(GEN_FUNCTION).await;
                generated(&w, GENERATED)
            }
            "mid" => {
                w.create_function(MID_FUNCTION).await;
                mid(&w)
            }
            _ => photo_notes(&w),
        };
        make_lock_table(&w).await;
        let stack_label = name.to_string();

        // The plan from nothing (not timed): the dependency graph.
        proxy.set_latency(Duration::ZERO);
        let plan = w.process(&["plan", "--json"], None).output().expect("plan");
        assert!(
            plan.status.success(),
            "{}",
            String::from_utf8_lossy(&plan.stderr)
        );
        let plan: Value = serde_json::from_slice(&plan.stdout).expect("plan --json");
        critical = critical_path(&plan);
        resources = plan["resource_changes"].as_array().map_or(0, Vec::len);

        proxy.set_latency(Duration::from_millis(rtt / 2));
        eprintln!("bench: {name} at {rtt} ms: up from nothing");
        let up = run_tool(&w, &proxy, &["up", "--auto-approve"], 0);
        rows.push(Row {
            stack: stack_label.clone(),
            rtt_ms: rtt,
            step: "`up` from nothing",
            sample: up,
        });
        eprintln!("bench: {name} at {rtt} ms: converged plan");
        let plans: Vec<Sample> = (0..PLAN_RUNS)
            .map(|_| run_tool(&w, &proxy, &["plan", "--detailed-exitcode"], 0))
            .collect();
        let plan = median(plans);
        plan_ops = plan.ops.clone();
        rows.push(Row {
            stack: stack_label.clone(),
            rtt_ms: rtt,
            step: "converged `plan` (median of 3)",
            sample: plan,
        });
        eprintln!("bench: {name} at {rtt} ms: second up");
        let again = run_tool(&w, &proxy, &["up", "--auto-approve"], 0);
        rows.push(Row {
            stack: stack_label.clone(),
            rtt_ms: rtt,
            step: "second `up`",
            sample: again,
        });
        if let Some(cli) = AwsCli::find(&w, &proxy.url()) {
            eprintln!("bench: {name} at {rtt} ms: the same reads with the aws CLI");
            proxy.reset_counts();
            let started = Instant::now();
            cli.reads(&inv);
            let wall = started.elapsed();
            rows.push(Row {
                stack: stack_label.clone(),
                rtt_ms: rtt,
                step: "aws CLI: the plan's reads, one by one",
                sample: Sample {
                    wall,
                    requests: proxy.seen().values().sum(),
                    ..Sample::default()
                },
            });
        }
        eprintln!("bench: {name} at {rtt} ms: destroy");
        let destroy = run_tool(&w, &proxy, &["destroy", "--auto-approve"], 0);
        rows.push(Row {
            stack: stack_label,
            rtt_ms: rtt,
            step: "`destroy`",
            sample: destroy,
        });
    }
    StackResult {
        name,
        resources,
        critical_calls: critical.0,
        chain: critical.1,
        rows,
        plan_ops,
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "minutes long; run with scripts/bench.sh"]
async fn latency_benchmark() {
    let stacks = env_list("MOBILE_BACKEND_BENCH_STACKS", "photo-notes,mid,generated");
    let rtts: Vec<u64> = env_list("MOBILE_BACKEND_BENCH_RTTS", "0,50")
        .iter()
        .map(|r| r.parse().expect("MOBILE_BACKEND_BENCH_RTTS: numbers of ms"))
        .collect();
    let mut results = Vec::new();
    for s in &stacks {
        let name: &'static str = match s.as_str() {
            "photo-notes" => "photo-notes",
            "generated" => "generated",
            "mid" => "mid",
            other => panic!("MOBILE_BACKEND_BENCH_STACKS: unknown stack `{other}`"),
        };
        results.push(bench_stack(name, &rtts).await);
    }
    let text = report(&results);
    println!("{text}");
    if let Ok(path) = std::env::var("MOBILE_BACKEND_BENCH_OUT") {
        std::fs::write(&path, &text).expect("write the report");
    }
}

#[test]
fn the_critical_path_follows_dependencies_and_per_kind_costs() {
    let plan = serde_json::json!({ "resource_changes": [
        { "address": "table.t", "depends_on": [], "change": { "after": { "ttl_attribute": "x" } } },
        { "address": "bucket.b", "depends_on": [], "change": { "after": {} } },
        { "address": "role.r", "depends_on": ["table.t", "bucket.b"],
          "change": { "after": { "inline_policies": { "p": {} }, "managed_policies": [] } } },
        { "address": "api.a", "depends_on": [],
          "change": { "after": { "routes": { "GET /items/{id}": {} } } } },
    ]});
    let (calls, chain) = critical_path(&plan);
    assert_eq!(calls, 9, "{chain:?}");
    assert_eq!(chain, vec!["api.a (9)"]);
    let plan = serde_json::json!({ "resource_changes": [
        { "address": "table.t", "depends_on": [], "change": { "after": { "ttl_attribute": "x" } } },
        { "address": "role.r", "depends_on": ["table.t"],
          "change": { "after": { "inline_policies": { "p": {} } } } },
        { "address": "identity_pool.i.roles", "depends_on": ["role.r"], "change": { "after": {} } },
    ]});
    let (calls, chain) = critical_path(&plan);
    assert_eq!(calls, 6);
    assert_eq!(
        chain,
        vec!["table.t (3)", "role.r (2)", "identity_pool.i.roles (1)"]
    );
}

#[test]
fn the_pacing_floor_is_the_slowest_bucket() {
    let ops = |list: &[(&str, usize)]| -> BTreeMap<String, usize> {
        list.iter().map(|(o, n)| (o.to_string(), *n)).collect()
    };
    assert_eq!(pacing_floor(&ops(&[("DynamoDB:DescribeTable", 500)])), 0.0);
    // 30 API Gateway calls fit the burst of 40; 3 deployments: 10 s.
    let floor = pacing_floor(&ops(&[
        ("API Gateway:CreateDeployment", 3),
        ("API Gateway:PutMethod", 27),
    ]));
    assert!((floor - 10.0).abs() < 1e-9, "{floor}");
    // 60 calls: 20 after the burst, at 10 a second.
    let floor = pacing_floor(&ops(&[("API Gateway:PutMethod", 60)]));
    assert!((floor - 2.0).abs() < 1e-9, "{floor}");
    // Cognito, per category, 15 a second as written: 15 client reads at
    // once, the 16th a second later; 31 a second after that.
    let floor = pacing_floor(&ops(&[
        ("Cognito Identity Provider:DescribeUserPoolClient", 11),
        ("Cognito Identity Provider:ListUserPoolClients", 4),
        ("Cognito Identity Provider:ListGroups", 20),
    ]));
    assert_eq!(floor, 0.0);
    let floor = pacing_floor(&ops(&[
        ("Cognito Identity Provider:DescribeUserPoolClient", 12),
        ("Cognito Identity Provider:ListUserPoolClients", 4),
    ]));
    assert!((floor - 1.0).abs() < 1e-9, "{floor}");
    let floor = pacing_floor(&ops(&[("Cognito Identity Provider:ListGroups", 41)]));
    assert!((floor - 2.0).abs() < 1e-9, "{floor}");
}
