//! Resource kinds: one file per kind, each with find/read, create, update and
//! delete, its waits, and which attributes force replacement. This module
//! dispatches on the kind and holds what all kinds share.

pub mod api;
pub mod api_export;
pub mod api_routes;
#[cfg(test)]
mod aws_defaults;
pub mod bucket;
mod flight;
pub mod identity_pool;
pub mod identity_pool_roles;
pub mod lambda_permission;
pub mod retry;
pub mod role;
pub mod search;
pub mod search_cloudsearch;
pub mod search_opensearch;
pub mod table;
pub mod user_pool;
pub mod user_pool_client;
pub mod user_pool_group;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Aws;
use crate::stack::reference::Reference;
use crate::stack::{Address, Kind, Lookup, Part, Spec, Stack, Tags, OWNER_ID_TAG, OWNER_STACK_TAG};

/// How a change to one top-level attribute is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Changed in place.
    Update,
    /// AWS cannot change it: the resource is deleted and created again.
    Replace,
    /// Reported by AWS, never set by the stack.
    Computed,
}

/// What AWS thing an address is: a declared resource or one of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    Table,
    Bucket,
    UserPool,
    UserPoolClient,
    UserPoolGroup,
    IdentityPool,
    IdentityPoolRoles,
    Role,
    Search,
    Api,
}

