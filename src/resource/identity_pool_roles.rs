//! `identity_pool.<key>.roles` — an identity pool's role attachment: the
//! authenticated and unauthenticated roles and the role mappings (`Rules`,
//! first match wins, or `Token`), written by one `SetIdentityPoolRoles` call.
//!
//! It is a step of its own, after the pool and its roles exist: a role's trust
//! policy needs the pool's id while the attachment needs the role's ARN. One
//! writer per pool, so two resources never fight over the attachment.
//! `SetIdentityPoolRoles` replaces everything it is not sent, so every call
//! carries the complete desired attachment.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_cognitoidentity::operation::get_identity_pool_roles::GetIdentityPoolRolesOutput;
use aws_sdk_cognitoidentity::types::{
    AmbiguousRoleResolutionType, MappingRule, MappingRuleMatchType, RoleMapping, RoleMappingType,
    RulesConfigurationType,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::identity_pool::provider;
use super::registry::{PartStep, Step};
use super::{Change, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::resource::identity_pool::IdentityPoolSpec;
use crate::resource::identity_pool::MatchType;
use crate::resource::identity_pool::RoleResolution;
use crate::stack::{Address, Kind};

pub(crate) const ATTRIBUTES: &[(&str, Change)] =
    &[("roles", Change::Update), ("role_mappings", Change::Update)];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing; a pool has no roles and
/// no role mappings until `SetIdentityPoolRoles` gives it some.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `identity_pool.<key>.roles`: the pool's role attachment, one writer for all its roles.
pub(crate) struct RolesPart;

impl PartStep for RolesPart {
    const PART: &'static str = "roles";
}

impl Step for RolesPart {
    type Config = RolesConfig;
    type Spec = crate::resource::identity_pool::IdentityPoolSpec;
    const NOUN: &'static str = "identity pool role attachment";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 1;

    fn desired(
        spec: &Self::Spec,
        _address: &Address,
        _name: &str,
        _tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        desired(spec, ctx)
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        set(aws, desired, parent).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        _live: &Live,
        parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        set(aws, desired, parent).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    const OUTPUTS: &'static [&'static str] = &["identity_pool_id"];
    /// The pool's id, already shown with the pool: the attachment is left
    /// out of every format (its role ARNs feed the Swift constants).
    const INTERNAL_OUTPUTS: &'static [&'static str] = &["identity_pool_id"];
    const SWIFT_SECTION: &'static str = "Roles";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::CredentialRoles);
}

/// The comparable shape of a role attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RolesConfig {
    /// `authenticated` / `unauthenticated` → role ARN.
    pub roles: BTreeMap<String, String>,
    /// Provider key (`cognito-idp.<region>.amazonaws.com/<pool id>:<client id>`) → mapping.
    pub role_mappings: BTreeMap<String, Mapping>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Mapping {
    /// `Rules` or `Token`.
    #[serde(rename = "type")]
    pub mapping_type: String,
    /// `AuthenticatedRole` or `Deny`.
    pub ambiguous_role_resolution: String,
    /// In order: the first match wins.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Rule {
    pub claim: String,
    /// `Equals`, `Contains`, `StartsWith` or `NotEqual`.
    pub match_type: String,
    pub value: String,
    pub role_arn: String,
}

/// A role named in the stack: a `[role.<key>]` of the stack (its ARN, known
/// once it exists) or an ARN as written.
fn role_arn(ctx: &DesiredContext<'_>, role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_string()
    } else {
        ctx.output(&Address::new(Kind::Role, role), "arn")
    }
}

fn provider_key(ctx: &DesiredContext<'_>, reference: &str) -> Result<String, String> {
    let p = provider(ctx, reference)?;
    Ok(format!("{}:{}", p.provider_name, p.client_id))
}

