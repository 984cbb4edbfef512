//! Cognito user pools end to end on the emulator: a pool with a trigger, an
//! app client and a group goes up as written (checked through the SDK,
//! never through the tool), converges, changes in place, refuses to lose
//! its users without `--allow-replace`, and leaves nothing behind.
//!
//! MiniStack stores Lambda functions without running them, so each test
//! creates the trigger's function first (as a real account would need).

mod support;

use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, DeletionProtectionType, ExplicitAuthFlowsType, UserPoolMfaType,
    UserPoolType, UsernameAttributeType, VerifiedAttributeType,
};
use serde_json::Value;
use support::{
    actions_of, change_of, mutating, read_call_log, summary, World, OWNER_ID_TAG, OWNER_STACK_TAG,
};

fn cognito(w: &World) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&w.sdk)
            .endpoint_url(&w.endpoint)
            .build(),
    )
}

/// Whether the policy lets Cognito invoke the function for `pool_arn`.
fn allows_pool(policy: &Value, pool_arn: &str) -> bool {
    policy["Statement"].as_array().is_some_and(|statements| {
        statements.iter().any(|s| {
            s["Effect"] == "Allow"
                && s["Principal"]["Service"] == "cognito-idp.amazonaws.com"
                && s["Action"] == "lambda:InvokeFunction"
                && s["Condition"]["ArnLike"]["AWS:SourceArn"] == pool_arn
        })
    })
}

/// The user pools of the account, as (id, name).
async fn pools(w: &World) -> Vec<(String, String)> {
    let mut pools = Vec::new();
    let mut token = None;
    loop {
        let out = cognito(w)
            .list_user_pools()
            .max_results(60)
            .set_next_token(token)
            .send()
            .await
            .expect("cognito-idp:ListUserPools");
        for p in out.user_pools() {
            pools.push((
                p.id().unwrap_or_default().to_string(),
                p.name().unwrap_or_default().to_string(),
            ));
        }
        token = out.next_token;
        if token.is_none() {
            return pools;
        }
    }
}

/// The id of the only pool named `name`.
#[track_caller]
fn only_pool(pools: &[(String, String)], name: &str) -> String {
    let ids: Vec<&String> = pools
        .iter()
        .filter(|(_, n)| n == name)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids.len(), 1, "pools named {name}: {pools:?}");
    ids[0].clone()
}

async fn describe(w: &World, id: &str) -> UserPoolType {
    cognito(w)
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .expect("cognito-idp:DescribeUserPool")
        .user_pool
        .expect("a user pool")
}

/// The pool's schema attribute `name`.
#[track_caller]
fn attribute<'a>(
    pool: &'a UserPoolType,
    name: &str,
) -> &'a aws_sdk_cognitoidentityprovider::types::SchemaAttributeType {
    pool.schema_attributes()
        .iter()
        .find(|a| a.name() == Some(name))
        .unwrap_or_else(|| panic!("no attribute {name} in {:?}", pool.schema_attributes()))
}

