//! `adopt`: write a stack file that adopts resources made outside this tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::print::{emit, shell_word};
use super::{Failure, Result};
use crate::adopt::{self, Found, Rendered};
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
    let (policies_dir, relative) = match &args.write {
        Some(path) => adopt::policies_dir(path),
        None => (PathBuf::from("policies"), "../policies/".to_string()),
    };
    let ctx = adopt::Context {
        partition: aws.partition.clone(),
        region: aws.region.clone(),
        policies_dir: relative.clone(),
    };
    let rendered = adopt::render(&scan.stack, &scan.found, &ctx, scan.notes);
    for note in &rendered.notes {
        eprintln!("not expressed: {note}");
    }
    eprintln!("{}", adopting(&scan.stack, &scan.found));
    let Some(path) = &args.write else {
        emit(&printed(&rendered))?;
        if !rendered.files.is_empty() {
            eprintln!("note: the policy documents are printed as comments; pass --write FILE to write them as files");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let targets = policy_targets(&rendered, &policies_dir, &relative);
    let written = write_all(path, &rendered.stack, &targets)?;
    emit(&written_report(&scan.stack, &written, path))?;
    Ok(ExitCode::SUCCESS)
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

/// Without `--write`: the stack file, then each policy document as comments.
fn printed(rendered: &Rendered) -> String {
    let mut text = rendered.stack.clone();
    for f in &rendered.files {
        text.push_str(&format!(
            "\n# --- {} (written with --write) ---\n",
            f.relative
        ));
        for line in f.text.lines() {
            text.push_str(&format!("# {line}\n"));
        }
    }
    text
}

/// Where each policy file goes: under `policies_dir`, at its path after the
/// `relative` prefix the stack file names it with.
fn policy_targets<'a>(
    rendered: &'a Rendered,
    policies_dir: &Path,
    relative: &str,
) -> Vec<(PathBuf, &'a str)> {
    rendered
        .files
        .iter()
        .map(|f| {
            let rest = f.relative.strip_prefix(relative).unwrap_or(&f.relative);
            (policies_dir.join(rest), f.text.as_str())
        })
        .collect()
}

/// Writes the stack file and its policy files, after checking that none of
/// the policy files exists; returns the paths written, stack file first.
fn write_all(path: &Path, stack: &str, targets: &[(PathBuf, &str)]) -> Result<Vec<String>> {
    let existing: Vec<String> = targets
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(Failure(format!(
            "adopt refuses to overwrite {}; nothing was written. Move {} away, or write the stack elsewhere",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        )));
    }
    write_new(path, stack)?;
    let mut written = vec![path.display().to_string()];
    for (p, text) in targets {
        write_new(p, text)?;
        written.push(p.display().to_string());
    }
    Ok(written)
}

/// Writes a file that must not exist yet, making its directory first.
fn write_new(p: &Path, text: &str) -> Result<()> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
        .map_err(|e| Failure(format!("cannot write {}: {e}", p.display())))?;
    file.write_all(text.as_bytes())
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
        }
    }

    fn rendered(files: &[(&str, &str)]) -> Rendered {
        Rendered {
            stack: "[stack]\nname = \"shop\"\n".to_string(),
            files: files
                .iter()
                .map(|(relative, text)| adopt::File {
                    relative: relative.to_string(),
                    text: text.to_string(),
                })
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
    fn policy_files_go_under_the_policies_directory_at_their_name() {
        let r = rendered(&[("../policies/shop-guest.json", "{}")]);
        let (dir, relative) = adopt::policies_dir(Path::new("app/stacks/shop.toml"));
        let targets = policy_targets(&r, &dir, &relative);
        assert_eq!(
            targets,
            [(PathBuf::from("app/policies/shop-guest.json"), "{}")]
        );
    }

    #[test]
    fn an_existing_policy_file_refuses_everything_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let stack_file = dir.path().join("shop.toml");
        let policy = dir.path().join("policies/shop-guest.json");
        std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
        std::fs::write(&policy, "mine").unwrap();
        let e = write_all(&stack_file, "[stack]\n", &[(policy.clone(), "{}")]).unwrap_err();
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
        let written = write_all(&stack_file, "[stack]\n", &[(policy.clone(), "{}")]).unwrap();
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