impl ResourceType {
    pub const ALL: &'static [ResourceType] = &[
        ResourceType::Table,
        ResourceType::Bucket,
        ResourceType::UserPool,
        ResourceType::UserPoolClient,
        ResourceType::UserPoolGroup,
        ResourceType::IdentityPool,
        ResourceType::IdentityPoolRoles,
        ResourceType::Role,
        ResourceType::Search,
        ResourceType::Api,
    ];

    pub fn of(address: &Address) -> ResourceType {
        match (address.kind, &address.part) {
            (Kind::Table, _) => ResourceType::Table,
            (Kind::Bucket, _) => ResourceType::Bucket,
            (Kind::UserPool, Some(Part::Client(_))) => ResourceType::UserPoolClient,
            (Kind::UserPool, Some(Part::Group(_))) => ResourceType::UserPoolGroup,
            (Kind::UserPool, _) => ResourceType::UserPool,
            (Kind::IdentityPool, Some(Part::Roles)) => ResourceType::IdentityPoolRoles,
            (Kind::IdentityPool, _) => ResourceType::IdentityPool,
            (Kind::Role, _) => ResourceType::Role,
            (Kind::Search, _) => ResourceType::Search,
            (Kind::Api, _) => ResourceType::Api,
        }
    }

    /// Whether this version can plan and apply it (the others are validated
    /// offline only, until their provisioning lands).
    pub fn provisioned(self) -> bool {
        matches!(
            self,
            ResourceType::Table
                | ResourceType::Bucket
                | ResourceType::Role
                | ResourceType::IdentityPool
                | ResourceType::IdentityPoolRoles
                | ResourceType::UserPool
                | ResourceType::UserPoolClient
                | ResourceType::UserPoolGroup
                | ResourceType::Search
                | ResourceType::Api
        )
    }

    /// Replacing one of these loses data or users, so it needs `--allow-replace`.
    pub fn holds_data(self) -> bool {
        matches!(
            self,
            ResourceType::Table
                | ResourceType::Bucket
                | ResourceType::UserPool
                // Identity ids key per-user data (`dynamodb:LeadingKeys`, S3 prefixes).
                | ResourceType::IdentityPool
                // A search domain holds its index (the documents sent to it).
                | ResourceType::Search
        )
    }

    /// What AWS calls it, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceType::Table => "DynamoDB table",
            ResourceType::Bucket => "S3 bucket",
            ResourceType::UserPool => "Cognito user pool",
            ResourceType::UserPoolClient => "user pool app client",
            ResourceType::UserPoolGroup => "user pool group",
            ResourceType::IdentityPool => "Cognito identity pool",
            ResourceType::IdentityPoolRoles => "identity pool role attachment",
            ResourceType::Role => "IAM role",
            ResourceType::Search => "search domain",
            ResourceType::Api => "API Gateway REST API",
        }
    }

    /// The attributes and how each one changes.
    pub fn attribute_classes(self) -> &'static [(&'static str, Change)] {
        match self {
            ResourceType::Table => table::ATTRIBUTES,
            ResourceType::Bucket => bucket::ATTRIBUTES,
            ResourceType::Role => role::ATTRIBUTES,
            ResourceType::IdentityPool => identity_pool::ATTRIBUTES,
            ResourceType::IdentityPoolRoles => identity_pool_roles::ATTRIBUTES,
            ResourceType::UserPool => user_pool::ATTRIBUTES,
            ResourceType::UserPoolClient => user_pool_client::ATTRIBUTES,
            ResourceType::UserPoolGroup => user_pool_group::ATTRIBUTES,
            ResourceType::Search => search::ATTRIBUTES,
            ResourceType::Api => api::ATTRIBUTES,
        }
    }

    /// What AWS fills in when the stack leaves it unset (Terraform's
    /// Optional + Computed): dotted attribute paths, `*` standing for any one
    /// map key (`usage_plans.*.quota`). Each kind declares its list beside its
    /// `ATTRIBUTES`; most kinds put AWS's default in the desired value
    /// instead, and declare nothing here.
    pub fn defaulted(self) -> &'static [&'static str] {
        match self {
            ResourceType::Table => table::DEFAULTED,
            ResourceType::Bucket => bucket::DEFAULTED,
            ResourceType::Role => role::DEFAULTED,
            ResourceType::IdentityPool => identity_pool::DEFAULTED,
            ResourceType::IdentityPoolRoles => identity_pool_roles::DEFAULTED,
            ResourceType::UserPool => user_pool::DEFAULTED,
            ResourceType::UserPoolClient => user_pool_client::DEFAULTED,
            ResourceType::UserPoolGroup => user_pool_group::DEFAULTED,
            ResourceType::Search => search::DEFAULTED,
            ResourceType::Api => api::DEFAULTED,
        }
    }

    /// Whether the attribute at `path` (`scaling.instance_type`) is one AWS
    /// fills in when the stack leaves it unset: a plan never shows it
    /// changing to nothing.
    pub fn is_defaulted(self, path: &str) -> bool {
        self.defaulted().iter().any(|p| path_matches(p, path))
    }

    /// How an attribute changes (unknown attributes update in place).
    pub fn change_of(self, attribute: &str) -> Change {
        self.attribute_classes()
            .iter()
            .find(|(name, _)| *name == attribute)
            .map(|(_, c)| *c)
            .unwrap_or(Change::Update)
    }
}

/// Whether a dotted attribute path matches a pattern segment by segment,
/// `*` matching any one segment (a map key).
fn path_matches(pattern: &str, path: &str) -> bool {
    let (mut want, mut have) = (pattern.split('.'), path.split('.'));
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w == "*" || w == h => {}
            _ => return false,
        }
    }
}

impl std::fmt::Display for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.noun())
    }
}

/// What a step's outputs are: `arn`, `name`, `id`, ... as strings.
pub type Outputs = BTreeMap<String, String>;

/// What building the desired attributes may need besides the spec.
pub struct DesiredContext<'a> {
    pub stack: &'a Stack,
    pub lookup: &'a dyn Lookup,
    pub account_id: &'a str,
    pub region: &'a str,
    pub partition: &'a str,
}

