//! Stack loading: the normative example loads; every kind of bad input is
//! reported with file, line and a hint, all at once.

use std::path::{Path, PathBuf};

use super::*;

/// Writes `source` as a stack file in a fresh directory and loads it.
fn load_str(source: &str) -> (tempfile::TempDir, PathBuf, Result<Stack, Diagnostics>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, source).expect("write stack");
    let result = load(&path);
    (dir, path, result)
}

/// (line, message, help) of every error.
fn errors(source: &str) -> Vec<(usize, String, Option<String>)> {
    let (_dir, path, result) = load_str(source);
    let diags = result.expect_err("the stack should be rejected");
    let mut out: Vec<_> = diags
        .items
        .iter()
        .map(|d| {
            let line = match (&d.span, diags.sources.get(&d.file)) {
                (Some(span), Some(src)) => diagnostic::line_col(src, span.start).0,
                _ => 0,
            };
            assert_eq!(d.file, path, "errors point into the stack file");
            (line, d.message.clone(), d.help.clone())
        })
        .collect();
    out.sort();
    out
}

const MINIMAL: &str = r#"
[stack]
name = "demo"

[table.notes]
hash_key = { name = "id", type = "S" }
"#;

#[test]
fn the_normative_design_example_loads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/design/stacks/example.toml");
    let stack = match load(&path) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render(false)),
    };
    assert_eq!(stack.name, "photo-notes");
    let addresses: Vec<String> = stack.resources.keys().map(|a| a.to_string()).collect();
    assert_eq!(
        addresses,
        [
            "identity_pool.app",
            "user_pool.users",
            "table.notes",
            "bucket.uploads",
            "search.notes",
            "api.notes",
            "role.engineers",
            "role.mobile_client"
        ]
    );
    // Roles depend on the identity pool (trust) and on what their policies name.
    let role = &stack.resources[&"role.mobile_client".parse::<Address>().unwrap()];
    let deps: Vec<String> = role.depends_on.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        deps,
        [
            "identity_pool.app",
            "table.notes",
            "bucket.uploads",
            "api.notes"
        ]
    );
    // The identity pool names the roles, yet does not depend on them: the role
    // attachment is its own step, so role ↔ identity pool is not a cycle.
    let pool = &stack.resources[&"identity_pool.app".parse::<Address>().unwrap()];
    let deps: Vec<String> = pool.depends_on.iter().map(|a| a.to_string()).collect();
    assert_eq!(deps, ["user_pool.users.clients.ios"]);
    let steps: Vec<(String, Vec<String>)> = stack
        .steps
        .iter()
        .map(|(a, d)| (a.to_string(), d.iter().map(|x| x.to_string()).collect()))
        .collect();
    let step = |name: &str| {
        steps
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, d)| d.clone())
    };
    assert_eq!(
        step("identity_pool.app.roles"),
        Some(vec![
            "identity_pool.app".to_string(),
            "user_pool.users.clients.ios".to_string(),
            "role.engineers".to_string(),
            "role.mobile_client".to_string(),
        ])
    );
    assert_eq!(
        step("user_pool.users.clients.ios"),
        Some(vec!["user_pool.users".to_string()])
    );
    // `role = "admins"` names no role of the stack: an existing role, no edge.
    assert_eq!(
        step("user_pool.users.groups.admins"),
        Some(vec!["user_pool.users".to_string()])
    );
}

#[test]
fn parts_of_resources_parse_and_print_as_addresses() {
    for text in [
        "user_pool.users.clients.ios",
        "user_pool.users.groups.admins",
        "identity_pool.app.roles",
        "table.notes",
    ] {
        let address: Address = text.parse().unwrap();
        assert_eq!(address.to_string(), text);
    }
    assert!("table.notes.roles".parse::<Address>().is_err());
}

