//! `[role.<key>]` — an IAM role.
//!
//! The name forces replacement; the trust policy, inline policies (one per
//! policy file, named after the file's stem), attached managed policies, the
//! maximum session duration, the description and tags change in place.
//! Policy documents are compared as parsed JSON, as written in the stack,
//! after undoing what IAM itself does to them (percent-encoding; account ids
//! in trust-policy principals become ARNs).
//!
//! A new role is not usable by other services at once on AWS:
//! [`retry_while_role_propagates`] retries a call that hands one to Cognito
//! or Lambda while the answer means "not usable yet".

use schemars::JsonSchema;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use aws_sdk_iam::types::{EntityType, Role, RoleDetail, Tag};
use futures::future::{join_all, try_join_all};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::registry::{ResourceKind, Step};
use super::{
    tag_changes, Change, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target,
};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::reference::UNKNOWN;
use crate::stack::Tags;
use crate::stack::{Address, Kind, Stack};

// ------------------------------------------------------------ schema ----

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

crate::spec_fields!(RoleSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("trust_policy", Change::Update),
    ("inline_policies", Change::Update),
    ("managed_policies", Change::Update),
    ("max_session_duration", Change::Update),
    ("description", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. `max_session_duration`
/// defaults to IAM's own 3600 seconds in the desired value (CreateRole's
/// `MaxSessionDuration`: "If you do not specify a value ... the default
/// maximum of one hour is applied"); IAM sets no description.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `[role.<key>]`: an IAM role.
pub struct RoleKind;

impl Step for RoleKind {
    type Config = RoleConfig;
    type Spec = RoleSpec;
    const NOUN: &'static str = "IAM role";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 2;

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

    const OUTPUTS: &'static [&'static str] = &["name", "arn"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["arn"];
    const SWIFT_SECTION: &'static str = "Roles";
}

impl ResourceKind for RoleKind {
    const NAME: &'static str = "role";
    const DESCRIPTION: &'static str = "IAM roles, by key.";
    const REFERENCES: &'static [&'static str] = &["name", "arn"];
    const ADOPTS_BY_NAME: bool = true;

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 64)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c),
            "letters, digits and `_+=,.@-`",
        )
    }

    async fn warm(aws: &Aws, declared: usize) {
        if declared >= READ_ALL_FROM {
            let _ = tokio::join!(listed_roles(aws), role_details(aws));
        } else {
            let _ = listed_roles(aws).await;
        }
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
        let r = spec;
        let trust_span = c.span(&["trust"]);
        let set = [
            r.trust.identity_pool.is_some(),
            r.trust.service.is_some(),
            r.trust.file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            c.error(
                trust_span.clone(),
                format!("`{address}`: `trust` needs exactly one of `identity_pool`, `service` or `file`"),
                None,
            );
        }
        if r.trust.amr.is_some() && r.trust.identity_pool.is_none() {
            c.error(
                trust_span.clone(),
                format!("`{address}`: `trust.amr` only applies with `trust.identity_pool`"),
                None,
            );
        }
        if let Some(d) = r
            .max_session_duration
            .filter(|d| !(3600..=43200).contains(d))
        {
            c.error(
                c.span(&["max_session_duration"]),
                format!(
                    "`{address}`: `max_session_duration = {d}`; IAM allows 3600 to 43200 seconds"
                ),
                None,
            );
        }
        for arn in r
            .managed_policies
            .iter()
            .filter(|a| !a.starts_with("arn:") && !a.contains("${"))
        {
            c.error(
                c.span(&["managed_policies"]),
                format!("`{address}`: managed policy `{arn}` is not an ARN"),
                Some(format!("write it as `arn:aws:iam::aws:policy/{arn}` (AWS managed) or `arn:aws:iam::${{aws.account_id}}:policy/{arn}`")),
            );
        }
        // Inline policies are named after their file's stem: one name, one policy.
        let mut stems = std::collections::BTreeSet::new();
        for policy in &r.policies {
            let stem = std::path::Path::new(policy)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let valid = (1..=128).contains(&stem.len())
                && stem
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_+=,.@-".contains(ch));
            if !valid {
                c.error(
                    c.span(&["policies"]),
                    format!("`{address}`: policy file `{policy}` would name an inline policy `{stem}`, which IAM does not accept"),
                    Some("rename the file: 1 to 128 letters, digits and `_+=,.@-`".into()),
                );
            } else if !stems.insert(stem.clone()) {
                c.error(
                    c.span(&["policies"]),
                    format!(
                        "`{address}`: two policy files would both be the inline policy `{stem}`"
                    ),
                    Some("inline policies are named after the file's stem; rename one".into()),
                );
            }
        }
        if let Some(pool) = &r.trust.identity_pool {
            c.link(
                address.clone(),
                Address::new(Kind::IdentityPool, pool.as_str()),
                trust_span,
                "`trust.identity_pool`",
                true,
            );
        }
        for (i, policy) in r.policies.iter().chain(r.trust.file.iter()).enumerate() {
            let span = c
                .span_index("policies", i)
                .unwrap_or_else(|| c.span(&["trust"]));
            c.policy_file(policy, span);
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn"];
    const ADOPT_LIST_RANK: u8 = 2;

    async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
        adopt_list(aws).await
    }

    fn adopt_write(
        writer: &mut adopt::Writer<'_>,
        found: &adopt::Found,
        section: &mut adopt::Section,
    ) {
        adopt_write(writer, found, section)
    }
}

/// IAM's default and bounds for `MaxSessionDuration`, in seconds.
pub(crate) const DEFAULT_MAX_SESSION_DURATION: i64 = 3600;
const MAX_SESSION_DURATION_RANGE: std::ops::RangeInclusive<i64> = 3600..=43200;

/// The principal and audience of Cognito identity pools.
const COGNITO_IDENTITY: &str = "cognito-identity.amazonaws.com";

/// The comparable shape of a role, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleConfig {
    pub name: String,
    pub trust_policy: Value,
    /// Inline policy name → document.
    pub inline_policies: BTreeMap<String, Value>,
    /// Attached managed policy ARNs, sorted.
    pub managed_policies: Vec<String>,
    pub max_session_duration: i64,
    pub description: Option<String>,
    pub tags: Tags,
}

// --------------------------------------------------------------- desired ----

pub(crate) fn desired(
    spec: &RoleSpec,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let trust_policy = canonical_trust_policy(trust_policy(&spec.trust, ctx)?, ctx.partition);

    let mut inline_policies = BTreeMap::new();
    let mut sources: BTreeMap<String, &str> = BTreeMap::new();
    for path in &spec.policies {
        let policy_name = inline_policy_name(path)?;
        if let Some(other) = sources.insert(policy_name.clone(), path) {
            return Err(format!(
                "policy files `{other}` and `{path}` would both be the inline policy `{policy_name}` (inline policies are named after the file name without `.json`); rename one"
            ));
        }
        inline_policies.insert(policy_name, ctx.policy_document(path)?);
    }

    let mut managed_policies: Vec<String> = spec.managed_policies.clone();
    if let Some(bad) = managed_policies.iter().find(|a| !a.starts_with("arn:")) {
        return Err(format!(
            "`managed_policies` takes policy ARNs (`arn:aws:iam::aws:policy/...`), not `{bad}`; put policy documents in `policies`"
        ));
    }
    managed_policies.sort();
    managed_policies.dedup();

    let max_session_duration = spec
        .max_session_duration
        .unwrap_or(DEFAULT_MAX_SESSION_DURATION);
    if !MAX_SESSION_DURATION_RANGE.contains(&max_session_duration) {
        return Err(format!(
            "`max_session_duration = {max_session_duration}`: IAM allows {} to {} seconds (1 to 12 hours)",
            MAX_SESSION_DURATION_RANGE.start(),
            MAX_SESSION_DURATION_RANGE.end()
        ));
    }

    let config = RoleConfig {
        name: name.to_string(),
        trust_policy,
        inline_policies,
        managed_policies,
        max_session_duration,
        description: spec.description.clone().filter(|d| !d.is_empty()),
        tags,
    };
    serde_json::to_value(config).map_err(|e| e.to_string())
}

/// The trust policy a `trust = { ... }` asks for.
pub(crate) fn trust_policy(trust: &TrustSpec, ctx: &DesiredContext<'_>) -> Result<Value, String> {
    match (&trust.identity_pool, &trust.service, &trust.file) {
        (Some(pool), None, None) => {
            // UNKNOWN until the pool exists: the plan shows "known after
            // apply", and apply resolves again once the pool is created.
            let pool_id = ctx.output(&Address::new(Kind::IdentityPool, pool.as_str()), "id");
            Ok(cognito_trust_policy(&pool_id, trust.amr))
        }
        (None, Some(service), None) => {
            if trust.amr.is_some() {
                return Err("`trust.amr` goes only with `trust.identity_pool`".into());
            }
            Ok(service_trust_policy(service))
        }
        (None, None, Some(file)) => {
            if trust.amr.is_some() {
                return Err("`trust.amr` goes only with `trust.identity_pool`".into());
            }
            ctx.policy_document(file)
        }
        _ => Err("`trust` needs exactly one of `identity_pool`, `service` or `file`".into()),
    }
}

/// Web-identity trust for identities of one Cognito identity pool;
/// `amr = None` admits both authenticated and unauthenticated identities.
pub(crate) fn cognito_trust_policy(pool_id: &str, amr: Option<Amr>) -> Value {
    let amr = match amr {
        Some(Amr::Authenticated) => json!("authenticated"),
        Some(Amr::Unauthenticated) => json!("unauthenticated"),
        None => json!(["authenticated", "unauthenticated"]),
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": COGNITO_IDENTITY },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "cognito-identity.amazonaws.com:aud": pool_id },
                "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": amr },
            },
        }],
    })
}

/// Trust for an AWS service principal such as `lambda.amazonaws.com`.
pub(crate) fn service_trust_policy(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole",
        }],
    })
}

/// The inline policy a policy file becomes: its file name without extension.
fn inline_policy_name(path: &str) -> Result<String, String> {
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let valid = (1..=128).contains(&stem.len())
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if valid {
        Ok(stem.to_string())
    } else {
        Err(format!(
            "policy file `{path}`: its name becomes the inline policy name `{stem}`, which IAM does not accept (1 to 128 letters, digits and `_+=,.@-`); rename the file"
        ))
    }
}

// ------------------------------------------------- policy normalisation ----

