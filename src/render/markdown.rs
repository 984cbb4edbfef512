//! The plan as Markdown for a pull-request comment (`plan --markdown`): a
//! heading, the counts, one table row per resource that changes (with the
//! same action symbols as the human rendering), then a collapsed section per
//! resource with its attribute changes.
//!
//! Everything that comes from the stack file or from AWS is escaped for the
//! place it lands in (table cell, HTML `<summary>`, fenced code block), so a
//! `|`, `<`, a backtick or a newline in a name or a value can never break the
//! table or the comment. There are no ANSI codes here, ever.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, AttributeChange, Mode, Plan, ResourceChange};
use crate::render::human::{symbol, value};

/// What an update means: the plan compares live AWS with the stack file, so
/// it cannot tell an edited stack file from drift made outside the stack.
const CONVERGE: &str = "changes to converge live state to the stack file";

/// The action column: the human rendering's symbol and the plan's word.
fn action_cell(action: Action) -> String {
    match action {
        Action::NoOp => "no change".to_string(),
        other => format!("`{}` {}", symbol(other), word(other)),
    }
}

fn word(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::NoOp => "no change",
    }
}

/// Plain text in a table cell, shown exactly as written: Markdown's inline
/// syntax is backslash-escaped, HTML's special characters become entities
/// and line breaks become `<br>` (a newline would end the table row).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            other => out.push(other),
        }
    }
    out
}

/// A code span in a table cell. Only `|` needs escaping inside one; text a
/// code span cannot hold faithfully (backticks, backslashes, line breaks,
/// edge spaces) falls back to escaped plain text.
fn code(s: &str) -> String {
    let plain = s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains(['`', '\\', '\n', '\r']);
    if plain {
        text(s)
    } else {
        format!("`{}`", s.replace('|', "\\|"))
    }
}

/// A message of the plan (a reason, a conflict) in a table cell. Messages
/// mark names with backticks, as Markdown does: balanced pairs become code
/// spans, everything else is escaped text; an odd number of backticks means
/// the message is shown as plain text, backticks and all.
fn message(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return text(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if i.is_multiple_of(2) {
                text(part)
            } else if part.is_empty() {
                text("``")
            } else {
                code(part)
            }
        })
        .collect()
}

/// Text inside an HTML element (`<summary>`), on one line.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace(['\r', '\n'], " ")
}

/// An attribute path inside a code block: on one line.
fn one_line(s: &str) -> String {
    s.replace('\r', "\\r").replace('\n', "\\n")
}

/// The resource's name, and the old one for a rename.
fn names(c: &ResourceChange) -> String {
    match &c.previous_physical_name {
        Some(prev) => format!("{} → {}", code(prev), code(&c.physical_name)),
        None => code(&c.physical_name),
    }
}

fn plain_names(c: &ResourceChange) -> String {
    match &c.previous_physical_name {
        Some(prev) => format!("{prev} → {}", c.physical_name),
        None => c.physical_name.clone(),
    }
}

/// The "why" column: reasons, what forces a replacement, data-loss guards and
/// conflicts, one per line.
fn why(c: &ResourceChange) -> String {
    let mut lines: Vec<String> = Vec::new();
    if c.action == Action::Update {
        lines.push(CONVERGE.to_string());
    }
    if let Some(reason) = &c.reason {
        lines.push(message(reason));
    } else if c.action == Action::Replace && !c.replace_paths.is_empty() {
        let paths: Vec<String> = c.replace_paths.iter().map(|p| code(p)).collect();
        lines.push(format!("forces replacement: {}", paths.join(", ")));
    }
    if let Some(guard) = &c.requires_allow_replace {
        lines.push(format!(
            "⚠️ **requires `--allow-replace`**: {}",
            message(guard)
        ));
    }
    if let Some(conflict) = &c.conflict {
        lines.push(format!("⛔ **conflict**: {}", message(conflict)));
    }
    lines.join("<br>")
}

/// One line of a changed attribute, as in the human rendering.
fn attribute_line(a: &AttributeChange) -> (&'static str, String, String) {
    let (sym, rendered) = match (&a.before, &a.after) {
        (None, Some(after)) => ("+", value(after)),
        (Some(before), None) => ("-", format!("{} → null", value(before))),
        (Some(before), Some(after)) => ("~", format!("{} → {}", value(before), value(after))),
        (None, None) => ("~", "null".to_string()),
    };
    let forces = if a.forces_replacement {
        "  # forces replacement"
    } else {
        ""
    };
    (sym, one_line(&a.path), format!("{rendered}{forces}"))
}

