//! The identity half end to end on the emulator: the example stacks of
//! `stacks/` (AmazonSwiftStarter's guests, the user-pool backend with role
//! rules) go up, read back through the SDK as written, converge, and leave
//! nothing behind on destroy.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use support::World;

/// Uses `stacks/<file>` of the repository, with `policies/`, as this test's stack.
fn use_example(w: &World, file: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    w.use_stack_file(&root.join("stacks").join(file), &root.join("policies"));
}

fn iam(w: &World) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    )
}

fn cognito_idp(w: &World) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    )
}

/// The identity pools of the account: name → id.
async fn identity_pools(w: &World) -> BTreeMap<String, String> {
    w.identity_pools()
        .await
        .into_iter()
        .map(|(id, name)| (name, id))
        .collect()
}

/// IAM returns policy documents percent-encoded.
fn document(text: &str) -> Value {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).expect("utf-8")
    };
    serde_json::from_str(&decoded).expect("a JSON policy document")
}

async fn role(w: &World, name: &str) -> Option<aws_sdk_iam::types::Role> {
    match iam(w).get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(_) => None,
    }
}

async fn inline_policy(w: &World, role: &str, policy: &str) -> Value {
    let out = iam(w)
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .expect("GetRolePolicy");
    document(out.policy_document())
}

