//! The cross-check on a second, independent emulator: moto 5.2.6
//! (`scripts/emulator.sh moto start`; `scripts/test.sh` sets
//! `MOBILE_BACKEND_TEST_MOTO_ENDPOINT`). Every kind moto can hold (tables,
//! buckets, IAM roles with inline policy files, user pools with app clients
//! and groups, REST APIs with mock routes, API keys and usage plans) goes
//! through the real binary: `up`, a `plan` with no changes, drift made with
//! the SDK that the next `plan` shows and `up` repairs, `destroy`, and nothing
//! of the stack left in the service listings.
//!
//! moto keeps one account (123456789012) whatever the access key, so these
//! tests share it and keep apart by their stack names (`World::on_moto`).
//!
//! Where moto deviates from AWS, the test says so next to its workaround.
//! Found with moto 5.2.6, and why the tests are shaped as they are:
//! - moto has no Cognito identity pool role calls (`SetIdentityPoolRoles`,
//!   see TESTING.md): identity pools are not cross-checked here.
//! - moto has no `apigateway:UpdateMethod`: it answers HTTP 500 (its log:
//!   `NotImplementedError: The update_method action has not been
//!   implemented`), where AWS documents `PATCH
//!   /restapis/{id}/resources/{rid}/methods/{verb}`. Route drift is made with
//!   `PutIntegrationResponse` instead (the tool itself never patches methods:
//!   it deletes and puts them again).
//! - moto has no `cognito-idp:TagResource` / `UntagResource` /
//!   `ListTagsForResource` (HTTP 500, `NotImplementedError`), which AWS has:
//!   user pool drift is not made on the tags.
//! - moto's `UpdateUserPool` replaces the pool's whole configuration with its
//!   defaults plus the request (`CognitoIdpUserPool.update_extended_config`
//!   in moto/cognitoidp/models.py), `UsernameAttributes` included. AWS's
//!   `UpdateUserPool` has no such parameter and keeps them (they cannot be
//!   changed after `CreateUserPool`, as its API reference says). So after any
//!   `UpdateUserPool` moto's pool has lost its username attributes, and the
//!   next plan must replace it; the pool here signs in by user name (no
//!   `username_attributes`) so that its settings can drift and be repaired.
//!   MiniStack's tests cover `username_attributes`.
//! - moto's `PutRestApi` (MiniStack has none) takes a subset of the OpenAPI
//!   document: it makes every method with no authorization, API key or
//!   request parameters, turns `x-amazon-apigateway-any-method` into a
//!   method of that name instead of `ANY` (which the tool, owning the API,
//!   deletes as undeclared), and breaks half-way with an HTTP 500 on a mock integration (its
//!   `put_integration` wants a `uri`). So it is where the tool's one-call
//!   route writing runs for real, followed by the calls that correct what
//!   the import made otherwise (`routes_are_imported_in_one_call_...`).

mod support;

use support::{actions_of, read_call_log, World, OWNER_STACK_TAG};

/// The role's inline policy: references to the table, the bucket and the
/// API (the role depends on all three), and IAM policy variables.
const NOTES_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
      "Resource": ["${table.notes.arn}", "${table.notes.arn}/index/*"],
      "Condition": {
        "ForAllValues:StringEquals": {
          "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]
        }
      }
    },
    {
      "Effect": "Allow",
      "Action": ["s3:PutObject", "s3:GetObject"],
      "Resource": "${bucket.uploads.arn}/private/${cognito-identity.amazonaws.com:sub}/*"
    },
    {
      "Effect": "Allow",
      "Action": "execute-api:Invoke",
      "Resource": "${api.notes.execute_arn}/*"
    }
  ]
}
"#;

/// DESIGN §3's table, bucket and API (its Lambda integrations made mocks:
/// moto's Lambda is not what is checked here), one mock route without a
/// `response`, one with `cors = true`, and a role with an inline policy file.
const DATA_STACK: &str = r#"[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
billing = "pay_per_request"
stream = "new_image"

[bucket.uploads]
name = "${stack.name}-uploads-${aws.account_id}"
versioning = true
cors = [{ allowed_methods = ["PUT", "GET"], allowed_origins = ["*"] }]