impl DesiredContext<'_> {
    /// A policy document named in the stack (relative to the stack file's
    /// directory), with references resolved and IAM policy variables kept.
    pub fn policy_document(&self, relative: &str) -> Result<Value, String> {
        let dir = self
            .stack
            .file
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let path = dir.join(relative);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read policy file `{}`: {e}", path.display()))?;
        let resolved = self.stack.interpolate(&text, self.lookup)?;
        // The marker of a value not known yet holds control characters, which
        // a JSON string must escape.
        let unknown = crate::stack::reference::UNKNOWN;
        let resolved = resolved.replace(unknown, &unknown.replace('\u{1}', "\\u0001"));
        serde_json::from_str(&resolved).map_err(|e| {
            format!(
                "policy file `{}` is not valid JSON after resolving references: {e}",
                path.display()
            )
        })
    }

    /// The value of `${kind.key.attr}`, or [`crate::stack::reference::UNKNOWN`].
    pub fn output(&self, address: &Address, attribute: &str) -> String {
        self.lookup
            .value(&Reference::Resource {
                address: address.clone(),
                attribute: attribute.to_string(),
            })
            .unwrap_or_else(|| crate::stack::reference::UNKNOWN.to_string())
    }
}

/// What identifies a step in AWS when reading it.
pub struct Target<'a> {
    pub stack: &'a str,
    pub address: &'a Address,
    /// The physical name the stack wants.
    pub name: &'a str,
    /// The outputs of the resource a part belongs to (a user pool's `id` for
    /// its clients and groups, an identity pool's `id` for its roles), when
    /// it exists.
    pub parent: Option<&'a Outputs>,
    /// The resource's settings as declared (unresolved), when the stack
    /// declares it: some kinds need them to know where to look (a search
    /// domain's engine). `None` for leftovers found by their tags.
    pub spec: Option<&'a Spec>,
    /// `adopt = "<id>"` of the declared resource, when `up` may adopt it
    /// (never while destroying): the existing resource to take as this
    /// address's when the stack owns none.
    pub adopt: Option<&'a str>,
}

/// Whose a found resource is, by its ownership tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "owner")]
pub enum Ownership {
    /// Both ownership tags name this stack and this address.
    Ours,
    /// Anything else: another stack's, or made by hand, or in another account.
    NotOurs { why: String },
    /// Made outside the tool, untagged, and named by the stack's `adopt = "<id>"`:
    /// `up` takes it as this address's by adding the ownership tags.
    Adopting { id: String },
}

impl Ownership {
    pub fn from_tags(tags: &Tags, stack: &str, address: &Address) -> Ownership {
        let owner = tags.get(OWNER_STACK_TAG);
        let id = tags.get(OWNER_ID_TAG);
        if owner.map(String::as_str) == Some(stack)
            && id.map(|s| s.as_str()) == Some(&address.to_string())
        {
            return Ownership::Ours;
        }
        let why = match (owner, id) {
            (None, _) => "it has no mobile-backend ownership tags".to_string(),
            (Some(o), _) if o != stack => format!("it belongs to stack `{o}`"),
            (Some(_), Some(i)) => format!("it belongs to `{i}` of this stack"),
            (Some(_), None) => format!("its `{OWNER_ID_TAG}` tag is missing"),
        };
        Ownership::NotOurs { why }
    }

    /// Ours, or about to be (adopted): its outputs are the address's.
    pub fn claimed(&self) -> bool {
        matches!(self, Ownership::Ours | Ownership::Adopting { .. })
    }
}

/// Whether tags hold none of this tool's `mobile-backend:*` tags, so that the
/// resource may be adopted.
pub fn untagged(tags: &Tags) -> bool {
    !tags.keys().any(|k| k.starts_with(OWNER_TAG_PREFIX))
}

/// The prefix of the ownership tags.
pub const OWNER_TAG_PREFIX: &str = "mobile-backend:";

/// The error for an `adopt = "<id>"` that names nothing.
fn adopt_missing(target: &Target<'_>, id: &str) -> Error {
    Error::Refused(format!(
        "`adopt = \"{id}\"`: no {} with the id `{id}` exists in this account and region; correct the id (`mobile-backend adopt` lists what exists), or remove `adopt` to create a new one",
        ResourceType::of(target.address).noun()
    ))
}

