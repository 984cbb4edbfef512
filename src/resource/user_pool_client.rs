//! `user_pool.<key>.clients.<name>` — an app client of a user pool, its own
//! step after the pool (it needs the pool's id from the parent outputs).
//!
//! App clients cannot be tagged: a client is ours when it lives in our pool
//! and has the desired name (`ListUserPoolClients`, then
//! `DescribeUserPoolClient`). Whether it has a secret cannot change, so
//! `generate_secret` replaces the client (never the pool). The secret itself
//! is never read into the configuration, the plan or the outputs.
//! `UpdateUserPoolClient` resets what it is not sent, so updates are
//! read-modify-write from a fresh `DescribeUserPoolClient`.

use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::builders::UpdateUserPoolClientFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, OAuthFlowType, PreventUserExistenceErrorTypes, TimeUnitsType,
    TokenValidityUnitsType, UserPoolClientType,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{PartStep, Step};
use super::{Change, Desired, Error, Live, Outputs, Ownership, Target};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::reference::nearest;
use crate::stack::{Address, Kind, Part};

// ------------------------------------------------------------ schema ----

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

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    // Found by name within the pool: a new name is a new client.
    ("name", Change::Replace),
    ("generate_secret", Change::Replace),
    ("auth_flows", Change::Update),
    ("read_attributes", Change::Update),
    ("write_attributes", Change::Update),
    ("prevent_user_existence_errors", Change::Update),
    ("access_token_validity_minutes", Change::Update),
    ("id_token_validity_minutes", Change::Update),
    ("refresh_token_validity_days", Change::Update),
    ("callback_urls", Change::Update),
    ("logout_urls", Change::Update),
    ("oauth_flows", Change::Update),
    ("oauth_scopes", Change::Update),
    ("supported_identity_providers", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. The desired value holds a
/// value for every field AWS would default, and `create` sends it: the auth
/// flows AWS allows when none are given (`ALLOW_REFRESH_TOKEN_AUTH`,
/// `ALLOW_USER_SRP_AUTH`, `ALLOW_CUSTOM_AUTH`), token validities of 60
/// minutes, 60 minutes and 30 days with their units, and
/// `prevent_user_existence_errors` on (Cognito's recommendation; the API's
/// default is `LEGACY`, which the stack then changes on purpose).
/// `read_attributes`/`write_attributes` are empty for the default set
/// because AWS reports nothing then ("Amazon Cognito only populates
/// ReadAttributes in the API response if you have specified your own custom
/// set", `UserPoolClientType` in the API reference); marking them would hide
/// a custom set the stack no longer declares.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `user_pool.<key>.clients.<name>`: an app client of a user pool.
pub(crate) struct ClientPart;

impl PartStep for ClientPart {
    const PART: &'static str = "clients";

    /// `name = ...` of the client, or its key.
    fn physical_name<'s>(
        spec: &'s Self::Spec,
        part: &crate::stack::Part,
    ) -> super::registry::PartName<'s> {
        let declared = part.key().and_then(|key| spec.clients.get(key));
        match declared.and_then(|c| c.name.as_deref()) {
            Some(template) => super::registry::PartName::Template(template),
            None => super::registry::PartName::Key,
        }
    }
}

impl Step for ClientPart {
    type Config = ClientConfig;
    type Spec = crate::resource::user_pool::UserPoolSpec;
    const NOUN: &'static str = "user pool app client";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 1;

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        _tags: crate::stack::Tags,
        _ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        match &address.part {
            Some(crate::stack::Part::Client(key)) => match spec.clients.get(key) {
                Some(c) => desired(key, c, name),
                None => Err(format!("`{address}` is not declared in the stack")),
            },
            _ => Err(format!("`{address}` is not an app client")),
        }
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        create(aws, desired, parent).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        update(aws, desired, live, parent).await
    }

    /// The client secret, for a client that has one.
    async fn read_secrets(aws: &Aws, live: &Live) -> Result<super::Outputs, Error> {
        Ok(secret(aws, live)
            .await?
            .map(|secret| ("client_secret".to_string(), secret))
            .into_iter()
            .collect())
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    /// Never the client secret (`outputs --include-secrets` reads it apart).
    const OUTPUTS: &'static [&'static str] = &["id", "name", "user_pool_id"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["id"];
    const SWIFT_SECTION: &'static str = "Clients";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::AppClient);
}

/// The comparable shape of an app client (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClientConfig {
    pub name: String,
    pub generate_secret: bool,
    /// Sorted.
    pub auth_flows: Vec<String>,
    /// Sorted; empty means every attribute.
    pub read_attributes: Vec<String>,
    pub write_attributes: Vec<String>,
    pub prevent_user_existence_errors: bool,
    pub access_token_validity_minutes: i64,
    pub id_token_validity_minutes: i64,
    /// Whole days; what is not a whole number of days reads as a string
    /// such as `"36 hours"`.
    pub refresh_token_validity_days: Value,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub oauth_flows: Vec<String>,
    pub oauth_scopes: Vec<String>,
    pub supported_identity_providers: Vec<String>,
}