#[test]
fn a_group_role_of_the_stack_orders_the_group_after_the_role_without_a_cycle() {
    let (_d, _p, stack) = load_str(
        r#"
[stack]
name = "demo"
[user_pool.users]
clients.ios = {}
groups.admins = { role = "admins" }
[identity_pool.app]
providers = ["users.ios"]
authenticated_role = "admins"
[role.admins]
trust = { identity_pool = "app", amr = "authenticated" }
"#,
    );
    let stack = match stack {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render(false)),
    };
    let deps = |a: &str| -> Vec<String> {
        stack.steps[&a.parse::<Address>().unwrap()]
            .iter()
            .map(|x| x.to_string())
            .collect()
    };
    assert_eq!(
        deps("user_pool.users.groups.admins"),
        ["user_pool.users", "role.admins"]
    );
    assert_eq!(deps("role.admins"), ["identity_pool.app"]);
    assert_eq!(deps("identity_pool.app"), ["user_pool.users.clients.ios"]);
}

#[test]
fn identity_pool_links_must_name_declared_clients_and_roles() {
    let errs = errors(
        "[stack]\nname = \"demo\"\n[user_pool.users]\nclients.ios = {}\n[identity_pool.app]\nproviders = [\"users.iso\"]\nauthenticated_role = \"mobile\"\nrole_rules = [{ provider = \"users.android\", claim = \"c\", match = \"equals\", value = \"v\", role = \"mobile\" }]\n",
    );
    let messages: Vec<&str> = errs.iter().map(|e| e.1.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`user_pool.users.clients.iso`")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.2.as_deref() == Some("did you mean `user_pool.users.clients.ios`?")),
        "{errs:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("names `role.mobile`")),
        "{errs:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("provider `users.android`, which is not in `providers`")),
        "{errs:?}"
    );
}

#[test]
fn default_physical_names_follow_each_service() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/design/stacks/example.toml");
    let stack = load(&path).expect("loads");
    struct Account;
    impl Lookup for Account {
        fn value(&self, r: &Reference) -> Option<String> {
            match r {
                Reference::AwsAccountId => Some("111122223333".into()),
                Reference::AwsRegion => Some("eu-west-1".into()),
                _ => None,
            }
        }
    }
    let name = |a: &str| stack.physical_name(&a.parse().unwrap(), &Account).unwrap();
    assert_eq!(name("identity_pool.app"), "photo_notes_app");
    assert_eq!(name("table.notes"), "photo-notes-notes");
    assert_eq!(name("bucket.uploads"), "photo-notes-uploads-111122223333");
    assert_eq!(name("role.mobile_client"), "photo-notes-mobile_client");
}

#[test]
fn references_resolve_in_strings_and_keep_policy_variables() {
    let (_d, _p, stack) = load_str(
        r#"
[stack]
name = "demo"
[table.notes]
hash_key = { name = "id", type = "S" }
tags = { bucket = "${bucket.files.arn}", who = "${stack.name}/${cognito-identity.amazonaws.com:sub}" }
[bucket.files]
"#,
    );
    let stack = stack.expect("loads");
    struct Known;
    impl Lookup for Known {
        fn value(&self, r: &Reference) -> Option<String> {
            match r {
                Reference::Resource { attribute, .. } if attribute == "arn" => {
                    Some("arn:aws:s3:::demo-files".into())
                }
                _ => None,
            }
        }
    }
    let address: Address = "table.notes".parse().unwrap();
    let spec = stack.resolve_spec(&address, &Known).unwrap();
    assert_eq!(spec.tags()["bucket"], "arn:aws:s3:::demo-files");
    assert_eq!(
        spec.tags()["who"],
        "demo/${cognito-identity.amazonaws.com:sub}"
    );
    let deps: Vec<String> = stack.resources[&address]
        .depends_on
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(deps, ["bucket.files"]);
}

#[test]
fn an_empty_file_is_an_error() {
    let errs = errors("  \n# only a comment\n");
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].1.contains("empty") || errs[0].1.contains("no `[stack]`"),
        "{errs:?}"
    );
}

#[test]
fn toml_syntax_errors_have_a_line() {
    let errs = errors("[stack]\nname = \"demo\"\n\n[table.notes\nhash_key = 1\n");
    assert!(!errs.is_empty());
    assert_eq!(errs[0].0, 4, "{errs:?}");
    assert!(errs[0].1.starts_with("TOML syntax"), "{errs:?}");
}

