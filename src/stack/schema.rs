//! The stack file's schema: serde types for what the user writes, one struct per
//! table shape. Unknown keys are errors (`deny_unknown_fields`): a typo in a stack
//! file must never be silently ignored. These types hold unresolved strings
//! (`${...}` references are resolved later, against live state).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub type Tags = BTreeMap<String, String>;

/// `[stack]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSection {
    pub name: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

// ---------------------------------------------------------------- table ----

/// `[table.<key>]` — a DynamoDB table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub hash_key: KeyAttribute,
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    #[serde(default)]
    pub billing: Billing,
    #[serde(default)]
    pub read_capacity: Option<i64>,
    #[serde(default)]
    pub write_capacity: Option<i64>,
    #[serde(default)]
    pub stream: StreamView,
    #[serde(default)]
    pub global_secondary_indexes: BTreeMap<String, GlobalSecondaryIndexSpec>,
    /// Name of the attribute that holds each item's expiry time (epoch seconds).
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    pub name: String,
    #[serde(rename = "type")]
    pub attribute_type: KeyType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum KeyType {
    S,
    N,
    B,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    #[default]
    PayPerRequest,
    Provisioned,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamView {
    #[default]
    Off,
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalSecondaryIndexSpec {
    pub hash_key: KeyAttribute,
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    /// `all` (default), `keys_only`, or a list of non-key attributes to include.
    #[serde(default)]
    pub projection: Projection,
    #[serde(default)]
    pub read_capacity: Option<i64>,
    #[serde(default)]
    pub write_capacity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionName {
    All,
    KeysOnly,
}

// --------------------------------------------------------------- bucket ----

/// `[bucket.<key>]` — an S3 bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub versioning: bool,
    #[serde(default)]
    pub cors: Vec<CorsRuleSpec>,
    /// All four S3 public-access blocks (on by default, as AWS does for new buckets).
    #[serde(default = "default_true")]
    pub block_public_access: bool,
    #[serde(default)]
    pub encryption: Encryption,
    /// KMS key id or ARN, with `encryption = "aws:kms"`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsRuleSpec {
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    #[serde(default)]
    pub max_age_seconds: Option<i32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPoolSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username_attributes: Vec<String>,
    #[serde(default)]
    pub alias_attributes: Vec<String>,
    #[serde(default)]
    pub auto_verified_attributes: Vec<String>,
    #[serde(default)]
    pub mfa: Option<Mfa>,
    #[serde(default)]
    pub password_policy: Option<PasswordPolicySpec>,
    #[serde(default)]
    pub attributes: BTreeMap<String, UserPoolAttributeSpec>,
    /// Lambda triggers by their Cognito name (`pre_sign_up = "<function arn>"`).
    #[serde(default)]
    pub triggers: TriggersSpec,
    #[serde(default)]
    pub clients: BTreeMap<String, UserPoolClientSpec>,
    #[serde(default)]
    pub groups: BTreeMap<String, UserPoolGroupSpec>,
    #[serde(default)]
    pub email_verification_subject: Option<String>,
    #[serde(default)]
    pub email_verification_message: Option<String>,
    #[serde(default)]
    pub sms_verification_message: Option<String>,
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub tags: Tags,
}

/// `triggers.<name> = "<lambda function arn>"`: one key per Cognito trigger,
/// so a misspelt trigger name is an offline error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggersSpec {
    #[serde(default)]
    pub pre_sign_up: Option<String>,
    #[serde(default)]
    pub post_confirmation: Option<String>,
    #[serde(default)]
    pub pre_authentication: Option<String>,
    #[serde(default)]
    pub post_authentication: Option<String>,
    #[serde(default)]
    pub pre_token_generation: Option<String>,
    #[serde(default)]
    pub custom_message: Option<String>,
    #[serde(default)]
    pub user_migration: Option<String>,
    /// Custom authentication flow: the three challenge triggers.
    #[serde(default)]
    pub define_auth_challenge: Option<String>,
    #[serde(default)]
    pub create_auth_challenge: Option<String>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mfa {
    Off,
    Optional,
    On,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicySpec {
    #[serde(default)]
    pub min_length: Option<i64>,
    #[serde(default)]
    pub require_numbers: Option<bool>,
    #[serde(default)]
    pub require_symbols: Option<bool>,
    #[serde(default)]
    pub require_uppercase: Option<bool>,
    #[serde(default)]
    pub require_lowercase: Option<bool>,
    #[serde(default)]
    pub temporary_password_validity_days: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPoolAttributeSpec {
    #[serde(default, rename = "type")]
    pub attribute_type: Option<AttributeType>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub mutable: Option<bool>,
    #[serde(default)]
    pub min_length: Option<i64>,
    #[serde(default)]
    pub max_length: Option<i64>,
    #[serde(default)]
    pub min_value: Option<i64>,
    #[serde(default)]
    pub max_value: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    String,
    Number,
    Datetime,
    Boolean,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPoolClientSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub generate_secret: bool,
    #[serde(default)]
    pub auth_flows: Vec<String>,
    #[serde(default)]
    pub read_attributes: Vec<String>,
    #[serde(default)]
    pub write_attributes: Vec<String>,
    #[serde(default)]
    pub prevent_user_existence_errors: Option<bool>,
    #[serde(default)]
    pub access_token_validity_minutes: Option<i64>,
    #[serde(default)]
    pub id_token_validity_minutes: Option<i64>,
    #[serde(default)]
    pub refresh_token_validity_days: Option<i64>,
    #[serde(default)]
    pub callback_urls: Vec<String>,
    #[serde(default)]
    pub logout_urls: Vec<String>,
    #[serde(default)]
    pub oauth_flows: Vec<String>,
    #[serde(default)]
    pub oauth_scopes: Vec<String>,
    #[serde(default)]
    pub supported_identity_providers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPoolGroupSpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub precedence: Option<i64>,
    /// A `[role.<key>]` of this stack, or the name or ARN of an existing role.
    #[serde(default)]
    pub role: Option<String>,
}

// -------------------------------------------------------- identity_pool ----

/// `[identity_pool.<key>]` — a Cognito identity pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPoolSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub allow_unauthenticated: bool,
    #[serde(default)]
    pub allow_classic_flow: bool,
    /// `user_pool.client` pairs of this stack.
    #[serde(default)]
    pub providers: Vec<String>,
    #[serde(default)]
    pub supported_logins: BTreeMap<String, String>,
    #[serde(default)]
    pub openid_connect_providers: Vec<String>,
    #[serde(default)]
    pub saml_providers: Vec<String>,
    #[serde(default)]
    pub authenticated_role: Option<String>,
    #[serde(default)]
    pub unauthenticated_role: Option<String>,
    /// Fine-grained role rules, first match wins, per provider.
    #[serde(default)]
    pub role_rules: Vec<RoleRuleSpec>,
    /// Providers whose tokens choose the role (`cognito:preferred_role`).
    #[serde(default)]
    pub token_role_providers: Vec<String>,
    /// When no rule matches (or the token names no role).
    #[serde(default)]
    pub role_resolution: RoleResolution,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleResolution {
    /// Fall back to the pool's authenticated role.
    #[default]
    AuthenticatedRole,
    /// Refuse credentials.
    Deny,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRuleSpec {
    pub provider: String,
    pub claim: String,
    #[serde(rename = "match")]
    pub match_type: MatchType,
    pub value: String,
    pub role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Equals,
    Contains,
    StartsWith,
    NotEqual,
}

// --------------------------------------------------------------- search ----

/// `[search.<key>]` — a CloudSearch (or OpenSearch Service) domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub engine: SearchEngine,
    #[serde(default)]
    pub fields: BTreeMap<String, SearchField>,
    #[serde(default)]
    pub access_policy: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub instance_count: Option<i64>,
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
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchEngine {
    #[default]
    Cloudsearch,
    Opensearch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SearchField {
    Type(SearchFieldType),
    Detailed(SearchFieldSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchFieldSpec {
    #[serde(rename = "type")]
    pub field_type: SearchFieldType,
    #[serde(default)]
    pub facet: Option<bool>,
    #[serde(default, rename = "return")]
    pub return_enabled: Option<bool>,
    #[serde(default)]
    pub sort: Option<bool>,
    #[serde(default)]
    pub search: Option<bool>,
    #[serde(default)]
    pub highlight: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub endpoint_type: Option<String>,
    #[serde(default)]
    pub stage: Option<String>,
    /// Variables of the stage (`${stageVariables.name}` in integrations).
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// Default method throttling of the stage (every method, `*/*`).
    #[serde(default)]
    pub stage_throttle: Option<ThrottleSpec>,
    #[serde(default)]
    pub routes: BTreeMap<String, RouteSpec>,
    #[serde(default)]
    pub usage_plans: BTreeMap<String, UsagePlanSpec>,
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeySpec>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    #[serde(default)]
    pub authorization: Option<String>,
    #[serde(default)]
    pub api_key_required: bool,
    #[serde(default)]
    pub user_pool: Option<String>,
    #[serde(default)]
    pub request_parameters: BTreeMap<String, bool>,
    #[serde(default)]
    pub cors: Option<bool>,
    pub integration: IntegrationSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    #[serde(default)]
    pub lambda: Option<String>,
    #[serde(default)]
    pub http: Option<String>,
    #[serde(default)]
    pub mock: Option<MockIntegrationSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockIntegrationSpec {
    #[serde(default)]
    pub status: Option<i64>,
    #[serde(default)]
    pub response: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSpec {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    pub rate: f64,
    pub burst: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    pub limit: i64,
    pub period: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

// ----------------------------------------------------------------- role ----

/// `[role.<key>]` — an IAM role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub trust: TrustSpec,
    /// Inline policy documents (JSON files, relative to the stack file).
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    #[serde(default)]
    pub max_session_duration: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// An `[identity_pool.<key>]` of this stack.
    #[serde(default)]
    pub identity_pool: Option<String>,
    #[serde(default)]
    pub amr: Option<Amr>,
    /// A service principal such as `lambda.amazonaws.com`.
    #[serde(default)]
    pub service: Option<String>,
    /// A trust-policy document (JSON file, relative to the stack file).
    #[serde(default)]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Amr {
    Authenticated,
    Unauthenticated,
}
