//! `init`: write a template's stack file and policies to start from.

use std::path::Path;
use std::process::ExitCode;

use super::print::{emit, shell_word};
use super::{Failure, Result};
use crate::cli::{GlobalArgs, InitArgs, Template as Choice};
use crate::templates::{self, File, Template};

/// `init`: writes a template's stack file and policies to DIR (default the
/// current directory). The stack is checked with the loader before anything
/// is written, and no file is ever overwritten: if one exists, nothing is
/// written at all.
pub(super) fn run(g: &GlobalArgs, args: &InitArgs) -> Result<ExitCode> {
    let template = template(args.template);
    let dir = &args.dir;
    if dir.exists() && !dir.is_dir() {
        return Err(Failure(format!(
            "{} is not a directory; name the directory to write the stack to",
            dir.display()
        )));
    }
    let (name, why) = stack_name(args, template)?;

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

    // `validate` finds the stack alone when it is the only one in `stacks/`
    // and nothing else names one.
    let alone = std::fs::read_dir(dir.join("stacks"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count()
                == 1
        })
        .unwrap_or(false);
    let stack_flag = stack_flag(alone && g.stack.is_none(), &name);
    emit(&report(dir, &name, &why, template, &files, &stack_flag))?;
    Ok(ExitCode::SUCCESS)
}

/// The template `--template` names.
fn template(choice: Choice) -> &'static Template {
    match choice {
        Choice::SwiftStarter => &templates::SWIFT_STARTER,
        Choice::PhotoNotes => &templates::PHOTO_NOTES,
        Choice::UserPool => &templates::USER_POOL,
    }
}

/// The stack's name and where it came from: `--name` (refused when it is not
/// a valid stack name), else the directory's name.
fn stack_name(args: &InitArgs, template: &Template) -> Result<(String, String)> {
    match &args.name {
        Some(name) if templates::is_stack_name(name) => {
            Ok((name.clone(), "from --name".to_string()))
        }
        Some(name) => Err(Failure(format!(
            "`{name}` is not a valid stack name: 1 to 40 characters of a-z, 0-9 and `-`, starting with a letter{}",
            templates::stack_name_from(name)
                .map(|n| format!("; `{n}` would do"))
                .unwrap_or_default()
        ))),
        None => {
            let dir = &args.dir;
            let dir_name = std::fs::canonicalize(dir)
                .or_else(|_| std::path::absolute(dir))
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            Ok(name_from_dir(dir_name.as_deref(), template))
        }
    }
}

/// The stack's name made from the directory's name, else the template's.
fn name_from_dir(dir_name: Option<&str>, template: &Template) -> (String, String) {
    match (dir_name.and_then(templates::stack_name_from), dir_name) {
        (Some(name), Some(dir_name)) if name == dir_name => (
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

/// ` --stack stacks/NAME.toml` for the suggested commands, or nothing when
/// the commands find the stack alone.
fn stack_flag(found_alone: bool, name: &str) -> String {
    let stack_file = templates::stack_file(name);
    if found_alone {
        String::new()
    } else {
        format!(" --stack {}", stack_file.display())
    }
}

/// What `init` prints: the name, the files written, and what to run next.
fn report(
    dir: &Path,
    name: &str,
    why: &str,
    template: &Template,
    files: &[File],
    stack_flag: &str,
) -> String {
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
    for f in files {
        text.push_str(&format!(
            "  {:<width$}  {}\n",
            f.path.display().to_string(),
            f.what
        ));
    }
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
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::ValueEnum;

    use super::*;

    fn args(name: Option<&str>) -> InitArgs {
        InitArgs {
            template: Choice::SwiftStarter,
            name: name.map(str::to_string),
            dir: PathBuf::from("."),
        }
    }

    #[test]
    fn each_template_flag_writes_the_template_of_that_name() {
        for choice in Choice::value_variants() {
            let flag = choice.to_possible_value().unwrap();
            assert_eq!(template(*choice).name, flag.get_name());
        }
    }

    #[test]
    fn a_valid_name_flag_is_taken_as_is() {
        let (name, why) = stack_name(&args(Some("notes-app")), &templates::SWIFT_STARTER).unwrap();
        assert_eq!((name.as_str(), why.as_str()), ("notes-app", "from --name"));
    }

    #[test]
    fn an_invalid_name_flag_is_refused_with_a_name_that_would_do() {
        let e = stack_name(&args(Some("My App")), &templates::SWIFT_STARTER).unwrap_err();
        assert_eq!(
            e.0,
            "`My App` is not a valid stack name: 1 to 40 characters of a-z, 0-9 and `-`, starting with a letter; `my-app` would do"
        );
    }

    #[test]
    fn the_directory_name_is_the_stack_name_or_made_into_one() {
        let (name, why) = name_from_dir(Some("notes"), &templates::PHOTO_NOTES);
        assert_eq!(name, "notes");
        assert_eq!(why, "the directory's name; pass --name to choose another");
        let (name, why) = name_from_dir(Some("My App"), &templates::PHOTO_NOTES);
        assert_eq!(name, "my-app");
        assert_eq!(
            why,
            "made from the directory's name `My App`; pass --name to choose another"
        );
    }

    #[test]
    fn a_directory_name_with_nothing_usable_falls_back_to_the_template_name() {
        for dir_name in [None, Some("___")] {
            let (name, why) = name_from_dir(dir_name, &templates::PHOTO_NOTES);
            assert_eq!(name, "photo-notes", "{dir_name:?}");
            assert!(why.starts_with("the template's name"), "{why}");
        }
    }

    #[test]
    fn the_suggested_commands_name_the_stack_unless_it_is_found_alone() {
        assert_eq!(stack_flag(true, "notes"), "");
        assert_eq!(stack_flag(false, "notes"), " --stack stacks/notes.toml");
    }

    #[test]
    fn the_report_lists_the_files_and_the_next_commands_aligned() {
        let files = vec![File {
            path: PathBuf::from("stacks/notes.toml"),
            text: String::new(),
            what: "the stack".to_string(),
        }];
        let text = report(
            Path::new("."),
            "notes",
            "from --name",
            &templates::PHOTO_NOTES,
            &files,
            "",
        );
        assert_eq!(
            text,
            "stack name `notes` (from --name)\n\
             wrote the photo-notes template to the current directory:\n\
             \x20 stacks/notes.toml  the stack\n\
             \n\
             next:\n\
             \x20 mobile-backend validate   # offline checks; never calls AWS\n\
             \x20 mobile-backend plan       # what `up` would create, read from live AWS\n\
             \x20 mobile-backend up         # create it (shows the plan and asks first)\n\
             editor help: `mobile-backend schema > mobile-backend.schema.json`, then see the stack file's first lines\n"
        );
    }

    #[test]
    fn written_elsewhere_the_report_says_where_and_to_cd_there_first() {
        let text = report(
            Path::new("my app"),
            "my-app",
            "why",
            &templates::PHOTO_NOTES,
            &[],
            " --stack stacks/my-app.toml",
        );
        assert!(
            text.contains("wrote the photo-notes template to my app:\n"),
            "{text}"
        );
        assert!(text.contains("\nnext:\n  cd 'my app'\n"), "{text}");
        assert!(
            text.contains(
                "  mobile-backend validate --stack stacks/my-app.toml   # offline checks"
            ),
            "{text}"
        );
    }
}