#[test]
fn unknown_keys_name_the_key_the_line_and_the_nearest_valid_key() {
    let errs = errors(&format!(
        "{MINIMAL}rnage_key = {{ name = \"n\", type = \"S\" }}\n"
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let (line, message, help) = &errs[0];
    assert_eq!(*line, 7);
    assert_eq!(message, "unknown key `rnage_key` in `table.notes`");
    assert_eq!(help.as_deref(), Some("did you mean `range_key`?"));
}

#[test]
fn unknown_kinds_suggest_the_kind() {
    let errs = errors(
        "[stack]\nname = \"demo\"\n[tables.notes]\nhash_key = { name = \"id\", type = \"S\" }\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, 3);
    assert_eq!(errs[0].1, "unknown kind `tables`");
    assert_eq!(errs[0].2.as_deref(), Some("did you mean `table`?"));
}

#[test]
fn wrong_types_and_bad_values_are_located() {
    let errs = errors("[stack]\nname = \"demo\"\n[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\nbilling = \"pay_per_reqest\"\n[bucket.b]\nversioning = \"yes\"\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, 5);
    assert!(errs[0].1.contains("pay_per_reqest"), "{errs:?}");
    assert_eq!(
        errs[0].2.as_deref(),
        Some("did you mean `pay_per_request`?")
    );
    assert_eq!(errs[1].0, 7);
    assert!(errs[1].1.contains("bucket.b"), "{errs:?}");
}

#[test]
fn names_that_can_never_be_valid_are_rejected() {
    let errs = errors("[stack]\nname = \"demo\"\n[bucket.b]\nname = \"Has_Capitals\"\n[search.s]\nname = \"a-search-domain-name-that-is-too-long\"\n");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, 4);
    assert!(
        errs[0].1.contains("`bucket.b`: the name `Has_Capitals`"),
        "{errs:?}"
    );
    assert_eq!(errs[1].0, 6);
    assert!(errs[1].1.contains("3 to 28"), "{errs:?}");
    let errs = errors("[stack]\nname = \"Demo_Stack\"\n");
    assert!(errs[0].1.contains("stack name"), "{errs:?}");
}

#[test]
fn dangling_references_name_the_nearest_valid_one() {
    let errs = errors(&format!("{MINIMAL}[bucket.files]\ntags = {{ t = \"${{table.note.arn}}\", u = \"${{aws.acount_id}}\" }}\n"));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().all(|e| e.0 == 8), "{errs:?}");
    let helps: Vec<&str> = errs.iter().filter_map(|e| e.2.as_deref()).collect();
    assert!(
        helps.contains(&"did you mean `${table.notes.arn}`?"),
        "{errs:?}"
    );
    assert!(
        helps.contains(&"did you mean `${aws.account_id}`?"),
        "{errs:?}"
    );
}

#[test]
fn a_real_cycle_names_every_member() {
    let errs = errors(
        "[stack]\nname = \"demo\"\n[bucket.x]\ntags = { y = \"${bucket.y.arn}\" }\n[bucket.y]\ntags = { z = \"${bucket.z.arn}\" }\n[bucket.z]\ntags = { x = \"${bucket.x.arn}\" }\n",
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].1.contains("`bucket.x` → `bucket.y` → `bucket.z`"),
        "{errs:?}"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let errs = errors(
        "[stack]\nname = \"demo\"\n[table.a]\nhash_kye = { name = \"id\", type = \"S\" }\n[table.b]\nhash_key = { name = \"id\", type = \"S\" }\nbilling = \"provisioned\"\n[bucket.c]\ncors = [{ allowed_methods = [\"FETCH\"], allowed_origins = [\"*\"] }]\n[tabel.d]\n",
    );
    assert_eq!(errs.len(), 5, "{errs:?}");
    let lines: Vec<usize> = errs.iter().map(|e| e.0).collect();
    assert_eq!(lines, [4, 7, 7, 9, 10], "{errs:?}");
}

#[test]
fn missing_policy_files_and_bad_json_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "{\n  \"Version\": \"2012-10-17\",\n  oops\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("refs.json"),
        "{\n  \"Resource\": \"${table.nope.arn}\"\n}\n",
    )
    .unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(
        &path,
        "[stack]\nname = \"demo\"\n[role.r]\ntrust = { service = \"lambda.amazonaws.com\" }\npolicies = [\"missing.json\", \"bad.json\", \"refs.json\"]\n",
    )
    .unwrap();
    let diags = load(&path).expect_err("rejected");
    let messages: Vec<(String, String)> = diags
        .items
        .iter()
        .map(|d| {
            (
                d.file.file_name().unwrap().to_string_lossy().into_owned(),
                d.message.clone(),
            )
        })
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|(f, m)| f == "stack.toml" && m.contains("missing.json")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(f, m)| f == "bad.json" && m.contains("not valid JSON")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(f, m)| f == "refs.json" && m.contains("table.nope")),
        "{messages:?}"
    );
    let rendered = diags.render(false);
    assert!(rendered.contains("refs.json:2:"), "{rendered}");
}

