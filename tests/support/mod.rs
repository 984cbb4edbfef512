//! Shared harness of the emulator tests: a private AWS account per test on the
//! shared local emulator, a temp dir with the stack file, the tool run as a
//! subprocess with every AWS setting of the developer's machine removed, and
//! SDK clients that check AWS directly (never through the tool).

#![allow(dead_code)] // not every test file uses every helper

pub mod inventory;
pub mod proxy;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use tempfile::TempDir;

/// Set by `scripts/test.sh` (the URL of the local emulator it started).
pub const ENDPOINT_VAR: &str = "MOBILE_BACKEND_TEST_ENDPOINT";
/// Set by `scripts/test.sh` too: the URL of moto, the second emulator the
/// tests cross-check with (`tests/emulator_moto.rs`).
pub const MOTO_ENDPOINT_VAR: &str = "MOBILE_BACKEND_TEST_MOTO_ENDPOINT";
pub const REGION: &str = "us-east-1";
pub const OWNER_STACK_TAG: &str = "mobile-backend:stack";
pub const OWNER_ID_TAG: &str = "mobile-backend:id";

/// The emulator's URL; a test that needs it fails loudly without it.
#[track_caller]
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{ENDPOINT_VAR} is not set: the emulator tests need the local AWS emulator. \
             Run them with `scripts/test.sh` (e.g. `scripts/test.sh --test emulator`), which starts \
             MiniStack and sets {ENDPOINT_VAR}; or start one with `scripts/emulator.sh start` and \
             set {ENDPOINT_VAR} to the URL it prints"
        ),
    }
}

/// moto's URL; a test that needs it fails loudly without it.
#[track_caller]
pub fn moto_endpoint() -> String {
    match std::env::var(MOTO_ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{MOTO_ENDPOINT_VAR} is not set: the moto cross-checks need moto's server. \
             Run them with `scripts/test.sh --test emulator_moto`, which starts moto and sets \
             {MOTO_ENDPOINT_VAR}; or start one with `scripts/emulator.sh moto start` and set \
             {MOTO_ENDPOINT_VAR} to the URL it prints"
        ),
    }
}

/// A 12-digit account id no other test of any run uses: MiniStack treats a
/// 12-digit access key as the account id, so each test gets an empty account.
/// `1` + 7 digits from the process (pid and start time) + a 4-digit counter;
/// never `000000000000` (the demo's account).
pub fn unique_account() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SALT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let salt = *SALT.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        (u64::from(std::process::id()).wrapping_mul(1_000_003) ^ nanos) % 10_000_000
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    assert!(n < 10_000, "more than 9999 test accounts in one process");
    let account = format!("1{salt:07}{n:04}");
    assert_eq!(account.len(), 12);
    account
}

