//! The stack file's schema: serde types for what the user writes, one struct per
//! table shape. Unknown keys are errors (`deny_unknown_fields`): a typo in a stack
//! file must never be silently ignored. These types hold unresolved strings
//! (`${...}` references are resolved later, against live state).
//!
//! The same types derive `JsonSchema`: `mobile-backend schema` prints the JSON
//! Schema of the stack file from them (see `crate::json_schema`), so editors
//! check exactly what this parser accepts. Doc comments here are the schema's
//! descriptions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub type Tags = BTreeMap<String, String>;

/// `[stack]`: the stack's name, region and tags.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSection {
    /// The stack's name: 1 to 40 characters of `a-z`, `0-9` and `-`, starting with a
    /// letter. It prefixes physical names (`<stack>-<key>`) and is the
    /// `mobile-backend:stack` tag of everything the stack creates, which is how the
    /// tool finds its resources again.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub name: String,
    /// The AWS region, like `us-east-1`. `--region` overrides it; without either, the
    /// SDK's region is used (`AWS_REGION`, the profile).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)+-[0-9]+$"))]
    pub region: Option<String>,
    /// Tags added to every taggable resource of the stack.
    #[serde(default)]
    pub tags: Tags,
}

// ---------------------------------------------------------------- table ----

/// `[table.<key>]` — a DynamoDB table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Physical name; default `<stack>-<key>`. Changing it replaces the table.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing table made outside this tool: the table's name. When the stack
    /// owns no table for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The partition key. Changing it replaces the table, whose items are lost.
    pub hash_key: KeyAttribute,
    /// The sort key, if any. Changing it replaces the table.
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    /// `pay_per_request` (on demand, the default) or `provisioned` (with
    /// `read_capacity` and `write_capacity`).
    #[serde(default)]
    pub billing: Billing,
    /// Read capacity units, with `billing = "provisioned"`.
    #[serde(default)]
    pub read_capacity: Option<i64>,
    /// Write capacity units, with `billing = "provisioned"`.
    #[serde(default)]
    pub write_capacity: Option<i64>,
    /// The table's stream: `off` (the default), `keys_only`, `new_image`, `old_image`
    /// or `new_and_old_images`.
    #[serde(default)]
    pub stream: StreamView,
    /// Global secondary indexes, by index name.
    #[serde(default)]
    pub global_secondary_indexes: BTreeMap<String, GlobalSecondaryIndexSpec>,
    /// Name of the attribute that holds each item's expiry time (epoch seconds).
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// A protected table is never deleted: `destroy` stops and says to turn this off
    /// first.
    #[serde(default)]
    pub deletion_protection: bool,
    /// Tags of this table, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// A key attribute: its name and its DynamoDB type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// `S` (string), `N` (number) or `B` (binary).
    #[serde(rename = "type")]
    pub attribute_type: KeyType,
}

/// A DynamoDB key type: `S` (string), `N` (number) or `B` (binary).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum KeyType {
    S,
    N,
    B,
}

/// How a table is billed: `pay_per_request` (on demand) or `provisioned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    #[default]
    PayPerRequest,
    Provisioned,
}

/// What a table's stream records: `off`, `keys_only`, `new_image`, `old_image` or
/// `new_and_old_images`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamView {
    #[default]
    Off,
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

/// A global secondary index.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalSecondaryIndexSpec {
    /// The index's partition key.
    pub hash_key: KeyAttribute,
    /// The index's sort key, if any.
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    /// `all` (default), `keys_only`, or a list of non-key attributes to include.
    #[serde(default)]
    pub projection: Projection,
    /// Read capacity units of the index, on a provisioned table.
    #[serde(default)]
    pub read_capacity: Option<i64>,
    /// Write capacity units of the index, on a provisioned table.
    #[serde(default)]
    pub write_capacity: Option<i64>,
}

/// What an index holds besides the keys: `all`, `keys_only`, or a list of non-key
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Projection {
    Named(ProjectionName),
    Include(Vec<String>),
}

impl Default for Projection {
    fn default() -> Self {
        Projection::Named(ProjectionName::All)
    }
}

/// `all` attributes, or `keys_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionName {
    All,
    KeysOnly,
}

// --------------------------------------------------------------- bucket ----