/// Cognito's flows for a client created without any.
const DEFAULT_AUTH_FLOWS: &[&str] = &[
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
];
const DEFAULT_ACCESS_MINUTES: i64 = 60;
const DEFAULT_ID_MINUTES: i64 = 60;
const DEFAULT_REFRESH_DAYS: i64 = 30;

fn sorted(values: &[String]) -> Vec<String> {
    let mut v = values.to_vec();
    v.sort();
    v.dedup();
    v
}

fn check_values(field: &str, values: &[String], allowed: &[&str]) -> Result<(), String> {
    for v in values {
        if !allowed.contains(&v.as_str()) {
            let help = match nearest(v, allowed.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("one of: {}", allowed.join(", ")),
            };
            return Err(format!("`{field}` cannot hold `{v}`; {help}"));
        }
    }
    Ok(())
}

/// Every check of a client's settings that needs no AWS call.
pub(crate) fn check(client: &str, spec: &UserPoolClientSpec) -> Result<(), String> {
    let what = format!("client `{client}`");
    check_values(
        &format!("{what}: auth_flows"),
        &spec.auth_flows,
        ExplicitAuthFlowsType::values(),
    )?;
    let legacy = spec.auth_flows.iter().any(|f| !f.starts_with("ALLOW_"));
    let current = spec.auth_flows.iter().any(|f| f.starts_with("ALLOW_"));
    if legacy && current {
        return Err(format!(
            "{what}: `auth_flows` mixes `ALLOW_` flows with legacy ones; use only `ALLOW_` flows"
        ));
    }
    check_values(
        &format!("{what}: oauth_flows"),
        &spec.oauth_flows,
        OAuthFlowType::values(),
    )?;
    for (field, v, range) in [
        (
            "access_token_validity_minutes",
            spec.access_token_validity_minutes,
            5..=1440,
        ),
        (
            "id_token_validity_minutes",
            spec.id_token_validity_minutes,
            5..=1440,
        ),
        (
            "refresh_token_validity_days",
            spec.refresh_token_validity_days,
            1..=3650,
        ),
    ] {
        if v.is_some_and(|v| !range.contains(&v)) {
            return Err(format!(
                "{what}: `{field}` must be {} to {}",
                range.start(),
                range.end()
            ));
        }
    }
    if !spec.oauth_flows.is_empty() {
        if spec.oauth_scopes.is_empty() {
            return Err(format!("{what}: `oauth_flows` need `oauth_scopes`"));
        }
        let browser = spec.oauth_flows.iter().any(|f| f != "client_credentials");
        if browser && spec.callback_urls.is_empty() {
            return Err(format!(
                "{what}: the `code` and `implicit` OAuth flows need `callback_urls`"
            ));
        }
        if spec.oauth_flows.iter().any(|f| f == "client_credentials") {
            if !spec.generate_secret {
                return Err(format!(
                    "{what}: the `client_credentials` flow needs `generate_secret = true`"
                ));
            }
            if browser {
                return Err(format!(
                    "{what}: `client_credentials` cannot be combined with `code` or `implicit`"
                ));
            }
        }
    } else if !spec.oauth_scopes.is_empty() {
        return Err(format!("{what}: `oauth_scopes` without `oauth_flows`"));
    }
    for url in spec.callback_urls.iter().chain(&spec.logout_urls) {
        if !url.contains("://") {
            return Err(format!("{what}: `{url}` is not a URL"));
        }
    }
    Ok(())
}

/// The client the stack wants, named `name`.
pub(crate) fn desired_config(
    key: &str,
    spec: &UserPoolClientSpec,
    name: &str,
) -> Result<ClientConfig, String> {
    check(key, spec)?;
    let auth_flows = if spec.auth_flows.is_empty() {
        DEFAULT_AUTH_FLOWS.iter().map(|s| s.to_string()).collect()
    } else {
        sorted(&spec.auth_flows)
    };
    Ok(ClientConfig {
        name: name.to_string(),
        generate_secret: spec.generate_secret,
        auth_flows,
        read_attributes: sorted(&spec.read_attributes),
        write_attributes: sorted(&spec.write_attributes),
        // Cognito's recommended setting (its API default is the legacy one).
        prevent_user_existence_errors: spec.prevent_user_existence_errors.unwrap_or(true),
        access_token_validity_minutes: spec
            .access_token_validity_minutes
            .unwrap_or(DEFAULT_ACCESS_MINUTES),
        id_token_validity_minutes: spec.id_token_validity_minutes.unwrap_or(DEFAULT_ID_MINUTES),
        refresh_token_validity_days: Value::from(
            spec.refresh_token_validity_days
                .unwrap_or(DEFAULT_REFRESH_DAYS),
        ),
        callback_urls: sorted(&spec.callback_urls),
        logout_urls: sorted(&spec.logout_urls),
        oauth_flows: sorted(&spec.oauth_flows),
        oauth_scopes: sorted(&spec.oauth_scopes),
        supported_identity_providers: sorted(&spec.supported_identity_providers),
    })
}

