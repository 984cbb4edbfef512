//! The plan as a stable, versioned JSON document (`plan --json`). Field names
//! follow Terraform's JSON plan where they mean the same thing, so CI scripts
//! that scan `resource_changes[].change.actions` for `"delete"` work here too.

use serde::Serialize;
use serde_json::Value;

use crate::plan::fingerprint::Fingerprint;
use crate::plan::{Action, AttributeChange, Plan};
use crate::stack::reference::UNKNOWN;

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'a str,
    stack: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<&'a str>,
    mode: crate::plan::Mode,
    resource_changes: Vec<Change<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Summary {
    create: usize,
    update: usize,
    replace: usize,
    delete: usize,
    conflicts: usize,
}

#[derive(Serialize)]
struct Change<'a> {
    address: String,
    kind: &'static str,
    key: &'a str,
    physical_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_physical_name: Option<&'a str>,
    change: Detail,
    replace_paths: &'a [String],
    reason: Option<&'a str>,
    depends_on: Vec<String>,
    conflict: Option<&'a str>,
    requires_allow_replace: Option<&'a str>,
}

#[derive(Serialize)]
struct Detail {
    actions: Vec<&'static str>,
    before: Option<Value>,
    after: Option<Value>,
    /// Paths in `after` whose value is only known after apply (they are null in `after`).
    after_unknown: Vec<String>,
    attributes: Vec<Attribute>,
}

#[derive(Serialize)]
struct Attribute {
    path: String,
    before: Option<Value>,
    after: Option<Value>,
    after_unknown: bool,
    forces_replacement: bool,
}

/// Replaces unknown values with null and lists their paths.
fn known(v: &Value, path: &str, unknown: &mut Vec<String>) -> Value {
    match v {
        Value::String(s) if s.contains(UNKNOWN) => {
            unknown.push(path.to_string());
            Value::Null
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, x)| known(x, &format!("{path}[{i}]"), unknown))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    (k.clone(), known(x, &p, unknown))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn attribute(a: &AttributeChange) -> Attribute {
    let mut ignored = Vec::new();
    Attribute {
        path: a.path.clone(),
        before: a.before.clone(),
        after: a.after.as_ref().map(|v| known(v, "", &mut ignored)),
        after_unknown: a.after_unknown,
        forces_replacement: a.forces_replacement,
    }
}

pub(crate) fn document(plan: &Plan) -> Value {
    let resource_changes = plan
        .resource_changes
        .iter()
        .map(|c| {
            let mut after_unknown = Vec::new();
            let after = c.after.as_ref().map(|v| known(v, "", &mut after_unknown));
            Change {
                address: c.address.to_string(),
                kind: c.address.kind.as_str(),
                key: &c.address.key,
                physical_name: &c.physical_name,
                previous_physical_name: c.previous_physical_name.as_deref(),
                change: Detail {
                    actions: c.action.as_list(),
                    before: c.before.clone(),
                    after,
                    after_unknown,
                    attributes: c.attribute_changes.iter().map(attribute).collect(),
                },
                replace_paths: &c.replace_paths,
                reason: c.reason.as_deref(),
                depends_on: c.depends_on.iter().map(|d| d.to_string()).collect(),
                conflict: c.conflict.as_deref(),
                requires_allow_replace: c.requires_allow_replace.as_deref(),
            }
        })
        .collect();
    let doc = Document {
        format_version: &plan.format_version,
        stack: &plan.stack,
        stage: plan.stage.as_deref(),
        mode: plan.mode,
        resource_changes,
        summary: Summary {
            create: plan.count(Action::Create),
            update: plan.count(Action::Update),
            replace: plan.count(Action::Replace),
            delete: plan.count(Action::Delete),
            conflicts: plan.conflicts().count(),
        },
    };
    serde_json::to_value(doc).unwrap_or(Value::Null)
}

/// The document of `plan --json` and of a saved plan (`plan --out`): the plan
/// and, when it was made from live reads, the fingerprint of its inputs.
pub(crate) fn to_string(plan: &Plan, fingerprint: Option<&Fingerprint>) -> String {
    let mut doc = document(plan);
    if let (Some(fp), Value::Object(o)) = (fingerprint, &mut doc) {
        o.insert(
            "fingerprint".to_string(),
            serde_json::to_value(fp).unwrap_or(Value::Null),
        );
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}
