//! `[user_pool.<key>]` — a Cognito user pool. Its app clients and groups are
//! steps of their own (`user_pool_client.rs`, `user_pool_group.rs`).
//!
//! User pool names are not unique: a pool is found by listing the pools with
//! the desired name and keeping the one whose ownership tags say it is ours
//! (tags come with `DescribeUserPool`, and go with `CreateUserPool`, so a pool
//! never exists without its owner). A same-named pool that is not ours is left
//! alone and a new one is created; two that claim to be ours are an error.
//!
//! `UpdateUserPool` resets every setting it is not sent, so an update starts
//! from a fresh `DescribeUserPool` and overwrites only what the stack manages:
//! e-mail and SMS configuration, admin-create-user settings, account recovery,
//! add-ons, custom sender triggers and the rest are sent back as they are.
//!
//! Replace-forcing schema changes: AWS can add custom attributes to a pool
//! (`AddCustomAttributes`) but can never remove one or change an attribute's
//! type, constraints, mutability or `required`. The plan classifies per
//! top-level attribute, so the schema is split in two:
//! - `attributes` (forces replacement): every attribute the pool *has* — the
//!   standard attributes whose settings differ from Cognito's defaults, and the
//!   custom attributes that exist in the pool. On the stack side it holds the
//!   declared attributes that the live pool already has (all of them when
//!   there is no pool yet); the names come from the pool's `custom_attributes`
//!   output. So removing, retyping or re-constraining an attribute, or changing
//!   `required`, differs here and forces replacement;
//! - `new_attributes` (in place): the declared custom attributes the pool does
//!   not have yet; always empty in AWS. Adding one differs only here and is
//!   applied with `AddCustomAttributes`.

use schemars::JsonSchema;

use super::function::FunctionRef;
use super::user_pool_client::UserPoolClientSpec;
use super::user_pool_group::UserPoolGroupSpec;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AttributeDataType, DeletionProtectionType, LambdaConfigType,
    NumberAttributeConstraintsType, PasswordPolicyType, SchemaAttributeType,
    SoftwareTokenMfaConfigType, StringAttributeConstraintsType, UserPoolMfaType,
    UserPoolPolicyType, UserPoolType, UsernameAttributeType, VerificationMessageTemplateType,
    VerifiedAttributeType,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{ResourceKind, Step};
use super::{tag_changes, Change, Desired, DesiredContext, Error, Live, Outputs, Target};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::reference::nearest;
use crate::stack::Tags;
use crate::stack::{Address, Kind, Part, Stack};

// ------------------------------------------------------------ schema ----

// Shape only: provisioning arrives with the Cognito issue.

/// `[user_pool.<key>]` — a Cognito user pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPoolSpec {
    /// Physical name; default `<stack>-<key>`. User pools are found by their tags:
    /// names are not unique.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing user pool made outside this tool: the user pool's id, like `us-east-1_AbC123`. When the stack
    /// owns no user pool for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// What people sign in with instead of a username: `email`, `phone_number`. Not
    /// together with `alias_attributes`; changing it replaces the pool.
    #[serde(default)]
    pub username_attributes: Vec<String>,
    /// What people may sign in with besides their username: `email`, `phone_number`,
    /// `preferred_username`. Changing it replaces the pool.
    #[serde(default)]
    pub alias_attributes: Vec<String>,
    /// Attributes Cognito verifies by sending a code: `email`, `phone_number`.
    #[serde(default)]
    pub auto_verified_attributes: Vec<String>,
    /// Multi-factor authentication: `off`, `optional` or `on` (authenticator apps).
    #[serde(default)]
    pub mfa: Option<Mfa>,
    /// Rules for passwords.
    #[serde(default)]
    pub password_policy: Option<PasswordPolicySpec>,
    /// Standard (`email`) and custom (`custom:<name>`) attributes, by name. Adding a
    /// custom attribute is done in place; requiring, retyping or removing one replaces
    /// the pool.
    #[serde(default)]
    pub attributes: BTreeMap<String, UserPoolAttributeSpec>,
    /// Lambda triggers by their Cognito name (`pre_sign_up = "<function arn>"`).
    #[serde(default)]
    pub triggers: TriggersSpec,
    /// App clients, by key. Each is a step of its own after the pool
    /// (`user_pool.<key>.clients.<client>`).
    #[serde(default)]
    pub clients: BTreeMap<String, UserPoolClientSpec>,
    /// Groups, by name. Each is a step of its own after the pool.
    #[serde(default)]
    pub groups: BTreeMap<String, UserPoolGroupSpec>,
    /// Subject of the verification email.
    #[serde(default)]
    pub email_verification_subject: Option<String>,
    /// Body of the verification email; it holds the code as `{####}`.
    #[serde(default)]
    pub email_verification_message: Option<String>,
    /// Text of the verification SMS; it holds the code as `{####}`.
    #[serde(default)]
    pub sms_verification_message: Option<String>,
    /// A protected pool is never deleted: `destroy` stops and says to turn this off
    /// first.
    #[serde(default)]
    pub deletion_protection: bool,
    /// Tags of this pool, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// `triggers.<name> = "<lambda function arn>"` or `{ function = "<key>" }`:
/// one key per Cognito trigger, so a misspelt trigger name is an offline error.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggersSpec {
    /// Lambda function ARN run before a sign-up (e.g. to confirm users automatically).
    #[serde(default)]
    pub pre_sign_up: Option<FunctionRef>,
    /// Lambda function ARN run after a user is confirmed.
    #[serde(default)]
    pub post_confirmation: Option<FunctionRef>,
    /// Lambda function ARN run before a sign-in.
    #[serde(default)]
    pub pre_authentication: Option<FunctionRef>,
    /// Lambda function ARN run after a sign-in.
    #[serde(default)]
    pub post_authentication: Option<FunctionRef>,
    /// Lambda function ARN that may change the claims of the tokens.
    #[serde(default)]
    pub pre_token_generation: Option<FunctionRef>,
    /// Lambda function ARN that writes the verification and invitation messages.
    #[serde(default)]
    pub custom_message: Option<FunctionRef>,
    /// Lambda function ARN that moves users in from another directory at sign-in.
    #[serde(default)]
    pub user_migration: Option<FunctionRef>,
    /// Custom authentication flow: Lambda function ARN that decides the next challenge.
    #[serde(default)]
    pub define_auth_challenge: Option<FunctionRef>,
    /// Custom authentication flow: Lambda function ARN that creates a challenge.
    #[serde(default)]
    pub create_auth_challenge: Option<FunctionRef>,
    /// Custom authentication flow: Lambda function ARN that checks an answer.
    #[serde(default)]
    pub verify_auth_challenge_response: Option<FunctionRef>,
}

impl TriggersSpec {
    /// Each `{ function = "<key>" }` replaced by that function's ARN.
    fn resolve(&mut self, ctx: &super::DesiredContext<'_>) {
        for function in [
            &mut self.pre_sign_up,
            &mut self.post_confirmation,
            &mut self.pre_authentication,
            &mut self.post_authentication,
            &mut self.pre_token_generation,
            &mut self.custom_message,
            &mut self.user_migration,
            &mut self.define_auth_challenge,
            &mut self.create_auth_challenge,
            &mut self.verify_auth_challenge_response,
        ]
        .into_iter()
        .flatten()
        {
            *function = function.resolved(ctx);
        }
    }

    /// The triggers that are set, by their stack-file name.
    pub fn set(&self) -> Vec<(&'static str, &FunctionRef)> {
        [
            ("pre_sign_up", &self.pre_sign_up),
            ("post_confirmation", &self.post_confirmation),
            ("pre_authentication", &self.pre_authentication),
            ("post_authentication", &self.post_authentication),
            ("pre_token_generation", &self.pre_token_generation),
            ("custom_message", &self.custom_message),
            ("user_migration", &self.user_migration),
            ("define_auth_challenge", &self.define_auth_challenge),
            ("create_auth_challenge", &self.create_auth_challenge),
            (
                "verify_auth_challenge_response",
                &self.verify_auth_challenge_response,
            ),
        ]
        .into_iter()
        .filter_map(|(name, function)| function.as_ref().map(|f| (name, f)))
        .collect()
    }
}

/// Multi-factor authentication: `off`, `optional` or `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mfa {
    Off,
    Optional,
    On,
}

/// Rules for the passwords of a user pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicySpec {
    /// Minimum length.
    #[serde(default)]
    pub min_length: Option<i64>,
    /// Require a digit.
    #[serde(default)]
    pub require_numbers: Option<bool>,
    /// Require a symbol.
    #[serde(default)]
    pub require_symbols: Option<bool>,
    /// Require an uppercase letter.
    #[serde(default)]
    pub require_uppercase: Option<bool>,
    /// Require a lowercase letter.
    #[serde(default)]
    pub require_lowercase: Option<bool>,
    /// Days a temporary password (of a user an administrator created) stays valid.
    #[serde(default)]
    pub temporary_password_validity_days: Option<i64>,
}

/// A user attribute: `email`, or `custom:<name>`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPoolAttributeSpec {
    /// `string`, `number`, `datetime` or `boolean`.
    #[serde(default, rename = "type")]
    pub attribute_type: Option<AttributeType>,
    /// Every user must have it (standard attributes only).
    #[serde(default)]
    pub required: bool,
    /// Whether it may change after sign-up.
    #[serde(default)]
    pub mutable: Option<bool>,
    /// Shortest value of a string attribute.
    #[serde(default)]
    pub min_length: Option<i64>,
    /// Longest value of a string attribute.
    #[serde(default)]
    pub max_length: Option<i64>,
    /// Smallest value of a number attribute.
    #[serde(default)]
    pub min_value: Option<i64>,
    /// Largest value of a number attribute.
    #[serde(default)]
    pub max_value: Option<i64>,
}

/// The type of a user attribute: `string`, `number`, `datetime` or `boolean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    String,
    Number,
    Datetime,
    Boolean,
}

crate::spec_fields!(UserPoolSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    // Found by name: a new name finds no pool, and the users stay behind.
    ("name", Change::Replace),
    ("username_attributes", Change::Replace),
    ("alias_attributes", Change::Replace),
    ("attributes", Change::Replace),
    ("new_attributes", Change::Update),
    ("auto_verified_attributes", Change::Update),
    ("mfa", Change::Update),
    ("password_policy", Change::Update),
    ("triggers", Change::Update),
    ("trigger_permissions", Change::Update),
    ("email_verification_subject", Change::Update),
    ("email_verification_message", Change::Update),
    ("sms_verification_message", Change::Update),
    ("deletion_protection", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): the verification messages. A pool
/// created without them reports Cognito's texts, at the top level and in
/// its `VerificationMessageTemplate` (which the read folds into these three):
/// `EmailVerificationMessage` and `SmsVerificationMessage` "Your
/// verification code is {####}. ", `EmailVerificationSubject` "Your
/// verification code" (the `describe-user-pool` example of the AWS CLI,
/// `awscli/examples/cognito-idp/describe-user-pool.rst`);
/// terraform-provider-aws `user_pool.go` marks `email_verification_message`,
/// `email_verification_subject`, `sms_verification_message` and every field
/// of `verification_message_template` Optional + Computed. Unset in the
/// stack, they are left as the pool has them, by the plan and by `update`.
/// Everything else has AWS's default in the desired value: MFA `off` (AWS:
/// `OFF`), Cognito's password policy, deletion protection off (`INACTIVE`).
pub(crate) const DEFAULTED: &[&str] = &[
    "email_verification_subject",
    "email_verification_message",
    "sms_verification_message",
];

/// `[user_pool.<key>]`: a Cognito user pool.
pub struct UserPoolKind;

impl Step for UserPoolKind {
    type Config = UserPoolConfig;
    type Spec = UserPoolSpec;
    const NOUN: &'static str = "Cognito user pool";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 3;
    const HOLDS_DATA: bool = true;

    fn data_loss(name: &str) -> String {
        format!("replacing user pool `{name}` deletes every user in it; they would have to sign up again")
    }

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        let mut spec = spec.clone();
        spec.triggers.resolve(ctx);
        desired(&spec, address, name, tags, ctx)
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        _parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        create(aws, desired).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        _parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        update(aws, desired, live).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    const OUTPUTS: &'static [&'static str] = &[
        "id",
        "arn",
        "name",
        "provider_name",
        "endpoint",
        "custom_attributes",
    ];
    /// `custom_attributes` is bookkeeping (which custom attributes the pool
    /// has, so a plan can classify schema changes), not a value an app uses.
    const INTERNAL_OUTPUTS: &'static [&'static str] = &["custom_attributes"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["id"];
    const SWIFT_SECTION: &'static str = "UserPools";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::SignIn);
}