[api.notes]
stage = "prod"
routes."POST /notes" = { authorization = "aws_iam", api_key_required = true, integration = { mock = { status = 201, response = "{\"created\": true}" } } }
routes."GET /notes" = { cors = true, integration = { mock = { status = 200, response = "[]" } } }
routes."GET /health" = { integration = { mock = { status = 200, response = "{\"ok\": true}" } } }
routes."POST /ping" = { integration = { mock = { status = 204 } } }
usage_plans.mobile = { keys = ["ios"], throttle = { rate = 100, burst = 200 } }

[role.mobile_client]
trust = { service = "lambda.amazonaws.com" }
policies = ["notes-access.json"]
"#;

/// Everything in moto's (shared) account that belongs to `w`'s stack: named
/// `<stack>-...` or carrying its ownership tag, as `kind name` lines, sorted.
/// Listed through each service's own calls, not through the tool.
async fn of_the_stack(w: &World) -> Vec<String> {
    let prefix = format!("{}-", w.stack);
    let ours = |name: &str, tags: Option<&std::collections::HashMap<String, String>>| {
        name.starts_with(&prefix)
            || tags
                .and_then(|t| t.get(OWNER_STACK_TAG))
                .is_some_and(|s| s == &w.stack)
    };
    let mut found = Vec::new();
    for name in w.table_names().await {
        if ours(&name, None) {
            found.push(format!("table {name}"));
        }
    }
    for name in w.bucket_names().await {
        if ours(&name, None) {
            found.push(format!("bucket {name}"));
        }
    }
    let roles = w.iam().list_roles().send().await.expect("iam:ListRoles");
    for r in roles.roles() {
        if ours(r.role_name(), None) {
            found.push(format!("role {}", r.role_name()));
        }
    }
    let idp = w.idp();
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("cognito-idp:ListUserPools");
    for p in pools.user_pools() {
        let name = p.name().unwrap_or_default();
        if ours(name, None) {
            found.push(format!("user pool {name}"));
            let clients = idp
                .list_user_pool_clients()
                .user_pool_id(p.id().unwrap_or_default())
                .max_results(60)
                .send()
                .await
                .expect("cognito-idp:ListUserPoolClients");
            for c in clients.user_pool_clients() {
                found.push(format!(
                    "app client {}",
                    c.client_name().unwrap_or_default()
                ));
            }
            let groups = idp
                .list_groups()
                .user_pool_id(p.id().unwrap_or_default())
                .send()
                .await
                .expect("cognito-idp:ListGroups");
            for g in groups.groups() {
                found.push(format!("group {}", g.group_name().unwrap_or_default()));
            }
        }
    }
    let gw = w.apigateway();
    let apis = gw
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetRestApis");
    for a in apis.items() {
        let name = a.name().unwrap_or_default();
        if ours(name, a.tags()) {
            found.push(format!("rest api {name}"));
        }
    }
    let keys = gw
        .get_api_keys()
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetApiKeys");
    for k in keys.items() {
        let name = k.name().unwrap_or_default();
        if ours(name, k.tags()) {
            found.push(format!("api key {name}"));
        }
    }
    let plans = gw
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetUsagePlans");
    for p in plans.items() {
        let name = p.name().unwrap_or_default();
        if ours(name, p.tags()) {
            found.push(format!("usage plan {name}"));
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn table_bucket_role_and_api_go_up_drift_back_and_are_destroyed_on_moto() {
    let w = World::on_moto("motodata").await;
    std::fs::write(w.path("notes-access.json"), NOTES_ACCESS).expect("write the policy");
    w.write_stack(DATA_STACK);
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    let s = &w.stack;
    let bucket = format!("{s}-uploads-{}", w.account);
    let mut want = vec![
        format!("table {s}-notes"),
        format!("bucket {bucket}"),
        format!("role {s}-mobile_client"),
        format!("rest api {s}-notes"),
        format!("api key {s}-notes-ios"),
        format!("usage plan {s}-notes-mobile"),
    ];
    want.sort();
    assert_eq!(of_the_stack(&w).await, want);

    // The routes as declared: the mock without a response, the CORS preflight.
    let gw = w.apigateway();
    let (api, resources) = api_and_resources(&w, "notes").await;
    let resource = |path: &str| {
        resources
            .items()
            .iter()
            .find(|r| r.path() == Some(path))
            .and_then(|r| r.id())
            .unwrap_or_else(|| panic!("no resource {path}: {resources:?}"))
            .to_string()
    };
    let ping = gw
        .get_integration()
        .rest_api_id(&api)
        .resource_id(resource("/ping"))
        .http_method("POST")
        .send()
        .await
        .expect("apigateway:GetIntegration POST /ping");
    assert_eq!(ping.r#type().map(|t| t.as_str()), Some("MOCK"));
    let preflight = gw
        .get_method()
        .rest_api_id(&api)
        .resource_id(resource("/notes"))
        .http_method("OPTIONS")
        .send()
        .await
        .expect("the CORS preflight OPTIONS /notes");
    assert_eq!(preflight.authorization_type(), Some("NONE"));

    // Drift, one per kind, made by hand.
    w.dynamodb
        .update_table()
        .table_name(w.name("notes"))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(
            aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(5)
                .write_capacity_units(5)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("dynamodb:UpdateTable");
    w.s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("s3:PutBucketVersioning");
    w.iam()
        .put_role_policy()
        .role_name(w.name("mobile_client"))
        .policy_name("notes-access")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:Scan","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("iam:PutRolePolicy");
    // Not `UpdateMethod`: moto 5.2.6 does not implement it (see the top).
    gw.put_integration_response()
        .rest_api_id(&api)
        .resource_id(resource("/health"))
        .http_method("GET")
        .status_code("200")
        .response_templates("application/json", r#"{"ok": false}"#)
        .send()
        .await
        .expect("apigateway:PutIntegrationResponse");
    let keys = gw.get_api_keys().limit(500).send().await.expect("keys");
    let key = id_named(keys.items(), &format!("{s}-notes-ios"), |k| {
        (k.name(), k.id())
    });
    gw.update_api_key()
        .api_key(&key)
        .patch_operations(replace("/enabled", "false"))
        .send()
        .await
        .expect("apigateway:UpdateApiKey");
    let plans = gw.get_usage_plans().limit(500).send().await.expect("plans");
    let usage_plan = id_named(plans.items(), &format!("{s}-notes-mobile"), |p| {
        (p.name(), p.id())
    });
    gw.update_usage_plan()
        .usage_plan_id(&usage_plan)
        .patch_operations(replace("/throttle/rateLimit", "50"))
        .send()
        .await
        .expect("apigateway:UpdateUsagePlan");

    let plan = w.run(&["plan", "--detailed-exitcode"]);
    plan.code(2)
        .stdout_has("billing")
        .stdout_has("versioning")
        .stdout_has("inline_policies.notes-access")
        .stdout_has("routes.GET /health.integration.response")
        .stdout_has("keys.ios.enabled")
        .stdout_has("usage_plans.mobile.throttle.rate");
    let json = w.run(&["plan", "--json"]).json();
    for address in [
        "table.notes",
        "bucket.uploads",
        "role.mobile_client",
        "api.notes",
    ] {
        assert_eq!(actions_of(&json, address), vec!["update"], "{address}");
    }
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    assert_eq!(of_the_stack(&w).await, want, "repaired, nothing duplicated");

    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(of_the_stack(&w).await, Vec::<String>::new());
    w.run(&["plan", "--detailed-exitcode"]).code(2);
}

/// DESIGN §3's user pool, without `username_attributes` (see the top: moto's
/// `UpdateUserPool` forgets them), its client and group, and the group's role.
const USER_POOL_STACK: &str = r#"[user_pool.users]
auto_verified_attributes = ["email"]
mfa = "off"
password_policy = { min_length = 8, require_numbers = true }
attributes.email = { required = true }
attributes."custom:department" = { type = "string" }
clients.ios = { generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }
groups.admins = { precedence = 0, role = "admins", description = "Administrators" }

[role.admins]
trust = { file = "admins-trust.json" }
policies = ["admins.json"]
"#;

const ADMINS_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "Federated": "cognito-identity.amazonaws.com" },
      "Action": "sts:AssumeRoleWithWebIdentity"
    }
  ]
}
"#;

const ADMINS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": ["cognito-idp:ListUsers", "cognito-idp:AdminGetUser"], "Resource": "${user_pool.users.arn}" }
  ]
}
"#;

