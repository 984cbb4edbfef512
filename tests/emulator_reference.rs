//! The whole reference architecture of `stacks/` (the DESIGN example: the
//! "Serverless Reference Architecture: Mobile Backend" as one stack:
//! identity and user pools, table, bucket, search domain, REST API, roles,
//! and the functions built from `functions/`) goes up, is used as the app
//! uses it, converges and leaves nothing on destroy: CloudSearch against the
//! project's stand-in (`cloudsearch-standin`, used here in process), and the
//! same stack with `engine = "opensearch"` on MiniStack alone.

mod support;

#[path = "../src/bin/cloudsearch-standin/standin.rs"]
mod cloudsearch;

use cloudsearch::StandIn;
use serde_json::{json, Value};
use support::inventory::inventory;
use support::{unsigned_call, World};

/// With CloudSearch (the project's stand-in, which serves the configuration
/// API and each domain's document and search endpoints): a note posted by a
/// guest goes through the table's stream to `index-notes`, into the domain,
/// and `GET /search` finds it; the next plan is empty; destroy leaves
/// nothing, here or in the stand-in.
#[tokio::test]
async fn a_posted_note_is_indexed_by_the_stream_function_and_found_by_search() {
    let standin = StandIn::start();
    let env = [("AWS_ENDPOINT_URL_CLOUDSEARCH", standin.url.as_str())];
    let w = World::new("ref");
    w.use_reference_architecture("cloudsearch").await;

    w.run_env(&["validate"], &env, None).code(0);
    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(2);
    w.run_env(&["up", "--auto-approve"], &env, None).code(0);
    let domain = format!("{}-notes", w.stack);
    assert_eq!(standin.domain_names(&w.account), vec![domain.clone()]);

    let g = guest(&w).await;
    let note = json!({ "headline": "Harbour at dawn", "text": "fishing boats leave before the sun", "s3_url": "s3://uploads/private/x/harbour.jpg" });
    let (status, body) = signed_curl(
        &g.credentials,
        "POST",
        &g.url(&w, "/notes"),
        &[("x-api-key", &g.api_key)],
        Some(&note.to_string()),
    );
    assert_eq!(status, 200, "POST /notes: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let note_id = answer["noteId"].as_str().expect("a noteId").to_string();

    // The stream function indexes it within seconds.
    let started = std::time::Instant::now();
    while !standin.document_ids(&w.account, &domain).contains(&note_id) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "note {note_id} not indexed after 30 s; the domain holds {:?}",
            standin.document_ids(&w.account, &domain)
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    eprintln!(
        "indexed {:.1} s after the POST",
        started.elapsed().as_secs_f64()
    );

    // GET /search finds it by a word of its text, and not by another word.
    let (status, body) = signed_curl(
        &g.credentials,
        "GET",
        &g.url(&w, "/search?q=boats"),
        &[],
        None,
    );
    assert_eq!(status, 200, "GET /search: {body}");
    let found: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(
        found,
        json!({ "hits": [{
            "noteId": note_id,
            "headline": "Harbour at dawn",
            "text": "fishing boats leave before the sun",
            "s3_url": "s3://uploads/private/x/harbour.jpg",
            "userId": g.identity_id,
        }] })
    );
    let (status, body) = signed_curl(
        &g.credentials,
        "GET",
        &g.url(&w, "/search?q=mountains"),
        &[],
        None,
    );
    assert_eq!(status, 200, "GET /search: {body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).ok(),
        Some(json!({ "hits": [] }))
    );

    w.run_env(&["plan", "--detailed-exitcode"], &env, None)
        .code(0);
    w.run_env(&["destroy", "--auto-approve"], &env, None)
        .code(0);
    assert_eq!(inventory(&w).await, Vec::new());
    assert!(standin.domain_names(&w.account).is_empty());
}

#[tokio::test]
async fn the_reference_architecture_with_opensearch_needs_only_the_emulator() {
    let w = World::new("refos");
    w.use_reference_architecture("opensearch").await;

    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(inventory(&w).await, Vec::new());
}

/// A request to the emulator's port with curl, signed with SigV4 for
/// `execute-api` as a mobile SDK signs it, with the given headers. Returns
/// the status and the body.
fn signed_curl(
    credentials: &[String; 3],
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-sS",
        "-X",
        method,
        "--aws-sigv4",
        "aws:amz:us-east-1:execute-api",
    ]);
    let [access_key, secret_key, session_token] = credentials;
    cmd.arg("--user").arg(format!("{access_key}:{secret_key}"));
    cmd.arg("-H")
        .arg(format!("x-amz-security-token: {session_token}"));
    for (name, value) in headers {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(body) = body {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ]);
    }
    cmd.args(["-w", "\n%{http_code}", url]);
    let out = cmd.output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// The app's own path through the reference architecture, with the stack's
/// functions built from `functions/`: a guest of the identity pool signs a
/// `POST /notes` with its temporary credentials and the API key; the
/// `notes-api` handler stores the note under the guest's identity id; a
/// `SignUp` comes back confirmed by `auto-confirm`; the `index-notes`
/// function is mapped to the notes table's stream; the next plan is empty
/// and destroy leaves nothing.
/// What the app knows after `up`: the API's id and key, and a guest's
/// identity id and temporary credentials.
struct Guest {
    api_id: String,
    api_key: String,
    identity_id: String,
    credentials: [String; 3],
}

