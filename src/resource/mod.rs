//! Resource kinds: one file per kind, each with find/read, create, update and
//! delete, its waits, and which attributes force replacement. This module
//! dispatches on the kind and holds what all kinds share.

pub(crate) mod api;
pub(crate) mod api_export;
pub(crate) mod api_models;
pub(crate) mod api_routes;
#[cfg(test)]
mod aws_defaults;
pub(crate) mod bucket;
pub(crate) mod cdn;
pub(crate) mod cdn_bucket_policy;
pub(crate) mod flight;
pub(crate) mod function;
pub(crate) mod function_code;
pub(crate) mod function_triggers;
pub(crate) mod identity_pool;
pub(crate) mod identity_pool_roles;
pub(crate) mod lambda_permission;
pub(crate) mod registry;
pub(crate) mod retry;
pub(crate) mod role;
pub(crate) mod search;
pub(crate) mod search_cloudsearch;
pub(crate) mod search_opensearch;
pub(crate) mod table;
pub(crate) mod user_pool;
pub(crate) mod user_pool_client;
pub(crate) mod user_pool_group;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Aws;
use crate::stack::reference::Reference;
pub(crate) use registry::{
    delete_blocker, desired_attributes, read_secrets, Kind, ResourceType, Spec, Step,
};

use crate::stack::{Address, Lookup, Stack, Tags, OWNER_ID_TAG, OWNER_STACK_TAG};

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

impl ResourceType {
    /// Whether the attribute at `path` (`scaling.instance_type`) is one AWS
    /// fills in when the stack leaves it unset: a plan never shows it
    /// changing to nothing.
    pub(crate) fn is_defaulted(self, path: &str) -> bool {
        self.defaulted().iter().any(|p| path_matches(p, path))
    }

    /// How an attribute changes. Every field of a kind's typed
    /// configuration is classified (the registry's tests check it); one
    /// that were not would be planned as a replacement, which a kind holding
    /// data refuses without `--allow-replace`, never as a silent update.
    pub(crate) fn change_of(self, attribute: &str) -> Change {
        self.attribute_classes()
            .iter()
            .find(|(name, _)| *name == attribute)
            .map(|(_, c)| *c)
            .unwrap_or(Change::Replace)
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
pub(crate) type Outputs = BTreeMap<String, String>;

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
    /// The stack file's directory, which the paths of `spec` are relative
    /// to (a function's `source`); `None` without a stack file (`adopt`'s
    /// scan) and for leftovers.
    pub dir: Option<&'a std::path::Path>,
    /// What a read made for a plan shares with the plan's other reads (the
    /// tagging API's listing, lists read once per plan), and the tags the
    /// stack wants on the resource; `None` outside a plan.
    pub plan: Option<PlanTarget<'a>>,
}

/// What a read made for a plan gets besides its target: the plan's
/// [`PlanReads`], and the tags the stack wants on the resource (for
/// [`tags_as_listed`]; `None` for parts and for `destroy`).
#[derive(Clone, Copy)]
pub struct PlanTarget<'a> {
    pub reads: &'a PlanReads,
    pub desired_tags: Option<&'a Tags>,
}

/// The resource's tags, when the plan's Resource Groups Tagging API
/// listing reports the resource at `arn` with exactly the tags the stack
/// wants (the converged case); `None` means: read them from the
/// resource's own service, as without the listing.
///
/// The listing is a shortcut, never the authority. AWS documents
/// `GetResources` as returning "tagged or previously tagged" resources,
/// and it is eventually consistent: it is known to go on reporting
/// deleted resources for a while (aws/aws-sdk#676, aws/aws-cli#4173),
/// and a tag change reaches it after a delay. So it is used only one
/// way: a resource it does not report, or reports with other tags, is
/// read from its service exactly as before; being stale can then cost
/// an extra read, never a false diff and never a false "not ours". Only a
/// resource it reports with the very tags the stack wants skips its own
/// tag read; the rest of the resource is still read from its service
/// (a deleted one is found missing there). What remains is a change to
/// those tags made in the last moments, which the listing may not show
/// yet: the plan is then the one a plan made a moment earlier would
/// have been; the next plan sees it. `destroy` never takes the shortcut,
/// as deleting is decided by ownership.
pub(crate) async fn tags_as_listed(
    plan: Option<PlanTarget<'_>>,
    aws: &Aws,
    arn: &str,
) -> Option<Tags> {
    let plan = plan?;
    let desired = plan.desired_tags?;
    let Ok(listed) = plan.reads.tagging(aws).await else {
        // Denied or failed: the search for leftovers reports it; reads
        // just read the tags themselves.
        return None;
    };
    listed
        .iter()
        .any(|(a, tags)| a == arn && tags == desired)
        .then(|| desired.clone())
}

