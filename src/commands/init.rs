//! `init`: write a template's stack file and policies to start from.

use std::path::Path;
use std::process::ExitCode;

use super::print::{emit, shell_word};
use super::{Failure, Result};
use crate::cli::GlobalArgs;

/// `init`: writes a template's stack file and policies to DIR (default the
/// current directory). The stack is checked with the loader before anything
/// is written, and no file is ever overwritten: if one exists, nothing is
/// written at all.
pub(super) fn run(g: &GlobalArgs, args: &crate::cli::InitArgs) -> Result<ExitCode> {
    use crate::cli::Template as Choice;
    use crate::templates;

    let template = match args.template {
        Choice::SwiftStarter => &templates::SWIFT_STARTER,
        Choice::PhotoNotes => &templates::PHOTO_NOTES,
        Choice::UserPool => &templates::USER_POOL,
    };
    let dir = &args.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(Failure(format!(
            "{} is not a directory; name the directory to write the stack to",
            dir.display()
        )));
    }
    let (name, why) = match &args.name {
        Some(name) if templates::is_stack_name(name) => (name.clone(), "from --name".to_string()),
        Some(name) => {
            return Err(Failure(format!(
                "`{name}` is not a valid stack name: 1 to 40 characters of a-z, 0-9 and `-`, starting with a letter{}",
                templates::stack_name_from(name)
                    .map(|n| format!("; `{n}` would do"))
                    .unwrap_or_default()
            )))
        }
        None => {
            let dir_name = std::fs::canonicalize(dir)
                .or_else(|_| std::path::absolute(dir))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            match (dir_name.as_deref().and_then(templates::stack_name_from), &dir_name) {
                (Some(name), Some(dir_name)) if &name == dir_name => (
                    name,
                    "the directory's name; pass --name to choose another".to_string(),
                ),
                (Some(name), Some(dir_name)) => (
                    name,
                    format!("made from the directory's name `{dir_name}`; pass --name to choose another"),
                ),
                _ => (
                    template.name.to_string(),
                    "the template's name, as the directory's name gives none; pass --name to choose another"
                        .to_string(),
                ),
            }
        }
    };

    let files = template.render(&name);
    templates::check(&files).map_err(|e| {
        Failure(format!(
            "the `{}` template does not validate as stack `{name}`, so nothing was written (a shorter --name may help):\n{e}",
            template.name
        ))
    })?;
    let existing = templates::existing(dir, &files);
    if !existing.is_empty() {
        return Err(Failure(format!(
            "init refuses to overwrite {}; nothing was written. Choose another directory or --name, or move {} away",
            existing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    templates::write_new(dir, &files).map_err(|e| Failure(format!("{e}; nothing was written")))?;

    let here = dir.as_os_str().is_empty() || dir == Path::new(".");
    let width = files
        .iter()
        .map(|f| f.path.display().to_string().len())
        .max()
        .unwrap_or(0);
    let mut text = format!("stack name `{name}` ({why})\n");
    text.push_str(&format!(
        "wrote the {} template to {}:\n",
        template.name,
        if here {
            "the current directory".to_string()
        } else {
            dir.display().to_string()
        }
    ));
    for f in &files {
        text.push_str(&format!(
            "  {:<width$}  {}\n",
            f.path.display().to_string(),
            f.what
        ));
    }
    // `validate` finds the stack alone when it is the only one in `stacks/`
    // and nothing else names one.
    let stack_file = templates::stack_file(&name);
    let alone = std::fs::read_dir(dir.join("stacks"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count()
                == 1
        })
        .unwrap_or(false);
    let stack_flag = if alone && g.stack.is_none() {
        String::new()
    } else {
        format!(" --stack {}", stack_file.display())
    };
    text.push_str("\nnext:\n");
    if !here {
        text.push_str(&format!(
            "  cd {}\n",
            shell_word(&dir.display().to_string())
        ));
    }
    for (command, what) in [
        ("validate", "offline checks; never calls AWS"),
        ("plan", "what `up` would create, read from live AWS"),
        ("up", "create it (shows the plan and asks first)"),
    ] {
        let line = format!("mobile-backend {command}{stack_flag}");
        text.push_str(&format!(
            "  {line:<width$}  # {what}\n",
            width = 24 + stack_flag.len()
        ));
    }
    text.push_str(
        "editor help: `mobile-backend schema > mobile-backend.schema.json`, then see the stack file's first lines\n",
    );
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