/// The outcome of one run of the tool.
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from_output(args: Vec<String>, out: Output) -> Run {
        Run {
            args,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Everything about the run, for failure messages.
    pub fn dump(&self) -> String {
        format!(
            "`mobile-backend {}` exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }

    /// Asserts the exit code; shows the whole run when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(self.code, want, "unexpected exit code\n{}", self.dump());
        self
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", self.dump()))
    }
}

/// One test's world: its account, its temp dir, its stack file, its clients.
pub struct World {
    pub endpoint: String,
    /// The AWS account id the emulator gives this world's access key.
    pub account: String,
    /// The access key the tool and the clients use (on MiniStack: the account).
    pub access_key: String,
    pub stack: String,
    pub dir: TempDir,
    pub stack_file: PathBuf,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    /// This account's SDK settings, for clients of other services:
    /// `aws_sdk_iam::config::Builder::from(&w.sdk).endpoint_url(&w.endpoint)`.
    pub sdk: SdkConfig,
}

impl World {
    /// A fresh account and a stack name `<prefix>-<6 digits>` (lowercase,
    /// starts with a letter, short enough for every service's names).
    #[track_caller]
    pub fn new(prefix: &str) -> World {
        let account = unique_account();
        World::build(endpoint(), account.clone(), account, prefix)
    }

    /// A world on moto, the second emulator: moto has one account whatever
    /// the access key (123456789012 unless `MOTO_ACCOUNT_ID` says otherwise;
    /// asked with `sts:GetCallerIdentity`, never assumed), so the tests there
    /// share it and keep apart by their stack names, `<prefix>-<6 digits>`
    /// unique in the run as on MiniStack.
    pub async fn on_moto(prefix: &str) -> World {
        let key = unique_account();
        let mut world = World::build(moto_endpoint(), key, String::new(), prefix);
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&world.sdk)
                .endpoint_url(&world.endpoint)
                .build(),
        );
        world.account = sts
            .get_caller_identity()
            .send()
            .await
            .expect("sts:GetCallerIdentity on moto")
            .account()
            .expect("moto names the account")
            .to_string();
        world
    }

    fn build(endpoint: String, access_key: String, account: String, prefix: &str) -> World {
        let stack = format!("{prefix}-{}", &access_key[access_key.len() - 6..]);
        let dir = tempfile::Builder::new()
            .prefix("mobile-backend-emulator-test.")
            .tempdir()
            .expect("create a temp dir");
        let stack_file = dir.path().join("stack.toml");
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(mobile_backend::aws::limits::default_http_client())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                access_key.clone(),
                "test",
                None,
                None,
                "test",
            )))
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(&endpoint)
                .build(),
        );
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .endpoint_url(&endpoint)
                .force_path_style(true)
                .build(),
        );
        World {
            endpoint,
            account,
            access_key,
            stack,
            dir,
            stack_file,
            dynamodb,
            s3,
            sdk,
        }
    }

    /// Writes the stack file: `[stack] name = ...` followed by `body`.
    pub fn write_stack(&self, body: &str) {
        let text = format!(
            "[stack]\nname = \"{}\"\nregion = \"{REGION}\"\ntags = {{ team = \"mobile\" }}\n\n{body}",
            self.stack
        );
        std::fs::write(&self.stack_file, text).expect("write the stack file");
    }

    /// Uses a stack file of the repository as this test's stack: its
    /// `[stack]` table replaced by the test's own (one account per test), and
    /// the policy files of `policies` copied next to it.
    pub fn use_stack_file(&self, stack: &Path, policies: &Path) {
        let text = std::fs::read_to_string(stack).expect("read the stack file");
        let mut body = String::new();
        let mut in_stack = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_stack = line.trim() == "[stack]";
            }
            if !in_stack {
                body.push_str(line);
                body.push('\n');
            }
        }
        let copied = self.path("policies");
        std::fs::create_dir_all(&copied).expect("a policies dir");
        for entry in std::fs::read_dir(policies).expect("the policies dir") {
            let entry = entry.expect("a policy file");
            std::fs::copy(entry.path(), copied.join(entry.file_name())).expect("copy a policy");
        }
        // The project's own handlers and API models, when the stack names them.
        for dir in ["functions", "api"] {
            if body.contains(&format!("../{dir}/")) {
                let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
                copy_tree(&from, &self.path(dir));
            }
        }
        self.write_stack(
            &body
                .replace("../policies/", "policies/")
                .replace("../functions/", "functions/")
                .replace("../api/", "api/"),
        );
    }

    /// A Lambda client for this account.
    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// A CloudFront client for this account.
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::from_conf(
            aws_sdk_cloudfront::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// A Cognito user pools client for this account.
    pub fn idp(&self) -> aws_sdk_cognitoidentityprovider::Client {
        aws_sdk_cognitoidentityprovider::Client::from_conf(
            aws_sdk_cognitoidentityprovider::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// A Cognito identity pools client for this account.
    pub fn identity(&self) -> aws_sdk_cognitoidentity::Client {
        aws_sdk_cognitoidentity::Client::from_conf(
            aws_sdk_cognitoidentity::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// The account's identity pools, as (id, name).
    pub async fn identity_pools(&self) -> Vec<(String, String)> {
        let out = self
            .identity()
            .list_identity_pools()
            .max_results(60)
            .send()
            .await
            .expect("ListIdentityPools");
        out.identity_pools()
            .iter()
            .map(|p| {
                (
                    p.identity_pool_id().unwrap_or_default().to_string(),
                    p.identity_pool_name().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// An IAM client for this account.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// An API Gateway client for this account.
    pub fn apigateway(&self) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::from_conf(
            aws_sdk_apigateway::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// An OpenSearch Service client for this account.
    pub fn opensearch(&self) -> aws_sdk_opensearch::Client {
        aws_sdk_opensearch::Client::from_conf(
            aws_sdk_opensearch::config::Builder::from(&self.sdk)
                .endpoint_url(&self.endpoint)
                .build(),
        )
    }

    /// `stacks/reference-architecture.toml` as this test's stack, with the
    /// search domain on `engine` ("cloudsearch" or "opensearch"); its
    /// functions are built from the project's own handlers (`functions/`).
    pub async fn use_reference_architecture(&self, engine: &str) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        self.use_stack_file(
            &root.join("stacks/reference-architecture.toml"),
            &root.join("policies"),
        );
        if engine != "cloudsearch" {
            let text = std::fs::read_to_string(&self.stack_file).expect("the stack file");
            let text = text.replace(
                "engine = \"cloudsearch\"",
                &format!("engine = \"{engine}\""),
            );
            std::fs::write(&self.stack_file, text).expect("write the stack file");
        }
    }

    /// Creates a Lambda function a stack names (a trigger or an integration
    /// must exist, on AWS as on the emulator); MiniStack stores it without
    /// running it, so the code is the smallest valid zip: an empty one.
    pub async fn create_function(&self, name: &str) -> String {
        let mut empty_zip = b"PK\x05\x06".to_vec();
        empty_zip.extend([0u8; 18]);
        let out = self
            .lambda()
            .create_function()
            .function_name(name)
            .runtime(aws_sdk_lambda::types::Runtime::Nodejs20x)
            .handler("index.handler")
            .role(format!("arn:aws:iam::{}:role/lambda-basic", self.account))
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                    .build(),
            )
            .send()
            .await
            .expect("lambda:CreateFunction");
        out.function_arn().expect("a function ARN").to_string()
    }

    /// A function's resource policy, parsed (`null` when it has none: AWS
    /// answers `ResourceNotFoundException`, MiniStack an empty policy).
    pub async fn function_policy(&self, name: &str) -> serde_json::Value {
        match self.lambda().get_policy().function_name(name).send().await {
            Ok(out) => serde_json::from_str(out.policy().unwrap_or("null")).expect("policy JSON"),
            Err(e) => {
                let service = e.into_service_error();
                assert!(
                    service.is_resource_not_found_exception(),
                    "lambda:GetPolicy {name}: {service:?}"
                );
                serde_json::Value::Null
            }
        }
    }

    /// A path inside the test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The default physical name of `<kind>.<key>`: `<stack>-<key>`.
    pub fn name(&self, key: &str) -> String {
        format!("{}-{key}", self.stack)
    }

    /// The tool, isolated from the machine's AWS setup, pointed at the
    /// emulator, this account and this stack file.
    pub fn command(&self) -> assert_cmd::Command {
        let bin = assert_cmd::cargo::cargo_bin("mobile-backend");
        let mut std_cmd = std::process::Command::new(bin);
        self.isolate(&mut std_cmd);
        let mut cmd = assert_cmd::Command::from_std(std_cmd);
        cmd.arg("--no-color")
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .arg("--stack")
            .arg(&self.stack_file)
            // Standard input is a closed pipe: never a terminal.
            .write_stdin(Vec::<u8>::new())
            .timeout(std::time::Duration::from_secs(120));
        cmd
    }

    /// Runs the tool with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None)
    }

    /// Runs the tool with `args`, logging its AWS calls to `call_log`.
    pub fn run_logged(&self, args: &[&str], call_log: &Path) -> Run {
        self.run_with(args, Some(call_log))
    }

    /// Runs the tool with `args` and extra environment variables (such as
    /// `AWS_ENDPOINT_URL_CLOUDSEARCH`, the CloudSearch stand-in's URL),
    /// logging its AWS calls to `call_log` when given.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)], call_log: Option<&Path>) -> Run {
        let mut cmd = self.command();
        cmd.envs(env.iter().copied()).args(args);
        if let Some(log) = call_log {
            cmd.env("MOBILE_BACKEND_CALL_LOG", log);
        }
        let out = cmd.output().expect("run mobile-backend");
        let run = Run::from_output(args.iter().map(|a| a.to_string()).collect(), out);
        eprintln!("[{}] {}", self.stack, run.dump());
        run
    }

    fn run_with(&self, args: &[&str], call_log: Option<&Path>) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        if let Some(log) = call_log {
            cmd.env("MOBILE_BACKEND_CALL_LOG", log);
        }
        let out = cmd.output().expect("run mobile-backend");
        let run = Run::from_output(args.iter().map(|a| a.to_string()).collect(), out);
        eprintln!("[{}] {}", self.stack, run.dump());
        run
    }

    // ---------------------------------------------------------- DynamoDB --

    pub async fn table_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .dynamodb
                .list_tables()
                .set_exclusive_start_table_name(start)
                .send()
                .await
                .expect("dynamodb:ListTables");
            // The lock table belongs to the tool, not to any stack.
            names.extend(
                out.table_names()
                    .iter()
                    .filter(|n| n.as_str() != mobile_backend::lock::DEFAULT_TABLE)
                    .cloned(),
            );
            start = out.last_evaluated_table_name().map(str::to_string);
            if start.is_none() {
                return names;
            }
        }
    }

    /// The table's description, `None` when it does not exist.
    pub async fn table(&self, name: &str) -> Option<aws_sdk_dynamodb::types::TableDescription> {
        match self.dynamodb.describe_table().table_name(name).send().await {
            Ok(out) => out.table,
            Err(e) => {
                let service = e.into_service_error();
                assert!(
                    service.is_resource_not_found_exception(),
                    "dynamodb:DescribeTable {name}: {service:?}"
                );
                None
            }
        }
    }

    pub async fn must_table(&self, name: &str) -> aws_sdk_dynamodb::types::TableDescription {
        self.table(name)
            .await
            .unwrap_or_else(|| panic!("table {name} does not exist"))
    }

    pub async fn table_tags(&self, name: &str) -> BTreeMap<String, String> {
        let arn = self
            .must_table(name)
            .await
            .table_arn()
            .expect("table ARN")
            .to_string();
        let out = self
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("dynamodb:ListTagsOfResource");
        out.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    /// (name, key type, attribute type) of the table's key schema, hash first.
    pub async fn key_schema(&self, name: &str) -> Vec<(String, String, String)> {
        let table = self.must_table(name).await;
        let mut keys: Vec<(String, String, String)> = table
            .key_schema()
            .iter()
            .map(|k| {
                let attribute_type = table
                    .attribute_definitions()
                    .iter()
                    .find(|d| d.attribute_name() == k.attribute_name())
                    .map(|d| d.attribute_type().as_str().to_string())
                    .unwrap_or_default();
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                    attribute_type,
                )
            })
            .collect();
        keys.sort_by_key(|(_, kind, _)| kind != "HASH");
        keys
    }

    pub async fn item_count(&self, table: &str) -> usize {
        self.dynamodb
            .scan()
            .table_name(table)
            .send()
            .await
            .expect("dynamodb:Scan")
            .items()
            .len()
    }

    // ---------------------------------------------------------------- S3 --

    pub async fn bucket_names(&self) -> Vec<String> {
        self.s3
            .list_buckets()
            .send()
            .await
            .expect("s3:ListBuckets")
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect()
    }

    pub async fn bucket_exists(&self, name: &str) -> bool {
        match self.s3.head_bucket().bucket(name).send().await {
            Ok(_) => true,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                assert_eq!(status, Some(404), "s3:HeadBucket {name}: {e:?}");
                false
            }
        }
    }

    pub async fn bucket_tags(&self, name: &str) -> BTreeMap<String, String> {
        self.s3
            .get_bucket_tagging()
            .bucket(name)
            .send()
            .await
            .expect("s3:GetBucketTagging")
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    /// (object versions, delete markers) in the bucket.
    pub async fn bucket_contents(&self, name: &str) -> (usize, usize) {
        let out = self
            .s3
            .list_object_versions()
            .bucket(name)
            .send()
            .await
            .expect("s3:ListObjectVersions");
        (out.versions().len(), out.delete_markers().len())
    }
}

/// The calls of a call log, one `service:Operation` a line.
pub fn read_call_log(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The calls the stack lock makes (`up` and `destroy` take it).
pub fn is_lock_call(call: &str) -> bool {
    call.starts_with(&format!("{}:", mobile_backend::aws::LOCK_SERVICE))
}

/// The calls that change something in the stack (the lock's are left out).
pub fn mutating(calls: &[String]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| !is_lock_call(c))
        .filter(|c| {
            let operation = c.rsplit(':').next().unwrap_or(c);
            mobile_backend::aws::is_mutating(operation)
        })
        .cloned()
        .collect()
}

/// Calls counted per operation.
pub fn per_operation(calls: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in calls {
        *counts.entry(c.clone()).or_insert(0) += 1;
    }
    counts
}

/// `service:Operation=count, ...` on one line, for messages.
pub fn summary(calls: &[String]) -> String {
    per_operation(calls)
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entry of `plan --json` for `address`.
#[track_caller]
pub fn change_of<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    plan["resource_changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no resource_changes[] in {plan:#}"))
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("no change for {address} in {plan:#}"))
}