#[tokio::test]
async fn user_pool_client_and_group_go_up_drift_back_and_are_destroyed_on_moto() {
    let w = World::on_moto("motopool").await;
    std::fs::write(w.path("admins-trust.json"), ADMINS_TRUST).expect("write the trust");
    std::fs::write(w.path("admins.json"), ADMINS).expect("write the policy");
    w.write_stack(USER_POOL_STACK);
    w.run(&["up", "--auto-approve"]).code(0);
    // moto stores its `DEFAULT_USER_POOL_CONFIG` verification template
    // ("Your verification code is {####}. ") for a pool created without
    // messages and reads it back (moto/cognitoidp/models.py), as AWS fills
    // its defaults: messages the stack leaves unset are AWS's to fill
    // (`user_pool::DEFAULTED`), so this plan is empty.
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    let s = &w.stack;
    let mut want = vec![
        format!("user pool {s}-users"),
        "app client ios".to_string(),
        "group admins".to_string(),
        format!("role {s}-admins"),
    ];
    want.sort();
    assert_eq!(of_the_stack(&w).await, want);

    // Drift, one per kind, made by hand as AWS wants it: `UpdateUserPool`
    // resets what it is not sent, so the whole configuration goes back with
    // one setting changed.
    let idp = w.idp();
    let pools = idp
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
        .expect("the user pool")
        .to_string();
    let pool = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("cognito-idp:DescribeUserPool")
        .user_pool
        .expect("a user pool");
    let mut policies = pool.policies().cloned().expect("the pool's policies");
    let mut password = policies.password_policy.clone().expect("a password policy");
    password.minimum_length = Some(12);
    policies.password_policy = Some(password);
    idp.update_user_pool()
        .user_pool_id(&pool_id)
        .policies(policies)
        .set_deletion_protection(pool.deletion_protection().cloned())
        .set_lambda_config(pool.lambda_config().cloned())
        .set_auto_verified_attributes(Some(pool.auto_verified_attributes().to_vec()))
        .set_verification_message_template(pool.verification_message_template().cloned())
        .set_email_verification_message(pool.email_verification_message().map(str::to_string))
        .set_email_verification_subject(pool.email_verification_subject().map(str::to_string))
        .set_sms_verification_message(pool.sms_verification_message().map(str::to_string))
        .set_mfa_configuration(pool.mfa_configuration().cloned())
        .set_email_configuration(pool.email_configuration().cloned())
        .set_admin_create_user_config(pool.admin_create_user_config().cloned())
        .set_user_pool_tags(pool.user_pool_tags().cloned())
        .send()
        .await
        .expect("cognito-idp:UpdateUserPool");
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .max_results(60)
        .send()
        .await
        .expect("cognito-idp:ListUserPoolClients");
    let client = clients
        .user_pool_clients()
        .first()
        .and_then(|c| c.client_id())
        .expect("the ios client")
        .to_string();
    idp.update_user_pool_client()
        .user_pool_id(&pool_id)
        .client_id(&client)
        .client_name("ios")
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        )
        .send()
        .await
        .expect("cognito-idp:UpdateUserPoolClient");
    idp.update_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .description("changed by hand")
        .send()
        .await
        .expect("cognito-idp:UpdateGroup");

    let plan = w.run(&["plan", "--detailed-exitcode"]);
    plan.code(2)
        .stdout_has("password_policy.min_length")
        .stdout_has("auth_flows")
        .stdout_has("changed by hand");
    let json = w.run(&["plan", "--json"]).json();
    for address in [
        "user_pool.users",
        "user_pool.users.clients.ios",
        "user_pool.users.groups.admins",
    ] {
        assert_eq!(actions_of(&json, address), vec!["update"], "{address}");
    }
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    assert_eq!(of_the_stack(&w).await, want, "repaired, nothing duplicated");

    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(of_the_stack(&w).await, Vec::<String>::new());
    w.run(&["plan", "--detailed-exitcode"]).code(2);
}