/// For kinds found by name: applies `adopt = "<id>"` to what was read at the
/// stack's name. A resource that is ours stays ours (the key then changes
/// nothing); an untagged one becomes [`Ownership::Adopting`]; one tagged for
/// another stack or address stays not ours, and the reason says it is never
/// adopted; nothing at all is an error naming the id.
fn claim_by_name(target: &Target<'_>, live: Option<Live>) -> Result<Option<Live>, Error> {
    let Some(id) = target.adopt else {
        return Ok(live);
    };
    if live
        .as_ref()
        .is_some_and(|l| l.ownership == Ownership::Ours)
    {
        return Ok(live);
    }
    if id != target.name {
        return Err(Error::Refused(format!(
            "`adopt = \"{id}\"`, but the stack names this {} `{}`; adopting it under another name would replace it: add `name = \"{id}\"`",
            ResourceType::of(target.address).noun(),
            target.name
        )));
    }
    let Some(mut live) = live else {
        return Err(adopt_missing(target, id));
    };
    if let Ownership::NotOurs { why } = &live.ownership {
        let tags: Option<Tags> = live
            .attributes
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        live.ownership = match tags {
            Some(tags) if untagged(&tags) => Ownership::Adopting { id: id.to_string() },
            Some(_) => Ownership::NotOurs {
                why: format!("{why}; `adopt` never takes a resource tagged by mobile-backend for another stack or address"),
            },
            None => Ownership::NotOurs {
                why: format!("{why}; it cannot be adopted, as its tags cannot be read or set"),
            },
        };
    }
    Ok(Some(live))
}

/// A resource as it is in AWS, normalised to compare with the stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub address: Address,
    pub physical_name: String,
    /// Same shape as [`Desired::attributes`].
    pub attributes: Value,
    /// What other resources may reference (`arn`, `name`, ...).
    pub outputs: BTreeMap<String, String>,
    pub ownership: Ownership,
}

/// A resource as the stack wants it, references resolved where known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    pub address: Address,
    pub physical_name: String,
    pub attributes: Value,
    pub depends_on: Vec<Address>,
}

/// Options that change what apply may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    pub empty_buckets: bool,
}

/// Why an operation on a resource failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// AWS answered with an error (or did not answer).
    #[error("{operation} failed: {detail}")]
    Aws {
        operation: &'static str,
        code: Option<String>,
        detail: String,
    },
    /// The tool refuses, to keep data safe; the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// A wait ran out of time or saw a failure state.
    #[error("{0}")]
    Wait(String),
    /// AWS answered something this tool cannot interpret.
    #[error("{0}")]
    Unexpected(String),
}

impl Error {
    pub fn aws<E, R>(
        operation: &'static str,
        err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Error
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        Error::Aws {
            operation,
            code: crate::aws::error_code(err).map(str::to_string),
            detail: crate::aws::describe(err),
        }
    }
}

/// The attributes a step wants, as JSON, from its resource's resolved spec.
pub fn desired_attributes(
    address: &Address,
    spec: &Spec,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    match (ResourceType::of(address), spec) {
        (ResourceType::Table, Spec::Table(t)) => table::desired(t, name, tags),
        (ResourceType::Bucket, Spec::Bucket(b)) => bucket::desired(b, name, tags),
        (ResourceType::Role, Spec::Role(r)) => role::desired(r, name, tags, ctx),
        (ResourceType::IdentityPool, Spec::IdentityPool(p)) => {
            identity_pool::desired(p, name, tags, ctx)
        }
        (ResourceType::IdentityPoolRoles, Spec::IdentityPool(p)) => {
            identity_pool_roles::desired(p, ctx)
        }
        (ResourceType::UserPool, Spec::UserPool(u)) => {
            user_pool::desired(u, address, name, tags, ctx)
        }
        (ResourceType::UserPoolClient, Spec::UserPool(u)) => match &address.part {
            Some(Part::Client(key)) => match u.clients.get(key) {
                Some(c) => user_pool_client::desired(key, c, name),
                None => Err(format!("`{address}` is not declared in the stack")),
            },
            _ => Err(format!("`{address}` is not an app client")),
        },
        (ResourceType::UserPoolGroup, Spec::UserPool(u)) => match &address.part {
            Some(Part::Group(key)) => match u.groups.get(key) {
                Some(g) => user_pool_group::desired(name, g, ctx),
                None => Err(format!("`{address}` is not declared in the stack")),
            },
            _ => Err(format!("`{address}` is not a group")),
        },
        (ResourceType::Search, Spec::Search(s)) => search::desired(s, address, name, tags, ctx),
        (ResourceType::Api, Spec::Api(a)) => api::desired(a, name, tags, ctx),
        (t, _) => Err(format!(
            "a {} cannot be provisioned by this version yet",
            t.noun()
        )),
    }
}