#[test]
fn username_and_alias_attributes_together_are_rejected_offline() {
    let errs = errors("[stack]\nname = \"demo\"\n[user_pool.u]\nusername_attributes = [\"email\"]\nalias_attributes = [\"phone_number\"]\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, 5);
}

#[test]
fn rendered_diagnostics_show_file_line_and_source() {
    let (_d, path, result) = load_str(&format!("{MINIMAL}strem = \"new_image\"\n"));
    let rendered = result.unwrap_err().render(false);
    assert!(
        rendered.contains(&format!("{}:7:1", path.display())),
        "{rendered}"
    );
    assert!(rendered.contains("strem = \"new_image\""), "{rendered}");
    assert!(rendered.contains("did you mean `stream`?"), "{rendered}");
    assert!(rendered.contains("nothing was sent to AWS"), "{rendered}");
}

#[test]
fn user_pool_attribute_names_and_lists_are_checked_offline() {
    let many: String = (0..51)
        .map(|i| format!("attributes.\"custom:a{i}\" = {{ type = \"string\" }}\n"))
        .collect();
    let errs = errors(&format!(
        "[stack]\nname = \"demo\"\n[user_pool.u]\nusername_attributes = [\"emial\"]\nattributes.department = {{ type = \"string\" }}\nattributes.\"custom:this-name-is-far-too-long\" = {{ type = \"string\" }}\n{many}"
    ));
    let find = |needle: &str| {
        errs.iter()
            .find(|e| e.1.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {errs:?}"))
    };
    assert_eq!(
        find("`emial` cannot be one of `username_attributes`")
            .2
            .as_deref(),
        Some("did you mean `email`?")
    );
    assert!(find("`department` is not a standard attribute")
        .1
        .contains("`\"custom:department\"`"));
    assert_eq!(find("custom:this-name-is-far-too-long").0, 6);
    find("52 custom attributes; a user pool has at most 50");
}

#[test]
fn a_policy_that_allows_everything_is_a_warning_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("open.json"),
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    { \"Sid\": \"Ok\", \"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::b/*\" },\n    { \"Sid\": \"Everything\", \"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\" }\n  ]\n}\n",
    )
    .unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, "[stack]\nname = \"demo\"\n[role.r]\ntrust = { service = \"lambda.amazonaws.com\" }\npolicies = [\"open.json\"]\n").unwrap();
    let stack = load(&path).expect("a warning does not reject the stack");
    assert_eq!(stack.sources.warnings.len(), 1);
    let rendered = stack.sources.render_warnings(false);
    assert!(
        rendered.contains("statement `Everything` allows every action on every resource"),
        "{rendered}"
    );
    assert!(rendered.contains("open.json:5:"), "{rendered}");
    assert!(rendered.starts_with("warning"), "{rendered}");
}