/// `change.actions` of `address` in `plan --json`.
#[track_caller]
pub fn actions_of(plan: &serde_json::Value, address: &str) -> Vec<String> {
    change_of(plan, address)["change"]["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no change.actions for {address} in {plan:#}"))
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect()
}

impl World {
    /// The tool as a plain process (for runs that overlap): the same
    /// environment as [`World::command`], standard input closed.
    pub fn process(&self, args: &[&str], call_log: Option<&Path>) -> std::process::Command {
        let bin = assert_cmd::cargo::cargo_bin("mobile-backend");
        let mut cmd = std::process::Command::new(bin);
        self.isolate(&mut cmd);
        cmd.args(["--no-color", "--endpoint-url", &self.endpoint, "--stack"])
            .arg(&self.stack_file)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if let Some(log) = call_log {
            cmd.env("MOBILE_BACKEND_CALL_LOG", log);
        }
        cmd
    }

    /// The developer's AWS settings removed; this test's account set.
    fn isolate(&self, cmd: &mut std::process::Command) {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("AWS_") || key.starts_with("MOBILE_BACKEND_") || key == "NO_COLOR" {
                cmd.env_remove(&key);
            }
        }
        let nowhere = self.path("no-such-aws-config");
        cmd.current_dir(self.dir.path())
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }

    /// Starts the tool on a pseudo-terminal (Python's `pty`, present wherever
    /// the emulator is) and returns once it asks for confirmation.
    pub fn on_a_terminal(&self, args: &[&str]) -> Terminal {
        self.on_a_terminal_until(args, "Only `yes` is accepted")
    }

    /// Starts the tool on a pseudo-terminal and returns once its output
    /// shows `question`.
    pub fn on_a_terminal_until(&self, args: &[&str], question: &str) -> Terminal {
        use std::io::BufRead;
        const DRIVER: &str = r#"
import os, pty, signal, sys, threading
marker = sys.argv[1].encode()
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, asked = b"", False
def orders():
    for line in sys.stdin:
        order = line.strip()
        if order == "SIGINT":
            os.write(fd, b"\x03")
        elif order == "KILL":
            os.kill(pid, signal.SIGKILL)
        else:
            os.write(fd, (order + "\n").encode())
threading.Thread(target=orders, daemon=True).start()
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not asked and marker in out:
        asked = True
        print("ASKED %d" % pid, flush=True)
_, status = os.waitpid(pid, 0)
print("EXIT %d" % os.waitstatus_to_exitcode(status), flush=True)
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.flush()
"#;
        let bin = assert_cmd::cargo::cargo_bin("mobile-backend");
        let mut cmd = std::process::Command::new("python3");
        cmd.arg("-c").arg(DRIVER).arg(question).arg(bin);
        self.isolate(&mut cmd);
        cmd.args(["--endpoint-url", &self.endpoint, "--stack"])
            .arg(&self.stack_file)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit());
        let mut child = cmd.spawn().expect("python3 runs the terminal driver");
        let stdout = child.stdout.take().expect("the driver's stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut pid = None;
        for line in lines.by_ref() {
            let line = line.expect("the driver's output");
            if let Some(p) = line.strip_prefix("ASKED ") {
                pid = p.trim().parse::<u32>().ok();
                break;
            }
            if line.starts_with("EXIT ") {
                let rest: Vec<String> = lines.map_while(Result::ok).collect();
                panic!("the tool ended before asking: {line}\n{}", rest.join("\n"));
            }
        }
        Terminal {
            child,
            lines,
            pid: pid.expect("the tool asked for confirmation"),
        }
    }
}

