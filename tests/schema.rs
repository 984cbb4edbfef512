//! The JSON Schema of `mobile-backend schema` against the stacks of the
//! repository, without AWS: every example, fixture and template stack, turned
//! from TOML into JSON as a TOML editor does, validates; every bad input that
//! is a key or type error (unknown key or kind, wrong type, bad enum value,
//! missing key) is rejected, as the loader rejects it. Bad inputs the schema
//! cannot express (references, cycles, links between resources, per-service
//! name rules, policy files) are named, with why, in `SEMANTIC`.
//!
//! The validator is the `jsonschema` crate, an implementation independent of
//! `schemars` (which writes the schema), so a schema that only agrees with
//! itself would not pass.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mobile_backend::json_schema::stack_file_schema;
use mobile_backend::templates;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let schema = stack_file_schema();
    assert!(
        jsonschema::draft7::meta::is_valid(&schema),
        "the schema is not a valid draft-07 schema"
    );
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

/// A stack file as JSON, as an editor sees it; `None` when it is not TOML (the
/// editor reports that itself, before any schema applies).
fn as_json(source: &str) -> Option<Value> {
    // The loader's parser decides what is TOML (it limits nesting depth).
    toml::de::DeTable::parse(source).ok()?;
    let value: toml::Value = toml::from_str(source).ok()?;
    Some(serde_json::to_value(value).expect("TOML values are JSON values"))
}

/// Why the schema refuses `source`, or `None` when it accepts it.
fn refusal(validator: &jsonschema::Validator, source: &str) -> Option<String> {
    let json = as_json(source).expect("TOML");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Whether the loader accepts `source` as a stack file (policy files are not
/// involved in these cases).
fn loads(source: &str) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, source).expect("write");
    mobile_backend::stack::load(&path).is_ok()
}

