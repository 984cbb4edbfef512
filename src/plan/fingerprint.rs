//! What a plan was made from, as digests: the stack file and policy files, the
//! account and region, and every live read. A saved plan carries it; `up FILE`
//! makes it again from what it reads now and applies only if nothing differs.
//! Pure: the caller hands in the bytes and the reads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::resource::Live;

/// The digests of a plan's inputs. Every map is sorted, so equal inputs give
/// an equal document, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// Always `sha256`; the field lets a later version change it.
    pub algorithm: String,
    pub account_id: String,
    pub region: String,
    /// Stack file and policy files, by path relative to the stack file's
    /// directory (the stack file by its file name).
    pub files: BTreeMap<String, String>,
    /// Every live read, by `address` (at the name the stack wants) or
    /// `address@name` (a resource found by its tags under another name);
    /// `absent` when the read found nothing.
    pub live: BTreeMap<String, String>,
    /// One digest over all of the above.
    pub digest: String,
}

pub(crate) const ABSENT: &str = "absent";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Digest of one live read: what the plan compares (attributes), what other
/// resources use (outputs), and whose it is.
pub(crate) fn live_digest(live: Option<&Live>) -> String {
    match live {
        None => ABSENT.to_string(),
        Some(l) => {
            // serde_json keeps the attributes' order as read; sort it away.
            let canonical = serde_json::json!({
                "physical_name": l.physical_name,
                "ownership": l.ownership,
                "attributes": canonical(&l.attributes),
                "outputs": l.outputs,
            });
            sha256(canonical.to_string().as_bytes())
        }
    }
}

/// A JSON value with every object's keys sorted.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => {
            let sorted: BTreeMap<&String, serde_json::Value> =
                o.iter().map(|(k, x)| (k, canonical(x))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, x)| (k.clone(), x)).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The key a source file is recorded under: relative to the stack file's
/// directory, so the same checkout in another place gives the same key.
pub(crate) fn file_key(stack_file: &Path, file: &Path) -> String {
    let dir = stack_file.parent().unwrap_or(Path::new(""));
    let relative = file.strip_prefix(dir).unwrap_or(file);
    relative.to_string_lossy().replace('\\', "/")
}

impl Fingerprint {
    pub(crate) fn new(
        account_id: &str,
        region: &str,
        files: BTreeMap<String, String>,
        live: BTreeMap<String, String>,
    ) -> Self {
        let mut all = format!("account={account_id}\nregion={region}\n");
        for (k, v) in &files {
            all.push_str(&format!("file {k}={v}\n"));
        }
        for (k, v) in &live {
            all.push_str(&format!("live {k}={v}\n"));
        }
        Fingerprint {
            algorithm: "sha256".to_string(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            files,
            live,
            digest: sha256(all.as_bytes()),
        }
    }

    /// What differs between the plan's inputs (`self`) and now, in words;
    /// empty when nothing does.
    pub(crate) fn differences(&self, now: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if self.account_id != now.account_id || self.region != now.region {
            out.push(format!(
                "the plan was made for account {} in {}, but the credentials and region now point to account {} in {}",
                self.account_id, self.region, now.account_id, now.region
            ));
        }
        for line in diff_maps(&self.files, &now.files) {
            out.push(match line {
                Diff::Changed(k) => format!("file `{k}` was edited"),
                Diff::Added(k) => format!("file `{k}` is now part of the stack"),
                Diff::Removed(k) => format!("file `{k}` is no longer part of the stack"),
            });
        }
        for line in diff_maps(&self.live, &now.live) {
            out.push(match line {
                Diff::Changed(k) => {
                    let was = self.live.get(&k).map(String::as_str);
                    let is = now.live.get(&k).map(String::as_str);
                    match (was, is) {
                        (Some(ABSENT), _) => format!("`{k}` now exists in AWS"),
                        (_, Some(ABSENT)) => format!("`{k}` no longer exists in AWS"),
                        _ => format!("`{k}` changed in AWS"),
                    }
                }
                Diff::Added(k) => format!("`{k}` appeared in AWS"),
                Diff::Removed(k) => format!("`{k}` is gone from AWS or from the stack file"),
            });
        }
        if out.is_empty() && self != now {
            out.push("the plan's fingerprint does not match (it was edited)".to_string());
        }
        out
    }
}

/// The parts of a saved plan document (`plan --out`) that `up FILE` checks.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Saved {
    pub format_version: String,
    pub stack: String,
    #[serde(default)]
    pub stage: Option<String>,
    pub mode: crate::plan::Mode,
    pub fingerprint: Option<Fingerprint>,
    pub resource_changes: serde_json::Value,
}

