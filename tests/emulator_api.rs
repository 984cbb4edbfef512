//! `[api.*]` end to end on the emulator: the DESIGN example's notes API goes
//! up, reads back through the SDK as declared, converges with no new
//! deployment, gets exactly one new deployment when a route is added (the
//! stage moved to it, the old one gone), and leaves nothing on destroy.

mod support;

use support::{mutating, read_call_log, summary, World, OWNER_ID_TAG, OWNER_STACK_TAG};

fn apigateway(w: &World) -> aws_sdk_apigateway::Client {
    aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    )
}

/// The DESIGN example's `[api.notes]`, plus `extra` routes.
fn notes_api(extra: &str) -> String {
    format!(
        r#"[api.notes]
stage = "prod"
routes."POST /notes" = {{ authorization = "aws_iam", api_key_required = true, integration = {{ lambda = "arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:NotesApiFunction" }} }}
routes."GET /search" = {{ authorization = "aws_iam", integration = {{ lambda = "arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:SearchApiFunction" }} }}
usage_plans.mobile = {{ keys = ["ios"], throttle = {{ rate = 100, burst = 200 }} }}
{extra}"#
    )
}

/// The REST APIs of the account named `name`, as (id, tags).
async fn apis_named(
    w: &World,
    name: &str,
) -> Vec<(String, std::collections::HashMap<String, String>)> {
    apigateway(w)
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetRestApis")
        .items()
        .iter()
        .filter(|a| a.name() == Some(name))
        .map(|a| {
            (
                a.id().unwrap_or_default().to_string(),
                a.tags().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

async fn deployment_ids(w: &World, api: &str) -> Vec<String> {
    let mut ids: Vec<String> = apigateway(w)
        .get_deployments()
        .rest_api_id(api)
        .send()
        .await
        .expect("apigateway:GetDeployments")
        .items()
        .iter()
        .filter_map(|d| d.id().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

async fn stage_deployment(w: &World, api: &str) -> String {
    apigateway(w)
        .get_stage()
        .rest_api_id(api)
        .stage_name("prod")
        .send()
        .await
        .expect("apigateway:GetStage prod")
        .deployment_id()
        .expect("the stage's deployment")
        .to_string()
}

#[tokio::test]
async fn notes_api_goes_up_converges_redeploys_once_and_is_destroyed() {
    let w = World::new("api");
    let notes_fn = w.create_function("NotesApiFunction").await;
    let search_fn = w.create_function("SearchApiFunction").await;
    w.write_stack(&notes_api(""));
    w.run(&["validate"]).code(0);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("api.notes");
    let up = w.run(&["up", "--auto-approve"]);
    up.code(0);
    let gw = apigateway(&w);

    // The API, found by name and tags.
    let name = w.name("notes");
    let apis = apis_named(&w, &name).await;
    assert_eq!(apis.len(), 1, "{apis:?}");
    let (id, tags) = &apis[0];
    assert_eq!(
        tags.get(OWNER_STACK_TAG).map(String::as_str),
        Some(w.stack.as_str())
    );
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("api.notes")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));

    // Resources and methods.
    let resources = gw
        .get_resources()
        .rest_api_id(id)
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetResources");
    let by_path = |p: &str| {
        resources
            .items()
            .iter()
            .find(|r| r.path() == Some(p))
            .and_then(|r| r.id())
            .unwrap_or_else(|| panic!("no resource {p}: {resources:?}"))
            .to_string()
    };
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort();
    assert_eq!(paths, vec!["/", "/notes", "/search"]);
    let post = gw
        .get_method()
        .rest_api_id(id)
        .resource_id(by_path("/notes"))
        .http_method("POST")
        .send()
        .await
        .expect("apigateway:GetMethod POST /notes");
    assert_eq!(post.authorization_type(), Some("AWS_IAM"));
    assert_eq!(post.api_key_required(), Some(true));
    let integration = post.method_integration().expect("an integration");
    assert_eq!(integration.r#type().map(|t| t.as_str()), Some("AWS_PROXY"));
    assert_eq!(integration.http_method(), Some("POST"));
    assert_eq!(
        integration.uri(),
        Some(
            format!(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{notes_fn}/invocations"
            )
            .as_str()
        )
    );
    let get = gw
        .get_method()
        .rest_api_id(id)
        .resource_id(by_path("/search"))
        .http_method("GET")
        .send()
        .await
        .expect("apigateway:GetMethod GET /search");
    assert_eq!(get.authorization_type(), Some("AWS_IAM"));
    assert_ne!(get.api_key_required(), Some(true));
    assert!(get
        .method_integration()
        .and_then(|i| i.uri())
        .is_some_and(|u| u.contains(&search_fn)));

    // Lambda may be invoked by the API.
    let policy = w
        .lambda()
        .get_policy()
        .function_name("NotesApiFunction")
        .send()
        .await
        .expect("lambda:GetPolicy");
    let policy = policy.policy().unwrap_or_default();
    assert!(policy.contains("apigateway.amazonaws.com"), "{policy}");
    assert!(policy.contains(&format!("{id}/*/POST/notes")), "{policy}");

    // Stage and its one deployment.
    let deployments = deployment_ids(&w, id).await;
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(stage_deployment(&w, id).await, deployments[0]);
    let description = gw
        .get_deployment()
        .rest_api_id(id)
        .deployment_id(&deployments[0])
        .send()
        .await
        .expect("apigateway:GetDeployment")
        .description()
        .unwrap_or_default()
        .to_string();
    assert!(description.starts_with("mobile-backend:"), "{description}");

    // Key and usage plan.
    let key_name = format!("{name}-ios");
    let keys = gw.get_api_keys().limit(500).send().await.expect("keys");
    let key = keys
        .items()
        .iter()
        .find(|k| k.name() == Some(key_name.as_str()))
        .unwrap_or_else(|| panic!("no key {key_name}: {keys:?}"));
    assert!(key.enabled());
    // The key's value is a secret: it appears in no output of the tool.
    // (MiniStack returns values even when they are not asked for.)
    if let Some(value) = key.value().filter(|v| !v.is_empty()) {
        let plan = w.run(&["plan", "--json"]);
        for text in [&up.stdout, &up.stderr, &plan.stdout, &plan.stderr] {
            assert!(!text.contains(value), "the key value leaked");
        }
    }
    let key_id = key.id().unwrap().to_string();
    let plans = gw.get_usage_plans().limit(500).send().await.expect("plans");
    let plan_name = format!("{name}-mobile");
    let plan = plans
        .items()
        .iter()
        .find(|p| p.name() == Some(plan_name.as_str()))
        .unwrap_or_else(|| panic!("no usage plan {plan_name}: {plans:?}"));
    let throttle = plan.throttle().expect("throttle");
    assert_eq!(throttle.rate_limit(), 100.0);
    assert_eq!(throttle.burst_limit(), 200);
    assert!(plan
        .api_stages()
        .iter()
        .any(|s| s.api_id() == Some(id.as_str()) && s.stage() == Some("prod")));
    let plan_keys = gw
        .get_usage_plan_keys()
        .usage_plan_id(plan.id().unwrap())
        .send()
        .await
        .expect("apigateway:GetUsagePlanKeys");
    assert_eq!(
        plan_keys
            .items()
            .iter()
            .filter_map(|k| k.id())
            .collect::<Vec<_>>(),
        vec![key_id.as_str()]
    );

    // Converged: no changes, reads only, no new deployment.
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log).code(0);
    let calls = read_call_log(&log);
    eprintln!(
        "converged plan of the notes API: {} AWS calls: {}",
        calls.len(),
        summary(&calls)
    );
    assert!(mutating(&calls).is_empty(), "plan mutated: {calls:?}");
    // Ten API Gateway reads (the API listing twice: for the API and for
    // leftovers; `GetModels` once, no `GetRequestValidators`: no method
    // names a validator) plus the fixed discovery overhead of every plan
    // (which includes one CloudFront `ListDistributions` for leftovers).
    assert!(calls.len() <= 16, "{}", summary(&calls));
    let log = w.path("up-again-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    assert!(
        mutating(&read_call_log(&log)).is_empty(),
        "{:?}",
        read_call_log(&log)
    );
    assert_eq!(deployment_ids(&w, id).await, deployments);

    // A new route: one new deployment, the stage on it, the old one gone.
    w.write_stack(&notes_api(
        r#"routes."GET /notes/{id}" = { authorization = "aws_iam", integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:NotesApiFunction" } }"#,
    ));
    let plan = w.run(&["plan", "--detailed-exitcode"]);
    plan.code(2).stdout_has("deployment");
    w.run(&["up", "--auto-approve"]).code(0);
    let after = deployment_ids(&w, id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, deployments, "a new deployment");
    assert_eq!(stage_deployment(&w, id).await, after[0]);
    let resources = gw
        .get_resources()
        .rest_api_id(id)
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetResources");
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort();
    assert_eq!(paths, vec!["/", "/notes", "/notes/{id}", "/search"]);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Drift made outside the tool shows in the plan and `up` undoes it.
    // (Not `/apiKeyRequired`: MiniStack 1.5.33 stores that patch as a string.)
    let notes_id = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/notes"))
        .and_then(|r| r.id())
        .unwrap()
        .to_string();
    gw.update_method()
        .rest_api_id(id)
        .resource_id(&notes_id)
        .http_method("POST")
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/authorizationType")
                .value("NONE")
                .build(),
        )
        .send()
        .await
        .expect("apigateway:UpdateMethod");
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("authorization");
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // A route removed: its method and the resources only it needed go.
    w.write_stack(&notes_api(""));
    w.run(&["up", "--auto-approve"]).code(0);
    let resources = gw
        .get_resources()
        .rest_api_id(id)
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetResources");
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort();
    assert_eq!(paths, vec!["/", "/notes", "/search"]);
    assert_eq!(deployment_ids(&w, id).await.len(), 1);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Destroy: no API, key or usage plan left.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(apis_named(&w, &name).await.is_empty());
    let keys = gw.get_api_keys().limit(500).send().await.expect("keys");
    assert!(
        keys.items()
            .iter()
            .all(|k| k.name() != Some(key_name.as_str())),
        "{keys:?}"
    );
    let plans = gw.get_usage_plans().limit(500).send().await.expect("plans");
    assert!(
        plans
            .items()
            .iter()
            .all(|p| p.name() != Some(plan_name.as_str())),
        "{plans:?}"
    );
    w.run(&["plan", "--detailed-exitcode"]).code(2);
}

#[tokio::test]
async fn a_missing_function_is_an_error_naming_the_route() {
    let w = World::new("apimiss");
    w.write_stack(
        r#"[api.notes]
stage = "prod"
routes."POST /notes" = { authorization = "aws_iam", integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:NoSuchFunction" } }
"#,
    );
    let up = w.run(&["up", "--auto-approve"]);
    assert_ne!(up.code, 0, "{}", up.dump());
    let all = format!("{}{}", up.stdout, up.stderr);
    assert!(all.contains("POST /notes"), "{}", up.dump());
    assert!(all.contains("NoSuchFunction"), "{}", up.dump());
    // With the function there, `up` again finishes the job, permission included.
    w.create_function("NoSuchFunction").await;
    w.run(&["up", "--auto-approve"]).code(0);
    let policy = w
        .lambda()
        .get_policy()
        .function_name("NoSuchFunction")
        .send()
        .await
        .expect("lambda:GetPolicy");
    assert!(policy
        .policy()
        .unwrap_or_default()
        .contains("apigateway.amazonaws.com"));
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    // Whatever was made is ours and goes with destroy.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(apis_named(&w, &w.name("notes")).await.is_empty());
}

#[tokio::test]
async fn every_integration_kind_cors_cognito_and_stage_settings_converge() {
    let w = World::new("apikinds");
    w.create_function("NotesApiFunction").await;
    w.write_stack(
        r#"[user_pool.users]
username_attributes = ["email"]

[api.kinds]
description = "every kind of route"
stage = "v1"
stage_variables = { env = "test" }
stage_throttle = { rate = 50, burst = 20 }
routes."GET /notes" = { authorization = "cognito", user_pool = "users", cors = true, integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:NotesApiFunction" } }
routes."GET /health" = { integration = { mock = { status = 200, response = "{\"ok\": true}" } } }
routes."ANY /proxy/{proxy+}" = { request_parameters = { "method.request.path.proxy" = true }, integration = { http = "https://example.com/{proxy}" } }
usage_plans.partners = { keys = ["partner"], quota = { limit = 1000, period = "day" } }
keys.partner = { description = "a partner", enabled = false }
"#,
    );
    w.run(&["up", "--auto-approve"]).code(0);
    let gw = apigateway(&w);
    let apis = apis_named(&w, &w.name("kinds")).await;
    assert_eq!(apis.len(), 1);
    let id = &apis[0].0;
    let stage = gw
        .get_stage()
        .rest_api_id(id)
        .stage_name("v1")
        .send()
        .await
        .expect("apigateway:GetStage");
    assert_eq!(
        stage
            .variables()
            .and_then(|v| v.get("env"))
            .map(String::as_str),
        Some("test")
    );
    let resources = gw
        .get_resources()
        .rest_api_id(id)
        .limit(500)
        .send()
        .await
        .expect("apigateway:GetResources");
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec!["/", "/health", "/notes", "/proxy", "/proxy/{proxy+}"]
    );
    let notes = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/notes"))
        .and_then(|r| r.id())
        .unwrap()
        .to_string();
    let get = gw
        .get_method()
        .rest_api_id(id)
        .resource_id(&notes)
        .http_method("GET")
        .send()
        .await
        .expect("GET /notes");
    assert_eq!(get.authorization_type(), Some("COGNITO_USER_POOLS"));
    assert!(get.authorizer_id().is_some());
    gw.get_method()
        .rest_api_id(id)
        .resource_id(&notes)
        .http_method("OPTIONS")
        .send()
        .await
        .expect("the CORS preflight OPTIONS /notes");
    let key_name = format!("{}-partner", w.name("kinds"));
    let keys = gw.get_api_keys().limit(500).send().await.expect("keys");
    let key = keys
        .items()
        .iter()
        .find(|k| k.name() == Some(key_name.as_str()))
        .expect("the partner key");
    assert!(!key.enabled());
    assert_eq!(key.description(), Some("a partner"));

    // Converged.
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Stage settings change in place, without a deployment.
    let before = deployment_ids(&w, id).await;
    w.write_stack(
        &std::fs::read_to_string(&w.stack_file)
            .unwrap()
            .split_once("\n\n")
            .map(|(_, body)| body.replace("env = \"test\"", "env = \"prod\""))
            .unwrap(),
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("stage_variables");
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(deployment_ids(&w, id).await, before);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // The API removed from the file: found by its tags and deleted.
    w.write_stack("[user_pool.users]\nusername_attributes = [\"email\"]\n");
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("api.kinds");
    w.run(&["up", "--auto-approve"]).code(0);
    assert!(apis_named(&w, &w.name("kinds")).await.is_empty());
    let keys = gw.get_api_keys().limit(500).send().await.expect("keys");
    assert!(keys
        .items()
        .iter()
        .all(|k| k.name() != Some(key_name.as_str())));
    w.run(&["destroy", "--auto-approve"]).code(0);
}

/// The statement ids of a function's policy that let API Gateway invoke it.
async fn api_gateway_statements(w: &World, function: &str) -> Vec<String> {
    let policy = w.function_policy(function).await;
    let mut ids: Vec<String> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Principal"]["Service"] == "apigateway.amazonaws.com")
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn invoke_permissions_go_with_the_routes_and_the_api_that_needed_them() {
    // A function's policy is capped at 20 KB: statements left by deleted
    // routes and APIs would fill it after enough `destroy`/`up` cycles.
    let w = World::new("permits");
    w.create_function("NotesFn").await;
    w.create_function("SearchFn").await;
    let stack = |notes_fn: &str, search: bool| {
        let search_route = if search {
            r#"routes."GET /search" = { integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:SearchFn" } }"#
        } else {
            ""
        };
        format!(
            r#"[api.notes]
stage = "prod"
routes."POST /notes" = {{ integration = {{ lambda = "arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:{notes_fn}" }} }}
{search_route}
"#
        )
    };
    w.write_stack(&stack("NotesFn", true));
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(api_gateway_statements(&w, "NotesFn").await.len(), 1);
    assert_eq!(api_gateway_statements(&w, "SearchFn").await.len(), 1);

    // The search route is deleted: its statement goes with it.
    w.write_stack(&stack("NotesFn", false));
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(api_gateway_statements(&w, "NotesFn").await.len(), 1);
    assert_eq!(
        api_gateway_statements(&w, "SearchFn").await,
        Vec::<String>::new()
    );

    // The notes route calls another function: the old one no longer lets it.
    w.write_stack(&stack("SearchFn", false));
    w.run(&["up", "--auto-approve"]).code(0);
    assert_eq!(
        api_gateway_statements(&w, "NotesFn").await,
        Vec::<String>::new()
    );
    assert_eq!(api_gateway_statements(&w, "SearchFn").await.len(), 1);
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Destroyed: nothing of the API is left in any policy.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(
        api_gateway_statements(&w, "SearchFn").await,
        Vec::<String>::new()
    );
    assert_eq!(
        api_gateway_statements(&w, "NotesFn").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_mock_route_without_a_response_and_a_cors_route_converge_and_go() {
    // API Gateway stores the empty template such routes once sent as `null`
    // (aws/aws-cli#1610); the tool sends none, and reads `null` as empty.
    let w = World::new("nullmock");
    w.write_stack(
        r#"[api.notes]
stage = "prod"
routes."GET /health" = { integration = { mock = { status = 200 } } }
routes."GET /notes" = { cors = true, integration = { http = "https://example.com/notes" } }
"#,
    );
    w.run(&["up", "--auto-approve"]).code(0);
    let name = w.name("notes");
    let apis = apis_named(&w, &name).await;
    assert_eq!(apis.len(), 1, "one API named {name}");
    let id = apis[0].0.clone();
    let resources = apigateway(&w)
        .get_resources()
        .rest_api_id(&id)
        .embed("methods")
        .send()
        .await
        .expect("apigateway:GetResources");
    let methods: Vec<String> = resources
        .items()
        .iter()
        .flat_map(|r| {
            let path = r.path().unwrap_or_default().to_string();
            r.resource_methods()
                .into_iter()
                .flatten()
                .map(move |(verb, _)| format!("{verb} {path}"))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(methods, ["GET /health", "GET /notes", "OPTIONS /notes"]);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(apis_named(&w, &name).await.is_empty(), "the API is gone");
}

/// The notes API with the repository's two models: `POST /notes` validates
/// its body against `CreateNoteRequest` and names `CreateNoteResponse` for
/// its 200 answer (a mock that answers a note id).
const MODELS_API: &str = r#"[api.notes]
stage = "prod"
models.CreateNoteRequest = "api/create-note-request.json"
models.CreateNoteResponse = "api/create-note-response.json"
routes."POST /notes" = { request_model = "CreateNoteRequest", validate = "body", responses."200" = "CreateNoteResponse", integration = { mock = { status = 200, response = "{\"noteId\": \"n1\"}" } } }
routes."GET /notes/{id}" = { responses."200" = "CreateNoteResponse", integration = { http = "https://example.com/notes/{id}" } }
"#;

/// How often the calls of `calls` end in `:<operation>`.
fn count(calls: &[String], operation: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.rsplit(':').next() == Some(operation))
        .count()
}

/// A model file of the test's stack, parsed.
fn model_file(w: &World, name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(w.path("api").join(name)).expect("a model file");
    serde_json::from_str(&text).expect("JSON")
}

/// The models of [`MODELS_API`] as the files say, `POST /notes` naming the
/// request model, a `body` validator and the response model, and the proxy
/// route naming its response model.
async fn assert_models_made(w: &World, id: &str) {
    let gw = apigateway(w);
    // The models, the method's request model and validator, its response model.
    let models = gw
        .get_models()
        .rest_api_id(id)
        .send()
        .await
        .expect("apigateway:GetModels");
    let schema = |name: &str| -> serde_json::Value {
        let m = models
            .items()
            .iter()
            .find(|m| m.name() == Some(name))
            .unwrap_or_else(|| panic!("no model {name}: {models:?}"));
        assert_eq!(m.content_type(), Some("application/json"));
        serde_json::from_str(m.schema().unwrap_or_default()).expect("a JSON schema")
    };
    assert_eq!(
        schema("CreateNoteRequest"),
        model_file(w, "create-note-request.json")
    );
    assert_eq!(
        schema("CreateNoteResponse"),
        model_file(w, "create-note-response.json")
    );
    let resources = gw
        .get_resources()
        .rest_api_id(id)
        .embed("methods")
        .send()
        .await
        .expect("apigateway:GetResources");
    let post = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/notes"))
        .and_then(|r| r.resource_methods())
        .and_then(|m| m.get("POST"))
        .expect("POST /notes")
        .clone();
    assert_eq!(
        post.request_models()
            .and_then(|m| m.get("application/json"))
            .map(String::as_str),
        Some("CreateNoteRequest")
    );
    let validators = gw
        .get_request_validators()
        .rest_api_id(id)
        .send()
        .await
        .expect("apigateway:GetRequestValidators");
    assert_eq!(validators.items().len(), 1, "{validators:?}");
    let v = &validators.items()[0];
    assert_eq!(post.request_validator_id(), v.id());
    assert_eq!(v.name(), Some("body"));
    assert!(v.validate_request_body() && !v.validate_request_parameters());
    assert_eq!(
        post.method_responses()
            .and_then(|r| r.get("200"))
            .and_then(|r| r.response_models())
            .and_then(|m| m.get("application/json"))
            .map(String::as_str),
        Some("CreateNoteResponse")
    );

    let get = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/notes/{id}"))
        .and_then(|r| r.resource_methods())
        .and_then(|m| m.get("GET"))
        .expect("GET /notes/{id}");
    assert_eq!(
        get.method_responses()
            .and_then(|r| r.get("200"))
            .and_then(|r| r.response_models())
            .and_then(|m| m.get("application/json"))
            .map(String::as_str),
        Some("CreateNoteResponse"),
        "a proxy route's response model"
    );
}

#[tokio::test]
async fn models_and_a_validated_body_go_up_are_enforced_updated_and_removed() {
    let w = World::new("models");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(w.path("api")).expect("a folder");
    for file in ["create-note-request.json", "create-note-response.json"] {
        std::fs::copy(root.join("api").join(file), w.path("api").join(file))
            .expect("the repository's model files");
    }
    w.write_stack(MODELS_API);
    w.run(&["validate"]).code(0);
    w.run(&["up", "--auto-approve"]).code(0);
    let gw = apigateway(&w);
    let apis = apis_named(&w, &w.name("notes")).await;
    let id = apis[0].0.clone();

    assert_models_made(&w, &id).await;

    // The deployed stage enforces the model: a bad body gets 400, a good one
    // reaches the integration.
    let post_notes = |body: &str| {
        support::http(
            &w.account,
            &format!("POST /_aws/execute-api/{id}/prod/notes"),
            &[("Content-Type", "application/json")],
            body,
        )
    };
    let (status, body) = post_notes(r#"{"headline": "", "text": "t"}"#);
    assert_eq!(status, 400, "an empty headline: {body}");
    assert!(body.contains("Invalid request body"), "{body}");
    let (status, body) = post_notes(r#"{"text": "no headline"}"#);
    assert_eq!(status, 400, "no headline: {body}");
    let good = r#"{"headline": "Lunch", "text": "Soup", "s3_url": "s3://b/k.jpg"}"#;
    let (status, body) = post_notes(good);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("n1"), "{body}");

    // Converged: nothing to do, and the plan reads the models and the
    // validators once each.
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log).code(0);
    let calls = read_call_log(&log);
    eprintln!(
        "converged plan of the models API: {} AWS calls: {}",
        calls.len(),
        summary(&calls)
    );
    assert_eq!(count(&calls, "GetModels"), 1, "{}", summary(&calls));
    assert_eq!(
        count(&calls, "GetRequestValidators"),
        1,
        "{}",
        summary(&calls)
    );
    assert!(mutating(&calls).is_empty(), "{calls:?}");
    let deployments = deployment_ids(&w, &id).await;

    // An edited model file: one model update and one redeploy, nothing else.
    let mut edited = model_file(&w, "create-note-request.json");
    edited["properties"]["headline"]["maxLength"] = serde_json::json!(10);
    std::fs::write(
        w.path("api/create-note-request.json"),
        serde_json::to_string_pretty(&edited).unwrap(),
    )
    .unwrap();
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("models")
        .stdout_has("deployment");
    let log = w.path("up-edit-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let calls = read_call_log(&log);
    let changes = mutating(&calls);
    assert_eq!(count(&changes, "UpdateModel"), 1, "{changes:?}");
    assert_eq!(count(&changes, "CreateDeployment"), 1, "{changes:?}");
    assert_eq!(count(&changes, "PutMethod"), 0, "{changes:?}");
    let after = deployment_ids(&w, &id).await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, deployments, "a new deployment");
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    let (status, body) = post_notes(r#"{"headline": "A headline too long", "text": "t"}"#);
    assert_eq!(status, 400, "the edited model applies: {body}");

    // The route no longer validates, and the request model is gone from
    // the file: the model and the validator are deleted.
    w.write_stack(
        &MODELS_API
            .replace(
                "models.CreateNoteRequest = \"api/create-note-request.json\"\n",
                "",
            )
            .replace(
                "request_model = \"CreateNoteRequest\", validate = \"body\", ",
                "",
            ),
    );
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    let names: Vec<String> = gw
        .get_models()
        .rest_api_id(&id)
        .send()
        .await
        .expect("apigateway:GetModels")
        .items()
        .iter()
        .filter_map(|m| m.name().map(str::to_string))
        .collect();
    assert!(!names.iter().any(|n| n == "CreateNoteRequest"), "{names:?}");
    assert!(names.iter().any(|n| n == "CreateNoteResponse"), "{names:?}");
    let validators = gw
        .get_request_validators()
        .rest_api_id(&id)
        .send()
        .await
        .expect("apigateway:GetRequestValidators");
    assert!(validators.items().is_empty(), "{validators:?}");
    let (status, body) = post_notes(r#"{"text": "no headline"}"#);
    assert_eq!(status, 200, "nothing validates the body any more: {body}");

    // Destroy leaves nothing.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(apis_named(&w, &w.name("notes")).await.is_empty());
}