pub(crate) fn desired(key: &str, spec: &UserPoolClientSpec, name: &str) -> Result<Value, String> {
    serde_json::to_value(desired_config(key, spec, name)?).map_err(|e| e.to_string())
}

fn minutes(value: i64, unit: Option<&TimeUnitsType>, default: TimeUnitsType) -> i64 {
    match unit.unwrap_or(&default) {
        TimeUnitsType::Seconds => value / 60,
        TimeUnitsType::Minutes => value,
        TimeUnitsType::Hours => value * 60,
        TimeUnitsType::Days => value * 1440,
        _ => value,
    }
}

fn strings(v: &[String]) -> Vec<String> {
    sorted(v)
}

/// A client as the stack compares it.
pub(crate) fn config_from(c: &UserPoolClientType) -> ClientConfig {
    let units = c.token_validity_units();
    let access = c
        .access_token_validity()
        .map(|v| {
            minutes(
                i64::from(v),
                units.and_then(|u| u.access_token()),
                TimeUnitsType::Hours,
            )
        })
        .unwrap_or(DEFAULT_ACCESS_MINUTES);
    let id = c
        .id_token_validity()
        .map(|v| {
            minutes(
                i64::from(v),
                units.and_then(|u| u.id_token()),
                TimeUnitsType::Hours,
            )
        })
        .unwrap_or(DEFAULT_ID_MINUTES);
    let refresh = match c.refresh_token_validity() {
        0 => Value::from(DEFAULT_REFRESH_DAYS),
        v => {
            let m = minutes(
                i64::from(v),
                units.and_then(|u| u.refresh_token()),
                TimeUnitsType::Days,
            );
            if m % 1440 == 0 {
                Value::from(m / 1440)
            } else {
                Value::from(format!("{m} minutes"))
            }
        }
    };
    ClientConfig {
        name: c.client_name().unwrap_or_default().to_string(),
        generate_secret: c.client_secret().is_some_and(|s| !s.is_empty()),
        auth_flows: strings(
            &c.explicit_auth_flows()
                .iter()
                .map(|f| f.as_str().to_string())
                .collect::<Vec<_>>(),
        ),
        read_attributes: strings(c.read_attributes()),
        write_attributes: strings(c.write_attributes()),
        prevent_user_existence_errors: c.prevent_user_existence_errors()
            == Some(&PreventUserExistenceErrorTypes::Enabled),
        access_token_validity_minutes: access,
        id_token_validity_minutes: id,
        refresh_token_validity_days: refresh,
        callback_urls: strings(c.callback_urls()),
        logout_urls: strings(c.logout_urls()),
        oauth_flows: strings(
            &c.allowed_o_auth_flows()
                .iter()
                .map(|f| f.as_str().to_string())
                .collect::<Vec<_>>(),
        ),
        oauth_scopes: strings(c.allowed_o_auth_scopes()),
        supported_identity_providers: strings(c.supported_identity_providers()),
    }
}

/// `id`, `name` and `user_pool_id` — never the secret.
fn outputs(c: &UserPoolClientType, pool_id: &str) -> Outputs {
    Outputs::from([
        (
            "id".to_string(),
            c.client_id().unwrap_or_default().to_string(),
        ),
        (
            "name".to_string(),
            c.client_name().unwrap_or_default().to_string(),
        ),
        (
            "user_pool_id".to_string(),
            c.user_pool_id().unwrap_or(pool_id).to_string(),
        ),
    ])
}

fn pool_id<'a>(parent: Option<&'a Outputs>, address: &Address) -> Result<&'a str, Error> {
    parent
        .and_then(|p| p.get("id"))
        .map(String::as_str)
        .ok_or_else(|| {
            Error::Unexpected(format!(
                "`{address}`: its user pool `{}` has no id yet",
                address.resource()
            ))
        })
}

// ------------------------------------------------------------------ read ----

async fn describe(
    aws: &Aws,
    pool_id: &str,
    client_id: &str,
) -> Result<Option<UserPoolClientType>, Error> {
    match aws
        .cognito_idp
        .describe_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
    {
        Ok(out) => Ok(out.user_pool_client),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(Error::aws("cognito-idp:DescribeUserPoolClient", &e)),
    }
}

/// The ids of the pool's clients named `name`; `None` when the pool is gone.
/// The pool's listing is shared by the reads of its clients (in a plan, with
/// the pool's own read, which starts it: [`prefetch`]).
async fn find(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
    name: &str,
) -> Result<Option<Vec<String>>, Error> {
    let listed = listed(aws, plan, pool_id).await?;
    Ok(listed.map(|clients| {
        clients
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(id, _)| id)
            .collect()
    }))
}

