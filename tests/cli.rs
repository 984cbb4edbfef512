//! The command-line contract without AWS: exit codes, messages with file and
//! line, and proof that bad input never reaches the network (every command
//! here points at a listener that must see no connection).

use std::net::TcpListener;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

/// A local port that records whether anything connected to it.
struct Tripwire {
    listener: TcpListener,
}

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Tripwire { listener }
    }
    fn url(&self) -> String {
        format!("http://{}", self.listener.local_addr().expect("addr"))
    }
    fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(_) => panic!("the command connected to AWS, but bad input must never reach it"),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn tool(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mobile-backend").expect("binary");
    cmd.current_dir(dir)
        .env_remove("MOBILE_BACKEND_STACK")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", "111111111111")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn write_stack(dir: &Path, source: &str) -> std::path::PathBuf {
    let path = dir.join("stack.toml");
    std::fs::write(&path, source).expect("write");
    path
}

const VALID: &str = "[stack]\nname = \"demo\"\n\n[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\n\n[bucket.files]\nversioning = true\n";

#[test]
fn validate_accepts_a_valid_stack_without_calling_aws() {
    let dir = tempfile::tempdir().unwrap();
    let stack = write_stack(dir.path(), VALID);
    let wire = Tripwire::new();
    tool(dir.path())
        .args(["validate", "--stack"])
        .arg(&stack)
        .args(["--endpoint-url", &wire.url()])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "is valid: stack `demo` with 2 resources (table.notes, bucket.files)",
        ));
    wire.assert_untouched();
}

#[test]
fn bad_input_exits_1_with_file_and_line_and_never_calls_aws() {
    let cases: &[(&str, &str, &str)] = &[
        ("toml syntax", "[stack]\nname = \"demo\"\n[table.notes\n", ":3:"),
        ("unknown key", "[stack]\nname = \"demo\"\n[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\nhash_kee = 1\n", ":5:1"),
        ("wrong type", "[stack]\nname = \"demo\"\n[bucket.b]\nversioning = 3\n", ":4:"),
        ("bad name", "[stack]\nname = \"demo\"\n[bucket.b]\nname = \"UPPER_case\"\n", ":4:"),
        ("dangling reference", "[stack]\nname = \"demo\"\n[bucket.b]\ntags = { t = \"${table.nope.arn}\" }\n", ":4:"),
        ("real cycle", "[stack]\nname = \"demo\"\n[bucket.x]\ntags = { y = \"${bucket.y.arn}\" }\n[bucket.y]\ntags = { x = \"${bucket.x.arn}\" }\n", ":3:"),
        ("missing key", "[stack]\nname = \"demo\"\n[table.t]\nbilling = \"provisioned\"\n", ":3:"),
    ];
    for (what, source, location) in cases {
        let dir = tempfile::tempdir().unwrap();
        let stack = write_stack(dir.path(), source);
        for command in [
            &["validate"][..],
            &["plan"],
            &["up", "--auto-approve"],
            &["destroy", "--auto-approve"],
        ] {
            let wire = Tripwire::new();
            let out = tool(dir.path())
                .args(command)
                .arg("--stack")
                .arg(&stack)
                .args(["--endpoint-url", &wire.url()])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what} / {command:?}: {stderr}");
            assert!(
                stderr.contains(&format!("stack.toml{location}")),
                "{what} / {command:?}: expected a location `{location}` in:\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            assert!(
                stderr.contains("nothing was sent to AWS"),
                "{what}: {stderr}"
            );
            wire.assert_untouched();
        }
    }
}

#[test]
fn an_empty_stack_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let stack = write_stack(dir.path(), "");
    tool(dir.path())
        .args(["plan", "--stack"])
        .arg(&stack)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("the stack file is empty"));
}

#[test]
fn a_missing_stack_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    tool(dir.path())
        .args(["plan", "--stack", "nowhere.toml"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("nowhere.toml")
                .and(predicate::str::contains("cannot read the stack file")),
        );
}

