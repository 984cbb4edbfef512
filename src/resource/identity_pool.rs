//! `[identity_pool.<key>]` — a Cognito identity pool (federated identities).
//!
//! Identity pool names are not unique, so a pool is found by name and then by
//! its ownership tags; a same-named pool that is not ours is left alone and a
//! new one is created. Tags live in `IdentityPoolTags` only (MiniStack keeps a
//! second, separate store for `TagResource`; AWS has one). `UpdateIdentityPool`
//! resets every field it is not sent, so updates are read-modify-write from a
//! fresh `DescribeIdentityPool`. The role attachment is its own step
//! (`identity_pool.<key>.roles`, see `identity_pool_roles.rs`).

use schemars::JsonSchema;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_cognitoidentity::operation::describe_identity_pool::DescribeIdentityPoolOutput;
use aws_sdk_cognitoidentity::types::CognitoIdentityProvider;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{ResourceKind, Step};
use super::{Change, Desired, DesiredContext, Error, Live, Outputs, Target};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::Tags;
use crate::stack::{Address, Kind, Part, Stack};

// ------------------------------------------------------------ schema ----

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

crate::spec_fields!(IdentityPoolSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    // Found by name first: a new name would find no pool and make a new one,
    // and the identities of the old pool (the keys of per-user data) would be lost.
    ("name", Change::Replace),
    ("allow_unauthenticated", Change::Update),
    ("allow_classic_flow", Change::Update),
    ("cognito_identity_providers", Change::Update),
    ("supported_login_providers", Change::Update),
    ("open_id_connect_provider_arns", Change::Update),
    ("saml_provider_arns", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. `allow_classic_flow` and
/// `allow_unauthenticated` default to false in the stack, which is what a
/// pool created without them reports (terraform-provider-aws
/// `identity_pool.go`: both Optional with `Default: false`); a provider's
/// `ServerSideTokenCheck` is sent false.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `[identity_pool.<key>]`: a Cognito identity pool.
pub struct IdentityPoolKind;

impl Step for IdentityPoolKind {
    type Config = IdentityPoolConfig;
    type Spec = IdentityPoolSpec;
    const NOUN: &'static str = "Cognito identity pool";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 2;
    // Identity ids key per-user data (`dynamodb:LeadingKeys`, S3 prefixes).
    const HOLDS_DATA: bool = true;

    fn data_loss(name: &str) -> String {
        format!("replacing identity pool `{name}` gives every user a new identity id; data kept under the old ids becomes unreachable")
    }

    fn desired(
        spec: &Self::Spec,
        _address: &Address,
        name: &str,
        tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        desired(spec, name, tags, ctx)
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

    const OUTPUTS: &'static [&'static str] = &["id", "name"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["id"];
    const SWIFT_SECTION: &'static str = "IdentityPools";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::Credentials);
}

impl ResourceKind for IdentityPoolKind {
    const NAME: &'static str = "identity_pool";
    const DESCRIPTION: &'static str = "Cognito identity pools (federated identities), by key.";
    const REFERENCES: &'static [&'static str] = &["id", "name"];

    fn fixed_parts() -> Vec<Part> {
        vec![Part::Roles]
    }

    /// Identity pool names allow only word characters and spaces.
    fn default_name(stack: &str, key: &str) -> String {
        format!("{stack}-{key}").replace('-', "_")
    }

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 128)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_alphanumeric() || c == '_' || c == ' ',
            "letters, digits, `_` and spaces",
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
        let p = spec;
        for (i, provider) in p.providers.iter().enumerate() {
            let span = c.span_index("providers", i).unwrap_or_else(|| c.key_span());
            match provider.split_once('.') {
                Some((pool, client)) => c.link(
                    address.clone(),
                    Address::new(Kind::UserPool, pool).with_part(Part::Client(client.into())),
                    span,
                    "a provider",
                    true,
                ),
                None => c.error(
                    span,
                    format!("`{address}`: provider `{provider}` must be written `user_pool_key.client_key`"),
                    None,
                ),
            }
        }
        let roles_step = address.with_part(Part::Roles);
        let named_roles = p
            .authenticated_role
            .iter()
            .map(|r| (r, "authenticated_role"))
            .chain(
                p.unauthenticated_role
                    .iter()
                    .map(|r| (r, "unauthenticated_role")),
            )
            .chain(p.role_rules.iter().map(|r| (&r.role, "role_rules")));
        for (role, field) in named_roles {
            if role.starts_with("arn:") || role.contains("${") {
                continue;
            }
            c.link(
                roles_step.clone(),
                Address::new(Kind::Role, role.as_str()),
                c.span(&[field]),
                "a role",
                true,
            );
        }
        for rule in &p.role_rules {
            if !p.providers.contains(&rule.provider) {
                c.error(
                    c.span(&["role_rules"]),
                    format!(
                        "`{address}`: a role rule names provider `{}`, which is not in `providers`",
                        rule.provider
                    ),
                    Some(
                        match crate::stack::reference::nearest(
                            &rule.provider,
                            p.providers.iter().map(String::as_str),
                        ) {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => format!("providers: {}", p.providers.join(", ")),
                        },
                    ),
                );
            } else if let Some((pool, client)) = rule.provider.split_once('.') {
                // The rule is keyed by the client's provider name.
                c.link(
                    roles_step.clone(),
                    Address::new(Kind::UserPool, pool).with_part(Part::Client(client.into())),
                    c.span(&["role_rules"]),
                    "a role rule's provider",
                    true,
                );
            }
        }
        for token in &p.token_role_providers {
            if !p.providers.contains(token) {
                c.error(
                    c.span(&["token_role_providers"]),
                    format!("`{address}`: `token_role_providers` names `{token}`, which is not in `providers`"),
                    None,
                );
            } else if p.role_rules.iter().any(|r| &r.provider == token) {
                c.error(
                    c.span(&["token_role_providers"]),
                    format!("`{address}`: provider `{token}` has role rules and takes roles from its token; a provider has one role mapping"),
                    Some("remove it from `token_role_providers` or drop its `role_rules`".into()),
                );
            }
        }
        if p.role_rules.len() > 25 {
            c.error(
                c.span(&["role_rules"]),
                format!(
                    "`{address}`: {} role rules; Cognito allows at most 25 per provider",
                    p.role_rules.len()
                ),
                None,
            );
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["id"];
    const ADOPT_LIST_RANK: u8 = 3;

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

/// The comparable shape of an identity pool, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityPoolConfig {
    pub name: String,
    pub allow_unauthenticated: bool,
    pub allow_classic_flow: bool,
    /// Sorted by provider name, then client id.
    pub cognito_identity_providers: Vec<Provider>,
    pub supported_login_providers: BTreeMap<String, String>,
    pub open_id_connect_provider_arns: Vec<String>,
    pub saml_provider_arns: Vec<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Provider {
    /// `cognito-idp.<region>.amazonaws.com/<user pool id>`
    pub provider_name: String,
    pub client_id: String,
    pub server_side_token_check: bool,
}

/// The provider name of a user pool of the stack and the id of its client,
/// for `providers = ["pool.client"]` (unknown until both exist).
pub(crate) fn provider(ctx: &DesiredContext<'_>, reference: &str) -> Result<Provider, String> {
    let (pool, client) = reference.split_once('.').ok_or_else(|| {
        format!("provider `{reference}` must be written `user_pool_key.client_key`")
    })?;
    let pool_address = Address::new(Kind::UserPool, pool);
    let pool_id = ctx.output(&pool_address, "id");
    let client_id = ctx.output(
        &pool_address.with_part(Part::Client(client.to_string())),
        "id",
    );
    Ok(Provider {
        provider_name: format!("cognito-idp.{}.amazonaws.com/{pool_id}", ctx.region),
        client_id,
        server_side_token_check: false,
    })
}

pub(crate) fn desired(
    spec: &IdentityPoolSpec,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let mut providers = spec
        .providers
        .iter()
        .map(|p| provider(ctx, p))
        .collect::<Result<Vec<_>, _>>()?;
    providers.sort();
    let config = IdentityPoolConfig {
        name: name.to_string(),
        allow_unauthenticated: spec.allow_unauthenticated,
        allow_classic_flow: spec.allow_classic_flow,
        cognito_identity_providers: providers,
        supported_login_providers: spec.supported_logins.clone(),
        open_id_connect_provider_arns: sorted(&spec.openid_connect_providers),
        saml_provider_arns: sorted(&spec.saml_providers),
        tags,
    };
    serde_json::to_value(config).map_err(|e| e.to_string())
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

fn config_from(out: &DescribeIdentityPoolOutput) -> IdentityPoolConfig {
    let mut providers: Vec<Provider> = out
        .cognito_identity_providers()
        .iter()
        .map(|p| Provider {
            provider_name: p.provider_name().unwrap_or_default().to_string(),
            client_id: p.client_id().unwrap_or_default().to_string(),
            server_side_token_check: p.server_side_token_check().unwrap_or(false),
        })
        .collect();
    providers.sort();
    IdentityPoolConfig {
        name: out.identity_pool_name().to_string(),
        allow_unauthenticated: out.allow_unauthenticated_identities(),
        allow_classic_flow: out.allow_classic_flow().unwrap_or(false),
        cognito_identity_providers: providers,
        supported_login_providers: out
            .supported_login_providers()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        open_id_connect_provider_arns: sorted(out.open_id_connect_provider_arns()),
        saml_provider_arns: sorted(out.saml_provider_arns()),
        tags: tags_of(out),
    }
}

fn tags_of(out: &DescribeIdentityPoolOutput) -> Tags {
    out.identity_pool_tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn outputs(out: &DescribeIdentityPoolOutput) -> Outputs {
    Outputs::from([
        ("id".to_string(), out.identity_pool_id().to_string()),
        ("name".to_string(), out.identity_pool_name().to_string()),
    ])
}

// ------------------------------------------------------------------ read ----

/// Every identity pool in the account, as (id, name); one listing is shared
/// by the reads in flight at once (every declared pool's, and the search for
/// pools removed from the stack, and adopt's scan).
async fn list(aws: &Aws) -> Result<Vec<(String, String)>, Error> {
    super::flight::shared(aws, "cognito-identity:ListIdentityPools", || list_all(aws)).await
}

async fn list_all(aws: &Aws) -> Result<Vec<(String, String)>, Error> {
    super::all_pages(|token| async move {
        let out = aws
            .cognito_identity
            .list_identity_pools()
            .max_results(60)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("cognito-identity:ListIdentityPools", &e))?;
        let pools = out
            .identity_pools()
            .iter()
            .filter_map(|p| {
                Some((
                    p.identity_pool_id()?.to_string(),
                    p.identity_pool_name()?.to_string(),
                ))
            })
            .collect();
        Ok((pools, out.next_token))
    })
    .await
}

async fn describe(aws: &Aws, id: &str) -> Result<Option<DescribeIdentityPoolOutput>, Error> {
    match aws
        .cognito_identity
        .describe_identity_pool()
        .identity_pool_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(Error::aws("cognito-identity:DescribeIdentityPool", &e)),
    }
}

/// Reads the pool: ListIdentityPools, then DescribeIdentityPool of each
/// pool with the wanted name (its tags say whether it is ours). In a plan,
/// when one pool has that name, its roles (the attachment's read) are read
/// at the same time as it is described; a pool found not to be ours costs
/// that one read.
pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let listed = list(aws).await?;
    let named: Vec<&str> = listed
        .iter()
        .filter(|(_, n)| n == target.name)
        .map(|(id, _)| id.as_str())
        .collect();
    let prefetch = async {
        if let [id] = named.as_slice() {
            super::identity_pool_roles::prefetch(aws, target.plan, id).await;
        }
    };
    let (found, ()) = tokio::join!(
        super::find_one_ours(
            "identity pool",
            listed.clone(),
            target,
            |id| async move { describe(aws, &id).await },
            tags_of,
        ),
        prefetch,
    );
    let found = found?;
    let Some((_, out, ownership)) = found else {
        return Ok(None);
    };
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config_from(&out))
            .map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(&out),
        ownership,
    }))
}

