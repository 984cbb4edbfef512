//! The plan as a person reads it: one block per resource with its action
//! symbol (`+` create, `~` update in place, `-/+` replace, `-` delete) and
//! one line per attribute.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::apply::{Outcome, Report};
use crate::plan::{Action, AttributeChange, Mode, Plan, ResourceChange};
use crate::stack::reference::UNKNOWN;

struct Palette {
    color: bool,
}

impl Palette {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
    fn action(&self, action: Action, text: &str) -> String {
        let color = match action {
            Action::Create => AnsiColor::Green,
            Action::Update => AnsiColor::Yellow,
            Action::Replace => AnsiColor::Magenta,
            Action::Delete => AnsiColor::Red,
            Action::NoOp => AnsiColor::White,
        };
        self.paint(Style::new().fg_color(Some(color.into())), text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }
    fn warn(&self, text: &str) -> String {
        self.paint(
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            text,
        )
    }
}

pub(crate) fn symbol(action: Action) -> &'static str {
    match action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Replace => "-/+",
        Action::Delete => "-",
        Action::NoOp => " ",
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be deleted",
        Action::NoOp => "is up to date",
    }
}

/// A value as one line of compact JSON; unknown values say so.
pub(crate) fn value(v: &Value) -> String {
    match v {
        Value::String(s) if s.contains(UNKNOWN) => {
            if s == UNKNOWN {
                "(known after apply)".to_string()
            } else {
                format!("{:?} (known after apply)", s.replace(UNKNOWN, "…"))
            }
        }
        // Nested unknowns (a policy document's `Resource`) are escaped in JSON.
        other => without_nulls(other)
            .to_string()
            .replace(&UNKNOWN.replace('\u{1}', "\\u0001"), "(known after apply)"),
    }
}

/// Drops null members of objects: absent settings are not worth a line.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn attribute_line(out: &mut String, p: &Palette, c: &AttributeChange) {
    let (sym, action) = match (&c.before, &c.after) {
        (None, Some(_)) => ("+", Action::Create),
        (Some(_), None) => ("-", Action::Delete),
        _ => ("~", Action::Update),
    };
    let rendered = match (&c.before, &c.after) {
        (None, Some(a)) => value(a),
        (Some(b), None) => format!("{} → null", value(b)),
        (Some(b), Some(a)) => format!("{} → {}", value(b), value(a)),
        (None, None) => "null".to_string(),
    };
    let forces = if c.forces_replacement {
        format!("  {}", p.warn("# forces replacement"))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "      {} {:<28} = {}{}",
        p.action(action, sym),
        c.path,
        rendered,
        forces
    );
}

/// The attributes of a resource being created, flattened one level.
fn created_lines(out: &mut String, p: &Palette, after: &Value) {
    let Some(map) = after.as_object() else { return };
    for (k, v) in map {
        match v {
            Value::Null => {}
            Value::Array(a) if a.is_empty() => {}
            Value::Object(o) if o.is_empty() => {}
            Value::Object(o) => {
                for (k2, v2) in o {
                    let _ = writeln!(
                        out,
                        "      {} {:<28} = {}",
                        p.action(Action::Create, "+"),
                        format!("{k}.{k2}"),
                        value(v2)
                    );
                }
            }
            other => {
                let _ = writeln!(
                    out,
                    "      {} {:<28} = {}",
                    p.action(Action::Create, "+"),
                    k,
                    value(other)
                );
            }
        }
    }
}