/// `[bucket.<key>]` — an S3 bucket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// Physical name; default `<stack>-<key>`. Bucket names are unique across all of
    /// AWS: `${aws.account_id}` in it helps. Changing it replaces the bucket.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing bucket made outside this tool: the bucket's name. When the stack
    /// owns no bucket for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// Keep every version of every object.
    #[serde(default)]
    pub versioning: bool,
    /// CORS rules, for browsers and web views.
    #[serde(default)]
    pub cors: Vec<CorsRuleSpec>,
    /// All four S3 public-access blocks (on by default, as AWS does for new buckets).
    #[serde(default = "default_true")]
    pub block_public_access: bool,
    /// Default encryption: `aes256` (S3-managed keys, the default) or `aws:kms` (with
    /// `kms_key_id`).
    #[serde(default)]
    pub encryption: Encryption,
    /// KMS key id or ARN, with `encryption = "aws:kms"`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Tags of this bucket, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

fn default_true() -> bool {
    true
}

/// A CORS rule of a bucket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorsRuleSpec {
    /// HTTP methods allowed: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
    pub allowed_methods: Vec<String>,
    /// Origins allowed, like `https://example.com`, or `*`.
    pub allowed_origins: Vec<String>,
    /// Request headers a preflight request may ask for.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers a browser may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache the preflight answer, in seconds.
    #[serde(default)]
    pub max_age_seconds: Option<i32>,
}

/// A bucket's default encryption: `aes256` or `aws:kms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Encryption {
    #[default]
    #[serde(rename = "aes256")]
    Aes256,
    #[serde(rename = "aws:kms")]
    Kms,
}

// ------------------------------------------------------------ user_pool ----
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

/// `triggers.<name> = "<lambda function arn>"`: one key per Cognito trigger,
/// so a misspelt trigger name is an offline error.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggersSpec {
    /// Lambda function ARN run before a sign-up (e.g. to confirm users automatically).
    #[serde(default)]
    pub pre_sign_up: Option<String>,
    /// Lambda function ARN run after a user is confirmed.
    #[serde(default)]
    pub post_confirmation: Option<String>,
    /// Lambda function ARN run before a sign-in.
    #[serde(default)]
    pub pre_authentication: Option<String>,
    /// Lambda function ARN run after a sign-in.
    #[serde(default)]
    pub post_authentication: Option<String>,
    /// Lambda function ARN that may change the claims of the tokens.
    #[serde(default)]
    pub pre_token_generation: Option<String>,
    /// Lambda function ARN that writes the verification and invitation messages.
    #[serde(default)]
    pub custom_message: Option<String>,
    /// Lambda function ARN that moves users in from another directory at sign-in.
    #[serde(default)]
    pub user_migration: Option<String>,
    /// Custom authentication flow: Lambda function ARN that decides the next challenge.
    #[serde(default)]
    pub define_auth_challenge: Option<String>,
    /// Custom authentication flow: Lambda function ARN that creates a challenge.
    #[serde(default)]
    pub create_auth_challenge: Option<String>,
    /// Custom authentication flow: Lambda function ARN that checks an answer.
    #[serde(default)]
    pub verify_auth_challenge_response: Option<String>,
}