/// What the reads of one plan share, for as long as they run:
///
/// - the stack's resources as one paged Resource Groups Tagging API
///   `GetResources` (tag filter `mobile-backend:stack` = the stack's name)
///   reports them, as (ARN, tags): asked once, by whichever read needs it
///   first, and shared by the search for resources the stack no longer
///   declares ([`find_tagged`]) and by the reads that take it as a shortcut
///   for their own tag read ([`tags_as_listed`]);
/// - lists a resource's read starts for its parts before it knows the
///   resource is ours, so that the parts' reads need not wait for one more
///   round trip (a user pool's clients): [`plan_shared`].
pub struct PlanReads {
    stack: String,
    /// How many resources of each kind the stack declares: a kind may read
    /// many of its resources at once (one account-wide call) rather than
    /// one by one when the stack declares enough of them.
    declared: BTreeMap<Kind, usize>,
    tagging: tokio::sync::OnceCell<Result<Vec<(String, Tags)>, Error>>,
    lists: std::sync::Mutex<Lists>,
}

type Lists = std::collections::HashMap<String, std::sync::Arc<dyn std::any::Any + Send + Sync>>;

impl PlanReads {
    /// The reads of a plan of `stack`, which declares `declared` (resources
    /// and parts).
    pub fn new<'a>(stack: &str, declared: impl IntoIterator<Item = &'a Address>) -> PlanReads {
        let mut counts = BTreeMap::new();
        for address in declared.into_iter().filter(|a| a.part.is_none()) {
            *counts.entry(address.kind).or_default() += 1;
        }
        PlanReads {
            stack: stack.to_string(),
            declared: counts,
            tagging: tokio::sync::OnceCell::new(),
            lists: std::sync::Mutex::default(),
        }
    }

    /// How many resources of `kind` the stack declares.
    pub(crate) fn declared(&self, kind: Kind) -> usize {
        self.declared.get(&kind).copied().unwrap_or(0)
    }

    /// Reads whose tagging API listing is already answered (tests).
    #[cfg(test)]
    pub(crate) fn answered(stack: &str, listed: Vec<(String, Tags)>) -> PlanReads {
        PlanReads {
            tagging: tokio::sync::OnceCell::new_with(Some(Ok(listed))),
            ..PlanReads::new(stack, [])
        }
    }

    /// Every page of the tagging API's listing, asked for once (or taken
    /// from [`warm`]).
    pub(crate) async fn tagging(&self, aws: &Aws) -> &Result<Vec<(String, Tags)>, Error> {
        self.tagging
            .get_or_init(|| tagged_resources(aws, &self.stack))
            .await
    }

    /// The answer of `read`, asked once per plan for `key` and kept until
    /// the plan's reads end.
    async fn list<T, F, Fut>(&self, key: &str, read: F) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        let cell = {
            let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
            let entry = lists.entry(key.to_string()).or_insert_with(|| {
                std::sync::Arc::new(tokio::sync::OnceCell::<Result<T, Error>>::new())
            });
            std::sync::Arc::clone(entry).downcast::<tokio::sync::OnceCell<Result<T, Error>>>()
        };
        match cell {
            Ok(cell) => cell.get_or_init(read).await.clone(),
            // The same key for another type: a programming slip; do not share.
            Err(_) => read().await,
        }
    }
}

/// A list a plan's reads share: asked once per plan (and kept while the
/// plan's reads run) when `plan` is given, so that a resource's read may
/// start its parts' list before they ask for it; otherwise shared only by
/// the reads in flight at once ([`flight::shared`]).
pub(crate) async fn plan_shared<T, F, Fut>(
    plan: Option<PlanTarget<'_>>,
    aws: &Aws,
    key: &str,
    read: F,
) -> Result<T, Error>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    match plan {
        Some(plan) => plan.reads.list(key, read).await,
        None => flight::shared(aws, key, read).await,
    }
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
            (Some(o), _) if o != stack => format!(
                "it belongs to stack `{o}` (if that is another stage of this stack, give the resource a name per stage: include `${{stack.stage}}` in its `name`)"
            ),
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
pub(crate) fn untagged(tags: &Tags) -> bool {
    !tags.keys().any(|k| k.starts_with(OWNER_TAG_PREFIX))
}

/// The prefix of the ownership tags.
pub(crate) const OWNER_TAG_PREFIX: &str = "mobile-backend:";

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

/// Reads a step by its physical name (and its parent's outputs); `None`
/// when it does not exist.
pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let live = registry::read_step(aws, target).await?;
    if target.address.part.is_none() && target.address.kind.adopts_by_name() {
        return claim_by_name(target, live);
    }
    Ok(live)
}

/// Creates a step; returns its outputs.
pub(crate) async fn create(
    aws: &Aws,
    desired: &Desired,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    registry::create_step(aws, desired, parent).await
}

