//! The plan engine on plain data: every action, replace paths, normalisation,
//! ownership conflicts, renames, removals and destroy, plus the rendered forms.

use serde_json::json;

use super::*;
use crate::resource::{Desired, Live, Ownership};

fn address(s: &str) -> Address {
    s.parse().expect("address")
}

fn table_attrs(range: &str, billing: &str, tags: serde_json::Value) -> Value {
    json!({
        "name": "demo-notes",
        "hash_key": { "name": "userId", "type": "S" },
        "range_key": { "name": range, "type": "S" },
        "billing": billing,
        "read_capacity": null,
        "write_capacity": null,
        "stream": "new_image",
        "global_secondary_indexes": {},
        "ttl_attribute": null,
        "deletion_protection": false,
        "tags": tags,
    })
}

fn owner_tags(id: &str) -> Value {
    json!({ "mobile-backend:stack": "demo", "mobile-backend:id": id })
}

fn desired(addr: &str, name: &str, attributes: Value, deps: &[&str]) -> Desired {
    Desired {
        address: address(addr),
        physical_name: name.into(),
        attributes,
        depends_on: deps.iter().map(|d| address(d)).collect(),
    }
}

fn live(addr: &str, name: &str, attributes: Value, ownership: Ownership) -> Live {
    Live {
        address: address(addr),
        physical_name: name.into(),
        attributes,
        outputs: Default::default(),
        ownership,
    }
}

fn input(
    mode: Mode,
    desired: Vec<Desired>,
    found: Vec<(&str, Option<Live>)>,
    elsewhere: Vec<Live>,
) -> Input {
    Input {
        stack: "demo".into(),
        stage: None,
        mode,
        desired,
        live: found.into_iter().map(|(a, l)| (address(a), l)).collect(),
        tagged_elsewhere: elsewhere,
    }
}

fn only(plan: &Plan) -> &ResourceChange {
    assert_eq!(plan.resource_changes.len(), 1, "{plan:#?}");
    &plan.resource_changes[0]
}

#[test]
fn absent_resources_are_created() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", None)],
        vec![],
    ));
    assert_eq!(only(&p).action, Action::Create);
    assert!(p.has_changes());
}

#[test]
fn identical_resources_are_no_ops() {
    let attrs = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    let d = desired("table.notes", "demo-notes", attrs.clone(), &[]);
    let l = live("table.notes", "demo-notes", attrs, Ownership::Ours);
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    assert_eq!(only(&p).action, Action::NoOp);
    assert!(only(&p).attribute_changes.is_empty());
    assert!(!p.has_changes());
}

#[test]
fn empty_and_absent_are_the_same() {
    let mut live_attrs = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    live_attrs["global_secondary_indexes"] = Value::Null;
    live_attrs.as_object_mut().unwrap().remove("ttl_attribute");
    let mut want = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    want["global_secondary_indexes"] = json!({});
    let p = plan(&input(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes", want, &[])],
        vec![(
            "table.notes",
            Some(live(
                "table.notes",
                "demo-notes",
                live_attrs,
                Ownership::Ours,
            )),
        )],
        vec![],
    ));
    assert_eq!(
        only(&p).action,
        Action::NoOp,
        "{:#?}",
        only(&p).attribute_changes
    );
}

#[test]
fn updatable_differences_update_in_place_per_attribute() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs(
            "noteId",
            "pay_per_request",
            json!({ "mobile-backend:stack": "demo", "mobile-backend:id": "table.notes", "team": "mobile" }),
        ),
        &[],
    );
    let mut have = table_attrs("noteId", "provisioned", owner_tags("table.notes"));
    have["read_capacity"] = json!(5);
    have["write_capacity"] = json!(5);
    let l = live("table.notes", "demo-notes", have, Ownership::Ours);
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Update);
    assert!(c.replace_paths.is_empty());
    let paths: Vec<&str> = c
        .attribute_changes
        .iter()
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["billing", "read_capacity", "write_capacity", "tags.team"]
    );
    let capacity = &c.attribute_changes[1];
    assert_eq!(capacity.before, Some(json!(5)));
    assert_eq!(capacity.after, None);
}