/// The tool waiting for an answer on a pseudo-terminal.
pub struct Terminal {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// The tool's process id.
    pub pid: u32,
}

impl Terminal {
    /// Sends `order`: an answer to type, `SIGINT` (Ctrl-C) or `KILL`
    /// (SIGKILL, no cleanup); returns the exit code and the screen.
    pub fn finish(mut self, order: &str) -> (i32, String) {
        use std::io::Write;
        let mut stdin = self.child.stdin.take().expect("the driver's stdin");
        writeln!(stdin, "{order}").expect("order the driver");
        drop(stdin);
        let mut code = -1;
        let mut screen = String::new();
        for line in self.lines.by_ref().map_while(Result::ok) {
            if let Some(c) = line.strip_prefix("EXIT ") {
                code = c.trim().parse().unwrap_or(-1);
            } else {
                screen.push_str(&line);
                screen.push('\n');
            }
        }
        let _ = self.child.wait();
        (code, screen)
    }
}

impl World {
    /// The tool exactly as a CI job runs it: no `--no-color`, no `NO_COLOR`,
    /// standard input closed, output to pipes.
    pub fn run_as_ci(&self, args: &[&str]) -> Run {
        let bin = assert_cmd::cargo::cargo_bin("mobile-backend");
        let mut cmd = std::process::Command::new(bin);
        self.isolate(&mut cmd);
        cmd.args(["--endpoint-url", &self.endpoint, "--stack"])
            .arg(&self.stack_file)
            .args(args)
            .stdin(std::process::Stdio::null());
        let out = cmd.output().expect("run mobile-backend");
        let run = Run::from_output(args.iter().map(|a| a.to_string()).collect(), out);
        eprintln!("[{}] {}", self.stack, run.dump());
        run
    }
}

