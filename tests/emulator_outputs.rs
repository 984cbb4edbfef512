//! `outputs` against the emulator: the reference architecture of `stacks/`
//! (OpenSearch engine, so MiniStack alone serves it; plus a server-side app
//! client with a secret) goes up, and every format carries the ids AWS
//! reports through the SDK; secrets (the API key's value, the client secret)
//! appear only with `--include-secrets`, and only then is `GetApiKey` called;
//! `--write` writes the file. The Swift starter (no user pool) and a stack
//! not applied yet, or only in part, are covered too.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{read_call_log, Run, World};

const FORMATS: &[&str] = &["json", "env", "swift", "awsconfiguration", "amplify"];

/// The reference architecture with OpenSearch and a second app client that
/// has a secret.
async fn use_reference(w: &World) {
    w.use_reference_architecture("opensearch").await;
    let text = std::fs::read_to_string(&w.stack_file).expect("the stack file");
    let ios = "clients.ios = {";
    assert!(text.contains(ios), "the example has an ios client");
    let text = text.replace(
        ios,
        "clients.server = { generate_secret = true, auth_flows = [\"ALLOW_USER_PASSWORD_AUTH\", \"ALLOW_REFRESH_TOKEN_AUTH\"] }\nclients.ios = {",
    );
    std::fs::write(&w.stack_file, text).expect("write the stack file");
}

/// What AWS reports about the stack, read through the SDK (never the tool).
#[derive(Debug)]
struct Truth {
    identity_pool_id: String,
    user_pool_id: String,
    ios_client_id: String,
    server_client_id: String,
    client_secret: String,
    api_id: String,
    invoke_url: String,
    key_id: String,
    key_value: String,
    bucket: String,
    table: String,
    mobile_client_role_arn: String,
}

async fn truth(w: &World) -> Truth {
    let idp = w.idp();
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    let user_pool_id = pools
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(w.name("users").as_str()))
        .and_then(|p| p.id())
        .unwrap_or_else(|| panic!("no user pool {}: {pools:?}", w.name("users")))
        .to_string();
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&user_pool_id)
        .max_results(60)
        .send()
        .await
        .expect("ListUserPoolClients");
    let client_id = |name: &str| {
        clients
            .user_pool_clients()
            .iter()
            .find(|c| c.client_name() == Some(name))
            .and_then(|c| c.client_id())
            .unwrap_or_else(|| panic!("no client {name}: {clients:?}"))
            .to_string()
    };
    let (ios_client_id, server_client_id) = (client_id("ios"), client_id("server"));
    let server = idp
        .describe_user_pool_client()
        .user_pool_id(&user_pool_id)
        .client_id(&server_client_id)
        .send()
        .await
        .expect("DescribeUserPoolClient");
    let client_secret = server
        .user_pool_client()
        .and_then(|c| c.client_secret())
        .filter(|s| !s.is_empty())
        .expect("the server client has a secret")
        .to_string();

    let identity_pool_name = format!("{}_app", w.stack.replace('-', "_"));
    let pools = w
        .identity()
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    let identity_pool_id = pools
        .identity_pools()
        .iter()
        .find(|p| p.identity_pool_name() == Some(identity_pool_name.as_str()))
        .and_then(|p| p.identity_pool_id())
        .unwrap_or_else(|| panic!("no identity pool {identity_pool_name}: {pools:?}"))
        .to_string();
    let described = w
        .identity()
        .describe_identity_pool()
        .identity_pool_id(&identity_pool_id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    assert_eq!(described.identity_pool_name(), identity_pool_name);

    let gw = w.apigateway();
    let apis = gw.get_rest_apis().send().await.expect("GetRestApis");
    let api_id = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(w.name("notes").as_str()))
        .and_then(|a| a.id())
        .unwrap_or_else(|| panic!("no REST API {}: {apis:?}", w.name("notes")))
        .to_string();
    let keys = gw
        .get_api_keys()
        .limit(500)
        .send()
        .await
        .expect("GetApiKeys");
    let key_name = format!("{}-ios", w.name("notes"));
    let key_id = keys
        .items()
        .iter()
        .find(|k| k.name() == Some(key_name.as_str()))
        .and_then(|k| k.id())
        .unwrap_or_else(|| panic!("no API key {key_name}: {keys:?}"))
        .to_string();
    let key_value = gw
        .get_api_key()
        .api_key(&key_id)
        .include_value(true)
        .send()
        .await
        .expect("GetApiKey")
        .value()
        .filter(|v| !v.is_empty())
        .expect("the key's value")
        .to_string();
    let role = w
        .iam()
        .get_role()
        .role_name(w.name("mobile_client"))
        .send()
        .await
        .expect("GetRole");
    let mobile_client_role_arn = role.role().expect("a role").arn().to_string();
    Truth {
        identity_pool_id,
        user_pool_id,
        ios_client_id,
        server_client_id,
        client_secret,
        invoke_url: format!(
            "https://{api_id}.execute-api.{}.amazonaws.com/prod",
            support::REGION
        ),
        api_id,
        key_id,
        key_value,
        bucket: format!("{}-uploads-{}", w.stack, w.account),
        table: w.name("notes"),
        mobile_client_role_arn,
    }
}