#[test]
fn key_schema_changes_replace_and_name_the_attribute() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("createdAt", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let l = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "provisioned", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.replace_paths, ["range_key"]);
    assert_eq!(c.action.as_list(), ["delete", "create"]);
    assert!(c
        .requires_allow_replace
        .as_deref()
        .unwrap()
        .contains("deletes every item"));
    let forcing: Vec<&str> = c
        .attribute_changes
        .iter()
        .filter(|a| a.forces_replacement)
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(forcing, ["range_key.name"]);
    assert_eq!(p.guarded().count(), 1);
}

#[test]
fn a_same_named_resource_that_is_not_ours_is_a_conflict_never_adopted() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let theirs = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", json!({})),
        Ownership::NotOurs {
            why: "it has no mobile-backend ownership tags".into(),
        },
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d.clone()],
        vec![("table.notes", Some(theirs.clone()))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Create);
    assert!(c
        .conflict
        .as_deref()
        .unwrap()
        .contains("not owned by this stack"));
    assert_eq!(p.conflicts().count(), 1);
    // Destroy leaves it alone.
    let p = plan(&input(
        Mode::Destroy,
        vec![d],
        vec![("table.notes", Some(theirs))],
        vec![],
    ));
    assert_eq!(only(&p).action, Action::NoOp);
    assert!(only(&p).reason.as_deref().unwrap().contains("left alone"));
    assert!(!p.has_changes());
}

#[test]
fn owned_resources_removed_from_the_file_are_deleted() {
    let keep = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let keep_live = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let gone = live(
        "table.old",
        "demo-old",
        table_attrs("id", "pay_per_request", owner_tags("table.old")),
        Ownership::Ours,
    );
    let p = plan(&input(
        Mode::Apply,
        vec![keep],
        vec![("table.notes", Some(keep_live))],
        vec![gone],
    ));
    let actions: Vec<(String, Action)> = p
        .resource_changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("table.notes".into(), Action::NoOp),
            ("table.old".into(), Action::Delete)
        ]
    );
    assert_eq!(
        p.resource_changes[1].reason.as_deref(),
        Some("no longer in the stack file")
    );
}

#[test]
fn a_renamed_resource_is_replaced_from_its_old_name() {
    let mut want = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    want["name"] = json!("demo-notes-v2");
    let d = desired("table.notes", "demo-notes-v2", want, &[]);
    let old = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", None)],
        vec![old],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.previous_physical_name.as_deref(), Some("demo-notes"));
    assert_eq!(c.replace_paths, ["name"]);
    assert!(c.requires_allow_replace.is_some());
}

#[test]
fn two_resources_claiming_one_address_is_an_error_not_a_guess() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let a = live(
        "table.notes",
        "demo-a",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let b = live(
        "table.notes",
        "demo-b",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", None)],
        vec![a, b],
    ));
    let c = only(&p);
    assert!(
        c.conflict.as_deref().unwrap().contains("more than one"),
        "{c:#?}"
    );
    assert!(c
        .conflict
        .as_deref()
        .unwrap()
        .contains("`demo-a`, `demo-b`"));
}

#[test]
fn unknown_values_are_changes_known_after_apply() {
    let mut want = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    want["tags"]["bucket"] = json!(UNKNOWN);
    let d = desired("table.notes", "demo-notes", want, &["bucket.files"]);
    let l = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        Ownership::Ours,
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Update);
    assert!(c.attribute_changes[0].after_unknown);
    let doc = crate::render::json::document(&p);
    assert_eq!(
        doc["resource_changes"][0]["change"]["after_unknown"],
        json!(["tags.bucket"])
    );
    assert_eq!(
        doc["resource_changes"][0]["change"]["after"]["tags"]["bucket"],
        Value::Null
    );
}

#[test]
fn destroy_deletes_only_what_is_ours_dependents_first() {
    let t = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let b = desired("bucket.files", "demo-files", json!({}), &["table.notes"]);
    let t_live = live("table.notes", "demo-notes", json!({}), Ownership::Ours);
    let b_live = live("bucket.files", "demo-files", json!({}), Ownership::Ours);
    let p = plan(&input(
        Mode::Destroy,
        vec![t, b],
        vec![
            ("table.notes", Some(t_live)),
            ("bucket.files", Some(b_live)),
        ],
        vec![],
    ));
    let order: Vec<String> = p
        .resource_changes
        .iter()
        .map(|c| format!("{} {:?}", c.address, c.action))
        .collect();
    assert_eq!(order, ["bucket.files Delete", "table.notes Delete"]);
}

