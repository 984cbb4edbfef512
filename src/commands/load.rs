//! Finding and loading the stack file, refusing kinds that cannot be
//! provisioned yet, and connecting to AWS for it.

use std::path::{Path, PathBuf};

use super::{Failure, Result};
use crate::aws::{Aws, Settings};
use crate::cli::GlobalArgs;
use crate::render;
use crate::resource::ResourceType;
use crate::stack::{self, Stack};

/// `--stack`, else `$MOBILE_BACKEND_STACK` (clap reads it), else the only
/// `*.toml` in `stacks/`.
fn stack_path(g: &GlobalArgs) -> Result<PathBuf> {
    if let Some(p) = &g.stack {
        return Ok(p.clone());
    }
    let dir = Path::new("stacks");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Failure(
            "no stack file: pass --stack FILE, set MOBILE_BACKEND_STACK, or put one *.toml in stacks/".into(),
        )),
        _ => Err(Failure(format!(
            "stacks/ holds {} stack files ({}); pass --stack FILE to choose one",
            found.len(),
            found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

pub(super) fn load(g: &GlobalArgs) -> Result<Stack> {
    let path = stack_path(g)?;
    let color = render::stderr_color(g.no_color);
    let stack = stack::load(&path).map_err(|d| Failure(d.render(color).trim_end().to_string()))?;
    let warnings = stack.sources.render_warnings(color);
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(stack)
}

/// Refuses kinds this version validates but cannot provision yet.
pub(super) fn ensure_provisioned(stack: &Stack) -> Result<()> {
    let missing: Vec<String> = stack
        .steps
        .keys()
        .filter(|a| !ResourceType::of(a).provisioned())
        .map(|a| format!("`{a}` ({})", stack.location(a)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = ResourceType::ALL
        .iter()
        .filter(|t| t.provisioned())
        .map(|t| t.noun())
        .collect();
    Err(Failure(format!(
        "this version provisions only these: {}; the stack also declares {}, which pass `validate` but cannot be planned yet. Nothing was sent to AWS",
        kinds.join(", "),
        missing.join(", ")
    )))
}

pub(super) async fn connect(g: &GlobalArgs, stack: &Stack) -> Result<Aws> {
    let settings = Settings {
        region: g.region.clone(),
        stack_region: stack.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    Aws::connect(&settings).await.map_err(Failure)
}