#[tokio::test]
async fn swift_starter_guests_reach_only_their_own_rows_and_photos() {
    let w = World::new("swift");
    use_example(&w, "swift-starter.toml");
    w.run(&["validate"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(2);
    w.run(&["up", "--auto-approve"]).code(0);

    // The identity pool: guests allowed, tagged as ours.
    let pool_name = format!("{}_guests", w.stack.replace('-', "_"));
    let pools = identity_pools(&w).await;
    let pool_id = pools
        .get(&pool_name)
        .unwrap_or_else(|| panic!("no identity pool {pool_name} in {pools:?}"))
        .clone();
    let pool = w
        .identity()
        .describe_identity_pool()
        .identity_pool_id(&pool_id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    assert!(pool.allow_unauthenticated_identities());
    let tags = pool.identity_pool_tags().cloned().unwrap_or_default();
    assert_eq!(tags.get("mobile-backend:stack"), Some(&w.stack));
    assert_eq!(
        tags.get("mobile-backend:id").map(String::as_str),
        Some("identity_pool.guests")
    );

    // The guest role: trusted by exactly this pool, for unauthenticated identities.
    let role_name = w.name("guest");
    let guest = role(&w, &role_name).await.expect("the guest role exists");
    let trust = document(guest.assume_role_policy_document().expect("trust policy"));
    let statement = &trust["Statement"][0];
    assert_eq!(
        statement["Principal"]["Federated"],
        "cognito-identity.amazonaws.com"
    );
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"],
        json!(pool_id)
    );
    assert_eq!(
        statement["Condition"]["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"],
        json!("unauthenticated")
    );

    // The attachment: the pool hands guests that role.
    let roles = w
        .identity()
        .get_identity_pool_roles()
        .identity_pool_id(&pool_id)
        .send()
        .await
        .expect("GetIdentityPoolRoles");
    assert_eq!(
        roles.roles().and_then(|r| r.get("unauthenticated")),
        Some(&guest.arn().to_string())
    );

    // The policy: references resolved, IAM variables intact.
    let policy = inline_policy(&w, &role_name, "swift-starter-guest").await;
    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:{}:table/{}",
        w.account,
        w.name("users")
    );
    assert_eq!(policy["Statement"][0]["Resource"], json!(table_arn));
    assert_eq!(
        policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"],
        json!(["${cognito-identity.amazonaws.com:sub}"])
    );
    let bucket = format!("{}-photos-{}", w.stack, w.account);
    assert_eq!(
        policy["Statement"][1]["Resource"],
        json!(format!(
            "arn:aws:s3:::{bucket}/private/${{cognito-identity.amazonaws.com:sub}}/*"
        ))
    );

    w.run(&["plan", "--detailed-exitcode"]).code(0);

    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(
        !identity_pools(&w).await.contains_key(&pool_name),
        "the identity pool survived destroy"
    );
    assert!(
        role(&w, &role_name).await.is_none(),
        "the role survived destroy"
    );
    assert!(w.table_names().await.is_empty());
}

#[tokio::test]
async fn user_pool_backend_maps_engineering_to_the_engineers_role() {
    let w = World::new("team");
    use_example(&w, "user-pool.toml");
    w.run(&["up", "--auto-approve"]).code(0);

    let pool_name = format!("{}_app", w.stack.replace('-', "_"));
    let pool_id = identity_pools(&w)
        .await
        .get(&pool_name)
        .cloned()
        .expect("identity pool");
    let pool = w
        .identity()
        .describe_identity_pool()
        .identity_pool_id(&pool_id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    assert!(!pool.allow_unauthenticated_identities());
    let providers = pool.cognito_identity_providers();
    assert_eq!(providers.len(), 1, "{providers:?}");
    let provider_name = providers[0].provider_name().unwrap_or_default().to_string();
    let client_id = providers[0].client_id().unwrap_or_default().to_string();

    // The provider is the stack's user pool and its `ios` client.
    let users = cognito_idp(&w)
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    let user_pool = users
        .user_pools()
        .iter()
        .find(|p| p.name() == Some(w.name("people").as_str()))
        .expect("the user pool");
    let user_pool_id = user_pool.id().unwrap_or_default().to_string();
    assert_eq!(
        provider_name,
        format!("cognito-idp.us-east-1.amazonaws.com/{user_pool_id}")
    );
    let clients = cognito_idp(&w)
        .list_user_pool_clients()
        .user_pool_id(&user_pool_id)
        .send()
        .await
        .expect("ListUserPoolClients");
    assert_eq!(
        clients.user_pool_clients()[0].client_id(),
        Some(client_id.as_str())
    );

    // A sign-up is confirmed at once by the stack's own pre sign-up trigger,
    // built from functions/auto-confirm.
    let signed_up = support::unsigned_call(
        &w.account,
        "AWSCognitoIdentityProviderService.SignUp",
        &json!({
            "ClientId": client_id,
            "Username": "someone@example.com",
            "Password": "Correct-Horse-9!",
            "UserAttributes": [{ "Name": "email", "Value": "someone@example.com" }],
        }),
    );
    assert_eq!(signed_up["UserConfirmed"], json!(true), "{signed_up}");

    // Roles: authenticated = member; the rule maps Engineering to engineers.
    let member = role(&w, &w.name("member")).await.expect("member role");
    let engineers = role(&w, &w.name("engineers"))
        .await
        .expect("engineers role");
    let admins = role(&w, &w.name("admins")).await.expect("admins role");
    let attached = w
        .identity()
        .get_identity_pool_roles()
        .identity_pool_id(&pool_id)
        .send()
        .await
        .expect("GetIdentityPoolRoles");
    assert_eq!(
        attached.roles().and_then(|r| r.get("authenticated")),
        Some(&member.arn().to_string())
    );
    let key = format!("{provider_name}:{client_id}");
    let mapping = attached
        .role_mappings()
        .and_then(|m| m.get(&key))
        .unwrap_or_else(|| panic!("no role mapping for {key}: {:?}", attached.role_mappings()));
    assert_eq!(mapping.r#type().as_str(), "Rules");
    let rules = mapping.rules_configuration().expect("rules").rules();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].claim(), "custom:department");
    assert_eq!(rules[0].match_type().as_str(), "Equals");
    assert_eq!(rules[0].value(), "Engineering");
    assert_eq!(rules[0].role_arn(), engineers.arn());

    // Two policies on engineers, named after their files.
    let names = iam(&w)
        .list_role_policies()
        .role_name(w.name("engineers"))
        .send()
        .await
        .expect("ListRolePolicies");
    let mut names: Vec<String> = names.policy_names().to_vec();
    names.sort();
    assert_eq!(names, ["team-notes-engineers", "team-notes-member"]);

    // Every role trusts exactly this identity pool, for signed-in users only.
    for r in [&member, &engineers, &admins] {
        let trust = document(r.assume_role_policy_document().expect("trust policy"));
        let condition = &trust["Statement"][0]["Condition"];
        assert_eq!(
            condition["StringEquals"]["cognito-identity.amazonaws.com:aud"],
            json!(pool_id),
            "{trust:#}"
        );
        assert_eq!(
            condition["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"],
            json!("authenticated"),
            "{trust:#}"
        );
    }
    let member_policy = inline_policy(&w, &w.name("member"), "team-notes-member").await;
    let table_arn = format!(
        "arn:aws:dynamodb:us-east-1:{}:table/{}",
        w.account,
        w.name("notes")
    );
    assert_eq!(member_policy["Statement"][0]["Resource"], json!(table_arn));
    assert_eq!(
        member_policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]
            ["dynamodb:LeadingKeys"],
        json!(["${cognito-identity.amazonaws.com:sub}"])
    );

    // The user pool as written: email sign-in, verified email, the password
    // policy and the custom attribute.
    let described = cognito_idp(&w)
        .describe_user_pool()
        .user_pool_id(&user_pool_id)
        .send()
        .await
        .expect("DescribeUserPool");
    let up = described.user_pool.expect("user pool");
    assert_eq!(
        up.username_attributes()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["email"]
    );
    assert_eq!(
        up.auto_verified_attributes()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["email"]
    );
    let password = up
        .policies()
        .and_then(|p| p.password_policy())
        .expect("password policy");
    assert_eq!(password.minimum_length(), Some(10));
    assert!(password.require_numbers());
    assert!(password.require_symbols());
    assert!(
        up.schema_attributes()
            .iter()
            .any(|a| a.name() == Some("custom:department")),
        "{:?}",
        up.schema_attributes()
    );
    let client = cognito_idp(&w)
        .describe_user_pool_client()
        .user_pool_id(&user_pool_id)
        .client_id(&client_id)
        .send()
        .await
        .expect("DescribeUserPoolClient")
        .user_pool_client
        .expect("client");
    assert_eq!(client.client_secret(), None, "the ios client has no secret");
    let mut flows: Vec<&str> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str())
        .collect();
    flows.sort();
    assert_eq!(flows, ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]);

    // The admins group carries the admins role.
    let group = cognito_idp(&w)
        .get_group()
        .user_pool_id(&user_pool_id)
        .group_name("admins")
        .send()
        .await
        .expect("GetGroup");
    assert_eq!(
        group.group.and_then(|g| g.role_arn),
        Some(admins.arn().to_string())
    );

    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(identity_pools(&w).await.is_empty());
    for r in ["member", "engineers", "admins"] {
        assert!(
            role(&w, &w.name(r)).await.is_none(),
            "role {r} survived destroy"
        );
    }
}