fn tomls_in(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(tomls_in(&path));
        } else if path.extension().is_some_and(|x| x == "toml") {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A bad input by its file name: `bad-*` and `regression-*` (the fuzz
/// corpus's convention), all others are meant to load.
fn is_bad(path: &Path) -> bool {
    let name = file_name(path);
    name.starts_with("bad-") || name.starts_with("regression-")
}

/// Bad inputs whose fault a JSON Schema cannot see, by file name, with why.
/// Each is well-typed, so the schema accepts it; the loader refuses it.
const SEMANTIC: &[(&str, &str)] = &[
    ("bad-cycle.toml", "a cycle of references between resources"),
    ("bad-long-cycle.toml", "a cycle of references through four kinds"),
    ("bad-self-reference.toml", "a resource that references itself"),
    ("bad-dangling-reference.toml", "a reference to an undeclared resource"),
    ("bad-reference-shapes.toml", "malformed and misspelt `${...}` references inside strings"),
    ("bad-unterminated-reference.toml", "a `${` without its `}` inside a string"),
    ("bad-links.toml", "links to undeclared clients, roles and pools; username and alias attributes together; unknown auth flow and route names"),
    ("bad-name.toml", "a physical name S3 never accepts (a per-service rule, checked after `${...}` is resolved)"),
    ("bad-policy-files.toml", "missing, unreadable and invalid policy files"),
];

/// Bad inputs that are key or type errors: the schema must refuse each. They
/// are in the fuzz corpus (`tests/fuzz/corpus/stacks/`), when it is there.
const KEY_OR_TYPE_ERRORS: &[&str] = &[
    "bad-empty.toml",           // no `[stack]`
    "bad-whitespace-only.toml", // no `[stack]`
    "bad-no-stack-table.toml",  // no `[stack]`
    "bad-missing-key.toml",     // a table without its `hash_key`
    "bad-unknown-key.toml",     // `hash_kee`
    "bad-unknown-kind.toml",    // `[tabel.notes]`, `[lambda.f]`
    "bad-kind-not-table.toml",  // `table = 3`, `bucket = ["a"]`, `role.r = "x"`
    "bad-wrong-type.toml",      // `versioning = 3`
    "bad-resource-key.toml",    // `[bucket."Bad Key!"]`, `[bucket.9lives]`
    "bad-stack-name.toml",      // the stack name and region rules
];

#[test]
fn the_schema_is_draft_07_with_a_title_and_no_made_up_id() {
    let schema = stack_file_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["title"], "mobile-backend stack file");
    assert!(schema.get("$id").is_none());
    assert!(jsonschema::draft7::meta::is_valid(&schema));
}

#[test]
fn every_example_fixture_and_template_stack_validates() {
    let validator = validator();
    let mut stacks: Vec<(String, String)> = Vec::new();
    let mut paths = tomls_in(&root().join("stacks"));
    paths.extend(tomls_in(&root().join("tests/fixtures")));
    paths.extend(tomls_in(&root().join("tests/fuzz/corpus/stacks")));
    for path in paths.into_iter().filter(|p| !is_bad(p)) {
        let text = std::fs::read_to_string(&path).expect("read");
        stacks.push((path.display().to_string(), text));
    }
    for template in templates::ALL {
        for name in ["demo", &"n".repeat(40)] {
            let files = template.render(name);
            stacks.push((
                format!("template {} as `{name}`", template.name),
                files[0].text.clone(),
            ));
        }
    }
    // The smallest stack, as tests/cli.rs writes it.
    stacks.push((
        "tests/cli.rs VALID".into(),
        "[stack]\nname = \"demo\"\n\n[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\n\n[bucket.files]\nversioning = true\n".into(),
    ));
    let examples = stacks
        .iter()
        .filter(|(n, _)| n.contains("/stacks/"))
        .count();
    assert!(examples >= 5, "too few example stacks found: {examples}");
    for (name, text) in &stacks {
        if let Some(why) = refusal(&validator, text) {
            panic!("{name} loads, but the schema refuses it: {why}");
        }
    }
}

/// Some fixtures nest a thousand levels deep: converting and validating them
/// recurses further than a test thread's stack allows.
fn with_a_deep_stack(test: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(test)
        .expect("a test thread");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn every_bad_fixture_that_is_a_key_or_type_error_is_refused() {
    with_a_deep_stack(bad_fixtures_are_refused);
}

fn bad_fixtures_are_refused() {
    let validator = validator();
    let corpus = root().join("tests/fuzz/corpus/stacks");
    let mut bad: Vec<PathBuf> = tomls_in(&corpus);
    bad.extend(tomls_in(&root().join("tests/fixtures")));
    bad.retain(|p| is_bad(p));
    let names: BTreeSet<String> = bad.iter().map(|p| file_name(p)).collect();
    if corpus.is_dir() {
        for name in KEY_OR_TYPE_ERRORS {
            assert!(names.contains(*name), "{name} is gone from the corpus");
        }
    }
    let semantic: BTreeSet<&str> = SEMANTIC.iter().map(|(n, _)| *n).collect();
    let (mut refused, mut not_toml) = (0, 0);
    for path in &bad {
        let name = file_name(path);
        // Not UTF-8, or not TOML: the editor says so before any schema applies.
        let Some(json) = std::fs::read_to_string(path).ok().and_then(|t| as_json(&t)) else {
            assert!(
                !KEY_OR_TYPE_ERRORS.contains(&name.as_str()),
                "{name} was a key or type error, but is no longer TOML"
            );
            not_toml += 1;
            continue;
        };
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        if semantic.contains(name.as_str()) {
            assert!(
                errors.is_empty(),
                "{name} is listed as beyond the schema, but the schema refuses it ({}); move it out of SEMANTIC",
                errors.join("; ")
            );
        } else {
            assert!(
                !errors.is_empty(),
                "{name} is a bad input the schema accepts: if its fault is semantic, name it in SEMANTIC with why"
            );
            refused += 1;
        }
    }
    if corpus.is_dir() {
        assert!(refused >= KEY_OR_TYPE_ERRORS.len(), "{refused} refused");
        assert!(not_toml >= 1, "the corpus has syntax errors too");
    }
}

/// Key and type errors written inline (from tests/cli.rs and the loader's
/// unit tests), and well-typed stacks that use every shape the serde types
/// allow (untagged enums, renamed keys, defaults): the schema and the loader
/// give the same verdict on each.
#[test]
fn the_schema_and_the_loader_agree_on_keys_types_and_allowed_values() {
    let validator = validator();
    let head = "[stack]\nname = \"demo\"\n";
    let cases: &[(&str, bool)] = &[
        // refused by both
        ("[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\nhash_kee = 1\n", false),
        ("[bucket.b]\nversioning = 3\n", false),
        ("[bucket.b]\nversioning = \"yes\"\n", false),
        ("[table.t]\nbilling = \"provisioned\"\n", false),
        ("[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\nbilling = \"pay_per_reqest\"\n", false),
        ("[table.a]\nhash_kye = { name = \"id\", type = \"S\" }\n", false),
        ("[tables.notes]\nhash_key = { name = \"id\", type = \"S\" }\n", false),
        ("[table.t]\nhash_key = { name = \"id\", type = \"string\" }\n", false),
        ("[table.t]\nhash_key = { name = \"id\", type = \"S\" }\nglobal_secondary_indexes.by_a = { hash_key = { name = \"a\", type = \"S\" }, projection = \"some\" }\n", false),
        ("[table.t]\nhash_key = { name = \"id\", type = \"S\" }\nglobal_secondary_indexes.by_a = { hash_key = { name = \"a\", type = \"S\" }, projection = [1] }\n", false),
        ("[table.t]\nhash_key = { name = \"id\", type = \"S\" }\nread_capacity = 1.5\n", false),
        ("[bucket.b]\nencryption = \"kms\"\n", false),
        ("[bucket.b]\ncors = [{ allowed_methods = [\"GET\"] }]\n", false),
        ("[bucket.b]\ntags = { a = 1 }\n", false),
        ("[user_pool.u]\nmfa = \"required\"\n", false),
        ("[user_pool.u]\ntriggers.pre_signup = \"arn:aws:lambda:us-east-1:1:function:f\"\n", false),
        ("[user_pool.u]\nattributes.\"custom:d\" = { type = \"text\" }\n", false),
        ("[identity_pool.p]\nrole_resolution = \"allow\"\n", false),
        ("[identity_pool.p]\nrole_rules = [{ provider = \"u.c\", claim = \"c\", match = \"is\", value = \"v\", role = \"r\" }]\n", false),
        ("[search.s]\nengine = \"elasticsearch\"\n", false),
        ("[search.s]\nfields = { title = \"string\" }\n", false),
        ("[search.s]\nfields = { title = { type = \"text\", facets = true } }\n", false),
        ("[api.a]\nroutes.\"GET /x\" = { authorization = \"none\" }\n", false),
        ("[api.a]\nstage_throttle = { rate = 1 }\n", false),
        ("[role.r]\ntrust = { service = \"lambda.amazonaws.com\", amr = \"guest\" }\n", false),
        ("[role.r]\npolicies = []\n", false),
        // accepted by both
        ("[table.t]\nhash_key = { name = \"id\", type = \"N\" }\nbilling = \"provisioned\"\nread_capacity = 1\nwrite_capacity = 1\nstream = \"new_and_old_images\"\n", true),
        ("[table.t]\nhash_key = { name = \"id\", type = \"B\" }\nglobal_secondary_indexes.by_a = { hash_key = { name = \"a\", type = \"S\" }, projection = [\"x\", \"y\"] }\nglobal_secondary_indexes.by_b = { hash_key = { name = \"b\", type = \"N\" }, projection = \"keys_only\" }\n", true),
        ("[bucket.b]\nencryption = \"aws:kms\"\nkms_key_id = \"alias/k\"\nblock_public_access = false\n", true),
        ("[user_pool.u]\nmfa = \"optional\"\nattributes.\"custom:n\" = { type = \"number\", min_value = 1 }\ntriggers.pre_sign_up = \"arn:aws:lambda:us-east-1:123456789012:function:f\"\n", true),
        ("[identity_pool.p]\nallow_unauthenticated = true\nrole_resolution = \"deny\"\nunauthenticated_role = \"r\"\n[role.r]\ntrust = { identity_pool = \"p\", amr = \"unauthenticated\" }\n", true),
        ("[search.s]\nfields = { tags = \"text-array\", rank = { type = \"int\", facet = true, return = true, sort = true } }\n", true),
        ("[api.a]\nstage = \"prod\"\nstage_throttle = { rate = 10, burst = 20 }\nroutes.\"GET /x\" = { integration = { mock = { status = 200 } } }\n", true),
        ("[role.r]\ntrust = { service = \"lambda.amazonaws.com\" }\nmax_session_duration = 3600\n", true),
    ];
    for (body, valid) in cases {
        let source = format!("{head}{body}");
        let loader = loads(&source);
        let schema = refusal(&validator, &source);
        assert_eq!(loader, *valid, "the loader's verdict on:\n{source}");
        assert_eq!(
            schema.is_none(),
            *valid,
            "the schema's verdict on:\n{source}\n{}",
            schema.clone().unwrap_or_default()
        );
    }
}

/// The name rules the schema writes as patterns (stack name, region,
/// resource key) are the loader's.
#[test]
fn the_name_patterns_are_the_loaders_rules() {
    let validator = validator();
    let names = [
        "a",
        "demo",
        "my-app-2",
        "Demo",
        "2fast",
        "-x",
        "with_underscore",
        "x-",
        "é",
        "n123456789n123456789n123456789n12345678",
        "n123456789n123456789n123456789n123456789",
        "n123456789n123456789n123456789n1234567890",
    ];
    for name in names {
        let source = format!("[stack]\nname = \"{name}\"\n");
        assert_eq!(
            loads(&source),
            refusal(&validator, &source).is_none(),
            "stack name `{name}`"
        );
    }
    for region in [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "mars-1",
        "us-east",
        "US-EAST-1",
        "us--east-1",
        "us-east-x",
    ] {
        let source = format!("[stack]\nname = \"demo\"\nregion = \"{region}\"\n");
        assert_eq!(
            loads(&source),
            refusal(&validator, &source).is_none(),
            "region `{region}`"
        );
    }
    let long = format!("k{}", "x".repeat(63));
    let too_long = format!("k{}", "x".repeat(64));
    for key in [
        "b",
        "my_bucket",
        "my-bucket-2",
        "Bad",
        "9lives",
        "_x",
        "\"a b\"",
        &long,
        &too_long,
    ] {
        let source = format!(
            "[stack]\nname = \"demo\"\n[table.{key}]\nhash_key = {{ name = \"id\", type = \"S\" }}\n"
        );
        assert_eq!(
            loads(&source),
            refusal(&validator, &source).is_none(),
            "resource key `{key}`"
        );
    }
}