/// A patch operation that replaces `path` with `value`.
fn replace(path: &str, value: &str) -> aws_sdk_apigateway::types::PatchOperation {
    aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::Replace)
        .path(path)
        .value(value)
        .build()
}

/// The id of the item named `name`, by its (name, id).
fn id_named<T>(
    items: &[T],
    name: &str,
    name_and_id: impl Fn(&T) -> (Option<&str>, Option<&str>),
) -> String {
    items
        .iter()
        .map(name_and_id)
        .find(|(n, _)| *n == Some(name))
        .and_then(|(_, id)| id)
        .unwrap_or_else(|| panic!("no item named {name}"))
        .to_string()
}

/// An API of HTTP proxy routes (no mocks: moto's import breaks on those),
/// one of them with IAM and an API key, which moto's import leaves out.
const IMPORTED_API: &str = r#"[api.web]
stage = "v1"
routes."GET /items" = { authorization = "aws_iam", api_key_required = true, integration = { http = "https://example.com/items" } }
routes."GET /items/{id}" = { request_parameters = { "method.request.path.id" = true }, integration = { http = "https://example.com/items/{id}" } }
routes."ANY /{proxy+}" = { integration = { http = "https://example.com/{proxy}" } }
"#;

/// The id of the stack's REST API `key` and its resources (methods
/// embedded), read through the SDK.
async fn api_and_resources(
    w: &World,
    key: &str,
) -> (
    String,
    aws_sdk_apigateway::operation::get_resources::GetResourcesOutput,
) {
    let gw = w.apigateway();
    let apis = gw.get_rest_apis().limit(500).send().await.expect("apis");
    let api = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(w.name(key).as_str()))
        .and_then(|a| a.id())
        .expect("the API")
        .to_string();
    let resources = gw
        .get_resources()
        .rest_api_id(&api)
        .limit(500)
        .embed("methods")
        .send()
        .await
        .expect("apigateway:GetResources");
    (api, resources)
}

