//! Interrupted runs converge. The whole reference architecture (every kind
//! MiniStack emulates: user pool with client and group, identity pool with
//! its roles, table, bucket, OpenSearch domain, REST API with key and usage
//! plan, IAM roles) goes up through the fault-injection proxy, which holds
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

use std::path::Path;
use std::time::Duration;

use support::proxy::Proxy;
use support::{World, OWNER_ID_TAG, OWNER_STACK_TAG};

const SHARDS: usize = 4;

/// The Lambda functions the stack names must exist first.
async fn create_functions(w: &World) {
    for name in ["autoConfirm", "NotesApiFunction", "SearchApiFunction"] {
        w.create_function(name).await;
    }
}

fn world(prefix: &str) -> World {
    let w = World::new(prefix);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(
        &root.join("stacks/reference-architecture.toml"),
        &root.join("policies"),
    );
    let text = std::fs::read_to_string(&w.stack_file).expect("the stack file");
    let text = text.replace("engine = \"cloudsearch\"", "engine = \"opensearch\"");
    std::fs::write(&w.stack_file, text).expect("write the stack file");
    w
}

/// One resource found in the account, with its ownership tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Found {
    kind: &'static str,
    name: String,
    /// `mobile-backend:stack` and `mobile-backend:id`, when tagged.
    stack_tag: Option<String>,
    id_tag: Option<String>,
}

fn tags_of<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<String>, Option<String>) {
    let mut stack = None;
    let mut id = None;
    for (k, v) in pairs {
        if k == OWNER_STACK_TAG {
            stack = Some(v.to_string());
        }
        if k == OWNER_ID_TAG {
            id = Some(v.to_string());
        }
    }
    (stack, id)
}

/// Everything in the account of the kinds the stack uses (the test's own
/// Lambda functions and their role aside), with the ownership tags.
async fn inventory(w: &World) -> Vec<Found> {
    let mut found = Vec::new();
    let mut push = |kind, name: String, (stack_tag, id_tag): (Option<String>, Option<String>)| {
        found.push(Found {
            kind,
            name,
            stack_tag,
            id_tag,
        })
    };
    for t in w.table_names().await {
        let tags = w.table_tags(&t).await;
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("table", t, pairs);
    }
    for b in w.bucket_names().await {
        let tags = w.bucket_tags(&b).await;
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("bucket", b, pairs);
    }
    let idp = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    for p in pools.user_pools() {
        let id = p.id().unwrap_or_default();
        let pool = idp
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .expect("DescribeUserPool");
        let tags = pool
            .user_pool()
            .and_then(|u| u.user_pool_tags())
            .cloned()
            .unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("user pool", p.name().unwrap_or_default().to_string(), pairs);
        let clients = idp
            .list_user_pool_clients()
            .user_pool_id(id)
            .max_results(60)
            .send()
            .await
            .expect("ListUserPoolClients");
        for c in clients.user_pool_clients() {
            // Clients have no tags: they belong to their pool.
            push(
                "app client",
                c.client_name().unwrap_or_default().to_string(),
                (None, None),
            );
        }
    }
    let identity = aws_sdk_cognitoidentity::Client::from_conf(
        aws_sdk_cognitoidentity::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let pools = identity
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    for p in pools.identity_pools() {
        let pool = identity
            .describe_identity_pool()
            .identity_pool_id(p.identity_pool_id().unwrap_or_default())
            .send()
            .await
            .expect("DescribeIdentityPool");
        let tags = pool.identity_pool_tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push(
            "identity pool",
            p.identity_pool_name().unwrap_or_default().to_string(),
            pairs,
        );
    }
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let roles = iam.list_roles().send().await.expect("ListRoles");
    for r in roles.roles() {
        if r.role_name() == "lambda-basic" {
            continue; // the test's functions' role
        }
        let tags = iam
            .list_role_tags()
            .role_name(r.role_name())
            .send()
            .await
            .expect("ListRoleTags");
        let pairs = tags_of(tags.tags().iter().map(|t| (t.key(), t.value())));
        push("role", r.role_name().to_string(), pairs);
    }
    let apigateway = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let apis = apigateway
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .expect("GetRestApis");
    for a in apis.items() {
        let tags = a.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("rest api", a.name().unwrap_or_default().to_string(), pairs);
    }
    let keys = apigateway
        .get_api_keys()
        .limit(500)
        .send()
        .await
        .expect("GetApiKeys");
    for k in keys.items() {
        let tags = k.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push("api key", k.name().unwrap_or_default().to_string(), pairs);
    }
    let plans = apigateway
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("GetUsagePlans");
    for p in plans.items() {
        let tags = p.tags().cloned().unwrap_or_default();
        let pairs = tags_of(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        push(
            "usage plan",
            p.name().unwrap_or_default().to_string(),
            pairs,
        );
    }
    let opensearch = aws_sdk_opensearch::Client::from_conf(
        aws_sdk_opensearch::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let domains = opensearch
        .list_domain_names()
        .send()
        .await
        .expect("ListDomainNames");
    for d in domains.domain_names() {
        let name = d.domain_name().unwrap_or_default().to_string();
        let status = opensearch
            .describe_domain()
            .domain_name(&name)
            .send()
            .await
            .expect("DescribeDomain");
        let arn = status
            .domain_status()
            .map(|s| s.arn().to_string())
            .unwrap_or_default();
        let tags = opensearch
            .list_tags()
            .arn(arn)
            .send()
            .await
            .expect("ListTags");
        let pairs = tags_of(tags.tag_list().iter().map(|t| (t.key(), t.value())));
        push("search domain", name, pairs);
    }
    found.sort();
    found
}

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
        ("role", 2),
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
    for f in found.iter().filter(|f| f.kind != "app client") {
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
    let mut w = world(&format!("kill{index}"));
    create_functions(&w).await;
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