/// Identity pools this stack owns, by their tags, among the pools whose name
/// starts like the stack's default names (`<stack>_`) and is none of the
/// declared `names` (those are read directly): pools removed from the file
/// or renamed. A removed pool with a custom name outside the prefix is not found.
pub(crate) async fn find_owned(
    aws: &Aws,
    stack: &Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    let prefix = format!("{}_", stack.name.replace('-', "_"));
    let listed = list(aws).await?;
    super::find_owned_leftovers(
        stack,
        Kind::IdentityPool,
        &prefix,
        names,
        listed,
        |id| async move { describe(aws, &id).await },
        tags_of,
    )
    .await
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<IdentityPoolConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

fn sdk_providers(config: &IdentityPoolConfig) -> Vec<CognitoIdentityProvider> {
    config
        .cognito_identity_providers
        .iter()
        .map(|p| {
            CognitoIdentityProvider::builder()
                .provider_name(&p.provider_name)
                .client_id(&p.client_id)
                .server_side_token_check(p.server_side_token_check)
                .build()
        })
        .collect()
}

fn hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let config = parse(&desired.attributes, &desired.address)?;
    let out = aws
        .cognito_identity
        .create_identity_pool()
        .identity_pool_name(&config.name)
        .allow_unauthenticated_identities(config.allow_unauthenticated)
        .allow_classic_flow(config.allow_classic_flow)
        .set_cognito_identity_providers(Some(sdk_providers(&config)))
        .set_supported_login_providers(Some(hash_map(&config.supported_login_providers)))
        .set_open_id_connect_provider_arns(Some(config.open_id_connect_provider_arns.clone()))
        .set_saml_provider_arns(Some(config.saml_provider_arns.clone()))
        // Tags go with the create call, so the pool never exists without its owner.
        .set_identity_pool_tags(Some(hash_map(&config.tags)))
        .send()
        .await
        .map_err(|e| Error::aws("cognito-identity:CreateIdentityPool", &e))?;
    Ok(Outputs::from([
        ("id".to_string(), out.identity_pool_id().to_string()),
        ("name".to_string(), out.identity_pool_name().to_string()),
    ]))
}