/// Reads a step by its physical name (and its parent's outputs); `None`
/// when it does not exist.
pub async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let live = read_kind(aws, target).await?;
    if target.address.part.is_none() && crate::stack::adopts_by_name(target.address.kind) {
        return claim_by_name(target, live);
    }
    Ok(live)
}

async fn read_kind(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    match ResourceType::of(target.address) {
        ResourceType::Table => table::read(aws, target.stack, target.address, target.name).await,
        ResourceType::Bucket => bucket::read(aws, target.stack, target.address, target.name).await,
        ResourceType::Role => role::read(aws, target).await,
        ResourceType::IdentityPool => identity_pool::read(aws, target).await,
        ResourceType::IdentityPoolRoles => identity_pool_roles::read(aws, target).await,
        ResourceType::UserPool => user_pool::read(aws, target).await,
        ResourceType::UserPoolClient => user_pool_client::read(aws, target).await,
        ResourceType::UserPoolGroup => user_pool_group::read(aws, target).await,
        ResourceType::Search => search::read(aws, target).await,
        ResourceType::Api => api::read(aws, target).await,
    }
}

/// Creates a step; returns its outputs.
pub async fn create(
    aws: &Aws,
    desired: &Desired,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    match ResourceType::of(&desired.address) {
        ResourceType::Table => table::create(aws, desired).await,
        ResourceType::Bucket => bucket::create(aws, desired).await,
        ResourceType::Role => role::create(aws, desired).await,
        ResourceType::IdentityPool => identity_pool::create(aws, desired).await,
        ResourceType::IdentityPoolRoles => identity_pool_roles::set(aws, desired, parent).await,
        ResourceType::UserPool => user_pool::create(aws, desired).await,
        ResourceType::UserPoolClient => user_pool_client::create(aws, desired, parent).await,
        ResourceType::UserPoolGroup => user_pool_group::create(aws, desired, parent).await,
        ResourceType::Search => search::create(aws, desired).await,
        ResourceType::Api => api::create(aws, desired).await,
    }
}

/// Brings a live step to the desired attributes; returns its outputs.
pub async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    match ResourceType::of(&desired.address) {
        ResourceType::Table => table::update(aws, desired, live).await,
        ResourceType::Bucket => bucket::update(aws, desired, live).await,
        ResourceType::Role => role::update(aws, desired, live).await,
        ResourceType::IdentityPool => identity_pool::update(aws, desired, live).await,
        ResourceType::IdentityPoolRoles => identity_pool_roles::set(aws, desired, parent).await,
        ResourceType::UserPool => user_pool::update(aws, desired, live).await,
        ResourceType::UserPoolClient => user_pool_client::update(aws, desired, live, parent).await,
        ResourceType::UserPoolGroup => user_pool_group::update(aws, desired, live, parent).await,
        ResourceType::Search => search::update(aws, desired, live).await,
        ResourceType::Api => api::update(aws, desired, live).await,
    }
}