impl ResourceKind for UserPoolKind {
    const NAME: &'static str = "user_pool";
    const DESCRIPTION: &'static str =
        "Cognito user pools, with their app clients and groups, by key.";
    const REFERENCES: &'static [&'static str] = &["id", "name", "arn", "provider_name", "endpoint"];

    fn keyed_part(table: &str, key: &str) -> Option<crate::stack::Part> {
        match table {
            "clients" => Some(crate::stack::Part::Client(key.to_string())),
            "groups" => Some(crate::stack::Part::Group(key.to_string())),
            _ => None,
        }
    }

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 128)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_alphanumeric() || c.is_whitespace() || "_+=,.@-".contains(c),
            "letters, digits, spaces and `_+=,.@-`",
        )
    }

    async fn warm(aws: &Aws, _declared: usize) {
        let _ = list(aws).await;
    }

    async fn find_owned(
        aws: &Aws,
        stack: &crate::stack::Stack,
        declared_names: &[String],
    ) -> Result<Vec<(Address, String)>, Error> {
        find_owned(aws, stack, declared_names).await
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        let address = c.address().clone();
        let u = spec;
        if !u.username_attributes.is_empty() && !u.alias_attributes.is_empty() {
            c.error(
                c.span(&["alias_attributes"]),
                format!("`{address}`: `username_attributes` and `alias_attributes` cannot both be set"),
                Some("choose one: users sign in with email/phone as username, or with a username plus aliases".into()),
            );
        }
        check_attribute_names(&address, u, c);
        for (trigger, function) in u.triggers.set() {
            if let Some(target) = function.address() {
                c.link(
                    address.clone(),
                    target,
                    c.span(&["triggers", trigger]),
                    "a trigger's `function`",
                    true,
                );
            }
        }
        // The kind's own offline checks (messages, trigger ARNs, flows).
        if let Err(e) = crate::resource::user_pool::check(u) {
            c.error(c.key_span(), format!("`{address}`: {e}"), None);
        }
        for (client, spec) in &u.clients {
            if let Err(e) = crate::resource::user_pool_client::check(client, spec) {
                c.error(
                    c.span(&["clients", client]),
                    format!("`{address}`: {e}"),
                    None,
                );
            }
        }
        // A group's role is a role of this stack when one has that key;
        // otherwise it names an existing role.
        for (group, g) in &u.groups {
            if let Some(role) = g
                .role
                .as_deref()
                .filter(|r| !r.starts_with("arn:") && !r.contains("${"))
            {
                c.link(
                    address.with_part(crate::stack::Part::Group(group.clone())),
                    Address::new(Kind::Role, role),
                    c.span(&["groups", group]),
                    "the group's `role`",
                    false,
                );
            }
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn", "id"];
    const ADOPT_LIST_RANK: u8 = 4;

    async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
        list(aws).await.map_err(|e| e.to_string())
    }

    async fn adopt_parts(
        aws: &Aws,
        stack: &str,
        found: &mut adopt::Found,
    ) -> Result<Vec<String>, String> {
        adopt_parts(aws, stack, found).await
    }

    fn adopt_write(
        writer: &mut adopt::Writer<'_>,
        found: &adopt::Found,
        section: &mut adopt::Section,
    ) {
        adopt_write(writer, found, section)
    }
}

/// Cognito's standard attributes (OpenID Connect claims).
const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
    "email_verified",
    "phone_number_verified",
];

/// Offline checks of the attribute names a user pool's settings use.
fn check_attribute_names(
    address: &Address,
    u: &UserPoolSpec,
    c: &mut crate::stack::Checks<'_, '_>,
) {
    let lists: [(&str, &Vec<String>, &[&str]); 3] = [
        (
            "username_attributes",
            &u.username_attributes,
            &["email", "phone_number"],
        ),
        (
            "alias_attributes",
            &u.alias_attributes,
            &["email", "phone_number", "preferred_username"],
        ),
        (
            "auto_verified_attributes",
            &u.auto_verified_attributes,
            &["email", "phone_number"],
        ),
    ];
    for (field, values, allowed) in lists {
        for v in values {
            if !allowed.contains(&v.as_str()) {
                c.error(
                    c.span(&[field]),
                    format!("`{address}`: `{v}` cannot be one of `{field}`"),
                    Some(
                        match crate::stack::reference::nearest(v, allowed.iter().copied()) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => format!("allowed: {}", allowed.join(", ")),
                        },
                    ),
                );
            }
        }
    }
    let mut custom = 0;
    for name in u.attributes.keys() {
        let span = c.span(&["attributes", name]);
        if let Some(rest) = name.strip_prefix("custom:") {
            custom += 1;
            let ok = (1..=20).contains(&rest.chars().count())
                && rest
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
            if !ok {
                c.error(
                        span,
                        format!("`{address}`: custom attribute `{name}` must be `custom:` and 1 to 20 letters, digits, `_` or `-`"),
                        None,
                    );
            }
        } else if !STANDARD_ATTRIBUTES.contains(&name.as_str()) {
            c.error(
                    span,
                    format!("`{address}`: `{name}` is not a standard attribute; custom attributes are written `\"custom:{name}\"`"),
                    crate::stack::reference::nearest(name, STANDARD_ATTRIBUTES.iter().copied()).map(|n| format!("did you mean `{n}`?")),
                );
        }
    }
    if custom > 50 {
        c.error(
            c.span(&["attributes"]),
            format!("`{address}`: {custom} custom attributes; a user pool has at most 50"),
            None,
        );
    }
}

/// The principal Cognito invokes Lambda triggers as.
const COGNITO_PRINCIPAL: &str = "cognito-idp.amazonaws.com";
/// Custom attribute names carry this prefix in AWS and in the stack file.
const CUSTOM_PREFIX: &str = "custom:";

/// The comparable shape of a user pool, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPoolConfig {
    pub name: String,
    pub username_attributes: Vec<String>,
    pub alias_attributes: Vec<String>,
    /// Attributes the pool has (see the module documentation).
    pub attributes: BTreeMap<String, AttributeConfig>,
    /// Custom attributes to add to an existing pool.
    pub new_attributes: BTreeMap<String, AttributeConfig>,
    pub auto_verified_attributes: Vec<String>,
    pub mfa: Mfa,
    pub password_policy: PasswordPolicyConfig,
    /// Trigger name (as in the stack file) → Lambda function ARN.
    pub triggers: BTreeMap<String, String>,
    /// The triggers whose function lets this pool invoke it.
    pub trigger_permissions: Vec<String>,
    pub email_verification_subject: Option<String>,
    pub email_verification_message: Option<String>,
    pub sms_verification_message: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
}

/// One schema attribute, with every default filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeConfig {
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    pub required: bool,
    pub mutable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicyConfig {
    pub min_length: i64,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub temporary_password_validity_days: i64,
}

impl PasswordPolicyConfig {
    /// Cognito's policy for a pool created without one.
    pub fn aws_default() -> Self {
        PasswordPolicyConfig {
            min_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }
}

// ------------------------------------------------- standard attributes ----

/// Cognito's standard attributes and their settings in a new pool.
const STANDARD: &[(&str, AttributeType, Option<i64>, Option<i64>)] = &[
    ("sub", AttributeType::String, Some(1), Some(2048)),
    ("name", AttributeType::String, Some(0), Some(2048)),
    ("given_name", AttributeType::String, Some(0), Some(2048)),
    ("family_name", AttributeType::String, Some(0), Some(2048)),
    ("middle_name", AttributeType::String, Some(0), Some(2048)),
    ("nickname", AttributeType::String, Some(0), Some(2048)),
    (
        "preferred_username",
        AttributeType::String,
        Some(0),
        Some(2048),
    ),
    ("profile", AttributeType::String, Some(0), Some(2048)),
    ("picture", AttributeType::String, Some(0), Some(2048)),
    ("website", AttributeType::String, Some(0), Some(2048)),
    ("email", AttributeType::String, Some(0), Some(2048)),
    ("email_verified", AttributeType::Boolean, None, None),
    ("gender", AttributeType::String, Some(0), Some(2048)),
    ("birthdate", AttributeType::String, Some(10), Some(10)),
    ("zoneinfo", AttributeType::String, Some(0), Some(2048)),
    ("locale", AttributeType::String, Some(0), Some(2048)),
    ("phone_number", AttributeType::String, Some(0), Some(2048)),
    ("phone_number_verified", AttributeType::Boolean, None, None),
    ("address", AttributeType::String, Some(0), Some(2048)),
    ("updated_at", AttributeType::Number, None, None),
];

/// A standard attribute as a new pool has it.
pub(crate) fn standard_default(name: &str) -> Option<AttributeConfig> {
    let (_, attribute_type, min_length, max_length) = STANDARD.iter().find(|(n, ..)| *n == name)?;
    Some(AttributeConfig {
        attribute_type: *attribute_type,
        required: name == "sub",
        mutable: name != "sub",
        min_length: *min_length,
        max_length: *max_length,
        min_value: (name == "updated_at").then_some(0),
        max_value: None,
    })
}

/// Fills in what Cognito assumes when a constraint is not given: strings are
/// 0 to 2048 characters; other types have no length.
fn normalize(mut a: AttributeConfig) -> AttributeConfig {
    if a.attribute_type == AttributeType::String {
        a.min_length = Some(a.min_length.unwrap_or(0));
        a.max_length = Some(a.max_length.unwrap_or(2048));
    } else {
        a.min_length = None;
        a.max_length = None;
    }
    if a.attribute_type != AttributeType::Number {
        a.min_value = None;
        a.max_value = None;
    }
    a
}

fn type_name(t: AttributeType) -> &'static str {
    match t {
        AttributeType::String => "string",
        AttributeType::Number => "number",
        AttributeType::Datetime => "datetime",
        AttributeType::Boolean => "boolean",
    }
}

/// The attribute a declaration asks for, or why it cannot be.
fn declared_attribute(name: &str, spec: &UserPoolAttributeSpec) -> Result<AttributeConfig, String> {
    let custom = name.strip_prefix(CUSTOM_PREFIX);
    let base = match custom {
        Some(short) => {
            if short.is_empty() || short.chars().count() > 20 || short.contains(char::is_whitespace)
            {
                return Err(format!(
                    "custom attribute `{name}`: the name after `custom:` must be 1 to 20 characters without spaces"
                ));
            }
            if spec.required {
                return Err(format!(
                    "custom attribute `{name}` cannot be required (Cognito requires only standard attributes)"
                ));
            }
            AttributeConfig {
                attribute_type: spec.attribute_type.unwrap_or(AttributeType::String),
                required: false,
                mutable: true,
                min_length: None,
                max_length: None,
                min_value: None,
                max_value: None,
            }
        }
        None => {
            let Some(default) = standard_default(name) else {
                let help = match nearest(name, STANDARD.iter().map(|(n, ..)| *n)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("a custom attribute is written `custom:{name}`"),
                };
                return Err(format!(
                    "`{name}` is not a standard Cognito attribute; {help}"
                ));
            };
            if let Some(t) = spec.attribute_type.filter(|t| *t != default.attribute_type) {
                return Err(format!(
                    "standard attribute `{name}` is a {}, not a {}",
                    type_name(default.attribute_type),
                    type_name(t)
                ));
            }
            AttributeConfig {
                required: spec.required,
                ..default
            }
        }
    };
    let t = base.attribute_type;
    if (spec.min_length.is_some() || spec.max_length.is_some()) && t != AttributeType::String {
        return Err(format!(
            "attribute `{name}`: `min_length`/`max_length` are for string attributes, and it is a {}",
            type_name(t)
        ));
    }
    if (spec.min_value.is_some() || spec.max_value.is_some()) && t != AttributeType::Number {
        return Err(format!(
            "attribute `{name}`: `min_value`/`max_value` are for number attributes, and it is a {}",
            type_name(t)
        ));
    }
    for (field, v) in [
        ("min_length", spec.min_length),
        ("max_length", spec.max_length),
    ] {
        if v.is_some_and(|v| !(0..=2048).contains(&v)) {
            return Err(format!("attribute `{name}`: `{field}` must be 0 to 2048"));
        }
    }
    if let (Some(min), Some(max)) = (spec.min_length, spec.max_length) {
        if min > max {
            return Err(format!(
                "attribute `{name}`: `min_length` is above `max_length`"
            ));
        }
    }
    if let (Some(min), Some(max)) = (spec.min_value, spec.max_value) {
        if min > max {
            return Err(format!(
                "attribute `{name}`: `min_value` is above `max_value`"
            ));
        }
    }
    let a = AttributeConfig {
        mutable: spec.mutable.unwrap_or(base.mutable),
        min_length: spec.min_length.or(base.min_length),
        max_length: spec.max_length.or(base.max_length),
        min_value: spec.min_value.or(base.min_value),
        max_value: spec.max_value.or(base.max_value),
        ..base
    };
    Ok(if custom.is_some() { normalize(a) } else { a })
}

// -------------------------------------------------------------- desired ----

const USERNAME_ATTRIBUTES: &[&str] = &["email", "phone_number"];
const ALIAS_ATTRIBUTES: &[&str] = &["email", "phone_number", "preferred_username"];
const VERIFIED_ATTRIBUTES: &[&str] = &["email", "phone_number"];