/// Brings a live step to the desired attributes; returns its outputs.
pub(crate) async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
    parent: Option<&Outputs>,
) -> Result<Outputs, Error> {
    registry::update_step(aws, desired, live, parent).await
}

/// Deletes a live step (which must be ours).
pub(crate) async fn delete(aws: &Aws, live: &Live, options: ApplyOptions) -> Result<(), Error> {
    if live.ownership != Ownership::Ours {
        return Err(Error::Refused(format!(
            "`{}` ({}) is not owned by this stack; it is never deleted",
            live.address, live.physical_name
        )));
    }
    registry::delete_step(aws, live, options).await
}

/// Every resource AWS reports as tagged with this stack's name, as
/// (address, physical name). This finds what a stack owns but no longer
/// declares; each one found is read again and its tags checked before use.
/// `reads` holds the plan's one tagging API listing, shared with the reads.
pub(crate) async fn find_tagged(
    aws: &Aws,
    stack: &Stack,
    declared_names: &[String],
    reads: &PlanReads,
) -> Result<Vec<(Address, String)>, Error> {
    // The tagging API covers tables, buckets and OpenSearch domains; the
    // other kinds are listed by their own services (IAM is not in the tagging
    // API at all; identity pools are not returned by it everywhere).
    let (tagged, owned) = tokio::join!(
        reads.tagging(aws),
        futures::future::join_all(Kind::ALL.iter().map(|kind| kind.find_owned(
            aws,
            stack,
            declared_names
        )))
    );
    let mut found = owned_by_arn(tagged.clone()?);
    for of_kind in owned {
        found.extend(of_kind?);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Of the tagging API's (ARN, tags), those that name their address, as
/// (address, physical name).
fn owned_by_arn(listed: Vec<(String, Tags)>) -> Vec<(Address, String)> {
    let mut found = Vec::new();
    for (arn, tags) in listed {
        let Some(Ok(address)) = tags.get(OWNER_ID_TAG).map(|i| i.parse::<Address>()) else {
            continue;
        };
        let name = address.kind.tagged_name(&arn);
        if let Some(name) = name.filter(|n| !n.is_empty() && !n.contains('/')) {
            found.push((address, name));
        }
    }
    found.sort();
    found.dedup();
    found
}

/// [`get_resources`], shared by the reads in flight (and while a plan
/// reads, kept for it: [`flight::retain`]).
async fn tagged_resources(aws: &Aws, stack: &str) -> Result<Vec<(String, Tags)>, Error> {
    let key = format!("tagging:GetResources {stack}");
    flight::shared(aws, &key, || get_resources(aws, stack)).await
}

/// Asks, while STS is asked who we are, for what a plan of `stack` reads
/// first and which needs no account id: the tagging API's listing of the
/// stack and each kind's account-wide listings (user pools, identity pools,
/// REST APIs, roles, distributions...). Their answers are kept for the
/// plan's reads by the caller's [`flight::retain`], so that the reads start
/// one round trip later than STS at most, not two. Errors are left for the
/// reads to report.
pub(crate) async fn warm(aws: &Aws, stack: &Stack) {
    let mut declared: BTreeMap<Kind, usize> = BTreeMap::new();
    for address in stack.resources.keys() {
        *declared.entry(address.kind).or_default() += 1;
    }
    let kinds = Kind::ALL
        .iter()
        .map(|kind| kind.warm(aws, declared.get(kind).copied().unwrap_or(0)));
    let _ = tokio::join!(
        tagged_resources(aws, &stack.name),
        futures::future::join_all(kinds)
    );
}

/// Every page of `GetResources` for the stack's tag, as (ARN, tags).
async fn get_resources(aws: &Aws, stack: &str) -> Result<Vec<(String, Tags)>, Error> {
    get_resources_tagged(aws, Some(stack)).await
}

/// Every page of `GetResources` for the ownership tag `mobile-backend:stack`
/// with the value `stack` (any value: `None`), as (ARN, tags).
async fn get_resources_tagged(
    aws: &Aws,
    stack: Option<&str>,
) -> Result<Vec<(String, Tags)>, Error> {
    all_pages(|token| async move {
        let out = aws
            .tagging
            .get_resources()
            .tag_filters(
                aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                    .key(OWNER_STACK_TAG)
                    .set_values(stack.map(|s| vec![s.to_string()]))
                    .build(),
            )
            // The most a page may hold: fewer pages, one after the other.
            .resources_per_page(100)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("tagging:GetResources", &e))?;
        let listed = out
            .resource_tag_mapping_list()
            .iter()
            .filter_map(|mapping| {
                let tags = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                Some((mapping.resource_arn()?.to_string(), tags))
            })
            .collect();
        Ok((listed, out.pagination_token))
    })
    .await
}

/// Every value of the `mobile-backend:stack` tag that the tagging API reports
/// in this account and region: the stacks (and stages) that own a table, a
/// bucket or another resource it covers. A shortcut for `stages`; kinds it
/// does not cover are found by each stage's own reads.
pub(crate) async fn stack_tag_values(aws: &Aws) -> Result<BTreeSet<String>, Error> {
    Ok(get_resources_tagged(aws, None)
        .await?
        .into_iter()
        .filter_map(|(_, mut tags)| tags.remove(OWNER_STACK_TAG))
        .collect())
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
pub(crate) async fn find_one_ours<T, D, Fut>(
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
pub(crate) async fn find_owned_leftovers<T, D, Fut>(
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
    let mut tagged = Vec::new();
    for ((_, name), d) in candidates.into_iter().zip(described) {
        if let Some(resource) = d? {
            tagged.push((name, tags(&resource)));
        }
    }
    Ok(owned_by_tags(stack, kind, tagged))
}

/// Of resources listed with their tags, as (name, tags), those whose
/// ownership tags say they are a `kind` of this stack, as (address, name).
pub(crate) fn owned_by_tags(
    stack: &Stack,
    kind: Kind,
    tagged: impl IntoIterator<Item = (String, Tags)>,
) -> Vec<(Address, String)> {
    tagged
        .into_iter()
        .filter(|(_, tags)| tags.get(OWNER_STACK_TAG) == Some(&stack.name))
        .filter_map(|(name, tags)| {
            let address: Address = tags.get(OWNER_ID_TAG)?.parse().ok()?;
            (address.kind == kind && address.part.is_none()).then_some((address, name))
        })
        .collect()
}

/// Every page of a paginated AWS list. `page` reads the page at a token
/// (none for the first) and returns its items and the next token; an absent
/// or empty token ends the list.
pub(crate) async fn all_pages<T, F, Fut>(page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), Error>>,
{
    pages(page).await
}

/// Why a page of a resource's own list was not read.
pub(crate) enum PageError {
    /// The resource whose list it is does not exist.
    Gone,
    Failed(Error),
}

impl PageError {
    /// `Gone` for AWS's `gone_code`, otherwise the error of `operation`.
    pub(crate) fn of<E, R>(
        operation: &'static str,
        gone_code: &str,
        err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> PageError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if crate::aws::error_code(err) == Some(gone_code) {
            PageError::Gone
        } else {
            PageError::Failed(Error::aws(operation, err))
        }
    }
}

/// Every page of a resource's own list (a role's policies, a pool's
/// clients); `None` when the resource does not exist.
pub(crate) async fn all_pages_unless_gone<T, F, Fut>(page: F) -> Result<Option<Vec<T>>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), PageError>>,
{
    match pages(page).await {
        Ok(items) => Ok(Some(items)),
        Err(PageError::Gone) => Ok(None),
        Err(PageError::Failed(e)) => Err(e),
    }
}

async fn pages<T, E, F, Fut>(mut page: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (got, next) = page(token).await?;
        items.extend(got);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(items);
        }
    }
}