impl Guest {
    /// The API's URL for `path` (with its query).
    fn url(&self, w: &World, path: &str) -> String {
        format!(
            "{}/_aws/execute-api/{}/prod{path}",
            w.endpoint.trim_end_matches('/'),
            self.api_id
        )
    }
}

/// Signs in as a guest of the stack's identity pool, as the app does.
async fn guest(w: &World) -> Guest {
    // The API, its key, and a guest's credentials.
    let apigateway = w.apigateway();
    let api_id = apigateway
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
    let keys = apigateway
        .get_api_keys()
        .include_values(true)
        .send()
        .await
        .expect("apigateway:GetApiKeys");
    let api_key = keys.items()[0]
        .value()
        .expect("the key's value")
        .to_string();
    let (pool_id, _) = w
        .identity_pools()
        .await
        .into_iter()
        .next()
        .expect("the identity pool");
    // GetId and GetCredentialsForIdentity are unsigned, as in the app.
    let id = unsigned_call(
        &w.account,
        "AWSCognitoIdentityService.GetId",
        &json!({ "IdentityPoolId": pool_id }),
    );
    let identity_id = id["IdentityId"]
        .as_str()
        .expect("an identity id")
        .to_string();
    let answer = unsigned_call(
        &w.account,
        "AWSCognitoIdentityService.GetCredentialsForIdentity",
        &json!({ "IdentityId": identity_id }),
    );
    let credentials = &answer["Credentials"];
    let credentials = [
        credentials["AccessKeyId"]
            .as_str()
            .expect("an access key")
            .to_string(),
        credentials["SecretKey"]
            .as_str()
            .expect("a secret key")
            .to_string(),
        credentials["SessionToken"]
            .as_str()
            .expect("a session token")
            .to_string(),
    ];
    Guest {
        api_id,
        api_key,
        identity_id,
        credentials,
    }
}

#[tokio::test]
async fn the_app_posts_a_note_through_the_signed_api_and_signs_up_confirmed() {
    let w = World::new("refapp");
    w.use_reference_architecture("opensearch").await;
    w.run(&["up", "--auto-approve"]).code(0);
    let Guest {
        api_id,
        api_key,
        identity_id,
        credentials,
    } = guest(&w).await;

    // POST /notes, signed, with the key: stored under the guest's identity.
    let url = format!(
        "{}/_aws/execute-api/{api_id}/prod/notes",
        w.endpoint.trim_end_matches('/')
    );
    let note = json!({ "headline": "Harbour", "text": "boats at dawn", "s3_url": "s3://uploads/private/x/harbour.jpg" });
    let (status, body) = signed_curl(
        &credentials,
        "POST",
        &url,
        &[("x-api-key", &api_key)],
        Some(&note.to_string()),
    );
    assert_eq!(status, 200, "POST /notes: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let note_id = answer["noteId"].as_str().expect("a noteId").to_string();
    let item = w
        .dynamodb
        .get_item()
        .table_name(w.name("notes"))
        .key(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S(identity_id.clone()),
        )
        .key(
            "noteId",
            aws_sdk_dynamodb::types::AttributeValue::S(note_id.clone()),
        )
        .send()
        .await
        .expect("dynamodb:GetItem")
        .item()
        .cloned()
        .unwrap_or_else(|| panic!("no note {note_id} of {identity_id} in the table"));
    assert_eq!(
        item["headline"].as_s().ok().map(String::as_str),
        Some("Harbour")
    );
    assert_eq!(
        item["text"].as_s().ok().map(String::as_str),
        Some("boats at dawn")
    );

    // Without the key the API refuses; a body that is not a note is a 400.
    let (status, _) = signed_curl(&credentials, "POST", &url, &[], Some(&note.to_string()));
    assert_eq!(status, 403, "POST /notes without the API key");
    let (status, body) = signed_curl(
        &credentials,
        "POST",
        &url,
        &[("x-api-key", &api_key)],
        Some("{\"headline\": 1}"),
    );
    assert_eq!(status, 400, "{body}");

    // A sign-up comes back confirmed by auto-confirm.
    let idp = w.idp();
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    let user_pool = pools.user_pools()[0].id().expect("a pool id").to_string();
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&user_pool)
        .send()
        .await
        .expect("ListUserPoolClients");
    let client_id = clients.user_pool_clients()[0]
        .client_id()
        .expect("a client")
        .to_string();
    let signed_up = unsigned_call(
        &w.account,
        "AWSCognitoIdentityProviderService.SignUp",
        &json!({
            "ClientId": client_id,
            "Username": "someone@example.com",
            "Password": "Correct-Horse-9",
            "UserAttributes": [{ "Name": "email", "Value": "someone@example.com" }],
        }),
    );
    assert_eq!(signed_up["UserConfirmed"], json!(true), "{signed_up}");

    // The indexer is mapped to the notes table's stream.
    let stream = w
        .must_table(&w.name("notes"))
        .await
        .latest_stream_arn()
        .expect("the notes table's stream")
        .to_string();
    let mappings = w
        .lambda()
        .list_event_source_mappings()
        .function_name(w.name("index_notes"))
        .send()
        .await
        .expect("lambda:ListEventSourceMappings");
    let sources: Vec<_> = mappings
        .event_source_mappings()
        .iter()
        .map(|m| m.event_source_arn().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sources, vec![stream]);

    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(inventory(&w).await, Vec::new());
}