/// The pool's clients as listed once for the plan's reads of them.
async fn listed(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
) -> Result<Option<Vec<(String, String)>>, Error> {
    let key = format!("cognito-idp:ListUserPoolClients {pool_id}");
    super::plan_shared(plan, aws, &key, || list(aws, pool_id)).await
}

/// Lists the clients of the pool with the id `pool_id` for the plan's reads
/// of them, before the pool's read knows the pool is ours, and describes
/// those `spec` declares by a plain name (or key; a templated name is left
/// to its client's read): the pool's read calls this with DescribeUserPool,
/// so that the clients' reads find both answered instead of waiting for the
/// pool's whole read (its trigger permissions) and then asking. An error is
/// left for the clients' reads to report.
pub(crate) async fn prefetch(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
    spec: &crate::resource::user_pool::UserPoolSpec,
) {
    if plan.is_none() || spec.clients.is_empty() {
        return;
    }
    let Ok(Some(clients)) = listed(aws, plan, pool_id).await else {
        return;
    };
    let names: Vec<&str> = spec
        .clients
        .iter()
        .map(|(key, c)| c.name.as_deref().unwrap_or(key))
        .filter(|n| !n.contains("${"))
        .collect();
    let ours = clients.iter().filter(|(_, n)| names.contains(&n.as_str()));
    futures::future::join_all(ours.map(|(id, _)| described(aws, plan, pool_id, id))).await;
}

/// [`describe`], shared by the plan's reads ([`prefetch`] starts it).
async fn described(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    pool_id: &str,
    client_id: &str,
) -> Result<Option<UserPoolClientType>, Error> {
    let key = format!("cognito-idp:DescribeUserPoolClient {pool_id} {client_id}");
    super::plan_shared(plan, aws, &key, || describe(aws, pool_id, client_id)).await
}

/// Every client of the pool, as (id, name); `None` when the pool is gone.
pub(crate) async fn list(aws: &Aws, pool_id: &str) -> Result<Option<Vec<(String, String)>>, Error> {
    super::all_pages_unless_gone(|token| async move {
        let out = aws
            .cognito_idp
            .list_user_pool_clients()
            .user_pool_id(pool_id)
            .max_results(60)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                super::PageError::of(
                    "cognito-idp:ListUserPoolClients",
                    "ResourceNotFoundException",
                    &e,
                )
            })?;
        let clients = out
            .user_pool_clients()
            .iter()
            .filter_map(|c| Some((c.client_id()?.to_string(), c.client_name()?.to_string())))
            .collect();
        Ok((clients, out.next_token))
    })
    .await
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    // A client of a pool that does not exist (yet) does not exist either.
    let Some(pool_id) = target.parent.and_then(|p| p.get("id")) else {
        return Ok(None);
    };
    let Some(ids) = find(aws, target.plan, pool_id, target.name).await? else {
        return Ok(None);
    };
    if ids.len() > 1 {
        return Err(Error::Refused(format!(
            "user pool {pool_id} has {} app clients named `{}` ({}); this stack cannot tell which one is `{}`. Delete or rename the extra ones, then plan again",
            ids.len(),
            target.name,
            ids.join(", "),
            target.address
        )));
    }
    let Some(id) = ids.first() else {
        return Ok(None);
    };
    let Some(client) = described(aws, target.plan, pool_id, id).await? else {
        return Ok(None);
    };
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config_from(&client))
            .map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(&client, pool_id),
        // In our pool, with the name the stack gives it.
        ownership: Ownership::Ours,
    }))
}

/// The client secret of a client that has one (`generate_secret`), read
/// again with `DescribeUserPoolClient`; `None` for a client without a secret
/// (no call is made) or one that is gone. Only `outputs --include-secrets`
/// calls this: the secret is never kept in the configuration, the plan or
/// the outputs.
pub(crate) async fn secret(aws: &Aws, live: &Live) -> Result<Option<String>, Error> {
    if live
        .attributes
        .get("generate_secret")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Ok(None);
    }
    let (Some(pool_id), Some(client_id)) =
        (live.outputs.get("user_pool_id"), live.outputs.get("id"))
    else {
        return Err(Error::Unexpected(format!(
            "`{}`: the client's id or its user pool's id was not read; run `plan` to check the stack",
            live.address
        )));
    };
    Ok(describe(aws, pool_id, client_id)
        .await?
        .and_then(|c| c.client_secret)
        .filter(|s| !s.is_empty()))
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<ClientConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

fn units() -> TokenValidityUnitsType {
    TokenValidityUnitsType::builder()
        .access_token(TimeUnitsType::Minutes)
        .id_token(TimeUnitsType::Minutes)
        .refresh_token(TimeUnitsType::Days)
        .build()
}