/// Tags to add or change, and keys to remove, to go from `live` to `desired`.
pub(crate) fn tag_changes(desired: &Tags, live: &Tags) -> (Tags, Vec<String>) {
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
pub(crate) async fn wait_for<T, F, Fut>(
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
                    crate::progress::state(&format!("  {what}: {state}, waiting"), &state);
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
    fn every_step_type_classifies_unique_attributes_including_tags_and_name() {
        for kind in ResourceType::ALL {
            let classes = kind.attribute_classes();
            let mut names: Vec<&str> = classes.iter().map(|(n, _)| *n).collect();
            names.sort();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{kind}: duplicate attribute");
            assert!(!names.is_empty(), "{kind}: no attributes classified");
            // Parts (clients, groups, role attachments) cannot be tagged.
            if !kind.is_part() {
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

    #[tokio::test]
    async fn all_pages_follows_tokens_until_none_or_empty_and_a_gone_resource_is_none() {
        let pages = |token: Option<String>| async move {
            Ok(match token.as_deref() {
                None => (vec![1, 2], Some("b".to_string())),
                Some("b") => (vec![3], Some(String::new())),
                other => panic!("asked for page {other:?}"),
            })
        };
        assert_eq!(all_pages(pages).await.unwrap(), vec![1, 2, 3]);
        let gone = |_| async { Err::<(Vec<u8>, Option<String>), _>(PageError::Gone) };
        assert!(all_pages_unless_gone(gone).await.unwrap().is_none());
        let failed = |_| async {
            Err::<(Vec<u8>, Option<String>), _>(PageError::Failed(Error::Refused("no".into())))
        };
        assert!(all_pages_unless_gone(failed).await.is_err());
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
