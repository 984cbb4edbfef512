//! Plain data for the commands' unit tests: plans and changes built by hand,
//! and stack files written to a temporary directory.

use std::path::PathBuf;

use crate::plan::{Action, Mode, Plan, ResourceChange, FORMAT_VERSION};
use crate::stack::{self, Address, Stack};

/// An address from its text, e.g. `table.notes` or `user_pool.users.clients.ios`.
pub(super) fn address(text: &str) -> Address {
    text.parse().expect("a valid address")
}

/// A change to `address` at the physical name `name`, with nothing else set.
pub(super) fn change(address_text: &str, name: &str, action: Action) -> ResourceChange {
    ResourceChange {
        address: address(address_text),
        physical_name: name.to_string(),
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

/// A plan of stack `demo`.
pub(super) fn plan(mode: Mode, resource_changes: Vec<ResourceChange>) -> Plan {
    Plan {
        format_version: FORMAT_VERSION.to_string(),
        stack: "demo".to_string(),
        stage: None,
        mode,
        resource_changes,
    }
}

/// A stack file written to a temporary directory and loaded; the directory
/// lives as long as the returned guard.
pub(super) fn stack(source: &str) -> (tempfile::TempDir, PathBuf, Stack) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("demo.toml");
    std::fs::write(&path, source).expect("write the stack file");
    let loaded = stack::load(&path).unwrap_or_else(|d| panic!("{}", d.render(false)));
    (dir, path, loaded)
}

/// Stack `demo` with one table.
pub(super) const DEMO: &str =
    "[stack]\nname = \"demo\"\n\n[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\n";