#[test]
fn creates_are_ordered_by_dependencies_then_tutorial_kind_order() {
    let role_like = desired("bucket.a", "demo-a", json!({}), &["table.z"]);
    let table = desired("table.z", "demo-z", json!({}), &[]);
    let other = desired("bucket.b", "demo-b", json!({}), &[]);
    let p = plan(&input(
        Mode::Apply,
        vec![role_like, table, other],
        vec![("bucket.a", None), ("table.z", None), ("bucket.b", None)],
        vec![],
    ));
    let order: Vec<String> = p
        .resource_changes
        .iter()
        .map(|c| c.address.to_string())
        .collect();
    assert_eq!(order, ["table.z", "bucket.b", "bucket.a"]);
}

/// A plan with one of each action, for the rendering snapshots.
fn every_action() -> Plan {
    let create = desired(
        "bucket.files",
        "demo-files",
        json!({ "name": "demo-files", "versioning": true, "tags": owner_tags("bucket.files") }),
        &[],
    );
    let update_want = table_attrs("noteId", "pay_per_request", owner_tags("table.notes"));
    let mut update_have = update_want.clone();
    update_have["stream"] = json!("off");
    let update = desired("table.notes", "demo-notes", update_want, &[]);
    let replace = desired(
        "table.events",
        "demo-events",
        table_attrs("at", "pay_per_request", owner_tags("table.events")),
        &[],
    );
    let gone = live(
        "table.old",
        "demo-old",
        table_attrs("id", "pay_per_request", owner_tags("table.old")),
        Ownership::Ours,
    );
    plan(&input(
        Mode::Apply,
        vec![create, update, replace],
        vec![
            ("bucket.files", None),
            (
                "table.notes",
                Some(live(
                    "table.notes",
                    "demo-notes",
                    update_have,
                    Ownership::Ours,
                )),
            ),
            (
                "table.events",
                Some(live(
                    "table.events",
                    "demo-events",
                    table_attrs("id", "pay_per_request", owner_tags("table.events")),
                    Ownership::Ours,
                )),
            ),
        ],
        vec![gone],
    ))
}

#[test]
fn human_rendering_of_every_action() {
    insta::assert_snapshot!(crate::render::human::plan(&every_action(), false));
}

#[test]
fn json_rendering_is_a_versioned_terraform_like_document() {
    let doc = crate::render::json::document(&every_action());
    assert_eq!(doc["format_version"], json!(FORMAT_VERSION));
    insta::assert_json_snapshot!(doc);
}

#[test]
fn no_colour_without_a_terminal_or_with_the_flag() {
    assert!(!crate::render::use_color(false, false));
    assert!(!crate::render::use_color(true, true));
    let colored = crate::render::human::plan(&every_action(), true);
    assert!(colored.contains("\u{1b}["));
    assert!(!crate::render::human::plan(&every_action(), false).contains("\u{1b}["));
}

#[test]
fn parts_of_a_replaced_resource_are_replaced_with_it() {
    let pool_attrs = |alias: &str| json!({ "name": "demo-users", "alias_attributes": [alias], "tags": owner_tags("user_pool.users") });
    let client_attrs = json!({ "name": "ios", "auth_flows": ["ALLOW_USER_SRP_AUTH"] });
    let pool = desired("user_pool.users", "demo-users", pool_attrs("email"), &[]);
    let client = desired(
        "user_pool.users.clients.ios",
        "ios",
        client_attrs.clone(),
        &["user_pool.users"],
    );
    let p = plan(&input(
        Mode::Apply,
        vec![pool, client],
        vec![
            (
                "user_pool.users",
                Some(live(
                    "user_pool.users",
                    "demo-users",
                    pool_attrs("phone_number"),
                    Ownership::Ours,
                )),
            ),
            (
                "user_pool.users.clients.ios",
                Some(live(
                    "user_pool.users.clients.ios",
                    "ios",
                    client_attrs,
                    Ownership::Ours,
                )),
            ),
        ],
        vec![],
    ));
    let actions: Vec<(String, Action)> = p
        .resource_changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect();
    assert_eq!(
        actions,
        [
            ("user_pool.users".into(), Action::Replace),
            ("user_pool.users.clients.ios".into(), Action::Replace)
        ]
    );
    let client = &p.resource_changes[1];
    assert!(client
        .reason
        .as_deref()
        .unwrap()
        .contains("which is replaced"));
    assert!(
        client.requires_allow_replace.is_none(),
        "the pool carries the data-loss guard, not its client"
    );
}