/// Deletes a live step (which must be ours).
pub async fn delete(aws: &Aws, live: &Live, options: ApplyOptions) -> Result<(), Error> {
    if live.ownership != Ownership::Ours {
        return Err(Error::Refused(format!(
            "`{}` ({}) is not owned by this stack; it is never deleted",
            live.address, live.physical_name
        )));
    }
    match ResourceType::of(&live.address) {
        ResourceType::Table => table::delete(aws, live).await,
        ResourceType::Bucket => bucket::delete(aws, live, options).await,
        ResourceType::Role => role::delete(aws, live).await,
        ResourceType::IdentityPool => identity_pool::delete(aws, live).await,
        ResourceType::IdentityPoolRoles => identity_pool_roles::delete(aws, live).await,
        ResourceType::UserPool => user_pool::delete(aws, live).await,
        ResourceType::UserPoolClient => user_pool_client::delete(aws, live).await,
        ResourceType::UserPoolGroup => user_pool_group::delete(aws, live).await,
        ResourceType::Search => search::delete(aws, live).await,
        ResourceType::Api => api::delete(aws, live).await,
    }
}

/// Every resource AWS reports as tagged with this stack's name, as
/// (address, physical name). This finds what a stack owns but no longer
/// declares; each one found is read again and its tags checked before use.
pub async fn find_tagged(
    aws: &Aws,
    stack: &Stack,
    declared_names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    // The tagging API covers tables and buckets; identity pools are listed
    // by their own service (the tagging API does not return them everywhere).
    // IAM is not in the tagging API at all: roles are listed by name prefix.
    let (tagged, identity_pools, user_pools, roles, apis) = tokio::join!(
        find_by_tagging_api(aws, stack),
        identity_pool::find_owned(aws, stack, declared_names),
        user_pool::find_owned(aws, stack, declared_names),
        role::find_owned(aws, stack, declared_names),
        api::find_owned(aws, stack, declared_names)
    );
    let mut found = tagged?;
    found.extend(identity_pools?);
    found.extend(user_pools?);
    found.extend(roles?);
    found.extend(apis?);
    found.sort();
    found.dedup();
    Ok(found)
}

async fn find_by_tagging_api(aws: &Aws, stack: &Stack) -> Result<Vec<(Address, String)>, Error> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key(OWNER_STACK_TAG)
                    .values(&stack.name)
                    .build(),
            )
            .set_pagination_token(token.clone())
            .send()
            .await
            .map_err(|e| Error::aws("tagging:GetResources", &e))?;
        for mapping in out.resource_tag_mapping_list() {
            let Some(arn) = mapping.resource_arn() else {
                continue;
            };
            let id = mapping
                .tags()
                .iter()
                .find(|t| t.key() == OWNER_ID_TAG)
                .map(|t| t.value().to_string());
            let Some(Ok(address)) = id.map(|i| i.parse::<Address>()) else {
                continue;
            };
            let name = match address.kind {
                Kind::Table => arn.split_once(":table/").map(|(_, n)| n.to_string()),
                Kind::Bucket => arn.strip_prefix("arn:").and_then(|rest| {
                    let parts: Vec<&str> = rest.splitn(5, ':').collect();
                    (parts.len() == 5 && parts[1] == "s3").then(|| parts[4].to_string())
                }),
                // OpenSearch Service domains (CloudSearch has no tags).
                Kind::Search => arn
                    .split_once(":domain/")
                    .filter(|(head, _)| head.contains(":es:"))
                    .map(|(_, n)| n.to_string()),
                _ => None,
            };
            if let Some(name) = name.filter(|n| !n.is_empty() && !n.contains('/')) {
                found.push((address, name));
            }
        }
        token = out
            .pagination_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// For kinds whose names are not unique (user pools, identity pools): of the