pub(crate) fn desired(spec: &IdentityPoolSpec, ctx: &DesiredContext<'_>) -> Result<Value, String> {
    let mut roles = BTreeMap::new();
    if let Some(r) = &spec.authenticated_role {
        roles.insert("authenticated".to_string(), role_arn(ctx, r));
    }
    if let Some(r) = &spec.unauthenticated_role {
        roles.insert("unauthenticated".to_string(), role_arn(ctx, r));
    }
    let resolution = match spec.role_resolution {
        RoleResolution::AuthenticatedRole => "AuthenticatedRole",
        RoleResolution::Deny => "Deny",
    };
    let mut role_mappings = BTreeMap::new();
    for reference in &spec.token_role_providers {
        role_mappings.insert(
            provider_key(ctx, reference)?,
            Mapping {
                mapping_type: "Token".into(),
                ambiguous_role_resolution: resolution.into(),
                rules: vec![],
            },
        );
    }
    for rule in &spec.role_rules {
        let key = provider_key(ctx, &rule.provider)?;
        let mapping = role_mappings.entry(key).or_insert_with(|| Mapping {
            mapping_type: "Rules".into(),
            ambiguous_role_resolution: resolution.into(),
            rules: vec![],
        });
        mapping.rules.push(Rule {
            claim: rule.claim.clone(),
            match_type: match rule.match_type {
                MatchType::Equals => "Equals",
                MatchType::Contains => "Contains",
                MatchType::StartsWith => "StartsWith",
                MatchType::NotEqual => "NotEqual",
            }
            .into(),
            value: rule.value.clone(),
            role_arn: role_arn(ctx, &rule.role),
        });
    }
    serde_json::to_value(RolesConfig {
        roles,
        role_mappings,
    })
    .map_err(|e| e.to_string())
}

fn pool_id<'a>(address: &Address, parent: Option<&'a Outputs>) -> Result<&'a String, Error> {
    parent
        .and_then(|p| p.get("id"))
        .ok_or_else(|| Error::Unexpected(format!("{address}: the identity pool's id is not known")))
}

// ------------------------------------------------------------------ read ----

/// The pool's roles and role mappings; `None` when the pool is gone.
async fn get_roles(aws: &Aws, id: &str) -> Result<Option<GetIdentityPoolRolesOutput>, Error> {
    match aws
        .cognito_identity
        .get_identity_pool_roles()
        .identity_pool_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out)),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(Error::aws("cognito-identity:GetIdentityPoolRoles", &e)),
    }
}

/// [`get_roles`], asked once for the plan's reads.
async fn roles_of(
    aws: &Aws,
    plan: Option<super::PlanTarget<'_>>,
    id: &str,
) -> Result<Option<GetIdentityPoolRolesOutput>, Error> {
    let key = format!("cognito-identity:GetIdentityPoolRoles {id}");
    super::plan_shared(plan, aws, &key, || get_roles(aws, id)).await
}