#[test]
fn a_route_change_says_redeploy_and_which_routes() {
    let before = json!({ "name": "demo-notes", "routes": { "POST /notes": { "authorization": "aws_iam" } }, "deployment": "a1", "tags": owner_tags("api.notes") });
    let mut after = before.clone();
    after["routes"]["GET /notes/{id}"] = json!({ "authorization": "aws_iam" });
    after["deployment"] = json!("b2");
    let p = plan(&input(
        Mode::Apply,
        vec![desired("api.notes", "demo-notes", after, &[])],
        vec![(
            "api.notes",
            Some(live("api.notes", "demo-notes", before, Ownership::Ours)),
        )],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        c.reason.as_deref(),
        Some("redeploy: routes changed (GET /notes/{id}); a new deployment is made and the stage moved to it")
    );
}

fn adopting(id: &str) -> Ownership {
    Ownership::Adopting { id: id.into() }
}

#[test]
fn an_adopted_resource_is_an_update_that_adds_the_ownership_tags() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let l = live(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", json!({})),
        adopting("demo-notes"),
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::Update);
    assert!(c.conflict.is_none(), "{c:#?}");
    let paths: Vec<&str> = c
        .attribute_changes
        .iter()
        .map(|a| a.path.as_str())
        .collect();
    assert_eq!(
        paths,
        vec!["tags.mobile-backend:id", "tags.mobile-backend:stack"]
    );
    assert!(
        c.reason
            .as_deref()
            .unwrap_or_default()
            .contains("adopting `demo-notes`"),
        "{c:#?}"
    );
}

#[test]
fn an_adopted_resource_is_never_replaced() {
    let d = desired(
        "table.notes",
        "demo-notes",
        table_attrs("noteId", "pay_per_request", owner_tags("table.notes")),
        &[],
    );
    let l = live(
        "table.notes",
        "demo-notes",
        table_attrs("createdAt", "pay_per_request", json!({})),
        adopting("demo-notes"),
    );
    let p = plan(&input(
        Mode::Apply,
        vec![d],
        vec![("table.notes", Some(l))],
        vec![],
    ));
    let c = only(&p);
    assert_eq!(c.action, Action::NoOp);
    assert!(c.requires_allow_replace.is_none());
    let conflict = c.conflict.as_deref().unwrap_or_default();
    assert!(conflict.contains("adopting never replaces"), "{conflict}");
    assert!(conflict.contains("`range_key`"), "{conflict}");
    assert_eq!(p.conflicts().count(), 1);
}

#[test]
fn an_attribute_aws_fills_in_is_no_change_while_the_stack_leaves_it_unset() {
    let kind = ResourceType::of(&"user_pool.users".parse().unwrap());
    assert!(kind.is_defaulted("email_verification_message"));
    let live = json!({
        "email_verification_message": "Your verification code is {####}. ",
        "mfa": "off",
    });
    for unset in [
        json!({ "mfa": "off" }),
        json!({ "mfa": "off", "email_verification_message": null }),
        json!({ "mfa": "off", "email_verification_message": "" }),
    ] {
        assert_eq!(diff(kind, &live, &unset), vec![], "{unset}");
    }
    // Set by the stack, it is compared as any other attribute.
    let set = json!({ "mfa": "off", "email_verification_message": "Code: {####}" });
    let changes = diff(kind, &live, &set);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].path, "email_verification_message");
    assert_eq!(
        changes[0].before,
        Some(json!("Your verification code is {####}. "))
    );
    assert_eq!(changes[0].after, Some(json!("Code: {####}")));
    // And where AWS has none, setting one is a change.
    let changes = diff(kind, &json!({ "mfa": "off" }), &set);
    assert_eq!(changes.len(), 1);
    // An attribute that is not AWS-defaulted still changes to nothing.
    let changes = diff(kind, &live, &json!({ "email_verification_message": null }));
    assert_eq!(
        changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        vec!["mfa"]
    );
}
