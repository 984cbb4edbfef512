//! `mobile-backend adopt` and the `adopt = "<id>"` key on the emulator: a
//! backend built by hand with SDK calls, as the AmazonSwiftStarter tutorial
//! does it (no tags), is written out as a stack file, and `up` takes it over
//! by adding the ownership tags only: same ids, same data, then no changes.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::World;

/// What the tutorial clicks together, by hand: ids to compare afterwards.
struct Tutorial {
    pool_id: String,
    role_name: String,
    role_id: String,
    table: String,
    table_arn: String,
    bucket: String,
}

/// The AmazonSwiftStarter backend with SDK calls and no tags: an identity
/// pool for guests, its unauthenticated role (the console's trust policy and
/// an inline policy naming the table and bucket ARNs), a users table with one
/// item and a photos bucket with one object.
async fn build_swift_starter(w: &World) -> Tutorial {
    let pool = w
        .identity()
        .create_identity_pool()
        .identity_pool_name("SwiftStarter")
        .allow_unauthenticated_identities(true)
        .send()
        .await
        .expect("CreateIdentityPool");
    let pool_id = pool.identity_pool_id().to_string();

    let table = "SwiftStarterUsers".to_string();
    let created = w
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("userId")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("userId")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("CreateTable");
    let table_arn = created
        .table_description()
        .and_then(|d| d.table_arn())
        .expect("table ARN")
        .to_string();
    w.dynamodb
        .put_item()
        .table_name(&table)
        .item(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S("guest-1".into()),
        )
        .item(
            "name",
            aws_sdk_dynamodb::types::AttributeValue::S("Ada".into()),
        )
        .send()
        .await
        .expect("PutItem");

    let bucket = format!("swiftstarter-photos-{}", w.account);
    w.s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    w.s3.put_bucket_cors()
        .bucket(&bucket)
        .cors_configuration(
            aws_sdk_s3::types::CorsConfiguration::builder()
                .cors_rules(
                    aws_sdk_s3::types::CorsRule::builder()
                        .allowed_methods("GET")
                        .allowed_methods("PUT")
                        .allowed_origins("*")
                        .build()
                        .expect("CORS rule"),
                )
                .build()
                .expect("CORS"),
        )
        .send()
        .await
        .expect("PutBucketCors");
    w.s3.put_object()
        .bucket(&bucket)
        .key("private/guest-1/photo.jpg")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"jpeg"))
        .send()
        .await
        .expect("PutObject");

    // The console's role for guests of the pool.
    let role_name = "Cognito_SwiftStarterUnauth_Role".to_string();
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": "cognito-identity.amazonaws.com" },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "cognito-identity.amazonaws.com:aud": pool_id },
                "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "unauthenticated" }
            }
        }]
    });
    let role = w
        .iam()
        .create_role()
        .role_name(&role_name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
    let role = role.role().expect("role");
    let (role_arn, role_id) = (role.arn().to_string(), role.role_id().to_string());
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                "Resource": table_arn,
                "Condition": {
                    "ForAllValues:StringEquals": {
                        "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]
                    }
                }
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/private/${{cognito-identity.amazonaws.com:sub}}/*")
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}")
            }
        ]
    });
    w.iam()
        .put_role_policy()
        .role_name(&role_name)
        .policy_name("SwiftStarterGuestAccess")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("PutRolePolicy");
    w.identity()
        .set_identity_pool_roles()
        .identity_pool_id(&pool_id)
        .roles("unauthenticated", &role_arn)
        .send()
        .await
        .expect("SetIdentityPoolRoles");
    Tutorial {
        pool_id,
        role_name,
        role_id,
        table,
        table_arn,
        bucket,
    }
}

/// The identity pools of the account: id → name.
async fn identity_pool_ids(w: &World) -> BTreeMap<String, String> {
    w.identity_pools().await.into_iter().collect()
}

async fn identity_pool_tags(w: &World, id: &str) -> BTreeMap<String, String> {
    let out = w
        .identity()
        .describe_identity_pool()
        .identity_pool_id(id)
        .send()
        .await
        .expect("DescribeIdentityPool");
    out.identity_pool_tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

async fn role_tags(w: &World, name: &str) -> BTreeMap<String, String> {
    let out = w
        .iam()
        .list_role_tags()
        .role_name(name)
        .send()
        .await
        .expect("ListRoleTags");
    out.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// A resource made by hand under `parent`: its id.
async fn hand_made_resource(
    api_gw: &aws_sdk_apigateway::Client,
    api_id: &str,
    parent: &str,
    part: &str,
) -> String {
    api_gw
        .create_resource()
        .rest_api_id(api_id)
        .parent_id(parent)
        .path_part(part)
        .send()
        .await
        .expect("CreateResource")
        .id()
        .expect("resource id")
        .to_string()
}

/// A method made by hand with a Lambda proxy integration, as the console does.
#[allow(clippy::too_many_arguments)]
async fn hand_made_lambda_method(
    api_gw: &aws_sdk_apigateway::Client,
    api_id: &str,
    resource: &str,
    verb: &str,
    authorization: &str,
    api_key_required: bool,
    parameter: Option<&str>,
    function: &str,
) {
    api_gw
        .put_method()
        .rest_api_id(api_id)
        .resource_id(resource)
        .http_method(verb)
        .authorization_type(authorization)
        .api_key_required(api_key_required)
        .set_request_parameters(parameter.map(|p| [(p.to_string(), true)].into()))
        .send()
        .await
        .expect("PutMethod");
    api_gw
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(resource)
        .http_method(verb)
        .r#type(aws_sdk_apigateway::types::IntegrationType::AwsProxy)
        .integration_http_method("POST")
        .uri(format!(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"
        ))
        .send()
        .await
        .expect("PutIntegration");
}

/// Every change of `plan --json` is an update whose attribute changes are
/// only added ownership tags; returns the addresses.
#[track_caller]
fn only_tag_additions(plan: &Value) -> Vec<String> {
    let changes = plan["resource_changes"]
        .as_array()
        .expect("resource_changes");
    let mut updated = Vec::new();
    for c in changes {
        let actions = &c["change"]["actions"];
        if actions == &json!(["no-op"]) {
            continue;
        }
        assert_eq!(actions, &json!(["update"]), "{c:#}");
        for a in c["change"]["attributes"].as_array().expect("attributes") {
            let path = a["path"].as_str().unwrap_or_default();
            assert!(
                path.starts_with("tags.mobile-backend:") && a["before"].is_null(),
                "{}: `{path}` is not an added ownership tag: {a:#}",
                c["address"]
            );
        }
        updated.push(c["address"].as_str().unwrap_or_default().to_string());
    }
    updated.sort();
    updated
}

#[tokio::test]
async fn the_swift_starter_built_by_hand_is_adopted_with_tags_only_keeping_ids_and_data() {
    let mut w = World::new("adopt");
    let t = build_swift_starter(&w).await;
    let pools_before = identity_pool_ids(&w).await;

    let stack_file = w.path("stacks/app.toml");
    let include_bucket = format!("bucket.photos={}", t.bucket);
    let include_role = format!("role.guest={}", t.role_name);
    let stack_name = w.stack.clone();
    let log = w.path("adopt-calls.log");
    let started = std::time::Instant::now();
    let adopted = w.run_logged(
        &[
            "adopt",
            "--name-prefix",
            "SwiftStarter",
            "--include",
            &include_bucket,
            "--include",
            &include_role,
            "--stack-name",
            &stack_name,
            "--write",
            stack_file.to_str().expect("a UTF-8 path"),
        ],
        &log,
    );
    adopted.code(0).stdout_has("wrote stack");
    // Adopting reads only: it never changes AWS.
    let calls = support::read_call_log(&log);
    eprintln!(
        "adopt of the Swift starter: {:.2}s, {} AWS calls: {}",
        started.elapsed().as_secs_f64(),
        calls.len(),
        support::summary(&calls)
    );
    assert!(support::mutating(&calls).is_empty(), "{calls:?}");
    // Everything of this backend is expressible: nothing is listed as left out.
    assert!(
        !adopted.stderr.contains("not expressed"),
        "{}",
        adopted.dump()
    );
    w.stack_file = stack_file.clone();

    // The stack names each resource by its id and rebuilt the references.
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    for id in [&t.pool_id, &t.table, &t.bucket, &t.role_name] {
        assert!(
            text.contains(&format!("adopt = \"{id}\"")),
            "{id} in\n{text}"
        );
    }
    assert!(text.contains("[identity_pool.swift_starter]"), "{text}");
    assert!(text.contains("[table.users]"), "{text}");
    assert!(
        text.contains("trust = { amr = \"unauthenticated\", identity_pool = \"swift_starter\" }"),
        "{text}"
    );
    assert!(text.contains("unauthenticated_role = \"guest\""), "{text}");
    let policy = std::fs::read_to_string(w.path("policies/SwiftStarterGuestAccess.json"))
        .expect("the inline policy, as a file named after it");
    assert!(policy.contains("${table.users.arn}"), "{policy}");
    assert!(
        policy.contains("${bucket.photos.arn}/private/${cognito-identity.amazonaws.com:sub}/*"),
        "{policy}"
    );
    assert!(!policy.contains(&t.table_arn), "{policy}");

    // Writing again refuses to overwrite.
    w.run(&[
        "adopt",
        "--name-prefix",
        "SwiftStarter",
        "--stack-name",
        &stack_name,
        "--write",
        stack_file.to_str().expect("a UTF-8 path"),
    ])
    .code(1)
    .stderr_has("refuses to overwrite");

    w.run(&["validate"]).code(0);

    // A destroy before adopting leaves everything alone: none of it is ours yet.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(
        w.table(&t.table).await.is_some(),
        "destroy deleted an unadopted table"
    );
    assert!(w.bucket_exists(&t.bucket).await);

    let plan = w.run(&["plan", "--json"]).code(0).json();
    assert_eq!(
        only_tag_additions(&plan),
        vec![
            "bucket.photos",
            "identity_pool.swift_starter",
            "role.guest",
            "table.users"
        ],
        "{plan:#}"
    );
    assert_eq!(plan["summary"]["create"], 0, "{plan:#}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan:#}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan:#}");

    // Reviewed as a saved plan and applied as such, as in CI.
    let saved = w.path("adopt.plan.json");
    w.run(&["plan", "--out", saved.to_str().expect("a UTF-8 path")])
        .code(0);
    let log = w.path("up-calls.log");
    w.run_logged(
        &[
            "up",
            "--auto-approve",
            saved.to_str().expect("a UTF-8 path"),
        ],
        &log,
    )
    .code(0);
    let changed = support::mutating(&support::read_call_log(&log));
    eprintln!(
        "up of the adopted Swift starter: {} changing calls: {changed:?}",
        changed.len()
    );
    // One tagging call per resource (the identity pool's tags go with its
    // update, as its tags live in `IdentityPoolTags`); nothing else changes.
    let mut operations: Vec<&str> = changed.iter().map(String::as_str).collect();
    operations.sort();
    assert_eq!(
        operations,
        vec![
            "Cognito Identity:UpdateIdentityPool",
            "DynamoDB:TagResource",
            "IAM:TagRole",
            "S3:PutBucketTagging"
        ]
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");

    // Same ids, same data, now carrying the ownership tags.
    assert_eq!(identity_pool_ids(&w).await, pools_before);
    let table = w.must_table(&t.table).await;
    assert_eq!(table.table_arn(), Some(t.table_arn.as_str()));
    assert_eq!(w.item_count(&t.table).await, 1);
    assert_eq!(w.bucket_contents(&t.bucket).await.0, 1);
    let role = w
        .iam()
        .get_role()
        .role_name(&t.role_name)
        .send()
        .await
        .expect("GetRole");
    assert_eq!(role.role().map(|r| r.role_id()), Some(t.role_id.as_str()));
    let roles = w
        .identity()
        .get_identity_pool_roles()
        .identity_pool_id(&t.pool_id)
        .send()
        .await
        .expect("GetIdentityPoolRoles");
    assert_eq!(
        roles.roles().and_then(|r| r.get("unauthenticated")),
        role.role().map(|r| r.arn().to_string()).as_ref()
    );
    let tagged = |tags: &BTreeMap<String, String>, id: &str| {
        tags.get("mobile-backend:stack") == Some(&w.stack)
            && tags.get("mobile-backend:id").map(String::as_str) == Some(id)
    };
    assert!(tagged(&w.table_tags(&t.table).await, "table.users"));
    assert!(tagged(&w.bucket_tags(&t.bucket).await, "bucket.photos"));
    assert!(tagged(&role_tags(&w, &t.role_name).await, "role.guest"));
    assert!(tagged(
        &identity_pool_tags(&w, &t.pool_id).await,
        "identity_pool.swift_starter"
    ));
}

#[tokio::test]
async fn an_adopt_id_that_does_not_exist_is_an_error_naming_it() {
    let w = World::new("adopt-missing");
    w.write_stack(
        "[identity_pool.app]\nadopt = \"us-east-1:00000000-0000-0000-0000-000000000000\"\nallow_unauthenticated = true\n\n[table.notes]\nadopt = \"NoSuchTable\"\nname = \"NoSuchTable\"\nhash_key = { name = \"id\", type = \"S\" }\n",
    );
    w.run(&["validate"]).code(0);
    let run = w.run(&["plan"]);
    run.code(1)
        .stderr_has("identity_pool.app")
        .stderr_has("us-east-1:00000000-0000-0000-0000-000000000000")
        .stderr_has("table.notes")
        .stderr_has("`NoSuchTable`")
        .stderr_has("stack.toml:");
    // Nothing was created in its place.
    w.run(&["up", "--auto-approve"]).code(1);
    assert!(w.table("NoSuchTable").await.is_none());
    assert!(identity_pool_ids(&w).await.is_empty());
}

#[tokio::test]
async fn a_resource_tagged_for_another_stack_is_never_adopted() {
    let w = World::new("adopt-other");
    w.write_stack("[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\n");
    // One stack's table; then another stack asks to adopt it.
    w.run(&["up", "--auto-approve"]).code(0);
    let name = w.name("notes");
    let text = format!(
        "[stack]\nname = \"someone-else\"\nregion = \"us-east-1\"\n\n[table.theirs]\nadopt = \"{name}\"\nname = \"{name}\"\nhash_key = {{ name = \"id\", type = \"S\" }}\n"
    );
    std::fs::write(&w.stack_file, text).expect("write the stack file");
    w.run(&["plan"])
        .code(1)
        .stdout_has("belongs to stack")
        .stdout_has("never takes a resource tagged by mobile-backend");
    w.run(&["up", "--auto-approve"]).code(1);
    // Still the first stack's.
    let tags = w.table_tags(&name).await;
    assert_eq!(tags.get("mobile-backend:stack"), Some(&w.stack));
    assert_eq!(
        tags.get("mobile-backend:id").map(String::as_str),
        Some("table.notes")
    );
}

#[tokio::test]
async fn adopting_never_replaces_and_an_adopt_id_must_be_the_name_of_a_named_kind() {
    let w = World::new("adopt-replace");
    let t = build_swift_starter(&w).await;
    // The table's key is `userId`; a stack that says otherwise would replace it.
    w.write_stack(&format!(
        "[table.users]\nadopt = \"{0}\"\nname = \"{0}\"\nhash_key = {{ name = \"id\", type = \"S\" }}\n",
        t.table
    ));
    w.run(&["plan"])
        .code(1)
        .stdout_has("adopting never replaces")
        .stdout_has("hash_key");
    w.run(&["up", "--auto-approve", "--allow-replace"]).code(1);
    assert_eq!(w.item_count(&t.table).await, 1);
    assert!(w.table_tags(&t.table).await.is_empty());

    // An adopt id that is not the name would rename (replace) it: offline error.
    w.write_stack(&format!(
        "[table.users]\nadopt = \"{}\"\nhash_key = {{ name = \"userId\", type = \"S\" }}\n",
        t.table
    ));
    w.run(&["validate"])
        .code(1)
        .stderr_has("adopting it under another name would replace it");
}

#[tokio::test]
async fn same_named_pools_are_a_question_on_a_terminal_and_an_error_without_one() {
    let w = World::new("adopt-ambiguous");
    for _ in 0..2 {
        w.identity()
            .create_identity_pool()
            .identity_pool_name("Twins")
            .allow_unauthenticated_identities(false)
            .send()
            .await
            .expect("CreateIdentityPool");
    }
    let ids: Vec<String> = identity_pool_ids(&w).await.into_keys().collect();
    let run = w.run(&["adopt", "--name-prefix", "Twins", "--stack-name", "twins"]);
    run.code(1).stderr_has("--include identity_pool.");
    for id in &ids {
        run.stderr_has(id);
    }
    // On a terminal it is a question: the second one is chosen.
    let stack_file = w.path("twins.toml");
    let terminal = w.on_a_terminal_until(
        &[
            "adopt",
            "--name-prefix",
            "Twins",
            "--stack-name",
            "twins",
            "--write",
            stack_file.to_str().expect("a UTF-8 path"),
        ],
        "which one to adopt",
    );
    let (code, screen) = terminal.finish("2");
    assert_eq!(code, 0, "{screen}");
    for id in &ids {
        assert!(screen.contains(id.as_str()), "{id} in {screen}");
    }
    let written = std::fs::read_to_string(&stack_file).expect("the stack written");
    assert!(
        written.contains(&format!("adopt = \"{}\"", ids[1])),
        "{written}"
    );
    assert!(!written.contains(&ids[0]), "{written}");

    // Naming one settles it.
    let include = format!("identity_pool.app={}", ids[0]);
    w.run(&[
        "adopt",
        "--name-prefix",
        "Twins",
        "--stack-name",
        "twins",
        "--include",
        &include,
    ])
    .code(0)
    .stdout_has(&format!("adopt = \"{}\"", ids[0]))
    .stdout_has("[identity_pool.app]");
}

/// The reference architecture's backend (without the search domain), by
/// hand: a user pool with an app client, a group with a role and a user; an
/// identity pool signing in through that client, with two roles and a role
/// rule; the notes table and the uploads bucket; a REST API with a route to
/// a Lambda function, a stage, an API key and a usage plan.
#[tokio::test]
async fn the_reference_backend_built_by_hand_is_adopted_with_references_rebuilt() {
    use aws_sdk_cognitoidentity::types::{
        CognitoIdentityProvider, MappingRule, MappingRuleMatchType, RoleMapping, RoleMappingType,
        RulesConfigurationType,
    };
    use aws_sdk_cognitoidentityprovider::types::{
        AttributeDataType, ExplicitAuthFlowsType, PasswordPolicyType, SchemaAttributeType,
        UserPoolPolicyType, UsernameAttributeType, VerifiedAttributeType,
    };
    let mut w = World::new("adopt-ref");
    let idp = w.idp();
    let pool = idp
        .create_user_pool()
        .pool_name("NotesBackendUsers")
        .username_attributes(UsernameAttributeType::Email)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(8)
                        .require_numbers(true)
                        .require_lowercase(false)
                        .require_uppercase(false)
                        .require_symbols(false)
                        .build(),
                )
                .build(),
        )
        .schema(
            SchemaAttributeType::builder()
                .name("department")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("CreateUserPool");
    let pool = pool.user_pool().expect("pool");
    let pool_id = pool.id().expect("id").to_string();
    let pool_arn = pool.arn().expect("arn").to_string();
    let client = idp
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("ios")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(
            aws_sdk_cognitoidentityprovider::types::PreventUserExistenceErrorTypes::Enabled,
        )
        .send()
        .await
        .expect("CreateUserPoolClient");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_string();
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("ada@example.com")
        .send()
        .await
        .expect("AdminCreateUser");

    let identity_pool = w
        .identity()
        .create_identity_pool()
        .identity_pool_name("NotesBackend")
        .allow_unauthenticated_identities(true)
        .cognito_identity_providers(
            CognitoIdentityProvider::builder()
                .provider_name(format!("cognito-idp.us-east-1.amazonaws.com/{pool_id}"))
                .client_id(&client_id)
                .server_side_token_check(false)
                .build(),
        )
        .send()
        .await
        .expect("CreateIdentityPool");
    let identity_pool_id = identity_pool.identity_pool_id().to_string();

    let table = "NotesBackendNotes";
    w.dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("userId")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("noteId")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("userId")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .expect("key"),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("noteId")
                .key_type(aws_sdk_dynamodb::types::KeyType::Range)
                .build()
                .expect("key"),
        )
        .stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewImage)
                .build()
                .expect("stream"),
        )
        .send()
        .await
        .expect("CreateTable");
    w.dynamodb
        .put_item()
        .table_name(table)
        .item(
            "userId",
            aws_sdk_dynamodb::types::AttributeValue::S("u1".into()),
        )
        .item(
            "noteId",
            aws_sdk_dynamodb::types::AttributeValue::S("n1".into()),
        )
        .send()
        .await
        .expect("PutItem");
    let bucket = format!("notesbackend-uploads-{}", w.account);
    w.s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    w.s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
    w.s3.put_object()
        .bucket(&bucket)
        .key("photo.jpg")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"jpeg"))
        .send()
        .await
        .expect("PutObject");

    let trust = |amr: Value| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Federated": "cognito-identity.amazonaws.com" },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": { "cognito-identity.amazonaws.com:aud": identity_pool_id },
                    "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": amr }
                }
            }]
        })
        .to_string()
    };
    let table_arn = format!("arn:aws:dynamodb:us-east-1:{}:table/{table}", w.account);
    let mut role_arns = BTreeMap::new();
    for (role, amr, policy) in [
        (
            "NotesBackendMobileClient",
            json!(["authenticated", "unauthenticated"]),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:Query"], "Resource": table_arn},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}
            ]}),
        ),
        (
            "NotesBackendEngineers",
            json!("authenticated"),
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [table_arn.clone(), format!("{table_arn}/index/*")]},
                {"Effect": "Allow", "Action": "cognito-idp:ListUsers", "Resource": pool_arn}
            ]}),
        ),
    ] {
        let out = w
            .iam()
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust(amr))
            .send()
            .await
            .expect("CreateRole");
        role_arns.insert(role, out.role().expect("role").arn().to_string());
        w.iam()
            .put_role_policy()
            .role_name(role)
            .policy_name(format!("{role}Access"))
            .policy_document(policy.to_string())
            .send()
            .await
            .expect("PutRolePolicy");
    }
    idp.create_group()
        .user_pool_id(&pool_id)
        .group_name("admins")
        .precedence(0)
        .description("Administrators")
        .role_arn(&role_arns["NotesBackendEngineers"])
        .send()
        .await
        .expect("CreateGroup");
    w.identity()
        .set_identity_pool_roles()
        .identity_pool_id(&identity_pool_id)
        .roles("authenticated", &role_arns["NotesBackendMobileClient"])
        .roles("unauthenticated", &role_arns["NotesBackendMobileClient"])
        .role_mappings(
            format!("cognito-idp.us-east-1.amazonaws.com/{pool_id}:{client_id}"),
            RoleMapping::builder()
                .r#type(RoleMappingType::Rules)
                .ambiguous_role_resolution(
                    aws_sdk_cognitoidentity::types::AmbiguousRoleResolutionType::AuthenticatedRole,
                )
                .rules_configuration(
                    RulesConfigurationType::builder()
                        .rules(
                            MappingRule::builder()
                                .claim("custom:department")
                                .match_type(MappingRuleMatchType::Equals)
                                .value("Engineering")
                                .role_arn(&role_arns["NotesBackendEngineers"])
                                .build()
                                .expect("rule"),
                        )
                        .build()
                        .expect("rules"),
                )
                .build()
                .expect("mapping"),
        )
        .send()
        .await
        .expect("SetIdentityPoolRoles");

    // The REST API: POST /notes (IAM, API key) to a Lambda function, the
    // prod stage, a key and a usage plan named after the API.
    let api_gw = w.apigateway();
    let function = w.create_function("NotesApiFunction").await;
    let api = api_gw
        .create_rest_api()
        .name("NotesBackendApi")
        .endpoint_configuration(
            aws_sdk_apigateway::types::EndpointConfiguration::builder()
                .types(aws_sdk_apigateway::types::EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .expect("CreateRestApi");
    let api_id = api.id().expect("API id").to_string();
    let root = api.root_resource_id().expect("root").to_string();
    let notes_id = hand_made_resource(&api_gw, &api_id, &root, "notes").await;
    hand_made_lambda_method(
        &api_gw, &api_id, &notes_id, "POST", "AWS_IAM", true, None, &function,
    )
    .await;
    let deployment = api_gw
        .create_deployment()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .expect("CreateDeployment");
    let deployment_id = deployment.id().expect("deployment id").to_string();
    let key = api_gw
        .create_api_key()
        .name("NotesBackendApi-ios")
        .enabled(true)
        .send()
        .await
        .expect("CreateApiKey");
    let key_id = key.id().expect("key id").to_string();
    let usage_plan = api_gw
        .create_usage_plan()
        .name("NotesBackendApi-mobile")
        .throttle(
            aws_sdk_apigateway::types::ThrottleSettings::builder()
                .rate_limit(100.0)
                .burst_limit(200)
                .build(),
        )
        .api_stages(
            aws_sdk_apigateway::types::ApiStage::builder()
                .api_id(&api_id)
                .stage("prod")
                .build(),
        )
        .send()
        .await
        .expect("CreateUsagePlan");
    let plan_id = usage_plan.id().expect("plan id").to_string();
    api_gw
        .create_usage_plan_key()
        .usage_plan_id(&plan_id)
        .key_id(&key_id)
        .key_type("API_KEY")
        .send()
        .await
        .expect("CreateUsagePlanKey");

    let stack_file = w.path("stacks/notes.toml");
    let include_bucket = format!("bucket.uploads={bucket}");
    let stack_name = w.stack.clone();
    let log = w.path("adopt-calls.log");
    let started = std::time::Instant::now();
    let adopted = w.run_logged(
        &[
            "adopt",
            "--name-prefix",
            "NotesBackend",
            "--include",
            &include_bucket,
            "--stack-name",
            &stack_name,
            "--write",
            stack_file.to_str().expect("a UTF-8 path"),
        ],
        &log,
    );
    adopted.code(0);
    let calls = support::read_call_log(&log);
    eprintln!(
        "adopt of the reference backend: {:.2}s, {} AWS calls: {}",
        started.elapsed().as_secs_f64(),
        calls.len(),
        support::summary(&calls)
    );
    assert!(support::mutating(&calls).is_empty(), "{calls:?}");
    w.stack_file = stack_file.clone();
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    eprintln!("{text}");
    for needle in [
        "[user_pool.users]".to_string(),
        format!("adopt = \"{pool_id}\""),
        "username_attributes = [\"email\"]".into(),
        "clients.ios = { auth_flows = [\"ALLOW_REFRESH_TOKEN_AUTH\", \"ALLOW_USER_SRP_AUTH\"] }".into(),
        "groups.admins = { description = \"Administrators\", precedence = 0, role = \"engineers\" }".into(),
        "providers = [\"users.ios\"]".into(),
        "authenticated_role = \"mobile_client\"".into(),
        "unauthenticated_role = \"mobile_client\"".into(),
        "role = \"engineers\"".into(),
        "trust = { identity_pool = \"notes_backend\" }".into(),
        "trust = { amr = \"authenticated\", identity_pool = \"notes_backend\" }".into(),
        "stream = \"new_image\"".into(),
        "versioning = true".into(),
        "[api.api]".into(),
        format!("adopt = \"{api_id}\""),
        "stage = \"prod\"".into(),
        format!("routes.\"POST /notes\" = {{ api_key_required = true, authorization = \"aws_iam\", integration = {{ lambda = \"{function}\" }} }}"),
        "usage_plans.mobile = { keys = [\"ios\"], throttle = { burst = 200, rate = 100.0 } }".into(),
        "keys.ios = {}".into(),
    ] {
        assert!(text.contains(&needle), "`{needle}` in\n{text}");
    }
    let engineers = std::fs::read_to_string(w.path("policies/NotesBackendEngineersAccess.json"))
        .expect("the engineers' policy");
    assert!(
        engineers.contains("\"${table.notes.arn}/index/*\""),
        "{engineers}"
    );
    assert!(
        engineers.contains("\"${user_pool.users.arn}\""),
        "{engineers}"
    );

    w.run(&["validate"]).code(0);
    // A stage deployed by hand is deployed again once (the same routes);
    // that is said at the top of the file. On AWS the stage's export would
    // prove this one current (see the test after it and the mocked ones in
    // `resource::api`); MiniStack's export leaves the IAM security out, so
    // here the export shows other routes.
    assert!(
        text.contains("its stage's deployment was made outside this tool"),
        "{text}"
    );
    let plan = w.run(&["plan", "--json"]).code(0).json();
    let api_change = support::change_of(&plan, "api.api");
    let api_paths: Vec<&str> = api_change["change"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    assert_eq!(
        api_paths,
        vec![
            "deployment",
            "tags.mobile-backend:id",
            "tags.mobile-backend:stack"
        ],
        "{api_change:#}"
    );
    let mut plan_without_api = plan.clone();
    if let Some(changes) = plan_without_api["resource_changes"].as_array_mut() {
        changes.retain(|c| c["address"] != "api.api");
    }
    assert_eq!(
        only_tag_additions(&plan_without_api),
        vec![
            "bucket.uploads",
            "identity_pool.notes_backend",
            "role.engineers",
            "role.mobile_client",
            "table.notes",
            "user_pool.users",
        ],
        "{plan:#}"
    );
    let log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let changed = support::mutating(&support::read_call_log(&log));
    eprintln!(
        "up of the adopted reference backend: {} changing calls: {changed:?}",
        changed.len()
    );
    // Adopting deletes nothing, not even the stage's old deployment.
    assert!(
        !changed.iter().any(|c| c.contains(":Delete")),
        "{changed:?}"
    );
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Same pool, same client, same identity pool; the user, item and object are there.
    let pools = idp
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    let ids: Vec<&str> = pools.user_pools().iter().filter_map(|p| p.id()).collect();
    assert_eq!(ids, vec![pool_id.as_str()]);
    let clients = idp
        .list_user_pool_clients()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("ListUserPoolClients");
    let client_ids: Vec<&str> = clients
        .user_pool_clients()
        .iter()
        .filter_map(|c| c.client_id())
        .collect();
    assert_eq!(client_ids, vec![client_id.as_str()]);
    idp.admin_get_user()
        .user_pool_id(&pool_id)
        .username("ada@example.com")
        .send()
        .await
        .expect("the user is still there");
    assert_eq!(
        identity_pool_ids(&w).await.into_keys().collect::<Vec<_>>(),
        vec![identity_pool_id.clone()]
    );
    assert_eq!(w.item_count(table).await, 1);
    assert_eq!(w.bucket_contents(&bucket).await.0, 1);
    let described = idp
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("DescribeUserPool");
    let tags = described
        .user_pool()
        .and_then(|p| p.user_pool_tags())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        tags.get("mobile-backend:id").map(String::as_str),
        Some("user_pool.users")
    );
    // The API, its key and its usage plan are the same ones, now tagged.
    let apis = api_gw.get_rest_apis().send().await.expect("GetRestApis");
    let api_ids: Vec<&str> = apis.items().iter().filter_map(|a| a.id()).collect();
    assert_eq!(api_ids, vec![api_id.as_str()]);
    let keys = api_gw.get_api_keys().send().await.expect("GetApiKeys");
    let key_ids: Vec<&str> = keys.items().iter().filter_map(|k| k.id()).collect();
    assert_eq!(key_ids, vec![key_id.as_str()]);
    let plans = api_gw
        .get_usage_plans()
        .send()
        .await
        .expect("GetUsagePlans");
    let plan_ids: Vec<&str> = plans.items().iter().filter_map(|p| p.id()).collect();
    assert_eq!(plan_ids, vec![plan_id.as_str()]);
    api_gw
        .get_deployment()
        .rest_api_id(&api_id)
        .deployment_id(&deployment_id)
        .send()
        .await
        .expect("the hand-made deployment is kept");
    // Read from the tagging store (MiniStack keeps tags added after create
    // apart from the listings; on AWS they are the same).
    for path in [
        format!("/apikeys/{key_id}"),
        format!("/usageplans/{plan_id}"),
    ] {
        let tags = api_gw
            .get_tags()
            .resource_arn(format!("arn:aws:apigateway:us-east-1::{path}"))
            .send()
            .await
            .expect("GetTags");
        assert_eq!(
            tags.tags()
                .and_then(|t| t.get("mobile-backend:id"))
                .map(String::as_str),
            Some("api.api"),
            "{path}: {tags:?}"
        );
    }
}

/// An OpenSearch Service domain made by hand (the reference architecture's
/// search, for accounts without CloudSearch) is adopted like the rest: its
/// settings written, the plan tags only, then no changes.
#[tokio::test]
async fn an_opensearch_domain_built_by_hand_is_adopted_with_tags_only() {
    let mut w = World::new("adopt-search");
    let os = w.opensearch();
    os.create_domain()
        .domain_name("notes-search")
        .engine_version("OpenSearch_2.13")
        .cluster_config(
            aws_sdk_opensearch::types::ClusterConfig::builder()
                .instance_type(
                    aws_sdk_opensearch::types::OpenSearchPartitionInstanceType::T3MediumSearch,
                )
                .instance_count(2)
                .build(),
        )
        .ebs_options(
            aws_sdk_opensearch::types::EbsOptions::builder()
                .ebs_enabled(true)
                .volume_size(20)
                .build(),
        )
        .send()
        .await
        .expect("CreateDomain");
    let arn = os
        .describe_domain()
        .domain_name("notes-search")
        .send()
        .await
        .expect("DescribeDomain")
        .domain_status()
        .map(|d| d.arn().to_string())
        .expect("domain");

    let stack_file = w.path("stacks/search.toml");
    let stack_name = w.stack.clone();
    w.run(&[
        "adopt",
        "--name-prefix",
        "notes-",
        "--stack-name",
        &stack_name,
        "--write",
        stack_file.to_str().expect("a UTF-8 path"),
    ])
    .code(0);
    w.stack_file = stack_file.clone();
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    for needle in [
        "[search.search]",
        "adopt = \"notes-search\"",
        "engine = \"opensearch\"",
        "engine_version = \"OpenSearch_2.13\"",
        "instance_type = \"t3.medium.search\"",
        "instance_count = 2",
        "ebs_volume_size = 20",
    ] {
        assert!(text.contains(needle), "`{needle}` in\n{text}");
    }
    w.run(&["validate"]).code(0);
    let plan = w.run(&["plan", "--json"]).code(0).json();
    assert_eq!(only_tag_additions(&plan), vec!["search.search"], "{plan:#}");
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    let status = os
        .describe_domain()
        .domain_name("notes-search")
        .send()
        .await
        .expect("DescribeDomain");
    assert_eq!(status.domain_status().map(|d| d.arn()), Some(arn.as_str()));
}

/// One role that two identity pools both use for guests (its trust policy
/// names both pools) is not ambiguous in the stack format: it is written once,
/// with its trust policy kept as a file, and both pools name it. Adopted, it
/// plans as tag additions only, and then as no changes.
#[tokio::test]
async fn a_role_shared_by_two_identity_pools_is_written_once_and_named_by_both() {
    let mut w = World::new("adopt-shared-role");
    let mut pool_ids = Vec::new();
    for name in ["SharedFirst", "SharedSecond"] {
        let pool = w
            .identity()
            .create_identity_pool()
            .identity_pool_name(name)
            .allow_unauthenticated_identities(true)
            .send()
            .await
            .expect("CreateIdentityPool");
        pool_ids.push(pool.identity_pool_id().to_string());
    }
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": "cognito-identity.amazonaws.com" },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "cognito-identity.amazonaws.com:aud": pool_ids },
                "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": "unauthenticated" }
            }
        }]
    });
    let role = w
        .iam()
        .create_role()
        .role_name("SharedGuests")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
    let role_arn = role.role().expect("role").arn().to_string();
    for id in &pool_ids {
        w.identity()
            .set_identity_pool_roles()
            .identity_pool_id(id)
            .roles("unauthenticated", &role_arn)
            .send()
            .await
            .expect("SetIdentityPoolRoles");
    }

    let stack_file = w.path("stacks/shared.toml");
    let stack_name = w.stack.clone();
    w.run(&[
        "adopt",
        "--name-prefix",
        "Shared",
        "--stack-name",
        &stack_name,
        "--write",
        stack_file.to_str().expect("a UTF-8 path"),
    ])
    .code(0);
    w.stack_file = stack_file.clone();
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    assert_eq!(text.matches("[role.").count(), 1, "{text}");
    assert_eq!(
        text.matches("unauthenticated_role = \"guests\"").count(),
        2,
        "{text}"
    );
    assert!(text.contains("trust = { file = "), "{text}");

    w.run(&["validate"]).code(0);
    let plan = w.run(&["plan", "--json"]).code(0).json();
    assert_eq!(
        only_tag_additions(&plan),
        vec!["identity_pool.first", "identity_pool.second", "role.guests"],
        "{plan:#}"
    );
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
    let mut after: Vec<String> = identity_pool_ids(&w).await.into_keys().collect();
    after.sort();
    let mut before = pool_ids.clone();
    before.sort();
    assert_eq!(after, before, "the pools kept their ids");
}

/// A REST API deployed by hand whose stage serves its routes as they are:
/// its export (`GetExport`) proves it, so adopting it adds the ownership
/// tags and nothing is deployed again; `up` only labels the deployment.
#[tokio::test]
async fn a_stage_deployed_by_hand_that_serves_the_routes_is_not_deployed_again() {
    let mut w = World::new("adopt-deployed-api");
    let api_gw = w.apigateway();
    // Outside the prefix: `adopt` would take a function too, and this one's
    // package is empty (see the function test below for one that is not).
    let function = w.create_function("RoutesFunction").await;
    let api = api_gw
        .create_rest_api()
        .name("HandMadeApi")
        .send()
        .await
        .expect("CreateRestApi");
    let api_id = api.id().expect("API id").to_string();
    let root = api.root_resource_id().expect("root").to_string();
    let notes_id = hand_made_resource(&api_gw, &api_id, &root, "notes").await;
    let note_id = hand_made_resource(&api_gw, &api_id, &notes_id, "{id}").await;
    for (resource, verb, api_key, parameter) in [
        (&notes_id, "POST", true, None),
        (&note_id, "GET", false, Some("method.request.path.id")),
    ] {
        hand_made_lambda_method(
            &api_gw, &api_id, resource, verb, "NONE", api_key, parameter, &function,
        )
        .await;
    }
    let deployment = api_gw
        .create_deployment()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .description("first release")
        .send()
        .await
        .expect("CreateDeployment");
    let deployment_id = deployment.id().expect("deployment id").to_string();

    let stack_file = w.path("stacks/hand-made.toml");
    let stack_name = w.stack.clone();
    let log = w.path("adopt-calls.log");
    w.run_logged(
        &[
            "adopt",
            "--name-prefix",
            "HandMade",
            "--stack-name",
            &stack_name,
            "--write",
            stack_file.to_str().expect("a UTF-8 path"),
        ],
        &log,
    )
    .code(0);
    let calls = support::read_call_log(&log);
    assert!(support::mutating(&calls).is_empty(), "{calls:?}");
    assert_eq!(
        support::per_operation(&calls).get("API Gateway:GetExport"),
        Some(&1),
        "{calls:?}"
    );
    w.stack_file = stack_file.clone();
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    for needle in [
        format!("adopt = \"{api_id}\""),
        "stage = \"prod\"".to_string(),
        "routes.\"GET /notes/{id}\"".into(),
        "method.request.path.id".into(),
        "api_key_required = true".into(),
    ] {
        assert!(text.contains(&needle), "`{needle}` in\n{text}");
    }
    assert!(!text.contains("made outside this tool"), "{text}");

    w.run(&["validate"]).code(0);
    let plan = w.run(&["plan", "--json"]).code(0).json();
    assert_eq!(only_tag_additions(&plan), vec!["api.api"], "{plan:#}");
    let log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let changed = support::mutating(&support::read_call_log(&log));
    eprintln!("up of the adopted hand-deployed API: {changed:?}");
    assert!(
        changed.contains(&"API Gateway:UpdateDeployment".to_string()),
        "{changed:?}"
    );
    assert!(
        !changed
            .iter()
            .any(|c| c.contains("Deployment") && !c.ends_with(":UpdateDeployment")),
        "nothing is deployed again: {changed:?}"
    );
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    let calls = support::read_call_log(&log);
    assert_eq!(
        support::per_operation(&calls).get("API Gateway:GetExport"),
        None,
        "the labelled deployment is known without the export: {calls:?}"
    );

    // The stage still serves the hand-made deployment, now labelled.
    let stage = api_gw
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .send()
        .await
        .expect("GetStage");
    assert_eq!(stage.deployment_id(), Some(deployment_id.as_str()));
    let deployment = api_gw
        .get_deployment()
        .rest_api_id(&api_id)
        .deployment_id(&deployment_id)
        .send()
        .await
        .expect("GetDeployment");
    assert!(
        deployment
            .description()
            .is_some_and(|d| d.starts_with("mobile-backend:")),
        "{deployment:?}"
    );
}

/// A zip as a hand (or the console, or `zip -r`) makes it: entries in the
/// order given, timestamps of their own, no compression, data descriptors
/// after the data, a comment. Never the bytes of the tool's own zip.
fn hand_made_zip(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let put16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let put32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for (i, (name, data, mode)) in entries.iter().enumerate() {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let (crc, size) = (crc.sum(), data.len() as u32);
        // 2024-05-10, 14:3x: a working day, not the tool's 1980-01-01.
        let (time, date) = (0x7460 + i as u16, 0x58aa);
        let offset = out.len() as u32;
        put32(&mut out, 0x0403_4b50);
        for x in [10, 1 << 3, 0, time, date] {
            put16(&mut out, x);
        }
        for x in [0, 0, 0] {
            put32(&mut out, x);
        }
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        for x in [0x0807_4b50, crc, size, size] {
            put32(&mut out, x);
        }
        put32(&mut central, 0x0201_4b50);
        for x in [(3 << 8) | 30, 10, 1 << 3, 0, time, date] {
            put16(&mut central, x);
        }
        for x in [crc, size, size] {
            put32(&mut central, x);
        }
        for x in [name.len() as u16, 0, 0, 0, 0] {
            put16(&mut central, x);
        }
        put32(&mut central, mode << 16);
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (at, size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    put32(&mut out, 0x0605_4b50);
    for x in [0, 0, entries.len() as u16, entries.len() as u16] {
        put16(&mut out, x);
    }
    put32(&mut out, size);
    put32(&mut out, at);
    let comment = b"zipped by hand";
    put16(&mut out, comment.len() as u16);
    out.extend_from_slice(comment);
    out
}

/// Cognito's pre sign-up trigger that confirms every user, as the tutorials
/// write it.
const AUTO_CONFIRM: &[u8] = b"const { note } = require('./lib/note');\n\nexports.handler = async (event) => {\n  note(event.userName);\n  event.response.autoConfirmUser = true;\n  return event;\n};\n";
const NOTE: &[u8] = b"exports.note = (who) => console.log(`confirming ${who}`);\n";
const PACKAGE: &[u8] = b"{ \"name\": \"auto-confirm\", \"private\": true }\n";

#[tokio::test]
async fn a_function_built_by_hand_is_adopted_with_its_code_and_plans_tags_only() {
    let mut w = World::new("adopt-fn");
    let lambda = w.lambda();
    let idp = w.idp();
    // The execution role, as the console makes it.
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role_arn = w
        .iam()
        .create_role()
        .role_name("SignupFnRole")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole")
        .role()
        .expect("role")
        .arn()
        .to_string();
    // The package: other order, other times, a file the tool never ships.
    let zip = hand_made_zip(&[
        ("package.json", PACKAGE, 0o100644),
        (".DS_Store", b"\0\0\0\x01Bud1", 0o100644),
        ("lib/note.js", NOTE, 0o100644),
        ("index.js", AUTO_CONFIRM, 0o100644),
    ]);
    let made = lambda
        .create_function()
        .function_name("SignupAutoConfirm")
        .runtime(aws_sdk_lambda::types::Runtime::Nodejs20x)
        .handler("index.handler")
        .role(&role_arn)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.clone()))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction");
    let function_arn = made.function_arn().expect("ARN").to_string();
    let hand_sha = made.code_sha256().expect("CodeSha256").to_string();
    // The pool whose pre sign-up trigger is the function, allowed to invoke it.
    let pool = idp
        .create_user_pool()
        .pool_name("SignupUsers")
        .lambda_config(
            aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder()
                .pre_sign_up(&function_arn)
                .build(),
        )
        .send()
        .await
        .expect("CreateUserPool");
    let pool = pool.user_pool().expect("pool");
    lambda
        .add_permission()
        .function_name("SignupAutoConfirm")
        .statement_id("cognito-pre-sign-up")
        .action("lambda:InvokeFunction")
        .principal("cognito-idp.amazonaws.com")
        .source_arn(pool.arn().expect("pool ARN"))
        .send()
        .await
        .expect("AddPermission");

    let stack_file = w.path("stack.toml");
    let stack_name = w.stack.clone();
    let log = w.path("adopt-calls.log");
    let started = std::time::Instant::now();
    let adopt_args = [
        "adopt",
        "--name-prefix",
        "Signup",
        "--stack-name",
        &stack_name,
        "--write",
        stack_file.to_str().expect("a UTF-8 path"),
    ];
    let adopted = w.run_logged(&adopt_args, &log);
    adopted.code(0).stdout_has("wrote stack");
    let calls = support::read_call_log(&log);
    eprintln!(
        "adopt of a function, its role and its pool: {:.2}s, {} calls: {}",
        started.elapsed().as_secs_f64(),
        calls.len(),
        support::summary(&calls)
    );
    assert!(support::mutating(&calls).is_empty(), "{calls:?}");
    let counts = support::per_operation(&calls);
    assert_eq!(counts.get("Lambda code:GetPackage"), Some(&1), "{calls:?}");
    w.stack_file = stack_file.clone();

    // The code, unpacked beside the stack file, byte for byte; the desktop
    // litter is not.
    let folder = w.path("functions/auto_confirm");
    for (name, data) in [
        ("index.js", AUTO_CONFIRM),
        ("lib/note.js", NOTE),
        ("package.json", PACKAGE),
    ] {
        assert_eq!(
            std::fs::read(folder.join(name)).expect(name),
            data,
            "{name}"
        );
    }
    assert!(!folder.join(".DS_Store").exists());
    let text = std::fs::read_to_string(&stack_file).expect("the written stack");
    eprintln!("{text}");
    for needle in [
        "[function.auto_confirm]",
        "adopt = \"SignupAutoConfirm\"",
        "source = \"functions/auto_confirm\"",
        "role = \"fn_role\"",
        "triggers.pre_sign_up = { function = \"auto_confirm\" }",
    ] {
        assert!(text.contains(needle), "`{needle}` in\n{text}");
    }
    assert!(!text.contains(&function_arn), "{text}");
    assert!(!text.contains("mobile-backend:code"), "{text}");

    // Once more into the same place: identical code files are kept.
    let again = w.path("again.toml");
    let mut again_args = adopt_args;
    again_args[6] = again.to_str().expect("a UTF-8 path");
    w.run(&again_args)
        .code(0)
        .stdout_has("(there already, identical)");

    w.run(&["validate"]).code(0);
    let log = w.path("plan-calls.log");
    let plan = w.run_logged(&["plan", "--json"], &log).code(0).json();
    assert_eq!(
        only_tag_additions(&plan),
        vec!["function.auto_confirm", "role.fn_role", "user_pool.users"],
        "{plan:#}"
    );
    let counts = support::per_operation(&support::read_call_log(&log));
    assert_eq!(counts.get("Lambda code:GetPackage"), Some(&1), "{counts:?}");

    let log = w.path("up-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let changed = support::mutating(&support::read_call_log(&log));
    eprintln!("up of the adopted function: {changed:?}");
    assert!(
        changed
            .iter()
            .all(|c| c.ends_with("TagResource") || c.ends_with("TagRole")),
        "{changed:?}"
    );
    assert_eq!(
        changed
            .iter()
            .filter(|c| *c == "Lambda:TagResource")
            .count(),
        1,
        "{changed:?}"
    );
    let tags = lambda
        .list_tags()
        .resource(&function_arn)
        .send()
        .await
        .expect("ListTags")
        .tags()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        tags.get("mobile-backend:id").map(String::as_str),
        Some("function.auto_confirm")
    );
    let proof = tags.get("mobile-backend:code").expect("the proof tag");
    assert!(proof.starts_with(&format!("{hand_sha} ")), "{proof}");
    // The same code: Lambda still has the hand-made package.
    let live = lambda
        .get_function()
        .function_name("SignupAutoConfirm")
        .send()
        .await
        .expect("GetFunction");
    assert_eq!(
        live.configuration().and_then(|c| c.code_sha256()),
        Some(hand_sha.as_str())
    );

    // Converged: one read of the function, no download.
    let log = w.path("converged-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    let calls = support::read_call_log(&log);
    let counts = support::per_operation(&calls);
    assert_eq!(counts.get("Lambda:GetFunction"), Some(&1), "{calls:?}");
    assert_eq!(counts.get("Lambda code:GetPackage"), None, "{calls:?}");

    // An edit of the unpacked handler is exactly one code update.
    let index = folder.join("index.js");
    let mut edited = AUTO_CONFIRM.to_vec();
    edited.extend_from_slice(b"// reviewed\n");
    std::fs::write(&index, &edited).expect("edit the handler");
    let plan = w.run(&["plan", "--json"]).code(0).json();
    let changes: Vec<(String, Vec<String>)> = plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter(|c| c["change"]["actions"] != json!(["no-op"]))
        .map(|c| {
            let paths = c["change"]["attributes"]
                .as_array()
                .expect("attributes")
                .iter()
                .map(|a| a["path"].as_str().unwrap_or_default().to_string())
                .collect();
            (c["address"].as_str().unwrap_or_default().to_string(), paths)
        })
        .collect();
    assert_eq!(
        changes,
        vec![(
            "function.auto_confirm".to_string(),
            vec!["code".to_string()]
        )],
        "{plan:#}"
    );
    // Deployed: the proof is stale and goes; then nothing is left to do.
    let log = w.path("deploy-calls.log");
    w.run_logged(&["up", "--auto-approve"], &log).code(0);
    let changed = support::mutating(&support::read_call_log(&log));
    assert!(
        changed.contains(&"Lambda:UpdateFunctionCode".to_string())
            && changed.contains(&"Lambda:UntagResource".to_string()),
        "{changed:?}"
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout_has("No changes");
}
