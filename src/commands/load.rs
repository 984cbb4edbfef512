//! Finding and loading the stack file, refusing kinds that cannot be
//! provisioned yet, and connecting to AWS for it.

use std::path::{Path, PathBuf};

use super::{Failure, Result};
use crate::aws::{Aws, Settings};
use crate::cli::GlobalArgs;
use crate::render;
use crate::stack::{self, Stack};

/// `--stack`, else `$MOBILE_BACKEND_STACK` (clap reads it), else the only
/// `*.toml` in `stacks/`.
fn stack_path(g: &GlobalArgs) -> Result<PathBuf> {
    if let Some(p) = &g.stack {
        return Ok(p.clone());
    }
    let dir = Path::new("stacks");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    only_stack_file(found)
}

/// The one stack file found in `stacks/`; none, or several, is an error
/// that says what to do.
fn only_stack_file(mut found: Vec<PathBuf>) -> Result<PathBuf> {
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
    load_by(g, |path| stack::load_stage(path, g.stage.as_deref()))
}

/// The stack file as every stage shares it (`stages`): no stage, and
/// `${stack.stage}` allowed.
pub(super) fn load_any_stage(g: &GlobalArgs) -> Result<Stack> {
    load_by(g, stack::load_any_stage)
}

fn load_by(
    g: &GlobalArgs,
    read: impl FnOnce(&Path) -> std::result::Result<Stack, stack::Diagnostics>,
) -> Result<Stack> {
    let path = stack_path(g)?;
    let color = render::stderr_color(g.no_color);
    let stack = read(&path).map_err(|d| Failure(d.render(color).trim_end().to_string()))?;
    let warnings = stack.sources.render_warnings(color);
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(stack)
}

pub(super) async fn connect(g: &GlobalArgs, stack: &Stack) -> Result<Aws> {
    Aws::connect(&settings(g, stack)).await.map_err(Failure)
}

/// The clients for the stack, before STS is asked who we are
/// ([`Aws::identify`]).
pub(super) async fn clients(g: &GlobalArgs, stack: &Stack) -> Result<Aws> {
    Aws::unidentified(&settings(g, stack))
        .await
        .map_err(Failure)
}

fn settings(g: &GlobalArgs, stack: &Stack) -> Settings {
    Settings {
        region: g.region.clone(),
        stack_region: stack.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_stack_file_in_stacks_is_the_one_used() {
        let only = only_stack_file(vec![PathBuf::from("stacks/demo.toml")]).unwrap();
        assert_eq!(only, Path::new("stacks/demo.toml"));
    }

    #[test]
    fn no_stack_file_says_the_three_ways_to_name_one() {
        let e = only_stack_file(Vec::new()).unwrap_err();
        assert_eq!(
            e.0,
            "no stack file: pass --stack FILE, set MOBILE_BACKEND_STACK, or put one *.toml in stacks/"
        );
    }

    #[test]
    fn several_stack_files_are_listed_in_order_and_none_is_guessed() {
        let e = only_stack_file(vec![
            PathBuf::from("stacks/prod.toml"),
            PathBuf::from("stacks/dev.toml"),
        ])
        .unwrap_err();
        assert_eq!(
            e.0,
            "stacks/ holds 2 stack files (stacks/dev.toml, stacks/prod.toml); pass --stack FILE to choose one"
        );
    }

    #[test]
    fn stack_flag_wins_over_the_stacks_directory() {
        let g = GlobalArgs {
            stack: Some(PathBuf::from("elsewhere/mine.toml")),
            ..GlobalArgs::default()
        };
        assert_eq!(stack_path(&g).unwrap(), Path::new("elsewhere/mine.toml"));
    }
}