/// Undoes IAM's encoding of a returned policy document: RFC 3986
/// percent-decoding (not form decoding: `+` stays `+`) unless it is plain
/// JSON already, then parsing.
pub(crate) fn parse_policy_document(raw: &str) -> Result<Value, String> {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_string()
    } else {
        percent_decode(raw)?
    };
    serde_json::from_str(&text)
        .map_err(|e| format!("IAM returned a policy document that is not JSON: {e}"))
}

/// `%XX` → the byte XX; everything else as is. A `%` not followed by two
/// hex digits is kept literally.
pub(crate) fn percent_decode(s: &str) -> Result<String, String> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "a percent-encoded policy document is not UTF-8".to_string())
}

/// What IAM changes in a trust policy it stores: an AWS principal given as a
/// bare account id comes back as the account's root ARN. Applied to both
/// sides so they compare equal.
pub(crate) fn canonical_trust_policy(mut doc: Value, partition: &str) -> Value {
    let account_arn = |v: &mut Value| {
        if let Value::String(s) = v {
            if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
                *s = format!("arn:{partition}:iam::{s}:root");
            }
        }
    };
    let mut fix_statement = |st: &mut Value| {
        for key in ["Principal", "NotPrincipal"] {
            if let Some(aws) = st.get_mut(key).and_then(|p| p.get_mut("AWS")) {
                match aws {
                    Value::Array(items) => items.iter_mut().for_each(account_arn),
                    other => account_arn(other),
                }
            }
        }
    };
    match doc.get_mut("Statement") {
        Some(Value::Array(statements)) => statements.iter_mut().for_each(&mut fix_statement),
        Some(statement @ Value::Object(_)) => fix_statement(statement),
        _ => {}
    }
    doc
}

// ------------------------------------------------------------------ read ----

fn is_no_such_entity<E: aws_sdk_iam::error::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    error_code(e) == Some("NoSuchEntity")
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn outputs(role: &Role) -> Outputs {
    BTreeMap::from([
        ("name".to_string(), role.role_name().to_string()),
        ("arn".to_string(), role.arn().to_string()),
    ])
}

/// Reads a role in one round trip when it is as declared: GetRole,
/// ListRolePolicies, ListAttachedRolePolicies and the GetRolePolicy of every
/// inline policy the stack declares, all at once; a second round trip only
/// for inline policies the stack does not declare (drift).
pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    if target
        .plan
        .is_some_and(|p| p.reads.declared(Kind::Role) >= READ_ALL_FROM)
    {
        if let Some(live) = read_from_account(aws, target).await {
            return live.map(Some);
        }
    }
    let name = target.name;
    let get_policy = |policy: String| async move {
        let out = aws
            .iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&policy)
            .send()
            .await;
        (policy, out)
    };
    // Inline policies are named after their files: known before any call.
    let declared: Vec<String> = match target.spec {
        Some(crate::stack::Spec::Role(spec)) => spec
            .policies
            .iter()
            .filter_map(|path| inline_policy_name(path).ok())
            .collect(),
        _ => Vec::new(),
    };
    let (role, inline_names, managed, mut documents) = tokio::join!(
        aws.iam.get_role().role_name(name).send(),
        inline_policy_names(aws, name),
        attached_policy_arns(aws, name),
        join_all(declared.into_iter().map(get_policy)),
    );
    let role = match role {
        Ok(out) => match out.role {
            Some(r) => r,
            None => {
                return Err(Error::Unexpected(format!(
                    "iam:GetRole {name} returned no role"
                )))
            }
        },
        Err(e) if is_no_such_entity(&e) => return Ok(None),
        Err(e) => return Err(Error::aws("iam:GetRole", &e)),
    };
    // Deleted between the calls: gone.
    let (Some(inline_names), Some(managed_policies)) = (inline_names?, managed?) else {
        return Ok(None);
    };
    // The listing decides which inline policies there are: a declared one it
    // does not list is not there; one it lists that was not read (or not
    // found when read) is read now.
    documents.retain(|(policy, out)| out.is_ok() && inline_names.contains(policy));
    let missing: Vec<String> = inline_names
        .iter()
        .filter(|n| !documents.iter().any(|(p, _)| p == *n))
        .cloned()
        .collect();
    let (tags, more) = tokio::join!(
        async {
            if role.tags().is_empty() {
                list_role_tags(aws, name).await
            } else {
                Ok(Some(tags_of(role.tags())))
            }
        },
        join_all(missing.into_iter().map(get_policy)),
    );
    let Some(tags) = tags? else {
        return Ok(None);
    };
    documents.extend(more);

    let mut inline_policies = BTreeMap::new();
    for (policy, out) in documents {
        match out {
            Ok(out) => {
                let doc = parse_policy_document(out.policy_document()).map_err(|e| {
                    Error::Unexpected(format!("role {name}, inline policy {policy}: {e}"))
                })?;
                inline_policies.insert(policy.clone(), doc);
            }
            // Deleted since it was listed: not there.
            Err(e) if is_no_such_entity(&e) => {}
            Err(e) => return Err(Error::aws("iam:GetRolePolicy", &e)),
        }
    }

    live_of(
        aws,
        target,
        &role,
        role.assume_role_policy_document(),
        inline_policies,
        managed_policies,
        tags,
    )
    .map(Some)
}

/// The role as read: its listing or GetRole (`role`), its trust policy as
/// IAM returned it, its inline policies (parsed), managed policy ARNs and
/// tags.
fn live_of(
    aws: &Aws,
    target: &Target<'_>,
    role: &Role,
    trust_policy: Option<&str>,
    inline_policies: BTreeMap<String, Value>,
    mut managed_policies: Vec<String>,
    tags: Tags,
) -> Result<Live, Error> {
    let name = target.name;
    let trust_policy = match trust_policy {
        Some(raw) => canonical_trust_policy(
            parse_policy_document(raw)
                .map_err(|e| Error::Unexpected(format!("role {name}, trust policy: {e}")))?,
            &aws.partition,
        ),
        None => Value::Null,
    };
    managed_policies.sort();
    managed_policies.dedup();
    let config = RoleConfig {
        name: role.role_name().to_string(),
        trust_policy,
        inline_policies,
        managed_policies,
        max_session_duration: role
            .max_session_duration()
            .map(i64::from)
            .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
        description: role
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        tags: tags.clone(),
    };
    Ok(Live {
        address: target.address.clone(),
        physical_name: name.to_string(),
        attributes: serde_json::to_value(&config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(role),
        ownership: Ownership::from_tags(&tags, target.stack, target.address),
    })
}

/// Up to how many roles an account may have for a plan to read them all at
/// once: one page of GetAccountAuthorizationDetails.
const ACCOUNT_ROLES_AT_ONCE: usize = 1000;

/// From how many declared roles a plan reads every role of the account at
/// once ([`read_from_account`]) rather than each with four calls: one call
/// instead of 12 or more, however many roles there are. Below it, a stack
/// of one or two roles in an account of many does not download every
/// role's policies for a few small reads.
const READ_ALL_FROM: usize = 3;

/// A role of a plan read from the account's roles, listed with everything
/// IAM has on them: ListRoles (shared with the search for roles removed from
/// the stack, and with the other roles' reads) gives the description and
/// maximum session duration, GetAccountAuthorizationDetails (roles only)
/// the trust policy, inline policies with their documents, managed policies
/// and tags. Both are IAM's own answers, as GetRole's are, and page by 1,000:
/// a stack of many roles costs two calls in all instead of four per role.
/// `None` when the role is not in both lists (created or deleted between
/// them, or not there at all) or either list failed (GetAccountAuthorizationDetails
/// may be denied where GetRole is not): the role is then read by itself.
async fn read_from_account(aws: &Aws, target: &Target<'_>) -> Option<Result<Live, Error>> {
    // Both lists at once. The details are asked for one page only: in an
    // account of more roles than a page (`None`), the next pages would come
    // one after the other, slower than the four calls per role made at once.
    let (roles, details) = tokio::join!(listed_roles(aws), role_details(aws));
    let (roles, details) = (roles.ok()?, details.ok()??);
    let role = roles.iter().find(|r| r.role_name() == target.name)?;
    let detail = details
        .iter()
        .find(|d| d.role_name() == Some(target.name) && d.arn() == Some(role.arn()))?;
    let name = target.name;
    let mut inline_policies = BTreeMap::new();
    for policy in detail.role_policy_list() {
        let (Some(policy), Some(document)) = (policy.policy_name(), policy.policy_document())
        else {
            continue;
        };
        match parse_policy_document(document) {
            Ok(doc) => {
                inline_policies.insert(policy.to_string(), doc);
            }
            Err(e) => {
                return Some(Err(Error::Unexpected(format!(
                    "role {name}, inline policy {policy}: {e}"
                ))))
            }
        }
    }
    let managed = detail
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(str::to_string)
        .collect();
    Some(live_of(
        aws,
        target,
        role,
        detail.assume_role_policy_document(),
        inline_policies,
        managed,
        tags_of(detail.tags()),
    ))
}

/// Every role of the account (ListRoles, by 1,000), one listing shared by
/// the reads in flight at once.
async fn listed_roles(aws: &Aws) -> Result<Vec<Role>, Error> {
    super::flight::shared(aws, "iam:ListRoles", || {
        super::all_pages(|marker| async move {
            let out = aws
                .iam
                .list_roles()
                .max_items(1000)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::aws("iam:ListRoles", &e))?;
            let next = next_marker(out.marker(), out.is_truncated());
            Ok((out.roles, next))
        })
    })
    .await
}

/// Every role of the account with its policies and tags
/// (GetAccountAuthorizationDetails for roles), one listing shared by the
/// reads in flight at once; `None` when the account has more roles than one
/// page of [`ACCOUNT_ROLES_AT_ONCE`].
async fn role_details(aws: &Aws) -> Result<Option<Vec<RoleDetail>>, Error> {
    super::flight::shared(aws, "iam:GetAccountAuthorizationDetails", || async {
        let out = aws
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .max_items(ACCOUNT_ROLES_AT_ONCE as i32)
            .send()
            .await
            .map_err(|e| Error::aws("iam:GetAccountAuthorizationDetails", &e))?;
        // Not one page: IAM may also cut a page short of MaxItems and say so.
        Ok((!out.is_truncated()).then(|| out.role_detail_list.unwrap_or_default()))
    })
    .await
}

/// The marker of the next page of an IAM list, when there is one.
fn next_marker(marker: Option<&str>, truncated: bool) -> Option<String> {
    marker.filter(|_| truncated).map(str::to_string)
}