#[test]
fn role_settings_iam_cannot_take_are_rejected_offline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("p.json"), "{}").unwrap();
    std::fs::write(dir.path().join("a/p.json"), "{}").unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(
        &path,
        "[stack]\nname = \"demo\"\n[role.r]\ntrust = { service = \"lambda.amazonaws.com\", amr = \"authenticated\" }\nmax_session_duration = 60\nmanaged_policies = [\"AmazonS3ReadOnlyAccess\"]\npolicies = [\"p.json\", \"a/p.json\"]\n",
    )
    .unwrap();
    let diags = load(&path).expect_err("rejected");
    let messages: Vec<&str> = diags.items.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert!(messages
        .iter()
        .any(|m| m.contains("`trust.amr` only applies")));
    assert!(messages.iter().any(|m| m.contains("3600 to 43200")));
    assert!(messages
        .iter()
        .any(|m| m.contains("`AmazonS3ReadOnlyAccess` is not an ARN")));
    assert!(messages
        .iter()
        .any(|m| m.contains("both be the inline policy `p`")));
}

#[test]
fn user_pool_client_settings_are_checked_offline_at_the_client_line() {
    let errs = errors("[stack]\nname = \"demo\"\n[user_pool.u]\nclients.web = { auth_flows = [\"ALLOW_USER_SRP\"] }\n");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, 4, "{errs:?}");
    assert!(errs[0].1.contains("ALLOW_USER_SRP"), "{errs:?}");
}

// Found by fuzzing (tests/fuzz.rs): every rejection has a place, nothing
// overflows the stack or takes quadratic time.