impl Saved {
    /// Parses a saved plan; the error says what is wrong with the file.
    pub(crate) fn parse(text: &str) -> Result<Saved, String> {
        let saved: Saved = serde_json::from_str(text).map_err(|e| {
            format!("it is not a plan written by `mobile-backend plan --out` ({e})")
        })?;
        if saved.format_version != crate::plan::FORMAT_VERSION {
            return Err(format!(
                "it has format_version {:?}, and this version of mobile-backend reads only {:?}; make the plan again with this version",
                saved.format_version,
                crate::plan::FORMAT_VERSION
            ));
        }
        if saved.fingerprint.is_none() {
            return Err(
                "it has no `fingerprint`, so it cannot be checked against live state; write it with `plan --out FILE`"
                    .to_string(),
            );
        }
        Ok(saved)
    }
}

enum Diff {
    Changed(String),
    Added(String),
    Removed(String),
}

fn diff_maps(before: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<Diff> {
    let mut out = Vec::new();
    for (k, v) in before {
        match now.get(k) {
            Some(n) if n == v => {}
            Some(_) => out.push(Diff::Changed(k.clone())),
            None => out.push(Diff::Removed(k.clone())),
        }
    }
    for k in now.keys() {
        if !before.contains_key(k) {
            out.push(Diff::Added(k.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Ownership;
    use crate::stack::Address;

    fn live(attributes: serde_json::Value) -> Live {
        Live {
            address: "table.notes".parse::<Address>().expect("address"),
            physical_name: "app-notes".into(),
            attributes,
            outputs: BTreeMap::from([("name".to_string(), "app-notes".to_string())]),
            ownership: Ownership::Ours,
        }
    }

    fn print(files: &[(&str, &str)], live: &[(&str, &str)]) -> Fingerprint {
        Fingerprint::new(
            "123456789012",
            "eu-west-1",
            files
                .iter()
                .map(|(k, v)| (k.to_string(), sha256(v.as_bytes())))
                .collect(),
            live.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_order_of_keys_read_does_not_matter_but_every_value_does() {
        let a =
            live(serde_json::json!({"billing": "PAY_PER_REQUEST", "tags": {"a": "1", "b": "2"}}));
        let b =
            live(serde_json::json!({"tags": {"b": "2", "a": "1"}, "billing": "PAY_PER_REQUEST"}));
        let c =
            live(serde_json::json!({"tags": {"b": "3", "a": "1"}, "billing": "PAY_PER_REQUEST"}));
        assert_eq!(live_digest(Some(&a)), live_digest(Some(&b)));
        assert_ne!(live_digest(Some(&a)), live_digest(Some(&c)));
        assert_eq!(live_digest(None), ABSENT);
    }

    #[test]
    fn equal_inputs_have_no_differences() {
        let a = print(&[("app.toml", "x")], &[("table.notes", "d1")]);
        let b = print(&[("app.toml", "x")], &[("table.notes", "d1")]);
        assert_eq!(a, b);
        assert!(a.differences(&b).is_empty());
    }

    #[test]
    fn each_difference_is_named() {
        let then = print(
            &[("app.toml", "x"), ("policies/a.json", "{}")],
            &[("table.notes", "d1"), ("bucket.photos", ABSENT)],
        );
        let now = print(
            &[("app.toml", "y")],
            &[
                ("table.notes", "d2"),
                ("bucket.photos", "d3"),
                ("role.app@old", "d4"),
            ],
        );
        let said = then.differences(&now).join("\n");
        assert!(said.contains("file `app.toml` was edited"), "{said}");
        assert!(
            said.contains("file `policies/a.json` is no longer part of the stack"),
            "{said}"
        );
        assert!(said.contains("`table.notes` changed in AWS"), "{said}");
        assert!(said.contains("`bucket.photos` now exists in AWS"), "{said}");
        assert!(said.contains("`role.app@old` appeared in AWS"), "{said}");
    }

    #[test]
    fn another_account_or_region_is_named() {
        let then = print(&[], &[]);
        let mut now = print(&[], &[]);
        now.account_id = "210987654321".into();
        let said = then.differences(&now).join("\n");
        assert!(said.contains("account 123456789012 in eu-west-1"), "{said}");
        assert!(said.contains("account 210987654321"), "{said}");
    }

    #[test]
    fn file_keys_are_relative_to_the_stack_directory() {
        let stack = Path::new("ci/stacks/app.toml");
        assert_eq!(file_key(stack, stack), "app.toml");
        assert_eq!(
            file_key(stack, Path::new("ci/stacks/policies/a.json")),
            "policies/a.json"
        );
    }
}