/// The names of the role's inline policies; `None` when the role does not exist.
async fn inline_policy_names(aws: &Aws, name: &str) -> Result<Option<Vec<String>>, Error> {
    super::all_pages_unless_gone(|marker| async move {
        let out = aws
            .iam
            .list_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| super::PageError::of("iam:ListRolePolicies", "NoSuchEntity", &e))?;
        let next = next_marker(out.marker(), out.is_truncated());
        Ok((out.policy_names, next))
    })
    .await
}

/// The ARNs of the managed policies attached to the role; `None` when the
/// role does not exist.
async fn attached_policy_arns(aws: &Aws, name: &str) -> Result<Option<Vec<String>>, Error> {
    super::all_pages_unless_gone(|marker| async move {
        let out = aws
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                super::PageError::of("iam:ListAttachedRolePolicies", "NoSuchEntity", &e)
            })?;
        let arns = out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn())
            .map(str::to_string)
            .collect();
        Ok((arns, next_marker(out.marker(), out.is_truncated())))
    })
    .await
}

/// The role's tags; `None` when the role does not exist.
async fn list_role_tags(aws: &Aws, name: &str) -> Result<Option<Tags>, Error> {
    let tags = super::all_pages_unless_gone(|marker| async move {
        let out = aws
            .iam
            .list_role_tags()
            .role_name(name)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| super::PageError::of("iam:ListRoleTags", "NoSuchEntity", &e))?;
        let tags: Vec<(String, String)> = tags_of(out.tags()).into_iter().collect();
        Ok((tags, next_marker(out.marker(), out.is_truncated())))
    })
    .await?;
    Ok(tags.map(|t| t.into_iter().collect()))
}

/// Roles this stack owns, found by name prefix (`<stack>-`) and ownership
/// tags, as (address, role name): how a role removed from the stack file is
/// found. IAM is not in the Resource Groups Tagging API, and ListRoles does
/// not return tags on AWS, so each candidate's tags are listed (a few at a
/// time) unless ListRoles happened to include them. The declared `names` are
/// not candidates: those roles are read directly (`GetRole` has their tags),
/// so a converged stack's roles cost no `ListRoleTags` each.
pub(crate) async fn find_owned(
    aws: &Aws,
    stack: &Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    let prefix = format!("{}-", stack.name);
    let candidates: Vec<(String, Tags)> = listed_roles(aws)
        .await?
        .iter()
        .filter(|role| {
            role.role_name().starts_with(prefix.as_str())
                && !names.iter().any(|n| n == role.role_name())
        })
        .map(|role| (role.role_name().to_string(), tags_of(role.tags())))
        .collect();
    let tagged: Vec<Result<Option<(String, Tags)>, Error>> =
        futures::stream::iter(candidates.into_iter().map(|(name, tags)| async move {
            if !tags.is_empty() {
                return Ok(Some((name, tags)));
            }
            Ok(list_role_tags(aws, &name).await?.map(|t| (name, t)))
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    // An entry of `None` was deleted since it was listed.
    let tagged: Vec<Option<(String, Tags)>> = tagged.into_iter().collect::<Result<_, _>>()?;
    let mut found = super::owned_by_tags(stack, Kind::Role, tagged.into_iter().flatten());
    found.sort();
    Ok(found)
}

// ---------------------------------------------------------------- create ----

fn parse(desired: &Desired) -> Result<RoleConfig, Error> {
    if contains_unknown(&desired.attributes) {
        return Err(Error::Unexpected(format!(
            "{}: a referenced value is still unknown after its resource was applied",
            desired.address
        )));
    }
    serde_json::from_value(desired.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", desired.address)))
}

fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(UNKNOWN),
        Value::Array(a) => a.iter().any(contains_unknown),
        Value::Object(o) => o.values().any(contains_unknown),
        _ => false,
    }
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

fn session_duration(seconds: i64) -> Result<i32, Error> {
    i32::try_from(seconds)
        .map_err(|_| Error::Unexpected(format!("max_session_duration {seconds} is out of range")))
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let config = parse(desired)?;
    let name = config.name.as_str();
    // Tags go with the create call, so the role never exists without its owner.
    let created = aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(config.trust_policy.to_string())
        .set_description(config.description.clone())
        .max_session_duration(session_duration(config.max_session_duration)?)
        .set_tags(Some(sdk_tags(&config.tags)))
        .send()
        .await
        .map_err(|e| Error::aws("iam:CreateRole", &e))?;
    let role = created
        .role()
        .ok_or_else(|| Error::Unexpected(format!("iam:CreateRole {name} returned no role")))?;
    put_inline_policies(aws, name, config.inline_policies.iter()).await?;
    attach_managed_policies(aws, name, config.managed_policies.iter()).await?;
    Ok(outputs(role))
}

async fn put_inline_policies<'a>(
    aws: &Aws,
    name: &str,
    policies: impl Iterator<Item = (&'a String, &'a Value)>,
) -> Result<(), Error> {
    try_join_all(policies.map(|(policy, document)| async move {
        aws.iam
            .put_role_policy()
            .role_name(name)
            .policy_name(policy)
            .policy_document(document.to_string())
            .send()
            .await
            .map_err(|e| Error::aws("iam:PutRolePolicy", &e))
    }))
    .await?;
    Ok(())
}

async fn attach_managed_policies<'a>(
    aws: &Aws,
    name: &str,
    arns: impl Iterator<Item = &'a String>,
) -> Result<(), Error> {
    try_join_all(arns.map(|arn| async move {
        aws.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws("iam:AttachRolePolicy", &e))
    }))
    .await?;
    Ok(())
}

/// Deletes inline policies; one already gone is fine.
async fn delete_inline_policies<'a>(
    aws: &Aws,
    name: &str,
    policies: impl Iterator<Item = &'a String>,
) -> Result<(), Error> {
    try_join_all(policies.map(|policy| async move {
        match aws
            .iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_entity(&e) => Ok(()),
            Err(e) => Err(Error::aws("iam:DeleteRolePolicy", &e)),
        }
    }))
    .await?;
    Ok(())
}

/// Detaches managed policies; one already detached is fine.
async fn detach_managed_policies<'a>(
    aws: &Aws,
    name: &str,
    arns: impl Iterator<Item = &'a String>,
) -> Result<(), Error> {
    try_join_all(arns.map(|arn| async move {
        match aws
            .iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_no_such_entity(&e) => Ok(()),
            Err(e) => Err(Error::aws("iam:DetachRolePolicy", &e)),
        }
    }))
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- update ----

/// Sends only the calls for what differs. Permissions are added before any
/// are taken away, so the role never has less than both versions share.
pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(desired)?;
    let have: RoleConfig = serde_json::from_value(live.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", live.address)))?;
    let name = want.name.as_str();

    if want.trust_policy != have.trust_policy {
        aws.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(want.trust_policy.to_string())
            .send()
            .await
            .map_err(|e| Error::aws("iam:UpdateAssumeRolePolicy", &e))?;
    }

    let have_managed: BTreeSet<&String> = have.managed_policies.iter().collect();
    let want_managed: BTreeSet<&String> = want.managed_policies.iter().collect();
    put_inline_policies(
        aws,
        name,
        want.inline_policies
            .iter()
            .filter(|(policy, doc)| have.inline_policies.get(*policy) != Some(*doc)),
    )
    .await?;
    attach_managed_policies(aws, name, want_managed.difference(&have_managed).copied()).await?;
    delete_inline_policies(
        aws,
        name,
        have.inline_policies
            .keys()
            .filter(|policy| !want.inline_policies.contains_key(*policy)),
    )
    .await?;
    detach_managed_policies(aws, name, have_managed.difference(&want_managed).copied()).await?;

    let duration_changed = want.max_session_duration != have.max_session_duration;
    let description_changed = want.description != have.description;
    if duration_changed || description_changed {
        let mut request = aws.iam.update_role().role_name(name);
        if duration_changed {
            request = request.max_session_duration(session_duration(want.max_session_duration)?);
        }
        if description_changed {
            // An empty description removes it.
            request = request.description(want.description.clone().unwrap_or_default());
        }
        request
            .send()
            .await
            .map_err(|e| Error::aws("iam:UpdateRole", &e))?;
    }

    let (set, remove) = tag_changes(&want.tags, &have.tags);
    if !set.is_empty() {
        aws.iam
            .tag_role()
            .role_name(name)
            .set_tags(Some(sdk_tags(&set)))
            .send()
            .await
            .map_err(|e| Error::aws("iam:TagRole", &e))?;
    }
    if !remove.is_empty() {
        aws.iam
            .untag_role()
            .role_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| Error::aws("iam:UntagRole", &e))?;
    }

    let mut outs = live.outputs.clone();
    outs.insert("name".into(), name.to_string());
    Ok(outs)
}

// ---------------------------------------------------------------- delete ----

/// Deletes every inline policy and detaches every managed policy (as listed
/// now, not as planned: IAM refuses to delete a role with either), then the
/// role. A role already gone is fine.
pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let name = live.physical_name.as_str();
    let (inline, managed) = tokio::join!(
        inline_policy_names(aws, name),
        attached_policy_arns(aws, name)
    );
    let (Some(inline), Some(managed)) = (inline?, managed?) else {
        return Ok(());
    };
    let (deleted, detached) = tokio::join!(
        delete_inline_policies(aws, name, inline.iter()),
        detach_managed_policies(aws, name, managed.iter()),
    );
    deleted?;
    detached?;
    // Right after the detaching, IAM may still answer `DeleteConflict`.
    let deleted = super::retry::retry(
        &format!("iam:DeleteRole {name}"),
        &super::retry::ROLE_POLICIES_DETACHING,
        || aws.iam.delete_role().role_name(name).send(),
    )
    .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(e) if is_no_such_entity(&e) => Ok(()),
        Err(e) if error_code(&e) == Some("DeleteConflict") => Err(Error::Aws {
            operation: "iam:DeleteRole",
            code: Some("DeleteConflict".into()),
            detail: format!(
                "{} (still, after {} s of retries); the role may be in an instance profile or have a policy attached since it was listed; remove that and run the command again",
                crate::aws::describe(&e),
                super::retry::patience(&super::retry::ROLE_POLICIES_DETACHING).as_secs()
            ),
        }),
        Err(e) => Err(Error::aws("iam:DeleteRole", &e)),
    }
}