impl TriggersSpec {
    /// The triggers that are set, by their stack-file name.
    pub fn set(&self) -> Vec<(&'static str, &str)> {
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
        .filter_map(|(name, arn)| arn.as_deref().map(|a| (name, a)))
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

/// An app client of a user pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPoolClientSpec {
    /// The client's name; default its key.
    #[serde(default)]
    pub name: Option<String>,
    /// Give the client a secret. An app on a phone cannot keep one: leave it `false`
    /// there. Changing it replaces the client.
    #[serde(default)]
    pub generate_secret: bool,
    /// Sign-in flows allowed, like `ALLOW_USER_SRP_AUTH` and
    /// `ALLOW_REFRESH_TOKEN_AUTH`.
    #[serde(default)]
    pub auth_flows: Vec<String>,
    /// User attributes the client may read.
    #[serde(default)]
    pub read_attributes: Vec<String>,
    /// User attributes the client may write.
    #[serde(default)]
    pub write_attributes: Vec<String>,
    /// Answer a failed sign-in the same way whether or not the user exists (default
    /// `true`).
    #[serde(default)]
    pub prevent_user_existence_errors: Option<bool>,
    /// Lifetime of access tokens, 5 to 1440 minutes.
    #[serde(default)]
    pub access_token_validity_minutes: Option<i64>,
    /// Lifetime of ID tokens, 5 to 1440 minutes.
    #[serde(default)]
    pub id_token_validity_minutes: Option<i64>,
    /// Lifetime of refresh tokens, 1 to 3650 days.
    #[serde(default)]
    pub refresh_token_validity_days: Option<i64>,
    /// Where the hosted sign-in may send people back to (OAuth).
    #[serde(default)]
    pub callback_urls: Vec<String>,
    /// Where the hosted sign-out may send people back to (OAuth).
    #[serde(default)]
    pub logout_urls: Vec<String>,
    /// OAuth flows: `code`, `implicit`, `client_credentials`.
    #[serde(default)]
    pub oauth_flows: Vec<String>,
    /// OAuth scopes, like `openid`, `email`, `profile`.
    #[serde(default)]
    pub oauth_scopes: Vec<String>,
    /// Identity providers of the client, like `COGNITO`.
    #[serde(default)]
    pub supported_identity_providers: Vec<String>,
}

/// A group of a user pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPoolGroupSpec {
    /// What the group is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Which group's role wins when a user is in several: the lowest number.
    #[serde(default)]
    pub precedence: Option<i64>,
    /// A `[role.<key>]` of this stack, or the name or ARN of an existing role.
    #[serde(default)]
    pub role: Option<String>,
}

// -------------------------------------------------------- identity_pool ----

/// `[identity_pool.<key>]` — a Cognito identity pool.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityPoolSpec {
    /// Physical name; default `<stack>_<key>` (identity pool names allow no `-`).
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing identity pool made outside this tool: the identity pool's id, like `us-east-1:1a2b...`. When the stack
    /// owns no identity pool for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// Give guests (identities that did not sign in) credentials of
    /// `unauthenticated_role`.
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Allow the basic (classic) authentication flow.
    #[serde(default)]
    pub allow_classic_flow: bool,
    /// Sign-in providers: `<user_pool key>.<client key>` pairs of this stack.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Public login providers: domain to app id, like `"graph.facebook.com" = "<app
    /// id>"`.
    #[serde(default)]
    pub supported_logins: BTreeMap<String, String>,
    /// ARNs of IAM OpenID Connect providers.
    #[serde(default)]
    pub openid_connect_providers: Vec<String>,
    /// ARNs of IAM SAML providers.
    #[serde(default)]
    pub saml_providers: Vec<String>,
    /// Role of signed-in identities: a `[role.<key>]` of this stack, or a role ARN.
    #[serde(default)]
    pub authenticated_role: Option<String>,
    /// Role of guests: a `[role.<key>]` of this stack, or a role ARN.
    #[serde(default)]
    pub unauthenticated_role: Option<String>,
    /// Fine-grained role rules: the first that matches a claim of the token chooses the
    /// role. At most 25.
    #[serde(default)]
    pub role_rules: Vec<RoleRuleSpec>,
    /// Providers whose tokens choose the role (`cognito:preferred_role`).
    #[serde(default)]
    pub token_role_providers: Vec<String>,
    /// When no rule matches (or the token names no role): `authenticated_role` (the
    /// default) or `deny`.
    #[serde(default)]
    pub role_resolution: RoleResolution,
    /// Tags of this pool, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// What happens when no role rule matches: `authenticated_role` or `deny`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleResolution {
    /// Fall back to the pool's authenticated role.
    #[default]
    AuthenticatedRole,
    /// Refuse credentials.
    Deny,
}

/// A role rule: when `claim` of a token from `provider` matches `value`, the identity
/// gets `role`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRuleSpec {
    /// The provider whose tokens the rule reads: one of the pool's `providers`.
    pub provider: String,
    /// The token claim to test, like `custom:department` or `cognito:groups`.
    pub claim: String,
    /// How the claim is compared: `equals`, `contains`, `starts_with` or `not_equal`.
    #[serde(rename = "match")]
    pub match_type: MatchType,
    /// The value the claim is compared with.
    pub value: String,
    /// The role given: a `[role.<key>]` of this stack, or a role ARN.
    pub role: String,
}