fn checked_list(field: &str, values: &[String], allowed: &[&str]) -> Result<Vec<String>, String> {
    for v in values {
        if !allowed.contains(&v.as_str()) {
            let help = match nearest(v, allowed.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("one of: {}", allowed.join(", ")),
            };
            return Err(format!("`{field}` cannot hold `{v}`; {help}"));
        }
    }
    Ok(sorted(values))
}

fn sorted(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Every check of a user pool's settings that needs no AWS call. (The stack
/// loader checks `username_attributes` against `alias_attributes`; trigger
/// names are checked by the schema.)
pub(crate) fn check(spec: &UserPoolSpec) -> Result<(), String> {
    checked_list(
        "username_attributes",
        &spec.username_attributes,
        USERNAME_ATTRIBUTES,
    )?;
    checked_list("alias_attributes", &spec.alias_attributes, ALIAS_ATTRIBUTES)?;
    checked_list(
        "auto_verified_attributes",
        &spec.auto_verified_attributes,
        VERIFIED_ATTRIBUTES,
    )?;
    for (name, a) in &spec.attributes {
        declared_attribute(name, a)?;
    }
    let custom = spec
        .attributes
        .keys()
        .filter(|n| n.starts_with(CUSTOM_PREFIX))
        .count();
    if custom > 50 {
        return Err(format!(
            "{custom} custom attributes; a user pool has at most 50"
        ));
    }
    if let Some(p) = &spec.password_policy {
        if p.min_length.is_some_and(|n| !(6..=99).contains(&n)) {
            return Err("`password_policy.min_length` must be 6 to 99".into());
        }
        if p.temporary_password_validity_days
            .is_some_and(|n| !(0..=365).contains(&n))
        {
            return Err(
                "`password_policy.temporary_password_validity_days` must be 0 to 365".into(),
            );
        }
    }
    for (field, message) in [
        (
            "email_verification_message",
            &spec.email_verification_message,
        ),
        ("sms_verification_message", &spec.sms_verification_message),
    ] {
        if message.as_deref().is_some_and(|m| !m.contains("{####}")) {
            return Err(format!(
                "`{field}` must contain the code placeholder `{{####}}`"
            ));
        }
    }
    for (trigger, function) in spec.triggers.set() {
        // A stack function (`{ function = "<key>" }`) is checked as a link.
        let Some(arn) = function.arn() else {
            continue;
        };
        let unknown = arn.contains(crate::stack::reference::UNKNOWN);
        let lambda_arn = arn.starts_with("arn:") && arn.contains(":lambda:");
        if !(unknown || lambda_arn) {
            return Err(format!(
                "`triggers.{trigger}` must be a Lambda function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`), not `{arn}`"
            ));
        }
    }
    Ok(())
}

/// The custom attributes a live pool has, from its outputs (`None` while
/// there is no pool of ours).
fn live_custom_attributes(ctx: &DesiredContext<'_>, address: &Address) -> Option<BTreeSet<String>> {
    serde_json::from_str(&ctx.output(&address.resource(), "custom_attributes")).ok()
}

pub(crate) fn desired(
    spec: &UserPoolSpec,
    address: &Address,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let config = desired_config(
        spec,
        name,
        tags,
        live_custom_attributes(ctx, address).as_ref(),
    )?;
    serde_json::to_value(config).map_err(|e| e.to_string())
}

/// The stack's pool; `live_custom` names the custom attributes the live pool
/// already has (`None`: there is none).
pub(crate) fn desired_config(
    spec: &UserPoolSpec,
    name: &str,
    tags: Tags,
    live_custom: Option<&BTreeSet<String>>,
) -> Result<UserPoolConfig, String> {
    check(spec)?;
    let mut attributes = BTreeMap::new();
    let mut new_attributes = BTreeMap::new();
    for (attribute, a) in &spec.attributes {
        let config = declared_attribute(attribute, a)?;
        if attribute.starts_with(CUSTOM_PREFIX) {
            if live_custom.is_some_and(|live| !live.contains(attribute)) {
                new_attributes.insert(attribute.clone(), config);
            } else {
                attributes.insert(attribute.clone(), config);
            }
        } else if standard_default(attribute).as_ref() != Some(&config) {
            attributes.insert(attribute.clone(), config);
        }
    }
    let password_policy = match &spec.password_policy {
        None => PasswordPolicyConfig::aws_default(),
        // As AWS does: what a given policy does not require, it does not.
        Some(p) => PasswordPolicyConfig {
            min_length: p.min_length.unwrap_or(8),
            require_uppercase: p.require_uppercase.unwrap_or(false),
            require_lowercase: p.require_lowercase.unwrap_or(false),
            require_numbers: p.require_numbers.unwrap_or(false),
            require_symbols: p.require_symbols.unwrap_or(false),
            temporary_password_validity_days: p.temporary_password_validity_days.unwrap_or(7),
        },
    };
    let mut triggers: BTreeMap<String, String> = BTreeMap::new();
    for (trigger, function) in spec.triggers.set() {
        let arn = function.arn().ok_or_else(|| {
            format!("`triggers.{trigger}`: the function's ARN is not resolved yet")
        })?;
        triggers.insert(trigger.to_string(), arn.to_string());
    }
    Ok(UserPoolConfig {
        name: name.to_string(),
        username_attributes: sorted(&spec.username_attributes),
        alias_attributes: sorted(&spec.alias_attributes),
        attributes,
        new_attributes,
        auto_verified_attributes: sorted(&spec.auto_verified_attributes),
        mfa: spec.mfa.unwrap_or(Mfa::Off),
        password_policy,
        trigger_permissions: triggers.keys().cloned().collect(),
        triggers,
        // Empty is unset, as the read has it: AWS's text stays.
        email_verification_subject: non_empty(spec.email_verification_subject.as_deref()),
        email_verification_message: non_empty(spec.email_verification_message.as_deref()),
        sms_verification_message: non_empty(spec.sms_verification_message.as_deref()),
        deletion_protection: spec.deletion_protection,
        tags,
    })
}

// ----------------------------------------------------- AWS ↔ config ----

fn attribute_type_of(t: Option<&AttributeDataType>) -> AttributeType {
    match t {
        Some(AttributeDataType::Number) => AttributeType::Number,
        Some(AttributeDataType::Datetime) => AttributeType::Datetime,
        Some(AttributeDataType::Boolean) => AttributeType::Boolean,
        _ => AttributeType::String,
    }
}

fn sdk_attribute_type(t: AttributeType) -> AttributeDataType {
    match t {
        AttributeType::String => AttributeDataType::String,
        AttributeType::Number => AttributeDataType::Number,
        AttributeType::Datetime => AttributeDataType::Datetime,
        AttributeType::Boolean => AttributeDataType::Boolean,
    }
}

fn number(s: Option<&str>) -> Option<i64> {
    s.and_then(|s| s.trim().parse().ok())
}

fn attribute_from(a: &SchemaAttributeType) -> AttributeConfig {
    let strings = a.string_attribute_constraints();
    let numbers = a.number_attribute_constraints();
    AttributeConfig {
        attribute_type: attribute_type_of(a.attribute_data_type()),
        required: a.required().unwrap_or(false),
        mutable: a.mutable().unwrap_or(true),
        min_length: number(strings.and_then(|c| c.min_length())),
        max_length: number(strings.and_then(|c| c.max_length())),
        min_value: number(numbers.and_then(|c| c.min_value())),
        max_value: number(numbers.and_then(|c| c.max_value())),
    }
}

/// The schema attributes of a pool, as the stack compares them: custom
/// attributes, and standard ones whose settings differ from a new pool's.
/// Developer-only (`dev:`) and unknown attributes are not the stack's.
fn attributes_from(pool: &UserPoolType) -> BTreeMap<String, AttributeConfig> {
    let mut out = BTreeMap::new();
    for a in pool.schema_attributes() {
        let Some(name) = a.name() else { continue };
        let config = attribute_from(a);
        if name.starts_with(CUSTOM_PREFIX) {
            out.insert(name.to_string(), normalize(config));
        } else if let Some(default) = standard_default(name) {
            let config = if config.attribute_type == AttributeType::String {
                AttributeConfig {
                    min_length: config.min_length.or(default.min_length),
                    max_length: config.max_length.or(default.max_length),
                    ..config
                }
            } else {
                AttributeConfig {
                    min_value: config.min_value.or(default.min_value),
                    ..config
                }
            };
            if config != default {
                out.insert(name.to_string(), config);
            }
        }
    }
    out
}

fn custom_attribute_names(pool: &UserPoolType) -> Vec<String> {
    pool.schema_attributes()
        .iter()
        .filter_map(|a| a.name())
        .filter(|n| n.starts_with(CUSTOM_PREFIX))
        .map(str::to_string)
        .collect()
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// The triggers this tool manages, as set in a Lambda configuration.
fn triggers_from(c: &LambdaConfigType) -> BTreeMap<String, String> {
    let pre_token = c.pre_token_generation().or_else(|| {
        c.pre_token_generation_config()
            .map(|p| p.lambda_arn())
            .filter(|a| !a.is_empty())
    });
    [
        ("pre_sign_up", c.pre_sign_up()),
        ("post_confirmation", c.post_confirmation()),
        ("pre_authentication", c.pre_authentication()),
        ("post_authentication", c.post_authentication()),
        ("pre_token_generation", pre_token),
        ("custom_message", c.custom_message()),
        ("user_migration", c.user_migration()),
        ("define_auth_challenge", c.define_auth_challenge()),
        ("create_auth_challenge", c.create_auth_challenge()),
        (
            "verify_auth_challenge_response",
            c.verify_auth_challenge_response(),
        ),
    ]
    .into_iter()
    .filter_map(|(t, arn)| non_empty(arn).map(|a| (t.to_string(), a)))
    .collect()
}

/// Sets the managed triggers in `c` (others, like custom senders, are kept).
fn set_triggers(c: &mut LambdaConfigType, triggers: &BTreeMap<String, String>) {
    let get = |t: &str| triggers.get(t).cloned();
    c.pre_sign_up = get("pre_sign_up");
    c.post_confirmation = get("post_confirmation");
    c.pre_authentication = get("pre_authentication");
    c.post_authentication = get("post_authentication");
    c.custom_message = get("custom_message");
    c.user_migration = get("user_migration");
    c.define_auth_challenge = get("define_auth_challenge");
    c.create_auth_challenge = get("create_auth_challenge");
    c.verify_auth_challenge_response = get("verify_auth_challenge_response");
    c.pre_token_generation = get("pre_token_generation");
    // The versioned form names the same function; keep its version, follow the ARN.
    match (
        get("pre_token_generation"),
        c.pre_token_generation_config.as_mut(),
    ) {
        (Some(arn), Some(versioned)) => versioned.lambda_arn = arn,
        (None, Some(_)) => c.pre_token_generation_config = None,
        _ => {}
    }
}

fn mfa_from(pool: &UserPoolType) -> Mfa {
    match pool.mfa_configuration() {
        Some(UserPoolMfaType::On) => Mfa::On,
        Some(UserPoolMfaType::Optional) => Mfa::Optional,
        _ => Mfa::Off,
    }
}

fn sdk_mfa(m: Mfa) -> UserPoolMfaType {
    match m {
        Mfa::Off => UserPoolMfaType::Off,
        Mfa::Optional => UserPoolMfaType::Optional,
        Mfa::On => UserPoolMfaType::On,
    }
}

fn tags_of(pool: &UserPoolType) -> Tags {
    pool.user_pool_tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// A pool as the stack compares it; `permitted` are the triggers whose
/// function lets the pool invoke it.
pub(crate) fn config_from(pool: &UserPoolType, permitted: Vec<String>) -> UserPoolConfig {
    let strings = |v: Vec<&str>| -> Vec<String> {
        let v: Vec<String> = v.into_iter().map(str::to_string).collect();
        sorted(&v)
    };
    let password_policy = pool
        .policies()
        .and_then(|p| p.password_policy())
        .map(|p| PasswordPolicyConfig {
            min_length: i64::from(p.minimum_length().unwrap_or(8)),
            require_uppercase: p.require_uppercase(),
            require_lowercase: p.require_lowercase(),
            require_numbers: p.require_numbers(),
            require_symbols: p.require_symbols(),
            temporary_password_validity_days: i64::from(p.temporary_password_validity_days()),
        })
        .unwrap_or_else(PasswordPolicyConfig::aws_default);
    let template = pool.verification_message_template();
    UserPoolConfig {
        name: pool.name().unwrap_or_default().to_string(),
        username_attributes: strings(
            pool.username_attributes()
                .iter()
                .map(|a| a.as_str())
                .collect(),
        ),
        alias_attributes: strings(pool.alias_attributes().iter().map(|a| a.as_str()).collect()),
        attributes: attributes_from(pool),
        new_attributes: BTreeMap::new(),
        auto_verified_attributes: strings(
            pool.auto_verified_attributes()
                .iter()
                .map(|a| a.as_str())
                .collect(),
        ),
        mfa: mfa_from(pool),
        password_policy,
        triggers: pool.lambda_config().map(triggers_from).unwrap_or_default(),
        trigger_permissions: sorted(&permitted),
        email_verification_subject: non_empty(pool.email_verification_subject())
            .or_else(|| non_empty(template.and_then(|t| t.email_subject()))),
        email_verification_message: non_empty(pool.email_verification_message())
            .or_else(|| non_empty(template.and_then(|t| t.email_message()))),
        sms_verification_message: non_empty(pool.sms_verification_message())
            .or_else(|| non_empty(template.and_then(|t| t.sms_message()))),
        deletion_protection: pool.deletion_protection() == Some(&DeletionProtectionType::Active),
        tags: tags_of(pool),
    }
}

fn pool_arn(aws: &Aws, id: &str) -> String {
    format!(
        "arn:{}:cognito-idp:{}:{}:userpool/{id}",
        aws.partition, aws.region, aws.account_id
    )
}

/// What other resources may reference, plus `custom_attributes` (a JSON list
/// of the pool's custom attribute names; see the module documentation).
fn outputs(aws: &Aws, id: &str, arn: &str, name: &str, custom: &[String]) -> Outputs {
    let mut custom = custom.to_vec();
    custom.sort();
    custom.dedup();
    Outputs::from([
        ("id".to_string(), id.to_string()),
        ("arn".to_string(), arn.to_string()),
        ("name".to_string(), name.to_string()),
        (
            "provider_name".to_string(),
            format!("cognito-idp.{}.amazonaws.com/{id}", aws.region),
        ),
        (
            "endpoint".to_string(),
            format!("https://cognito-idp.{}.amazonaws.com/{id}", aws.region),
        ),
        (
            "custom_attributes".to_string(),
            serde_json::to_string(&custom).unwrap_or_else(|_| "[]".into()),
        ),
    ])
}

fn outputs_of(aws: &Aws, pool: &UserPoolType) -> Outputs {
    let id = pool.id().unwrap_or_default();
    let arn = pool
        .arn()
        .map(str::to_string)
        .unwrap_or_else(|| pool_arn(aws, id));
    outputs(
        aws,
        id,
        &arn,
        pool.name().unwrap_or_default(),
        &custom_attribute_names(pool),
    )
}

// ------------------------------------------------------------------ read ----

/// Every user pool in the account, as (id, name); one listing is shared by
/// the reads in flight at once (every declared pool's, and the search for
/// pools removed from the stack, and adopt's scan).
async fn list(aws: &Aws) -> Result<Vec<(String, String)>, Error> {
    super::flight::shared(aws, "cognito-idp:ListUserPools", || list_all(aws)).await
}

async fn list_all(aws: &Aws) -> Result<Vec<(String, String)>, Error> {
    super::all_pages(|token| async move {
        let out = aws
            .cognito_idp
            .list_user_pools()
            .max_results(60)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("cognito-idp:ListUserPools", &e))?;
        let pools = out
            .user_pools()
            .iter()
            .filter_map(|p| Some((p.id()?.to_string(), p.name()?.to_string())))
            .collect();
        Ok((pools, out.next_token))
    })
    .await
}

async fn describe(aws: &Aws, id: &str) -> Result<Option<UserPoolType>, Error> {
    match aws
        .cognito_idp
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.user_pool),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(Error::aws("cognito-idp:DescribeUserPool", &e)),
    }
}