#[track_caller]
fn json_of(run: &Run) -> Value {
    run.code(0);
    run.json()
}

/// `KEY=value` lines, each checked to be one.
#[track_caller]
fn env_of(run: &Run) -> BTreeMap<String, String> {
    run.code(0);
    run.stdout
        .lines()
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {line:?}\n{}", run.dump()));
            assert!(
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "not a variable name: {key:?}"
            );
            (key.to_string(), value.to_string())
        })
        .collect()
}

fn braces_balance(text: &str) -> bool {
    let mut depth = 0i64;
    for c in text.chars() {
        depth += match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        };
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[tokio::test]
async fn every_format_carries_the_ids_aws_reports_and_secrets_only_when_asked() {
    let w = World::new("outs");
    use_reference(&w).await;

    // Nothing applied yet: nothing to show.
    w.run(&["outputs"])
        .code(1)
        .stderr_has("run `mobile-backend up` first");

    w.run(&["up", "--auto-approve"]).code(0);
    let t = truth(&w).await;
    let secrets = [t.key_value.as_str(), t.client_secret.as_str()];

    // Without --include-secrets: no secret in any format, and no call that
    // returns a key's value.
    let log = w.path("calls.log");
    let mut runs = BTreeMap::new();
    for format in FORMATS {
        let run = w.run_logged(&["outputs", "--format", format], &log);
        run.code(0);
        for secret in secrets {
            assert!(!run.stdout.contains(secret), "{format}: a secret leaked");
            assert!(!run.stderr.contains(secret), "{format}: a secret leaked");
        }
        runs.insert(*format, run);
    }
    let calls = read_call_log(&log);
    assert!(
        !calls.iter().any(|c| c.ends_with(":GetApiKey")),
        "GetApiKey without --include-secrets: {calls:?}"
    );
    // The default format is json.
    let default = w.run(&["outputs"]);
    assert_eq!(default.stdout, runs["json"].stdout);

    // json
    let doc = json_of(&runs["json"]);
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["stack"], w.stack.as_str());
    assert_eq!(doc["account_id"], w.account.as_str());
    assert_eq!(doc["region"], support::REGION);
    assert_eq!(doc["secrets_included"], false);
    let r = &doc["resources"];
    assert_eq!(r["identity_pool.app"]["id"], t.identity_pool_id.as_str());
    assert_eq!(r["user_pool.users"]["id"], t.user_pool_id.as_str());
    assert!(r["user_pool.users"].get("custom_attributes").is_none());
    assert_eq!(
        r["user_pool.users.clients.ios"]["id"],
        t.ios_client_id.as_str()
    );
    assert_eq!(
        r["user_pool.users.clients.server"]["id"],
        t.server_client_id.as_str()
    );
    assert!(r["user_pool.users.clients.server"]
        .get("client_secret")
        .is_none());
    assert_eq!(r["api.notes"]["id"], t.api_id.as_str());
    assert_eq!(r["api.notes"]["invoke_url"], t.invoke_url.as_str());
    assert_eq!(r["api.notes"]["key.ios.id"], t.key_id.as_str());
    assert_eq!(r["bucket.uploads"]["name"], t.bucket.as_str());
    assert_eq!(r["table.notes"]["name"], t.table.as_str());
    assert_eq!(
        r["role.mobile_client"]["arn"],
        t.mobile_client_role_arn.as_str()
    );
    assert!(r.get("identity_pool.app.roles").is_none());

    // env
    let env = env_of(&runs["env"]);
    for (key, want) in [
        ("AWS_REGION", support::REGION),
        ("IDENTITY_POOL_APP_ID", &t.identity_pool_id),
        ("USER_POOL_USERS_ID", &t.user_pool_id),
        ("USER_POOL_USERS_CLIENTS_IOS_ID", &t.ios_client_id),
        ("API_NOTES_INVOKE_URL", &t.invoke_url),
        ("API_NOTES_KEY_IOS_ID", &t.key_id),
        ("BUCKET_UPLOADS_NAME", &t.bucket),
        ("TABLE_NOTES_NAME", &t.table),
        ("ROLE_MOBILE_CLIENT_ARN", &t.mobile_client_role_arn),
    ] {
        assert_eq!(env.get(key).map(String::as_str), Some(want), "{key}");
    }
    assert!(!env.contains_key("API_NOTES_KEY_IOS_VALUE"));

    // swift
    let swift = &runs["swift"];
    swift.code(0);
    for line in [
        format!("let CognitoIdentityPoolId = \"{}\"", t.identity_pool_id),
        format!("let CognitoUserPoolId = \"{}\"", t.user_pool_id),
        format!("let CognitoUserPoolAppClientId = \"{}\"", t.ios_client_id),
        format!(
            "let CognitoAuthenticatedRoleArn = \"{}\"",
            t.mobile_client_role_arn
        ),
        format!("let S3BucketName = \"{}\"", t.bucket),
        format!("let DynamoDBTableName = \"{}\"", t.table),
        format!("let APIEndpointUrl = \"{}\"", t.invoke_url),
        format!("static let id = \"{}\"", t.server_client_id),
        format!("static let invokeUrl = \"{}\"", t.invoke_url),
        "enum MobileBackend {".to_string(),
    ] {
        swift.stdout_has(&line);
    }
    assert!(!swift.stdout.contains("let APIGatewayKey ="));
    assert!(braces_balance(&swift.stdout), "{}", swift.stdout);

    // awsconfiguration
    let c = json_of(&runs["awsconfiguration"]);
    let identity = &c["CredentialsProvider"]["CognitoIdentity"]["Default"];
    assert_eq!(identity["PoolId"], t.identity_pool_id.as_str());
    assert_eq!(identity["Region"], support::REGION);
    // The identity pool's provider is the Default user pool and client.
    let pool = &c["CognitoUserPool"]["Default"];
    assert_eq!(pool["PoolId"], t.user_pool_id.as_str());
    assert_eq!(pool["AppClientId"], t.ios_client_id.as_str());
    assert_eq!(
        c["CognitoUserPool"]["users.server"]["AppClientId"],
        t.server_client_id.as_str()
    );
    assert!(c["CognitoUserPool"]["users.server"]
        .get("AppClientSecret")
        .is_none());
    assert_eq!(
        c["S3TransferUtility"]["Default"]["Bucket"],
        t.bucket.as_str()
    );
    assert_eq!(
        c["DynamoDBObjectMapper"]["Default"]["Region"],
        support::REGION
    );

    // amplify
    let a = json_of(&runs["amplify"]);
    assert_eq!(a["version"], "1.4");
    assert_eq!(a["auth"]["aws_region"], support::REGION);
    assert_eq!(a["auth"]["user_pool_id"], t.user_pool_id.as_str());
    assert_eq!(a["auth"]["user_pool_client_id"], t.ios_client_id.as_str());
    assert_eq!(a["auth"]["identity_pool_id"], t.identity_pool_id.as_str());
    assert_eq!(
        a["auth"]["username_attributes"],
        serde_json::json!(["email"])
    );
    assert_eq!(a["auth"]["password_policy"]["min_length"], 8);
    assert_eq!(a["auth"]["mfa_configuration"], "NONE");
    assert_eq!(a["auth"]["unauthenticated_identities_enabled"], true);
    assert_eq!(a["storage"]["bucket_name"], t.bucket.as_str());
    assert_eq!(a["storage"]["buckets"][0]["name"], "uploads");
    let api = &a["custom"]["API"][w.name("notes").as_str()];
    assert_eq!(api["endpoint"], t.invoke_url.as_str());
    assert_eq!(api["region"], support::REGION);

    // With --include-secrets: the secrets, and the calls that read them.
    let secret_log = w.path("secret-calls.log");
    let with = json_of(&w.run_logged(&["outputs", "--include-secrets"], &secret_log));
    assert_eq!(with["secrets_included"], true);
    assert_eq!(
        with["resources"]["api.notes"]["key.ios.value"],
        t.key_value.as_str()
    );
    assert_eq!(
        with["resources"]["user_pool.users.clients.server"]["client_secret"],
        t.client_secret.as_str()
    );
    assert!(with["resources"]["user_pool.users.clients.ios"]
        .get("client_secret")
        .is_none());
    let calls = read_call_log(&secret_log);
    assert!(calls.iter().any(|c| c.ends_with(":GetApiKey")), "{calls:?}");
    let env = env_of(&w.run(&["outputs", "--format", "env", "--include-secrets"]));
    assert_eq!(env["API_NOTES_KEY_IOS_VALUE"], t.key_value);
    assert_eq!(
        env["USER_POOL_USERS_CLIENTS_SERVER_CLIENT_SECRET"],
        t.client_secret
    );
    let swift = w.run(&["outputs", "--format", "swift", "--include-secrets"]);
    swift
        .code(0)
        .stdout_has(&format!("let APIGatewayKey = \"{}\"", t.key_value));
    assert!(braces_balance(&swift.stdout));
    let c = json_of(&w.run(&[
        "outputs",
        "--format",
        "awsconfiguration",
        "--include-secrets",
    ]));
    assert_eq!(
        c["CognitoUserPool"]["users.server"]["AppClientSecret"],
        t.client_secret.as_str()
    );
    // The plan, as ever, shows none.
    let plan = w.run(&["plan", "--json"]);
    for secret in secrets {
        assert!(!plan.stdout.contains(secret) && !plan.stderr.contains(secret));
    }

    // --write: the file, nothing on standard output, one line on stderr.
    let written = w.run(&[
        "outputs",
        "--format",
        "amplify",
        "--write",
        "amplify_outputs.json",
    ]);
    written
        .code(0)
        .stderr_has("wrote the amplify_outputs.json of stack");
    assert_eq!(written.stdout, "");
    let file = std::fs::read_to_string(w.path("amplify_outputs.json")).expect("the file");
    assert_eq!(file, runs["amplify"].stdout);
    let secret_file = w.path("awsconfiguration.json");
    w.run(&[
        "outputs",
        "--format",
        "awsconfiguration",
        "--include-secrets",
        "--write",
        &secret_file.to_string_lossy(),
    ])
    .code(0)
    .stderr_has("it holds secrets");
    let text = std::fs::read_to_string(&secret_file).expect("the file");
    assert!(text.contains(&t.client_secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    w.run(&["outputs", "--write", "no-such-dir/outputs.json"])
        .code(1)
        .stderr_has("cannot write the outputs to no-such-dir/outputs.json");

    w.run(&["destroy", "--auto-approve"]).code(0);
    w.run(&["outputs"])
        .code(1)
        .stderr_has("run `mobile-backend up` first");
}

#[tokio::test]
async fn the_swift_starter_has_outputs_without_a_user_pool_and_lists_what_is_missing() {
    let w = World::new("outss");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(
        &root.join("stacks/swift-starter.toml"),
        &root.join("policies"),
    );
    w.run(&["up", "--auto-approve"]).code(0);

    // A resource added to the file but not applied yet is reported missing.
    let text = std::fs::read_to_string(&w.stack_file).expect("the stack file");
    std::fs::write(
        &w.stack_file,
        format!("{text}\n[table.later]\nhash_key = {{ name = \"id\", type = \"S\" }}\n"),
    )
    .expect("write the stack file");

    let identity_pool_name = format!("{}_guests", w.stack.replace('-', "_"));
    let pools = w
        .identity()
        .list_identity_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListIdentityPools");
    let pool_id = pools
        .identity_pools()
        .iter()
        .find(|p| p.identity_pool_name() == Some(identity_pool_name.as_str()))
        .and_then(|p| p.identity_pool_id())
        .expect("the identity pool")
        .to_string();
    let bucket = format!("{}-photos-{}", w.stack, w.account);

    let amplify = w.run(&["outputs", "--format", "amplify"]);
    amplify
        .code(0)
        .stderr_has("warning: not in AWS yet, so not in the outputs: table.later")
        .stderr_has("note: Amplify's `auth` needs a user pool");
    let a = amplify.json();
    assert!(a.get("auth").is_none());
    assert_eq!(a["storage"]["bucket_name"], bucket.as_str());
    assert_eq!(
        a["custom"]["mobile_backend"]["resources"]["identity_pool.guests"]["id"],
        pool_id.as_str()
    );

    let c = json_of(&w.run(&["outputs", "--format", "awsconfiguration"]));
    assert_eq!(
        c["CredentialsProvider"]["CognitoIdentity"]["Default"]["PoolId"],
        pool_id.as_str()
    );
    assert!(c.get("CognitoUserPool").is_none());
    assert_eq!(c["S3TransferUtility"]["Default"]["Bucket"], bucket.as_str());

    let swift = w.run(&["outputs", "--format", "swift"]);
    swift
        .code(0)
        .stdout_has(&format!("let CognitoIdentityPoolId = \"{pool_id}\""))
        .stdout_has(&format!("let S3BucketName = \"{bucket}\""))
        .stdout_has(&format!(
            "let CognitoUnauthenticatedRoleArn = \"arn:aws:iam::{}:role/{}\"",
            w.account,
            w.name("guest")
        ));
    assert!(!swift.stdout.contains("CognitoUserPoolId"));
    assert!(braces_balance(&swift.stdout));

    let env = env_of(&w.run(&["outputs", "--format", "env"]));
    assert_eq!(env["IDENTITY_POOL_GUESTS_ID"], pool_id);
    assert_eq!(env["BUCKET_PHOTOS_NAME"], bucket);
    assert!(!env.contains_key("TABLE_LATER_NAME"));

    w.run(&["destroy", "--auto-approve"]).code(0);
}
