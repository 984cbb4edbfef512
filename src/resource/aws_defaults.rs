//! The registry-wide check of "optional and computed" (issue 15): what AWS
//! fills in by itself, where the stack says nothing, is never a change.
//!
//! Every kind gives, in its own file's tests, `aws_defaults()`: cases of AWS's
//! answer for a resource made from a minimal stack (what `create` sends,
//! echoed; everything it leaves out, as AWS fills it in, with the source of
//! each default named there), read by the kind's own read, against the
//! desired value of that stack. The test walks [`ResourceType::ALL`]; the
//! registry calls each step type's `tests::aws_defaults()`, so a kind added
//! without cases does not compile. Each case's live and desired values are
//! also checked against the kind's typed configuration.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{DesiredContext, Live, Outputs, ResourceType, Target};
use crate::stack::reference::Reference;
use crate::stack::{Address, Lookup, Spec, Stack};

/// One resource: AWS's answer, as the kind reads it, and what the minimal
/// stack wants.
pub(crate) struct Case {
    pub label: &'static str,
    pub kind: ResourceType,
    pub live: Value,
    pub desired: Value,
}

/// The account and region of the fixtures (`Aws::for_tests`).
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const REGION: &str = "us-east-1";

/// References resolved from fixed values (`aws.*` and the outputs given).
struct Values(BTreeMap<String, String>);

impl Lookup for Values {
    fn value(&self, reference: &Reference) -> Option<String> {
        self.0.get(&reference.to_string()).cloned()
    }
}

/// A minimal stack, loaded as `plan` loads one, and one address of it.
pub(crate) struct Minimal {
    _dir: tempfile::TempDir,
    pub stack: Stack,
    pub address: Address,
    pub name: String,
    pub spec: Spec,
    pub desired: Value,
}

impl Minimal {
    /// `body` goes after `[stack] name = "demo"`; `outputs` resolve
    /// references to other resources (`user_pool.users.id`).
    pub(super) fn load(body: &str, address: &str, outputs: &[(&str, &str)]) -> Minimal {
        Minimal::load_with_files(body, address, outputs, &[])
    }

    /// [`Minimal::load`], with `files` (path relative to the stack file,
    /// content) written beside the stack file first (a function's source).
    pub(super) fn load_with_files(
        body: &str,
        address: &str,
        outputs: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Minimal {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            std::fs::write(&path, content).expect("written");
        }
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, format!("[stack]\nname = \"demo\"\n{body}")).expect("written");
        let stack = crate::stack::load(&file).unwrap_or_else(|d| panic!("{body}: {d:?}"));
        let address: Address = address.parse().expect("an address");
        let mut values: BTreeMap<String, String> = outputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        values.insert("aws.account_id".into(), ACCOUNT.into());
        values.insert("aws.region".into(), REGION.into());
        let values = Values(values);
        let name = stack
            .physical_name(&address, &values)
            .expect("a physical name");
        let spec = stack
            .resolve_spec(&address.resource(), &values)
            .expect("a spec");
        let tags = stack.tags_for(&address, spec.tags());
        let ctx = DesiredContext {
            stack: &stack,
            lookup: &values,
            account_id: ACCOUNT,
            region: REGION,
            partition: "aws",
        };
        let desired = super::desired_attributes(&address, &spec, &name, tags, &ctx)
            .unwrap_or_else(|e| panic!("{address}: {e}"));
        Minimal {
            _dir: dir,
            stack,
            address,
            name,
            spec,
            desired,
        }
    }

    /// The ownership tags the stack gives the resource (sent with `create`).
    pub(super) fn tags(&self) -> crate::stack::Tags {
        self.desired
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }

    /// What a read is given to find the resource.
    pub(super) fn target<'a>(&'a self, parent: Option<&'a Outputs>) -> Target<'a> {
        Target {
            stack: &self.stack.name,
            address: &self.address,
            name: &self.name,
            parent,
            spec: Some(&self.spec),
            adopt: None,
            dir: None,
            plan: None,
        }
    }

    /// The case of this resource, with what the kind's read made of AWS's
    /// answer.
    pub(super) fn case(&self, label: &'static str, live: Option<Live>) -> Case {
        let live = live.unwrap_or_else(|| panic!("{label}: the read found nothing"));
        assert_eq!(
            live.ownership,
            super::Ownership::Ours,
            "{label}: the fixture must be ours"
        );
        Case {
            label,
            kind: ResourceType::of(&self.address),
            live: live.attributes,
            desired: self.desired.clone(),
        }
    }
}

/// `s` percent-encoded as IAM returns policy documents (RFC 3986).
pub(crate) fn percent_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn what_aws_fills_in_where_the_stack_is_silent_is_never_a_change() {
    let mut wrong = Vec::new();
    for kind in ResourceType::ALL {
        let cases = kind.aws_defaults().await;
        if cases.is_empty() {
            wrong.push(format!("{kind}: the fixture has no case"));
        }
        for case in cases {
            assert_eq!(case.kind, *kind, "{}: a case of another kind", case.label);
            // The typed seam: what the kind reads and wants has only the
            // fields of its typed configuration (each one classified).
            for (what, value) in [("live", &case.live), ("desired", &case.desired)] {
                for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !kind.config_fields().contains(&key.as_str()) {
                        wrong.push(format!(
                            "{kind} ({}): the {what} attribute `{key}` is not a field of its Config",
                            case.label
                        ));
                    }
                }
            }
            let changes = crate::plan::diff(*kind, &case.live, &case.desired);
            if !changes.is_empty() {
                wrong.push(format!(
                    "{kind} ({}): {}",
                    case.label,
                    changes
                        .iter()
                        .map(|c| format!(
                            "`{}`: {} -> {}",
                            c.path,
                            c.before.as_ref().map_or("(none)".into(), Value::to_string),
                            c.after.as_ref().map_or("(none)".into(), Value::to_string),
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn percent_encoding_is_iams() {
    assert_eq!(
        percent_encoded("{\"a\":\"b c\"}"),
        "%7B%22a%22%3A%22b%20c%22%7D"
    );
}