/// Reads the pool: ListUserPools, then DescribeUserPool of each pool with
/// the wanted name (its tags say whether it is ours). In a plan, when one
/// pool has that name and the stack declares clients, its clients are
/// listed at the same time as it is described (for their reads, which then
/// need one round trip less); a pool found not to be ours costs that one
/// listing.
pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let listed = list(aws).await?;
    let named: Vec<String> = listed
        .iter()
        .filter(|(_, n)| n == target.name)
        .map(|(id, _)| id.clone())
        .collect();
    let spec = match target.spec {
        Some(crate::stack::Spec::UserPool(s)) => Some(s),
        _ => None,
    };
    // The parts' first reads, beside the pool's whole read: they would wait
    // for it (trigger permissions included) otherwise.
    let prefetch = async {
        if let ([id], Some(spec)) = (named.as_slice(), spec) {
            tokio::join!(
                super::user_pool_client::prefetch(aws, target.plan, id, spec),
                super::user_pool_group::prefetch(aws, target.plan, id, spec),
            );
        }
    };
    let (read, ()) = tokio::join!(read_found(aws, target, listed), prefetch);
    read
}

/// The pool named like `target` among the `listed` ones, if it is ours (or
/// adopted), with the permissions of its triggers.
async fn read_found(
    aws: &Aws,
    target: &Target<'_>,
    listed: Vec<(String, String)>,
) -> Result<Option<Live>, Error> {
    let found = super::find_one_ours(
        "user pool",
        listed,
        target,
        |id| async move { describe(aws, &id).await },
        tags_of,
    )
    .await?;
    let Some((_, pool, ownership)) = found else {
        return Ok(None);
    };
    let outputs = outputs_of(aws, &pool);
    let triggers = pool.lambda_config().map(triggers_from).unwrap_or_default();
    let permitted = permitted_triggers(aws, &triggers, &outputs["arn"]).await?;
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config_from(&pool, permitted))
            .map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs,
        ownership,
    }))
}

/// User pools this stack owns, by their tags, among the pools whose name
/// starts like the stack's default names (`<stack>-`) and is none of the
/// declared `names` (those are read directly): finds pools removed from the
/// stack file or renamed.
pub(crate) async fn find_owned(
    aws: &Aws,
    stack: &Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    let prefix = format!("{}-", stack.name);
    let listed = list(aws).await?;
    super::find_owned_leftovers(
        stack,
        Kind::UserPool,
        &prefix,
        names,
        listed,
        |id| async move { describe(aws, &id).await },
        tags_of,
    )
    .await
}

// ------------------------------------------------- Lambda permissions ----