// ---------------------------------------------------------------- update ----

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let id = live
        .outputs
        .get("id")
        .ok_or_else(|| Error::Unexpected(format!("{}: the live pool has no id", live.address)))?;
    // Read-modify-write: start from what AWS has now, so that settings the
    // stack does not manage (a developer provider name) are sent back as they are.
    let current = describe(aws, id).await?.ok_or_else(|| {
        Error::Unexpected(format!("identity pool {id} vanished while being updated"))
    })?;
    let out = aws
        .cognito_identity
        .update_identity_pool()
        .identity_pool_id(id)
        .identity_pool_name(&want.name)
        .allow_unauthenticated_identities(want.allow_unauthenticated)
        .allow_classic_flow(want.allow_classic_flow)
        .set_developer_provider_name(current.developer_provider_name().map(str::to_string))
        .set_cognito_identity_providers(Some(sdk_providers(&want)))
        .set_supported_login_providers(Some(hash_map(&want.supported_login_providers)))
        .set_open_id_connect_provider_arns(Some(want.open_id_connect_provider_arns.clone()))
        .set_saml_provider_arns(Some(want.saml_provider_arns.clone()))
        .set_identity_pool_tags(Some(hash_map(&want.tags)))
        .send()
        .await
        .map_err(|e| Error::aws("cognito-identity:UpdateIdentityPool", &e))?;
    Ok(Outputs::from([
        ("id".to_string(), out.identity_pool_id().to_string()),
        ("name".to_string(), out.identity_pool_name().to_string()),
    ]))
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let Some(id) = live.outputs.get("id") else {
        return Ok(());
    };
    match aws
        .cognito_identity
        .delete_identity_pool()
        .identity_pool_id(id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::aws("cognito-identity:DeleteIdentityPool", &e)),
    }
}