/// Copies a folder tree (files and folders only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a folder");
    for entry in std::fs::read_dir(from).expect("a folder to copy") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// An HTTP request to the emulator as the account `account`: MiniStack keeps
/// one set of resources per access key, and finds it in the `Authorization`
/// header even of calls AWS takes unsigned (an app's `SignUp`, an API route
/// open to all). Returns the status and the body.
pub fn http(account: &str, request: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("the emulator answers");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("a timeout");
    // A `Host` among `headers` (a CloudFront viewer request's
    // `<id>.cloudfront.net`) replaces the emulator's own.
    let own_host = if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        String::new()
    } else {
        format!("Host: {host}\r\n")
    };
    let mut head = format!(
        "{request} HTTP/1.1\r\n{own_host}Authorization: AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}\r\n{body}").expect("the request is sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A call of an AWS JSON-protocol operation that AWS takes unsigned (an
/// app's `SignUp`, `GetId`), sent as the account `account` (see [`http`]).
/// Returns the parsed answer; panics with the status and body otherwise.
pub fn unsigned_call(account: &str, target: &str, input: &serde_json::Value) -> serde_json::Value {
    let (status, body) = http(
        account,
        "POST /",
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", target),
        ],
        &input.to_string(),
    );
    assert_eq!(status, 200, "{target}: {body}");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{target}: {e}: {body}"))
}