/// The attributes a created resource gets, flattened one level, as in the
/// human rendering.
fn created_lines(after: &Value) -> Vec<(&'static str, String, String)> {
    let mut lines = Vec::new();
    let Some(map) = after.as_object() else {
        return lines;
    };
    for (k, v) in map {
        match v {
            Value::Null => {}
            Value::Array(a) if a.is_empty() => {}
            Value::Object(o) if o.is_empty() => {}
            Value::Object(o) => {
                for (k2, v2) in o.iter().filter(|(_, v2)| !v2.is_null()) {
                    lines.push(("+", one_line(&format!("{k}.{k2}")), value(v2)));
                }
            }
            other => lines.push(("+", one_line(k), value(other))),
        }
    }
    lines
}

/// The attribute lines shown in a resource's collapsed section.
fn detail_lines(c: &ResourceChange) -> Vec<(&'static str, String, String)> {
    match c.action {
        Action::Create if c.conflict.is_none() => {
            c.after.as_ref().map(created_lines).unwrap_or_default()
        }
        Action::Update | Action::Replace => {
            c.attribute_changes.iter().map(attribute_line).collect()
        }
        _ => Vec::new(),
    }
}

/// A fenced code block whose fence no line of `body` can close.
fn fenced(out: &mut String, info: &str, body: &str) {
    let mut longest = 0;
    let mut run = 0;
    for ch in body.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(out, "{fence}{info}\n{body}{fence}");
}

fn details(out: &mut String, c: &ResourceChange) {
    let lines = detail_lines(c);
    if lines.is_empty() {
        return;
    }
    let width = lines
        .iter()
        .map(|(_, path, _)| path.chars().count())
        .max()
        .unwrap_or(0);
    let mut body = String::new();
    for (sym, path, rendered) in &lines {
        let pad = width - path.chars().count();
        let _ = writeln!(body, "{sym} {path}{} = {rendered}", " ".repeat(pad));
    }
    let count = lines.len();
    let _ = writeln!(
        out,
        "<details><summary><code>{} {}</code> ({}): {}, {count} attribute{}</summary>\n",
        html(symbol(c.action)),
        html(&c.address.to_string()),
        html(&plain_names(c)),
        word(c.action),
        if count == 1 { "" } else { "s" }
    );
    fenced(out, "diff", &body);
    let _ = writeln!(out, "\n</details>\n");
}

fn table(out: &mut String, rows: &[&ResourceChange]) {
    let _ = writeln!(out, "| Resource | Physical name | Action | Why |");
    let _ = writeln!(out, "|---|---|---|---|");
    for c in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(&c.address.to_string()),
            names(c),
            action_cell(c.action),
            why(c)
        );
    }
}

/// The whole plan as Markdown.
pub(crate) fn plan(plan: &Plan) -> String {
    let mut out = String::new();
    let mode = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    let _ = writeln!(out, "## Plan for stack {} ({mode})\n", code(&plan.stack));
    // As in the human rendering: every change, and the no-ops that have
    // something to say (left alone, a conflict).
    let rows: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action != Action::NoOp || c.conflict.is_some() || c.reason.is_some())
        .collect();
    let conflicts = plan.conflicts().count();
    if !plan.has_changes() && conflicts == 0 {
        let what = match plan.mode {
            Mode::Apply => "AWS matches the stack file.",
            Mode::Destroy => "The stack owns nothing in AWS.",
        };
        let _ = writeln!(out, "**No changes.** {what}");
        if !rows.is_empty() {
            out.push('\n');
            table(&mut out, &rows);
        }
        return out;
    }
    let _ = write!(
        out,
        "**Plan:** {} to create, {} to update, {} to replace, {} to delete.",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete)
    );
    if conflicts > 0 {
        let _ = write!(
            out,
            " **{conflicts} conflict{} block{} `up`.**",
            if conflicts == 1 { "" } else { "s" },
            if conflicts == 1 { "s" } else { "" }
        );
    }
    out.push_str("\n\n");
    table(&mut out, &rows);
    let guarded = plan.guarded().count();
    if guarded > 0 {
        let _ = writeln!(
            out,
            "\n`up` refuses {} unless `--allow-replace` is given.",
            if guarded == 1 {
                "the replacement that loses data"
            } else {
                "the replacements that lose data"
            }
        );
    }
    out.push('\n');
    for c in &rows {
        details(&mut out, c);
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests;