// ---- adopt ----

/// Reads the pool's role attachment.
async fn adopt_parts(aws: &Aws, stack: &str, f: &mut adopt::Found) -> Result<Vec<String>, String> {
    let roles = f.address.with_part(Part::Roles);
    let name = f.attributes["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = f.id.clone();
    adopt::read_part(aws, stack, f, roles, &name, &id).await?;
    Ok(Vec::new())
}

/// The pool's flows, providers and, from its role attachment, its roles.
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.json(
        "allow_unauthenticated",
        a.get("allow_unauthenticated"),
        Some(Value::Bool(false)),
    );
    s.json(
        "allow_classic_flow",
        a.get("allow_classic_flow"),
        Some(Value::Bool(false)),
    );
    let mut providers = Vec::new();
    for p in a
        .get("cognito_identity_providers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = p["provider_name"].as_str().unwrap_or_default();
        let client = p["client_id"].as_str().unwrap_or_default();
        match super::user_pool_client::adopt_provider(w, name, client) {
            Some(reference) => providers.push(toml::Value::String(reference)),
            None => w.note(
                &f.address,
                format!("its provider `{name}` (client `{client}`) is not a user pool client found by this scan, and `providers` names only the stack's own; adopt that user pool too (`--include user_pool.<key>=<id>`)"),
            ),
        }
        if p["server_side_token_check"].as_bool() == Some(true) {
            w.note(
                &f.address,
                format!("provider `{name}` has the server-side token check on, which the stack format cannot express; `up` would turn it off"),
            );
        }
    }
    if !providers.is_empty() {
        s.set("providers", toml::Value::Array(providers));
    }
    s.json("supported_logins", a.get("supported_login_providers"), None);
    s.json(
        "openid_connect_providers",
        a.get("open_id_connect_provider_arns"),
        None,
    );
    s.json("saml_providers", a.get("saml_provider_arns"), None);
    let roles = f
        .parts
        .get(&f.address.with_part(Part::Roles))
        .map(|(attributes, _)| attributes.clone());
    if let Some(roles) = roles {
        super::identity_pool_roles::adopt_write(w, f, &roles, s);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::aws::mock::mock_client;
    use crate::resource::Ownership;
    use aws_sdk_cognitoidentity::operation::describe_identity_pool::DescribeIdentityPoolOutput;
    use aws_sdk_cognitoidentity::operation::update_identity_pool::UpdateIdentityPoolOutput;
    use aws_sdk_cognitoidentity::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    use super::*;
    use crate::stack::OWNER_ID_TAG;

    fn live(id: &str) -> Live {
        Live {
            address: "identity_pool.app".parse().unwrap(),
            physical_name: "demo_app".into(),
            attributes: Value::Null,
            outputs: Outputs::from([("id".to_string(), id.to_string())]),
            ownership: Ownership::Ours,
        }
    }

    #[tokio::test]
    async fn update_is_read_modify_write_and_keeps_the_developer_provider() {
        let describe = mock!(Client::describe_identity_pool).then_output(|| {
            DescribeIdentityPoolOutput::builder()
                .identity_pool_id("us-east-1:abc")
                .identity_pool_name("demo_app")
                .allow_unauthenticated_identities(false)
                .developer_provider_name("login.example.app")
                .build()
                .unwrap()
        });
        let update_rule = mock!(Client::update_identity_pool)
            .match_requests(|r| {
                r.developer_provider_name() == Some("login.example.app")
                    && r.allow_unauthenticated_identities() == Some(true)
                    && r.identity_pool_tags().is_some_and(|t| {
                        t.get(OWNER_ID_TAG).map(String::as_str) == Some("identity_pool.app")
                    })
                    && r.cognito_identity_providers().len() == 1
            })
            .then_output(|| {
                UpdateIdentityPoolOutput::builder()
                    .identity_pool_id("us-east-1:abc")
                    .identity_pool_name("demo_app")
                    .allow_unauthenticated_identities(true)
                    .build()
                    .unwrap()
            });
        let aws = Aws {
            cognito_identity: mock_client!(
                aws_sdk_cognitoidentity,
                RuleMode::MatchAny,
                [&describe, &update_rule]
            ),
            ..Aws::for_tests()
        };
        let config = IdentityPoolConfig {
            name: "demo_app".into(),
            allow_unauthenticated: true,
            allow_classic_flow: false,
            cognito_identity_providers: vec![Provider {
                provider_name: "cognito-idp.us-east-1.amazonaws.com/us-east-1_X".into(),
                client_id: "client".into(),
                server_side_token_check: false,
            }],
            supported_login_providers: BTreeMap::new(),
            open_id_connect_provider_arns: vec![],
            saml_provider_arns: vec![],
            tags: Tags::from([(OWNER_ID_TAG.to_string(), "identity_pool.app".to_string())]),
        };
        let desired = Desired {
            address: "identity_pool.app".parse().unwrap(),
            physical_name: "demo_app".into(),
            attributes: serde_json::to_value(config).unwrap(),
            depends_on: vec![],
        };
        let out = update(&aws, &desired, &live("us-east-1:abc"))
            .await
            .expect("updated");
        assert_eq!(
            update_rule.num_calls(),
            1,
            "one complete UpdateIdentityPool"
        );
        assert_eq!(out["id"], "us-east-1:abc");
    }

    /// In a plan, the one pool with the wanted name has its roles read while
    /// it is described, and the role attachment's read takes that answer:
    /// one GetIdentityPoolRoles, made before the attachment is read.
    /// Outside a plan the pool's read reads no roles.
    #[tokio::test]
    async fn in_a_plan_the_roles_are_read_with_the_pools_describe_and_once() {
        use aws_sdk_cognitoidentity::operation::get_identity_pool_roles::GetIdentityPoolRolesOutput;
        use aws_sdk_cognitoidentity::operation::list_identity_pools::ListIdentityPoolsOutput;
        use aws_sdk_cognitoidentity::types::IdentityPoolShortDescription;
        let m = crate::resource::aws_defaults::Minimal::load(
            "[identity_pool.app]\n",
            "identity_pool.app",
            &[],
        );
        let tags = hash_map(&m.tags());
        let list = mock!(Client::list_identity_pools).then_output(|| {
            ListIdentityPoolsOutput::builder()
                .identity_pools(
                    IdentityPoolShortDescription::builder()
                        .identity_pool_id("us-east-1:0000-1111")
                        .identity_pool_name("demo_app")
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_identity_pool).then_output(move || {
            DescribeIdentityPoolOutput::builder()
                .identity_pool_id("us-east-1:0000-1111")
                .identity_pool_name("demo_app")
                .allow_unauthenticated_identities(false)
                .set_identity_pool_tags(Some(tags.clone()))
                .build()
                .unwrap()
        });
        let roles = mock!(Client::get_identity_pool_roles)
            .match_requests(|r| r.identity_pool_id() == Some("us-east-1:0000-1111"))
            .then_output(|| GetIdentityPoolRolesOutput::builder().build());
        let aws = Aws {
            cognito_identity: mock_client!(
                aws_sdk_cognitoidentity,
                RuleMode::MatchAny,
                [&list, &describe, &roles]
            ),
            ..Aws::for_tests()
        };
        read(&aws, &m.target(None))
            .await
            .expect("read")
            .expect("found");
        assert_eq!(roles.num_calls(), 0, "outside a plan");

        let reads = crate::resource::PlanReads::new("demo", []);
        let plan = Some(crate::resource::PlanTarget {
            reads: &reads,
            desired_tags: None,
        });
        let target = Target {
            plan,
            ..m.target(None)
        };
        let pool = read(&aws, &target).await.expect("read").expect("found");
        assert_eq!(roles.num_calls(), 1, "read with the pool's describe");
        let part: Address = "identity_pool.app.roles".parse().unwrap();
        let attachment = Target {
            address: &part,
            parent: Some(&pool.outputs),
            plan,
            ..m.target(None)
        };
        crate::resource::identity_pool_roles::read(&aws, &attachment)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(
            roles.num_calls(),
            1,
            "the attachment's read took the answer"
        );
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for `[identity_pool.app]` with nothing in it (see
    /// `resource/aws_defaults.rs`): `CreateIdentityPool` is sent the name,
    /// both flags false, empty provider lists and the tags; Cognito reports
    /// the flags and tags back and leaves out the empty lists
    /// (terraform-provider-aws `TestAccCognitoIdentityPool_basic`:
    /// `allow_unauthenticated_identities` false, `allow_classic_flow` false,
    /// `developer_provider_name` "", no providers).
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        use aws_sdk_cognitoidentity::operation::list_identity_pools::ListIdentityPoolsOutput;
        use aws_sdk_cognitoidentity::types::IdentityPoolShortDescription;
        let m = crate::resource::aws_defaults::Minimal::load(
            "[identity_pool.app]\n",
            "identity_pool.app",
            &[],
        );
        let tags = hash_map(&m.tags());
        let list = mock!(Client::list_identity_pools).then_output(|| {
            ListIdentityPoolsOutput::builder()
                .identity_pools(
                    IdentityPoolShortDescription::builder()
                        .identity_pool_id("us-east-1:0000-1111")
                        .identity_pool_name("demo_app")
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_identity_pool).then_output(move || {
            DescribeIdentityPoolOutput::builder()
                .identity_pool_id("us-east-1:0000-1111")
                .identity_pool_name("demo_app")
                .allow_unauthenticated_identities(false)
                .allow_classic_flow(false)
                .set_identity_pool_tags(Some(tags.clone()))
                .build()
                .unwrap()
        });
        let aws = Aws {
            cognito_identity: mock_client!(
                aws_sdk_cognitoidentity,
                RuleMode::MatchAny,
                [&list, &describe]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        vec![m.case("a pool made from `[identity_pool.app]`", live)]
    }
}