/// How a role rule compares: `equals`, `contains`, `starts_with` or `not_equal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Equals,
    Contains,
    StartsWith,
    NotEqual,
}

// --------------------------------------------------------------- search ----

/// `[search.<key>]` — a CloudSearch (or OpenSearch Service) domain.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// Physical name; default `<stack>-<key>` (3 to 28 characters). Changing it
    /// replaces the domain.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing domain made outside this tool: the domain's name. When the stack
    /// owns no domain for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// `cloudsearch` (the default; closed to new AWS accounts since 2024-07-25) or
    /// `opensearch` (OpenSearch Service).
    #[serde(default)]
    pub engine: SearchEngine,
    /// Index fields by name: a type (`text`, `literal`, ...) or `{ type = ..., facet =
    /// ..., sort = ... }`.
    #[serde(default)]
    pub fields: BTreeMap<String, SearchField>,
    /// The domain's access policy document (JSON).
    #[serde(default)]
    pub access_policy: Option<String>,
    /// OpenSearch Service engine version, like `OpenSearch_2.13`.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// Instance type: `search.small`, ... for CloudSearch; like `t3.small.search` for
    /// OpenSearch Service.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// OpenSearch Service: number of data nodes.
    #[serde(default)]
    pub instance_count: Option<i64>,
    /// OpenSearch Service: EBS volume size per node, in GiB.
    #[serde(default)]
    pub ebs_volume_size: Option<i64>,
    /// CloudSearch scaling: search instances per partition.
    #[serde(default)]
    pub replication_count: Option<i64>,
    /// CloudSearch scaling: index partitions (only for the largest instance type).
    #[serde(default)]
    pub partition_count: Option<i64>,
    /// Whether `up` waits until the domain has finished processing a change
    /// (default true); with `false` it returns once AWS accepted the change.
    #[serde(default)]
    pub wait: Option<bool>,
    /// Tags of this domain, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// The search service: `cloudsearch` or `opensearch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchEngine {
    #[default]
    Cloudsearch,
    Opensearch,
}

/// An index field: its type, or a table with its type and options.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SearchField {
    Type(SearchFieldType),
    Detailed(SearchFieldSpec),
}

/// An index field with options; which options a type allows is checked offline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchFieldSpec {
    /// The field's type.
    #[serde(rename = "type")]
    pub field_type: SearchFieldType,
    /// Facet information can be returned for it.
    #[serde(default)]
    pub facet: Option<bool>,
    /// It can be returned in search results.
    #[serde(default, rename = "return")]
    pub return_enabled: Option<bool>,
    /// Results can be sorted by it.
    #[serde(default)]
    pub sort: Option<bool>,
    /// It can be searched.
    #[serde(default)]
    pub search: Option<bool>,
    /// Highlights can be returned for it (text fields).
    #[serde(default)]
    pub highlight: Option<bool>,
}

/// A search field type: `text`, `literal`, `int`, `double`, `date`, `latlon`, or an
/// `-array` of the first five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SearchFieldType {
    Text,
    Literal,
    Int,
    Double,
    Date,
    Latlon,
    TextArray,
    LiteralArray,
    IntArray,
    DoubleArray,
    DateArray,
}

// ------------------------------------------------------------------ api ----

