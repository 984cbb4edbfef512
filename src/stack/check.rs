//! What a kind's offline checks see of its `[kind.key]` table, and where they
//! report: each kind's `ResourceKind::check` gets a [`Checks`] and says what
//! is wrong, at which key, and which other steps its settings name (links).

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::reference::{self, Piece};
use super::{
    allows_everything, find_span, find_span_index, offset_of, Address, Diagnostics, FoundReference,
    Link,
};

/// One resource table being checked.
pub struct Checks<'a, 'de> {
    address: Address,
    file: &'a Path,
    table: &'a DeTable<'de>,
    key_span: Range<usize>,
    diags: &'a mut Diagnostics,
    pub(super) links: Vec<Link>,
    pub(super) references: Vec<FoundReference>,
}

impl<'a, 'de> Checks<'a, 'de> {
    pub(super) fn new(
        address: Address,
        file: &'a Path,
        table: &'a DeTable<'de>,
        key_span: Range<usize>,
        diags: &'a mut Diagnostics,
    ) -> Self {
        Checks {
            address,
            file,
            table,
            key_span,
            diags,
            links: Vec::new(),
            references: Vec::new(),
        }
    }

    /// The resource being checked.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The stack file's directory: what paths in the stack are relative to.
    pub fn stack_dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// Where `[kind.key]` is written.
    pub fn key_span(&self) -> Range<usize> {
        self.key_span.clone()
    }

    /// Where the setting at `path` is written (the table's key when it is not).
    pub fn span(&self, path: &[&str]) -> Range<usize> {
        find_span(self.table, path).unwrap_or_else(|| self.key_span.clone())
    }

    /// Where the `index`-th item of the array `key` is written, if it is.
    pub fn span_index(&self, key: &str, index: usize) -> Option<Range<usize>> {
        find_span_index(self.table, key, index)
    }

    /// Reports an error in the stack file.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        self.diags.error(self.file, Some(span), message, help);
    }

    /// Reports a warning in the stack file: shown, and the load goes on.
    pub fn warning(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags.warning(self.file, Some(span), message, help);
    }

    /// Reports an error in another file the stack names (`file`, as read by
    /// [`Checks::json_file`]), at `span` of its text.
    pub fn error_in(
        &mut self,
        file: &Path,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags.error(file, span, message, help);
    }

    /// Reports a warning in another file the stack names, at `span` of its text.
    pub fn warning_in(
        &mut self,
        file: &Path,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags.warning(file, span, message, help);
    }

    /// Reads a JSON file the resource names (`what`: "model file"), relative
    /// to the stack file's directory: its path, text and document. A file
    /// that cannot be read is an error at `span` of the stack file; text
    /// that is not JSON is an error at its line in the file. `None` then.
    pub fn json_file(
        &mut self,
        relative: &str,
        span: Range<usize>,
        what: &str,
    ) -> Option<(PathBuf, String, serde_json::Value)> {
        let address = self.address.clone();
        let path: PathBuf = self.stack_dir().join(relative);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.error(
                    span,
                    format!("`{address}`: cannot read {what} `{}`: {e}", path.display()),
                    Some("paths are relative to the stack file's directory".into()),
                );
                return None;
            }
        };
        self.diags.add_source(&path, &text);
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(document) => Some((path, text, document)),
            Err(e) => {
                let offset = offset_of(&text, e.line(), e.column());
                self.diags.error(
                    &path,
                    Some(offset..offset + 1),
                    format!("`{address}`: {what} is not valid JSON: {e}"),
                    None,
                );
                None
            }
        }
    }

    /// Records that `from` names `to` (a dependency edge); a missing `to` is
    /// an error when `required`, otherwise it names something outside the stack.
    pub fn link(
        &mut self,
        from: Address,
        to: Address,
        span: Range<usize>,
        what: &'static str,
        required: bool,
    ) {
        self.links.push(Link {
            from,
            to,
            span,
            what,
            required,
        });
    }

    /// Checks a policy file the resource names: it exists, is JSON, and its
    /// references are collected for validation.
    pub fn policy_file(&mut self, relative: &str, span: Range<usize>) {
        let address = self.address.clone();
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let path: PathBuf = dir.join(relative);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.error(
                    span,
                    format!(
                        "`{address}`: cannot read policy file `{}`: {e}",
                        path.display()
                    ),
                    Some("policy paths are relative to the stack file's directory".into()),
                );
                return;
            }
        };
        self.diags.add_source(&path, &text);
        let document = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(d) => d,
            Err(e) => {
                let offset = offset_of(&text, e.line(), e.column());
                self.diags.error(
                    &path,
                    Some(offset..offset + 1),
                    format!("policy document is not valid JSON: {e}"),
                    None,
                );
                return;
            }
        };
        if let Some(sid) = allows_everything(&document) {
            let at = text.find("\"*\"").unwrap_or(0);
            self.diags.warning(
                &path,
                Some(at..at + 3),
                format!("`{address}`: statement {sid} allows every action on every resource"),
                Some("name the actions and the resources (`${table.x.arn}`, `${bucket.y.arn}/private/${cognito-identity.amazonaws.com:sub}/*`) the app needs".into()),
            );
        }
        for piece in reference::scan(&text) {
            match piece {
                Piece::Reference { inner, range } => self.references.push(FoundReference {
                    step: address.clone(),
                    inner: inner.to_string(),
                    file: path.clone(),
                    span: range,
                }),
                Piece::Unterminated(at) => {
                    self.diags
                        .error(&path, Some(at..at + 2), "`${` is not closed by `}`", None)
                }
                _ => {}
            }
        }
    }
}

/// What a kind finds wrong in how its resource fits the rest of the stack
/// (`ResourceKind::check_across`), reported at the resource's `[kind.key]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub help: Option<String>,
    /// A warning is shown and does not stop the load.
    pub warning: bool,
}

impl Finding {
    pub fn error(message: impl Into<String>, help: Option<String>) -> Finding {
        Finding {
            message: message.into(),
            help,
            warning: false,
        }
    }

    pub fn warning(message: impl Into<String>, help: Option<String>) -> Finding {
        Finding {
            message: message.into(),
            help,
            warning: true,
        }
    }
}