/// `listed` (id, name) pairs, describes those named `name` and keeps the one
/// whose ownership tags say it is `address` of `stack`. Same-named resources
/// that are not ours are not conflicts (names are not unique) and are left
/// alone; two that claim to be ours are an error, never a guess.
///
/// When none is ours and the target has `adopt = "<id>"`, the resource with
/// that id is described instead: untagged, it is [`Ownership::Adopting`];
/// tagged by mobile-backend, not ours (a conflict); missing, an error.
pub async fn find_one_ours<T, D, Fut>(
    noun: &str,
    listed: Vec<(String, String)>,
    target: &Target<'_>,
    describe: D,
    tags: fn(&T) -> Tags,
) -> Result<Option<(String, T, Ownership)>, Error>
where
    D: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, Error>>,
{
    let candidates: Vec<String> = listed
        .into_iter()
        .filter(|(_, n)| n == target.name)
        .map(|(id, _)| id)
        .collect();
    let described =
        futures::future::join_all(candidates.iter().map(|id| describe(id.clone()))).await;
    let mut ours = Vec::new();
    for (id, d) in candidates.into_iter().zip(described) {
        if let Some(found) = d? {
            if Ownership::from_tags(&tags(&found), target.stack, target.address) == Ownership::Ours
            {
                ours.push((id, found));
            }
        }
    }
    if ours.len() > 1 {
        let ids: Vec<&str> = ours.iter().map(|(id, _)| id.as_str()).collect();
        return Err(Error::Refused(format!(
            "{} {noun}s named `{}` claim to be `{}` of this stack ({}); remove the ownership tags from the ones that are not, then plan again",
            ours.len(),
            target.name,
            target.address,
            ids.join(", ")
        )));
    }
    if let Some((id, found)) = ours.pop() {
        return Ok(Some((id, found, Ownership::Ours)));
    }
    let Some(id) = target.adopt else {
        return Ok(None);
    };
    let Some(found) = describe(id.to_string()).await? else {
        return Err(adopt_missing(target, id));
    };
    let found_tags = tags(&found);
    let ownership = if untagged(&found_tags) {
        Ownership::Adopting { id: id.to_string() }
    } else {
        let Ownership::NotOurs { why } =
            Ownership::from_tags(&found_tags, target.stack, target.address)
        else {
            // Ours by its tags under another name: found as a leftover
            // (renamed), as without `adopt`.
            return Ok(None);
        };
        Ownership::NotOurs {
            why: format!("{why}; `adopt` never takes a resource tagged by mobile-backend for another stack or address"),
        }
    };
    Ok(Some((id.to_string(), found, ownership)))
}

/// For kinds whose names are not unique: the leftovers this stack owns among
/// the `listed` (id, name) pairs whose name starts with `prefix` (the stack's
/// default names) and is none of the declared `names` (those are read
/// directly). A removed resource with a custom name outside the prefix is not
/// found.
pub async fn find_owned_leftovers<T, D, Fut>(
    stack: &Stack,
    kind: Kind,
    prefix: &str,
    names: &[String],
    listed: Vec<(String, String)>,
    describe: D,
    tags: fn(&T) -> Tags,
) -> Result<Vec<(Address, String)>, Error>
where
    D: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, Error>>,
{
    let candidates: Vec<(String, String)> = listed
        .into_iter()
        .filter(|(_, n)| n.starts_with(prefix) && !names.contains(n))
        .collect();
    let described =
        futures::future::join_all(candidates.iter().map(|(id, _)| describe(id.clone()))).await;
    let mut found = Vec::new();
    for ((_, name), d) in candidates.into_iter().zip(described) {
        let Some(resource) = d? else { continue };
        let tags = tags(&resource);
        if tags.get(OWNER_STACK_TAG) != Some(&stack.name) {
            continue;
        }
        if let Some(Ok(address)) = tags.get(OWNER_ID_TAG).map(|i| i.parse::<Address>()) {
            if address.kind == kind && address.part.is_none() {
                found.push((address, name));
            }
        }
    }
    Ok(found)
}

/// Tags to add or change, and keys to remove, to go from `live` to `desired`.
pub fn tag_changes(desired: &Tags, live: &Tags) -> (Tags, Vec<String>) {
    let set: Tags = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = live
        .keys()
        .filter(|k| !desired.contains_key(*k))
        .cloned()
        .collect();
    (set, remove)
}

