//! The Markdown rendering on plans built by the plan engine from plain data
//! (and, for escaping, on a plan written by hand), snapshotted with insta.

use serde_json::{json, Value};

use super::*;
use crate::plan::{plan as make_plan, Input};
use crate::resource::{Desired, Live, Ownership};
use crate::stack::reference::UNKNOWN;
use crate::stack::Address;

fn address(s: &str) -> Address {
    s.parse().expect("address")
}

fn owner_tags(id: &str) -> Value {
    json!({ "mobile-backend:stack": "demo", "mobile-backend:id": id })
}

fn table_attrs(range: &str) -> Value {
    json!({
        "name": "demo-notes",
        "hash_key": { "name": "userId", "type": "S" },
        "range_key": { "name": range, "type": "S" },
        "billing": "pay_per_request",
        "read_capacity": null,
        "write_capacity": null,
        "stream": "new_image",
        "global_secondary_indexes": {
            "by_date": {
                "hash_key": { "name": "userId", "type": "S" },
                "range_key": { "name": "createdAt", "type": "N" },
                "projection": "all"
            }
        },
        "ttl_attribute": null,
        "deletion_protection": false,
        "tags": owner_tags("table.notes"),
    })
}

fn desired(addr: &str, name: &str, attributes: Value) -> Desired {
    Desired {
        address: address(addr),
        physical_name: name.into(),
        attributes,
        depends_on: Vec::new(),
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

/// Plans one stack `demo` from what it declares and what AWS holds.
fn planned(
    mode: Mode,
    declared: Vec<Desired>,
    found: Vec<(&str, Option<Live>)>,
    elsewhere: Vec<Live>,
) -> Plan {
    make_plan(&Input {
        stack: "demo".into(),
        stage: None,
        mode,
        desired: declared,
        live: found.into_iter().map(|(a, l)| (address(a), l)).collect(),
        tagged_elsewhere: elsewhere,
    })
}

/// Every snapshot is also checked for what must never be in a comment.
fn render(p: &Plan) -> String {
    let md = plan(p);
    assert!(!md.contains('\u{1b}'), "an ANSI escape code:\n{md}");
    assert!(!md.contains(UNKNOWN), "a raw unknown marker:\n{md}");
    for line in md.lines().filter(|l| l.starts_with("| ")) {
        assert_eq!(
            cells(line).len(),
            4,
            "a table row that is not 4 cells: {line}"
        );
    }
    md
}

/// The cells of a GFM table row: split on `|` not escaped by a backslash.
fn cells(line: &str) -> Vec<String> {
    let inner = line
        .trim()
        .strip_prefix('|')
        .and_then(|l| l.strip_suffix('|'))
        .unwrap_or(line);
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            '|' if !escaped => out.push(String::new()),
            _ => {
                if let Some(cell) = out.last_mut() {
                    cell.push(c);
                }
            }
        }
        escaped = c == '\\' && !escaped;
    }
    out
}

#[test]
fn no_changes_says_so() {
    let attrs = table_attrs("noteId");
    let p = planned(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes", attrs.clone())],
        vec![(
            "table.notes",
            Some(live("table.notes", "demo-notes", attrs, Ownership::Ours)),
        )],
        vec![],
    );
    insta::assert_snapshot!(render(&p));
}

#[test]
fn create_lists_the_new_attributes() {
    let p = planned(
        Mode::Apply,
        vec![
            desired("table.notes", "demo-notes", table_attrs("noteId")),
            desired(
                "bucket.files",
                "demo-files",
                json!({ "name": "demo-files", "versioning": true, "cors": [], "tags": owner_tags("bucket.files") }),
            ),
        ],
        vec![("table.notes", None), ("bucket.files", None)],
        vec![],
    );
    insta::assert_snapshot!(render(&p));
}