/// `[api.<key>]` — an API Gateway REST API.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Physical name; default `<stack>-<key>`. REST APIs are found by their tags: names
    /// are not unique.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing REST API made outside this tool: the REST API's id, like `a1b2c3d4e5`. When the stack
    /// owns no REST API for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The API's description.
    #[serde(default)]
    pub description: Option<String>,
    /// `regional` (the default), `edge` or `private`.
    #[serde(default)]
    pub endpoint_type: Option<String>,
    /// The stage the API is deployed to, like `prod`. Without one the API is not
    /// deployed.
    #[serde(default)]
    pub stage: Option<String>,
    /// Variables of the stage (`${stageVariables.name}` in integrations).
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// Default method throttling of the stage (every method, `*/*`).
    #[serde(default)]
    pub stage_throttle: Option<ThrottleSpec>,
    /// Routes by `"<METHOD> <path>"`, like `"POST /notes"` or `"GET /notes/{id}"`.
    #[serde(default)]
    pub routes: BTreeMap<String, RouteSpec>,
    /// Usage plans by key: throttling and quotas for the API keys they list.
    #[serde(default)]
    pub usage_plans: BTreeMap<String, UsagePlanSpec>,
    /// API keys by key. Their values are secrets: they never appear in plans.
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeySpec>,
    /// Tags of this API, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// A route: one method on one path.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `none` (the default), `aws_iam` or `cognito` (with `user_pool`).
    #[serde(default)]
    pub authorization: Option<String>,
    /// Callers must send an API key (`x-api-key`).
    #[serde(default)]
    pub api_key_required: bool,
    /// With `authorization = "cognito"`: the `[user_pool.<key>]` whose tokens are
    /// accepted.
    #[serde(default)]
    pub user_pool: Option<String>,
    /// Request parameters by name (`method.request.querystring.q`), `true` when
    /// required.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, bool>,
    /// Also answer the browser's preflight: an OPTIONS method on the path.
    #[serde(default)]
    pub cors: Option<bool>,
    /// What serves the route: `lambda`, `http` or `mock`.
    pub integration: IntegrationSpec,
}

/// What serves a route: exactly one of `lambda`, `http` or `mock`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    /// A Lambda function ARN (proxy integration; `up` adds the invoke permission).
    #[serde(default)]
    pub lambda: Option<String>,
    /// An HTTP URL (proxy integration).
    #[serde(default)]
    pub http: Option<String>,
    /// A fixed answer.
    #[serde(default)]
    pub mock: Option<MockIntegrationSpec>,
}

/// A fixed answer of a mock integration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockIntegrationSpec {
    /// The HTTP status code.
    #[serde(default)]
    pub status: Option<i64>,
    /// The response body.
    #[serde(default)]
    pub response: Option<String>,
}

/// A usage plan: throttling and a quota for the keys it lists.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSpec {
    /// Keys of the API's `keys` this plan applies to.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Request rate and burst limits.
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    /// Most requests per day, week or month.
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

/// Throttling: a steady rate and a burst.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Requests per second, on average.
    pub rate: f64,
    /// Requests at once, at most.
    pub burst: i64,
}

/// A quota: at most `limit` requests per `period`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Requests allowed per period.
    pub limit: i64,
    /// `day`, `week` or `month`.
    pub period: String,
}

/// An API key; its value is made by API Gateway and is a secret.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// What the key is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the key works (default `true`).
    #[serde(default)]
    pub enabled: Option<bool>,
}

// ----------------------------------------------------------------- role ----

/// `[role.<key>]` — an IAM role.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Physical name; default `<stack>-<key>`. Changing it replaces the role.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing role made outside this tool: the role's name. When the stack
    /// owns no role for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// Who may assume the role: exactly one of `identity_pool`, `service` or `file`.
    pub trust: TrustSpec,
    /// Inline policy documents: JSON files relative to the stack file, each named after
    /// its file's stem. `${...}` references in them are resolved.
    #[serde(default)]
    pub policies: Vec<String>,
    /// ARNs of managed policies to attach.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// Longest session, 3600 to 43200 seconds.
    #[serde(default)]
    pub max_session_duration: Option<i64>,
    /// What the role is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Tags of this role, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// Who may assume a role: exactly one of `identity_pool`, `service` or `file`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// An `[identity_pool.<key>]` of this stack.
    #[serde(default)]
    pub identity_pool: Option<String>,
    /// With `identity_pool`: only `authenticated` or only `unauthenticated` identities.
    #[serde(default)]
    pub amr: Option<Amr>,
    /// A service principal such as `lambda.amazonaws.com`.
    #[serde(default)]
    pub service: Option<String>,
    /// A trust-policy document (JSON file, relative to the stack file).
    #[serde(default)]
    pub file: Option<String>,
}

/// Which identities of an identity pool: `authenticated` or `unauthenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Amr {
    Authenticated,
    Unauthenticated,
}

crate::spec_fields!(
    TableSpec,
    BucketSpec,
    UserPoolSpec,
    IdentityPoolSpec,
    SearchSpec,
    ApiSpec,
    RoleSpec
);