fn refresh_days(c: &ClientConfig, address: &Address) -> Result<i32, Error> {
    c.refresh_token_validity_days
        .as_i64()
        .map(|d| d as i32)
        .ok_or_else(|| {
            Error::Unexpected(format!(
                "{address}: refresh_token_validity_days is not a number of days"
            ))
        })
}

fn prevent(c: &ClientConfig) -> PreventUserExistenceErrorTypes {
    if c.prevent_user_existence_errors {
        PreventUserExistenceErrorTypes::Enabled
    } else {
        PreventUserExistenceErrorTypes::Legacy
    }
}

fn some(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

pub(crate) async fn create(
    aws: &Aws,
    desired: &Desired,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    let c = parse(&desired.attributes, &desired.address)?;
    let pool_id = pool_id(parent, &desired.address)?;
    let out = aws
        .cognito_idp
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name(&c.name)
        .generate_secret(c.generate_secret)
        .set_explicit_auth_flows(Some(
            c.auth_flows
                .iter()
                .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
                .collect(),
        ))
        .set_read_attributes(some(&c.read_attributes))
        .set_write_attributes(some(&c.write_attributes))
        .prevent_user_existence_errors(prevent(&c))
        .access_token_validity(c.access_token_validity_minutes as i32)
        .id_token_validity(c.id_token_validity_minutes as i32)
        .refresh_token_validity(refresh_days(&c, &desired.address)?)
        .token_validity_units(units())
        .set_callback_urls(some(&c.callback_urls))
        .set_logout_urls(some(&c.logout_urls))
        .set_allowed_o_auth_flows((!c.oauth_flows.is_empty()).then(|| {
            c.oauth_flows
                .iter()
                .map(|f| OAuthFlowType::from(f.as_str()))
                .collect()
        }))
        .set_allowed_o_auth_scopes(some(&c.oauth_scopes))
        .allowed_o_auth_flows_user_pool_client(!c.oauth_flows.is_empty())
        .set_supported_identity_providers(some(&c.supported_identity_providers))
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:CreateUserPoolClient", &e))?;
    let client = out
        .user_pool_client
        .ok_or_else(|| Error::Unexpected("CreateUserPoolClient returned no client".into()))?;
    Ok(outputs(&client, pool_id))
}

// ---------------------------------------------------------------- update ----

/// The complete `UpdateUserPoolClient` request: the client as it is, with
/// what the stack manages overwritten (AWS resets whatever is not sent).
pub(crate) fn update_request(
    aws: &Aws,
    current: &UserPoolClientType,
    want: &ClientConfig,
    address: &Address,
) -> Result<UpdateUserPoolClientFluentBuilder, Error> {
    // A default redirect must be one of the callback URLs.
    let default_redirect = current
        .default_redirect_uri
        .clone()
        .filter(|u| want.callback_urls.contains(u));
    Ok(aws
        .cognito_idp
        .update_user_pool_client()
        .set_user_pool_id(current.user_pool_id.clone())
        .set_client_id(current.client_id.clone())
        .client_name(&want.name)
        .refresh_token_validity(refresh_days(want, address)?)
        .access_token_validity(want.access_token_validity_minutes as i32)
        .id_token_validity(want.id_token_validity_minutes as i32)
        .token_validity_units(units())
        .set_read_attributes(some(&want.read_attributes))
        .set_write_attributes(some(&want.write_attributes))
        .set_explicit_auth_flows(Some(
            want.auth_flows
                .iter()
                .map(|f| ExplicitAuthFlowsType::from(f.as_str()))
                .collect(),
        ))
        .set_supported_identity_providers(some(&want.supported_identity_providers))
        .set_callback_urls(some(&want.callback_urls))
        .set_logout_urls(some(&want.logout_urls))
        .set_default_redirect_uri(default_redirect)
        .set_allowed_o_auth_flows((!want.oauth_flows.is_empty()).then(|| {
            want.oauth_flows
                .iter()
                .map(|f| OAuthFlowType::from(f.as_str()))
                .collect()
        }))
        .set_allowed_o_auth_scopes(some(&want.oauth_scopes))
        .allowed_o_auth_flows_user_pool_client(!want.oauth_flows.is_empty())
        .prevent_user_existence_errors(prevent(want))
        // Not managed by the stack: sent back as they are.
        .set_analytics_configuration(current.analytics_configuration.clone())
        .set_enable_token_revocation(current.enable_token_revocation)
        .set_enable_propagate_additional_user_context_data(
            current.enable_propagate_additional_user_context_data,
        )
        .set_auth_session_validity(current.auth_session_validity)
        .set_refresh_token_rotation(current.refresh_token_rotation.clone()))
}

pub(crate) async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    let pool_id = pool_id(parent, &desired.address)?;
    // The pool was replaced: the client is created in the new one.
    if live.outputs.get("user_pool_id").map(String::as_str) != Some(pool_id) {
        return create(aws, desired, parent).await;
    }
    let want = parse(&desired.attributes, &desired.address)?;
    let client_id = live
        .outputs
        .get("id")
        .ok_or_else(|| Error::Unexpected(format!("{}: the live client has no id", live.address)))?;
    let current = describe(aws, pool_id, client_id).await?.ok_or_else(|| {
        Error::Unexpected(format!(
            "app client {client_id} vanished while being updated; run `up` again"
        ))
    })?;
    let out = update_request(aws, &current, &want, &desired.address)?
        .send()
        .await
        .map_err(|e| Error::aws("cognito-idp:UpdateUserPoolClient", &e))?;
    let client = out.user_pool_client.unwrap_or(current);
    Ok(outputs(&client, pool_id))
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let (Some(pool_id), Some(client_id)) =
        (live.outputs.get("user_pool_id"), live.outputs.get("id"))
    else {
        return Ok(());
    };
    // Deleting the pool takes its clients with it: gone is fine.
    match aws
        .cognito_idp
        .delete_user_pool_client()
        .user_pool_id(pool_id)
        .client_id(client_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::aws("cognito-idp:DeleteUserPoolClient", &e)),
    }
}