fn pool_stack(w: &World, password: &str, extra_attributes: &str, sign_in: &str) -> String {
    format!(
        r#"
[user_pool.users]
{sign_in}
auto_verified_attributes = ["email"]
mfa = "off"
password_policy = {password}
attributes.email = {{ required = true }}
attributes."custom:department" = {{ type = "string", max_length = 64 }}
{extra_attributes}
triggers.pre_sign_up = "arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:autoConfirm"
email_verification_subject = "Your code"
email_verification_message = "Your code is {{####}}"
clients.ios = {{ generate_secret = false, auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"] }}
groups.admins = {{ precedence = 0, role = "arn:aws:iam::{account}:role/admins", description = "Administrators" }}
"#,
        account = w.account
    )
}

const PASSWORD: &str = "{ min_length = 10, require_numbers = true, require_symbols = true }";
const EMAIL_USERNAME: &str = r#"username_attributes = ["email"]"#;

#[tokio::test]
async fn a_user_pool_with_client_group_and_trigger_goes_up_converges_changes_and_goes_away() {
    let w = World::new("pool");
    let function_arn = w.create_function("autoConfirm").await;
    w.write_stack(&pool_stack(&w, PASSWORD, "", EMAIL_USERNAME));
    let name = w.name("users");

    w.run(&["validate"]).code(0);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("+ user_pool.users")
        .stdout_has("+ user_pool.users.clients.ios")
        .stdout_has("+ user_pool.users.groups.admins");
    w.run(&["up", "--auto-approve"]).code(0);

    // The pool, as written.
    let id = only_pool(&pools(&w).await, &name);
    let pool = describe(&w, &id).await;
    let pool_arn = pool.arn().expect("pool ARN").to_string();
    assert_eq!(pool.username_attributes(), [UsernameAttributeType::Email]);
    assert!(pool.alias_attributes().is_empty(), "{pool:?}");
    assert_eq!(
        pool.auto_verified_attributes(),
        [VerifiedAttributeType::Email]
    );
    assert_eq!(pool.mfa_configuration(), Some(&UserPoolMfaType::Off));
    let policy = pool
        .policies()
        .and_then(|p| p.password_policy())
        .expect("a password policy");
    assert_eq!(policy.minimum_length(), Some(10));
    assert!(policy.require_numbers() && policy.require_symbols());
    assert!(!policy.require_uppercase() && !policy.require_lowercase());
    assert_eq!(policy.temporary_password_validity_days(), 7);
    assert_eq!(attribute(&pool, "email").required(), Some(true));
    let department = attribute(&pool, "custom:department");
    assert_eq!(
        department.attribute_data_type().map(|t| t.as_str()),
        Some("String")
    );
    assert_eq!(department.mutable(), Some(true));
    assert_eq!(department.required(), Some(false));
    assert_eq!(
        department
            .string_attribute_constraints()
            .and_then(|c| c.max_length()),
        Some("64")
    );
    assert_eq!(
        pool.lambda_config().and_then(|l| l.pre_sign_up()),
        Some(function_arn.as_str())
    );
    assert_eq!(pool.email_verification_subject(), Some("Your code"));
    assert_eq!(
        pool.email_verification_message(),
        Some("Your code is {####}")
    );
    assert_eq!(
        pool.deletion_protection(),
        Some(&DeletionProtectionType::Inactive)
    );
    let tags = pool.user_pool_tags().expect("pool tags");
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack), "{tags:?}");
    assert_eq!(
        tags.get(OWNER_ID_TAG).map(String::as_str),
        Some("user_pool.users")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("mobile"));

    // Cognito may invoke the trigger, for this pool only.
    let policy = w.function_policy("autoConfirm").await;
    assert!(allows_pool(&policy, &pool_arn), "{policy:#}");

    // The client: no secret, the two flows.
    let clients = cognito(&w)
        .list_user_pool_clients()
        .user_pool_id(&id)
        .send()
        .await
        .expect("cognito-idp:ListUserPoolClients");
    assert_eq!(clients.user_pool_clients().len(), 1, "{clients:?}");
    let client_id = clients.user_pool_clients()[0]
        .client_id()
        .expect("client id")
        .to_string();
    let client = cognito(&w)
        .describe_user_pool_client()
        .user_pool_id(&id)
        .client_id(&client_id)
        .send()
        .await
        .expect("cognito-idp:DescribeUserPoolClient")
        .user_pool_client
        .expect("a client");
    assert_eq!(client.client_name(), Some("ios"));
    assert!(client.client_secret().is_none(), "the client has a secret");
    let mut flows: Vec<&str> = client
        .explicit_auth_flows()
        .iter()
        .map(ExplicitAuthFlowsType::as_str)
        .collect();
    flows.sort();
    assert_eq!(flows, ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]);

    // The group.
    let group = cognito(&w)
        .get_group()
        .user_pool_id(&id)
        .group_name("admins")
        .send()
        .await
        .expect("cognito-idp:GetGroup")
        .group
        .expect("a group");
    assert_eq!(group.precedence(), Some(0));
    assert_eq!(group.description(), Some("Administrators"));
    assert_eq!(
        group.role_arn(),
        Some(format!("arn:aws:iam::{}:role/admins", w.account).as_str())
    );

    // Converged: no changes, reads only, and few of them.
    let log = w.path("plan-calls.log");
    w.run_logged(&["plan", "--detailed-exitcode"], &log)
        .code(0)
        .stdout_has("No changes");
    let calls = read_call_log(&log);
    eprintln!(
        "converged plan of a pool with one client and one group: {} AWS calls: {}",
        calls.len(),
        summary(&calls)
    );
    assert!(
        calls.iter().any(|c| c.ends_with(":DescribeUserPool")),
        "{calls:?}"
    );
    assert!(mutating(&calls).is_empty(), "plan mutated: {calls:?}");
    // Six reads for the pool, its trigger's policy, the client and the group,
    // plus the fixed discovery overhead of every plan: STS, the tagging API and
    // one listing each of user pools, identity pools, IAM roles, REST APIs,
    // Lambda functions and CloudFront distributions.
    assert!(calls.len() <= 13, "{}", summary(&calls));
    // The plan never shows a client secret (there is none here) nor a secret field.
    let plan = w.run(&["plan", "--json"]);
    plan.code(0);
    assert!(!plan.stdout.contains("ClientSecret") && !plan.stdout.contains("client_secret"));

    // A setting the stack does not manage, changed out of band, must survive updates.
    cognito(&w)
        .update_user_pool()
        .user_pool_id(&id)
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .allow_admin_create_user_only(true)
                .build(),
        )
        .send()
        .await
        .expect("cognito-idp:UpdateUserPool (out of band)");
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // In place: a stricter password policy and a new custom attribute.
    w.write_stack(&pool_stack(
        &w,
        "{ min_length = 12, require_numbers = true, require_symbols = true }",
        r#"attributes."custom:team" = { type = "string" }"#,
        EMAIL_USERNAME,
    ));
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ user_pool.users");
    let plan = w.run(&["plan", "--json"]);
    plan.code(0);
    let plan = plan.json();
    assert_eq!(actions_of(&plan, "user_pool.users"), ["update"]);
    assert_eq!(actions_of(&plan, "user_pool.users.clients.ios"), ["no-op"]);
    let pool_change = change_of(&plan, "user_pool.users");
    let paths: Vec<&str> = pool_change["change"]["attributes"]
        .as_array()
        .expect("change.attributes")
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    assert!(paths.contains(&"password_policy.min_length"), "{paths:?}");
    assert!(paths.contains(&"new_attributes.custom:team"), "{paths:?}");
    assert!(
        pool_change["replace_paths"]
            .as_array()
            .is_some_and(|p| p.is_empty()),
        "{plan:#}"
    );
    w.run(&["up", "--auto-approve"]).code(0);
    let pool = describe(&w, &id).await;
    assert_eq!(
        pool.policies()
            .and_then(|p| p.password_policy())
            .and_then(|p| p.minimum_length()),
        Some(12)
    );
    attribute(&pool, "custom:team");
    attribute(&pool, "custom:department");
    assert_eq!(attribute(&pool, "email").required(), Some(true));
    assert_eq!(
        pool.lambda_config().and_then(|l| l.pre_sign_up()),
        Some(function_arn.as_str())
    );
    assert_eq!(
        pool.email_verification_message(),
        Some("Your code is {####}")
    );
    assert_eq!(
        pool.admin_create_user_config()
            .map(|a| a.allow_admin_create_user_only()),
        Some(true),
        "a setting the stack does not manage was lost"
    );
    let tags = pool.user_pool_tags().expect("pool tags");
    assert_eq!(tags.get(OWNER_STACK_TAG), Some(&w.stack), "{tags:?}");
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Sign-in attributes cannot change: a replace that loses the users, refused
    // without --allow-replace.
    let replaced_stack = pool_stack(
        &w,
        "{ min_length = 12, require_numbers = true, require_symbols = true }",
        r#"attributes."custom:team" = { type = "string" }"#,
        r#"alias_attributes = ["email"]"#,
    );
    w.write_stack(&replaced_stack);
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("-/+ user_pool.users")
        .stdout_has("--allow-replace");
    let plan = w.run(&["plan", "--json"]);
    plan.code(0);
    let plan = plan.json();
    let replace_paths = change_of(&plan, "user_pool.users")["replace_paths"].clone();
    assert!(
        replace_paths
            .as_array()
            .is_some_and(|p| p.iter().any(|x| x == "username_attributes")
                && p.iter().any(|x| x == "alias_attributes")),
        "{plan:#}"
    );
    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("--allow-replace");
    assert_eq!(
        only_pool(&pools(&w).await, &name),
        id,
        "the pool did not survive"
    );

    w.run(&["up", "--auto-approve", "--allow-replace"]).code(0);
    let new_id = only_pool(&pools(&w).await, &name);
    assert_ne!(new_id, id, "the pool was not replaced");
    let pool = describe(&w, &new_id).await;
    assert!(pool.username_attributes().is_empty(), "{pool:?}");
    assert_eq!(pool.alias_attributes().len(), 1, "{pool:?}");
    attribute(&pool, "custom:department");
    attribute(&pool, "custom:team");
    let policy = w.function_policy("autoConfirm").await;
    assert!(
        allows_pool(&policy, pool.arn().expect("pool ARN")),
        "{policy:#}"
    );
    assert!(
        !allows_pool(&policy, &pool_arn),
        "the old pool's permission is left: {policy:#}"
    );
    // Its client and group were created again in the new pool by the same
    // `up`: nothing is left to do.
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    let clients = cognito(&w)
        .list_user_pool_clients()
        .user_pool_id(&new_id)
        .send()
        .await
        .expect("cognito-idp:ListUserPoolClients");
    assert_eq!(clients.user_pool_clients().len(), 1, "{clients:?}");
    cognito(&w)
        .get_group()
        .user_pool_id(&new_id)
        .group_name("admins")
        .send()
        .await
        .expect("the group in the new pool");

    // Destroy: nothing of the stack is left, the trigger's permission included.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(pools(&w).await.is_empty(), "{:?}", pools(&w).await);
    let policy = w.function_policy("autoConfirm").await;
    assert!(
        !allows_pool(&policy, pool.arn().expect("pool ARN")),
        "{policy:#}"
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("+ user_pool.users");
}

