//! End-to-end test of `plan --markdown` (the pull-request comment) against the
//! local AWS emulator that `scripts/test.sh` starts: the real binary reading
//! real (emulated) AWS state.

mod support;

use support::World;

/// A table and nothing else.
const NOTES_TABLE: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
"#;

/// The same table with a stream: an update in place.
const NOTES_TABLE_WITH_STREAM: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
range_key = { name = "noteId", type = "S" }
stream = "new_image"
"#;

#[track_caller]
fn no_escape_codes(markdown: &str) {
    assert!(
        !markdown.contains('\u{1b}'),
        "an ANSI escape code in the Markdown:\n{markdown}"
    );
}

#[tokio::test]
async fn plan_markdown_shows_the_create_then_the_update_as_table_rows() {
    let w = World::new("md");
    w.write_stack(NOTES_TABLE);
    let table = w.name("notes");

    // The CI form: the Markdown on stdout, the saved plan in a file, exit 2.
    let plan = w.run(&[
        "plan",
        "--markdown",
        "--out",
        "plan.json",
        "--detailed-exitcode",
    ]);
    plan.code(2)
        .stdout_has(&format!("## Plan for stack `{}` (apply)", w.stack))
        .stdout_has("**Plan:** 1 to create, 0 to update, 0 to replace, 0 to delete.")
        .stdout_has("| Resource | Physical name | Action | Why |")
        .stdout_has(&format!("| `table.notes` | `{table}` | `+` create |  |"))
        .stdout_has("<details><summary><code>+ table.notes</code>");
    no_escape_codes(&plan.stdout);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("plan.json")).expect("plan.json"))
            .expect("plan.json is JSON");
    assert_eq!(saved["format_version"], "1", "{saved:#}");

    w.run(&["up", "--auto-approve"]).code(0);
    w.must_table(&table).await;

    let converged = w.run(&["plan", "--markdown", "--detailed-exitcode"]);
    converged
        .code(0)
        .stdout_has("**No changes.** AWS matches the stack file.");
    no_escape_codes(&converged.stdout);

    w.write_stack(NOTES_TABLE_WITH_STREAM);
    let update = w.run(&["plan", "--markdown", "--detailed-exitcode"]);
    update
        .code(2)
        .stdout_has("**Plan:** 0 to create, 1 to update, 0 to replace, 0 to delete.")
        .stdout_has(&format!(
            "| `table.notes` | `{table}` | `~` update in place | changes to converge live state to the stack file |"
        ))
        .stdout_has("~ stream = \"off\" → \"new_image\"");
    no_escape_codes(&update.stdout);
}
