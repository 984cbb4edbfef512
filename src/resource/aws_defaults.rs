//! The registry-wide check of "optional and computed" (issue 15): what AWS
//! fills in by itself, where the stack says nothing, is never a change.
//!
//! Every kind gives, in its own file's tests, `aws_defaults()`: cases of AWS's
//! answer for a resource made from a minimal stack (what `create` sends,
//! echoed; everything it leaves out, as AWS fills it in, with the source of
//! each default named there), read by the kind's own read, against the
//! desired value of that stack. The test walks [`ResourceType::ALL`], so a
//! kind added later without cases fails it.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde_json::Value;

use super::{
    api, bucket, identity_pool, identity_pool_roles, role, search, table, user_pool,
    user_pool_client, user_pool_group, DesiredContext, Live, Outputs, ResourceType, Target,
};
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
    pub fn load(body: &str, address: &str, outputs: &[(&str, &str)]) -> Minimal {
        let dir = tempfile::tempdir().expect("a temporary directory");
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
    pub fn tags(&self) -> crate::stack::Tags {
        self.desired
            .get("tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }

    /// What a read is given to find the resource.
    pub fn target<'a>(&'a self, parent: Option<&'a Outputs>) -> Target<'a> {
        Target {
            stack: &self.stack.name,
            address: &self.address,
            name: &self.name,
            parent,
            spec: Some(&self.spec),
            adopt: None,
        }
    }

    /// The case of this resource, with what the kind's read made of AWS's
    /// answer.
    pub fn case(&self, label: &'static str, live: Option<Live>) -> Case {
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

type Fixture = fn() -> BoxFuture<'static, Vec<Case>>;

/// Every kind's cases. A kind of [`ResourceType::ALL`] missing here fails
/// the test.
fn fixtures() -> Vec<(ResourceType, Fixture)> {
    vec![
        (ResourceType::Table, || {
            Box::pin(table::tests::aws_defaults())
        }),
        (ResourceType::Bucket, || {
            Box::pin(bucket::tests::aws_defaults())
        }),
        (ResourceType::UserPool, || {
            Box::pin(user_pool::tests::aws_defaults())
        }),
        (ResourceType::UserPoolClient, || {
            Box::pin(user_pool_client::tests::aws_defaults())
        }),
        (ResourceType::UserPoolGroup, || {
            Box::pin(user_pool_group::tests::aws_defaults())
        }),
        (ResourceType::IdentityPool, || {
            Box::pin(identity_pool::tests::aws_defaults())
        }),
        (ResourceType::IdentityPoolRoles, || {
            Box::pin(identity_pool_roles::tests::aws_defaults())
        }),
        (ResourceType::Role, || Box::pin(role::tests::aws_defaults())),
        (ResourceType::Search, || {
            Box::pin(search::tests::aws_defaults())
        }),
        (ResourceType::Api, || Box::pin(api::tests::aws_defaults())),
    ]
}

#[tokio::test]
async fn what_aws_fills_in_where_the_stack_is_silent_is_never_a_change() {
    let fixtures = fixtures();
    let mut wrong = Vec::new();
    for kind in ResourceType::ALL {
        let Some((_, fixture)) = fixtures.iter().find(|(k, _)| k == kind) else {
            wrong.push(format!(
                "{kind}: no fixture; add `aws_defaults()` to its file's tests and list it in `fixtures()`"
            ));
            continue;
        };
        let cases = fixture().await;
        if cases.is_empty() {
            wrong.push(format!("{kind}: the fixture has no case"));
        }
        for case in cases {
            assert_eq!(case.kind, *kind, "{}: a case of another kind", case.label);
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