#[tokio::test]
async fn a_same_named_pool_of_someone_else_is_left_alone() {
    let w = World::new("namesake");
    w.create_function("autoConfirm").await;
    w.write_stack(&pool_stack(&w, PASSWORD, "", EMAIL_USERNAME));
    let name = w.name("users");
    let theirs = cognito(&w)
        .create_user_pool()
        .pool_name(&name)
        .user_pool_tags("team", "web")
        .send()
        .await
        .expect("cognito-idp:CreateUserPool (out of band)")
        .user_pool
        .and_then(|p| p.id)
        .expect("pool id");

    // Names are not unique: not a conflict, a pool of our own is created.
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("+ user_pool.users");
    w.run(&["up", "--auto-approve"]).code(0);
    let all = pools(&w).await;
    assert_eq!(all.iter().filter(|(_, n)| n == &name).count(), 2, "{all:?}");
    w.run(&["plan", "--detailed-exitcode"]).code(0);

    // Destroy deletes ours and only ours.
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert_eq!(pools(&w).await, vec![(theirs, name)]);
}

#[tokio::test]
async fn a_protected_pool_is_not_destroyed() {
    let w = World::new("guarded");
    w.write_stack(
        r#"
[user_pool.users]
username_attributes = ["email"]
deletion_protection = true
"#,
    );
    w.run(&["up", "--auto-approve"]).code(0);
    let id = only_pool(&pools(&w).await, &w.name("users"));
    assert_eq!(
        describe(&w, &id).await.deletion_protection(),
        Some(&DeletionProtectionType::Active)
    );
    // Refused before anything is deleted (the client and group stay too).
    w.run(&["destroy", "--auto-approve"])
        .code(1)
        .stderr_has("deletion_protection = false")
        .stderr_has("Nothing was changed");
    assert_eq!(only_pool(&pools(&w).await, &w.name("users")), id);

    // Switched off in place, then destroyed.
    w.write_stack(
        r#"
[user_pool.users]
username_attributes = ["email"]
"#,
    );
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("deletion_protection");
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
    assert!(pools(&w).await.is_empty());
}

#[tokio::test]
async fn a_missing_trigger_function_is_an_error_that_names_the_trigger() {
    let w = World::new("notrigger");
    w.write_stack(
        r#"
[user_pool.users]
username_attributes = ["email"]
triggers.post_confirmation = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:missing"
"#,
    );
    w.run(&["up", "--auto-approve"])
        .code(1)
        .stderr_has("post_confirmation");
    // Once the function exists, `up` converges: the permission is added.
    w.create_function("missing").await;
    w.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("trigger_permissions");
    w.run(&["up", "--auto-approve"]).code(0);
    w.run(&["plan", "--detailed-exitcode"]).code(0);
    w.run(&["destroy", "--auto-approve"]).code(0);
}