#[test]
fn an_empty_file_and_a_missing_stack_table_point_at_the_first_line() {
    for source in [
        "",
        "  \n# only a comment\n",
        "[table.t]\nhash_key = { name = \"id\", type = \"S\" }\n",
    ] {
        let (_dir, path, result) = load_str(source);
        let diags = result.expect_err("rejected");
        assert_eq!(diags.items.len(), 1, "{source:?}");
        assert_eq!(diags.items[0].span, Some(0..0), "{source:?}");
        let shown = diags.render(false);
        assert!(
            shown.contains(&format!("{}:1:1", path.display())),
            "{shown}"
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_names_the_line_and_column_of_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, b"[stack]\nname = \"d\xe9mo\"\n").unwrap();
    let diags = load(&path).expect_err("rejected");
    assert_eq!(diags.items.len(), 1);
    assert!(diags.items[0].message.contains("not UTF-8"), "{diags:?}");
    let shown = diags.render(false);
    assert!(
        shown.contains(&format!("{}:2:10", path.display())),
        "{shown}"
    );
}

#[test]
fn keys_nested_too_deep_are_located_at_the_deepest_line() {
    let source = format!(
        "[stack]\nname = \"demo\"\n[bucket.b]\n{}z = 1\n",
        "a.".repeat(100)
    );
    let (_dir, path, result) = load_str(&source);
    let diags = result.expect_err("rejected");
    let d = &diags.items[0];
    assert!(d.message.contains("recursion"), "{d:?}");
    assert_eq!(
        d.help.as_deref().map(|h| h.contains("80 levels")),
        Some(true)
    );
    let src = &diags.sources[&path];
    let span = d.span.clone().expect("located");
    assert_eq!(diagnostic::line_col(src, span.start), (4, 1));
}

#[test]
fn a_chain_of_references_thousands_long_does_not_overflow_the_stack() {
    // A test thread's stack is 2 MiB: recursion this deep would overflow it.
    let bucket = |i: usize| -> Address { format!("bucket.b{i}").parse().unwrap() };
    let chain: BTreeMap<Address, BTreeSet<Address>> = (0..50_000)
        .map(|i| (bucket(i), BTreeSet::from([bucket(i + 1)])))
        .collect();
    let components = strongly_connected(&chain);
    assert_eq!(components.len(), 50_000);
    assert!(components.iter().all(|c| c.len() == 1));
    let mut cycle = chain;
    cycle.insert(bucket(50_000), BTreeSet::from([bucket(0)]));
    let components = strongly_connected(&cycle);
    assert_eq!(components.len(), 1);
    assert_eq!(components[0].len(), 50_001);
}

#[test]
fn no_suggestion_is_computed_for_words_longer_than_any_name() {
    let long = "a".repeat(100_000);
    let other = "b".repeat(100_000);
    assert_eq!(reference::nearest(&long, [other.as_str(), "bucket"]), None);
    assert_eq!(
        reference::nearest("buckt", [other.as_str(), "bucket"]).as_deref(),
        Some("bucket")
    );
}

#[test]
fn a_flood_of_errors_on_one_long_line_is_shown_briefly_with_places() {
    let source = format!(
        "[stack]\nname = \"demo\"\n[bucket.b]\ncors = [{}{{ a = 1 }}]\n",
        "\"".repeat(20_000)
    );
    let (_dir, path, result) = load_str(&source);
    let diags = result.expect_err("rejected");
    assert!(
        diags.items.len() > diagnostic::MAX_SHOWN,
        "{}",
        diags.items.len()
    );
    let shown = diags.render(false);
    assert!(shown.len() < 20_000, "{} bytes shown", shown.len());
    assert!(shown.contains("more errors, not shown"), "{shown}");
    assert!(
        shown.contains(&format!("at {}:4:", path.display())),
        "{shown}"
    );
    assert!(shown.ends_with("errors in the stack; nothing was sent to AWS\n"));
}

#[test]
fn adopt_ids_are_literal_unique_and_for_named_kinds_the_name() {
    let (_dir, _path, ok) = load_str(
        "[stack]\nname = \"demo\"\n\n[table.notes]\nadopt = \"Notes\"\nname = \"Notes\"\nhash_key = { name = \"id\", type = \"S\" }\n\n[identity_pool.app]\nadopt = \"us-east-1:1234\"\n",
    );
    let stack = ok.expect("adopting by id and by name loads");
    let notes = &stack.resources[&"table.notes".parse::<Address>().expect("address")];
    assert_eq!(notes.spec.adopt(), Some("Notes"));

    let errs = errors(
        "[stack]\nname = \"demo\"\n\n[table.notes]\nadopt = \"Notes\"\nhash_key = { name = \"id\", type = \"S\" }\n\n[user_pool.a]\nadopt = \"us-east-1_X\"\n\n[user_pool.b]\nadopt = \"us-east-1_X\"\n\n[bucket.files]\nadopt = \"${stack.name}-files\"\nname = \"${stack.name}-files\"\n",
    );
    let text: Vec<String> = errs
        .iter()
        .map(|(l, m, h)| format!("{l}: {m} ({h:?})"))
        .collect();
    let all = text.join("\n");
    assert!(
        all.contains("`table.notes`: `adopt = \"Notes\"`, but its name is `demo-notes`"),
        "{all}"
    );
    assert!(all.contains("add `name = \\\"Notes\\\"`"), "{all}");
    assert!(
        all.contains("`user_pool.a` and `user_pool.b` both adopt `us-east-1_X`"),
        "{all}"
    );
    assert!(
        all.contains("`bucket.files`: `adopt` must be the literal AWS id"),
        "{all}"
    );
    assert_eq!(errs.len(), 3, "{all}");
}

/// Loads `source` for `stage`.
fn load_staged(source: &str, stage: &str) -> (tempfile::TempDir, Result<Stack, Diagnostics>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, source).expect("write stack");
    let result = load_stage(&path, Some(stage));
    (dir, result)
}

#[test]
fn a_stage_gives_the_stack_its_own_names_tags_and_stage_reference() {
    let source = r#"
[stack]
name = "demo"

[table.notes]
hash_key = { name = "id", type = "S" }

[bucket.files]
name = "${stack.name}-files-${stack.stage}"
"#;
    let (_dir, stack) = load_staged(source, "pr-42");
    let stack = stack.unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(stack.name, "demo-pr-42");
    assert_eq!(stack.stage.as_deref(), Some("pr-42"));
    let name = |a: &str| {
        stack
            .physical_name(&a.parse().unwrap(), &OfflineLookup)
            .unwrap()
    };
    assert_eq!(name("table.notes"), "demo-pr-42-notes");
    assert_eq!(name("bucket.files"), "demo-pr-42-files-pr-42");
    let tags = stack.tags_for(&"table.notes".parse().unwrap(), &Tags::new());
    assert_eq!(tags[OWNER_STACK_TAG], "demo-pr-42");
    // Without a stage, nothing changes.
    let (_dir, _path, plain) = load_str(MINIMAL);
    let plain = plain.expect("loads");
    assert_eq!(plain.name, "demo");
    assert_eq!(plain.stage, None);
}