/// The statement id of the permission for one trigger of one pool: fixed, so
/// adding it again is a no-op (`ResourceConflictException`).
fn statement_id(pool_id: &str, trigger: &str) -> String {
    let id: String = format!("mobile-backend-{pool_id}-{trigger}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    id.chars().take(100).collect()
}

/// Whether a function's resource policy lets Cognito invoke it for `pool_arn`.
pub(crate) fn policy_allows_pool(policy: &str, pool_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    let has = |v: Option<&Value>, want: &dyn Fn(&str) -> bool| match v {
        Some(Value::String(s)) => want(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(want),
        _ => false,
    };
    statements.iter().any(|s| {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let principal = has(s.get("Principal").and_then(|p| p.get("Service")), &|p| {
            p == COGNITO_PRINCIPAL
        });
        let action = has(s.get("Action"), &|a| {
            a == "lambda:InvokeFunction" || a == "lambda:*" || a == "*"
        });
        // No source condition allows every pool, this one included.
        let source_ok = match s.get("Condition").and_then(Value::as_object) {
            None => true,
            Some(conditions) => {
                let sources: Vec<&Value> = conditions
                    .values()
                    .filter_map(Value::as_object)
                    .flat_map(|o| o.iter())
                    .filter(|(k, _)| k.eq_ignore_ascii_case("aws:SourceArn"))
                    .map(|(_, v)| v)
                    .collect();
                sources.is_empty() || sources.iter().any(|v| has(Some(v), &|a| a == pool_arn))
            }
        };
        allow && principal && action && source_ok
    })
}

/// The triggers whose function's policy lets the pool invoke it (one
/// `GetPolicy` per function).
async fn permitted_triggers(
    aws: &Aws,
    triggers: &BTreeMap<String, String>,
    pool_arn: &str,
) -> Result<Vec<String>, Error> {
    let functions: BTreeSet<&String> = triggers.values().collect();
    let policies = futures::future::join_all(functions.iter().map(|f| async move {
        let r = aws
            .lambda
            .get_policy()
            .function_name(f.as_str())
            .send()
            .await;
        (f.as_str(), r)
    }))
    .await;
    let mut allowed: BTreeSet<&str> = BTreeSet::new();
    for (function, result) in policies {
        match result {
            Ok(out) => {
                if out
                    .policy()
                    .is_some_and(|p| policy_allows_pool(p, pool_arn))
                {
                    allowed.insert(function);
                }
            }
            // No function, or no policy yet: the trigger cannot be invoked.
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
            Err(e) => {
                let names: Vec<&str> = triggers
                    .iter()
                    .filter(|(_, f)| f.as_str() == function)
                    .map(|(t, _)| t.as_str())
                    .collect();
                return Err(Error::Aws {
                    operation: "lambda:GetPolicy",
                    code: error_code(&e).map(str::to_string),
                    detail: format!(
                        "{} (function `{function}` of trigger {})",
                        crate::aws::describe(&e),
                        names.join(", ")
                    ),
                });
            }
        }
    }
    Ok(triggers
        .iter()
        .filter(|(_, f)| allowed.contains(f.as_str()))
        .map(|(t, _)| t.clone())
        .collect())
}

/// Lets the pool invoke the trigger's function; already there is fine.
async fn add_permission(
    aws: &Aws,
    pool_id: &str,
    pool_arn: &str,
    trigger: &str,
    function: &str,
) -> Result<(), Error> {
    super::lambda_permission::add(
        aws,
        &super::lambda_permission::Statement {
            function,
            id: &statement_id(pool_id, trigger),
            principal: COGNITO_PRINCIPAL,
            source_arn: pool_arn,
        },
        &format!("trigger `{trigger}` (its function must exist before `up`)"),
    )
    .await
}

/// Takes back the permission of a trigger the pool no longer uses; best
/// effort: a leftover statement only names a pool that no longer calls it.
async fn remove_permission(aws: &Aws, pool_id: &str, trigger: &str, function: &str) {
    let id = statement_id(pool_id, trigger);
    if let Err(e) =
        super::lambda_permission::remove(aws, function, &id, &format!("trigger `{trigger}`")).await
    {
        eprintln!("  warning: {e} (it only names a pool that no longer calls the function)");
    }
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<UserPoolConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

fn hash_map(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A schema entry to send: custom attributes go without their `custom:`
/// prefix (Cognito adds it).
fn sdk_attribute(name: &str, a: &AttributeConfig) -> SchemaAttributeType {
    let short = name.strip_prefix(CUSTOM_PREFIX).unwrap_or(name);
    let mut b = SchemaAttributeType::builder()
        .name(short)
        .attribute_data_type(sdk_attribute_type(a.attribute_type))
        .developer_only_attribute(false)
        .mutable(a.mutable)
        .required(a.required);
    if a.attribute_type == AttributeType::String
        && (a.min_length.is_some() || a.max_length.is_some())
    {
        b = b.string_attribute_constraints(
            StringAttributeConstraintsType::builder()
                .set_min_length(a.min_length.map(|n| n.to_string()))
                .set_max_length(a.max_length.map(|n| n.to_string()))
                .build(),
        );
    }
    if a.attribute_type == AttributeType::Number && (a.min_value.is_some() || a.max_value.is_some())
    {
        b = b.number_attribute_constraints(
            NumberAttributeConstraintsType::builder()
                .set_min_value(a.min_value.map(|n| n.to_string()))
                .set_max_value(a.max_value.map(|n| n.to_string()))
                .build(),
        );
    }
    b.build()
}

fn password_policy(p: &PasswordPolicyConfig, history: Option<i32>) -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(p.min_length as i32)
        .require_uppercase(p.require_uppercase)
        .require_lowercase(p.require_lowercase)
        .require_numbers(p.require_numbers)
        .require_symbols(p.require_symbols)
        .temporary_password_validity_days(p.temporary_password_validity_days as i32)
        .set_password_history_size(history)
        .build()
}

/// The verification messages in the template's own fields too, so that the
/// two places Cognito keeps them never disagree.
fn with_messages(
    template: Option<VerificationMessageTemplateType>,
    c: &UserPoolConfig,
) -> Option<VerificationMessageTemplateType> {
    let mut t = template.unwrap_or_else(|| VerificationMessageTemplateType::builder().build());
    t.email_message = c.email_verification_message.clone();
    t.email_subject = c.email_verification_subject.clone();
    t.sms_message = c.sms_verification_message.clone();
    let empty = VerificationMessageTemplateType::builder().build();
    (t != empty).then_some(t)
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let config = parse(&desired.attributes, &desired.address)?;
    let schema: Vec<SchemaAttributeType> = config
        .attributes
        .iter()
        .chain(config.new_attributes.iter())
        .map(|(n, a)| sdk_attribute(n, a))
        .collect();
    let mut lambda = LambdaConfigType::builder().build();
    set_triggers(&mut lambda, &config.triggers);
    let out = aws
        .cognito_idp
        .create_user_pool()
        .pool_name(&config.name)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(password_policy(&config.password_policy, None))
                .build(),
        )
        .deletion_protection(if config.deletion_protection {
            DeletionProtectionType::Active
        } else {
            DeletionProtectionType::Inactive
        })
        .lambda_config(lambda)
        .set_auto_verified_attributes(Some(
            config
                .auto_verified_attributes
                .iter()
                .map(|a| VerifiedAttributeType::from(a.as_str()))
                .collect(),
        ))
        .set_username_attributes((!config.username_attributes.is_empty()).then(|| {
            config
                .username_attributes
                .iter()
                .map(|a| UsernameAttributeType::from(a.as_str()))
                .collect()
        }))
        .set_alias_attributes((!config.alias_attributes.is_empty()).then(|| {
            config
                .alias_attributes
                .iter()
                .map(|a| AliasAttributeType::from(a.as_str()))
                .collect()
        }))
        .set_email_verification_message(config.email_verification_message.clone())
        .set_email_verification_subject(config.email_verification_subject.clone())
        .set_sms_verification_message(config.sms_verification_message.clone())
        .set_verification_message_template(with_messages(None, &config))
        // MFA is switched on afterwards, with the authenticator-app factor.
        .mfa_configuration(UserPoolMfaType::Off)
        .set_schema((!schema.is_empty()).then_some(schema))
        // Tags go with the create call, so the pool never exists without its owner.
        .set_user_pool_tags(Some(hash_map(&config.tags)))
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:CreateUserPool", &e))?;
    let pool = out
        .user_pool
        .ok_or_else(|| Error::Unexpected("CreateUserPool returned no user pool".into()))?;
    let id = pool
        .id()
        .ok_or_else(|| Error::Unexpected("CreateUserPool returned no pool id".into()))?
        .to_string();
    let outs = outputs_of(aws, &pool);
    if config.mfa != Mfa::Off {
        set_mfa(aws, &id, config.mfa).await?;
    }
    for (trigger, function) in &config.triggers {
        add_permission(aws, &id, &outs["arn"], trigger, function).await?;
    }
    Ok(outs)
}

/// MFA with an authenticator app (TOTP): SMS would need an SNS role.
async fn set_mfa(aws: &Aws, id: &str, mfa: Mfa) -> Result<(), Error> {
    let mut request = aws
        .cognito_idp
        .set_user_pool_mfa_config()
        .user_pool_id(id)
        .mfa_configuration(sdk_mfa(mfa));
    if mfa != Mfa::Off {
        request = request.software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        );
    }
    request
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:SetUserPoolMfaConfig", &e))?;
    Ok(())
}

// ---------------------------------------------------------------- update ----

/// The complete `UpdateUserPool` request: everything the pool has now, with
/// what the stack manages overwritten. AWS resets whatever is not sent.
pub(crate) fn update_request(
    aws: &Aws,
    id: &str,
    current: &UserPoolType,
    want: &UserPoolConfig,
) -> UpdateUserPoolFluentBuilder {
    let mut policies = current
        .policies
        .clone()
        .unwrap_or_else(|| UserPoolPolicyType::builder().build());
    let history = policies
        .password_policy
        .as_ref()
        .and_then(|p| p.password_history_size);
    policies.password_policy = Some(password_policy(&want.password_policy, history));
    let mut lambda = current
        .lambda_config
        .clone()
        .unwrap_or_else(|| LambdaConfigType::builder().build());
    set_triggers(&mut lambda, &want.triggers);
    // The deprecated `UnusedAccountValidityDays` is always serialized; it
    // must agree with the password policy's temporary password validity.
    let admin = current.admin_create_user_config.clone().map(|mut a| {
        a.unused_account_validity_days =
            want.password_policy.temporary_password_validity_days as i32;
        a
    });
    // An SMS configuration without its role is one AWS did not report.
    let sms = current
        .sms_configuration
        .clone()
        .filter(|s| !s.sns_caller_arn.is_empty());
    let recovery = current
        .account_recovery_setting
        .clone()
        .filter(|r| !r.recovery_mechanisms().is_empty());
    // A verification message the stack leaves unset is sent back as the pool
    // has it (AWS's default text, or one set outside the stack): left out,
    // AWS would reset it.
    let have = config_from(current, Vec::new());
    let want = &UserPoolConfig {
        email_verification_subject: want
            .email_verification_subject
            .clone()
            .or(have.email_verification_subject),
        email_verification_message: want
            .email_verification_message
            .clone()
            .or(have.email_verification_message),
        sms_verification_message: want
            .sms_verification_message
            .clone()
            .or(have.sms_verification_message),
        ..want.clone()
    };
    aws.cognito_idp
        .update_user_pool()
        .user_pool_id(id)
        .set_pool_name(current.name.clone())
        .policies(policies)
        .deletion_protection(if want.deletion_protection {
            DeletionProtectionType::Active
        } else {
            DeletionProtectionType::Inactive
        })
        .lambda_config(lambda)
        .set_auto_verified_attributes(Some(
            want.auto_verified_attributes
                .iter()
                .map(|a| VerifiedAttributeType::from(a.as_str()))
                .collect(),
        ))
        .set_sms_verification_message(want.sms_verification_message.clone())
        .set_email_verification_message(want.email_verification_message.clone())
        .set_email_verification_subject(want.email_verification_subject.clone())
        .set_verification_message_template(with_messages(
            current.verification_message_template.clone(),
            want,
        ))
        .set_sms_authentication_message(current.sms_authentication_message.clone())
        .set_user_attribute_update_settings(current.user_attribute_update_settings.clone())
        .mfa_configuration(sdk_mfa(want.mfa))
        .set_device_configuration(current.device_configuration.clone())
        .set_email_configuration(current.email_configuration.clone())
        .set_sms_configuration(sms)
        .set_user_pool_tags(Some(hash_map(&want.tags)))
        .set_admin_create_user_config(admin)
        .set_user_pool_add_ons(current.user_pool_add_ons.clone())
        .set_account_recovery_setting(recovery)
        .set_user_pool_tier(current.user_pool_tier.clone())
        .set_key_configuration(current.key_configuration.clone())
        .set_issuer_configuration(current.issuer_configuration.clone())
        .set_acr_configuration(current.acr_configuration.clone())
}

/// Whether a setting `UpdateUserPool` carries differs (a verification
/// message only when the stack sets it: see [`DEFAULTED`]).
fn pool_settings_differ(want: &UserPoolConfig, have: &UserPoolConfig) -> bool {
    let set_and_differs =
        |w: &Option<String>, h: &Option<String>| w.is_some() && w.as_ref() != h.as_ref();
    want.auto_verified_attributes != have.auto_verified_attributes
        || want.mfa != have.mfa
        || want.password_policy != have.password_policy
        || want.triggers != have.triggers
        || set_and_differs(
            &want.email_verification_subject,
            &have.email_verification_subject,
        )
        || set_and_differs(
            &want.email_verification_message,
            &have.email_verification_message,
        )
        || set_and_differs(
            &want.sms_verification_message,
            &have.sms_verification_message,
        )
        || want.deletion_protection != have.deletion_protection
}

fn live_output<'a>(live: &'a Live, key: &str) -> Result<&'a str, Error> {
    live.outputs
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| Error::Unexpected(format!("{}: the live pool has no {key}", live.address)))
}

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let have = parse(&live.attributes, &live.address)?;
    let id = live_output(live, "id")?;
    let arn = live_output(live, "arn")?;

    // A second factor must be available before MFA is required.
    if want.mfa != have.mfa && want.mfa != Mfa::Off {
        set_mfa(aws, id, want.mfa).await?;
    }
    if pool_settings_differ(&want, &have) {
        // Read-modify-write from a fresh read, not from the plan's.
        let current = describe(aws, id).await?.ok_or_else(|| {
            Error::Unexpected(format!("user pool {id} vanished while being updated"))
        })?;
        update_request(aws, id, &current, &want)
            .send()
            .await
            .map_err(|e| Error::aws("cognito-idp:UpdateUserPool", &e))?;
    }
    if !want.new_attributes.is_empty() {
        aws.cognito_idp
            .add_custom_attributes()
            .user_pool_id(id)
            .set_custom_attributes(Some(
                want.new_attributes
                    .iter()
                    .map(|(n, a)| sdk_attribute(n, a))
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| Error::aws("cognito-idp:AddCustomAttributes", &e))?;
    }
    for (trigger, function) in &want.triggers {
        if have.triggers.get(trigger) != Some(function)
            || !have.trigger_permissions.contains(trigger)
        {
            add_permission(aws, id, arn, trigger, function).await?;
        }
    }
    for (trigger, function) in &have.triggers {
        if want.triggers.get(trigger) != Some(function) {
            remove_permission(aws, id, trigger, function).await;
        }
    }
    let (set, remove) = tag_changes(&want.tags, &have.tags);
    if !set.is_empty() {
        aws.cognito_idp
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hash_map(&set)))
            .send()
            .await
            .map_err(|e| Error::aws("cognito-idp:TagResource", &e))?;
    }
    if !remove.is_empty() {
        aws.cognito_idp
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| Error::aws("cognito-idp:UntagResource", &e))?;
    }
    let mut custom: Vec<String> = have
        .attributes
        .keys()
        .chain(want.new_attributes.keys())
        .filter(|n| n.starts_with(CUSTOM_PREFIX))
        .cloned()
        .collect();
    custom.extend(
        serde_json::from_str::<Vec<String>>(
            live.outputs.get("custom_attributes").map_or("[]", |s| s),
        )
        .unwrap_or_default(),
    );
    Ok(outputs(aws, id, arn, &want.name, &custom))
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    if live.attributes.get("deletion_protection") == Some(&Value::Bool(true)) {
        return Err(Error::Refused(format!(
            "user pool {} has deletion protection on; set `deletion_protection = false` in `[{}]`, run `up`, then delete it",
            live.physical_name, live.address
        )));
    }
    let Some(id) = live.outputs.get("id") else {
        return Ok(());
    };
    match aws
        .cognito_idp
        .delete_user_pool()
        .user_pool_id(id)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
        Err(e) => return Err(Error::aws("cognito-idp:DeleteUserPool", &e)),
    }
    // Its clients and groups went with it; its triggers' permissions are ours to take back.
    let triggers: BTreeMap<String, String> = live
        .attributes
        .get("triggers")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default();
    for (trigger, function) in &triggers {
        remove_permission(aws, id, trigger, function).await;
    }
    Ok(())
}

// ---- adopt ----

/// Reads the pool's app clients (keys made from their names) and groups.
async fn adopt_parts(aws: &Aws, stack: &str, f: &mut adopt::Found) -> Result<Vec<String>, String> {
    let (clients, groups) = adopt_part_names(aws, &f.id)
        .await
        .map_err(|e| format!("{} (`{}`): {e}", f.address, f.id))?;
    let mut parts: Vec<(Address, String)> = Vec::new();
    let mut client_keys = BTreeSet::new();
    for name in clients {
        let base = adopt::key_from_name(&name, stack, None);
        let mut key = base.clone();
        let mut n = 2;
        while !client_keys.insert(key.clone()) {
            key = format!("{base}_{n}");
            n += 1;
        }
        parts.push((f.address.with_part(Part::Client(key)), name));
    }
    for name in groups {
        parts.push((f.address.with_part(Part::Group(name.clone())), name));
    }
    for (address, name) in parts {
        adopt::read_part(aws, stack, f, address, &name, &name).await?;
    }
    Ok(Vec::new())
}

/// The names of a user pool's app clients and groups.
async fn adopt_part_names(aws: &Aws, pool_id: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let (clients, groups) = tokio::try_join!(
        super::user_pool_client::list(aws, pool_id),
        super::user_pool_group::groups(aws, pool_id),
    )
    .map_err(|e| e.to_string())?;
    let clients = clients
        .unwrap_or_default()
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let groups = groups.unwrap_or_default().into_keys().collect();
    Ok((clients, groups))
}

/// A user pool attribute's settings that differ from Cognito's defaults
/// (`None` for a standard attribute Cognito does not know).
fn adopt_attribute(
    w: &mut adopt::Writer<'_>,
    pool: &Address,
    name: &str,
    config: &Value,
) -> Option<toml::Table> {
    let mut t = toml::Table::new();
    let get = |k: &str| config.get(k).filter(|v| !v.is_null());
    if name.starts_with("custom:") {
        if let Some(v) = get("type")
            .filter(|t| *t != &Value::from("string"))
            .and_then(adopt::toml_value)
        {
            t.insert("type".into(), v);
        }
        if get("required") == Some(&Value::Bool(true)) {
            w.note(
                pool,
                format!(
                    "custom attribute `{name}` is required, which the stack format cannot declare"
                ),
            );
        }
        if get("mutable") == Some(&Value::Bool(false)) {
            t.insert("mutable".into(), toml::Value::Boolean(false));
        }
        for (k, default) in [
            ("min_length", Some(Value::from(0))),
            ("max_length", Some(Value::from(2048))),
            ("min_value", None),
            ("max_value", None),
        ] {
            if let Some(v) = get(k)
                .filter(|v| Some(*v) != default.as_ref())
                .and_then(adopt::toml_value)
            {
                t.insert(k.into(), v);
            }
        }
    } else {
        let default = standard_default(name).and_then(|d| serde_json::to_value(d).ok())?;
        if get("type") != default.get("type") {
            w.note(
                pool,
                format!("standard attribute `{name}` has another type than Cognito's, which the stack format cannot declare"),
            );
        }
        for k in [
            "required",
            "mutable",
            "min_length",
            "max_length",
            "min_value",
            "max_value",
        ] {
            if get(k) != default.get(k).filter(|v| !v.is_null()) {
                if let Some(v) = get(k).and_then(adopt::toml_value) {
                    t.insert(k.into(), v);
                }
            }
        }
    }
    Some(t)
}