#[test]
fn update_shows_nested_paths_and_converging_live_state() {
    let mut want = table_attrs("noteId");
    want["tags"]["team"] = json!("mobile");
    want["tags"]["bucket"] = json!(UNKNOWN);
    want["global_secondary_indexes"]["by_date"]["projection"] = json!(["title", "body"]);
    let mut have = table_attrs("noteId");
    have["tags"]["owner"] = json!("ops");
    have["stream"] = json!("off");
    let p = planned(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes", want)],
        vec![(
            "table.notes",
            Some(live("table.notes", "demo-notes", have, Ownership::Ours)),
        )],
        vec![],
    );
    let md = render(&p);
    assert!(md.contains("| `table.notes` | `demo-notes` | `~` update in place | changes to converge live state to the stack file |"), "{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn replace_names_what_forces_it_and_the_data_loss_guard() {
    let mut want = table_attrs("createdAt");
    want["hash_key"]["type"] = json!("N");
    let p = planned(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes", want)],
        vec![(
            "table.notes",
            Some(live(
                "table.notes",
                "demo-notes",
                table_attrs("noteId"),
                Ownership::Ours,
            )),
        )],
        vec![],
    );
    assert_eq!(
        p.resource_changes[0].replace_paths,
        ["hash_key", "range_key"]
    );
    let md = render(&p);
    assert!(md.contains("requires `--allow-replace`"), "{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn a_rename_shows_both_names() {
    let mut want = table_attrs("noteId");
    want["name"] = json!("demo-notes-v2");
    let p = planned(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes-v2", want)],
        vec![("table.notes", None)],
        vec![live(
            "table.notes",
            "demo-notes",
            table_attrs("noteId"),
            Ownership::Ours,
        )],
    );
    insta::assert_snapshot!(render(&p));
}

#[test]
fn delete_says_why() {
    let p = planned(
        Mode::Apply,
        vec![],
        vec![],
        vec![live(
            "table.old",
            "demo-old",
            table_attrs("id"),
            Ownership::Ours,
        )],
    );
    insta::assert_snapshot!(render(&p));
}

#[test]
fn a_conflict_is_shown_and_counted() {
    let p = planned(
        Mode::Apply,
        vec![desired("table.notes", "demo-notes", table_attrs("noteId"))],
        vec![(
            "table.notes",
            Some(live(
                "table.notes",
                "demo-notes",
                table_attrs("noteId"),
                Ownership::NotOurs {
                    why: "it has no mobile-backend ownership tags".into(),
                },
            )),
        )],
        vec![],
    );
    let md = render(&p);
    assert!(md.contains("1 conflict blocks `up`"), "{md}");
    assert!(
        !md.contains("<details>"),
        "nothing is created on a conflict: {md}"
    );
    insta::assert_snapshot!(md);
}

#[test]
fn destroy_mode_deletes_ours_and_leaves_the_rest() {
    let p = planned(
        Mode::Destroy,
        vec![
            desired("table.notes", "demo-notes", table_attrs("noteId")),
            desired("bucket.files", "demo-files", json!({})),
        ],
        vec![
            (
                "table.notes",
                Some(live(
                    "table.notes",
                    "demo-notes",
                    table_attrs("noteId"),
                    Ownership::Ours,
                )),
            ),
            (
                "bucket.files",
                Some(live(
                    "bucket.files",
                    "demo-files",
                    json!({}),
                    Ownership::NotOurs {
                        why: "its `mobile-backend:stack` tag is `other`".into(),
                    },
                )),
            ),
        ],
        vec![],
    );
    insta::assert_snapshot!(render(&p));
}

#[test]
fn destroy_mode_with_nothing_owned_has_no_changes() {
    let p = planned(
        Mode::Destroy,
        vec![desired("table.notes", "demo-notes", table_attrs("noteId"))],
        vec![("table.notes", None)],
        vec![],
    );
    let md = render(&p);
    assert!(
        md.contains("(destroy)") && md.contains("**No changes.**"),
        "{md}"
    );
    insta::assert_snapshot!(md);
}

/// A hand-written plan whose names, values and messages hold every character
/// that could break a table, the HTML summary or the code block.
fn hostile() -> Plan {
    let tricky = "a|b <script>x</script> `c` *d* _e_ [f](g) ~h~ & \\ \nnew line\r\nnext";
    Plan {
        format_version: crate::plan::FORMAT_VERSION.into(),
        stack: "demo".into(),
        stage: None,
        mode: Mode::Apply,
        resource_changes: vec![ResourceChange {
            address: address("api.notes"),
            physical_name: "notes|<api>`x`".into(),
            action: Action::Update,
            previous_physical_name: None,
            before: None,
            after: None,
            attribute_changes: vec![
                AttributeChange {
                    path: "routes.GET /a|b\n```".into(),
                    before: Some(json!(tricky)),
                    after: Some(json!("````")),
                    forces_replacement: false,
                    after_unknown: false,
                },
                AttributeChange {
                    path: "description".into(),
                    before: None,
                    after: Some(json!("</details>")),
                    forces_replacement: false,
                    after_unknown: false,
                },
            ],
            replace_paths: vec![],
            reason: Some(tricky.into()),
            depends_on: vec![],
            conflict: Some("named `x|y` and `unbalanced".into()),
            requires_allow_replace: None,
        }],
    }
}

#[test]
fn cells_escape_pipes_html_backticks_and_newlines() {
    let md = render(&hostile());
    let row = md
        .lines()
        .find(|l| l.starts_with("| `api.notes`"))
        .unwrap_or_else(|| panic!("no row for api.notes:\n{md}"));
    assert!(!row.contains("<script>") && !row.contains('\n'), "{row}");
    assert!(row.contains("a\\|b"), "{row}");
    assert!(row.contains("new line<br>next"), "{row}");
    // The summary is HTML: entities, never tags.
    assert!(md.contains("notes|&lt;api&gt;`x`"), "{md}");
    // The code block's fence is longer than any backtick run inside it.
    assert!(md.contains("\n`````diff\n"), "{md}");
    insta::assert_snapshot!(md);
}

#[test]
fn escaping_helpers() {
    assert_eq!(text("a|b"), "a\\|b");
    assert_eq!(text("<b>&"), "&lt;b&gt;&amp;");
    assert_eq!(text("x`y"), "x\\`y");
    assert_eq!(text("1\n2\r\n3\r4"), "1<br>2<br>3<br>4");
    assert_eq!(code("GET /a|b"), "`GET /a\\|b`");
    assert_eq!(code("a`b"), "a\\`b");
    assert_eq!(code(""), "");
    assert_eq!(message("`x` is `y|z`"), "`x` is `y\\|z`");
    assert_eq!(message("odd ` tick"), "odd \\` tick");
    assert_eq!(
        html("<a href=\"x\">&</a>\n"),
        "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt; "
    );
}