/// Reads the roles of the pool with the id `pool_id` for the plan's read
/// of its attachment, before the pool's read knows the pool is ours: the
/// pool's read calls this with DescribeIdentityPool, so that the
/// attachment's read finds the answer and needs no round trip of its own.
/// An error is left for the attachment's read to report.
pub(crate) async fn prefetch(aws: &Aws, plan: Option<super::PlanTarget<'_>>, pool_id: &str) {
    if plan.is_some() {
        let _ = roles_of(aws, plan, pool_id).await;
    }
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let Some(id) = target.parent.and_then(|p| p.get("id")) else {
        return Ok(None);
    };
    let Some(out) = roles_of(aws, target.plan, id).await? else {
        return Ok(None);
    };
    let roles = out
        .roles()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut role_mappings = BTreeMap::new();
    for (key, m) in out.role_mappings().into_iter().flatten() {
        role_mappings.insert(
            key.clone(),
            Mapping {
                mapping_type: m.r#type().as_str().to_string(),
                ambiguous_role_resolution: m
                    .ambiguous_role_resolution()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_else(|| "AuthenticatedRole".into()),
                rules: m
                    .rules_configuration()
                    .map(|r| {
                        r.rules()
                            .iter()
                            .map(|rule| Rule {
                                claim: rule.claim().to_string(),
                                match_type: rule.match_type().as_str().to_string(),
                                value: rule.value().to_string(),
                                role_arn: rule.role_arn().to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        );
    }
    let config = RolesConfig {
        roles,
        role_mappings,
    };
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: Outputs::from([("identity_pool_id".to_string(), id.clone())]),
        // The attachment belongs to the pool, which was found by our tags.
        ownership: Ownership::Ours,
    }))
}

// ----------------------------------------------------------- create/update ----

fn sdk_mapping(m: &Mapping) -> Result<RoleMapping, Error> {
    let mut b = RoleMapping::builder()
        .r#type(RoleMappingType::from(m.mapping_type.as_str()))
        .ambiguous_role_resolution(AmbiguousRoleResolutionType::from(
            m.ambiguous_role_resolution.as_str(),
        ));
    if !m.rules.is_empty() {
        let rules = m
            .rules
            .iter()
            .map(|r| {
                MappingRule::builder()
                    .claim(&r.claim)
                    .match_type(MappingRuleMatchType::from(r.match_type.as_str()))
                    .value(&r.value)
                    .role_arn(&r.role_arn)
                    .build()
                    .map_err(|e| Error::Unexpected(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.rules_configuration(
            RulesConfigurationType::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(|e| Error::Unexpected(e.to_string()))?,
        );
    }
    b.build().map_err(|e| Error::Unexpected(e.to_string()))
}

/// Writes the complete attachment (create and update are the same call).
pub(crate) async fn set(
    aws: &Aws,
    desired: &Desired,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    let id = pool_id(&desired.address, parent)?;
    let config: RolesConfig = serde_json::from_value(desired.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", desired.address)))?;
    let roles: HashMap<String, String> = config.roles.clone().into_iter().collect();
    let mappings = config
        .role_mappings
        .iter()
        .map(|(k, m)| Ok((k.clone(), sdk_mapping(m)?)))
        .collect::<Result<HashMap<_, _>, Error>>()?;
    // A role created moments ago may not be usable by Cognito yet on real AWS.
    super::role::retry_while_role_propagates("cognito-identity:SetIdentityPoolRoles", || {
        let request = aws
            .cognito_identity
            .set_identity_pool_roles()
            .identity_pool_id(id)
            .set_roles(Some(roles.clone()))
            .set_role_mappings(Some(mappings.clone()));
        async move {
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::aws("cognito-identity:SetIdentityPoolRoles", &e))
        }
    })
    .await?;
    Ok(Outputs::from([(
        "identity_pool_id".to_string(),
        id.clone(),
    )]))
}

// ---------------------------------------------------------------- delete ----

/// Clears the attachment (when the pool itself is deleted this is moot; a
/// pool already gone is fine).
pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let Some(id) = live.outputs.get("identity_pool_id") else {
        return Ok(());
    };
    match aws
        .cognito_identity
        .set_identity_pool_roles()
        .identity_pool_id(id)
        .set_roles(Some(HashMap::new()))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::aws("cognito-identity:SetIdentityPoolRoles", &e)),
    }
}

// ---- adopt ----

/// The identity pool's role attachment: roles, rules and token providers.
pub(crate) fn adopt_write(
    w: &mut adopt::Writer<'_>,
    f: &adopt::Found,
    roles: &Value,
    s: &mut adopt::Section,
) {
    for (which, key) in [
        ("authenticated", "authenticated_role"),
        ("unauthenticated", "unauthenticated_role"),
    ] {
        if let Some(arn) = roles
            .pointer(&format!("/roles/{which}"))
            .and_then(Value::as_str)
        {
            s.string(key, &super::role::adopt_reference(w, arn));
        }
    }
    let Some(Value::Object(mappings)) = roles.get("role_mappings") else {
        return;
    };
    let mut rules = Vec::new();
    let mut token = Vec::new();
    let mut resolutions = BTreeSet::new();
    for (provider_key, m) in mappings {
        // `cognito-idp.<region>.amazonaws.com/<pool id>:<client id>`
        let Some(provider) = provider_key
            .rsplit_once(':')
            .and_then(|(name, client)| super::user_pool_client::adopt_provider(w, name, client))
        else {
            w.note(
                &f.address,
                format!("its role mapping for `{provider_key}` names a provider this scan did not find; it is left out, so `up` would remove it"),
            );
            continue;
        };
        resolutions.insert(
            m["ambiguous_role_resolution"]
                .as_str()
                .unwrap_or("AuthenticatedRole")
                .to_string(),
        );
        if m["type"].as_str() == Some("Token") {
            token.push(toml::Value::String(provider));
            continue;
        }
        for r in m["rules"].as_array().into_iter().flatten() {
            let match_type = match r["match_type"].as_str().unwrap_or_default() {
                "Equals" => "equals",
                "Contains" => "contains",
                "StartsWith" => "starts_with",
                "NotEqual" => "not_equal",
                other => {
                    w.note(&f.address, format!("a role rule matches with `{other}`, which the stack format does not know"));
                    continue;
                }
            };
            let mut t = toml::Table::new();
            t.insert("provider".into(), toml::Value::String(provider.clone()));
            t.insert(
                "claim".into(),
                toml::Value::String(r["claim"].as_str().unwrap_or_default().into()),
            );
            t.insert("match".into(), toml::Value::String(match_type.into()));
            t.insert(
                "value".into(),
                toml::Value::String(r["value"].as_str().unwrap_or_default().into()),
            );
            t.insert(
                "role".into(),
                toml::Value::String(super::role::adopt_reference(
                    w,
                    r["role_arn"].as_str().unwrap_or_default(),
                )),
            );
            rules.push(toml::Value::Table(t));
        }
    }
    if !rules.is_empty() {
        s.set("role_rules", toml::Value::Array(rules));
    }
    if !token.is_empty() {
        s.set("token_role_providers", toml::Value::Array(token));
    }
    if resolutions.len() > 1 {
        w.note(
            &f.address,
            "its role mappings resolve ambiguous roles differently per provider; the stack format has one `role_resolution` for all, `deny` is written".into(),
        );
    }
    if resolutions.contains("Deny") {
        s.string("role_resolution", "deny");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::aws::mock::mock_client;
    use aws_sdk_cognitoidentity::operation::get_identity_pool_roles::GetIdentityPoolRolesOutput;
    use aws_sdk_cognitoidentity::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    use super::*;

    /// AWS's answer for a pool that names only its authenticated role (see
    /// `resource/aws_defaults.rs`): `SetIdentityPoolRoles` is sent that role
    /// and no mappings; `GetIdentityPoolRoles` reports the role and no
    /// `RoleMappings` (the API reference's `GetIdentityPoolRoles` response:
    /// `RoleMappings` only for providers that have one).
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        const ROLE: &str = "arn:aws:iam::123456789012:role/demo-auth";
        let m = crate::resource::aws_defaults::Minimal::load(
            &format!("[identity_pool.app]\nauthenticated_role = \"{ROLE}\"\n"),
            "identity_pool.app.roles",
            &[],
        );
        let roles = mock!(Client::get_identity_pool_roles).then_output(|| {
            GetIdentityPoolRolesOutput::builder()
                .identity_pool_id("us-east-1:0000-1111")
                .roles("authenticated", ROLE)
                .build()
        });
        let aws = Aws {
            cognito_identity: mock_client!(aws_sdk_cognitoidentity, RuleMode::MatchAny, [&roles]),
            ..Aws::for_tests()
        };
        let parent = Outputs::from([("id".to_string(), "us-east-1:0000-1111".to_string())]);
        let live = read(&aws, &m.target(Some(&parent))).await.expect("read");
        vec![m.case("the role attachment of a pool with one role", live)]
    }
}
