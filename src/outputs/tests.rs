//! Every format on the live resources of the reference architecture (plus a
//! second app client with a secret), with and without secrets; the Default
//! choices; the identity-pool-only stack of the Swift starter; quoting.

use serde_json::json;

use super::*;
use crate::resource::Ownership;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const POOL_ID: &str = "us-east-1_Abc123XyZ";
const IOS_CLIENT: &str = "7abc1defgh2ijkl3mnop4qrst5";
const SERVER_CLIENT: &str = "1server2client3id4abcdefgh";
const IDENTITY_POOL_ID: &str = "us-east-1:0b0f4d8e-1111-2222-3333-444455556666";
const CLIENT_SECRET: &str = "c1ient5ecret0fthe5erverc1ientxxxxxxxxxxxxxxxxxxxx";
const KEY_VALUE: &str = "ApiKeyValue0123456789abcdefghijklmnopqrs";

fn ctx() -> Context<'static> {
    Context {
        stack: "notes-backend",
        stage: None,
        account_id: ACCOUNT,
        region: REGION,
    }
}

fn address(s: &str) -> Address {
    s.parse().expect("address")
}

fn live(addr: &str, name: &str, attributes: Value, outputs: &[(&str, &str)]) -> (Address, Live) {
    (
        address(addr),
        Live {
            address: address(addr),
            physical_name: name.into(),
            attributes,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ownership: Ownership::Ours,
        },
    )
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/notes-backend-{name}")
}

fn identity_pool() -> (Address, Live) {
    live(
        "identity_pool.app",
        "notes_backend_app",
        json!({
            "name": "notes_backend_app",
            "allow_unauthenticated": true,
            "allow_classic_flow": false,
            "cognito_identity_providers": [{
                "provider_name": format!("cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"),
                "client_id": IOS_CLIENT,
                "server_side_token_check": false,
            }],
        }),
        &[("id", IDENTITY_POOL_ID), ("name", "notes_backend_app")],
    )
}

fn identity_pool_roles() -> (Address, Live) {
    live(
        "identity_pool.app.roles",
        "notes_backend_app",
        json!({
            "roles": {
                "authenticated": role_arn("mobile_client"),
                "unauthenticated": role_arn("mobile_client"),
            },
            "role_mappings": {},
        }),
        &[("identity_pool_id", IDENTITY_POOL_ID)],
    )
}