// ---- adopt ----

/// An app client, defaults left out.
pub(crate) fn adopt_write(
    w: &mut adopt::Writer<'_>,
    pool: &Address,
    key: &str,
    c: &Value,
) -> toml::Table {
    let name = c["name"].as_str().unwrap_or_default();
    let mut t = toml::Table::new();
    if name != key {
        t.insert("name".into(), toml::Value::String(name.into()));
    }
    let flows = c.get("auth_flows").cloned().unwrap_or(Value::Null);
    if flows.as_array().is_some_and(|f| f.is_empty()) {
        w.note(
            pool,
            format!("app client `{name}` allows no sign-in flow, which the stack format cannot say (no `auth_flows` means Cognito's defaults)"),
        );
    }
    if let Some(Value::String(other)) = c.get("refresh_token_validity_days") {
        w.note(
            pool,
            format!("app client `{name}`'s refresh tokens last {other}, not whole days, which the stack format cannot say"),
        );
    }
    let default_flows = json_strings(&[
        "ALLOW_CUSTOM_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]);
    for (k, default) in [
        ("generate_secret", Some(Value::Bool(false))),
        ("auth_flows", Some(default_flows)),
        ("read_attributes", None),
        ("write_attributes", None),
        ("prevent_user_existence_errors", Some(Value::Bool(true))),
        ("access_token_validity_minutes", Some(Value::from(60))),
        ("id_token_validity_minutes", Some(Value::from(60))),
        ("refresh_token_validity_days", Some(Value::from(30))),
        ("callback_urls", None),
        ("logout_urls", None),
        ("oauth_flows", None),
        ("oauth_scopes", None),
        ("supported_identity_providers", None),
    ] {
        let Some(v) = c
            .get(k)
            .filter(|v| !v.is_null() && !v.is_string() || k == "auth_flows")
        else {
            continue;
        };
        let empty = v.as_array().is_some_and(|a| a.is_empty());
        if empty || Some(v) == default.as_ref() {
            continue;
        }
        if let Some(v) = adopt::toml_value(v) {
            t.insert(k.into(), v);
        }
    }
    t
}

/// `user_pool.client` for a Cognito provider (`cognito-idp.<region>.amazonaws.com/<pool id>`
/// and a client id), when both were found.
pub(crate) fn adopt_provider(
    w: &adopt::Writer<'_>,
    provider_name: &str,
    client_id: &str,
) -> Option<String> {
    let pool_id = provider_name.rsplit('/').next()?;
    let pool = w.found().iter().find(|f| {
        f.address.kind == Kind::UserPool && f.outputs.get("id").map(String::as_str) == Some(pool_id)
    })?;
    let client = pool
        .parts
        .iter()
        .find_map(|(address, (_, outputs))| match &address.part {
            Some(Part::Client(c)) => {
                (outputs.get("id").map(String::as_str) == Some(client_id)).then(|| c.clone())
            }
            _ => None,
        })?;
    Some(format!("{}.{client}", pool.address.key))
}

fn json_strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::aws::mock::mock_client;
    use aws_sdk_cognitoidentityprovider::operation::describe_user_pool_client::DescribeUserPoolClientOutput;
    use aws_sdk_cognitoidentityprovider::operation::list_user_pool_clients::ListUserPoolClientsOutput;
    use aws_sdk_cognitoidentityprovider::operation::update_user_pool_client::UpdateUserPoolClientOutput;
    use aws_sdk_cognitoidentityprovider::types::{
        AnalyticsConfigurationType, UserPoolClientDescription,
    };
    use aws_sdk_cognitoidentityprovider::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    use super::*;

    const POOL: &str = "us-east-1_Abc123";

    fn spec(text: &str) -> UserPoolClientSpec {
        toml::from_str(text).expect("a client spec")
    }

    fn ios() -> UserPoolClientSpec {
        spec(
            r#"generate_secret = false
auth_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]"#,
        )
    }

    /// The client as AWS reports it after creating `ios()`, with settings the
    /// stack does not manage.
    fn described() -> UserPoolClientType {
        UserPoolClientType::builder()
            .user_pool_id(POOL)
            .client_id("client1")
            .client_name("ios")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
            .access_token_validity(60)
            .id_token_validity(60)
            .refresh_token_validity(30)
            .token_validity_units(units())
            .allowed_o_auth_flows_user_pool_client(false)
            .enable_token_revocation(false)
            .auth_session_validity(10)
            .analytics_configuration(
                AnalyticsConfigurationType::builder()
                    .application_id("pinpoint-app")
                    .build(),
            )
            .build()
    }

    #[test]
    fn the_example_client_is_what_aws_reports_after_creating_it() {
        let want = desired_config("ios", &ios(), "ios").unwrap();
        assert_eq!(want, config_from(&described()));
        assert_eq!(
            want.auth_flows,
            ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
        );
    }

    #[test]
    fn token_validity_reads_in_any_unit() {
        let mut c = described();
        c.token_validity_units = None; // AWS's defaults: hours, hours, days
        c.access_token_validity = Some(1);
        c.refresh_token_validity = 36;
        let mut units = TokenValidityUnitsType::builder().build();
        units.refresh_token = Some(TimeUnitsType::Hours);
        let config = config_from(&c);
        assert_eq!(config.access_token_validity_minutes, 60);
        assert_eq!(config.refresh_token_validity_days, Value::from(36));
        c.token_validity_units = Some(units);
        assert_eq!(
            config_from(&c).refresh_token_validity_days,
            Value::from("2160 minutes")
        );
    }

    #[test]
    fn a_secret_is_only_ever_a_flag() {
        let mut c = described();
        c.client_secret = Some("s3cr3t-value".into());
        let config = config_from(&c);
        assert!(config.generate_secret);
        let text = serde_json::to_string(&config).unwrap()
            + &serde_json::to_string(&outputs(&c, POOL)).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[test]
    fn offline_checks_name_what_is_wrong() {
        let err = |t: &str| desired_config("web", &spec(t), "web").unwrap_err();
        assert!(err(r#"auth_flows = ["ALLOW_USR_SRP_AUTH"]"#)
            .contains("did you mean `ALLOW_USER_SRP_AUTH`?"));
        assert!(
            err(r#"auth_flows = ["ALLOW_USER_SRP_AUTH", "USER_PASSWORD_AUTH"]"#).contains("legacy")
        );
        assert!(err(r#"oauth_flows = ["code"]"#).contains("oauth_scopes"));
        assert!(err(r#"oauth_flows = ["code"]
oauth_scopes = ["openid"]"#)
        .contains("callback_urls"));
        assert!(err("access_token_validity_minutes = 2").contains("5 to 1440"));
        assert!(err(r#"oauth_flows = ["client_credentials"]
oauth_scopes = ["api/read"]"#)
        .contains("generate_secret"));
    }

    fn live(pool: &str) -> Live {
        Live {
            address: "user_pool.users.clients.ios".parse().unwrap(),
            physical_name: "ios".into(),
            attributes: serde_json::to_value(config_from(&described())).unwrap(),
            outputs: Outputs::from([
                ("id".to_string(), "client1".to_string()),
                ("name".to_string(), "ios".to_string()),
                ("user_pool_id".to_string(), pool.to_string()),
            ]),
            ownership: Ownership::Ours,
        }
    }

    #[tokio::test]
    async fn update_is_read_modify_write_and_keeps_unmanaged_settings() {
        let describe = mock!(Client::describe_user_pool_client).then_output(|| {
            DescribeUserPoolClientOutput::builder()
                .user_pool_client(described())
                .build()
        });
        let update_rule = mock!(Client::update_user_pool_client)
            .match_requests(|r| {
                r.user_pool_id() == Some(POOL)
                    && r.client_id() == Some("client1")
                    && r.client_name() == Some("ios")
                    // Changed by the stack.
                    && r.explicit_auth_flows()
                        == [
                            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
                            ExplicitAuthFlowsType::AllowUserPasswordAuth,
                            ExplicitAuthFlowsType::AllowUserSrpAuth,
                        ]
                    // Managed and unchanged, sent again.
                    && r.access_token_validity() == Some(60)
                    && r.refresh_token_validity() == Some(30)
                    && r.token_validity_units().and_then(|u| u.access_token())
                        == Some(&TimeUnitsType::Minutes)
                    && r.prevent_user_existence_errors()
                        == Some(&PreventUserExistenceErrorTypes::Enabled)
                    // Not managed: as they were.
                    && r.enable_token_revocation() == Some(false)
                    && r.auth_session_validity() == Some(10)
                    && r.analytics_configuration().and_then(|a| a.application_id())
                        == Some("pinpoint-app")
            })
            .then_output(|| {
                UpdateUserPoolClientOutput::builder()
                    .user_pool_client(described())
                    .build()
            });
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&describe, &update_rule]
            ),
            ..Aws::for_tests()
        };
        let mut s = ios();
        s.auth_flows.push("ALLOW_USER_PASSWORD_AUTH".into());
        let desired = Desired {
            address: "user_pool.users.clients.ios".parse().unwrap(),
            physical_name: "ios".into(),
            attributes: desired("ios", &s, "ios").unwrap(),
            depends_on: vec![],
        };
        let parent = Outputs::from([("id".to_string(), POOL.to_string())]);
        let out = update(&aws, &desired, &live(POOL), Some(&parent))
            .await
            .expect("updated");
        assert_eq!(update_rule.num_calls(), 1);
        assert_eq!(out["id"], "client1");
        assert!(!out.contains_key("secret") && !out.contains_key("client_secret"));
    }

    #[tokio::test]
    async fn two_clients_with_the_desired_name_are_an_error() {
        let list = mock!(Client::list_user_pool_clients).then_output(|| {
            ListUserPoolClientsOutput::builder()
                .user_pool_clients(
                    UserPoolClientDescription::builder()
                        .client_id("a")
                        .client_name("ios")
                        .build(),
                )
                .user_pool_clients(
                    UserPoolClientDescription::builder()
                        .client_id("b")
                        .client_name("ios")
                        .build(),
                )
                .user_pool_clients(
                    UserPoolClientDescription::builder()
                        .client_id("c")
                        .client_name("web")
                        .build(),
                )
                .build()
        });
        let aws = Aws {
            cognito_idp: mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, [&list]),
            ..Aws::for_tests()
        };
        let address: Address = "user_pool.users.clients.ios".parse().unwrap();
        let parent = Outputs::from([("id".to_string(), POOL.to_string())]);
        let target = Target {
            stack: "demo",
            address: &address,
            name: "ios",
            parent: Some(&parent),
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        };
        let err = read(&aws, &target).await.expect_err("ambiguous");
        assert!(err.to_string().contains("a, b"), "{err}");
        // Without its pool, a client is not read at all.
        let orphan = Target {
            parent: None,
            ..target
        };
        assert!(read(&aws, &orphan).await.expect("read").is_none());
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for `clients.ios = {}` (see `resource/aws_defaults.rs`):
    /// `CreateUserPoolClient` is sent every field the stack compares, with
    /// the desired value's defaults (the three auth flows Cognito allows
    /// when none are given, `CreateUserPoolClient`'s `ExplicitAuthFlows`;
    /// 60 minutes, 60 minutes and 30 days in minutes/minutes/days; existence
    /// errors prevented; no secret), echoed. Cognito fills in the rest as
    /// terraform-provider-aws `TestAccCognitoIDPUserPoolClient_basic` sees
    /// it: `auth_session_validity` 3, `enable_token_revocation` true,
    /// `enable_propagate_additional_user_context_data` false,
    /// `allowed_oauth_flows_user_pool_client` false; no `ReadAttributes` or
    /// `WriteAttributes` for the default set (`UserPoolClientType`: "Amazon
    /// Cognito only populates ReadAttributes in the API response if you have
    /// specified your own custom set").
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = crate::resource::aws_defaults::Minimal::load(
            "[user_pool.users]\nclients.ios = {}\n",
            "user_pool.users.clients.ios",
            &[],
        );
        let list = mock!(Client::list_user_pool_clients).then_output(|| {
            ListUserPoolClientsOutput::builder()
                .user_pool_clients(
                    UserPoolClientDescription::builder()
                        .client_id("client1")
                        .client_name("ios")
                        .user_pool_id(POOL)
                        .build(),
                )
                .build()
        });
        let describe = mock!(Client::describe_user_pool_client).then_output(|| {
            DescribeUserPoolClientOutput::builder()
                .user_pool_client(
                    UserPoolClientType::builder()
                        .user_pool_id(POOL)
                        .client_id("client1")
                        .client_name("ios")
                        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
                        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
                        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
                        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
                        .access_token_validity(60)
                        .id_token_validity(60)
                        .refresh_token_validity(30)
                        .token_validity_units(units())
                        .allowed_o_auth_flows_user_pool_client(false)
                        // Filled in by Cognito.
                        .auth_session_validity(3)
                        .enable_token_revocation(true)
                        .enable_propagate_additional_user_context_data(false)
                        .build(),
                )
                .build()
        });
        let aws = Aws {
            cognito_idp: mock_client!(
                aws_sdk_cognitoidentityprovider,
                RuleMode::MatchAny,
                [&list, &describe]
            ),
            ..Aws::for_tests()
        };
        let parent = Outputs::from([("id".to_string(), POOL.to_string())]);
        let live = read(&aws, &m.target(Some(&parent))).await.expect("read");
        vec![m.case("a client made from `clients.ios = {}`", live)]
    }
}
