//! `outputs`: the stack's outputs read from live AWS, in one of the formats
//! mobile clients read, printed or written to a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::live::prepare;
use super::print::emit;
use super::secrets::read_secrets;
use super::{Failure, Result};
use crate::cli::GlobalArgs;
use crate::plan::{Action, Mode};
use crate::resource::{Live, Ownership};
use crate::stack::Address;

/// `outputs`: every resource's outputs, read from live AWS (there is no
/// state file), as JSON, `KEY=value` lines, Swift constants, the AWS Mobile
/// SDK's `awsconfiguration.json` or Amplify's `amplify_outputs.json`; printed,
/// or written to `--write PATH`. Secrets are read, and shown, only with
/// `--include-secrets`.
pub(super) async fn run(g: &GlobalArgs, args: &crate::cli::OutputsArgs) -> Result<ExitCode> {
    use crate::cli::OutputFormat;
    use crate::outputs;

    let (stack, aws, plan, reads) = prepare(g, Mode::Apply).await?;
    // Ours, at the name the plan uses, and still declared (a leftover the
    // plan would delete is no longer the stack's).
    let current: Vec<(&Address, &str)> = plan
        .resource_changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .map(|c| (&c.address, c.physical_name.as_str()))
        .collect();
    let lives: BTreeMap<Address, Live> = reads
        .lives
        .into_iter()
        .filter(|((address, name), l)| {
            l.ownership == Ownership::Ours && current.contains(&(address, name.as_str()))
        })
        .map(|((address, _), l)| (address, l))
        .collect();
    if lives.is_empty() {
        return Err(Failure(format!(
            "no resource of stack `{}` exists in account {} ({}), so there are no outputs: run `mobile-backend up` first",
            stack.name, aws.account_id, aws.region
        )));
    }
    let missing: Vec<String> = stack
        .steps
        .keys()
        .filter(|a| !lives.contains_key(*a))
        .map(|a| {
            match plan
                .resource_changes
                .iter()
                .find(|c| &c.address == a && c.conflict.is_some())
            {
                Some(c) => format!("{a} (`{}` belongs to someone else)", c.physical_name),
                None => a.to_string(),
            }
        })
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "warning: not in AWS yet, so not in the outputs: {}; run `mobile-backend up` to create {}",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        );
    }

    let secrets = if args.include_secrets {
        Some(read_secrets(&aws, &lives).await?)
    } else {
        None
    };
    let ctx = outputs::Context {
        stack: &stack.name,
        stage: stack.stage.as_deref(),
        account_id: &aws.account_id,
        region: &aws.region,
    };
    let (render, what): (fn(_, _, _) -> outputs::Rendered, &str) = match args.format {
        OutputFormat::Json => (outputs::json, "outputs (JSON)"),
        OutputFormat::Env => (outputs::env, "outputs (KEY=value lines)"),
        OutputFormat::Swift => (outputs::swift, "Swift constants"),
        OutputFormat::Awsconfiguration => (outputs::awsconfiguration, "awsconfiguration.json"),
        OutputFormat::Amplify => (outputs::amplify, "amplify_outputs.json"),
    };
    let rendered = render(&ctx, &lives, secrets.as_ref());
    for note in &rendered.notes {
        eprintln!("note: {note}");
    }
    match &args.write {
        None => emit(&rendered.text)?,
        Some(path) => {
            write_outputs(path, &rendered.text, rendered.holds_secrets)?;
            eprintln!(
                "wrote the {what} of stack `{}` to {}{}",
                stack.name,
                path.display(),
                if rendered.holds_secrets {
                    " (it holds secrets: readable by you only; keep it out of version control)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes an outputs file; one that holds secrets is readable by its owner
/// only (mode 0600 on unix), set before anything is written to it.
fn write_outputs(path: &Path, text: &str, holds_secrets: bool) -> Result<()> {
    let fail = |e: std::io::Error| {
        Failure(format!(
            "cannot write the outputs to {}: {e}; check that its directory exists and is writable",
            path.display()
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(not(unix))]
    let _ = holds_secrets;
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    // A file that existed keeps its mode through `open`: narrow it first.
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(text.as_bytes())
        .and_then(|_| file.flush())
        .map_err(fail)
}
