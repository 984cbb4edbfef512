//! Saved plans (`plan --out`): reading one, and refusing it unless it is the
//! plan made now from the same inputs.

use std::path::{Path, PathBuf};

use super::{Failure, Result};
use crate::plan::fingerprint::{Fingerprint, Saved};
use crate::plan::{Mode, Plan};
use crate::render;
use crate::stack::Stack;

/// Reads the saved plan named on the command line.
pub(super) fn read_saved(path: Option<&Path>) -> Result<Option<(PathBuf, Saved)>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure(format!(
            "cannot read the saved plan {}: {e}",
            path.display()
        ))
    })?;
    let saved = Saved::parse(&text).map_err(|why| {
        Failure(format!(
            "{} cannot be applied: {why}. Nothing was changed",
            path.display()
        ))
    })?;
    Ok(Some((path.to_path_buf(), saved)))
}

/// Applies a saved plan only if it is the plan made now from the same inputs.
pub(super) fn check_saved(
    (path, saved): &(PathBuf, Saved),
    stack: &Stack,
    plan: &Plan,
    now: &Fingerprint,
) -> Result<()> {
    let file = path.display();
    if saved.stage != stack.stage {
        let name = |s: &Option<String>| match s {
            Some(s) => format!("stage `{s}`"),
            None => "no stage".to_string(),
        };
        return Err(Failure(format!(
            "{file} is a plan for {} of stack `{}`, but this run is for {} (--stage, MOBILE_BACKEND_STAGE); apply it with the stage it was made for, or make a plan for this one. Nothing was changed",
            name(&saved.stage),
            stack.base_name,
            name(&stack.stage)
        )));
    }
    if saved.stack != stack.name {
        return Err(Failure(format!(
            "{file} is a plan for stack `{}`, but {} is stack `{}`; pass the stack file it was made from. Nothing was changed",
            saved.stack,
            stack.file.display(),
            stack.name
        )));
    }
    if saved.mode != plan.mode {
        return Err(Failure(match saved.mode {
            Mode::Destroy => format!(
                "{file} is a destroy plan (`plan --destroy`); apply it with `mobile-backend destroy {file}`. Nothing was changed"
            ),
            Mode::Apply => format!(
                "{file} is a plan for `up`, not for `destroy`; apply it with `mobile-backend up {file}`. Nothing was changed"
            ),
        }));
    }
    let then = saved
        .fingerprint
        .as_ref()
        .ok_or_else(|| Failure(format!("{file} has no fingerprint")))?;
    let differences = then.differences(now);
    if !differences.is_empty() {
        let command = match plan.mode {
            Mode::Apply => "plan",
            Mode::Destroy => "plan --destroy",
        };
        return Err(Failure(format!(
            "the saved plan {file} is out of date; what it was made from has changed since:\n  - {}\nNothing was changed. Make a new plan with `mobile-backend {command} --out {file}`, review it, and apply that",
            differences.join("\n  - ")
        )));
    }
    let made_now = render::json::document(plan);
    if made_now.get("resource_changes") != Some(&saved.resource_changes) {
        return Err(Failure(format!(
            "the saved plan {file} is not the plan its inputs give (was the file edited?). Nothing was changed; make a new plan with `mobile-backend plan --out {file}`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::commands::fixtures::{self, change, plan};
    use crate::plan::Action;

    const FILE: &str = "demo.plan.json";

    fn fingerprint(region: &str) -> Fingerprint {
        Fingerprint::new("123456789012", region, BTreeMap::new(), BTreeMap::new())
    }

    /// `plan` as `plan --out` writes it, read back.
    fn saved(plan: &Plan, fingerprint: &Fingerprint) -> (PathBuf, Saved) {
        let text = render::json::to_string(plan, Some(fingerprint));
        (PathBuf::from(FILE), Saved::parse(&text).unwrap())
    }

    fn demo_plan(mode: Mode) -> Plan {
        plan(
            mode,
            vec![change("table.notes", "demo-notes", Action::Create)],
        )
    }

    #[test]
    fn the_same_plan_from_the_same_inputs_is_applied() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let p = demo_plan(Mode::Apply);
        let now = fingerprint("eu-west-1");
        assert!(check_saved(&saved(&p, &now), &stack, &p, &now).is_ok());
    }

    #[test]
    fn a_plan_for_another_stage_is_refused_naming_both() {
        let (_dir, path, _) = fixtures::stack(fixtures::DEMO);
        let load = |stage| crate::stack::load_stage(&path, stage).unwrap();
        let (dev, ann) = (load(Some("dev")), load(Some("ann")));
        let mut p = demo_plan(Mode::Apply);
        p.stack = dev.name.clone();
        p.stage = dev.stage.clone();
        let now = fingerprint("eu-west-1");
        let file = saved(&p, &now);
        assert_eq!(file.1.stage.as_deref(), Some("dev"), "the file carries it");
        assert!(check_saved(&file, &dev, &p, &now).is_ok());
        let e = check_saved(&file, &ann, &p, &now).unwrap_err();
        assert_eq!(
            e.0,
            format!("{FILE} is a plan for stage `dev` of stack `demo`, but this run is for stage `ann` (--stage, MOBILE_BACKEND_STAGE); apply it with the stage it was made for, or make a plan for this one. Nothing was changed")
        );
        let unstaged = load(None);
        let e = check_saved(&file, &unstaged, &p, &now).unwrap_err();
        assert!(e.0.contains("but this run is for no stage"), "{}", e.0);
    }

    #[test]
    fn a_plan_for_another_stack_is_refused() {
        let (_dir, path, stack) = fixtures::stack(fixtures::DEMO);
        let p = demo_plan(Mode::Apply);
        let now = fingerprint("eu-west-1");
        let mut file = saved(&p, &now);
        file.1.stack = "other".to_string();
        let e = check_saved(&file, &stack, &p, &now).unwrap_err();
        assert_eq!(
            e.0,
            format!("{FILE} is a plan for stack `other`, but {} is stack `demo`; pass the stack file it was made from. Nothing was changed", path.display())
        );
    }

    #[test]
    fn a_destroy_plan_given_to_up_names_the_command_that_applies_it() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let now = fingerprint("eu-west-1");
        let file = saved(&demo_plan(Mode::Destroy), &now);
        let e = check_saved(&file, &stack, &demo_plan(Mode::Apply), &now).unwrap_err();
        assert_eq!(
            e.0,
            format!("{FILE} is a destroy plan (`plan --destroy`); apply it with `mobile-backend destroy {FILE}`. Nothing was changed")
        );
        let file = saved(&demo_plan(Mode::Apply), &now);
        let e = check_saved(&file, &stack, &demo_plan(Mode::Destroy), &now).unwrap_err();
        assert_eq!(
            e.0,
            format!("{FILE} is a plan for `up`, not for `destroy`; apply it with `mobile-backend up {FILE}`. Nothing was changed")
        );
    }

    #[test]
    fn a_plan_whose_inputs_changed_is_out_of_date_and_says_how_to_make_a_new_one() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let p = demo_plan(Mode::Destroy);
        let file = saved(&p, &fingerprint("eu-west-1"));
        let e = check_saved(&file, &stack, &p, &fingerprint("us-east-1")).unwrap_err();
        assert!(
            e.0.starts_with(&format!("the saved plan {FILE} is out of date; what it was made from has changed since:\n  - ")),
            "{e}"
        );
        assert!(
            e.0.ends_with(&format!("Nothing was changed. Make a new plan with `mobile-backend plan --destroy --out {FILE}`, review it, and apply that")),
            "{e}"
        );
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let (_dir, _, stack) = fixtures::stack(fixtures::DEMO);
        let now = fingerprint("eu-west-1");
        let file = saved(&demo_plan(Mode::Apply), &now);
        let made_now = plan(
            Mode::Apply,
            vec![change("table.notes", "demo-notes", Action::NoOp)],
        );
        let e = check_saved(&file, &stack, &made_now, &now).unwrap_err();
        assert!(
            e.0.contains("is not the plan its inputs give (was the file edited?)"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_saved_plan_says_which_file() {
        assert!(read_saved(None).unwrap().is_none());
        let e = read_saved(Some(Path::new("no/such/plan.json"))).unwrap_err();
        assert!(
            e.0.starts_with("cannot read the saved plan no/such/plan.json: "),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_is_not_a_saved_plan_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "{}").unwrap();
        let e = read_saved(Some(&path)).unwrap_err();
        assert!(
            e.0.starts_with(&format!("{} cannot be applied: ", path.display())),
            "{e}"
        );
        assert!(e.0.ends_with(". Nothing was changed"), "{e}");
    }
}