fn change_block(out: &mut String, p: &Palette, c: &ResourceChange) {
    let name = match &c.previous_physical_name {
        Some(prev) => format!("{prev} → {}", c.physical_name),
        None => c.physical_name.clone(),
    };
    let _ = write!(
        out,
        "  {} {} ({}) {}",
        p.action(c.action, symbol(c.action)),
        p.bold(&c.address.to_string()),
        name,
        verb(c.action)
    );
    match &c.reason {
        Some(r) => {
            let _ = writeln!(out, ": {r}");
        }
        None => out.push('\n'),
    }
    match c.action {
        Action::Create if c.conflict.is_none() => {
            if let Some(after) = &c.after {
                created_lines(out, p, after);
            }
        }
        Action::Update | Action::Replace => {
            for a in &c.attribute_changes {
                attribute_line(out, p, a);
            }
        }
        _ => {}
    }
    if let Some(conflict) = &c.conflict {
        let _ = writeln!(out, "      {} {}", p.warn("! conflict:"), conflict);
    }
    if let Some(guard) = &c.requires_allow_replace {
        let _ = writeln!(
            out,
            "      {} {guard} (needs --allow-replace)",
            p.warn("! data loss:")
        );
    }
}

/// The whole plan for a terminal or a log.
pub(crate) fn plan(plan: &Plan, color: bool) -> String {
    let p = Palette { color };
    let mut out = String::new();
    let changed: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action != Action::NoOp || c.conflict.is_some() || c.reason.is_some())
        .collect();
    if !plan.has_changes() && plan.conflicts().next().is_none() {
        let what = match plan.mode {
            Mode::Apply => format!("AWS matches stack `{}`", plan.stack),
            Mode::Destroy => format!("stack `{}` owns nothing in AWS", plan.stack),
        };
        for c in &changed {
            change_block(&mut out, &p, c);
        }
        let _ = writeln!(out, "No changes: {what}.");
        return out;
    }
    let _ = writeln!(
        out,
        "{}",
        p.bold(&format!(
            "Plan for stack `{}`{}:",
            plan.stack,
            if plan.mode == Mode::Destroy {
                " (destroy)"
            } else {
                ""
            }
        ))
    );
    for c in changed {
        change_block(&mut out, &p, c);
    }
    let _ = writeln!(out, "\n{}", summary(plan));
    out
}

pub(crate) fn summary(plan: &Plan) -> String {
    let mut s = format!(
        "Plan: {} to create, {} to update, {} to replace, {} to delete.",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Replace),
        plan.count(Action::Delete)
    );
    let conflicts = plan.conflicts().count();
    if conflicts > 0 {
        s.push_str(&format!(
            " {conflicts} conflict{} block `up`.",
            if conflicts == 1 { "" } else { "s" }
        ));
    }
    s
}

/// What an apply did, one line per step, then the totals.
pub(crate) fn report(report: &Report, color: bool, command: &str) -> String {
    let p = Palette { color };
    let mut out = String::new();
    let failed: Vec<_> = report.failed().collect();
    let skipped: Vec<_> = report.skipped().collect();
    for s in &failed {
        if let Outcome::Failed(e) = &s.outcome {
            let _ = writeln!(
                out,
                "{} {} ({}): {e}",
                p.warn("error:"),
                s.address,
                s.physical_name
            );
        }
    }
    for s in &skipped {
        if let Outcome::Skipped { because } = &s.outcome {
            let _ = writeln!(
                out,
                "skipped: {} ({}) was not {}, because {because} failed",
                s.address,
                s.physical_name,
                past(s.action)
            );
        }
    }
    let count = |a: Action| report.done().filter(|s| s.action == a).count();
    let _ = writeln!(
        out,
        "{}: {} created, {} updated, {} replaced, {} deleted{}{}.",
        if failed.is_empty() { "Done" } else { "Stopped" },
        count(Action::Create),
        count(Action::Update),
        count(Action::Replace),
        count(Action::Delete),
        if failed.is_empty() {
            String::new()
        } else {
            format!(", {} failed", failed.len())
        },
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", skipped.len())
        },
    );
    if !failed.is_empty() {
        let _ = writeln!(out, "Nothing that was done is lost: fix the cause and run `{command}` again; it continues from what exists.");
    }
    out
}

pub(crate) fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Replace => "replaced",
        Action::Delete => "deleted",
        Action::NoOp => "changed",
    }
}