// -------------------------------------------------- propagation retries ----

/// How long a new role may take to become usable by Cognito or Lambda.
pub(crate) const ROLE_PROPAGATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether an AWS error means "the (new) role is not usable yet", which IAM's
/// eventual consistency causes for a while after a role or its trust policy
/// changed. A pure function of the error code and message.
pub(crate) fn role_not_usable_yet(code: Option<&str>, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    let sts_denied = m.contains("not authorized to perform") && m.contains("sts:assumerole");
    match code {
        // Cognito (user pools and identity pools).
        Some("InvalidParameterException") => {
            m.contains("cannot be assumed")
                || sts_denied
                || (m.contains("role")
                    && (m.contains("trust relationship")
                        || m.contains("assume")
                        || m.contains("does not exist")))
        }
        Some("InvalidSmsRoleTrustRelationshipException")
        | Some("InvalidSmsRoleAccessPolicyException") => true,
        // Lambda.
        Some("InvalidParameterValueException") => {
            m.contains("cannot be assumed by lambda")
                || m.contains("execution role does not have permissions")
        }
        _ => false,
    }
}

/// Runs `f` again, with backoff, while it fails because a role is not usable
/// yet, for at most [`ROLE_PROPAGATION_TIMEOUT`]; any other error (and
/// success) returns at once. `what` names the call for messages.
pub(crate) async fn retry_while_role_propagates<T, F, Fut>(what: &str, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    let mut announced = false;
    loop {
        let err = match f().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let retryable = match &err {
            Error::Aws { code, detail, .. } => role_not_usable_yet(code.as_deref(), detail),
            _ => false,
        };
        if !retryable {
            return Err(err);
        }
        let elapsed = start.elapsed();
        if elapsed >= ROLE_PROPAGATION_TIMEOUT {
            return Err(Error::Wait(format!(
                "{what}: {err} (retried for {}s while the IAM role propagates; if the role was just created, run `up` again)",
                ROLE_PROPAGATION_TIMEOUT.as_secs()
            )));
        }
        if !announced {
            eprintln!("  {what}: the IAM role is not usable yet (IAM propagates changes within a minute or two), retrying");
            announced = true;
        }
        tokio::time::sleep(delay.min(ROLE_PROPAGATION_TIMEOUT - elapsed)).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

// ---- adopt ----

/// Every role of the account but the service-linked ones, as (name, name).
async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
    let names = super::all_pages(|marker| async move {
        let out = aws
            .iam
            .list_roles()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::aws("iam:ListRoles", &e))?;
        let names = out
            .roles()
            .iter()
            // Service-linked roles belong to their services.
            .filter(|r| !r.path().starts_with("/aws-service-role/"))
            .map(|r| r.role_name().to_string())
            .collect();
        Ok((names, next_marker(out.marker(), out.is_truncated())))
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(adopt::named(names))
}

/// The role's trust, inline policies (as files), managed policies and session.
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    let trust = a.get("trust_policy").cloned().unwrap_or(Value::Null);
    s.set("trust", adopt_trust(w, f, &trust));
    if let Some(Value::Object(policies)) = a.get("inline_policies") {
        let mut paths = Vec::new();
        for (policy, doc) in policies {
            paths.push(toml::Value::String(w.policy_file(&f.address, policy, doc)));
        }
        if !paths.is_empty() {
            s.set("policies", toml::Value::Array(paths));
        }
    }
    s.json("managed_policies", a.get("managed_policies"), None);
    s.json(
        "max_session_duration",
        a.get("max_session_duration"),
        Some(Value::from(DEFAULT_MAX_SESSION_DURATION)),
    );
    s.json("description", a.get("description"), None);
}

/// `trust = { identity_pool = ... }` when the trust policy is exactly the
/// one the tool makes for a found identity pool, `{ service = ... }` for
/// a service's, else a trust file.
fn adopt_trust(w: &mut adopt::Writer<'_>, f: &adopt::Found, trust: &Value) -> toml::Value {
    let partition = &w.ctx().partition;
    let canonical = |v: Value| canonical_trust_policy(v, partition);
    for pool in w
        .found()
        .iter()
        .filter(|p| p.address.kind == Kind::IdentityPool)
    {
        let Some(pool_id) = pool.outputs.get("id") else {
            continue;
        };
        for (amr, written) in [
            (None, None),
            (Some(Amr::Authenticated), Some("authenticated")),
            (Some(Amr::Unauthenticated), Some("unauthenticated")),
        ] {
            if &canonical(cognito_trust_policy(pool_id, amr)) == trust {
                let mut t = toml::Table::new();
                t.insert(
                    "identity_pool".into(),
                    toml::Value::String(pool.address.key.clone()),
                );
                if let Some(w) = written {
                    t.insert("amr".into(), toml::Value::String(w.into()));
                }
                return toml::Value::Table(t);
            }
        }
    }
    let service = trust
        .pointer("/Statement/0/Principal/Service")
        .and_then(Value::as_str);
    if let Some(service) = service {
        if &canonical(service_trust_policy(service)) == trust {
            let mut t = toml::Table::new();
            t.insert("service".into(), toml::Value::String(service.into()));
            return toml::Value::Table(t);
        }
    }
    let stem = format!("{}-trust", f.address.key.replace('_', "-"));
    let path = w.policy_file(&f.address, &stem, trust);
    let mut t = toml::Table::new();
    t.insert("file".into(), toml::Value::String(path));
    toml::Value::Table(t)
}

/// A role ARN as the stack writes it: the key of a found role, else the ARN.
pub(crate) fn adopt_reference(w: &adopt::Writer<'_>, arn: &str) -> String {
    w.key_of(Kind::Role, "arn", arn)
        .unwrap_or_else(|| arn.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    //! Documents, decoding and retries as pure functions; request shapes with
    //! mocked IAM responses (the emulator has no propagation delays and
    //! does not show which calls an update sends).

    use std::sync::{Arc, Mutex};

    use crate::aws::mock::mock_client;
    use crate::stack::{OWNER_ID_TAG, OWNER_STACK_TAG};
    use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
    use aws_sdk_iam::operation::create_role::CreateRoleOutput;
    use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
    use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
    use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
    use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
    use aws_sdk_iam::operation::get_role_policy::{GetRolePolicyError, GetRolePolicyOutput};
    use aws_sdk_iam::operation::list_attached_role_policies::{
        ListAttachedRolePoliciesError, ListAttachedRolePoliciesOutput,
    };
    use aws_sdk_iam::operation::list_role_policies::{
        ListRolePoliciesError, ListRolePoliciesOutput,
    };
    use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
    use aws_sdk_iam::operation::list_roles::ListRolesOutput;
    use aws_sdk_iam::operation::put_role_policy::PutRolePolicyOutput;
    use aws_sdk_iam::types::error::NoSuchEntityException;
    use aws_sdk_iam::types::AttachedPolicy;
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::stack::reference::Reference;
    use crate::stack::Lookup;

    const ROLE: &str = "demo-app";
    const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo-app";

    // ------------------------------------------------------- documents --

    #[test]
    fn cognito_trust_admits_the_pool_and_the_chosen_identities() {
        let doc = |amr: Option<Amr>, value: Value| {
            assert_eq!(
                cognito_trust_policy("us-east-1:1111-2222", amr),
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": { "Federated": "cognito-identity.amazonaws.com" },
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": { "cognito-identity.amazonaws.com:aud": "us-east-1:1111-2222" },
                            "ForAnyValue:StringLike": { "cognito-identity.amazonaws.com:amr": value },
                        },
                    }],
                }),
                "{amr:?}"
            );
        };
        doc(Some(Amr::Authenticated), json!("authenticated"));
        doc(Some(Amr::Unauthenticated), json!("unauthenticated"));
        doc(None, json!(["authenticated", "unauthenticated"]));
    }

    #[test]
    fn service_trust_lets_the_service_assume_the_role() {
        assert_eq!(
            service_trust_policy("lambda.amazonaws.com"),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": { "Service": "lambda.amazonaws.com" },
                    "Action": "sts:AssumeRole",
                }],
            })
        );
        // Exactly as sent: keys in the order written.
        assert_eq!(
            service_trust_policy("lambda.amazonaws.com").to_string(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        );
    }

    #[test]
    fn iam_documents_are_percent_decoded_not_form_decoded() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%24%7Bcognito-identity.amazonaws.com%3Asub%7D%2Fa+b%2Bc%20d%22%7D%5D%7D";
        assert_eq!(
            parse_policy_document(raw).unwrap(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/a+b+c d",
                }],
            })
        );
        // Plain JSON (some implementations do not encode) is taken as is,
        // including a literal `%`.
        assert_eq!(
            parse_policy_document(r#" {"Sid": "100%25"}"#).unwrap(),
            json!({ "Sid": "100%25" })
        );
        assert_eq!(percent_decode("a%2").unwrap(), "a%2");
        assert_eq!(percent_decode("%zz%41").unwrap(), "%zzA");
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
        assert!(percent_decode("%FF").is_err());
        assert!(parse_policy_document("%7Bnot").is_err());
    }

    #[test]
    fn trust_principals_given_as_account_ids_compare_as_iam_returns_them() {
        let written = json!({ "Statement": [{ "Principal": { "AWS": ["123456789012", "arn:aws:iam::210987654321:role/x"] } }, { "NotPrincipal": { "AWS": "123456789012" } }] });
        assert_eq!(
            canonical_trust_policy(written, "aws"),
            json!({ "Statement": [{ "Principal": { "AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:role/x"] } }, { "NotPrincipal": { "AWS": "arn:aws:iam::123456789012:root" } }] })
        );
        let single = json!({ "Statement": { "Principal": { "AWS": "123456789012" } } });
        assert_eq!(
            canonical_trust_policy(single, "aws-cn")["Statement"]["Principal"]["AWS"],
            "arn:aws-cn:iam::123456789012:root"
        );
        // Services and federated principals are left alone.
        let service = service_trust_policy("lambda.amazonaws.com");
        assert_eq!(canonical_trust_policy(service.clone(), "aws"), service);
    }

    /// A stack in a temp dir with policy files next to it.
    fn stack_with(body: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Stack) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("stacks")).unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let file = dir.path().join("stacks/demo.toml");
        std::fs::write(&file, format!("[stack]\nname = \"demo\"\n{body}")).unwrap();
        let stack = crate::stack::load(&file).unwrap_or_else(|d| panic!("{d:?}"));
        (dir, stack)
    }

    struct Values(BTreeMap<String, String>);
    impl Lookup for Values {
        fn value(&self, r: &Reference) -> Option<String> {
            self.0.get(&r.to_string()).cloned()
        }
    }

    fn desired_of(stack: &Stack, key: &str, values: &Values) -> Result<Value, String> {
        let address = Address::new(Kind::Role, key);
        let crate::stack::Spec::Role(spec) = stack.resolve_spec(&address, values)? else {
            panic!("a role")
        };
        let ctx = DesiredContext {
            stack,
            lookup: values,
            account_id: "123456789012",
            region: "us-east-1",
            partition: "aws",
        };
        let tags = stack.tags_for(&address, &spec.tags);
        desired(&spec, &format!("demo-{key}"), tags, &ctx)
    }

    const POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
    "Resource": "${table.notes.arn}",
    "Condition": { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"] } }
  }]
}"#;

    const STACK: &str = r#"
