//! The stacks `mobile-backend init` writes: each a commented stack file and its
//! policy documents, embedded in the binary from `templates/<name>/`.
//!
//! A template's stack file writes the stack's name as `{{stack_name}}`; it is
//! written to `stacks/<name>.toml` and its policies to
//! `policies/<name>-<file>.json`, the layout of this repository, so
//! `mobile-backend validate` finds the stack on its own (the only `*.toml` in
//! `stacks/`) and the policy paths (`../policies/...`) are relative to the
//! stack file. Before anything is written the result is loaded with the real
//! loader, in a scratch directory: `init` never writes a stack that does not
//! validate, and never overwrites a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::stack;

/// What a template writes in place of the stack's name.
const NAME_PLACEHOLDER: &str = "{{stack_name}}";

/// One policy document of a template.
pub struct Policy {
    /// Written as `policies/<stack>-<stem>.json`.
    pub stem: &'static str,
    pub text: &'static str,
    /// What it allows, for the list `init` prints.
    pub what: &'static str,
}

pub struct Template {
    /// The `--template` value.
    pub name: &'static str,
    /// What the stack declares, for the list `init` prints.
    pub what: &'static str,
    stack: &'static str,
    policies: &'static [Policy],
}

pub const SWIFT_STARTER: Template = Template {
    name: "swift-starter",
    what: "a guest identity pool, a users table, a photos bucket and the guests' role",
    stack: include_str!("../templates/swift-starter/stack.toml"),
    policies: &[Policy {
        stem: "guest",
        text: include_str!("../templates/swift-starter/policies/guest.json"),
        what: "guests: their own table rows and their own photo prefix only",
    }],
};

pub const PHOTO_NOTES: Template = Template {
    name: "photo-notes",
    what: "a notes table with a stream, a TTL and an index, and a versioned uploads bucket",
    stack: include_str!("../templates/photo-notes/stack.toml"),
    policies: &[],
};

pub const USER_POOL: Template = Template {
    name: "user-pool",
    what: "an email sign-in user pool with an admins group, an identity pool with a role rule, a notes table and three roles",
    stack: include_str!("../templates/user-pool/stack.toml"),
    policies: &[
        Policy {
            stem: "member",
            text: include_str!("../templates/user-pool/policies/member.json"),
            what: "members: their own notes",
        },
        Policy {
            stem: "engineers",
            text: include_str!("../templates/user-pool/policies/engineers.json"),
            what: "engineers: read every note",
        },
        Policy {
            stem: "admins",
            text: include_str!("../templates/user-pool/policies/admins.json"),
            what: "administrators: manage every note",
        },
    ],
};

pub const ALL: &[&Template] = &[&SWIFT_STARTER, &PHOTO_NOTES, &USER_POOL];

/// A file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative to the directory `init` writes to.
    pub path: PathBuf,
    pub text: String,
    /// What it is, for the list `init` prints.
    pub what: String,
}

impl Template {
    /// The files of this template for a stack named `stack_name`; the stack
    /// file first.
    pub fn render(&self, stack_name: &str) -> Vec<File> {
        let mut files = vec![File {
            path: stack_file(stack_name),
            text: self.stack.replace(NAME_PLACEHOLDER, stack_name),
            what: format!("the stack: {}", self.what),
        }];
        files.extend(self.policies.iter().map(|p| File {
            path: Path::new("policies").join(format!("{stack_name}-{}.json", p.stem)),
            text: p.text.to_string(),
            what: format!("policy of {}", p.what),
        }));
        files
    }
}

/// Where a stack named `stack_name` is written, relative to the directory.
pub fn stack_file(stack_name: &str) -> PathBuf {
    Path::new("stacks").join(format!("{stack_name}.toml"))
}

/// The loader's rule for a stack name: 1 to 40 characters of `[a-z0-9-]`,
/// starting with a letter.
pub fn is_stack_name(name: &str) -> bool {
    name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A directory's name made a valid stack name: lowercase, every run of other
/// characters one `-`, `app-` before a leading digit, at most 40 characters.
/// `None` when nothing of it is left (`/`, `___`).
pub fn stack_name_from(dir_name: &str) -> Option<String> {
    let mut name = String::new();
    for c in dir_name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "app-");
    }
    name.truncate(40);
    let name = name.trim_end_matches('-').to_string();
    is_stack_name(&name).then_some(name)
}

/// Loads the files with the real loader, in a scratch directory laid out as
/// `dir` will be. Returns the loader's diagnostics, rendered, on failure.
pub fn check(files: &[File]) -> Result<stack::Stack, String> {
    let scratch = tempfile::Builder::new()
        .prefix("mobile-backend-init.")
        .tempdir()
        .map_err(|e| format!("cannot make a scratch directory to check the stack in: {e}"))?;
    for file in files {
        let path = scratch.path().join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot write {} to check it: {e}", path.display()))?;
        }
        std::fs::write(&path, &file.text)
            .map_err(|e| format!("cannot write {} to check it: {e}", path.display()))?;
    }
    let stack_path = files
        .first()
        .map(|f| scratch.path().join(&f.path))
        .ok_or_else(|| "the template has no files".to_string())?;
    stack::load(&stack_path).map_err(|d| d.render(false).trim_end().to_string())
}

/// The files of `files` that already exist under `dir` (also dangling links).
pub fn existing(dir: &Path, files: &[File]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|f| dir.join(&f.path))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .collect()
}

/// Writes each file under `dir`, creating directories as needed and never
/// replacing a file (each is created new). On a failure the files written so
/// far are removed again, so nothing is left half-written.
pub fn write_new(dir: &Path, files: &[File]) -> Result<(), String> {
    let mut written: Vec<PathBuf> = Vec::new();
    let result = files.iter().try_for_each(|file| {
        let path = dir.join(&file.path);
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(fail)?;
        written.push(path.clone());
        out.write_all(file.text.as_bytes())
            .and_then(|_| out.flush())
            .map_err(fail)
    });
    if result.is_err() {
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_become_valid_stack_names() {
        for (dir, want) in [
            ("my-app", Some("my-app")),
            ("My_App 2", Some("my-app-2")),
            ("--Notes--", Some("notes")),
            ("2048", Some("app-2048")),
            ("café au lait", Some("caf-au-lait")),
            ("", None),
            ("___", None),
            (
                "a-very-long-directory-name-that-goes-on-and-on-and-on",
                Some("a-very-long-directory-name-that-goes-on"),
            ),
        ] {
            let got = stack_name_from(dir);
            assert_eq!(got.as_deref(), want, "{dir:?}");
            if let Some(name) = got {
                assert!(is_stack_name(&name), "{name}");
            }
        }
    }

    #[test]
    fn every_template_validates_with_the_longest_name_and_uses_every_policy() {
        for template in ALL {
            for name in ["a", "demo", &"n".repeat(40)] {
                let files = template.render(name);
                let stack = check(&files).unwrap_or_else(|e| panic!("{}: {e}", template.name));
                assert_eq!(stack.name, name);
                for file in &files {
                    assert!(!file.text.contains(NAME_PLACEHOLDER), "{:?}", file.path);
                }
                for policy in &files[1..] {
                    let path = format!("../{}", policy.path.display());
                    assert!(
                        files[0].text.contains(&path),
                        "{}: {path} is never used",
                        template.name
                    );
                }
            }
        }
    }
}