/// The pool's sign-in, policies, attributes, triggers, messages, clients and groups.
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.json("username_attributes", a.get("username_attributes"), None);
    s.json("alias_attributes", a.get("alias_attributes"), None);
    s.json(
        "auto_verified_attributes",
        a.get("auto_verified_attributes"),
        None,
    );
    s.json("mfa", a.get("mfa"), Some(Value::from("off")));
    let default_policy = serde_json::to_value(PasswordPolicyConfig::aws_default()).ok();
    if let Some(Value::Object(p)) = a.get("password_policy") {
        if Some(&Value::Object(p.clone())) != default_policy.as_ref() {
            // A written policy requires only what it says: say everything.
            let mut t = toml::Table::new();
            for (k, v) in p {
                if k == "temporary_password_validity_days" && v == &Value::from(7) {
                    continue;
                }
                if let Some(v) = adopt::toml_value(v) {
                    t.insert(k.clone(), v);
                }
            }
            s.set("password_policy", toml::Value::Table(t));
        }
    }
    if let Some(Value::Object(attributes)) = a.get("attributes") {
        for (name, config) in attributes {
            if let Some(t) = adopt_attribute(w, &f.address, name, config) {
                s.set_dotted(&["attributes", name], toml::Value::Table(t));
            }
        }
    }
    if let Some(Value::Object(triggers)) = a.get("triggers") {
        let permitted: Vec<&str> = a
            .get("trigger_permissions")
            .and_then(Value::as_array)
            .map(|p| p.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (trigger, arn) in triggers {
            if let Some(arn) = arn.as_str() {
                s.set_dotted(
                    &["triggers", trigger],
                    super::function::adopt_function_ref(w, arn),
                );
                if !permitted.contains(&trigger.as_str()) {
                    w.note(
                        &f.address,
                        format!("the function of trigger `{trigger}` does not let this pool invoke it; `up` adds that permission (a Lambda change, besides the tags)"),
                    );
                }
            }
        }
    }
    for k in [
        "email_verification_subject",
        "email_verification_message",
        "sms_verification_message",
    ] {
        s.json(k, a.get(k), None);
    }
    s.json(
        "deletion_protection",
        a.get("deletion_protection"),
        Some(Value::Bool(false)),
    );
    // Parts: app clients and groups.
    for (address, (c, _)) in &f.parts {
        match &address.part {
            Some(Part::Client(key)) => {
                let t = super::user_pool_client::adopt_write(w, &f.address, key, c);
                s.set_dotted(&["clients", key], toml::Value::Table(t));
            }
            Some(Part::Group(group)) => {
                let t = super::user_pool_group::adopt_write(w, c);
                s.set_dotted(&["groups", group], toml::Value::Table(t));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Conversions, classification and request shapes with mocked Cognito
    //! responses: MiniStack merges what `UpdateUserPool` is not sent, AWS
    //! resets it, so the complete request is checked here.

    use crate::aws::mock::mock_client;
    use crate::resource::Ownership;
    use aws_sdk_cognitoidentityprovider::operation::add_custom_attributes::AddCustomAttributesOutput;
    use aws_sdk_cognitoidentityprovider::operation::delete_user_pool::DeleteUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::operation::describe_user_pool::DescribeUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::operation::list_user_pools::ListUserPoolsOutput;
    use aws_sdk_cognitoidentityprovider::operation::tag_resource::TagResourceOutput;
    use aws_sdk_cognitoidentityprovider::operation::untag_resource::UntagResourceOutput;
    use aws_sdk_cognitoidentityprovider::operation::update_user_pool::UpdateUserPoolOutput;
    use aws_sdk_cognitoidentityprovider::types::{
        AdminCreateUserConfigType, CustomEmailLambdaVersionConfigType,
        CustomEmailSenderLambdaVersionType, EmailConfigurationType, EmailSendingAccountType,
        UserPoolDescriptionType,
    };
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use serde_json::json;

    use super::*;
    use crate::plan::diff;
    use crate::resource::ResourceType;
    use crate::stack::{OWNER_ID_TAG, OWNER_STACK_TAG};

    const ID: &str = "us-east-1_Abc123";
    const ARN: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc123";
    const TRIGGER: &str = "arn:aws:lambda:us-east-1:123456789012:function:autoConfirm";

    fn spec(toml_text: &str) -> UserPoolSpec {
        toml::from_str(toml_text).expect("a user pool spec")
    }

    /// The normative example's pool.
    fn example() -> UserPoolSpec {
        spec(&format!(
            r#"
username_attributes = ["email"]
auto_verified_attributes = ["email"]
mfa = "off"
password_policy = {{ min_length = 8, require_numbers = true }}
attributes.email = {{ required = true }}
attributes."custom:department" = {{ type = "string" }}
triggers.pre_sign_up = "{TRIGGER}"
"#
        ))
    }

    fn owner_tags() -> Tags {
        Tags::from([
            (OWNER_STACK_TAG.to_string(), "demo".to_string()),
            (OWNER_ID_TAG.to_string(), "user_pool.users".to_string()),
        ])
    }

    /// The standard schema as Cognito reports it for every pool.
    fn standard_schema() -> Vec<SchemaAttributeType> {
        STANDARD
            .iter()
            .map(|(name, ..)| {
                let d = standard_default(name).unwrap();
                let mut b = SchemaAttributeType::builder()
                    .name(*name)
                    .attribute_data_type(sdk_attribute_type(d.attribute_type))
                    .developer_only_attribute(false)
                    .mutable(d.mutable)
                    .required(d.required);
                if d.attribute_type == AttributeType::String {
                    b = b.string_attribute_constraints(
                        StringAttributeConstraintsType::builder()
                            .set_min_length(d.min_length.map(|n| n.to_string()))
                            .set_max_length(d.max_length.map(|n| n.to_string()))
                            .build(),
                    );
                }
                if *name == "updated_at" {
                    b = b.number_attribute_constraints(
                        NumberAttributeConstraintsType::builder()
                            .min_value("0")
                            .build(),
                    );
                }
                b.build()
            })
            .collect()
    }

    /// A pool as AWS would report the example after `create`, with settings
    /// the stack does not manage.
    fn described_example() -> UserPoolType {
        let mut schema = standard_schema();
        for a in schema.iter_mut() {
            if a.name() == Some("email") {
                a.required = Some(true);
            }
        }
        schema.push(
            SchemaAttributeType::builder()
                .name("custom:department")
                .attribute_data_type(AttributeDataType::String)
                .developer_only_attribute(false)
                .mutable(true)
                .required(false)
                .string_attribute_constraints(
                    StringAttributeConstraintsType::builder()
                        .min_length("0")
                        .max_length("2048")
                        .build(),
                )
                .build(),
        );
        UserPoolType::builder()
            .id(ID)
            .name("demo-users")
            .arn(ARN)
            .set_schema_attributes(Some(schema))
            .username_attributes(UsernameAttributeType::Email)
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .mfa_configuration(UserPoolMfaType::Off)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(8)
                            .require_numbers(true)
                            .require_uppercase(false)
                            .require_lowercase(false)
                            .require_symbols(false)
                            .temporary_password_validity_days(7)
                            .password_history_size(5)
                            .build(),
                    )
                    .build(),
            )
            .lambda_config(
                LambdaConfigType::builder()
                    .pre_sign_up(TRIGGER)
                    .custom_email_sender(
                        CustomEmailLambdaVersionConfigType::builder()
                            .lambda_version(CustomEmailSenderLambdaVersionType::V10)
                            .lambda_arn("arn:aws:lambda:us-east-1:123456789012:function:mailer")
                            .build()
                            .unwrap(),
                    )
                    .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/k")
                    .build(),
            )
            .email_configuration(
                EmailConfigurationType::builder()
                    .email_sending_account(EmailSendingAccountType::Developer)
                    .source_arn("arn:aws:ses:us-east-1:123456789012:identity/example.com")
                    .from("no-reply@example.com")
                    .build(),
            )
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(true)
                    .unused_account_validity_days(7)
                    .build(),
            )
            .deletion_protection(DeletionProtectionType::Inactive)
            .set_user_pool_tags(Some(hash_map(&owner_tags())))
            .build()
    }

    fn described(pool: UserPoolType) -> DescribeUserPoolOutput {
        DescribeUserPoolOutput::builder().user_pool(pool).build()
    }

    fn live_of(config: &UserPoolConfig) -> Live {
        let aws = Aws::for_tests();
        Live {
            address: "user_pool.users".parse().unwrap(),
            physical_name: "demo-users".into(),
            attributes: serde_json::to_value(config).unwrap(),
            outputs: outputs(&aws, ID, ARN, "demo-users", &["custom:department".into()]),
            ownership: Ownership::Ours,
        }
    }

    fn desired_of(config: &UserPoolConfig) -> Desired {
        Desired {
            address: "user_pool.users".parse().unwrap(),
            physical_name: "demo-users".into(),
            attributes: serde_json::to_value(config).unwrap(),
            depends_on: vec![],
        }
    }

    fn example_config(live_custom: Option<&[&str]>) -> UserPoolConfig {
        let live: Option<BTreeSet<String>> =
            live_custom.map(|l| l.iter().map(|s| s.to_string()).collect());
        desired_config(&example(), "demo-users", owner_tags(), live.as_ref()).expect("valid")
    }

    // ------------------------------------------------------- conversions --

    #[test]
    fn the_example_is_what_aws_reports_after_creating_it() {
        let want = example_config(None);
        let have = config_from(&described_example(), vec!["pre_sign_up".into()]);
        assert_eq!(want, have);
        // And once it exists, its custom attribute is an existing one.
        assert_eq!(example_config(Some(&["custom:department"])), have);
    }

    #[test]
    fn desired_fills_cognito_defaults() {
        let c = desired_config(&spec(""), "demo-users", Tags::new(), None).unwrap();
        assert_eq!(c.password_policy, PasswordPolicyConfig::aws_default());
        assert_eq!(c.mfa, Mfa::Off);
        assert!(c.attributes.is_empty(), "{:?}", c.attributes);
        let c = example_config(None);
        assert_eq!(c.password_policy.min_length, 8);
        assert!(c.password_policy.require_numbers && !c.password_policy.require_symbols);
        assert!(c.attributes["email"].required);
        assert_eq!(
            c.attributes["custom:department"],
            AttributeConfig {
                attribute_type: AttributeType::String,
                required: false,
                mutable: true,
                min_length: Some(0),
                max_length: Some(2048),
                min_value: None,
                max_value: None,
            }
        );
        assert_eq!(c.triggers["pre_sign_up"], TRIGGER);
        assert_eq!(c.trigger_permissions, vec!["pre_sign_up".to_string()]);
    }

    #[test]
    fn offline_checks_name_what_is_wrong() {
        let err = |text: &str| desired_config(&spec(text), "p", Tags::new(), None).unwrap_err();
        assert!(err("attributes.emial = {}").contains("did you mean `email`?"));
        assert!(err("attributes.department = {}").contains("`custom:department`"));
        assert!(err("attributes.\"custom:d\" = { required = true }").contains("cannot be required"));
        assert!(err("attributes.email = { type = \"number\" }").contains("is a string"));
        assert!(
            err("attributes.\"custom:n\" = { type = \"number\", max_length = 3 }")
                .contains("string attributes")
        );
        assert!(err("username_attributes = [\"mail\"]").contains("did you mean `email`?"));
        assert!(err("password_policy = { min_length = 4 }").contains("6 to 99"));
        assert!(err("email_verification_message = \"hello\"").contains("{####}"));
        assert!(err("triggers.pre_sign_up = \"autoConfirm\"").contains("Lambda function ARN"));
        // A misspelt trigger is a schema error, found by `validate`.
        let e = toml::from_str::<UserPoolSpec>("triggers.pre_signup = \"x\"").unwrap_err();
        assert!(e.to_string().contains("pre_sign_up"), "{e}");
    }

    #[test]
    fn outputs_give_the_provider_name_and_never_a_secret() {
        let o = outputs_of(&Aws::for_tests(), &described_example());
        assert_eq!(o["id"], ID);
        assert_eq!(o["arn"], ARN);
        assert_eq!(
            o["provider_name"],
            format!("cognito-idp.us-east-1.amazonaws.com/{ID}")
        );
        assert_eq!(o["custom_attributes"], r#"["custom:department"]"#);
    }

    #[test]
    fn a_policy_allows_the_pool_only_with_its_arn() {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "x", "Effect": "Allow",
                "Principal": { "Service": "cognito-idp.amazonaws.com" },
                "Action": "lambda:InvokeFunction",
                "Resource": TRIGGER,
                "Condition": { "ArnLike": { "AWS:SourceArn": ARN } }
            }]
        })
        .to_string();
        assert!(policy_allows_pool(&policy, ARN));
        assert!(!policy_allows_pool(&policy, &ARN.replace("Abc", "Xyz")));
        assert!(!policy_allows_pool(
            &policy.replace("cognito-idp", "apigateway"),
            ARN
        ));
        assert!(!policy_allows_pool("not json", ARN));
        assert!(statement_id(ID, "pre_sign_up").len() <= 100);
        assert_eq!(
            statement_id(ID, "pre_sign_up"),
            "mobile-backend-us-east-1_Abc123-pre_sign_up"
        );
    }

    // ---------------------------------------------------- classification --

    fn replace_paths(live: &UserPoolConfig, want: &UserPoolConfig) -> (Vec<String>, Vec<String>) {
        let changes = diff(
            ResourceType::UserPool,
            &serde_json::to_value(live).unwrap(),
            &serde_json::to_value(want).unwrap(),
        );
        // Up to the attribute's own name (`attributes.custom:x`, not `.type`).
        let short = |p: &str| p.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
        let mut paths: Vec<String> = changes.iter().map(|c| short(&c.path)).collect();
        let mut forcing: Vec<String> = changes
            .iter()
            .filter(|c| c.forces_replacement)
            .map(|c| short(&c.path))
            .collect();
        paths.dedup();
        forcing.dedup();
        (paths, forcing)
    }

    #[test]
    fn adding_a_custom_attribute_is_in_place_and_removing_or_changing_one_replaces() {
        let live = config_from(&described_example(), vec!["pre_sign_up".into()]);
        let existing: &[&str] = &["custom:department"];
        let with = |extra: &str| {
            let text = format!(
                "username_attributes = [\"email\"]\nauto_verified_attributes = [\"email\"]\npassword_policy = {{ min_length = 8, require_numbers = true }}\nattributes.email = {{ required = true }}\ntriggers.pre_sign_up = \"{TRIGGER}\"\n{extra}"
            );
            let live: BTreeSet<String> = existing.iter().map(|s| s.to_string()).collect();
            desired_config(&spec(&text), "demo-users", owner_tags(), Some(&live)).unwrap()
        };

        // Unchanged.
        let (paths, _) = replace_paths(&live, &with("attributes.\"custom:department\" = {}"));
        assert!(paths.is_empty(), "{paths:?}");

        // Added: in place.
        let (paths, forcing) = replace_paths(
            &live,
            &with("attributes.\"custom:department\" = {}\nattributes.\"custom:team\" = { type = \"string\", max_length = 32 }"),
        );
        assert_eq!(paths, vec!["new_attributes.custom:team"]);
        assert!(forcing.is_empty(), "{forcing:?}");

        // Removed: replace.
        let (_, forcing) = replace_paths(&live, &with(""));
        assert_eq!(forcing, vec!["attributes.custom:department"]);

        // Retyped or re-constrained: replace.
        let (_, forcing) = replace_paths(
            &live,
            &with("attributes.\"custom:department\" = { type = \"number\" }"),
        );
        assert_eq!(forcing, vec!["attributes.custom:department"]);
        let (_, forcing) = replace_paths(
            &live,
            &with("attributes.\"custom:department\" = { max_length = 64 }"),
        );
        assert_eq!(forcing, vec!["attributes.custom:department"]);

        // `required` of a standard attribute: replace.
        let mut want = with("attributes.\"custom:department\" = {}");
        want.attributes.remove("email");
        let (_, forcing) = replace_paths(&live, &want);
        assert_eq!(forcing, vec!["attributes.email"]);

        // Sign-in attributes: replace; the password policy: in place.
        let mut want = with("attributes.\"custom:department\" = {}");
        want.username_attributes = vec![];
        want.alias_attributes = vec!["email".into()];
        want.password_policy.min_length = 12;
        let (paths, forcing) = replace_paths(&live, &want);
        assert_eq!(forcing, vec!["username_attributes", "alias_attributes"]);
        assert!(
            paths.contains(&"password_policy.min_length".to_string()),
            "{paths:?}"
        );
    }

    // ------------------------------------------------------------ read ----

    fn list_rule(pools: &'static [(&'static str, &'static str)]) -> aws_smithy_mocks::Rule {
        mock!(Client::list_user_pools).then_output(move || {
            ListUserPoolsOutput::builder()
                .set_user_pools(Some(
                    pools
                        .iter()
                        .map(|(id, name)| {
                            UserPoolDescriptionType::builder()
                                .id(*id)
                                .name(*name)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        })
    }

    fn describe_rule(id: &'static str, tags: Tags) -> aws_smithy_mocks::Rule {
        mock!(Client::describe_user_pool)
            .match_requests(move |r| r.user_pool_id() == Some(id))
            .then_output(move || {
                let mut pool = described_example();
                pool.id = Some(id.to_string());
                pool.lambda_config = None;
                pool.user_pool_tags = Some(hash_map(&tags));
                described(pool)
            })
    }

    fn target<'a>(address: &'a Address) -> Target<'a> {
        Target {
            stack: "demo",
            address,
            name: "demo-users",
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        }
    }

    #[tokio::test]
    async fn a_same_named_pool_of_someone_else_is_not_ours_and_not_a_conflict() {
        let list = list_rule(&[("p1", "demo-users"), ("p2", "other")]);
        let theirs = describe_rule("p1", Tags::from([("team".into(), "x".into())]));
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &theirs]
            ),
            ..Aws::for_tests()
        };
        let address: Address = "user_pool.users".parse().unwrap();
        assert!(read(&aws, &target(&address)).await.expect("read").is_none());
        assert_eq!(
            theirs.num_calls(),
            1,
            "only the same-named pool is described"
        );
    }

    #[tokio::test]
    async fn the_pool_with_our_tags_is_found_among_same_named_ones() {
        let list = list_rule(&[("p1", "demo-users"), ("p2", "demo-users")]);
        let theirs = describe_rule("p1", Tags::new());
        let ours = describe_rule("p2", owner_tags());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &theirs, &ours]
            ),
            ..Aws::for_tests()
        };
        let address: Address = "user_pool.users".parse().unwrap();
        let live = read(&aws, &target(&address))
            .await
            .expect("read")
            .expect("found");
        assert_eq!(live.outputs["id"], "p2");
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.attributes["username_attributes"], json!(["email"]));
    }

    #[tokio::test]
    async fn two_pools_claiming_the_same_address_are_an_error() {
        let list = list_rule(&[("p1", "demo-users"), ("p2", "demo-users")]);
        let one = describe_rule("p1", owner_tags());
        let two = describe_rule("p2", owner_tags());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &one, &two]
            ),
            ..Aws::for_tests()
        };
        let address: Address = "user_pool.users".parse().unwrap();
        let err = read(&aws, &target(&address)).await.expect_err("ambiguous");
        assert!(err.to_string().contains("p1, p2"), "{err}");
    }

    /// In a plan, the one pool with the wanted name has its clients listed
    /// while it is described, and the declared ones described, and its
    /// clients' reads take those answers: ListUserPoolClients once for the
    /// pool and both clients, and each client described once, all before any
    /// client is read. Outside a plan, the pool's read lists nothing.
    #[tokio::test]
    async fn in_a_plan_the_clients_are_listed_with_the_pools_describe_and_once() {
        use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_client::DescribeUserPoolClientOutput;
        use aws_sdk_cognitoidentityprovider::operation::list_user_pool_clients::ListUserPoolClientsOutput;
        use aws_sdk_cognitoidentityprovider::types::{
            UserPoolClientDescription, UserPoolClientType,
        };
        let list = list_rule(&[("p1", "demo-users")]);
        let ours = describe_rule("p1", owner_tags());
        let clients = mock!(Client::list_user_pool_clients)
            .match_requests(|r| r.user_pool_id() == Some("p1"))
            .then_output(|| {
                ListUserPoolClientsOutput::builder()
                    .user_pool_clients(
                        UserPoolClientDescription::builder()
                            .client_id("c1")
                            .client_name("ios")
                            .build(),
                    )
                    .user_pool_clients(
                        UserPoolClientDescription::builder()
                            .client_id("c2")
                            .client_name("android")
                            .build(),
                    )
                    .build()
            });
        let describe_client = mock!(Client::describe_user_pool_client).then_output(|| {
            DescribeUserPoolClientOutput::builder()
                .user_pool_client(
                    UserPoolClientType::builder()
                        .user_pool_id("p1")
                        .client_id("c1")
                        .client_name("ios")
                        .build(),
                )
                .build()
        });
        let groups = mock!(Client::list_groups)
            .match_requests(|r| r.user_pool_id() == Some("p1"))
            .then_output(|| {
                aws_sdk_cognitoidentityprovider::operation::list_groups::ListGroupsOutput::builder()
                    .groups(
                        aws_sdk_cognitoidentityprovider::types::GroupType::builder()
                            .group_name("admins")
                            .user_pool_id("p1")
                            .build(),
                    )
                    .build()
            });
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &ours, &clients, &describe_client, &groups]
            ),
            ..Aws::for_tests()
        };
        let address: Address = "user_pool.users".parse().unwrap();
        let declared = crate::stack::Spec::UserPool(spec(
            "clients.ios = {}\nclients.android = {}\ngroups.admins = {}\n",
        ));
        let reads = crate::resource::PlanReads::new("demo", []);
        let plan = Some(crate::resource::PlanTarget {
            reads: &reads,
            desired_tags: None,
        });

        // Outside a plan: no listing of the clients.
        let alone = Target {
            spec: Some(&declared),
            ..target(&address)
        };
        read(&aws, &alone).await.expect("read").expect("found");
        assert_eq!(clients.num_calls(), 0);

        let in_plan = Target { plan, ..alone };
        let live = read(&aws, &in_plan).await.expect("read").expect("found");
        assert_eq!(clients.num_calls(), 1, "listed with the pool's describe");
        assert_eq!(
            describe_client.num_calls(),
            2,
            "the declared clients described with the pool's read"
        );
        assert_eq!(groups.num_calls(), 1, "the groups listed with it");
        let part: Address = "user_pool.users.groups.admins".parse().unwrap();
        let group = Target {
            stack: "demo",
            address: &part,
            name: "admins",
            parent: Some(&live.outputs),
            spec: Some(&declared),
            adopt: None,
            dir: None,
            plan,
        };
        crate::resource::user_pool_group::read(&aws, &group)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(groups.num_calls(), 1, "the group's read took the listing");
        for (key, name) in [("ios", "ios"), ("android", "android")] {
            let part: Address = format!("user_pool.users.clients.{key}").parse().unwrap();
            let client = Target {
                stack: "demo",
                address: &part,
                name,
                parent: Some(&live.outputs),
                spec: Some(&declared),
                adopt: None,
                dir: None,
                plan,
            };
            crate::resource::user_pool_client::read(&aws, &client)
                .await
                .expect("read")
                .expect("found");
        }
        assert_eq!(
            clients.num_calls(),
            1,
            "the clients' reads took the listing"
        );
        assert_eq!(
            describe_client.num_calls(),
            2,
            "and the descriptions: nothing asked twice"
        );
    }

    // ---------------------------------------------------------- update ----

    #[tokio::test]
    async fn update_sends_the_complete_configuration_and_keeps_what_the_stack_does_not_manage() {
        let describe =
            mock!(Client::describe_user_pool).then_output(|| described(described_example()));
        let update_rule = mock!(Client::update_user_pool)
            .match_requests(|r| {
                let policy = r.policies().and_then(|p| p.password_policy()).unwrap();
                let email = r.email_configuration().unwrap();
                let admin = r.admin_create_user_config().unwrap();
                let lambda = r.lambda_config().unwrap();
                // What the stack changes.
                policy.minimum_length() == Some(12)
                    && policy.require_numbers()
                    && !policy.require_symbols()
                    // What it does not manage, sent back as it is.
                    && policy.password_history_size() == Some(5)
                    && email.email_sending_account() == Some(&EmailSendingAccountType::Developer)
                    && email.source_arn() == Some("arn:aws:ses:us-east-1:123456789012:identity/example.com")
                    && email.from() == Some("no-reply@example.com")
                    && admin.allow_admin_create_user_only()
                    && admin.unused_account_validity_days() == 7
                    && lambda.pre_sign_up() == Some(TRIGGER)
                    && lambda.custom_email_sender().map(|c| c.lambda_arn())
                        == Some("arn:aws:lambda:us-east-1:123456789012:function:mailer")
                    && lambda.kms_key_id() == Some("arn:aws:kms:us-east-1:123456789012:key/k")
                    // And the rest of the managed settings, complete.
                    && r.auto_verified_attributes() == [VerifiedAttributeType::Email]
                    && r.mfa_configuration() == Some(&UserPoolMfaType::Off)
                    && r.deletion_protection() == Some(&DeletionProtectionType::Inactive)
                    && r.pool_name() == Some("demo-users")
                    && r.user_pool_tags().is_some_and(|t| {
                        t.get(OWNER_ID_TAG).map(String::as_str) == Some("user_pool.users")
                    })
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&describe, &update_rule]
            ),
            ..Aws::for_tests()
        };
        let have = config_from(&described_example(), vec!["pre_sign_up".into()]);
        let mut want = have.clone();
        want.password_policy.min_length = 12;
        let out = update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!(describe.num_calls(), 1, "a fresh read before the write");
        assert_eq!(update_rule.num_calls(), 1, "one complete UpdateUserPool");
        assert_eq!(out["id"], ID);
    }

    #[tokio::test]
    async fn tags_alone_are_tagged_and_untagged_without_update_user_pool() {
        let tag = mock!(Client::tag_resource)
            .match_requests(|r| {
                r.resource_arn() == Some(ARN)
                    && r.tags()
                        .is_some_and(|t| t.get("team").map(String::as_str) == Some("mobile"))
            })
            .then_output(|| TagResourceOutput::builder().build());
        let untag = mock!(Client::untag_resource)
            .match_requests(|r| r.tag_keys() == ["old"])
            .then_output(|| UntagResourceOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&tag, &untag]
            ),
            ..Aws::for_tests()
        };
        let mut have = config_from(&described_example(), vec!["pre_sign_up".into()]);
        have.tags.insert("old".into(), "1".into());
        let mut want = have.clone();
        want.tags.remove("old");
        want.tags.insert("team".into(), "mobile".into());
        update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!((tag.num_calls(), untag.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_new_custom_attribute_is_added_without_its_prefix() {
        let add = mock!(Client::add_custom_attributes)
            .match_requests(|r| {
                r.user_pool_id() == Some(ID)
                    && r.custom_attributes().len() == 1
                    && r.custom_attributes()[0].name() == Some("team")
                    && r.custom_attributes()[0].attribute_data_type()
                        == Some(&AttributeDataType::String)
                    && r.custom_attributes()[0]
                        .string_attribute_constraints()
                        .and_then(|c| c.max_length())
                        == Some("32")
            })
            .then_output(|| AddCustomAttributesOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&add]),
            ..Aws::for_tests()
        };
        let have = config_from(&described_example(), vec!["pre_sign_up".into()]);
        let mut want = have.clone();
        want.new_attributes.insert(
            "custom:team".into(),
            normalize(AttributeConfig {
                attribute_type: AttributeType::String,
                required: false,
                mutable: true,
                min_length: None,
                max_length: Some(32),
                min_value: None,
                max_value: None,
            }),
        );
        let out = update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!(add.num_calls(), 1);
        assert_eq!(
            out["custom_attributes"],
            r#"["custom:department","custom:team"]"#
        );
    }

    /// The example pool with the verification messages Cognito gives a pool
    /// created without them (the texts of the AWS CLI's `describe-user-pool`
    /// example; see [`DEFAULTED`]).
    fn described_with_default_messages() -> UserPoolType {
        let code = "Your verification code is {####}. ";
        let mut pool = described_example();
        pool.email_verification_message = Some(code.into());
        pool.email_verification_subject = Some("Your verification code".into());
        pool.sms_verification_message = Some(code.into());
        pool.verification_message_template = Some(
            VerificationMessageTemplateType::builder()
                .sms_message(code)
                .email_message(code)
                .email_subject("Your verification code")
                .email_message_by_link("Click {##Verify Email##} ")
                .email_subject_by_link("Your verification link")
                .build(),
        );
        pool
    }

    #[test]
    fn verification_messages_the_stack_leaves_unset_are_aws_s_and_no_change() {
        let live = config_from(
            &described_with_default_messages(),
            vec!["pre_sign_up".into()],
        );
        assert_eq!(
            live.email_verification_subject.as_deref(),
            Some("Your verification code")
        );
        let want = example_config(Some(&["custom:department"]));
        assert_eq!(want.email_verification_message, None);
        let (paths, _) = replace_paths(&live, &want);
        assert!(paths.is_empty(), "{paths:?}");
        // An empty subject is no subject either.
        let text = format!(
            "username_attributes = [\"email\"]\nauto_verified_attributes = [\"email\"]\npassword_policy = {{ min_length = 8, require_numbers = true }}\nattributes.email = {{ required = true }}\nattributes.\"custom:department\" = {{}}\ntriggers.pre_sign_up = \"{TRIGGER}\"\nemail_verification_subject = \"\""
        );
        let existing: BTreeSet<String> = ["custom:department".to_string()].into();
        let empty =
            desired_config(&spec(&text), "demo-users", owner_tags(), Some(&existing)).unwrap();
        assert_eq!(empty.email_verification_subject, None);
        assert!(replace_paths(&live, &empty).0.is_empty());
        // A message the stack sets is compared as ever.
        let mut custom = want.clone();
        custom.email_verification_message = Some("Your code: {####}".into());
        let (paths, forcing) = replace_paths(&live, &custom);
        assert_eq!(paths, vec!["email_verification_message"]);
        assert!(forcing.is_empty());
        assert!(pool_settings_differ(&custom, &live));
        assert!(!pool_settings_differ(&want, &live));
    }

    #[tokio::test]
    async fn an_update_sends_back_the_verification_messages_the_stack_leaves_unset() {
        let code = "Your verification code is {####}. ";
        let describe = mock!(Client::describe_user_pool)
            .then_output(|| described(described_with_default_messages()));
        let update_rule = mock!(Client::update_user_pool)
            .match_requests(move |r| {
                let t = r.verification_message_template().unwrap();
                r.policies()
                    .and_then(|p| p.password_policy())
                    .and_then(|p| p.minimum_length())
                    == Some(12)
                    // Left unset by the stack: as the pool has them, not reset.
                    && r.email_verification_message() == Some(code)
                    && r.email_verification_subject() == Some("Your verification code")
                    && r.sms_verification_message() == Some(code)
                    && t.email_message() == Some(code)
                    && t.email_subject() == Some("Your verification code")
                    && t.sms_message() == Some(code)
                    && t.email_message_by_link() == Some("Click {##Verify Email##} ")
                    && t.email_subject_by_link() == Some("Your verification link")
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&describe, &update_rule]
            ),
            ..Aws::for_tests()
        };
        let have = config_from(
            &described_with_default_messages(),
            vec!["pre_sign_up".into()],
        );
        let mut want = example_config(Some(&["custom:department"]));
        want.password_policy.min_length = 12;
        update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!(update_rule.num_calls(), 1);

        // One the stack sets goes to both places.
        let set = mock!(Client::update_user_pool)
            .match_requests(|r| {
                r.email_verification_message() == Some("Your code: {####}")
                    && r.verification_message_template()
                        .and_then(|t| t.email_message())
                        == Some("Your code: {####}")
                    && r.sms_verification_message() == Some("Your verification code is {####}. ")
            })
            .then_output(|| UpdateUserPoolOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&describe, &set]
            ),
            ..Aws::for_tests()
        };
        let mut want = example_config(Some(&["custom:department"]));
        want.email_verification_message = Some("Your code: {####}".into());
        update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!(set.num_calls(), 1);
    }

    #[tokio::test]
    async fn unset_verification_messages_alone_never_update_the_pool() {
        // Only tagging is answered: an UpdateUserPool would fail the update.
        let tag = mock!(Client::tag_resource).then_output(|| TagResourceOutput::builder().build());
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&tag]),
            ..Aws::for_tests()
        };
        let have = config_from(
            &described_with_default_messages(),
            vec!["pre_sign_up".into()],
        );
        let mut want = example_config(Some(&["custom:department"]));
        want.tags.insert("team".into(), "mobile".into());
        update(&aws, &desired_of(&want), &live_of(&have))
            .await
            .expect("updated");
        assert_eq!(tag.num_calls(), 1);
    }

    // ---------------------------------------------------------- delete ----

    #[tokio::test]
    async fn delete_refuses_a_protected_pool_without_calling_aws() {
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::Sequential, []),
            ..Aws::for_tests()
        };
        let mut config = config_from(&described_example(), vec![]);
        config.deletion_protection = true;
        let err = delete(&aws, &live_of(&config)).await.expect_err("refused");
        assert!(matches!(err, Error::Refused(_)));
        assert!(
            err.to_string().contains("deletion_protection = false"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn deleting_a_pool_that_is_already_gone_is_fine() {
        let gone = mock!(Client::delete_user_pool).then_error(|| {
            aws_sdk_cognitoidentityprovider::operation::delete_user_pool::DeleteUserPoolError::ResourceNotFoundException(
                aws_sdk_cognitoidentityprovider::types::error::ResourceNotFoundException::builder()
                    .message("gone")
                    .meta(
                        aws_sdk_cognitoidentityprovider::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&gone]),
            ..Aws::for_tests()
        };
        let mut config = config_from(&described_example(), vec![]);
        config.triggers.clear();
        delete(&aws, &live_of(&config)).await.expect("deleted");
        assert_eq!(gone.num_calls(), 1);
        let _ = DeleteUserPoolOutput::builder().build();
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for `[user_pool.users]` with nothing in it, as `create`
    /// makes it (see `resource/aws_defaults.rs`): what `CreateUserPool` is
    /// sent (Cognito's password policy, MFA off, deletion protection
    /// inactive, no triggers, the tags), echoed; the rest as Cognito fills
    /// it in for a pool created without it. The verification messages and
    /// their template are the texts of the AWS CLI's `describe-user-pool`
    /// example (`awscli/examples/cognito-idp/describe-user-pool.rst`:
    /// `EmailVerificationMessage`/`SmsVerificationMessage` "Your verification
    /// code is {####}. ", `EmailVerificationSubject` "Your verification
    /// code"); terraform-provider-aws `user_pool.go` marks them and the
    /// template Optional + Computed, and its `TestAccCognitoIDPUserPool_basic`
    /// checks `verification_message_template.0.default_email_option` =
    /// CONFIRM_WITH_CODE, `admin_create_user_config.0.allow_admin_create_user_only`
    /// = false, `email_configuration.0.email_sending_account` = COGNITO_DEFAULT,
    /// the password policy's `temporary_password_validity_days` = 7,
    /// `mfa_configuration` = OFF and `deletion_protection` = INACTIVE.
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        use aws_sdk_cognitoidentityprovider::types::{
            AccountRecoverySettingType, DefaultEmailOptionType, MessageTemplateType,
            RecoveryOptionNameType, RecoveryOptionType,
        };
        let m = crate::resource::aws_defaults::Minimal::load(
            "[user_pool.users]\n",
            "user_pool.users",
            &[],
        );
        const CODE: &str = "Your verification code is {####}. ";
        let pool = UserPoolType::builder()
            .id(ID)
            .name("demo-users")
            .arn(ARN)
            .set_schema_attributes(Some(standard_schema()))
            .mfa_configuration(UserPoolMfaType::Off)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(8)
                            .require_uppercase(true)
                            .require_lowercase(true)
                            .require_numbers(true)
                            .require_symbols(true)
                            .temporary_password_validity_days(7)
                            .build(),
                    )
                    .build(),
            )
            .lambda_config(LambdaConfigType::builder().build())
            .deletion_protection(DeletionProtectionType::Inactive)
            // Filled in by Cognito.
            .email_verification_message(CODE)
            .email_verification_subject("Your verification code")
            .sms_verification_message(CODE)
            .sms_authentication_message("Your authentication code is {####}. ")
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .sms_message(CODE)
                    .email_message(CODE)
                    .email_subject("Your verification code")
                    .email_message_by_link(
                        "Please click the link below to verify your email address. {##Verify Email##} ",
                    )
                    .email_subject_by_link("Your verification link")
                    .default_email_option(DefaultEmailOptionType::ConfirmWithCode)
                    .build(),
            )
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(false)
                    .unused_account_validity_days(7)
                    .invite_message_template(
                        MessageTemplateType::builder()
                            .email_message(
                                "Your username is {username} and temporary password is {####}. ",
                            )
                            .email_subject("Your temporary password")
                            .sms_message(
                                "Your username is {username} and temporary password is {####}. ",
                            )
                            .build(),
                    )
                    .build(),
            )
            .email_configuration(
                EmailConfigurationType::builder()
                    .email_sending_account(EmailSendingAccountType::CognitoDefault)
                    .build(),
            )
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .priority(1)
                            .name(RecoveryOptionNameType::VerifiedEmail)
                            .build()
                            .unwrap(),
                    )
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .priority(2)
                            .name(RecoveryOptionNameType::VerifiedPhoneNumber)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .estimated_number_of_users(0)
            .set_user_pool_tags(Some(hash_map(&m.tags())))
            .build();
        let list = mock!(Client::list_user_pools).then_output(|| {
            ListUserPoolsOutput::builder()
                .user_pools(
                    UserPoolDescriptionType::builder()
                        .id(ID)
                        .name("demo-users")
                        .build(),
                )
                .build()
        });
        let describe =
            mock!(Client::describe_user_pool).then_output(move || described(pool.clone()));
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &describe]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        vec![m.case("a pool made from `[user_pool.users]`", live)]
    }
}
