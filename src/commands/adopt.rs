//! `adopt`: write a stack file that adopts resources made outside this tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::print::{emit, shell_word};
use super::{Failure, Result};
use crate::aws::{Aws, Settings};
use crate::cli::GlobalArgs;

/// `adopt`: scans the account and region and writes a stack file (and its
/// policy files) that adopts what it finds. Never overwrites a file; checks
/// every path before writing any.
pub(super) async fn run(g: &GlobalArgs, args: &crate::cli::AdoptArgs) -> Result<ExitCode> {
    use crate::adopt;

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
    let list: Vec<String> = scan
        .found
        .iter()
        .map(|f| format!("{} (`{}`)", f.address, f.id))
        .collect();
    eprintln!(
        "adopting {} resource{} into stack `{}`: {}",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        scan.stack,
        list.join(", ")
    );
    let Some(path) = &args.write else {
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
        emit(&text)?;
        if !rendered.files.is_empty() {
            eprintln!("note: the policy documents are printed as comments; pass --write FILE to write them as files");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let targets: Vec<(PathBuf, &str)> = rendered
        .files
        .iter()
        .map(|f| {
            let rest = f.relative.strip_prefix(&relative).unwrap_or(&f.relative);
            (policies_dir.join(rest), f.text.as_str())
        })
        .collect();
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
    let write_new = |p: &Path, text: &str| -> Result<()> {
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
    };
    write_new(path, &rendered.stack)?;
    let mut written = vec![path.display().to_string()];
    for (p, text) in &targets {
        write_new(p, text)?;
        written.push(p.display().to_string());
    }
    let mut text = format!("wrote stack `{}`:\n", scan.stack);
    for w in &written {
        text.push_str(&format!("  {w}\n"));
    }
    text.push_str(&format!(
        "next: `mobile-backend validate --stack {p}`, then `mobile-backend plan --stack {p}` (only the ownership tags are added), then `up`\n",
        p = shell_word(&path.display().to_string())
    ));
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