#[test]
fn a_bad_stage_name_and_a_stage_reference_without_a_stage_are_errors() {
    let (_dir, bad) = load_staged(MINIMAL, "Pr_42");
    let diags = bad.expect_err("a bad stage name is refused");
    assert!(
        diags
            .items
            .iter()
            .any(|d| d.message.contains("stage name `Pr_42`")
                && d.help.as_deref().is_some_and(|h| h.contains("[a-z0-9-]"))),
        "{}",
        diags.render(false)
    );
    let uses_stage = r#"
[stack]
name = "demo"

[bucket.files]
name = "demo-files-${stack.stage}"
"#;
    let found = errors(uses_stage);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 6, "at its line");
    assert!(
        found[0].1.contains("`${stack.stage}` needs a stage"),
        "{found:?}"
    );
    assert_eq!(
        found[0].2.as_deref(),
        Some("pass --stage NAME or set MOBILE_BACKEND_STAGE")
    );
}

const WITH_VARS: &str = r#"
[stack]
name = "demo"
region = "us-east-1"

[vars]
log_level = "debug"
retention = "7"

[stages.prod]
region = "eu-west-1"
vars = { log_level = "warn" }

[bucket.files]
name = "${stack.name}-files"
tags = { level = "${var.log_level}", keep = "${var.retention}" }
"#;

#[test]
fn vars_take_their_defaults_and_a_listed_stage_overrides_them_and_the_region() {
    let resolved = |stack: &Stack| {
        let tags = &stack.resources[&"bucket.files".parse::<Address>().unwrap()]
            .spec
            .tags()
            .clone();
        tags.iter()
            .map(|(k, v)| (k.clone(), stack.interpolate(v, &OfflineLookup).unwrap()))
            .collect::<BTreeMap<_, _>>()
    };
    let (_dir, _path, plain) = load_str(WITH_VARS);
    let plain = plain.unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(plain.region.as_deref(), Some("us-east-1"));
    assert_eq!(resolved(&plain)["level"], "debug");
    let (_dir, prod) = load_staged(WITH_VARS, "prod");
    let prod = prod.unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(prod.region.as_deref(), Some("eu-west-1"));
    assert_eq!(resolved(&prod)["level"], "warn");
    assert_eq!(resolved(&prod)["keep"], "7");
    // A stage not listed uses the defaults (any developer's sandbox).
    let (_dir, ann) = load_staged(WITH_VARS, "ann");
    let ann = ann.unwrap_or_else(|d| panic!("{}", d.render(false)));
    assert_eq!(ann.region.as_deref(), Some("us-east-1"));
    assert_eq!(resolved(&ann)["level"], "debug");
}

#[test]
fn an_unknown_var_and_an_override_of_an_undeclared_var_are_errors() {
    let source = WITH_VARS
        .replace("${var.retention}", "${var.retension}")
        .replace(
            "vars = { log_level = \"warn\" }",
            "vars = { log_levle = \"warn\" }",
        );
    let found = errors(&source);
    assert_eq!(found.len(), 2, "{found:?}");
    let unknown = found
        .iter()
        .find(|f| f.1.contains("var.retension"))
        .expect("the unknown var");
    assert_eq!(unknown.0, 16, "at its line: {found:?}");
    assert_eq!(
        unknown.2.as_deref(),
        Some("did you mean `${var.retention}`?")
    );
    let undeclared = found
        .iter()
        .find(|f| f.1.contains("log_levle"))
        .expect("the undeclared override");
    assert!(undeclared.1.contains("[stages.prod]"), "{found:?}");
}
