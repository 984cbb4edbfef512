//! Located errors in stack and policy files, rendered like a compiler's:
//! file, line and column, the offending source line, and a hint.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;

#[derive(Debug, Clone, Copy)]
enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: Option<String>,
}

/// Every problem found, with the sources they point into.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub sources: BTreeMap<PathBuf, String>,
    pub items: Vec<Diagnostic>,
    /// Problems that do not stop the stack (an over-broad policy statement).
    pub warnings: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn add_source(&mut self, file: &Path, source: &str) {
        self.sources
            .entry(file.to_path_buf())
            .or_insert_with(|| source.to_string());
    }

    pub fn error(
        &mut self,
        file: &Path,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.items.push(Diagnostic {
            file: file.to_path_buf(),
            span,
            message: message.into(),
            help,
        });
    }

    pub fn warning(
        &mut self,
        file: &Path,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.warnings.push(Diagnostic {
            file: file.to_path_buf(),
            span,
            message: message.into(),
            help,
        });
    }

    /// The warnings alone, rendered (empty when there are none).
    pub fn render_warnings(&self, color: bool) -> String {
        self.render_items(&self.warnings, color, Severity::Warning)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `file:line:col` of a byte offset, for messages outside diagnostics.
    pub fn location(&self, file: &Path, offset: usize) -> String {
        match self.sources.get(file) {
            Some(src) => {
                let (line, col) = line_col(src, offset);
                format!("{}:{line}:{col}", file.display())
            }
            None => file.display().to_string(),
        }
    }

    /// Renders every diagnostic, in file order then position order.
    pub fn render(&self, color: bool) -> String {
        let mut out = self.render_warnings(color);
        out.push_str(&self.render_items(&self.items, color, Severity::Error));
        let mut items = self.items.clone();
        items.sort_by_key(|d| (d.file.clone(), d.span.as_ref().map(|s| s.start)));
        items.dedup();
        let n = items.len();
        out.push_str(&format!(
            "{n} error{} in the stack; nothing was sent to AWS\n",
            if n == 1 { "" } else { "s" }
        ));
        out
    }

    fn render_items(&self, items: &[Diagnostic], color: bool, severity: Severity) -> String {
        let mut files = SimpleFiles::new();
        let mut ids = BTreeMap::new();
        for (path, src) in &self.sources {
            ids.insert(
                path.clone(),
                files.add(path.display().to_string(), src.clone()),
            );
        }
        let mut items = items.to_vec();
        items.sort_by_key(|d| (d.file.clone(), d.span.as_ref().map(|s| s.start)));
        items.dedup();
        let config = term::Config::default();
        let mut out = String::new();
        for d in items.iter().take(MAX_SHOWN) {
            let mut cs = match severity {
                Severity::Error => CsDiagnostic::error(),
                Severity::Warning => CsDiagnostic::warning(),
            }
            .with_message(&d.message);
            match (ids.get(&d.file), &d.span) {
                (Some(id), Some(span)) => {
                    let source = files.get(*id).map(|f| f.source().as_str()).unwrap_or("");
                    match quotable(source, span) {
                        Some(span) => cs = cs.with_labels(vec![Label::primary(*id, span)]),
                        None => {
                            // A line too long to quote (minified, or pasted
                            // data): its place only.
                            let (line, col) = line_col(source, span.start);
                            cs = cs.with_notes(vec![format!(
                                "at {}:{line}:{col} (the line is too long to show)",
                                d.file.display()
                            )]);
                        }
                    }
                }
                _ => {
                    cs = cs.with_notes(vec![format!("in {}", d.file.display())]);
                }
            }
            if let Some(help) = &d.help {
                cs = cs.with_notes(vec![format!("help: {help}")]);
            }
            let rendered = if color {
                let mut buffer = term::termcolor::Buffer::ansi();
                match term::emit_to_write_style(&mut buffer, &config, &files, &cs) {
                    Ok(()) => String::from_utf8_lossy(buffer.as_slice()).into_owned(),
                    Err(_) => format!("error: {}\n", d.message),
                }
            } else {
                term::emit_into_string(&config, &files, &cs)
                    .unwrap_or_else(|_| format!("error: {}\n", d.message))
            };
            out.push_str(&rendered);
        }
        if items.len() > MAX_SHOWN {
            let what = match severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.push_str(&format!(
                "... and {} more {what}s, not shown; fix the ones above first\n\n",
                items.len() - MAX_SHOWN
            ));
        }
        out
    }
}

/// At most this many errors (and warnings) are shown: a cascade of syntax
/// errors on one long line must not print megabytes.
pub const MAX_SHOWN: usize = 50;

/// Source lines longer than this are not quoted under a message, and a span
/// over more source than `MAX_QUOTED_SPAN` is underlined on its first line.
const MAX_QUOTED_LINE: usize = 400;
const MAX_QUOTED_SPAN: usize = 4000;

/// The part of `span` to underline: within the source and on char
/// boundaries; `None` when its first line is too long to quote.
fn quotable(source: &str, span: &Range<usize>) -> Option<Range<usize>> {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let last_line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    let quoted = &source[line_start..last_line_end];
    if quoted.len() <= MAX_QUOTED_SPAN && quoted.lines().all(|l| l.len() <= MAX_QUOTED_LINE) {
        return Some(start..end);
    }
    let line_end = source[start..]
        .find('\n')
        .map_or(source.len(), |i| start + i);
    (line_end - line_start <= MAX_QUOTED_LINE).then(|| start..end.min(line_end))
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// 1-based line and column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..floor_char_boundary(src, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab\ncd", 99), (2, 3));
    }
}
