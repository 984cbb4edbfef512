//! `adopt`: write a stack file that adopts resources made outside this tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::print::{emit, shell_word};
use super::{Failure, Result};
use crate::adopt::{self, Contents, Found, Rendered};
use crate::aws::{Aws, Settings};
use crate::cli::{AdoptArgs, GlobalArgs};

/// `adopt`: scans the account and region and writes a stack file (and its
/// policy files) that adopts what it finds. Never overwrites a file; checks
/// every path before writing any.
pub(super) async fn run(g: &GlobalArgs, args: &AdoptArgs) -> Result<ExitCode> {
    let settings = Settings {
        region: g.region.clone(),
        stack_region: None,
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    // Refuse before scanning when the stack file exists already.
    if let Some(path) = &args.write {
        if path.exists() {
            return Err(Failure(format!(
                "adopt refuses to overwrite {}; nothing was written. Name a new file, or move it away",
                path.display()
            )));
        }
    }
    let aws = Aws::connect(&settings).await.map_err(Failure)?;
    let request = adopt::Request {
        name_prefix: args.name_prefix.clone(),
        includes: args.include.clone(),
        stack_name: args.stack_name.clone(),
    };
    let scan = adopt::scan(&aws, &request).await.map_err(Failure)?;
    if scan.found.is_empty() {
        return Err(Failure(format!(
            "found nothing to adopt in account {} ({}){}; check --region and --name-prefix, or name resources with --include kind.key=id",
            aws.account_id,
            aws.region,
            args.name_prefix
                .as_deref()
                .map(|p| format!(" named `{p}...`"))
                .unwrap_or_default()
        )));
    }
    let (dirs, ctx) = places(&aws, args.write.as_deref());
    let rendered = adopt::render(&scan.stack, &scan.found, &ctx, scan.notes);
    for note in &rendered.notes {
        eprintln!("not expressed: {note}");
    }
    eprintln!("{}", adopting(&scan.stack, &scan.found));
    let Some(path) = &args.write else {
        emit(&printed(&rendered))?;
        if !rendered.files.is_empty() {
            eprintln!("note: the policy documents are printed as comments, and functions' code files are only listed; pass --write FILE to write them as files");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let targets = targets(&rendered, &dirs);
    let written = write_all(path, &rendered.stack, &targets)?;
    emit(&written_report(&scan.stack, &written, path))?;
    Ok(ExitCode::SUCCESS)
}

/// Where the files the stack names go, as (how the stack names the
/// directory, the directory): policies, functions' code and API models,
/// placed as [`adopt::policies_dir`] says; and the context of the written
/// stack.
fn places(aws: &Aws, write: Option<&Path>) -> (Vec<(String, PathBuf)>, adopt::Context) {
    let ((policies, policies_relative), (functions, functions_relative), (models, models_relative)) =
        match write {
            Some(path) => (
                adopt::policies_dir(path),
                adopt::functions_dir(path),
                adopt::models_dir(path),
            ),
            None => (
                (PathBuf::from("policies"), "../policies/".to_string()),
                (PathBuf::from("functions"), "../functions/".to_string()),
                (PathBuf::from("api"), "../api/".to_string()),
            ),
        };
    let ctx = adopt::Context {
        partition: aws.partition.clone(),
        region: aws.region.clone(),
        policies_dir: policies_relative.clone(),
        functions_dir: functions_relative.clone(),
        models_dir: models_relative.clone(),
    };
    (
        vec![
            (policies_relative, policies),
            (functions_relative, functions),
            (models_relative, models),
        ],
        ctx,
    )
}

/// The line that says what is adopted: each resource with its AWS id.
fn adopting(stack: &str, found: &[Found]) -> String {
    let list: Vec<String> = found
        .iter()
        .map(|f| format!("{} (`{}`)", f.address, f.id))
        .collect();
    format!(
        "adopting {} resource{} into stack `{}`: {}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        stack,
        list.join(", ")
    )
}

/// Without `--write`: the stack file, then each policy document as comments,
/// and the code files of functions by name and size.
fn printed(rendered: &Rendered) -> String {
    let mut text = rendered.stack.clone();
    for f in &rendered.files {
        match &f.contents {
            Contents::Text(body) => {
                text.push_str(&format!(
                    "\n# --- {} (written with --write) ---\n",
                    f.relative
                ));
                for line in body.lines() {
                    text.push_str(&format!("# {line}\n"));
                }
            }
            Contents::Code { bytes, .. } => text.push_str(&format!(
                "# --- {} ({} bytes of the live package, written with --write) ---\n",
                f.relative,
                bytes.len()
            )),
        }
    }
    text
}

/// Where each file goes: under the directory of the first of `dirs` whose
/// prefix (as the stack file names it) its path starts with.
fn targets<'a>(
    rendered: &'a Rendered,
    dirs: &[(String, PathBuf)],
) -> Vec<(PathBuf, &'a adopt::File)> {
    rendered
        .files
        .iter()
        .map(|f| {
            let place = dirs.iter().find_map(|(prefix, dir)| {
                Some(dir.join(f.relative.strip_prefix(prefix.as_str())?))
            });
            (place.unwrap_or_else(|| PathBuf::from(&f.relative)), f)
        })
        .collect()
}

/// Writes the stack file and its files, after checking every one of them:
/// a policy file must not exist; a code file may, only with the same bytes
/// (it is then kept). Returns the paths written, stack file first, and
/// those kept.
fn write_all(path: &Path, stack: &str, targets: &[(PathBuf, &adopt::File)]) -> Result<Vec<String>> {
    let mut existing = Vec::new();
    let mut differing = Vec::new();
    let mut kept = Vec::new();
    for (p, f) in targets {
        match &f.contents {
            Contents::Text(_) if p.exists() => existing.push(p.display().to_string()),
            Contents::Code { bytes, executable } if p.exists() => {
                if crate::resource::function_code::identical(p, bytes, *executable) {
                    kept.push(p.clone());
                } else {
                    differing.push(p.display().to_string());
                }
            }
            _ => {}
        }
    }
    if !existing.is_empty() {
        return Err(Failure(format!(
            "adopt refuses to overwrite {}; nothing was written. Move {} away, or write the stack elsewhere",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    if !differing.is_empty() {
        return Err(Failure(format!(
            "adopt refuses to overwrite {}: {} the live package of the function holds; nothing was written. Move {} (or the function's folder) away, or write the stack elsewhere, then run adopt again",
            differing.join(", "),
            if differing.len() == 1 { "it differs from the file" } else { "they differ from the files" },
            if differing.len() == 1 { "it" } else { "them" }
        )));
    }
    write_new(path, stack.as_bytes(), false)?;
    let mut written = vec![path.display().to_string()];
    for (p, f) in targets {
        if kept.contains(p) {
            written.push(format!("{} (there already, identical)", p.display()));
            continue;
        }
        let executable = matches!(
            f.contents,
            Contents::Code {
                executable: true,
                ..
            }
        );
        write_new(p, f.bytes(), executable)?;
        written.push(p.display().to_string());
    }
    Ok(written)
}

/// Writes a file that must not exist yet, making its directory first; an
/// executable one gets mode 0755 (on Unix).
fn write_new(p: &Path, bytes: &[u8], executable: bool) -> Result<()> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    let mut file = options
        .open(p)
        .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))?;
    file.write_all(bytes)
        .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))
}

/// What `adopt --write` prints: the files written and what to run next.
fn written_report(stack: &str, written: &[String], path: &Path) -> String {
    let mut text = format!("wrote stack `{}`:\n", stack);
    for w in written {
        text.push_str(&format!("  {w}\n"));
    }
    text.push_str(&format!(
        "next: `mobile-backend validate --stack {p}`, then `mobile-backend plan --stack {p}` (only the ownership tags are added), then `up`\n",
        p = shell_word(&path.display().to_string())
    ));
    text
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::commands::fixtures::address;

    fn found(address_text: &str, id: &str) -> Found {
        Found {
            address: address(address_text),
            id: id.to_string(),
            attributes: serde_json::Value::Null,
            outputs: BTreeMap::new(),
            parts: BTreeMap::new(),
            files: Vec::new(),
        }
    }

    fn policy(relative: &str, text: &str) -> adopt::File {
        adopt::File {
            relative: relative.to_string(),
            contents: Contents::Text(text.to_string()),
        }
    }

    fn code(relative: &str, bytes: &[u8], executable: bool) -> adopt::File {
        adopt::File {
            relative: relative.to_string(),
            contents: Contents::Code {
                bytes: bytes.to_vec(),
                executable,
            },
        }
    }

    fn rendered(files: &[(&str, &str)]) -> Rendered {
        Rendered {
            stack: "[stack]\nname = \"shop\"\n".to_string(),
            files: files
                .iter()
                .map(|(relative, text)| policy(relative, text))
                .collect(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_adopting_line_names_each_resource_with_its_aws_id() {
        assert_eq!(
            adopting("shop", &[found("table.orders", "shop-orders")]),
            "adopting 1 resource into stack `shop`: table.orders (`shop-orders`)"
        );
        assert_eq!(
            adopting(
                "shop",
                &[
                    found("table.orders", "shop-orders"),
                    found("bucket.photos", "shop-photos")
                ]
            ),
            "adopting 2 resources into stack `shop`: table.orders (`shop-orders`), bucket.photos (`shop-photos`)"
        );
    }

    #[test]
    fn printed_without_write_the_policies_follow_as_comments_so_the_output_stays_valid_toml() {
        let r = rendered(&[(
            "../policies/shop-guest.json",
            "{\n  \"Version\": \"2012-10-17\"\n}",
        )]);
        let text = printed(&r);
        assert_eq!(
            text,
            "[stack]\nname = \"shop\"\n\n# --- ../policies/shop-guest.json (written with --write) ---\n# {\n#   \"Version\": \"2012-10-17\"\n# }\n"
        );
        toml::from_str::<toml::Table>(&text).expect("still TOML");
    }

    #[test]
    fn policy_and_code_files_go_under_their_directories_beside_stacks() {
        let mut r = rendered(&[("../policies/shop-guest.json", "{}")]);
        r.files.push(code("../functions/api/index.js", b"x", false));
        let stack_file = Path::new("app/stacks/shop.toml");
        let (policies, p) = adopt::policies_dir(stack_file);
        let (functions, f) = adopt::functions_dir(stack_file);
        assert_eq!((p.as_str(), f.as_str()), ("../policies/", "../functions/"));
        let targets = targets(&r, &[(p, policies), (f, functions)]);
        let paths: Vec<&PathBuf> = targets.iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                &PathBuf::from("app/policies/shop-guest.json"),
                &PathBuf::from("app/functions/api/index.js")
            ]
        );
        // Beside a stack file elsewhere, inside its directory.
        assert_eq!(
            adopt::functions_dir(Path::new("out/shop.toml")),
            (PathBuf::from("out/functions"), "functions/".to_string())
        );
    }

    #[test]
    fn printed_without_write_code_files_are_listed_by_size() {
        let mut r = rendered(&[]);
        r.files
            .push(code("../functions/api/index.js", b"abc", false));
        let text = printed(&r);
        assert!(
            text.ends_with("# --- ../functions/api/index.js (3 bytes of the live package, written with --write) ---\n"),
            "{text}"
        );
        toml::from_str::<toml::Table>(&text).expect("still TOML");
    }

    #[test]
    fn code_files_already_there_identical_are_kept_and_different_ones_refuse_everything() {
        let dir = tempfile::tempdir().unwrap();
        let stack_file = dir.path().join("shop.toml");
        let index = dir.path().join("functions/api/index.js");
        let run = dir.path().join("functions/api/bin/run");
        let (a, b) = (
            code("functions/api/index.js", b"exports.handler = 1;\n", false),
            code("functions/api/bin/run", b"#!/bin/sh\n", true),
        );
        let targets = [(index.clone(), &a), (run.clone(), &b)];
        let written = write_all(&stack_file, "[stack]\n", &targets).unwrap();
        assert_eq!(written.len(), 3, "{written:?}");
        assert_eq!(std::fs::read(&index).unwrap(), b"exports.handler = 1;\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
            assert_ne!(mode(&run) & 0o100, 0, "the executable bit is kept");
            assert_eq!(mode(&index) & 0o100, 0);
        }
        // Again, into the same place (another stack file): identical files are kept.
        let again = dir.path().join("again.toml");
        let written = write_all(&again, "[stack]\n", &targets).unwrap();
        assert!(
            written[1].ends_with("(there already, identical)"),
            "{written:?}"
        );
        // A file changed since is never written over, and nothing is written.
        std::fs::write(&index, "mine").unwrap();
        let third = dir.path().join("third.toml");
        let e = write_all(&third, "[stack]\n", &targets).unwrap_err();
        assert!(e.0.contains(&index.display().to_string()), "{e}");
        assert!(
            e.0.contains("differs from the file the live package"),
            "{e}"
        );
        assert!(!third.exists());
        assert_eq!(std::fs::read(&index).unwrap(), b"mine");
    }

    #[test]
    fn an_existing_policy_file_refuses_everything_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let stack_file = dir.path().join("shop.toml");
        let policy = dir.path().join("policies/shop-guest.json");
        std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
        std::fs::write(&policy, "mine").unwrap();
        let file = self::policy("policies/shop-guest.json", "{}");
        let e = write_all(&stack_file, "[stack]\n", &[(policy.clone(), &file)]).unwrap_err();
        assert!(e.0.starts_with("adopt refuses to overwrite "), "{e}");
        assert!(
            e.0.ends_with("; nothing was written. Move it away, or write the stack elsewhere"),
            "{e}"
        );
        assert!(!stack_file.exists(), "the stack file was written");
        assert_eq!(std::fs::read_to_string(&policy).unwrap(), "mine");
    }

    #[test]
    fn writing_makes_the_policies_directory_and_lists_the_stack_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let stack_file = dir.path().join("shop.toml");
        let policy = dir.path().join("policies/shop-guest.json");
        let file = self::policy("policies/shop-guest.json", "{}");
        let written = write_all(&stack_file, "[stack]\n", &[(policy.clone(), &file)]).unwrap();
        assert_eq!(
            written,
            [
                stack_file.display().to_string(),
                policy.display().to_string()
            ]
        );
        assert_eq!(std::fs::read_to_string(&stack_file).unwrap(), "[stack]\n");
        assert_eq!(std::fs::read_to_string(&policy).unwrap(), "{}");
    }

    #[test]
    fn the_next_steps_quote_a_stack_path_the_shell_would_split() {
        let text = written_report(
            "shop",
            &["my stacks/shop.toml".to_string()],
            Path::new("my stacks/shop.toml"),
        );
        assert_eq!(
            text,
            "wrote stack `shop`:\n  my stacks/shop.toml\nnext: `mobile-backend validate --stack 'my stacks/shop.toml'`, then `mobile-backend plan --stack 'my stacks/shop.toml'` (only the ownership tags are added), then `up`\n"
        );
    }
}