/// Polls `check` until it reports done, printing each new state once.
/// `check` returns `Continue(state)` while waiting and `Break(value)` when done.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: std::time::Duration,
    mut check: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<ControlFlow<T, String>, Error>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    let mut last: Option<String> = None;
    loop {
        match check().await? {
            ControlFlow::Break(value) => return Ok(value),
            ControlFlow::Continue(state) => {
                if last.as_deref() != Some(state.as_str()) {
                    eprintln!("  {what}: {state}, waiting");
                    last = Some(state);
                }
            }
        }
        if start.elapsed() >= timeout {
            return Err(Error::Wait(format!(
                "{what}: still {} after {}s; run `up` again to resume waiting",
                last.unwrap_or_default(),
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provisioned_kind_classifies_unique_attributes_including_tags_and_name() {
        for kind in ResourceType::ALL.iter().filter(|k| k.provisioned()) {
            let classes = kind.attribute_classes();
            let mut names: Vec<&str> = classes.iter().map(|(n, _)| *n).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{kind}: duplicate attribute");
            assert!(!names.is_empty(), "{kind}: no attributes classified");
            // Parts (clients, groups, role attachments) cannot be tagged.
            let part = matches!(
                kind,
                ResourceType::UserPoolClient
                    | ResourceType::UserPoolGroup
                    | ResourceType::IdentityPoolRoles
            );
            if !part {
                assert!(names.contains(&"tags"), "{kind}: tags");
                assert_eq!(
                    kind.change_of("name"),
                    Change::Replace,
                    "{kind}: name forces replacement"
                );
            }
        }
    }

    #[test]
    fn defaulted_paths_name_attributes_the_stack_can_set() {
        for kind in ResourceType::ALL {
            for path in kind.defaulted() {
                let top = path.split('.').next().unwrap_or(path);
                assert!(
                    kind.attribute_classes().iter().any(|(n, _)| *n == top),
                    "{kind}: `{path}` is not under a classified attribute"
                );
                assert_ne!(
                    kind.change_of(top),
                    Change::Computed,
                    "{kind}: `{path}` is computed already"
                );
                assert!(kind.is_defaulted(path), "{kind}: `{path}`");
            }
        }
    }

    #[test]
    fn defaulted_paths_match_whole_segments_and_a_star_any_one_key() {
        assert!(path_matches("a", "a"));
        assert!(path_matches("a.b", "a.b"));
        assert!(path_matches(
            "plans.*.quota.offset",
            "plans.mobile.quota.offset"
        ));
        assert!(!path_matches("plans.*.quota.offset", "plans.quota.offset"));
        assert!(!path_matches("plans.*.quota", "plans.mobile.quota.offset"));
        assert!(!path_matches("a", "ab"));
        assert!(!path_matches("a.b", "a"));
        let kind = ResourceType::UserPool;
        assert!(kind.is_defaulted("email_verification_message"));
        assert!(!kind.is_defaulted("mfa"));
    }

    #[test]
    fn ownership_needs_both_tags() {
        let address: Address = "table.notes".parse().unwrap();
        let mut tags = Tags::new();
        assert!(matches!(
            Ownership::from_tags(&tags, "s", &address),
            Ownership::NotOurs { .. }
        ));
        tags.insert(OWNER_STACK_TAG.into(), "s".into());
        assert!(matches!(
            Ownership::from_tags(&tags, "s", &address),
            Ownership::NotOurs { .. }
        ));
        tags.insert(OWNER_ID_TAG.into(), "table.other".into());
        assert!(matches!(
            Ownership::from_tags(&tags, "s", &address),
            Ownership::NotOurs { .. }
        ));
        tags.insert(OWNER_ID_TAG.into(), "table.notes".into());
        assert_eq!(Ownership::from_tags(&tags, "s", &address), Ownership::Ours);
        assert!(matches!(
            Ownership::from_tags(&tags, "t", &address),
            Ownership::NotOurs { .. }
        ));
    }

    #[test]
    fn tag_changes_set_and_remove_only_differences() {
        let live: Tags = [("a", "1"), ("b", "2"), ("c", "3")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let desired: Tags = [("a", "1"), ("b", "9"), ("d", "4")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (set, remove) = tag_changes(&desired, &live);
        assert_eq!(set.keys().collect::<Vec<_>>(), vec!["b", "d"]);
        assert_eq!(remove, vec!["c".to_string()]);
    }
}