[identity_pool.app]
allow_unauthenticated = true

[table.notes]
hash_key = { name = "userId", type = "S" }

[role.client]
trust = { identity_pool = "app", amr = "authenticated" }
policies = ["../policies/notes-access.json"]
managed_policies = ["arn:aws:iam::aws:policy/b", "arn:aws:iam::aws:policy/a"]
tags = { team = "mobile" }

[role.worker]
trust = { service = "lambda.amazonaws.com" }
max_session_duration = 7200
description = "runs the API"

[role.custom]
trust = { file = "../policies/trust.json" }
"#;

    #[test]
    fn desired_role_before_and_after_its_references_are_known() {
        let (_dir, stack) = stack_with(
            STACK,
            &[
                ("policies/notes-access.json", POLICY),
                (
                    "policies/trust.json",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}"#,
                ),
            ],
        );
        // Nothing exists yet: the pool id and the table ARN are unknown.
        let unknown = desired_of(&stack, "client", &Values(BTreeMap::new())).unwrap();
        assert_eq!(
            unknown["trust_policy"]["Statement"][0]["Condition"]["StringEquals"]
                ["cognito-identity.amazonaws.com:aud"],
            UNKNOWN
        );
        assert_eq!(
            unknown["inline_policies"]["notes-access"]["Statement"][0]["Resource"],
            UNKNOWN
        );
        assert!(contains_unknown(&unknown));
        let shown = crate::render::human::value(&unknown["inline_policies"]["notes-access"]);
        assert!(
            shown.contains(r#""Resource":"(known after apply)""#),
            "{shown}"
        );

        let known = Values(BTreeMap::from([
            (
                "identity_pool.app.id".to_string(),
                "us-east-1:pool".to_string(),
            ),
            (
                "table.notes.arn".to_string(),
                "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes".to_string(),
            ),
        ]));
        let client = desired_of(&stack, "client", &known).unwrap();
        assert_eq!(
            client,
            json!({
                "name": "demo-client",
                "trust_policy": cognito_trust_policy("us-east-1:pool", Some(Amr::Authenticated)),
                "inline_policies": {
                    "notes-access": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                            "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes",
                            "Condition": { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"] } },
                        }],
                    },
                },
                "managed_policies": ["arn:aws:iam::aws:policy/a", "arn:aws:iam::aws:policy/b"],
                "max_session_duration": 3600,
                "description": null,
                "tags": { "mobile-backend:id": "role.client", "mobile-backend:stack": "demo", "team": "mobile" },
            })
        );

        let worker = desired_of(&stack, "worker", &known).unwrap();
        assert_eq!(
            worker["trust_policy"],
            service_trust_policy("lambda.amazonaws.com")
        );
        assert_eq!(worker["max_session_duration"], 7200);
        assert_eq!(worker["description"], "runs the API");
        assert_eq!(worker["inline_policies"], json!({}));

        let custom = desired_of(&stack, "custom", &known).unwrap();
        assert_eq!(
            custom["trust_policy"]["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::123456789012:root"
        );
    }

    #[test]
    fn every_attribute_is_classified() {
        let config = RoleConfig {
            name: ROLE.into(),
            trust_policy: json!({}),
            inline_policies: BTreeMap::new(),
            managed_policies: vec![],
            max_session_duration: 3600,
            description: None,
            tags: Tags::new(),
        };
        let value = serde_json::to_value(config).unwrap();
        let fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let classified: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
        assert_eq!(fields, classified);
    }

    // --------------------------------------------------------- retries --

    #[test]
    fn role_propagation_errors_are_told_apart_from_real_ones() {
        let yes = [
            (
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
            ),
            (
                "InvalidParameterValueException",
                "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
            ),
            (
                "InvalidParameterException",
                "Role arn:aws:iam::123456789012:role/demo-app cannot be assumed by Cognito",
            ),
            (
                "InvalidParameterException",
                "Cognito is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/demo-sms",
            ),
            (
                "InvalidParameterException",
                "Role does not have a trust relationship allowing Cognito to assume the role",
            ),
            (
                "InvalidSmsRoleTrustRelationshipException",
                "Role does not have a trust relationship allowing Cognito to assume the role",
            ),
        ];
        for (code, message) in yes {
            assert!(
                role_not_usable_yet(Some(code), message),
                "{code}: {message}"
            );
        }
        let no = [
            (Some("InvalidParameterValueException"), "Unzipped size must be smaller than 262144000 bytes"),
            (Some("InvalidParameterException"), "1 validation error detected: Value at 'identityPoolName' failed to satisfy constraint"),
            (Some("InvalidParameterException"), "Invalid role ARN format"),
            (Some("AccessDeniedException"), "User is not authorized to perform: sts:AssumeRole"),
            (Some("ResourceNotFoundException"), "The role cannot be assumed"),
            (None, "The role defined for the function cannot be assumed by Lambda."),
        ];
        for (code, message) in no {
            assert!(!role_not_usable_yet(code, message), "{code:?}: {message}");
        }
    }

    fn aws_error(code: &str, message: &str) -> Error {
        Error::Aws {
            operation: "lambda:CreateFunction",
            code: Some(code.into()),
            detail: format!("{code}: {message}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_while_the_role_propagates_then_succeeds() {
        let calls = Arc::new(Mutex::new(0));
        let started = tokio::time::Instant::now();
        let result = retry_while_role_propagates("lambda:CreateFunction notes", || {
            let calls = calls.clone();
            async move {
                let mut n = calls.lock().unwrap();
                *n += 1;
                if *n < 4 {
                    Err(aws_error(
                        "InvalidParameterValueException",
                        "The role defined for the function cannot be assumed by Lambda.",
                    ))
                } else {
                    Ok("created")
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), "created");
        assert_eq!(*calls.lock().unwrap(), 4);
        // 1 s + 2 s + 4 s of backoff, on the paused clock.
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_return_at_once() {
        let calls = Arc::new(Mutex::new(0));
        let started = tokio::time::Instant::now();
        let result: Result<(), Error> =
            retry_while_role_propagates("cognito:SetIdentityPoolRoles", || {
                let calls = calls.clone();
                async move {
                    *calls.lock().unwrap() += 1;
                    Err(aws_error(
                        "InvalidParameterException",
                        "Invalid role ARN format",
                    ))
                }
            })
            .await;
        assert!(matches!(result, Err(Error::Aws { .. })));
        assert_eq!(*calls.lock().unwrap(), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_propagation_timeout() {
        let calls = Arc::new(Mutex::new(0));
        let started = tokio::time::Instant::now();
        let result: Result<(), Error> =
            retry_while_role_propagates("cognito:CreateUserPool users", || {
                let calls = calls.clone();
                async move {
                    *calls.lock().unwrap() += 1;
                    Err(aws_error(
                    "InvalidSmsRoleTrustRelationshipException",
                    "Role does not have a trust relationship allowing Cognito to assume the role",
                ))
                }
            })
            .await;
        let err = result.expect_err("gives up");
        assert!(matches!(err, Error::Wait(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("cognito:CreateUserPool users"), "{text}");
        assert!(text.contains("run `up` again"), "{text}");
        assert_eq!(started.elapsed(), ROLE_PROPAGATION_TIMEOUT);
        // 1+2+4+8 s, then every 10 s: 17 tries in two minutes, not hundreds.
        let n = *calls.lock().unwrap();
        assert!((10..=20).contains(&n), "{n} calls");
    }

    // --------------------------------------------------- request shapes --

    fn no_such_entity(what: &str) -> NoSuchEntityException {
        NoSuchEntityException::builder()
            .message(format!("{what} not found"))
            .meta(
                ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .message(format!("{what} not found"))
                    .build(),
            )
            .build()
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build().unwrap()
    }

    fn role_output(trust: &str, tags: &[(&str, &str)]) -> Role {
        let mut role = Role::builder()
            .path("/")
            .role_name(ROLE)
            .role_id("AROAEXAMPLE")
            .arn(ROLE_ARN)
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .assume_role_policy_document(trust)
            .max_session_duration(3600);
        for (k, v) in tags {
            role = role.tags(tag(k, v));
        }
        role.build().unwrap()
    }

    fn config(inline: Value) -> Value {
        json!({
            "name": ROLE,
            "trust_policy": service_trust_policy("lambda.amazonaws.com"),
            "inline_policies": inline,
            "managed_policies": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
            "max_session_duration": 3600,
            "description": null,
            "tags": { "mobile-backend:id": "role.app", "mobile-backend:stack": "demo" },
        })
    }

    fn live_role(attributes: Value) -> Live {
        Live {
            address: "role.app".parse().unwrap(),
            physical_name: ROLE.into(),
            attributes,
            outputs: BTreeMap::from([
                ("name".into(), ROLE.into()),
                ("arn".into(), ROLE_ARN.into()),
            ]),
            ownership: Ownership::Ours,
        }
    }

    fn desired_role(attributes: Value) -> Desired {
        Desired {
            address: "role.app".parse().unwrap(),
            physical_name: ROLE.into(),
            attributes,
            depends_on: vec![],
        }
    }

    fn doc(action: &str) -> Value {
        json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": action, "Resource": "*" }] })
    }

    #[tokio::test]
    async fn an_update_of_one_inline_policy_sends_only_that_policy() {
        let want = config(json!({ "read": doc("s3:GetObject"), "write": doc("s3:PutObject*") }));
        let have = config(json!({ "read": doc("s3:GetObject"), "write": doc("s3:PutObject") }));
        let expected = doc("s3:PutObject*").to_string();
        // Any other call finds no rule and fails the update.
        let put = mock!(Client::put_role_policy)
            .match_requests(move |r| {
                r.role_name() == Some(ROLE)
                    && r.policy_name() == Some("write")
                    && r.policy_document() == Some(expected.as_str())
            })
            .then_output(|| PutRolePolicyOutput::builder().build());
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&put]),
            ..Aws::for_tests()
        };
        let outputs = update(&aws, &desired_role(want), &live_role(have))
            .await
            .unwrap_or_else(|e| panic!("update failed: {e}"));
        assert_eq!(put.num_calls(), 1);
        assert_eq!(outputs["arn"], ROLE_ARN);
    }

    #[tokio::test]
    async fn an_update_adds_before_it_removes_and_sends_each_kind_of_change_once() {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let record = |what: &'static str| {
            let log = log.clone();
            move || log.lock().unwrap().push(what.to_string())
        };
        let mut want = config(json!({ "new": doc("s3:GetObject") }));
        want["managed_policies"] = json!(["arn:aws:iam::aws:policy/New"]);
        want["max_session_duration"] = json!(7200);
        want["description"] = json!("now described");
        want["tags"]["team"] = json!("mobile");
        want["trust_policy"] = service_trust_policy("edgelambda.amazonaws.com");
        let mut have = config(json!({ "old": doc("s3:GetObject") }));
        have["tags"]["old"] = json!("x");

        let (r1, r2, r3, r4, r5, r6, r7, r8) = (
            record("trust"),
            record("put new"),
            record("attach New"),
            record("delete old"),
            record("detach S3"),
            record("update role"),
            record("tag team"),
            record("untag old"),
        );
        let rules = [
            mock!(Client::update_assume_role_policy)
                .match_requests(|r| r.policy_document().is_some_and(|d| d.contains("edgelambda")))
                .then_output(move || {
                    r1();
                    aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput::builder().build()
                }),
            mock!(Client::put_role_policy)
                .match_requests(|r| r.policy_name() == Some("new"))
                .then_output(move || {
                    r2();
                    PutRolePolicyOutput::builder().build()
                }),
            mock!(Client::attach_role_policy)
                .match_requests(|r| r.policy_arn() == Some("arn:aws:iam::aws:policy/New"))
                .then_output(move || {
                    r3();
                    AttachRolePolicyOutput::builder().build()
                }),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("old"))
                .then_output(move || {
                    r4();
                    DeleteRolePolicyOutput::builder().build()
                }),
            mock!(Client::detach_role_policy)
                .match_requests(|r| {
                    r.policy_arn() == Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                })
                .then_output(move || {
                    r5();
                    DetachRolePolicyOutput::builder().build()
                }),
            mock!(Client::update_role)
                .match_requests(|r| {
                    r.max_session_duration() == Some(7200)
                        && r.description() == Some("now described")
                })
                .then_output(move || {
                    r6();
                    aws_sdk_iam::operation::update_role::UpdateRoleOutput::builder().build()
                }),
            mock!(Client::tag_role)
                .match_requests(|r| {
                    r.tags().len() == 1 && r.tags()[0].key() == "team" && r.tags()[0].value() == "mobile"
                })
                .then_output(move || {
                    r7();
                    aws_sdk_iam::operation::tag_role::TagRoleOutput::builder().build()
                }),
            mock!(Client::untag_role)
                .match_requests(|r| r.tag_keys() == ["old".to_string()])
                .then_output(move || {
                    r8();
                    aws_sdk_iam::operation::untag_role::UntagRoleOutput::builder().build()
                }),
        ];
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        update(&aws, &desired_role(want), &live_role(have))
            .await
            .unwrap_or_else(|e| panic!("update failed: {e}"));
        let log = log.lock().unwrap().clone();
        assert_eq!(
            log,
            [
                "trust",
                "put new",
                "attach New",
                "delete old",
                "detach S3",
                "update role",
                "tag team",
                "untag old"
            ]
        );
        for rule in &rules {
            assert_eq!(rule.num_calls(), 1);
        }
    }

    #[tokio::test]
    async fn delete_empties_the_role_before_deleting_it() {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let record = |what: String| {
            let log = log.clone();
            move || log.lock().unwrap().push(what.clone())
        };
        let (d1, d2, d3, d4) = (
            record("delete inline a".into()),
            record("delete inline b".into()),
            record("detach managed".into()),
            record("delete role".into()),
        );
        let rules = [
            mock!(Client::list_role_policies)
                .match_requests(|r| r.role_name() == Some(ROLE))
                .then_output(|| {
                    ListRolePoliciesOutput::builder()
                        .policy_names("a")
                        .policy_names("b")
                        .is_truncated(false)
                        .build()
                        .unwrap()
                }),
            mock!(Client::list_attached_role_policies)
                .match_requests(|r| r.role_name() == Some(ROLE))
                .then_output(|| {
                    ListAttachedRolePoliciesOutput::builder()
                        .attached_policies(
                            AttachedPolicy::builder()
                                .policy_name("AmazonS3ReadOnlyAccess")
                                .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                                .build(),
                        )
                        .build()
                }),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("a"))
                .then_output(move || {
                    d1();
                    DeleteRolePolicyOutput::builder().build()
                }),
            mock!(Client::delete_role_policy)
                .match_requests(|r| r.policy_name() == Some("b"))
                .then_output(move || {
                    d2();
                    DeleteRolePolicyOutput::builder().build()
                }),
            mock!(Client::detach_role_policy)
                .match_requests(|r| {
                    r.policy_arn() == Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                })
                .then_output(move || {
                    d3();
                    DetachRolePolicyOutput::builder().build()
                }),
            mock!(Client::delete_role)
                .match_requests(|r| r.role_name() == Some(ROLE))
                .then_output(move || {
                    d4();
                    DeleteRoleOutput::builder().build()
                }),
        ];
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        // What was planned does not matter: the role is listed again.
        delete(&aws, &live_role(config(json!({}))))
            .await
            .unwrap_or_else(|e| panic!("delete failed: {e}"));
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), 4, "{log:?}");
        assert_eq!(
            log.last().map(String::as_str),
            Some("delete role"),
            "{log:?}"
        );
        for rule in &rules {
            assert_eq!(rule.num_calls(), 1);
        }
    }

    #[tokio::test]
    async fn deleting_a_role_that_is_gone_is_done() {
        let rules = [
            mock!(Client::list_role_policies).then_error(|| {
                ListRolePoliciesError::NoSuchEntityException(no_such_entity("role"))
            }),
            mock!(Client::list_attached_role_policies).then_error(|| {
                ListAttachedRolePoliciesError::NoSuchEntityException(no_such_entity("role"))
            }),
        ];
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        delete(&aws, &live_role(config(json!({}))))
            .await
            .unwrap_or_else(|e| panic!("delete failed: {e}"));
    }

    #[tokio::test]
    async fn create_tags_the_role_in_the_create_call_then_adds_its_policies() {
        let attributes = config(json!({ "read": doc("s3:GetObject") }));
        let trust = service_trust_policy("lambda.amazonaws.com").to_string();
        let create_role = mock!(Client::create_role)
            .match_requests(move |r| {
                let tags: Tags = r
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                r.role_name() == Some(ROLE)
                    && r.assume_role_policy_document() == Some(trust.as_str())
                    && r.max_session_duration() == Some(3600)
                    && r.description().is_none()
                    && tags.get(OWNER_STACK_TAG).map(String::as_str) == Some("demo")
                    && tags.get(OWNER_ID_TAG).map(String::as_str) == Some("role.app")
            })
            .then_output(|| {
                CreateRoleOutput::builder()
                    .role(role_output("{}", &[]))
                    .build()
            });
        let put = mock!(Client::put_role_policy)
            .match_requests(|r| {
                r.policy_name() == Some("read")
                    && r.policy_document() == Some(doc("s3:GetObject").to_string().as_str())
            })
            .then_output(|| PutRolePolicyOutput::builder().build());
        let attach = mock!(Client::attach_role_policy)
            .match_requests(|r| {
                r.policy_arn() == Some("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            })
            .then_output(|| AttachRolePolicyOutput::builder().build());
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [&create_role, &put, &attach]
            ),
            ..Aws::for_tests()
        };
        let outputs = create(&aws, &desired_role(attributes))
            .await
            .unwrap_or_else(|e| panic!("create failed: {e}"));
        assert_eq!(
            (create_role.num_calls(), put.num_calls(), attach.num_calls()),
            (1, 1, 1)
        );
        assert_eq!(outputs["arn"], ROLE_ARN);
        assert_eq!(outputs["name"], ROLE);
    }

    #[tokio::test]
    async fn create_refuses_a_role_whose_references_are_still_unknown() {
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, []),
            ..Aws::for_tests()
        };
        let mut attributes = config(json!({}));
        attributes["trust_policy"] = cognito_trust_policy(UNKNOWN, None);
        let err = create(&aws, &desired_role(attributes))
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("still unknown"), "{err}");
    }

    fn encode(doc: &Value) -> String {
        doc.to_string()
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    }

    /// A role's policy reads, as IAM answers them for a role with the one
    /// inline policy `read` (`policy_raw`, URL-encoded as IAM sends it) and
    /// the managed AmazonS3ReadOnlyAccess: ListRolePolicies, GetRolePolicy,
    /// ListAttachedRolePolicies.
    fn policy_rules(policy_raw: String) -> [aws_smithy_mocks::Rule; 3] {
        let list_inline = mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("read")
                .build()
                .unwrap()
        });
        let get_inline = mock!(Client::get_role_policy)
            .match_requests(|r| r.policy_name() == Some("read"))
            .then_output(move || {
                GetRolePolicyOutput::builder()
                    .role_name(ROLE)
                    .policy_name("read")
                    .policy_document(&policy_raw)
                    .build()
                    .unwrap()
            });
        let list_attached = mock!(Client::list_attached_role_policies).then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(
                    AttachedPolicy::builder()
                        .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                        .build(),
                )
                .build()
        });
        [list_inline, get_inline, list_attached]
    }

    #[tokio::test]
    async fn read_decodes_documents_and_finds_ownership_in_one_round_trip_plus_policies() {
        let trust = service_trust_policy("lambda.amazonaws.com");
        let policy = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${cognito-identity.amazonaws.com:sub}/a+b" }] });
        let (trust_raw, policy_raw) = (encode(&trust), encode(&policy));
        let get_role = mock!(Client::get_role).then_output(move || {
            GetRoleOutput::builder()
                .role(role_output(
                    &trust_raw,
                    &[
                        ("mobile-backend:stack", "demo"),
                        ("mobile-backend:id", "role.app"),
                    ],
                ))
                .build()
        });
        let [list_inline, get_inline, list_attached] = policy_rules(policy_raw);
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [&get_role, &list_inline, &get_inline, &list_attached]
            ),
            ..Aws::for_tests()
        };
        let address: Address = "role.app".parse().unwrap();
        let target = Target {
            stack: "demo",
            address: &address,
            name: ROLE,
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        };
        let live = read(&aws, &target).await.unwrap().expect("exists");
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.attributes, config(json!({ "read": policy })));
        assert_eq!(live.outputs["arn"], ROLE_ARN);
        // No ListRoleTags: GetRole had the tags.
        assert_eq!(
            (
                get_role.num_calls(),
                list_inline.num_calls(),
                get_inline.num_calls(),
                list_attached.num_calls()
            ),
            (1, 1, 1, 1)
        );
    }

    /// A plan of a stack with many roles reads them from two account-wide
    /// lists (ListRoles, GetAccountAuthorizationDetails) shared by every
    /// role's read, and finds what GetRole and its companions would; when
    /// GetAccountAuthorizationDetails is denied, each role is read by itself.
    #[tokio::test]
    async fn many_roles_of_a_plan_are_read_from_the_accounts_roles_at_once_or_one_by_one_if_denied()
    {
        use aws_sdk_iam::operation::get_account_authorization_details::{
            GetAccountAuthorizationDetailsError, GetAccountAuthorizationDetailsOutput,
        };
        use aws_sdk_iam::types::{PolicyDetail, RoleDetail};
        let trust = service_trust_policy("lambda.amazonaws.com");
        let policy = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a+b" }] });
        let (trust_raw, policy_raw) = (encode(&trust), encode(&policy));
        let owner = [
            ("mobile-backend:stack", "demo"),
            ("mobile-backend:id", "role.app"),
        ];
        let listed = {
            let trust_raw = trust_raw.clone();
            move || {
                // ListRoles has no tags on AWS.
                ListRolesOutput::builder()
                    .roles(role_output(&trust_raw, &[]))
                    .build()
                    .unwrap()
            }
        };
        let detail = {
            let (trust_raw, policy_raw) = (trust_raw.clone(), policy_raw.clone());
            move || {
                let mut d = RoleDetail::builder()
                    .role_name(ROLE)
                    .arn(ROLE_ARN)
                    .assume_role_policy_document(&trust_raw)
                    .role_policy_list(
                        PolicyDetail::builder()
                            .policy_name("read")
                            .policy_document(&policy_raw)
                            .build(),
                    )
                    .attached_managed_policies(
                        AttachedPolicy::builder()
                            .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
                            .build(),
                    );
                for (k, v) in owner {
                    d = d.tags(tag(k, v));
                }
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(d.build())
                    .build()
            }
        };
        let address: Address = "role.app".parse().unwrap();
        let declared: Vec<Address> = ["role.app", "role.b", "role.c"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let reads = crate::resource::PlanReads::new("demo", &declared);
        let target = Target {
            stack: "demo",
            address: &address,
            name: ROLE,
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: Some(crate::resource::PlanTarget {
                reads: &reads,
                desired_tags: None,
            }),
        };

        let list = mock!(Client::list_roles).then_output(listed.clone());
        let details = mock!(Client::get_account_authorization_details)
            .match_requests(|r| r.filter() == [EntityType::Role])
            .then_output(detail);
        let get_role = mock!(Client::get_role).then_output(|| unreachable!("GetRole"));
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [&list, &details, &get_role]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &target).await.unwrap().expect("exists");
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.attributes, config(json!({ "read": policy })));
        assert_eq!(live.outputs["arn"], ROLE_ARN);
        assert_eq!(
            (list.num_calls(), details.num_calls(), get_role.num_calls()),
            (1, 1, 0)
        );

        // Denied: the role is read by itself, as without a plan.
        let list = mock!(Client::list_roles).then_output(listed);
        let denied = mock!(Client::get_account_authorization_details).then_error(|| {
            GetAccountAuthorizationDetailsError::generic(
                ErrorMetadata::builder().code("AccessDenied").build(),
            )
        });
        let get_role = mock!(Client::get_role).then_output(move || {
            GetRoleOutput::builder()
                .role(role_output(&trust_raw, &owner))
                .build()
        });
        let [list_inline, get_inline, list_attached] = policy_rules(policy_raw);
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [
                    &list,
                    &denied,
                    &get_role,
                    &list_inline,
                    &get_inline,
                    &list_attached
                ]
            ),
            ..Aws::for_tests()
        };
        let by_itself = read(&aws, &target).await.unwrap().expect("exists");
        assert_eq!(by_itself, live);
        assert_eq!((denied.num_calls(), get_role.num_calls()), (1, 1));

        // An account of more roles than one page of details: each role is
        // read by itself, and the details' second page is never asked for.
        let many = mock!(Client::list_roles).then_output(move || {
            let mut out = ListRolesOutput::builder();
            for i in 0..=ACCOUNT_ROLES_AT_ONCE {
                let role = Role::builder()
                    .role_name(format!("other-{i}"))
                    .role_id(format!("AROA{i}"))
                    .arn(format!("arn:aws:iam::123456789012:role/other-{i}"))
                    .path("/")
                    .create_date(aws_smithy_types::DateTime::from_secs(0))
                    .build()
                    .unwrap();
                out = out.roles(role);
            }
            out.build().unwrap()
        });
        let details = mock!(Client::get_account_authorization_details)
            .match_requests(|r| r.marker().is_none())
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            });
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [
                    &many,
                    &details,
                    &get_role,
                    &list_inline,
                    &get_inline,
                    &list_attached
                ]
            ),
            ..Aws::for_tests()
        };
        let by_itself = read(&aws, &target).await.unwrap().expect("exists");
        assert_eq!(by_itself, live);
        assert_eq!((details.num_calls(), get_role.num_calls()), (1, 2));
    }

    #[tokio::test]
    async fn read_of_a_missing_role_is_none() {
        let rules = [
            mock!(Client::get_role)
                .then_error(|| GetRoleError::NoSuchEntityException(no_such_entity("role"))),
            mock!(Client::list_role_policies).then_error(|| {
                ListRolePoliciesError::NoSuchEntityException(no_such_entity("role"))
            }),
            mock!(Client::list_attached_role_policies).then_error(|| {
                ListAttachedRolePoliciesError::NoSuchEntityException(no_such_entity("role"))
            }),
        ];
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        let address: Address = "role.app".parse().unwrap();
        let target = Target {
            stack: "demo",
            address: &address,
            name: ROLE,
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        };
        assert!(read(&aws, &target).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn declared_policies_are_read_with_the_role_and_undeclared_ones_after() {
        let (_dir, stack) = stack_with(
            "[role.app]\ntrust = { service = \"lambda.amazonaws.com\" }\npolicies = [\"../policies/read.json\", \"../policies/gone.json\"]\n",
            &[
                ("policies/read.json", r#"{"Version": "2012-10-17", "Statement": []}"#),
                ("policies/gone.json", r#"{"Version": "2012-10-17", "Statement": []}"#),
            ],
        );
        let address: Address = "role.app".parse().unwrap();
        let spec = &stack.resources[&address].spec;
        let trust_raw = encode(&service_trust_policy("lambda.amazonaws.com"));
        let doc = |name: &'static str| {
            let raw = encode(&json!({ "Version": "2012-10-17", "Statement": [], "Id": name }));
            mock!(Client::get_role_policy)
                .match_requests(move |r| r.policy_name() == Some(name))
                .then_output(move || {
                    GetRolePolicyOutput::builder()
                        .role_name(ROLE)
                        .policy_name(name)
                        .policy_document(&raw)
                        .build()
                        .unwrap()
                })
        };
        let (read_doc, extra_doc) = (doc("read"), doc("extra"));
        // Declared, but deleted out of band: not listed, not found.
        let gone_doc = mock!(Client::get_role_policy)
            .match_requests(|r| r.policy_name() == Some("gone"))
            .then_error(|| GetRolePolicyError::NoSuchEntityException(no_such_entity("policy")));
        let rules = [
            mock!(Client::get_role).then_output(move || {
                GetRoleOutput::builder()
                    .role(role_output(
                        &trust_raw,
                        &[
                            ("mobile-backend:stack", "demo"),
                            ("mobile-backend:id", "role.app"),
                        ],
                    ))
                    .build()
            }),
            // Added out of band: listed, not declared.
            mock!(Client::list_role_policies).then_output(|| {
                ListRolePoliciesOutput::builder()
                    .policy_names("read")
                    .policy_names("extra")
                    .build()
                    .unwrap()
            }),
            mock!(Client::list_attached_role_policies)
                .then_output(|| ListAttachedRolePoliciesOutput::builder().build()),
        ];
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                rules.iter().chain([&read_doc, &extra_doc, &gone_doc])
            ),
            ..Aws::for_tests()
        };
        let target = Target {
            stack: "demo",
            address: &address,
            name: ROLE,
            parent: None,
            spec: Some(spec),
            adopt: None,
            dir: None,
            plan: None,
        };
        let live = read(&aws, &target).await.unwrap().expect("exists");
        let inline: Vec<&String> = live.attributes["inline_policies"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(inline, ["extra", "read"]);
        assert_eq!(
            (
                read_doc.num_calls(),
                gone_doc.num_calls(),
                extra_doc.num_calls()
            ),
            (1, 1, 1),
            "each policy is read once"
        );
    }

    #[tokio::test]
    async fn find_owned_keeps_this_stacks_roles_across_pages() {
        let role = |name: &str, tags: &[(&str, &str)]| {
            let mut r = Role::builder()
                .path("/")
                .role_name(name)
                .role_id("AROA")
                .arn(format!("arn:aws:iam::123456789012:role/{name}"))
                .create_date(aws_smithy_types::DateTime::from_secs(0));
            for (k, v) in tags {
                r = r.tags(tag(k, v));
            }
            r.build().unwrap()
        };
        let first = role("demo-app", &[]);
        let other_stack = role("demo-other", &[]);
        let second = (
            role("unrelated", &[]),
            role(
                "demo-worker",
                &[
                    ("mobile-backend:stack", "demo"),
                    ("mobile-backend:id", "role.worker"),
                ],
            ),
            role("demo-notes", &[]),
        );
        let page1 = mock!(Client::list_roles)
            .match_requests(|r| r.marker().is_none())
            .then_output(move || {
                ListRolesOutput::builder()
                    .roles(first.clone())
                    .roles(other_stack.clone())
                    .is_truncated(true)
                    .marker("page2")
                    .build()
                    .unwrap()
            });
        let page2 = mock!(Client::list_roles)
            .match_requests(|r| r.marker() == Some("page2"))
            .then_output(move || {
                ListRolesOutput::builder()
                    .roles(second.0.clone())
                    .roles(second.1.clone())
                    .roles(second.2.clone())
                    .is_truncated(false)
                    .build()
                    .unwrap()
            });
        let tags_of_role = |name: &'static str, tags: &'static [(&'static str, &'static str)]| {
            mock!(Client::list_role_tags)
                .match_requests(move |r| r.role_name() == Some(name))
                .then_output(move || {
                    let mut out = ListRoleTagsOutput::builder();
                    for (k, v) in tags {
                        out = out.tags(tag(k, v));
                    }
                    out.build().unwrap()
                })
        };
        let app_tags = tags_of_role(
            "demo-app",
            &[
                ("mobile-backend:stack", "demo"),
                ("mobile-backend:id", "role.app"),
            ],
        );
        let other_tags = tags_of_role(
            "demo-other",
            &[
                ("mobile-backend:stack", "demo-other"),
                ("mobile-backend:id", "role.x"),
            ],
        );
        // A table's id on a role is not a role of this stack.
        let notes_tags = tags_of_role(
            "demo-notes",
            &[
                ("mobile-backend:stack", "demo"),
                ("mobile-backend:id", "table.notes"),
            ],
        );
        let aws = Aws {
            iam: mock_client!(
                aws_sdk_iam,
                RuleMode::MatchAny,
                [&page1, &page2, &app_tags, &other_tags, &notes_tags]
            ),
            ..Aws::for_tests()
        };
        let (_dir, stack) = stack_with("", &[]);
        // `demo-notes` is declared: read directly, it is no candidate.
        let found = find_owned(&aws, &stack, &["demo-notes".to_string()])
            .await
            .unwrap();
        let found: Vec<(String, String)> =
            found.into_iter().map(|(a, n)| (a.to_string(), n)).collect();
        assert_eq!(
            found,
            [
                ("role.app".to_string(), "demo-app".to_string()),
                ("role.worker".to_string(), "demo-worker".to_string()),
            ]
        );
        // `unrelated` is never looked at; `demo-worker` came with its tags;
        // the declared `demo-notes` costs no ListRoleTags.
        assert_eq!(
            (
                app_tags.num_calls(),
                other_tags.num_calls(),
                notes_tags.num_calls()
            ),
            (1, 1, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_while_iam_still_sees_the_detached_policy() {
        // Right after DetachRolePolicy, DeleteRole may answer DeleteConflict
        // until the detach propagates (Terraform retries it for 2 minutes).
        use aws_sdk_iam::operation::delete_role::{DeleteRoleError, DeleteRoleOutput};
        use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
        use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
        use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
        use aws_sdk_iam::types::AttachedPolicy;
        let inline = mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .build()
                .unwrap()
        });
        let attached = mock!(aws_sdk_iam::Client::list_attached_role_policies).then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(
                    AttachedPolicy::builder()
                        .policy_arn("arn:aws:iam::aws:policy/AWSLambdaExecute")
                        .build(),
                )
                .build()
        });
        let detach = mock!(aws_sdk_iam::Client::detach_role_policy)
            .then_output(|| DetachRolePolicyOutput::builder().build());
        let conflict = || {
            DeleteRoleError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("DeleteConflict")
                    .message("Cannot delete entity, must detach all policies first.")
                    .build(),
            )
        };
        let delete_role = mock!(aws_sdk_iam::Client::delete_role)
            .sequence()
            .error(conflict)
            .error(conflict)
            .output(|| DeleteRoleOutput::builder().build())
            .build();
        let rules = [&inline, &attached, &detach, &delete_role];
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules),
            ..Aws::for_tests()
        };
        let live = Live {
            address: "role.app".parse().unwrap(),
            physical_name: "demo-app".into(),
            attributes: serde_json::Value::Null,
            outputs: Outputs::new(),
            ownership: Ownership::Ours,
        };
        delete(&aws, &live)
            .await
            .unwrap_or_else(|e| panic!("delete failed: {e}"));
        assert_eq!((detach.num_calls(), delete_role.num_calls()), (1, 3));
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for `[role.app]` with only a service trust (see
    /// `resource/aws_defaults.rs`): `CreateRole` is sent the trust policy,
    /// `MaxSessionDuration` 3600 and the tags; IAM returns the document
    /// percent-encoded (the IAM API reference: policy documents "are
    /// URL-encoded compliant with RFC 3986"), no description, and no inline
    /// or attached policies. 3600 is IAM's default anyway (`CreateRole`'s
    /// `MaxSessionDuration`: "If you do not specify a value for this setting,
    /// the default maximum of one hour is applied").
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = crate::resource::aws_defaults::Minimal::load(
            "[role.app]\ntrust = { service = \"lambda.amazonaws.com\" }\n",
            "role.app",
            &[],
        );
        let trust = crate::resource::aws_defaults::percent_encoded(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        );
        let tags: Vec<(String, String)> = m.tags().into_iter().collect();
        let get = mock!(Client::get_role).then_output(move || {
            let tags: Vec<(&str, &str)> =
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            GetRoleOutput::builder()
                .role(role_output(&trust, &tags))
                .build()
        });
        let inline = mock!(Client::list_role_policies).then_output(|| {
            ListRolePoliciesOutput::builder()
                .set_policy_names(Some(vec![]))
                .is_truncated(false)
                .build()
                .unwrap()
        });
        let attached = mock!(Client::list_attached_role_policies).then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .is_truncated(false)
                .build()
        });
        let aws = Aws {
            iam: mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &inline, &attached]),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        vec![m.case("a role made from `[role.app]` with a service trust", live)]
    }

    // ---- adopt ----

    #[test]
    fn roles_get_their_references_back_and_policies_as_files() {
        use crate::adopt::render;
        use crate::adopt::tests::{ctx, found, table, TABLE_ARN};
        use crate::resource::role;
        use crate::resource::Outputs;
        use serde_json::json;
        let pool_id = "us-east-1:0000-1111";
        let pool = {
            let mut p = found(
                "identity_pool.app",
                pool_id,
                json!({"name": "App", "allow_unauthenticated": true, "allow_classic_flow": false,
                    "cognito_identity_providers": [], "supported_login_providers": {},
                    "open_id_connect_provider_arns": [], "saml_provider_arns": [], "tags": {}}),
                &[("id", pool_id), ("name", "App")],
            );
            p.parts.insert(
                "identity_pool.app.roles".parse().expect("address"),
                (json!({"roles": {"unauthenticated": "arn:aws:iam::111122223333:role/Guest",
                    "authenticated": "arn:aws:iam::999999999999:role/Elsewhere"}, "role_mappings": {}}), Outputs::new()),
            );
            p
        };
        let trust = role::canonical_trust_policy(
            role::cognito_trust_policy(pool_id, Some(crate::resource::role::Amr::Unauthenticated)),
            "aws",
        );
        let guest = found(
            "role.guest",
            "Guest",
            json!({"name": "Guest", "trust_policy": trust,
                "inline_policies": {"GuestAccess": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN,
                     "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]}}}]}},
                "managed_policies": [], "max_session_duration": 3600, "description": null, "tags": {}}),
            &[
                ("arn", "arn:aws:iam::111122223333:role/Guest"),
                ("name", "Guest"),
            ],
        );
        let lambda = found(
            "role.worker",
            "Worker",
            json!({"name": "Worker", "trust_policy": role::service_trust_policy("lambda.amazonaws.com"),
                "inline_policies": {}, "managed_policies": ["arn:aws:iam::aws:policy/AWSLambdaExecute"],
                "max_session_duration": 7200, "description": "runs", "tags": {}}),
            &[("arn", "arn:aws:iam::111122223333:role/Worker")],
        );
        let odd_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id}}}]});
        let odd = found(
            "role.odd",
            "Odd",
            json!({"name": "Odd", "trust_policy": odd_trust, "inline_policies": {}, "managed_policies": [],
                "max_session_duration": 3600, "description": null, "tags": {}}),
            &[("arn", "arn:aws:iam::111122223333:role/Odd")],
        );
        let r = render("app", &[pool, table(), guest, lambda, odd], &ctx(), vec![]);
        let text = &r.stack;
        assert!(text.contains("unauthenticated_role = \"guest\""), "{text}");
        // A role not found by the scan stays an ARN.
        assert!(
            text.contains("authenticated_role = \"arn:aws:iam::999999999999:role/Elsewhere\""),
            "{text}"
        );
        assert!(
            text.contains("trust = { amr = \"unauthenticated\", identity_pool = \"app\" }"),
            "{text}"
        );
        assert!(
            text.contains("policies = [\"../policies/GuestAccess.json\"]"),
            "{text}"
        );
        assert!(
            text.contains("trust = { service = \"lambda.amazonaws.com\" }"),
            "{text}"
        );
        assert!(text.contains("max_session_duration = 7200"), "{text}");
        assert!(
            text.contains("managed_policies = [\"arn:aws:iam::aws:policy/AWSLambdaExecute\"]"),
            "{text}"
        );
        // A trust policy the tool would not write itself is kept as a file,
        // the pool id a reference.
        assert!(
            text.contains("trust = { file = \"../policies/odd-trust.json\" }"),
            "{text}"
        );
        let odd_file = r
            .files
            .iter()
            .find(|f| f.relative.ends_with("odd-trust.json"))
            .expect("trust file");
        assert!(
            odd_file.text().contains("${identity_pool.app.id}"),
            "{}",
            odd_file.text()
        );
        let guest_file = r
            .files
            .iter()
            .find(|f| f.relative == "../policies/GuestAccess.json")
            .expect("policy file");
        let doc: Value = serde_json::from_str(guest_file.text()).expect("JSON");
        assert_eq!(doc["Statement"][0]["Resource"], "${table.notes.arn}");
        assert_eq!(
            doc["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
                [0],
            "${cognito-identity.amazonaws.com:sub}"
        );
        assert!(r.notes.is_empty(), "{:?}", r.notes);
    }
}