#[test]
fn the_stack_defaults_to_the_only_toml_in_stacks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("stacks")).unwrap();
    std::fs::write(dir.path().join("stacks/app.toml"), VALID).unwrap();
    tool(dir.path())
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("stacks/app.toml is valid"));
    // $MOBILE_BACKEND_STACK wins over the search.
    std::fs::write(
        dir.path().join("other.toml"),
        VALID.replace("demo", "other"),
    )
    .unwrap();
    tool(dir.path())
        .env("MOBILE_BACKEND_STACK", "other.toml")
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains("stack `other`"));
    std::fs::write(dir.path().join("stacks/second.toml"), VALID).unwrap();
    tool(dir.path()).arg("validate").assert().code(1).stderr(
        predicate::str::contains("pass --stack FILE").and(predicate::str::contains("second.toml")),
    );
}

#[test]
fn global_flags_work_before_or_after_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let stack = write_stack(dir.path(), VALID);
    tool(dir.path())
        .arg("--stack")
        .arg(&stack)
        .arg("--no-color")
        .arg("validate")
        .assert()
        .success();
    tool(dir.path())
        .arg("validate")
        .arg("--no-color")
        .arg("--stack")
        .arg(&stack)
        .assert()
        .success();
}

#[test]
fn usage_errors_exit_1_not_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    // 2 means "changes present"; a typo must never look like that.
    tool(dir.path())
        .args(["plan", "--detailed-exitcodes"])
        .assert()
        .code(1);
    tool(dir.path()).arg("frobnicate").assert().code(1);
    tool(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("validate").and(predicate::str::contains("destroy")));
    tool(dir.path())
        .args(["plan", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--detailed-exitcode"));
}

#[test]
fn the_design_example_validates_without_calling_aws() {
    // Every kind of the example is provisioned now (search and API were the
    // last); `plan` of it is covered by the emulator tests.
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/design/stacks/example.toml");
    let dir = tempfile::tempdir().unwrap();
    let wire = Tripwire::new();
    tool(dir.path())
        .args(["validate", "--endpoint-url", &wire.url(), "--stack"])
        .arg(&example)
        .assert()
        .success();
    wire.assert_untouched();
}

#[test]
fn unreachable_aws_is_a_clear_error_not_a_hang_or_panic() {
    let dir = tempfile::tempdir().unwrap();
    let stack = write_stack(dir.path(), VALID);
    // A port that refuses connections: bind, learn the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tool(dir.path())
        .args([
            "plan",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "--stack",
        ])
        .arg(&stack)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sts:GetCallerIdentity"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_example_stack_in_the_repository_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stacks: Vec<_> = std::fs::read_dir(root.join("stacks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    stacks.push(root.join("tests/fixtures/design/stacks/example.toml"));
    assert!(stacks.len() >= 4, "{stacks:?}");
    for stack in stacks {
        let wire = Tripwire::new();
        tool(root)
            .args(["validate", "--endpoint-url", &wire.url(), "--stack"])
            .arg(&stack)
            .assert()
            .success()
            .stdout(predicate::str::contains("is valid"));
        wire.assert_untouched();
    }
}

/// Every command of the CLI definition, by name (the source of truth for the
/// completion scripts and the man pages).
fn command_names() -> Vec<String> {
    use clap::CommandFactory;
    let names: Vec<String> = mobile_backend::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for expected in [
        "validate",
        "plan",
        "up",
        "destroy",
        "init",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    names
}

#[test]
fn completion_scripts_for_every_shell_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let wire = Tripwire::new();
        let out = tool(dir.path())
            .args(["completions", shell, "--endpoint-url", &wire.url()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.len() > 1000, "{shell}: {script}");
        assert!(script.contains("mobile-backend") || script.contains("mobile_backend"));
        for name in command_names() {
            assert!(script.contains(&name), "{shell}: `{name}` is not completed");
        }
        wire.assert_untouched();
    }
    tool(dir.path())
        .args(["completions", "tcsh"])
        .assert()
        .code(1);
}

#[test]
fn the_man_page_opens_with_its_title_and_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let wire = Tripwire::new();
    let out = tool(dir.path())
        .args(["man", "--endpoint-url", &wire.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    // clap_mangen defines roff's apostrophe string first (`.ie`/`.el`), then
    // the page begins: its title header is the first request after those.
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el"))
        .unwrap_or_default();
    assert!(first.starts_with(".TH mobile-backend 1"), "{first}\n{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for name in command_names() {
        let entry = format!("mobile\\-backend\\-{}(1)", name.replace('-', "\\-"));
        assert!(page.contains(&entry), "`{entry}` is not listed:\n{page}");
    }
    wire.assert_untouched();

    // One page per command with --out-dir.
    let pages = dir.path().join("man");
    tool(dir.path())
        .args(["man", "--out-dir"])
        .arg(&pages)
        .assert()
        .success();
    for name in
        std::iter::once(String::new()).chain(command_names().into_iter().map(|n| format!("-{n}")))
    {
        let path = pages.join(format!("mobile-backend{name}.1"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains("\n.TH "), "{}", path.display());
    }
}

#[test]
fn schema_prints_a_json_schema() {
    let dir = tempfile::tempdir().unwrap();
    let wire = Tripwire::new();
    let out = tool(dir.path())
        .args(["schema", "--endpoint-url", &wire.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["required"], serde_json::json!(["stack"]));
    assert!(schema["definitions"]["TableSpec"]["properties"]["hash_key"].is_object());
    wire.assert_untouched();
}

/// Every file under `dir`, with its contents.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn init_writes_each_template_that_validates_and_never_overwrites() {
    for template in ["swift-starter", "photo-notes", "user-pool"] {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("notes-app");
        let wire = Tripwire::new();
        let out = tool(dir.path())
            .args([
                "init",
                "--template",
                template,
                "--endpoint-url",
                &wire.url(),
            ])
            .arg(&project)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{template}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("stack name `notes-app` (the directory's name"),
            "{stdout}"
        );
        assert!(stdout.contains("stacks/notes-app.toml"), "{stdout}");
        assert!(
            stdout.contains("mobile-backend validate") && stdout.contains("mobile-backend up"),
            "{stdout}"
        );
        let stack = project.join("stacks/notes-app.toml");
        let text = std::fs::read_to_string(&stack).unwrap();
        assert!(text.contains("name = \"notes-app\""), "{text}");
        assert!(
            text.lines().filter(|l| l.starts_with('#')).count() > 20,
            "{template} explains its settings"
        );
        wire.assert_untouched();

        // The result validates as it is, found without --stack.
        let wire = Tripwire::new();
        tool(&project)
            .args(["validate", "--endpoint-url", &wire.url()])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                "stacks/notes-app.toml is valid: stack `notes-app`",
            ));
        wire.assert_untouched();

        // A second init refuses and changes nothing.
        let before = snapshot(&project);
        tool(dir.path())
            .args(["init", "--template", template])
            .arg(&project)
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("refuses to overwrite")
                    .and(predicate::str::contains("nothing was written")),
            );
        assert_eq!(snapshot(&project), before, "{template}");
    }
}

#[test]
fn init_writes_nothing_when_any_one_of_its_files_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/app-guest.json"), "{}").unwrap();
    tool(dir.path())
        .args(["init", "--name", "app"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("app-guest.json"));
    assert!(!dir.path().join("stacks").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("policies/app-guest.json")).unwrap(),
        "{}"
    );
}

#[test]
fn init_makes_a_stack_name_of_the_directory_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("My_Notes 2");
    tool(dir.path())
        .args(["init", "--template", "photo-notes"])
        .arg(&project)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "stack name `my-notes-2` (made from the directory's name `My_Notes 2`",
        ));
    assert!(project.join("stacks/my-notes-2.toml").is_file());
    tool(dir.path())
        .args(["init", "--name", "Not_Valid", "other"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`not-valid` would do"));
    assert!(!dir.path().join("other").exists());
    // Another stack in stacks/: the next commands name the new one.
    tool(&project)
        .args(["init", "--template", "swift-starter", "--name", "guests"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "mobile-backend validate --stack stacks/guests.toml",
        ));
}