fn user_pool() -> (Address, Live) {
    let arn = format!("arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{POOL_ID}");
    let provider = format!("cognito-idp.{REGION}.amazonaws.com/{POOL_ID}");
    let endpoint = format!("https://{provider}");
    live(
        "user_pool.users",
        "notes-backend-users",
        json!({
            "name": "notes-backend-users",
            "username_attributes": ["email"],
            "alias_attributes": [],
            "attributes": {
                "email": { "type": "string", "required": true, "mutable": true, "min_length": 0, "max_length": 2048 },
                "custom:department": { "type": "string", "required": false, "mutable": true, "min_length": 0, "max_length": 2048 },
            },
            "new_attributes": {},
            "auto_verified_attributes": ["email"],
            "mfa": "off",
            "password_policy": {
                "min_length": 8,
                "require_uppercase": true,
                "require_lowercase": true,
                "require_numbers": true,
                "require_symbols": true,
                "temporary_password_validity_days": 7,
            },
            "deletion_protection": false,
        }),
        &[
            ("id", POOL_ID),
            ("arn", &arn),
            ("name", "notes-backend-users"),
            ("provider_name", &provider),
            ("endpoint", &endpoint),
            ("custom_attributes", r#"["custom:department"]"#),
        ],
    )
}

fn client(key: &str, id: &str, secret: bool) -> (Address, Live) {
    let name = format!("notes-backend-{key}");
    live(
        &format!("user_pool.users.clients.{key}"),
        &name,
        json!({
            "name": name,
            "generate_secret": secret,
            "auth_flows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
        }),
        &[("id", id), ("name", &name), ("user_pool_id", POOL_ID)],
    )
}

fn group() -> (Address, Live) {
    let arn = role_arn("engineers");
    live(
        "user_pool.users.groups.admins",
        "admins",
        json!({ "name": "admins", "description": "Administrators", "precedence": 0, "role_arn": arn }),
        &[
            ("name", "admins"),
            ("user_pool_id", POOL_ID),
            ("role_arn", &arn),
        ],
    )
}

fn table() -> (Address, Live) {
    let arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/notes-backend-notes");
    let stream = format!("{arn}/stream/2026-01-01T00:00:00.000");
    live(
        "table.notes",
        "notes-backend-notes",
        json!({ "name": "notes-backend-notes" }),
        &[
            ("name", "notes-backend-notes"),
            ("arn", &arn),
            ("stream_arn", &stream),
        ],
    )
}

fn bucket(key: &str) -> (Address, Live) {
    let name = format!("notes-backend-{key}-{ACCOUNT}");
    let arn = format!("arn:aws:s3:::{name}");
    let domain = format!("{name}.s3.{REGION}.amazonaws.com");
    live(
        &format!("bucket.{key}"),
        &name,
        json!({ "name": name }),
        &[
            ("name", &name),
            ("arn", &arn),
            ("regional_domain_name", &domain),
        ],
    )
}

fn search() -> (Address, Live) {
    live(
        "search.notes",
        "notes-backend-notes",
        json!({ "engine": "cloudsearch" }),
        &[
            (
                "arn",
                &format!("arn:aws:cloudsearch:{REGION}:{ACCOUNT}:domain/notes-backend-notes"),
            ),
            ("name", "notes-backend-notes"),
            (
                "search_endpoint",
                "search-notes-backend-notes-abc123.us-east-1.cloudsearch.amazonaws.com",
            ),
            (
                "document_endpoint",
                "doc-notes-backend-notes-abc123.us-east-1.cloudsearch.amazonaws.com",
            ),
        ],
    )
}

fn api() -> (Address, Live) {
    live(
        "api.notes",
        "notes-backend-notes",
        json!({ "name": "notes-backend-notes", "stage": "prod" }),
        &[
            ("id", "a1b2c3d4e5"),
            ("name", "notes-backend-notes"),
            ("root_resource_id", "r00t1d"),
            (
                "execute_arn",
                &format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5"),
            ),
            (
                "invoke_url",
                "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod",
            ),
            ("key.ios.id", "k3y1d0001"),
        ],
    )
}

fn role(key: &str) -> (Address, Live) {
    let arn = role_arn(key);
    let name = format!("notes-backend-{key}");
    live(
        &format!("role.{key}"),
        &name,
        json!({ "name": name }),
        &[("name", &name), ("arn", &arn)],
    )
}

/// The reference architecture, up, with a second (server-side) app client
/// that has a secret.
fn reference() -> BTreeMap<Address, Live> {
    BTreeMap::from([
        identity_pool(),
        identity_pool_roles(),
        user_pool(),
        client("ios", IOS_CLIENT, false),
        client("server", SERVER_CLIENT, true),
        group(),
        table(),
        bucket("uploads"),
        search(),
        api(),
        role("mobile_client"),
        role("engineers"),
    ])
}

fn secrets() -> Secrets {
    Secrets(BTreeMap::from([
        (
            address("user_pool.users.clients.server"),
            Outputs::from([("client_secret".to_string(), CLIENT_SECRET.to_string())]),
        ),
        (
            address("api.notes"),
            Outputs::from([("key.ios.value".to_string(), KEY_VALUE.to_string())]),
        ),
    ]))
}

type Renderer = fn(&Context<'_>, &BTreeMap<Address, Live>, Option<&Secrets>) -> Rendered;

const FORMATS: &[(&str, Renderer)] = &[
    ("json", json),
    ("env", env),
    ("swift", swift),
    ("awsconfiguration", awsconfiguration),
    ("amplify", amplify),
];

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

// --------------------------------------------------------------- secrets --

#[test]
fn no_format_holds_a_secret_unless_secrets_are_passed() {
    let resources = reference();
    for (format, render) in FORMATS {
        let without = render(&ctx(), &resources, None);
        assert!(!without.holds_secrets, "{format}");
        assert!(!without.text.contains(KEY_VALUE), "{format}: API key value");
        assert!(
            !without.text.contains(CLIENT_SECRET),
            "{format}: client secret"
        );
        assert!(
            !without.text.contains("custom:department"),
            "{format}: internal output"
        );

        let with = render(&ctx(), &resources, Some(&secrets()));
        assert!(with.holds_secrets, "{format}");
        assert!(
            with.text.contains(KEY_VALUE) || with.text.contains(CLIENT_SECRET),
            "{format}: a secret, when passed"
        );
    }
}

// ------------------------------------------------------------------ json --

#[test]
fn json_lists_every_shown_output_of_every_resource_by_address() {
    let r = json(&ctx(), &reference(), None);
    let doc = parse(&r.text);
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["stack"], "notes-backend");
    assert_eq!(doc["account_id"], ACCOUNT);
    assert_eq!(doc["region"], REGION);
    assert_eq!(doc["secrets_included"], false);
    let resources = doc["resources"].as_object().expect("resources");
    assert!(!resources.contains_key("identity_pool.app.roles"));
    assert!(doc["resources"]["user_pool.users"]
        .get("custom_attributes")
        .is_none());
    assert_eq!(doc["resources"]["user_pool.users"]["id"], POOL_ID);
    assert_eq!(
        doc["resources"]["api.notes"]["invoke_url"],
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"
    );
    assert_eq!(doc["resources"]["api.notes"]["key.ios.id"], "k3y1d0001");
    assert!(r.notes.is_empty());
    insta::assert_snapshot!(r.text);
}

#[test]
fn json_with_secrets_names_them_client_secret_and_key_value() {
    let doc = parse(&json(&ctx(), &reference(), Some(&secrets())).text);
    assert_eq!(doc["secrets_included"], true);
    assert_eq!(
        doc["resources"]["user_pool.users.clients.server"]["client_secret"],
        CLIENT_SECRET
    );
    assert!(doc["resources"]["user_pool.users.clients.ios"]
        .get("client_secret")
        .is_none());
    assert_eq!(doc["resources"]["api.notes"]["key.ios.value"], KEY_VALUE);
}

// ------------------------------------------------------------------- env --

#[test]
fn env_is_key_value_lines_with_the_region_first() {
    let r = env(&ctx(), &reference(), None);
    let lines: Vec<(&str, &str)> = r
        .text
        .lines()
        .map(|l| l.split_once('=').expect("KEY=value"))
        .collect();
    assert_eq!(lines[0], ("AWS_REGION", REGION));
    for (key, _) in &lines {
        assert!(
            key.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            "{key}"
        );
    }
    let get = |k: &str| lines.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    assert_eq!(get("USER_POOL_USERS_ID"), Some(POOL_ID));
    assert_eq!(get("USER_POOL_USERS_CLIENTS_IOS_ID"), Some(IOS_CLIENT));
    assert_eq!(get("IDENTITY_POOL_APP_ID"), Some(IDENTITY_POOL_ID));
    assert_eq!(get("API_NOTES_KEY_IOS_ID"), Some("k3y1d0001"));
    assert_eq!(get("USER_POOL_USERS_CUSTOM_ATTRIBUTES"), None);
    assert!(r.notes.is_empty());
    insta::assert_snapshot!(r.text);

    let with = env(&ctx(), &reference(), Some(&secrets())).text;
    assert!(with.contains(&format!("API_NOTES_KEY_IOS_VALUE={KEY_VALUE}\n")));
    assert!(with.contains(&format!(
        "USER_POOL_USERS_CLIENTS_SERVER_CLIENT_SECRET={CLIENT_SECRET}\n"
    )));
}

#[test]
fn env_keys_and_quoting() {
    assert_eq!(
        env_key(&address("user_pool.users.clients.ios"), "id"),
        "USER_POOL_USERS_CLIENTS_IOS_ID"
    );
    assert_eq!(
        env_key(&address("api.my-api"), "key.web-app.id"),
        "API_MY_API_KEY_WEB_APP_ID"
    );
    assert_eq!(shell_quote("us-east-1:0b0f-11"), "us-east-1:0b0f-11");
    assert_eq!(
        shell_quote("https://x.execute-api.us-east-1.amazonaws.com/prod"),
        "https://x.execute-api.us-east-1.amazonaws.com/prod"
    );
    assert_eq!(shell_quote(""), "''");
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("$HOME"), "'$HOME'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote("a+b/c=="), "a+b/c==");
}

#[test]
fn env_reports_two_outputs_that_become_one_variable() {
    let resources = BTreeMap::from([bucket("a-b"), bucket("a_b")]);
    let r = env(&ctx(), &resources, None);
    assert_eq!(r.text.matches("BUCKET_A_B_NAME=").count(), 1);
    assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
    assert!(r.notes[0].contains("BUCKET_A_B_ARN"), "{:?}", r.notes);
}

// ----------------------------------------------------------------- swift --

fn braces_balance(text: &str) -> bool {
    let mut depth = 0i64;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

#[test]
fn swift_has_the_reference_architecture_constants_and_every_output() {
    let r = swift(&ctx(), &reference(), None);
    let t = &r.text;
    for line in [
        "let AWSRegionName = \"us-east-1\"".to_string(),
        format!("let AWSAccountId = \"{ACCOUNT}\""),
        format!("let CognitoIdentityPoolId = \"{IDENTITY_POOL_ID}\" // identity_pool.app"),
        format!(
            "let CognitoAuthenticatedRoleArn = \"{}\" // identity_pool.app.roles",
            role_arn("mobile_client")
        ),
        format!("let CognitoUserPoolId = \"{POOL_ID}\" // user_pool.users"),
        format!(
            "let CognitoUserPoolAppClientId = \"{IOS_CLIENT}\" // user_pool.users.clients.ios"
        ),
        "let APIEndpointUrl = \"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod\" // api.notes".to_string(),
        format!("let S3BucketName = \"notes-backend-uploads-{ACCOUNT}\" // bucket.uploads"),
        "let DynamoDBTableName = \"notes-backend-notes\" // table.notes".to_string(),
        "        enum Users {".to_string(),
        format!("                    static let id = \"{SERVER_CLIENT}\""),
        "                    static let id = \"k3y1d0001\"".to_string(),
    ] {
        assert!(t.contains(&line), "missing {line:?} in\n{t}");
    }
    // The Default client (the one the identity pool trusts) has no secret;
    // the API key's value is a secret.
    assert!(!t.contains("let CognitoUserPoolAppClientSecret"));
    assert!(t.contains("// APIGatewayKey: the value of key `ios` of `api.notes` is a secret"));
    assert!(braces_balance(t));
    assert!(!t.contains("customAttributes"));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    insta::assert_snapshot!(r.text);
}

#[test]
fn swift_with_secrets_writes_the_api_key() {
    let r = swift(&ctx(), &reference(), Some(&secrets()));
    assert!(r
        .text
        .contains(&format!("let APIGatewayKey = \"{KEY_VALUE}\" // api.notes")));
    assert!(r
        .text
        .contains(&format!("static let clientSecret = \"{CLIENT_SECRET}\"")));
    assert!(r.text.contains("It holds secrets"));
    assert!(braces_balance(&r.text));
}

#[test]
fn swift_names_are_identifiers() {
    assert_eq!(swift_type("mobile_client"), "MobileClient");
    assert_eq!(swift_type("notes-backend"), "NotesBackend");
    assert_eq!(swift_type("type"), "`Type`");
    assert_eq!(swift_property("regional_domain_name"), "regionalDomainName");
    assert_eq!(swift_property("default"), "`default`");
    assert_eq!(swift_type("9lives"), "_9lives");
    assert_eq!(swift_string("a\"b\\c\n"), r#""a\"b\\c\n""#);
}

// ------------------------------------------------------ awsconfiguration --

#[test]
fn awsconfiguration_has_the_sdk_sections_with_defaults_and_named_entries() {
    let r = awsconfiguration(&ctx(), &reference(), None);
    let doc = parse(&r.text);
    assert_eq!(doc["Version"], "1.0");
    let identity = &doc["CredentialsProvider"]["CognitoIdentity"]["Default"];
    assert_eq!(identity["PoolId"], IDENTITY_POOL_ID);
    assert_eq!(identity["Region"], REGION);
    let pool = &doc["CognitoUserPool"]["Default"];
    assert_eq!(pool["PoolId"], POOL_ID);
    assert_eq!(pool["AppClientId"], IOS_CLIENT);
    assert!(pool.get("AppClientSecret").is_none());
    assert_eq!(
        doc["CognitoUserPool"]["users.server"]["AppClientId"],
        SERVER_CLIENT
    );
    assert_eq!(
        doc["Auth"]["Default"]["authenticationFlowType"],
        "USER_SRP_AUTH"
    );
    assert_eq!(
        doc["S3TransferUtility"]["Default"]["Bucket"],
        format!("notes-backend-uploads-{ACCOUNT}")
    );
    assert_eq!(doc["DynamoDBObjectMapper"]["Default"]["Region"], REGION);
    insta::assert_snapshot!(r.text);

    let with = parse(&awsconfiguration(&ctx(), &reference(), Some(&secrets())).text);
    assert_eq!(
        with["CognitoUserPool"]["users.server"]["AppClientSecret"],
        CLIENT_SECRET
    );
}

// --------------------------------------------------------------- amplify --

#[test]
fn amplify_outputs_has_auth_storage_and_the_rest_api() {
    let r = amplify(&ctx(), &reference(), None);
    let doc = parse(&r.text);
    assert_eq!(doc["version"], AMPLIFY_OUTPUTS_VERSION);
    let auth = &doc["auth"];
    assert_eq!(auth["aws_region"], REGION);
    assert_eq!(auth["user_pool_id"], POOL_ID);
    assert_eq!(auth["user_pool_client_id"], IOS_CLIENT);
    assert_eq!(auth["identity_pool_id"], IDENTITY_POOL_ID);
    assert_eq!(auth["password_policy"]["min_length"], 8);
    assert_eq!(auth["username_attributes"], json!(["email"]));
    assert_eq!(auth["standard_required_attributes"], json!(["email"]));
    assert_eq!(auth["user_verification_types"], json!(["email"]));
    assert_eq!(auth["unauthenticated_identities_enabled"], true);
    assert_eq!(auth["mfa_configuration"], "NONE");
    assert_eq!(auth["groups"], json!([{ "admins": { "precedence": 0 } }]));
    assert_eq!(
        doc["storage"]["bucket_name"],
        format!("notes-backend-uploads-{ACCOUNT}")
    );
    assert_eq!(doc["storage"]["buckets"][0]["name"], "uploads");
    let api = &doc["custom"]["API"]["notes-backend-notes"];
    assert_eq!(
        api["endpoint"],
        "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod"
    );
    assert_eq!(api["region"], REGION);
    assert_eq!(
        doc["custom"]["mobile_backend"]["resources"]["table.notes"]["name"],
        "notes-backend-notes"
    );
    insta::assert_snapshot!(r.text);
}

#[test]
fn amplify_maps_mfa() {
    let mut resources = reference();
    if let Some(pool) = resources.get_mut(&address("user_pool.users")) {
        pool.attributes["mfa"] = json!("optional");
    }
    let doc = parse(&amplify(&ctx(), &resources, None).text);
    assert_eq!(doc["auth"]["mfa_configuration"], "OPTIONAL");
    assert_eq!(doc["auth"]["mfa_methods"], json!(["TOTP"]));
}

// --------------------------------------------------------------- defaults --

#[test]
fn the_swift_starter_has_no_user_pool_so_amplify_has_no_auth() {
    // identity_pool.guests, table.users, bucket.photos, role.guest
    let mut pool = identity_pool();
    pool.1.attributes["cognito_identity_providers"] = json!([]);
    let resources = BTreeMap::from([pool, table(), bucket("photos"), role("guest")]);

    let a = amplify(&ctx(), &resources, None);
    let doc = parse(&a.text);
    assert!(doc.get("auth").is_none());
    assert_eq!(a.notes.len(), 1);
    assert!(a.notes[0].contains("needs a user pool"), "{:?}", a.notes);
    assert_eq!(
        doc["custom"]["mobile_backend"]["resources"]["identity_pool.app"]["id"],
        IDENTITY_POOL_ID
    );

    let c = parse(&awsconfiguration(&ctx(), &resources, None).text);
    assert_eq!(
        c["CredentialsProvider"]["CognitoIdentity"]["Default"]["PoolId"],
        IDENTITY_POOL_ID
    );
    assert!(c.get("CognitoUserPool").is_none());
    assert!(c.get("S3TransferUtility").is_some());

    let s = swift(&ctx(), &resources, None).text;
    assert!(s.contains("let CognitoIdentityPoolId"));
    assert!(!s.contains("CognitoUserPoolId"));
    assert!(!s.contains("APIEndpointUrl"));
    assert!(braces_balance(&s));
}

#[test]
fn several_of_a_kind_use_the_first_by_address_and_say_so() {
    let resources = BTreeMap::from([bucket("photos"), bucket("avatars"), table()]);
    let r = awsconfiguration(&ctx(), &resources, None);
    let doc = parse(&r.text);
    let avatars = format!("notes-backend-avatars-{ACCOUNT}");
    assert_eq!(doc["S3TransferUtility"]["Default"]["Bucket"], avatars);
    assert_eq!(doc["S3TransferUtility"]["avatars"]["Bucket"], avatars);
    assert_eq!(
        doc["S3TransferUtility"]["photos"]["Bucket"],
        format!("notes-backend-photos-{ACCOUNT}")
    );
    assert_eq!(r.notes.len(), 1);
    assert!(
        r.notes[0].contains("`bucket.avatars` is the Default"),
        "{:?}",
        r.notes
    );
    let s = swift(&ctx(), &resources, None).text;
    assert!(s.contains("// Note: there are 2 buckets"));
}

#[test]
fn without_an_identity_pool_the_user_pool_s_first_client_is_the_default() {
    let resources = BTreeMap::from([
        user_pool(),
        client("web", "webclientid", false),
        client("android", "androidclientid", false),
    ]);
    let r = amplify(&ctx(), &resources, None);
    let doc = parse(&r.text);
    assert_eq!(doc["auth"]["user_pool_client_id"], "androidclientid");
    assert!(doc["auth"].get("identity_pool_id").is_none());
    assert!(r.notes[0].contains("2 app clients of `user_pool.users`"));
}

// --------------------------------------------------------------- summary --

#[test]
fn summary_shows_what_tutorials_copy_and_no_secret() {
    let (outputs, _) = app_outputs(&reference(), Some(&secrets()));
    let text = summary(&outputs);
    assert!(text.starts_with("Outputs:\n"));
    assert!(!text.contains(KEY_VALUE));
    assert!(!text.contains(CLIENT_SECRET));
    assert!(!text.contains('\u{1b}'));
    insta::assert_snapshot!(text);
    assert_eq!(summary(&BTreeMap::new()), "");
}

// ---------------------------------------------------------- declarations --

/// The fixtures' live outputs are among those their kinds declare.
#[test]
fn the_fixtures_report_only_declared_outputs() {
    struct DeclaredNames;
    impl StepVisitor for DeclaredNames {
        type Output = &'static [&'static str];
        fn visit<S: Step>(self) -> &'static [&'static str] {
            S::OUTPUTS
        }
    }
    for (address, live) in reference() {
        let names = address
            .kind
            .visit_step(address.part.as_ref(), DeclaredNames);
        for output in live.outputs.keys() {
            assert!(
                names.iter().any(|n| is_output(n, output)),
                "`{output}` of `{address}` is not among {names:?}"
            );
        }
    }
}

#[test]
fn declared_patterns_stand_for_one_name() {
    assert!(is_output("key.*.id", "key.ios.id"));
    assert!(!is_output("key.*.id", "key.ios.value"));
    assert!(is_output("name", "name"));
    assert!(!is_output("name", "names"));
}

// ----------------------------------------------------------------- cdn --

const CDN_DOMAIN: &str = "d111111abcdef8.cloudfront.net";

/// A bucket and the distribution in front of it, with its statement part
/// (whose only output is bookkeeping) and its internal origin bucket.
fn with_cdn() -> BTreeMap<Address, Live> {
    let (bucket_address, bucket) = bucket("uploads");
    let bucket_name = bucket.physical_name.clone();
    [
        (bucket_address, bucket),
        live(
            "cdn.media",
            "notes-backend-media",
            json!({}),
            &[
                ("id", "E2QWRUHAPOMQZL"),
                (
                    "arn",
                    "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
                ),
                ("domain_name", CDN_DOMAIN),
                ("origin_bucket", &bucket_name),
            ],
        ),
        live(
            "cdn.media.bucket_policy",
            "notes-backend-media",
            json!({}),
            &[("sid", "MobileBackendNotesBackendCdnMedia")],
        ),
    ]
    .into_iter()
    .collect()
}

#[test]
fn the_cdn_domain_is_in_every_format_and_its_bookkeeping_in_none() {
    let resources = with_cdn();
    let json_text = json(&ctx(), &resources, None).text;
    let doc = parse(&json_text);
    assert_eq!(doc["resources"]["cdn.media"]["domain_name"], CDN_DOMAIN);
    assert_eq!(doc["resources"]["cdn.media"]["id"], "E2QWRUHAPOMQZL");
    let env_text = env(&ctx(), &resources, None).text;
    assert!(
        env_text.contains(&format!("CDN_MEDIA_DOMAIN_NAME={CDN_DOMAIN}\n")),
        "{env_text}"
    );
    let swift_text = swift(&ctx(), &resources, None).text;
    assert!(swift_text.contains(CDN_DOMAIN), "{swift_text}");
    assert!(braces_balance(&swift_text));
    let amplify_doc = parse(&amplify(&ctx(), &resources, None).text);
    assert_eq!(
        amplify_doc["custom"]["CDN"]["media"],
        json!({
            "domain_name": CDN_DOMAIN,
            "url": format!("https://{CDN_DOMAIN}"),
            "distribution_id": "E2QWRUHAPOMQZL",
        })
    );
    for text in [&json_text, &env_text, &swift_text] {
        assert!(
            !text.contains("MobileBackendNotesBackendCdnMedia"),
            "{text}"
        );
        assert!(!text.to_lowercase().contains("origin_bucket"), "{text}");
    }
    let (outputs, _) = app_outputs(&resources, None);
    assert!(summary(&outputs).contains(CDN_DOMAIN));
}