/// The calls of `operation` in a call log.
fn calls_of(log: &[String], operation: &str) -> usize {
    log.iter().filter(|c| c.ends_with(operation)).count()
}

#[tokio::test]
async fn routes_are_imported_in_one_call_and_what_the_import_missed_is_corrected() {
    let w = World::on_moto("motoimport").await;
    w.write_stack(IMPORTED_API);
    let log = w.path("up.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let calls = read_call_log(&log);
    assert_eq!(calls_of(&calls, ":PutRestApi"), 1, "{calls:#?}");
    // moto's import made every resource (the paths, their parent and the
    // greedy `{proxy+}`): none is made one by one.
    assert_eq!(calls_of(&calls, ":CreateResource"), 0, "{calls:#?}");
    // What its subset leaves out (security, parameters, `ANY`) is made
    // again by the calls that follow, against the API read after it.
    assert_eq!(
        calls_of(&calls, "API Gateway:GetResources"),
        1,
        "{calls:#?}"
    );
    // That read is of the routes only: a merge import leaves the stages,
    // the account's keys and usage plans alone (a new API: no stage read).
    assert_eq!(calls_of(&calls, ":GetStages"), 0, "{calls:#?}");
    assert_eq!(calls_of(&calls, ":GetApiKeys"), 1, "{calls:#?}");
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    let gw = w.apigateway();
    let (api, resources) = api_and_resources(&w, "web").await;
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/", "/items", "/items/{id}", "/{proxy+}"],
        "one resource per path"
    );
    let items = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/items"))
        .expect("/items");
    let get = gw
        .get_method()
        .rest_api_id(&api)
        .resource_id(items.id().expect("an id"))
        .http_method("GET")
        .send()
        .await
        .expect("apigateway:GetMethod");
    assert_eq!(get.authorization_type(), Some("AWS_IAM"));
    assert_eq!(get.api_key_required(), Some(true));

    // A changed route: one import again, and the plan is empty after.
    w.write_stack(
        &IMPORTED_API.replace("https://example.com/items\"", "https://example.org/items\""),
    );
    let log = w.path("change.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let calls = read_call_log(&log);
    assert_eq!(calls_of(&calls, ":PutRestApi"), 1, "{calls:#?}");
    // The plan's read and the update's own, then the routes only after the
    // import: no third read of the stages or the account's keys.
    assert_eq!(calls_of(&calls, ":GetStages"), 2, "{calls:#?}");
    assert_eq!(calls_of(&calls, ":GetApiKeys"), 2, "{calls:#?}");
    assert_eq!(
        calls_of(&calls, "API Gateway:GetResources"),
        3,
        "{calls:#?}"
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(of_the_stack(&w).await, Vec::<String>::new());
}
