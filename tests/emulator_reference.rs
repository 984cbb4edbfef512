//! The whole reference architecture of `stacks/` (the DESIGN example: the
//! "Serverless Reference Architecture: Mobile Backend" as one stack: identity and user pools, table, bucket, search
//! domain, REST API, roles) goes up, converges and leaves nothing on
//! destroy: CloudSearch against the project's stand-in, and the same stack
//! with `engine = "opensearch"` on MiniStack alone.

mod support;

#[path = "support/cloudsearch.rs"]
mod cloudsearch;

use std::path::Path;

use cloudsearch::StandIn;
use support::World;

/// The Lambda functions the example names (a trigger and two integrations)
/// must exist, on AWS as on the emulator.
async fn create_functions(w: &World) {
    for name in ["autoConfirm", "NotesApiFunction", "SearchApiFunction"] {
        w.create_function(name).await;
    }
}

/// `stacks/reference-architecture.toml` (the DESIGN example with its own
/// stack name, a bucket name per stack, and the group given a stack role).
fn use_design_example(w: &World, engine: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(
        &root.join("stacks/reference-architecture.toml"),
        &root.join("policies"),
    );
    if engine != "cloudsearch" {
        let text = std::fs::read_to_string(&w.stack_file).expect("the stack file");
        let text = text.replace(
            "engine = \"cloudsearch\"",
            &format!("engine = \"{engine}\""),
        );
        std::fs::write(&w.stack_file, text).expect("write the stack file");
    }
}

/// Everything of the stack that is left in the account, by kind.
async fn leftovers(w: &World) -> Vec<String> {
    let mut left = Vec::new();
    left.extend(
        w.table_names()
            .await
            .into_iter()
            .map(|t| format!("table {t}")),
    );
    left.extend(
        w.bucket_names()
            .await
            .into_iter()
            .map(|b| format!("bucket {b}")),
    );
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
    left.extend(
        pools
            .user_pools()
            .iter()
            .map(|p| format!("user pool {}", p.name().unwrap_or_default())),
    );
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
    left.extend(pools.identity_pools().iter().map(|p| {
        format!(
            "identity pool {}",
            p.identity_pool_name().unwrap_or_default()
        )
    }));
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let roles = iam.list_roles().send().await.expect("ListRoles");
    left.extend(
        roles
            .roles()
            .iter()
            .filter(|r| r.role_name().starts_with(&format!("{}-", w.stack)))
            .map(|r| format!("role {}", r.role_name())),
    );
    let apigateway = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    );
    let apis = apigateway
        .get_rest_apis()
        .send()
        .await
        .expect("GetRestApis");
    left.extend(
        apis.items()
            .iter()
            .map(|a| format!("api {}", a.name().unwrap_or_default())),
    );
    let keys = apigateway.get_api_keys().send().await.expect("GetApiKeys");
    left.extend(
        keys.items()
            .iter()
            .map(|k| format!("api key {}", k.name().unwrap_or_default())),
    );
    let plans = apigateway
        .get_usage_plans()
        .send()
        .await
        .expect("GetUsagePlans");
    left.extend(
        plans
            .items()
            .iter()
            .map(|p| format!("usage plan {}", p.name().unwrap_or_default())),
    );
    left
}

#[tokio::test]
async fn the_reference_architecture_goes_up_converges_and_goes_away_with_cloudsearch() {
    let standin = StandIn::start();
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    let w = World::new("ref");
    use_design_example(&w, "cloudsearch");
    create_functions(&w).await;

    w.run_env(&["validate"], &env, None).code(0);
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(2);
    w.run_env(&["up", "--auto-approve"], &env, None).code(0);
    assert!(!leftovers(&w).await.is_empty());
    assert_eq!(
        standin.domain_names(&w.account),
        vec![format!("{}-notes", w.stack)]
    );
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);

    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
    assert!(standin.domain_names(&w.account).is_empty());
}

#[tokio::test]
async fn the_reference_architecture_with_opensearch_needs_only_the_emulator() {
    let w = World::new("refos");
    use_design_example(&w, "opensearch");
    create_functions(&w).await;

    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(leftovers(&w).await, Vec::<String>::new());
}
