//! PURE: (desired, live) → [`Plan`]. No I/O, no async, no clock.
//!
//! The choice of action per resource is a small function of what the stack
//! wants and what AWS has; every attribute difference is listed, with the ones
//! that force replacement. `apply` and `render` consume only the plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resource::{Change, Desired, Live, Ownership, ResourceType};
use crate::stack::reference::UNKNOWN;
use crate::stack::Address;

/// Version of the JSON plan document (`plan --json`, `plan --out`).
pub(crate) const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// Make AWS match the stack.
    Apply,
    /// Delete everything the stack owns.
    Destroy,
}

/// The closed set of actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    /// Terraform's encoding: a replace is a delete and a create, so scripts
    /// that scan for deletes find it.
    pub(crate) fn as_list(self) -> Vec<&'static str> {
        match self {
            Action::NoOp => vec!["no-op"],
            Action::Create => vec!["create"],
            Action::Update => vec!["update"],
            Action::Replace => vec!["delete", "create"],
            Action::Delete => vec!["delete"],
        }
    }
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AttributeChange {
    /// `versioning`, `tags.team`, `global_secondary_indexes.by_date`.
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub forces_replacement: bool,
    /// The new value is only known once `up` has run.
    pub after_unknown: bool,
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResourceChange {
    pub address: Address,
    pub physical_name: String,
    pub action: Action,
    /// For a replace caused by a rename: the name being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_physical_name: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub attribute_changes: Vec<AttributeChange>,
    pub replace_paths: Vec<String>,
    /// Why, for display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub depends_on: Vec<Address>,
    /// A same-named resource that is not ours blocks this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// Set when the change loses data and needs `--allow-replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_allow_replace: Option<String>,
}

impl ResourceChange {
    fn new(address: Address, physical_name: String, action: Action) -> Self {
        ResourceChange {
            address,
            physical_name,
            action,
            previous_physical_name: None,
            before: None,
            after: None,
            attribute_changes: Vec::new(),
            replace_paths: Vec::new(),
            reason: None,
            depends_on: Vec::new(),
            conflict: None,
            requires_allow_replace: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub format_version: String,
    pub stack: String,
    /// The stage (`--stage`) the plan is for; `stack` already includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub mode: Mode,
    /// In the order `apply` would start them (dependencies first; for deletes,
    /// dependents first), the tutorials' kind order breaking ties.
    pub resource_changes: Vec<ResourceChange>,
}

impl Plan {
    pub(crate) fn has_changes(&self) -> bool {
        self.resource_changes
            .iter()
            .any(|c| c.action != Action::NoOp)
    }

    pub(crate) fn count(&self, action: Action) -> usize {
        self.resource_changes
            .iter()
            .filter(|c| c.action == action)
            .count()
    }

    pub(crate) fn conflicts(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resource_changes
            .iter()
            .filter(|c| c.conflict.is_some())
    }

    pub(crate) fn guarded(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resource_changes
            .iter()
            .filter(|c| c.requires_allow_replace.is_some())
    }
}

/// Everything the plan is made from.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub stack: String,
    pub stage: Option<String>,
    pub mode: Mode,
    /// What the stack declares, with references resolved where known.
    pub desired: Vec<Desired>,
    /// The resource found at each desired physical name (`None`: nothing there).
    pub live: BTreeMap<Address, Option<Live>>,
    /// Resources tagged as this stack's that are not at a desired name: removed
    /// from the stack file, or renamed.
    pub tagged_elsewhere: Vec<Live>,
}

pub(crate) fn plan(input: &Input) -> Plan {
    let mut changes: Vec<ResourceChange> = Vec::new();
    let desired_addresses: BTreeSet<&Address> = input.desired.iter().map(|d| &d.address).collect();
    let mut elsewhere: BTreeMap<&Address, Vec<&Live>> = BTreeMap::new();
    for l in &input.tagged_elsewhere {
        if l.ownership == Ownership::Ours {
            elsewhere.entry(&l.address).or_default().push(l);
        }
    }

    for d in &input.desired {
        let at_name = input.live.get(&d.address).cloned().flatten();
        let previous = elsewhere.remove(&d.address).unwrap_or_default();
        let change = match input.mode {
            Mode::Apply => plan_resource(d, at_name.as_ref(), &previous),
            Mode::Destroy => {
                // Delete what is ours at the desired name; a renamed leftover too.
                for p in &previous {
                    changes.push(delete_change(
                        p,
                        "owned by this stack under an earlier name",
                    ));
                }
                match at_name {
                    Some(l) if l.ownership == Ownership::Ours => {
                        let mut c = delete_change(&l, "destroying the stack");
                        c.depends_on = d.depends_on.clone();
                        c
                    }
                    Some(l) => {
                        let mut c = ResourceChange::new(
                            d.address.clone(),
                            d.physical_name.clone(),
                            Action::NoOp,
                        );
                        c.reason =
                            Some(format!("left alone: not owned by this stack ({})", why(&l)));
                        c
                    }
                    None => continue,
                }
            }
        };
        changes.push(change);
    }
    // Ours by tag, but no longer in the stack file.
    for (address, lives) in elsewhere {
        for l in lives {
            let reason = if desired_addresses.contains(address) {
                "owned by this stack under an earlier name"
            } else {
                "no longer in the stack file"
            };
            changes.push(delete_change(l, reason));
        }
    }
    replace_parts_of_replaced(&mut changes);
    let resource_changes = order(changes);
    Plan {
        format_version: FORMAT_VERSION.to_string(),
        stack: input.stack.clone(),
        stage: input.stage.clone(),
        mode: input.mode,
        resource_changes,
    }
}

/// A replaced resource takes its parts with it (a new user pool has none of
/// the old pool's clients and groups; a new identity pool no role
/// attachment): they are created again in the new resource.
fn replace_parts_of_replaced(changes: &mut [ResourceChange]) {
    let replaced: BTreeSet<Address> = changes
        .iter()
        .filter(|c| c.action == Action::Replace && c.address.part.is_none())
        .map(|c| c.address.clone())
        .collect();
    for c in changes.iter_mut() {
        let resource = c.address.resource();
        if c.address.part.is_some()
            && replaced.contains(&resource)
            && matches!(c.action, Action::NoOp | Action::Update)
            && c.conflict.is_none()
        {
            c.action = Action::Replace;
            c.reason = Some(format!(
                "created again in the new `{resource}`, which is replaced"
            ));
        }
    }
}

fn why(live: &Live) -> String {
    match &live.ownership {
        Ownership::Ours => "ours".to_string(),
        Ownership::NotOurs { why } => why.clone(),
        Ownership::Adopting { id } => format!("to be adopted from `{id}`"),
    }
}

fn delete_change(live: &Live, reason: &str) -> ResourceChange {
    let mut c = ResourceChange::new(
        live.address.clone(),
        live.physical_name.clone(),
        Action::Delete,
    );
    c.before = Some(live.attributes.clone());
    c.reason = Some(reason.to_string());
    c
}

/// The action for one declared resource in apply mode.
fn plan_resource(d: &Desired, at_name: Option<&Live>, previous: &[&Live]) -> ResourceChange {
    let mut c = ResourceChange::new(d.address.clone(), d.physical_name.clone(), Action::NoOp);
    c.after = Some(d.attributes.clone());
    c.depends_on = d.depends_on.clone();
    match (at_name, previous) {
        (Some(l), _) if !l.ownership.claimed() => {
            c.action = Action::Create;
            c.conflict = Some(format!(
                "a {} named `{}` already exists and is not owned by this stack ({}); it is never adopted or deleted. Rename yours with `name = \"...\"`, or remove the other one",
                ResourceType::of(&d.address).noun(),
                d.physical_name,
                why(l)
            ));
        }
        (Some(l), []) => {
            c.before = Some(l.attributes.clone());
            c.attribute_changes = diff(ResourceType::of(&d.address), &l.attributes, &d.attributes);
            c.replace_paths = replace_paths(&c.attribute_changes);
            c.action = if !c.replace_paths.is_empty() {
                Action::Replace
            } else if c.attribute_changes.is_empty() {
                Action::NoOp
            } else {
                Action::Update
            };
            if c.action == Action::Replace {
                c.reason = Some(format!(
                    "{} cannot be changed in place",
                    c.replace_paths
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else if c.action == Action::Update {
                let paths: Vec<&str> = c
                    .attribute_changes
                    .iter()
                    .map(|a| a.path.as_str())
                    .collect();
                c.reason = ResourceType::of(&d.address).update_reason(&paths);
            }
            if let Ownership::Adopting { id } = &l.ownership {
                adopting(&mut c, id, ResourceType::of(&d.address));
            }
        }
        (Some(_), others) | (None, others @ [_, _, ..]) => {
            c.action = Action::NoOp;
            let names: Vec<String> = others
                .iter()
                .map(|o| format!("`{}`", o.physical_name))
                .collect();
            c.conflict = Some(format!(
                "more than one {} claims to be `{}` of this stack ({}{}); remove the ownership tags from the ones that are not, then plan again",
                ResourceType::of(&d.address).noun(),
                d.address,
                if at_name.is_some() { format!("`{}`, ", d.physical_name) } else { String::new() },
                names.join(", ")
            ));
        }
        (None, [old]) => {
            // Renamed: the old one is deleted and the new one created.
            c.action = Action::Replace;
            c.previous_physical_name = Some(old.physical_name.clone());
            c.before = Some(old.attributes.clone());
            c.attribute_changes =
                diff(ResourceType::of(&d.address), &old.attributes, &d.attributes);
            c.replace_paths = vec!["name".to_string()];
            c.reason = Some(format!(
                "the name changed from `{}` to `{}`",
                old.physical_name, d.physical_name
            ));
        }
        (None, []) => c.action = Action::Create,
    }
    if c.action == Action::Replace
        && ResourceType::of(&d.address).holds_data()
        && c.conflict.is_none()
    {
        c.requires_allow_replace = Some(
            ResourceType::of(&d.address).data_loss(
                c.previous_physical_name
                    .as_deref()
                    .unwrap_or(&d.physical_name),
            ),
        );
    }
    c
}

/// An adopted resource (`adopt = "<id>"`, made outside the tool) is updated in
/// place, its ownership tags added; it is never replaced: a difference that
/// would replace it is a conflict the user resolves in the stack file.
fn adopting(c: &mut ResourceChange, id: &str, kind: ResourceType) {
    match c.action {
        Action::Replace => {
            c.conflict = Some(format!(
                "`adopt = \"{id}\"`: the existing {} differs in {}, which cannot be changed in place, and adopting never replaces a resource. Make the stack file match it (`mobile-backend adopt` writes what it has)",
                kind.noun(),
                c.replace_paths
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            c.action = Action::NoOp;
            c.reason = Some(format!("not adopted: it would replace `{id}`"));
        }
        Action::Update => {
            let adopt =
                format!("adopting `{id}` (made outside this tool): the ownership tags are added");
            c.reason = Some(match c.reason.take() {
                Some(other) => format!("{adopt}; {other}"),
                None => adopt,
            });
        }
        _ => {}
    }
}

fn replace_paths(changes: &[AttributeChange]) -> Vec<String> {
    let mut paths: Vec<String> = changes
        .iter()
        .filter(|c| c.forces_replacement)
        .map(|c| top_level(&c.path).to_string())
        .collect();
    paths.dedup();
    paths
}

fn top_level(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// Empty list, empty map and absent are the same (AWS and emulators differ).
fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// Whether one side leaves an attribute unset: absent, null, or an empty
/// string, list or map.
fn unset(v: Option<&Value>) -> bool {
    is_empty(v) || matches!(v, Some(Value::String(s)) if s.is_empty())
}

/// Whether any string inside `v` holds a value not known yet.
pub(crate) fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(UNKNOWN),
        Value::Array(a) => a.iter().any(contains_unknown),
        Value::Object(o) => o.values().any(contains_unknown),
        _ => false,
    }
}

/// Every attribute that differs between `live` and `desired`, in the kind's
/// attribute order, maps expanded one key at a time. An attribute (or map
/// key) the kind declares AWS-defaulted ([`ResourceType::is_defaulted`])
/// and the stack leaves unset never differs: AWS filled it in.
pub(crate) fn diff(kind: ResourceType, live: &Value, desired: &Value) -> Vec<AttributeChange> {
    let empty = serde_json::Map::new();
    let live_map = live.as_object().unwrap_or(&empty);
    let desired_map = desired.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = live_map.keys().chain(desired_map.keys()).collect();
    let rank = |k: &str| {
        kind.attribute_classes()
            .iter()
            .position(|(n, _)| *n == k)
            .unwrap_or(usize::MAX)
    };
    keys.sort_by(|a, b| (rank(a), *a).cmp(&(rank(b), *b)));
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let forces = kind.change_of(key) == Change::Replace;
        if kind.change_of(key) == Change::Computed {
            continue;
        }
        diff_value(
            kind,
            key,
            live_map.get(key),
            desired_map.get(key),
            forces,
            &mut out,
        );
    }
    out
}

fn diff_value(
    kind: ResourceType,
    path: &str,
    before: Option<&Value>,
    after: Option<&Value>,
    forces: bool,
    out: &mut Vec<AttributeChange>,
) {
    if is_empty(before) && is_empty(after) {
        return;
    }
    // Optional and computed: the stack says nothing, so what AWS filled in
    // (its default, or a value set outside the stack) is not a change.
    if unset(after) && kind.is_defaulted(path) {
        return;
    }
    let unknown = after.is_some_and(contains_unknown);
    if !unknown && before == after {
        return;
    }
    // Maps on both sides are compared key by key, so a plan shows `tags.team`.
    if let (Some(Value::Object(b)), Some(Value::Object(a))) = (before, after) {
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            diff_value(
                kind,
                &format!("{path}.{k}"),
                b.get(k),
                a.get(k),
                forces,
                out,
            );
        }
        return;
    }
    out.push(AttributeChange {
        path: path.to_string(),
        before: before.filter(|v| !is_empty(Some(v))).cloned(),
        after: after.filter(|v| !is_empty(Some(v))).cloned(),
        forces_replacement: forces,
        after_unknown: unknown,
    });
}

/// Orders changes so that `apply` can start them in sequence: creates and
/// updates after what they depend on, deletes before what they depend on.
fn order(changes: Vec<ResourceChange>) -> Vec<ResourceChange> {
    let addresses: BTreeSet<Address> = changes.iter().map(|c| c.address.clone()).collect();
    // Rank by a depth-first topological walk over declared dependencies.
    let deps: BTreeMap<&Address, Vec<&Address>> = changes
        .iter()
        .map(|c| {
            (
                &c.address,
                c.depends_on
                    .iter()
                    .filter(|d| addresses.contains(*d))
                    .collect(),
            )
        })
        .collect();
    let mut depth: BTreeMap<&Address, usize> = BTreeMap::new();
    fn depth_of<'a>(
        a: &'a Address,
        deps: &BTreeMap<&'a Address, Vec<&'a Address>>,
        memo: &mut BTreeMap<&'a Address, usize>,
        guard: &mut BTreeSet<&'a Address>,
    ) -> usize {
        if let Some(d) = memo.get(a) {
            return *d;
        }
        if !guard.insert(a) {
            return 0; // cycles are rejected by validation; never loop here
        }
        let d = deps
            .get(a)
            .map(|ds| {
                ds.iter()
                    .map(|x| depth_of(x, deps, memo, guard) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        memo.insert(a, d);
        d
    }
    for c in &changes {
        depth_of(&c.address, &deps, &mut depth, &mut BTreeSet::new());
    }
    let depth: BTreeMap<Address, usize> = depth.into_iter().map(|(a, d)| (a.clone(), d)).collect();
    let mut changes = changes;
    changes.sort_by(|a, b| {
        let key = |c: &ResourceChange| {
            let d = depth.get(&c.address).copied().unwrap_or(0);
            // Deletes run dependents first: deeper first.
            let d = if c.action == Action::Delete {
                usize::MAX - d
            } else {
                d
            };
            (
                c.action == Action::Delete,
                d,
                c.address.clone(),
                c.physical_name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    changes
}

pub(crate) mod fingerprint;

#[cfg(test)]
mod tests;
