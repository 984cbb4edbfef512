//! `[function.<key>]` — a Lambda function built from a folder of the repository.
//!
//! The tool zips the folder itself, deterministically (see [`package`]), so
//! the zip's SHA-256 compared with the function's live `CodeSha256` says
//! exactly whether the code changed: the attribute `code`, updated in place
//! with `UpdateFunctionCode`. The name forces replacement; runtime, handler,
//! role, memory, timeout, environment and description change in place with
//! `UpdateFunctionConfiguration`, the architectures with `UpdateFunctionCode`,
//! tags with `TagResource`/`UntagResource`. Lambda runs one update of a
//! function at a time: each call waits for `State = Active` and
//! `LastUpdateStatus = Successful` first and after.

use schemars::JsonSchema;
use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, PackageType,
    Runtime, State,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::function_code as code;
use super::function_triggers::{self as triggers, Trigger};
use super::registry::{ResourceKind, Step};
use super::{
    retry, wait_for, ApplyOptions, Change, Desired, Error, Kind, Live, Outputs, Ownership,
};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::{Address, Tags};

// ------------------------------------------------------------ schema ----

/// A Lambda function wherever one is named (a user pool trigger): its ARN,
/// or `{ function = "<key>" }` for a `[function.<key>]` of this stack, which
/// also makes the function a dependency (created first, its ARN used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionRef {
    Arn(String),
    Function(String),
}

impl FunctionRef {
    /// The ARN, once known (`None` for a stack function not resolved yet).
    pub(crate) fn arn(&self) -> Option<&str> {
        match self {
            FunctionRef::Arn(arn) => Some(arn),
            FunctionRef::Function(_) => None,
        }
    }

    /// The address of the stack function it names, if it names one.
    pub(crate) fn address(&self) -> Option<Address> {
        match self {
            FunctionRef::Function(key) => Some(Address::new(crate::stack::Kind::Function, key)),
            FunctionRef::Arn(_) => None,
        }
    }

    /// The same reference with a stack function replaced by its ARN (or the
    /// marker of a value not known yet).
    pub(crate) fn resolved(&self, ctx: &super::DesiredContext<'_>) -> FunctionRef {
        match self.address() {
            Some(address) => FunctionRef::Arn(ctx.output(&address, "arn")),
            None => self.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for FunctionRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = FunctionRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a Lambda function ARN or `{ function = \"<key>\" }`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FunctionRef, E> {
                Ok(FunctionRef::Arn(v.to_string()))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<FunctionRef, M::Error> {
                use serde::de::Error;
                let mut key = None;
                while let Some(name) = map.next_key::<String>()? {
                    if name != "function" {
                        return Err(M::Error::unknown_field(&name, &["function"]));
                    }
                    key = Some(map.next_value::<String>()?);
                }
                key.map(FunctionRef::Function)
                    .ok_or_else(|| M::Error::missing_field("function"))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Serialize for FunctionRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            FunctionRef::Arn(arn) => s.serialize_str(arn),
            FunctionRef::Function(key) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("function", key)?;
                map.end()
            }
        }
    }
}

impl JsonSchema for FunctionRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FunctionRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Lambda function: its ARN, or `{ function = \"<key>\" }` for a `[function.<key>]` of this stack.",
            "anyOf": [
                { "type": "string" },
                {
                    "type": "object",
                    "properties": { "function": { "type": "string" } },
                    "required": ["function"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// `[function.<key>]` — a Lambda function whose code is a folder of the repository.
///
/// The tool zips `source` itself, the same bytes on every machine and
/// checkout path: files sorted by path, fixed timestamps (1980-01-01 00:00),
/// modes 0644 (0755 when the owner may execute the file), directories not
/// stored. Left out: anything named `.git`, `.hg`, `.svn`, `.DS_Store` or
/// `Thumbs.db`, and editor files (`*.swp`, `*.swo`, `*~`, `#*#`, `.#*`).
/// A package over 50 MB zipped (Lambda's limit for a direct upload) or
/// 250 MB unzipped is refused.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// Physical name; default `<stack>-<key>`. 1 to 64 letters, digits, `-` and `_`.
    /// Changing it replaces the function.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing function made outside this tool: the function's name. When
    /// the stack owns no function for this address, the one with this name is taken
    /// as this address's (only if it has no `mobile-backend:*` tags), and `up` adds
    /// the ownership tags (and deploys `source`, if its code differs). Once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The folder whose files are the function's code, relative to the stack file
    /// (`../functions/notes-api`). Zipped by the tool: files sorted, fixed timestamps,
    /// modes 0644/0755; `.git`, `.hg`, `.svn`, `.DS_Store`, `Thumbs.db` and editor
    /// files (`*.swp`, `*.swo`, `*~`, `#*#`, `.#*`) are left out. At most 50 MB
    /// zipped, 250 MB unzipped.
    pub source: String,
    /// The Lambda runtime: `nodejs20.x`, `nodejs22.x`, `python3.12`, ...
    pub runtime: String,
    /// The function's entry point: `<file>.<export>` (`index.handler` is `index.js`,
    /// `index.mjs` or `index.cjs` for Node.js, `index.py` for Python).
    pub handler: String,
    /// The execution role: a `[role.<key>]` of this stack (trusting
    /// `lambda.amazonaws.com`), or a role ARN.
    pub role: String,
    /// Memory in MB, 128 to 10240; default 128.
    #[serde(default)]
    pub memory: Option<i64>,
    /// Timeout in seconds, 1 to 900; default 3.
    #[serde(default)]
    pub timeout: Option<i64>,
    /// Environment variables; values may hold references (`${table.notes.name}`).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// What the function is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The instruction set: `["x86_64"]` (the default) or `["arm64"]`.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Stream triggers: each one an event source mapping from a table's stream to
    /// this function (`[{ stream = "table.notes", starting_position = "trim_horizon" }]`).
    /// The table must declare `stream`; a stream appears at most once. The
    /// function's role needs `dynamodb:DescribeStream`, `dynamodb:GetRecords`,
    /// `dynamodb:GetShardIterator` and `dynamodb:ListStreams` on it (a warning says
    /// when a role of this stack does not grant them).
    #[serde(default)]
    pub triggers: Vec<TriggerSpec>,
    /// Tags of this function, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

crate::spec_fields!(FunctionSpec);

/// One stream trigger of a function: an event source mapping from a table's
/// DynamoDB stream. Batch size and enabled change in place; another stream or
/// starting position replaces the mapping (deleted, then made again).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// The stream: `table.<key>` of a `[table.<key>]` of this stack that declares
    /// `stream` (made first; its `stream_arn` is the source).
    pub stream: String,
    /// Where a new mapping starts reading: `latest` (the default, as in the Lambda
    /// console: records written from now on) or `trim_horizon` (every record the
    /// stream still holds, up to 24 hours old). Changing it replaces the mapping.
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// The most records per invocation, 1 to 10000; default 100 (Lambda's for streams).
    #[serde(default = "default_batch_size")]
    pub batch_size: i64,
    /// Whether Lambda reads the stream; default `true`. `false` pauses the trigger
    /// and keeps its place in the stream.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

/// Where a new event source mapping starts reading its stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StartingPosition {
    /// Records written after the mapping is made.
    #[default]
    Latest,
    /// The oldest record the stream still holds (up to 24 hours back).
    TrimHorizon,
}

impl StartingPosition {
    /// How the stack file and the plan spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StartingPosition::Latest => "latest",
            StartingPosition::TrimHorizon => "trim_horizon",
        }
    }
}

/// Lambda's batch size for a stream when none is given.
pub(crate) const DEFAULT_BATCH_SIZE: i64 = 100;
/// Lambda's largest batch from a DynamoDB stream.
pub(crate) const MAX_BATCH_SIZE: i64 = 10_000;

fn default_batch_size() -> i64 {
    DEFAULT_BATCH_SIZE
}

fn default_enabled() -> bool {
    true
}

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("code", Change::Update),
    ("runtime", Change::Update),
    ("handler", Change::Update),
    ("role", Change::Update),
    ("memory", Change::Update),
    ("timeout", Change::Update),
    ("environment", Change::Update),
    ("description", Change::Update),
    ("architectures", Change::Update),
    // Event source mappings: made, changed and deleted to match (see
    // `function_triggers`); a new source or starting position replaces one
    // mapping, never the function.
    ("triggers", Change::Update),
    ("tags", Change::Update),
    // Lambda's own hash and the proof tag, as read (see `function_code`).
    ("lambda_code", Change::Computed),
];

/// The runtimes Lambda accepts for new functions (AWS Lambda Developer
/// Guide, "Lambda runtimes"). Extend it when AWS adds one.
pub(crate) const RUNTIMES: &[&str] = &[
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.3",
    "ruby3.4",
    "provided.al2",
    "provided.al2023",
];

const DEFAULT_MEMORY: i64 = 128;
const DEFAULT_TIMEOUT: i64 = 3;
const DEFAULT_ARCHITECTURE: &str = "x86_64";
/// Lambda's limit of a zip uploaded directly (not through S3).
pub(crate) const ZIPPED_LIMIT: u64 = 50 * 1024 * 1024;
/// Lambda's limit of a function's code unzipped.
pub(crate) const UNZIPPED_LIMIT: u64 = 250 * 1024 * 1024;
/// How long a create or an update may take to settle (Terraform waits 10 minutes).
const SETTLE: Duration = Duration::from_secs(10 * 60);

/// `[function.<key>]`: a Lambda function.
pub struct FunctionKind;

impl Step for FunctionKind {
    type Config = FunctionConfig;
    type Spec = FunctionSpec;
    const NOUN: &'static str = "Lambda function";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const COST: u64 = 3;

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        tags: Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        let dir = ctx
            .stack
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join(&spec.source);
        let role_key = Address::new(Kind::Role, spec.role.as_str());
        // UNKNOWN until the role exists; apply resolves again after it.
        let role = if ctx.stack.resources.contains_key(&role_key) {
            ctx.output(&role_key, "arn")
        } else {
            spec.role.clone()
        };
        let code = package_cached(&dir, name).map_err(|e| format!("{address}: {e}"))?;
        let triggers = triggers::desired(spec, ctx).map_err(|e| format!("{address}: {e}"))?;
        serde_json::to_value(desired_config(spec, name, role, code, triggers, tags)?)
            .map_err(|e| e.to_string())
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read_at(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        _parent: Option<&Outputs>,
    ) -> Result<Outputs, Error> {
        create(aws, desired).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        _parent: Option<&Outputs>,
    ) -> Result<Outputs, Error> {
        update(aws, desired, live).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    const OUTPUTS: &'static [&'static str] = &["arn", "name"];
    const SWIFT_SECTION: &'static str = "Functions";
}

impl ResourceKind for FunctionKind {
    const NAME: &'static str = "function";
    const DESCRIPTION: &'static str =
        "Lambda functions built from folders of the repository, by key.";
    const REFERENCES: &'static [&'static str] = &["arn", "name"];
    const ADOPTS_BY_NAME: bool = true;

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 64)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'),
            "letters, digits, `-` and `_`",
        )
    }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    fn tagged_name(arn: &str) -> Option<String> {
        let parts: Vec<&str> = arn.split(':').collect();
        (parts.len() == 7 && parts[2] == "lambda" && parts[5] == "function")
            .then(|| parts[6].to_string())
    }

    async fn find_owned(
        aws: &Aws,
        stack: &crate::stack::Stack,
        declared_names: &[String],
    ) -> Result<Vec<(Address, String)>, Error> {
        find_owned(aws, stack, declared_names).await
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        check(spec, c)
    }

    /// A role of this stack must let Lambda assume it; a trigger's table
    /// must declare a stream, which the role should let Lambda read.
    fn check_across(
        spec: &Self::Spec,
        address: &Address,
        stack: &crate::stack::Stack,
    ) -> Vec<crate::stack::Finding> {
        let mut found: Vec<crate::stack::Finding> = role_trusts_lambda(spec, address, stack)
            .err()
            .map(|(message, help)| crate::stack::Finding::error(message, Some(help)))
            .into_iter()
            .collect();
        found.extend(triggers::check_across(spec, address, stack));
        found
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn"];
    const ADOPT_LIST_RANK: u8 = 7;

    /// Every function of the account and region (`ListFunctions`), by name.
    async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
        adopt_list(aws).await
    }

    /// Downloads the function's live package: its files become the
    /// `source` folder (see [`code`]).
    async fn adopt_parts(
        aws: &Aws,
        _stack: &str,
        found: &mut adopt::Found,
    ) -> Result<Vec<String>, String> {
        adopt_code(aws, found).await
    }

    fn adopt_write(
        writer: &mut adopt::Writer<'_>,
        found: &adopt::Found,
        section: &mut adopt::Section,
    ) {
        adopt_write(writer, found, section)
    }
}

/// The service principal a function's role must trust.
const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";

/// Whether the function's role, when it is a role of this stack, trusts
/// Lambda (`trust.service`, or a trust file naming the service); an error
/// message and what to do when it does not. An ARN, or a role the stack does
/// not declare (reported elsewhere), is not checked.
fn role_trusts_lambda(
    spec: &FunctionSpec,
    address: &Address,
    stack: &crate::stack::Stack,
) -> Result<(), (String, String)> {
    let role_address = Address::new(Kind::Role, spec.role.as_str());
    let Some(crate::stack::Spec::Role(role)) = stack.resources.get(&role_address).map(|r| &r.spec)
    else {
        return Ok(());
    };
    let trusted = match (&role.trust.service, &role.trust.file) {
        (Some(service), _) => service == LAMBDA_PRINCIPAL,
        (None, Some(file)) => {
            let dir = stack.file.parent().unwrap_or(Path::new("."));
            std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|doc| trusts_service(&doc, LAMBDA_PRINCIPAL))
        }
        (None, None) => false,
    };
    if trusted {
        return Ok(());
    }
    Err((
        format!("`{address}`: its role `{role_address}` does not trust `{LAMBDA_PRINCIPAL}`, so Lambda cannot run the function as it"),
        format!("give `[{role_address}]` `trust = {{ service = \"{LAMBDA_PRINCIPAL}\" }}`, or use a role made for Lambda"),
    ))
}

/// Whether a trust policy lets `service` assume the role.
fn trusts_service(doc: &Value, service: &str) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(all) => all.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && match &st["Principal"]["Service"] {
                Value::String(s) => s == service,
                Value::Array(all) => all.iter().any(|s| s == service),
                _ => false,
            }
    })
}

/// The comparable shape of a function, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: String,
    /// The zip's SHA-256, base64 (Lambda's `CodeSha256`).
    pub code: String,
    pub runtime: String,
    pub handler: String,
    /// The role's ARN.
    pub role: String,
    pub memory: i64,
    pub timeout: i64,
    pub environment: BTreeMap<String, String>,
    pub description: Option<String>,
    pub architectures: Vec<String>,
    /// The stream triggers (event source mappings from DynamoDB streams),
    /// sorted by source.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    pub tags: Tags,
    /// Computed, read only: Lambda's own `CodeSha256` and the proof tag as
    /// the function carries it. `code` differs from that hash when a proof
    /// says the package holds what the tool would zip (`function_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_code: Option<LambdaCode>,
}

/// A function's package as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LambdaCode {
    /// `CodeSha256`: the SHA-256 of the bytes uploaded, base64.
    pub sha256: String,
    /// The `mobile-backend:code` tag, when the function carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

pub(crate) fn desired_config(
    spec: &FunctionSpec,
    name: &str,
    role: String,
    code: String,
    triggers: Vec<Trigger>,
    tags: Tags,
) -> Result<FunctionConfig, String> {
    let memory = spec.memory.unwrap_or(DEFAULT_MEMORY);
    if !(128..=10240).contains(&memory) {
        return Err(format!(
            "`memory = {memory}`: Lambda allows 128 to 10240 MB"
        ));
    }
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if !(1..=900).contains(&timeout) {
        return Err(format!(
            "`timeout = {timeout}`: Lambda allows 1 to 900 seconds"
        ));
    }
    let architectures = if spec.architectures.is_empty() {
        vec![DEFAULT_ARCHITECTURE.to_string()]
    } else {
        spec.architectures.clone()
    };
    Ok(FunctionConfig {
        name: name.to_string(),
        code,
        runtime: spec.runtime.clone(),
        handler: spec.handler.clone(),
        role,
        memory,
        timeout,
        environment: spec.environment.clone(),
        description: spec.description.clone().filter(|d| !d.is_empty()),
        architectures,
        triggers,
        tags,
        lambda_code: None,
    })
}

// ------------------------------------------------------------ checks ----

fn check(spec: &FunctionSpec, c: &mut crate::stack::Checks<'_, '_>) {
    let address = c.address().clone();
    // The role: a key of this stack (an edge: it is made first), or an ARN.
    if !spec.role.starts_with("arn:") && !spec.role.contains("${") {
        c.link(
            address.clone(),
            Address::new(Kind::Role, spec.role.as_str()),
            c.span(&["role"]),
            "the function's `role`",
            true,
        );
    }
    triggers::check(spec, c);
    let runtime_known = RUNTIMES.contains(&spec.runtime.as_str());
    if !runtime_known {
        c.error(
            c.span(&["runtime"]),
            format!(
                "`{address}`: `runtime = \"{}\"` is not a runtime Lambda supports",
                spec.runtime
            ),
            Some(
                match crate::stack::reference::nearest(&spec.runtime, RUNTIMES.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`? Supported: {}", RUNTIMES.join(", ")),
                    None => format!("supported: {}", RUNTIMES.join(", ")),
                },
            ),
        );
    }
    if let Some(m) = spec.memory.filter(|m| !(128..=10240).contains(m)) {
        c.error(
            c.span(&["memory"]),
            format!("`{address}`: `memory = {m}`; Lambda allows 128 to 10240 MB"),
            None,
        );
    }
    if let Some(t) = spec.timeout.filter(|t| !(1..=900).contains(t)) {
        c.error(
            c.span(&["timeout"]),
            format!("`{address}`: `timeout = {t}`; Lambda allows 1 to 900 seconds"),
            None,
        );
    }
    if spec.architectures.len() > 1
        || spec
            .architectures
            .iter()
            .any(|a| a != "x86_64" && a != "arm64")
    {
        c.error(
            c.span(&["architectures"]),
            format!(
                "`{address}`: `architectures = {:?}`; Lambda takes one of `x86_64` or `arm64`",
                spec.architectures
            ),
            None,
        );
    }
    for key in spec.environment.keys() {
        let mut chars = key.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            c.error(
                c.span(&["environment", key]),
                format!("`{address}`: environment variable `{key}` must start with a letter and hold only letters, digits and `_`"),
                None,
            );
        }
    }
    let Some((module, export)) = spec.handler.rsplit_once('.') else {
        c.error(
            c.span(&["handler"]),
            format!(
                "`{address}`: `handler = \"{}\"` must be `<file>.<export>`, like `index.handler`",
                spec.handler
            ),
            None,
        );
        return;
    };
    if module.is_empty() || export.is_empty() {
        c.error(
            c.span(&["handler"]),
            format!(
                "`{address}`: `handler = \"{}\"` must be `<file>.<export>`, like `index.handler`",
                spec.handler
            ),
            None,
        );
        return;
    }
    if spec.source.contains("${") {
        return;
    }
    let dir = c.stack_dir().join(&spec.source);
    match files_of(&dir) {
        Err(e) => {
            c.error(
                c.span(&["source"]),
                format!("`{address}`: {e}"),
                Some("`source` is relative to the stack file's directory".into()),
            );
            return;
        }
        Ok(files) if files.is_empty() => {
            c.error(
                c.span(&["source"]),
                format!(
                    "`{address}`: the source folder `{}` holds no file to ship",
                    dir.display()
                ),
                Some(
                    "put the function's code in it (see the README for the files left out)".into(),
                ),
            );
            return;
        }
        Ok(_) => {}
    }
    let candidates: Vec<String> = if spec.runtime.starts_with("nodejs") {
        ["js", "mjs", "cjs"]
            .iter()
            .map(|ext| format!("{module}.{ext}"))
            .collect()
    } else if spec.runtime.starts_with("python") {
        vec![format!("{}.py", module.replace('.', "/"))]
    } else {
        return;
    };
    if !candidates.iter().any(|f| dir.join(f).is_file()) {
        c.error(
            c.span(&["handler"]),
            format!(
                "`{address}`: `handler = \"{}\"` needs {} in `{}`, which is not there",
                spec.handler,
                candidates
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or "),
                dir.display()
            ),
            Some("the handler is `<file without extension>.<exported function>`".into()),
        );
    }
}

// ----------------------------------------------------------- package ----

/// Whether a file or folder of a function's source is left out of its zip:
/// version-control folders, desktop litter and editor swap and backup files.
pub(crate) fn left_out(name: &str) -> bool {
    matches!(name, ".git" | ".hg" | ".svn" | ".DS_Store" | "Thumbs.db")
        || name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with('~')
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".#")
}

/// One file of a source folder: its path in the zip (`/`-separated) and on disk.
struct SourceFile {
    zip_path: String,
    disk: PathBuf,
}

/// The files of `dir` that ship, sorted by their path in the zip.
fn files_of(dir: &Path) -> Result<Vec<SourceFile>, String> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("cannot read the source folder `{}`: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("the source `{}` is not a folder", dir.display()));
    }
    let mut out = Vec::new();
    let mut visiting = Vec::new();
    walk(dir, "", &mut visiting, &mut out)?;
    out.sort_by(|a, b| a.zip_path.cmp(&b.zip_path));
    Ok(out)
}

fn walk(
    dir: &Path,
    prefix: &str,
    visiting: &mut Vec<PathBuf>,
    out: &mut Vec<SourceFile>,
) -> Result<(), String> {
    // A symbolic link back to a folder being walked would never end.
    let real =
        std::fs::canonicalize(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    if visiting.contains(&real) {
        return Err(format!(
            "`{}` links back to a folder that contains it; remove the link",
            dir.display()
        ));
    }
    visiting.push(real);
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(format!(
                "`{}`: the file name is not UTF-8; rename it",
                path.display()
            ));
        };
        if left_out(name) {
            continue;
        }
        // Links are followed: a linked file ships as the file it points to.
        let meta = std::fs::metadata(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let zip_path = format!("{prefix}{name}");
        if meta.is_dir() {
            walk(&path, &format!("{zip_path}/"), visiting, out)?;
        } else if meta.is_file() {
            out.push(SourceFile {
                zip_path,
                disk: path,
            });
        }
    }
    visiting.pop();
    Ok(())
}

/// A function's package: the zip and its SHA-256 (base64, as Lambda's
/// `CodeSha256`).
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub zip: Arc<Vec<u8>>,
    pub sha256: String,
}

/// The deterministic zip of `dir`, within Lambda's limits. `function` names
/// the function in errors.
pub(crate) fn package(dir: &Path, function: &str) -> Result<Package, String> {
    package_within(dir, function, ZIPPED_LIMIT, UNZIPPED_LIMIT)
}

fn package_within(
    dir: &Path,
    function: &str,
    zipped_limit: u64,
    unzipped_limit: u64,
) -> Result<Package, String> {
    let files = files_of(dir)?;
    if files.len() > usize::from(u16::MAX) {
        return Err(format!(
            "the source folder `{}` of function `{function}` holds {} files; a package holds at most {}",
            dir.display(),
            files.len(),
            u16::MAX
        ));
    }
    let mut zip = ZipWriter::default();
    let mut unzipped: u64 = 0;
    for f in &files {
        let data = std::fs::read(&f.disk)
            .map_err(|e| format!("cannot read `{}`: {e}", f.disk.display()))?;
        unzipped += data.len() as u64;
        if unzipped > unzipped_limit {
            return Err(format!(
                "function `{function}`: the source folder `{}` holds more than {} unzipped; Lambda allows {} (move large dependencies to a layer, or leave them out)",
                dir.display(),
                megabytes(unzipped_limit),
                megabytes(unzipped_limit)
            ));
        }
        zip.add(&f.zip_path, &data, executable(&f.disk))
            .map_err(|e| format!("cannot zip `{}`: {e}", f.disk.display()))?;
    }
    let zip = zip.finish();
    if zip.len() as u64 > zipped_limit {
        return Err(format!(
            "function `{function}`: its package (the source folder `{}`, zipped) is {}; Lambda takes at most {} uploaded directly. Make the folder smaller (leave out development dependencies and tests)",
            dir.display(),
            megabytes(zip.len() as u64),
            megabytes(zipped_limit)
        ));
    }
    let sha256 = sha256_base64(&zip);
    Ok(Package {
        zip: Arc::new(zip),
        sha256,
    })
}

/// SHA-256, base64: how Lambda's `CodeSha256` is written.
pub(super) fn sha256_base64(bytes: &[u8]) -> String {
    use sha2::Digest;
    aws_smithy_types::base64::encode(sha2::Sha256::digest(bytes))
}

fn megabytes(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{bytes} bytes")
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(unix)]
fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o100 != 0)
}

#[cfg(not(unix))]
fn executable(_path: &Path) -> bool {
    false
}

/// Packages made in this run, by SHA-256: `desired` (at plan time, and again
/// right before each create or update) zips the folder, and `create` and
/// `update` upload exactly the bytes whose hash the plan showed.
fn packages() -> &'static Mutex<HashMap<String, Arc<Vec<u8>>>> {
    static PACKAGES: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    PACKAGES.get_or_init(Mutex::default)
}

/// Zips `dir`, keeps the package for this run, and returns its hash.
pub(super) fn package_cached(dir: &Path, function: &str) -> Result<String, String> {
    let p = package(dir, function)?;
    packages()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(p.sha256.clone(), p.zip);
    Ok(p.sha256)
}

/// The package whose hash is `sha256`, zipped in this run.
fn package_bytes(address: &Address, sha256: &str) -> Result<Arc<Vec<u8>>, Error> {
    packages()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(sha256)
        .cloned()
        .ok_or_else(|| {
            Error::Unexpected(format!(
                "{address}: the package with SHA-256 {sha256} was not made in this run; run `plan` again"
            ))
        })
}

/// A zip archive written the same way every time: no timestamps (all
/// 1980-01-01 00:00), Unix modes 0644/0755, no extra fields or comments,
/// deflate at a fixed level, names as UTF-8.
#[derive(Default)]
pub(super) struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

/// MS-DOS date of 1980-01-01 (the earliest a zip can say), time 00:00:00.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;
/// Version 2.0 (deflate), made by Unix (so the external attributes are modes).
const VERSION_NEEDED: u16 = 20;
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// General purpose flag 11: names are UTF-8.
const FLAGS: u16 = 1 << 11;
const DEFLATE: u16 = 8;

impl ZipWriter {
    pub(super) fn add(&mut self, name: &str, data: &[u8], executable: bool) -> Result<(), String> {
        use std::io::Write;
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        encoder.write_all(data).map_err(|e| e.to_string())?;
        let compressed = encoder.finish().map_err(|e| e.to_string())?;
        let too_big = |n: usize| u32::try_from(n).map_err(|_| "larger than 4 GB".to_string());
        let (size, csize, name_len) = (
            too_big(data.len())?,
            too_big(compressed.len())?,
            u16::try_from(name.len()).map_err(|_| "its path is too long".to_string())?,
        );
        let offset = too_big(self.out.len())?;
        let mode: u32 = if executable { 0o100755 } else { 0o100644 };

        let o = &mut self.out;
        o.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        o.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        o.extend_from_slice(&FLAGS.to_le_bytes());
        o.extend_from_slice(&DEFLATE.to_le_bytes());
        o.extend_from_slice(&DOS_TIME.to_le_bytes());
        o.extend_from_slice(&DOS_DATE.to_le_bytes());
        o.extend_from_slice(&crc.to_le_bytes());
        o.extend_from_slice(&csize.to_le_bytes());
        o.extend_from_slice(&size.to_le_bytes());
        o.extend_from_slice(&name_len.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes()); // no extra field
        o.extend_from_slice(name.as_bytes());
        o.extend_from_slice(&compressed);

        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        c.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        c.extend_from_slice(&FLAGS.to_le_bytes());
        c.extend_from_slice(&DEFLATE.to_le_bytes());
        c.extend_from_slice(&DOS_TIME.to_le_bytes());
        c.extend_from_slice(&DOS_DATE.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&csize.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        c.extend_from_slice(&name_len.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes()); // extra field
        c.extend_from_slice(&0u16.to_le_bytes()); // comment
        c.extend_from_slice(&0u16.to_le_bytes()); // disk number
        c.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        c.extend_from_slice(&(mode << 16).to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries = self
            .entries
            .checked_add(1)
            .ok_or_else(|| "more than 65535 files".to_string())?;
        Ok(())
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        let offset = self.out.len() as u32;
        let size = self.central.len() as u32;
        self.out.extend_from_slice(&self.central);
        let o = &mut self.out;
        o.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes()); // this disk
        o.extend_from_slice(&0u16.to_le_bytes()); // the central directory's disk
        o.extend_from_slice(&self.entries.to_le_bytes());
        o.extend_from_slice(&self.entries.to_le_bytes());
        o.extend_from_slice(&size.to_le_bytes());
        o.extend_from_slice(&offset.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes()); // no comment
        self.out
    }
}

// ------------------------------------------------------------------ read ----

fn tags_of(tags: Option<&HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub(crate) fn config_from(c: &FunctionConfiguration, tags: Tags) -> FunctionConfig {
    FunctionConfig {
        name: c.function_name().unwrap_or_default().to_string(),
        code: c.code_sha256().unwrap_or_default().to_string(),
        runtime: c
            .runtime()
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        role: c.role().unwrap_or_default().to_string(),
        memory: c.memory_size().map(i64::from).unwrap_or(DEFAULT_MEMORY),
        timeout: c.timeout().map(i64::from).unwrap_or(DEFAULT_TIMEOUT),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        description: c
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        architectures: if c.architectures().is_empty() {
            vec![DEFAULT_ARCHITECTURE.to_string()]
        } else {
            c.architectures()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect()
        },
        // Read on their own: `ListEventSourceMappings`.
        triggers: Vec::new(),
        tags,
        lambda_code: None,
    }
}

fn outputs(arn: &str, name: &str) -> Outputs {
    Outputs::from([
        ("arn".to_string(), arn.to_string()),
        ("name".to_string(), name.to_string()),
    ])
}

/// Reads the function `name` as the stack `stack` would at `address`,
/// without a stack file (no proof of a package being adopted).
#[cfg(test)]
pub(crate) async fn read(
    aws: &Aws,
    stack: &str,
    address: &Address,
    name: &str,
) -> Result<Option<Live>, Error> {
    let target = super::Target {
        stack,
        address,
        name,
        parent: None,
        spec: None,
        adopt: None,
        dir: None,
        plan: None,
    };
    read_at(aws, &target).await
}

/// Reads the function at `target`: its configuration and tags (one
/// `GetFunction`), its triggers, and its code's identity (see
/// [`code::live_code`]: a download only while it is being adopted).
pub(crate) async fn read_at(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
    let (stack, address, name) = (target.stack, target.address, target.name);
    let out = match aws.lambda.get_function().function_name(name).send().await {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(Error::aws("lambda:GetFunction", &e)),
    };
    let Some(c) = out.configuration() else {
        return Err(Error::Unexpected(format!(
            "{address}: lambda:GetFunction of `{name}` answered no configuration"
        )));
    };
    let mut tags = tags_of(out.tags());
    let proof = code::take_proof(&mut tags);
    let ownership = Ownership::from_tags(&tags, stack, address);
    if c.package_type() == Some(&PackageType::Image) {
        return Ok(Some(Live {
            address: address.clone(),
            physical_name: name.to_string(),
            attributes: Value::Null,
            outputs: Outputs::new(),
            ownership: Ownership::NotOurs {
                why: "it is a container-image function; this tool deploys zip packages".into(),
            },
        }));
    }
    let arn = c.function_arn().unwrap_or_default().to_string();
    let adopting = target.adopt == Some(name) && super::untagged(&tags);
    let mut config = config_from(c, tags);
    let sha256 = config.code.clone();
    config.code = code::live_code(aws, target, &out, &sha256, proof.as_deref(), adopting).await?;
    config.lambda_code = Some(LambdaCode { sha256, proof });
    config.triggers = triggers::read(aws, name).await?;
    Ok(Some(Live {
        address: address.clone(),
        physical_name: name.to_string(),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(&arn, name),
        ownership,
    }))
}

/// Functions this stack owns but no longer declares: listed by
/// `ListFunctions` (names starting with the stack's), checked by their tags.
async fn find_owned(
    aws: &Aws,
    stack: &crate::stack::Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    use futures::StreamExt;
    let prefix = format!("{}-", stack.name);
    let candidates: Vec<(String, String)> = super::all_pages(|marker| {
        let (prefix, names) = (&prefix, names);
        async move {
            let out = aws
                .lambda
                .list_functions()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| Error::aws("lambda:ListFunctions", &e))?;
            let candidates = out
                .functions()
                .iter()
                .filter_map(|f| Some((f.function_name()?, f.function_arn()?)))
                .filter(|(name, _)| {
                    name.starts_with(prefix.as_str()) && !names.iter().any(|n| n == name)
                })
                .map(|(n, a)| (n.to_string(), a.to_string()))
                .collect();
            Ok((
                candidates,
                out.next_marker()
                    .filter(|m| !m.is_empty())
                    .map(str::to_string),
            ))
        }
    })
    .await?;
    let tagged: Vec<Result<Option<(String, Tags)>, Error>> =
        futures::stream::iter(candidates.into_iter().map(|(name, arn)| async move {
            match aws.lambda.list_tags().resource(&arn).send().await {
                Ok(out) => Ok(Some((name, tags_of(out.tags())))),
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
                Err(e) => Err(Error::aws("lambda:ListTags", &e)),
            }
        }))
        .buffer_unordered(8)
        .collect()
        .await;
    // An entry of `None` was deleted since it was listed.
    let tagged: Vec<Option<(String, Tags)>> = tagged.into_iter().collect::<Result<_, _>>()?;
    let mut found = super::owned_by_tags(stack, Kind::Function, tagged.into_iter().flatten());
    found.sort();
    Ok(found)
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<FunctionConfig, Error> {
    if crate::plan::contains_unknown(value) {
        return Err(Error::Unexpected(format!(
            "{address}: a referenced value is still unknown after its resource was applied"
        )));
    }
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

fn i32_of(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn environment(c: &FunctionConfig) -> Environment {
    Environment::builder()
        .set_variables(Some(
            c.environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
        .build()
}

fn architectures(c: &FunctionConfig) -> Vec<Architecture> {
    c.architectures
        .iter()
        .map(|a| Architecture::from(a.as_str()))
        .collect()
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let c = parse(&desired.attributes, &desired.address)?;
    let zip = package_bytes(&desired.address, &c.code)?;
    let name = c.name.as_str();
    // The tags go with the create call, so the function never exists without its owner.
    let call = || {
        aws.lambda
            .create_function()
            .function_name(name)
            .package_type(PackageType::Zip)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(zip.as_slice()))
                    .build(),
            )
            .runtime(Runtime::from(c.runtime.as_str()))
            .handler(&c.handler)
            .role(&c.role)
            .memory_size(i32_of(c.memory))
            .timeout(i32_of(c.timeout))
            .environment(environment(&c))
            .set_description(c.description.clone())
            .set_architectures(Some(architectures(&c)))
            .set_tags(Some(
                c.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ))
            .send()
    };
    // A role made a moment ago is not yet assumable by Lambda everywhere.
    let out = retry::retry(
        &format!("lambda:CreateFunction of `{name}`"),
        &retry::ROLE_NOT_YET_ASSUMABLE,
        call,
    )
    .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceConflictException") => {
            return Err(Error::Refused(format!(
                "{}: a Lambda function named `{name}` exists already (made since the plan was read?); run `plan` again",
                desired.address
            )))
        }
        Err(e) if error_code(&e) == Some("InvalidParameterValueException")
            && (retry::ROLE_NOT_YET_ASSUMABLE.matches)(
                "InvalidParameterValueException",
                crate::aws::error_message(&e).unwrap_or_default(),
            ) =>
        {
            return Err(Error::Aws {
                operation: "lambda:CreateFunction",
                code: Some("InvalidParameterValueException".into()),
                detail: format!(
                    "{}: Lambda cannot assume the role `{}`: {}. Check that the role's trust policy allows `lambda.amazonaws.com` (`trust = {{ service = \"lambda.amazonaws.com\" }}`), then run `up` again",
                    desired.address,
                    c.role,
                    crate::aws::describe(&e)
                ),
            })
        }
        Err(e) => {
            return Err(Error::Aws {
                operation: "lambda:CreateFunction",
                code: error_code(&e).map(str::to_string),
                detail: format!("{}: {}", desired.address, crate::aws::describe(&e)),
            })
        }
    };
    let arn = out.function_arn().unwrap_or_default().to_string();
    wait_settled(aws, name).await?;
    // The mappings need an active function.
    triggers::reconcile(aws, name, &c.triggers).await?;
    Ok(outputs(&arn, name))
}

/// Waits until the function is `Active` and its last update `Successful`:
/// Lambda takes one change of a function at a time.
async fn wait_settled(aws: &Aws, name: &str) -> Result<(), Error> {
    wait_for(&format!("function {name}"), SETTLE, || async {
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| Error::aws("lambda:GetFunctionConfiguration", &e))?;
        match c.state() {
            Some(State::Failed) => {
                return Err(Error::Wait(format!(
                    "function {name} failed to become active: {}",
                    c.state_reason().unwrap_or("no reason given")
                )))
            }
            Some(State::Pending) => return Ok(ControlFlow::Continue("Pending".into())),
            Some(State::Inactive) | Some(State::Active) | None => {}
            Some(other) => return Ok(ControlFlow::Continue(other.as_str().to_string())),
        }
        match c.last_update_status() {
            Some(LastUpdateStatus::InProgress) => {
                Ok(ControlFlow::Continue("updating (InProgress)".into()))
            }
            Some(LastUpdateStatus::Failed) => Err(Error::Wait(format!(
                "the last update of function {name} failed: {}",
                c.last_update_status_reason().unwrap_or("no reason given")
            ))),
            _ => Ok(ControlFlow::Break(())),
        }
    })
    .await
}

// ---------------------------------------------------------------- update ----

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let have: FunctionConfig = serde_json::from_value(live.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", live.address)))?;
    let name = want.name.as_str();
    let arn = live.outputs.get("arn").cloned().unwrap_or_default();
    let uploading = want.code != have.code || want.architectures != have.architectures;
    if uploading {
        let zip = package_bytes(&desired.address, &want.code)?;
        wait_settled(aws, name).await?;
        retry::retry(
            &format!("lambda:UpdateFunctionCode of `{name}`"),
            &retry::FUNCTION_UPDATING,
            || {
                aws.lambda
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip.as_slice()))
                    .set_architectures(Some(architectures(&want)))
                    .send()
            },
        )
        .await
        .map_err(|e| Error::aws("lambda:UpdateFunctionCode", &e))?;
        wait_settled(aws, name).await?;
    }
    let configuration_changed = want.runtime != have.runtime
        || want.handler != have.handler
        || want.role != have.role
        || want.memory != have.memory
        || want.timeout != have.timeout
        || want.environment != have.environment
        || want.description != have.description;
    if configuration_changed {
        wait_settled(aws, name).await?;
        retry::retry_errors(
            &[&retry::FUNCTION_UPDATING, &retry::ROLE_NOT_YET_ASSUMABLE],
            || async {
                aws.lambda
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(want.runtime.as_str()))
                    .handler(&want.handler)
                    .role(&want.role)
                    .memory_size(i32_of(want.memory))
                    .timeout(i32_of(want.timeout))
                    .environment(environment(&want))
                    // An empty description clears it.
                    .description(want.description.clone().unwrap_or_default())
                    .send()
                    .await
                    .map_err(|e| Error::aws("lambda:UpdateFunctionConfiguration", &e))
            },
        )
        .await?;
        wait_settled(aws, name).await?;
    }
    if want.triggers != have.triggers {
        wait_settled(aws, name).await?;
        triggers::reconcile(aws, name, &want.triggers).await?;
    }
    retag(aws, &arn, &want, &have, uploading).await?;
    Ok(outputs(&arn, name))
}

/// Brings the tags to the stack's, and the proof tag up to date: written with
/// the ownership tags by the `up` that adopts a function whose package was
/// proved to hold `source`, removed when a package is uploaded.
async fn retag(
    aws: &Aws,
    arn: &str,
    want: &FunctionConfig,
    have: &FunctionConfig,
    uploading: bool,
) -> Result<(), Error> {
    let (set_proof, remove_proof) = match &have.lambda_code {
        Some(live) => {
            code::proof_change(uploading, &want.code, &live.sha256, live.proof.as_deref())
        }
        None => (None, false),
    };
    let mut gone: Vec<String> = have
        .tags
        .keys()
        .filter(|k| !want.tags.contains_key(*k))
        .cloned()
        .collect();
    if remove_proof {
        gone.push(code::CODE_TAG.to_string());
    }
    let mut changed: HashMap<String, String> = want
        .tags
        .iter()
        .filter(|(k, v)| have.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(value) = set_proof {
        changed.insert(code::CODE_TAG.to_string(), value);
    }
    if !gone.is_empty() {
        aws.lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(gone))
            .send()
            .await
            .map_err(|e| Error::aws("lambda:UntagResource", &e))?;
    }
    if !changed.is_empty() {
        aws.lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(changed))
            .send()
            .await
            .map_err(|e| Error::aws("lambda:TagResource", &e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let name = live.physical_name.as_str();
    // Lambda keeps a function's event source mappings when the function is
    // deleted; they go first.
    triggers::delete_all(aws, name).await?;
    let result = retry::retry(
        &format!("lambda:DeleteFunction of `{name}`"),
        &retry::FUNCTION_UPDATING,
        || aws.lambda.delete_function().function_name(name).send(),
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::aws("lambda:DeleteFunction", &e)),
    }
}

// ---- adopt ----

/// Every function, as (name, name): functions are found by name.
async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
    let names = super::all_pages(|marker| async move {
        let out = aws
            .lambda
            .list_functions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::aws("lambda:ListFunctions", &e))?;
        let names = out
            .functions()
            .iter()
            .filter_map(|f| f.function_name().map(str::to_string))
            .collect();
        Ok((names, out.next_marker().map(str::to_string)))
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(adopt::named(names))
}

/// Downloads the found function's package into `found.files`, relative to
/// its folder; the files the tool never ships are left out (and noted).
async fn adopt_code(aws: &Aws, f: &mut adopt::Found) -> Result<Vec<String>, String> {
    let at = |e: String| format!("{} (`{}`): {e}", f.address, f.id);
    let out = aws
        .lambda
        .get_function()
        .function_name(&f.id)
        .send()
        .await
        .map_err(|e| at(Error::aws("lambda:GetFunction", &e).to_string()))?;
    let zip = code::download(aws, &f.address, &f.id, &out)
        .await
        .map_err(|e| at(e.to_string()))?;
    let entries = code::read_zip(&zip).map_err(|why| {
        at(format!("its live package cannot be unpacked safely: {why}. Nothing was written; upload a package without it (or leave the function out: a narrower --name-prefix)"))
    })?;
    let all = entries.len();
    let shipped = code::shipped(entries);
    let mut notes = Vec::new();
    if shipped.len() < all {
        notes.push(format!(
            "{}: {} file(s) of its package are not written, as the tool never ships them (version-control folders, `.DS_Store`, editor files); the live package keeps them until `up` next deploys the function's code",
            f.address,
            all - shipped.len()
        ));
    }
    f.files = shipped
        .into_iter()
        .map(|e| adopt::File {
            relative: e.name,
            contents: adopt::Contents::Code {
                bytes: e.data,
                executable: e.executable,
            },
        })
        .collect();
    Ok(notes)
}

/// The function's settings, and its code as the folder `source` names:
/// `functions/<key>` beside the stack file (`../functions/<key>` from
/// `stacks/`).
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    let folder = format!("{}{}", w.ctx().functions_dir, f.address.key);
    s.string("source", &folder);
    for file in &f.files {
        w.add_file(adopt::File {
            relative: format!("{folder}/{}", file.relative),
            contents: file.contents.clone(),
        });
    }
    if f.files.is_empty() {
        w.note(
            &f.address,
            format!(
                "its package holds no file the tool ships; put the function's code in `{folder}`"
            ),
        );
    }
    if let Some(runtime) = a.get("runtime").and_then(Value::as_str) {
        if !RUNTIMES.contains(&runtime) {
            w.note(
                &f.address,
                format!("its runtime `{runtime}` is not one Lambda takes for new functions, so the stack does not validate until `runtime` names a current one (an in-place update)"),
            );
        }
    }
    s.json("runtime", a.get("runtime"), None);
    s.json("handler", a.get("handler"), None);
    if let Some(role) = a.get("role").and_then(Value::as_str) {
        match w.key_of(Kind::Role, "arn", role) {
            Some(key) => s.string("role", &key),
            None => s.string("role", role),
        }
    }
    s.json("memory", a.get("memory"), Some(Value::from(DEFAULT_MEMORY)));
    s.json(
        "timeout",
        a.get("timeout"),
        Some(Value::from(DEFAULT_TIMEOUT)),
    );
    s.json("environment", a.get("environment"), None);
    s.json("description", a.get("description"), None);
    s.json(
        "architectures",
        a.get("architectures"),
        Some(serde_json::json!([DEFAULT_ARCHITECTURE])),
    );
    adopt_triggers(w, f, s);
}

/// A Lambda ARN where the stack takes a [`FunctionRef`] (a user pool's
/// trigger): `{ function = "<key>" }` when the scan adopts that function,
/// else the ARN.
pub(crate) fn adopt_function_ref(w: &adopt::Writer<'_>, arn: &str) -> toml::Value {
    match w.key_of(Kind::Function, "arn", arn) {
        Some(key) => toml::Value::Table(toml::Table::from_iter([(
            "function".to_string(),
            toml::Value::String(key),
        )])),
        None => toml::Value::String(arn.into()),
    }
}

/// The stream triggers, each naming its table by key; one from a table the
/// scan did not find cannot be written.
fn adopt_triggers(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let Some(Value::Array(triggers)) = f.attributes.get("triggers") else {
        return;
    };
    let mut written = Vec::new();
    for t in triggers {
        let source = t["source"].as_str().unwrap_or_default();
        let position = t["starting_position"].as_str().unwrap_or("latest");
        let Some(table) = w.key_of(Kind::Table, "stream_arn", source) else {
            w.note(
                &f.address,
                format!("its trigger from the stream `{source}` is left out: a trigger names a table of the stack, and this scan did not adopt that table (`--include table.<key>=<name>`); the first `up` would delete that event source mapping"),
            );
            continue;
        };
        let mut item = toml::Table::new();
        item.insert(
            "stream".into(),
            toml::Value::String(format!("table.{table}")),
        );
        match position {
            "latest" => {}
            "trim_horizon" => {
                item.insert("starting_position".into(), toml::Value::String(position.into()));
            }
            other => w.note(
                &f.address,
                format!("its trigger from `table.{table}` starts at `{other}`, which the stack format cannot say; written with the default `latest`, so the first `up` replaces that event source mapping"),
            ),
        }
        if let Some(n) = t["batch_size"]
            .as_i64()
            .filter(|n| *n != DEFAULT_BATCH_SIZE)
        {
            item.insert("batch_size".into(), toml::Value::Integer(n));
        }
        if t["enabled"] == Value::Bool(false) {
            item.insert("enabled".into(), toml::Value::Boolean(false));
        }
        written.push(toml::Value::Table(item));
    }
    if !written.is_empty() {
        s.set("triggers", toml::Value::Array(written));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `files` (path, content) under `root`.
    fn write_tree(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
    }

    const TREE: &[(&str, &str)] = &[
        (
            "index.js",
            "exports.handler = async () => ({ ok: true });\n",
        ),
        ("lib/util.js", "module.exports = 1;\n"),
        ("lib/deep/data.json", "{\"a\": 1}\n"),
        ("package.json", "{\"name\": \"f\"}\n"),
    ];

    #[cfg(unix)]
    fn set_mtime(path: &Path, seconds: i64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(seconds as u64);
        file.set_modified(t).unwrap();
    }

    #[test]
    fn the_same_tree_zips_to_the_same_bytes_at_any_path_and_time() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let b_root = b.path().join("somewhere/else/entirely");
        // Written in opposite orders, so directory order differs too.
        write_tree(a.path(), TREE);
        let reversed: Vec<_> = TREE.iter().rev().copied().collect();
        write_tree(&b_root, &reversed);
        #[cfg(unix)]
        for (i, (path, _)) in TREE.iter().enumerate() {
            set_mtime(&a.path().join(path), 1_000_000 + i as i64);
            set_mtime(&b_root.join(path), 1_700_000_000 - i as i64);
        }
        let pa = package(a.path(), "f").unwrap();
        let pb = package(&b_root, "f").unwrap();
        assert_eq!(pa.zip, pb.zip);
        assert_eq!(pa.sha256, pb.sha256);
        // No byte of either path is in the zip.
        let text = String::from_utf8_lossy(&pa.zip);
        assert!(!text.contains(&*a.path().to_string_lossy()));
        assert!(!text.contains("somewhere"));
        // Lambda's `CodeSha256`: base64 of 32 bytes.
        assert_eq!(pa.sha256.len(), 44, "{}", pa.sha256);
    }

    #[test]
    fn one_changed_byte_changes_the_hash_and_left_out_files_do_not() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), TREE);
        let before = package(dir.path(), "f").unwrap().sha256;
        write_tree(
            dir.path(),
            &[
                (".git/HEAD", "ref: refs/heads/main\n"),
                (".DS_Store", "x"),
                ("lib/.util.js.swp", "swap"),
                ("index.js~", "backup"),
                ("#index.js#", "emacs"),
                (".#index.js", "emacs lock"),
                ("lib/.svn/entries", "x"),
            ],
        );
        assert_eq!(package(dir.path(), "f").unwrap().sha256, before);
        write_tree(dir.path(), &[("lib/util.js", "module.exports = 2;\n")]);
        assert_ne!(package(dir.path(), "f").unwrap().sha256, before);
    }

    #[test]
    fn the_rule_of_files_left_out() {
        for name in [
            ".git",
            ".hg",
            ".svn",
            ".DS_Store",
            "Thumbs.db",
            "a.swp",
            "a.swo",
            "a~",
            "#a#",
            ".#a",
        ] {
            assert!(left_out(name), "{name}");
        }
        for name in [
            "index.js",
            ".env",
            ".gitignore",
            "#",
            "node_modules",
            "a.swap",
        ] {
            assert!(!left_out(name), "{name}");
        }
    }

    /// The zip as its own central directory says: (name, mode, method,
    /// date, time, extra length) of each entry, in order.
    fn entries(zip: &[u8]) -> Vec<(String, u32, u16, u16, u16, u16)> {
        let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]);
        let end = zip.len() - 22;
        assert_eq!(u32_at(end), 0x0605_4b50);
        let count = u16_at(end + 10) as usize;
        let mut at = u32_at(end + 16) as usize;
        let mut out = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(at), 0x0201_4b50);
            let name_len = u16_at(at + 28) as usize;
            let extra = u16_at(at + 30);
            let comment = u16_at(at + 32) as usize;
            let name = String::from_utf8(zip[at + 46..at + 46 + name_len].to_vec()).unwrap();
            out.push((
                name,
                u32_at(at + 38) >> 16,
                u16_at(at + 10),
                u16_at(at + 14),
                u16_at(at + 12),
                extra,
            ));
            at += 46 + name_len + extra as usize + comment;
        }
        out
    }

    #[test]
    fn entries_are_sorted_with_fixed_times_modes_and_no_directories() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), TREE);
        write_tree(dir.path(), &[("bin/run", "#!/bin/sh\n")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let run = dir.path().join("bin/run");
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
            // Group and other bits of the checkout do not matter.
            let util = dir.path().join("lib/util.js");
            std::fs::set_permissions(&util, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
        let zip = package(dir.path(), "f").unwrap().zip;
        let got = entries(&zip);
        let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin/run",
                "index.js",
                "lib/deep/data.json",
                "lib/util.js",
                "package.json"
            ]
        );
        for (name, mode, method, date, time, extra) in &got {
            let want = if cfg!(unix) && name == "bin/run" {
                0o100755
            } else {
                0o100644
            };
            assert_eq!(*mode, want, "{name}");
            assert_eq!((*method, *date, *time, *extra), (8, 0x21, 0, 0), "{name}");
        }
    }

    #[test]
    fn the_zip_unpacks_to_the_files_with_deflate() {
        // Every local entry's data inflates to the file's content.
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), TREE);
        let zip = package(dir.path(), "f").unwrap().zip;
        let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]) as usize;
        let u32_at =
            |i: usize| u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]) as usize;
        let mut at = 0;
        let mut found = BTreeMap::new();
        while u32_at(at) == 0x0403_4b50 {
            let csize = u32_at(at + 18);
            let name_len = u16_at(at + 26);
            let extra = u16_at(at + 28);
            let name = String::from_utf8(zip[at + 30..at + 30 + name_len].to_vec()).unwrap();
            let data_at = at + 30 + name_len + extra;
            let mut content = String::new();
            flate2::read::DeflateDecoder::new(&zip[data_at..data_at + csize])
                .read_to_string(&mut content)
                .unwrap();
            found.insert(name, content);
            at = data_at + csize;
        }
        let want: BTreeMap<String, String> = TREE
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect();
        assert_eq!(found, want);
    }

    #[test]
    fn a_package_over_the_limit_names_the_function_the_size_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), TREE);
        let e = package_within(dir.path(), "demo-api", 100, UNZIPPED_LIMIT).unwrap_err();
        assert!(e.contains("demo-api"), "{e}");
        assert!(
            e.contains("bytes") && e.contains("at most 100 bytes"),
            "{e}"
        );
        assert!(e.contains(&*dir.path().to_string_lossy()), "{e}");
        let e = package_within(dir.path(), "demo-api", ZIPPED_LIMIT, 10).unwrap_err();
        assert!(e.contains("unzipped") && e.contains("demo-api"), "{e}");
        const { assert!(ZIPPED_LIMIT == 50 * 1024 * 1024) };
    }

    #[test]
    fn a_missing_source_folder_is_an_error_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = package(&missing, "f").unwrap_err();
        assert!(e.contains(&*missing.to_string_lossy()), "{e}");
    }

    // ------------------------------------------------- offline checks ----

    /// Loads `[stack] name = "demo"` + `body` from a folder holding `files`;
    /// the errors, one string.
    fn validate(body: &str, files: &[(&str, &str)]) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), files);
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, format!("[stack]\nname = \"demo\"\n{body}")).unwrap();
        crate::stack::load(&file)
            .map(|_| ())
            .map_err(|d| format!("{d:?}"))
    }

    const ROLE: &str = "[role.fn]\ntrust = { service = \"lambda.amazonaws.com\" }\n";

    #[test]
    fn a_valid_function_loads_and_depends_on_its_role() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[("fn/index.mjs", "export const handler = 1;")]);
        let file = dir.path().join("demo.toml");
        std::fs::write(
            &file,
            format!("[stack]\nname = \"demo\"\n{ROLE}[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"fn\"\n"),
        )
        .unwrap();
        let stack = crate::stack::load(&file).unwrap_or_else(|d| panic!("{d:?}"));
        let api: Address = "function.api".parse().unwrap();
        let deps = stack.steps.get(&api).expect("a step");
        assert!(
            deps.contains(&"role.fn".parse::<Address>().unwrap()),
            "{deps:?}"
        );
    }

    #[test]
    fn every_offline_error_is_reported_at_once_with_its_value() {
        let body = format!(
            "{ROLE}[function.api]\nsource = \"missing\"\nruntime = \"nodejs21.x\"\nhandler = \"index.handler\"\nrole = \"fn\"\nmemory = 64\ntimeout = 901\n"
        );
        let e = validate(&body, &[]).unwrap_err();
        for want in [
            "missing",
            "nodejs21.x",
            "memory = 64",
            "timeout = 901",
            "demo.toml",
        ] {
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn the_handler_file_must_exist_for_the_runtime() {
        let node = |handler: &str| {
            format!("{ROLE}[function.api]\nsource = \"fn\"\nruntime = \"nodejs22.x\"\nhandler = \"{handler}\"\nrole = \"fn\"\n")
        };
        let py = |handler: &str| {
            format!("{ROLE}[function.api]\nsource = \"fn\"\nruntime = \"python3.12\"\nhandler = \"{handler}\"\nrole = \"fn\"\n")
        };
        let files = &[
            ("fn/index.cjs", "x"),
            ("fn/src/app.js", "x"),
            ("fn/pkg/mod.py", "x"),
        ];
        assert!(validate(&node("index.handler"), files).is_ok());
        assert!(validate(&node("src/app.handler"), files).is_ok());
        let e = validate(&node("main.handler"), files).unwrap_err();
        assert!(e.contains("main.js") && e.contains("main.mjs"), "{e}");
        assert!(validate(&py("pkg.mod.handler"), files).is_ok());
        let e = validate(&py("index.handler"), files).unwrap_err();
        assert!(e.contains("index.py"), "{e}");
        let e = validate(&node("nodot"), files).unwrap_err();
        assert!(e.contains("<file>.<export>"), "{e}");
    }

    #[test]
    fn an_empty_source_folder_and_an_unknown_role_key_are_errors() {
        let body = "[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"nosuch\"\n";
        let e = validate(body, &[("fn/.DS_Store", "x")]).unwrap_err();
        assert!(e.contains("holds no file"), "{e}");
        assert!(e.contains("nosuch"), "{e}");
        // A role ARN needs no role of the stack.
        let arn = "[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"arn:aws:iam::123456789012:role/x\"\n";
        assert!(validate(arn, &[("fn/index.js", "x")]).is_ok());
    }

    #[test]
    fn function_names_follow_lambda_rules() {
        assert!(FunctionKind::check_name("demo-api_1").is_ok());
        assert!(FunctionKind::check_name(&"f".repeat(64)).is_ok());
        assert!(FunctionKind::check_name(&"f".repeat(65)).is_err());
        assert!(FunctionKind::check_name("has.dot").is_err());
        assert!(FunctionKind::check_name("").is_err());
        assert_eq!(
            FunctionKind::tagged_name("arn:aws:lambda:us-east-1:123456789012:function:demo-api"),
            Some("demo-api".into())
        );
    }

    // ------------------------------------------------------- AWS calls ----

    use crate::aws::mock::mock_client;
    use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
    use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
    use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
    use aws_sdk_lambda::operation::update_function_configuration::{
        UpdateFunctionConfigurationError, UpdateFunctionConfigurationOutput,
    };
    use aws_sdk_lambda::types::{EnvironmentResponse, EventSourcePosition};
    use aws_sdk_lambda::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-api";
    const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo-fn";

    /// The stack's minimal function, from a folder with an `index.js`.
    fn minimal() -> crate::resource::aws_defaults::Minimal {
        crate::resource::aws_defaults::Minimal::load_with_files(
            &format!("[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"{ROLE_ARN}\"\n"),
            "function.api",
            &[],
            &[("fn/index.js", "exports.handler = async () => 'hi';\n")],
        )
    }

    /// GetFunctionConfiguration as Lambda answers for a settled function.
    fn settled() -> GetFunctionConfigurationOutput {
        GetFunctionConfigurationOutput::builder()
            .function_name("demo-api")
            .state(State::Active)
            .last_update_status(LastUpdateStatus::Successful)
            .build()
    }

    /// ListEventSourceMappings of a function with no trigger.
    fn no_mappings() -> aws_smithy_mocks::Rule {
        mock!(Client::list_event_source_mappings)
            .then_output(|| ListEventSourceMappingsOutput::builder().build())
    }

    /// AWS's answer for a function made from a minimal stack (see
    /// [`get_as_made`]), without and with a minimal trigger.
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = minimal();
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_as_made(&m), &no_mappings()]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, "demo", &m.address, &m.name).await.expect("read");
        let plain = m.case(
            "a function made from `[function.api]` with only the required settings",
            live,
        );

        // A minimal trigger: its mapping as ListEventSourceMappings answers
        // (Lambda API reference, `CreateEventSourceMapping` and
        // `EventSourceMappingConfiguration`): what was sent (source,
        // `StartingPosition`, `BatchSize` 100, enabled), and what Lambda
        // fills in for a stream: `MaximumBatchingWindowInSeconds` 0,
        // `ParallelizationFactor` 1, `MaximumRecordAgeInSeconds` and
        // `MaximumRetryAttempts` -1 (no limit), `BisectBatchOnFunctionError`
        // false, `TumblingWindowInSeconds` 0, an empty `DestinationConfig`,
        // `State` Enabled, `StateTransitionReason` "User action".
        let t = with_trigger("{ stream = \"table.notes\" }", &STREAM_OUTPUTS);
        let listed = mock!(Client::list_event_source_mappings)
            .match_requests(|r| r.function_name() == Some("demo-api"))
            .then_output(|| {
                ListEventSourceMappingsOutput::builder()
                    .event_source_mappings(as_listed(STREAM_ARN, "Enabled", 100, "LATEST"))
                    .build()
            });
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_as_made(&t), &listed]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, "demo", &t.address, &t.name).await.expect("read");
        let triggered = t.case(
            "a function with one trigger `{ stream = \"table.<key>\" }` and nothing else set",
            live,
        );
        vec![plain, triggered]
    }

    const STREAM_ARN: &str =
        "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes/stream/2026-12-06T04:00:00.000";
    /// The outputs of the table `notes` with its stream.
    const STREAM_OUTPUTS: [(&str, &str); 1] = [("table.notes.stream_arn", STREAM_ARN)];

    /// The minimal function with a table that has a stream and `triggers = [<trigger>]`.
    fn with_trigger(
        trigger: &str,
        outputs: &[(&str, &str)],
    ) -> crate::resource::aws_defaults::Minimal {
        crate::resource::aws_defaults::Minimal::load_with_files(
            &format!("[table.notes]\nhash_key = {{ name = \"id\", type = \"S\" }}\nstream = \"new_image\"\n\
                      [function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"{ROLE_ARN}\"\ntriggers = [{trigger}]\n"),
            "function.api",
            outputs,
            &[("fn/index.js", "exports.handler = async () => 'hi';\n")],
        )
    }

    /// A mapping as Lambda lists it, AWS's defaults filled in.
    fn as_listed(
        source: &str,
        state: &str,
        batch_size: i32,
        position: &str,
    ) -> aws_sdk_lambda::types::EventSourceMappingConfiguration {
        use aws_sdk_lambda::types::{DestinationConfig, EventSourceMappingConfiguration};
        EventSourceMappingConfiguration::builder()
            .uuid("a1b2c3d4-0000-4000-8000-000000000001")
            .starting_position(EventSourcePosition::from(position))
            .batch_size(batch_size)
            .maximum_batching_window_in_seconds(0)
            .parallelization_factor(1)
            .event_source_arn(source)
            .function_arn(ARN)
            .last_modified(aws_smithy_types::DateTime::from_secs(1_796_529_600))
            .last_processing_result("No records processed")
            .state(state)
            .state_transition_reason("User action")
            .destination_config(DestinationConfig::builder().build())
            .maximum_record_age_in_seconds(-1)
            .bisect_batch_on_function_error(false)
            .maximum_retry_attempts(-1)
            .tumbling_window_in_seconds(0)
            .event_source_mapping_arn(
                "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:a1b2c3d4-0000-4000-8000-000000000001",
            )
            .build()
    }

    /// GetFunction of the function `create` made from `m`: what was sent,
    /// echoed, and what Lambda fills in by itself (Lambda API reference,
    /// `CreateFunction`: `MemorySize` 128, `Timeout` 3, `Architectures`
    /// `[x86_64]`, `PackageType` `Zip`, `Description` empty, no
    /// `Environment`; plus the computed `FunctionArn`, `CodeSize`,
    /// `LastModified`, `Version` `$LATEST`, `State`, tracing `PassThrough`,
    /// ephemeral storage 512 MB, the logging config, and
    /// `RuntimeVersionConfig`).
    fn get_as_made(m: &crate::resource::aws_defaults::Minimal) -> aws_smithy_mocks::Rule {
        use aws_sdk_lambda::types::{
            EphemeralStorage, LogFormat, LoggingConfig, RuntimeVersionConfig,
            TracingConfigResponse, TracingMode,
        };
        let tags = m.tags();
        let code = m.desired["code"].as_str().unwrap().to_string();
        mock!(Client::get_function).then_output(move || {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name("demo-api")
                        .function_arn(ARN)
                        .runtime(Runtime::Nodejs20x)
                        .role(ROLE_ARN)
                        .handler("index.handler")
                        .code_size(212)
                        .description("")
                        .timeout(3)
                        .memory_size(128)
                        .last_modified("2026-12-06T04:00:00.000+0000")
                        .code_sha256(&code)
                        .version("$LATEST")
                        .tracing_config(
                            TracingConfigResponse::builder()
                                .mode(TracingMode::PassThrough)
                                .build(),
                        )
                        .state(State::Active)
                        .last_update_status(LastUpdateStatus::Successful)
                        .package_type(PackageType::Zip)
                        .architectures(Architecture::X8664)
                        .ephemeral_storage(EphemeralStorage::builder().size(512).build().unwrap())
                        .logging_config(
                            LoggingConfig::builder()
                                .log_format(LogFormat::Text)
                                .log_group("/aws/lambda/demo-api")
                                .build(),
                        )
                        .runtime_version_config(
                            RuntimeVersionConfig::builder()
                                .runtime_version_arn("arn:aws:lambda:us-east-1::runtime:0123")
                                .build(),
                        )
                        .build(),
                )
                .set_tags(Some(tags.clone().into_iter().collect()))
                .build()
        })
    }

    #[test]
    fn a_trigger_source_is_unknown_until_the_table_has_a_stream_and_a_batch_change_is_one_update_of_triggers(
    ) {
        let t = with_trigger("{ stream = \"table.notes\" }", &[]);
        assert!(t.stack.steps[&t.address].contains(&"table.notes".parse::<Address>().unwrap()));
        let source = t.desired["triggers"][0]["source"].as_str().unwrap();
        assert!(
            source.contains(crate::stack::reference::UNKNOWN),
            "{source}"
        );
        let outputs = STREAM_OUTPUTS;
        let t = with_trigger("{ stream = \"table.notes\" }", &outputs);
        assert_eq!(
            t.desired["triggers"],
            serde_json::json!([{ "source": STREAM_ARN, "starting_position": "latest", "batch_size": 100, "enabled": true }])
        );
        let changed = with_trigger(
            "{ stream = \"table.notes\", batch_size = 500, starting_position = \"trim_horizon\", enabled = false }",
            &outputs,
        );
        let mut live = t.desired.clone();
        // The same package, so only the triggers differ.
        live["code"] = changed.desired["code"].clone();
        let changes = crate::plan::diff(
            crate::resource::ResourceType::Function,
            &live,
            &changed.desired,
        );
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].path, "triggers");
        assert!(!changes[0].forces_replacement);
    }

    #[tokio::test]
    async fn a_function_that_does_not_exist_reads_as_none_and_an_image_is_not_ours() {
        use aws_sdk_lambda::operation::get_function::GetFunctionError;
        let missing = mock!(Client::get_function)
            .match_requests(|r| r.function_name() == Some("demo-api"))
            .then_error(|| {
                GetFunctionError::generic(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("Function not found: arn:aws:lambda:us-east-1:123456789012:function:demo-api")
                        .build(),
                )
            });
        let image = mock!(Client::get_function)
            .match_requests(|r| r.function_name() == Some("demo-img"))
            .then_output(|| {
                GetFunctionOutput::builder()
                    .configuration(
                        FunctionConfiguration::builder()
                            .function_name("demo-img")
                            .package_type(PackageType::Image)
                            .build(),
                    )
                    .build()
            });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&missing, &image]),
            ..Aws::for_tests()
        };
        let address: Address = "function.api".parse().unwrap();
        assert!(read(&aws, "demo", &address, "demo-api")
            .await
            .unwrap()
            .is_none());
        let live = read(&aws, "demo", &address, "demo-img")
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(live.ownership, Ownership::NotOurs { why } if why.contains("image")));
    }

    #[tokio::test]
    async fn the_live_configuration_is_read_with_environment_and_tags() {
        let get = mock!(Client::get_function).then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name("demo-api")
                        .function_arn(ARN)
                        .runtime(Runtime::Python312)
                        .role(ROLE_ARN)
                        .handler("app.handler")
                        .description("Notes")
                        .timeout(10)
                        .memory_size(256)
                        .code_sha256("abc=")
                        .environment(
                            EnvironmentResponse::builder()
                                .variables("TABLE", "demo-notes")
                                .build(),
                        )
                        .architectures(Architecture::Arm64)
                        .build(),
                )
                .tags("mobile-backend:stack", "demo")
                .tags("mobile-backend:id", "function.api")
                .build()
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get, &no_mappings()]),
            ..Aws::for_tests()
        };
        let address: Address = "function.api".parse().unwrap();
        let live = read(&aws, "demo", &address, "demo-api")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.outputs, outputs(ARN, "demo-api"));
        let c: FunctionConfig = serde_json::from_value(live.attributes).unwrap();
        assert_eq!(c.code, "abc=");
        assert_eq!(c.runtime, "python3.12");
        assert_eq!((c.memory, c.timeout), (256, 10));
        assert_eq!(
            c.environment.get("TABLE").map(String::as_str),
            Some("demo-notes")
        );
        assert_eq!(c.architectures, ["arm64"]);
        assert_eq!(c.description.as_deref(), Some("Notes"));
    }

    fn desired_of(m: &crate::resource::aws_defaults::Minimal) -> Desired {
        Desired {
            address: m.address.clone(),
            physical_name: m.name.clone(),
            attributes: m.desired.clone(),
            depends_on: vec![],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn create_waits_out_a_role_lambda_cannot_assume_yet_and_sends_the_tags() {
        let m = minimal();
        let code = m.desired["code"].as_str().unwrap().to_string();
        let create = mock!(Client::create_function)
            .match_requests(move |r| {
                r.tags().is_some_and(|t| {
                    t.get("mobile-backend:id").map(String::as_str) == Some("function.api")
                }) && r.code().and_then(|c| c.zip_file()).is_some_and(|z| {
                    use sha2::Digest;
                    aws_smithy_types::base64::encode(sha2::Sha256::digest(z.as_ref())) == code
                }) && r.memory_size() == Some(128)
                    && r.timeout() == Some(3)
            })
            .sequence()
            .error(|| {
                CreateFunctionError::generic(
                    ErrorMetadata::builder()
                        .code("InvalidParameterValueException")
                        .message("The role defined for the function cannot be assumed by Lambda.")
                        .build(),
                )
            })
            .times(3)
            .output(|| {
                CreateFunctionOutput::builder()
                    .function_arn(ARN)
                    .state(State::Pending)
                    .build()
            })
            .build();
        let wait = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| {
                GetFunctionConfigurationOutput::builder()
                    .state(State::Pending)
                    .build()
            })
            .output(settled)
            .build();
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&create, &wait, &no_mappings()]
            ),
            ..Aws::for_tests()
        };
        let outs = create_fn(&aws, &desired_of(&m))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outs, outputs(ARN, "demo-api"));
        assert_eq!((create.num_calls(), wait.num_calls()), (4, 2));
    }

    async fn create_fn(aws: &Aws, d: &Desired) -> Result<Outputs, Error> {
        create(aws, d).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_role_that_never_becomes_assumable_is_a_clear_error_after_a_bounded_wait() {
        let m = minimal();
        let create = mock!(Client::create_function).then_error(|| {
            CreateFunctionError::generic(
                ErrorMetadata::builder()
                    .code("InvalidParameterValueException")
                    .message("The role defined for the function cannot be assumed by Lambda.")
                    .build(),
            )
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create]),
            ..Aws::for_tests()
        };
        let started = tokio::time::Instant::now();
        let e = create_fn(&aws, &desired_of(&m))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("lambda.amazonaws.com") && e.contains(ROLE_ARN),
            "{e}"
        );
        assert!(e.contains("function.api"), "{e}");
        assert_eq!(
            create.num_calls() as u32,
            retry::ROLE_NOT_YET_ASSUMABLE.attempts
        );
        assert_eq!(
            started.elapsed(),
            retry::patience(&retry::ROLE_NOT_YET_ASSUMABLE)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_sends_code_then_configuration_waiting_between_and_retries_a_conflict() {
        let m = minimal();
        let mut have: FunctionConfig = serde_json::from_value(m.desired.clone()).unwrap();
        have.code = "old-hash=".into();
        have.timeout = 10;
        let live = Live {
            address: m.address.clone(),
            physical_name: m.name.clone(),
            attributes: serde_json::to_value(&have).unwrap(),
            outputs: outputs(ARN, "demo-api"),
            ownership: Ownership::Ours,
        };
        let code = mock!(Client::update_function_code)
            .match_requests(|r| r.zip_file().is_some() && r.function_name() == Some("demo-api"))
            .then_output(|| UpdateFunctionCodeOutput::builder().build());
        let configuration = mock!(Client::update_function_configuration)
            .match_requests(|r| r.timeout() == Some(3) && r.handler() == Some("index.handler"))
            .sequence()
            .error(|| {
                UpdateFunctionConfigurationError::generic(
                    ErrorMetadata::builder()
                        .code("ResourceConflictException")
                        .message("The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:demo-api")
                        .build(),
                )
            })
            .output(|| UpdateFunctionConfigurationOutput::builder().build())
            .build();
        let wait = mock!(Client::get_function_configuration)
            .sequence()
            .output(settled)
            .output(|| {
                GetFunctionConfigurationOutput::builder()
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::InProgress)
                    .build()
            })
            .output(settled)
            .repeatedly()
            .build();
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&code, &configuration, &wait]
            ),
            ..Aws::for_tests()
        };
        update(&aws, &desired_of(&m), &live)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((code.num_calls(), configuration.num_calls()), (1, 2));
        // Before and after the code (one of them InProgress), before and after the configuration.
        assert_eq!(wait.num_calls(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_update_is_an_error_with_lambda_reason() {
        let wait = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::Failed)
                .last_update_status_reason("The runtime is not supported")
                .build()
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&wait]),
            ..Aws::for_tests()
        };
        let e = wait_settled(&aws, "demo-api")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("demo-api") && e.contains("The runtime is not supported"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn deleting_a_function_that_is_gone_is_success() {
        use aws_sdk_lambda::operation::delete_function::DeleteFunctionError;
        let gone = mock!(Client::delete_function).then_error(|| {
            DeleteFunctionError::generic(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("Function not found")
                    .build(),
            )
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&gone, &no_mappings()]),
            ..Aws::for_tests()
        };
        let live = Live {
            address: "function.api".parse().unwrap(),
            physical_name: "demo-api".into(),
            attributes: Value::Null,
            outputs: Outputs::new(),
            ownership: Ownership::Ours,
        };
        assert!(delete(&aws, &live).await.is_ok());
    }

    #[test]
    fn a_referenced_role_is_unknown_until_it_exists_and_an_arn_is_kept() {
        let m = crate::resource::aws_defaults::Minimal::load_with_files(
            &format!("{ROLE}[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"fn\"\n"),
            "function.api",
            &[],
            &[("fn/index.js", "x")],
        );
        assert!(m.desired["role"]
            .as_str()
            .unwrap()
            .contains(crate::stack::reference::UNKNOWN));
        let m = crate::resource::aws_defaults::Minimal::load_with_files(
            &format!("{ROLE}[function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"fn\"\n"),
            "function.api",
            &[("role.fn.arn", ROLE_ARN)],
            &[("fn/index.js", "x")],
        );
        assert_eq!(m.desired["role"], ROLE_ARN);
    }

    // ---- functions named by other kinds ----

    const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-auto";

    fn naming_stack() -> String {
        format!(
            "[function.auto]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"{ROLE_ARN}\"\n\
             [user_pool.users]\ntriggers.pre_sign_up = {{ function = \"auto\" }}\n\
             triggers.post_confirmation = \"{FUNCTION_ARN}\"\n\
             [api.notes]\nstage = \"prod\"\nroutes.\"GET /notes\" = {{ integration = {{ function = \"auto\" }} }}\n"
        )
    }

    #[test]
    fn a_trigger_and_a_route_naming_a_stack_function_wait_for_it_and_get_its_arn() {
        use crate::resource::aws_defaults::Minimal;
        let files = [("fn/index.js", "exports.handler = async (e) => e;\n")];
        let function: Address = "function.auto".parse().unwrap();
        // Before the function exists its ARN is not known, and both wait for it.
        for address in ["user_pool.users", "api.notes"] {
            let m = Minimal::load_with_files(&naming_stack(), address, &[], &files);
            assert!(
                m.stack.resources[&m.address].depends_on.contains(&function),
                "{address} does not wait for the function"
            );
        }
        let m = Minimal::load_with_files(&naming_stack(), "user_pool.users", &[], &files);
        let unknown = m.desired["triggers"]["pre_sign_up"].as_str().unwrap();
        assert!(
            unknown.contains(crate::stack::reference::UNKNOWN),
            "{unknown}"
        );
        // Once it exists, its ARN is the trigger's and the integration's; an
        // ARN string still works beside it.
        let outputs = [("function.auto.arn", FUNCTION_ARN)];
        let m = Minimal::load_with_files(&naming_stack(), "user_pool.users", &outputs, &files);
        assert_eq!(m.desired["triggers"]["pre_sign_up"], FUNCTION_ARN);
        assert_eq!(m.desired["triggers"]["post_confirmation"], FUNCTION_ARN);
        let m = Minimal::load_with_files(&naming_stack(), "api.notes", &outputs, &files);
        let integration = &m.desired["routes"]["GET /notes"]["integration"];
        assert_eq!(integration["type"], "lambda");
        assert_eq!(integration["target"], FUNCTION_ARN);
    }

    #[test]
    fn naming_a_function_the_stack_does_not_declare_is_an_error_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(
            &file,
            "[stack]\nname = \"demo\"\n[user_pool.users]\ntriggers.pre_sign_up = { function = \"nope\" }\n\
             [api.notes]\nroutes.\"GET /x\" = { integration = { function = \"gone\" } }\n\
             [user_pool.other]\ntriggers.pre_sign_up = { function = \"a\", extra = 1 }\n",
        )
        .unwrap();
        let text = match crate::stack::load(&file) {
            Ok(_) => panic!("loaded"),
            Err(d) => d.render(false),
        };
        assert!(
            text.contains("names `function.nope`, which the stack does not declare"),
            "{text}"
        );
        assert!(
            text.contains("names `function.gone`, which the stack does not declare"),
            "{text}"
        );
        assert!(text.contains("demo.toml:4"), "{text}");
        assert!(
            text.contains("unknown key `extra` in `user_pool.other`"),
            "{text}"
        );
    }

    #[test]
    fn a_stack_role_must_trust_lambda() {
        let load = |trust: &str, files: &[(&str, &str)]| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("fn")).unwrap();
            std::fs::write(dir.path().join("fn/index.js"), "x").unwrap();
            for (name, text) in files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let file = dir.path().join("demo.toml");
            std::fs::write(
                &file,
                format!(
                    "[stack]\nname = \"demo\"\n[role.exec]\n{trust}\n\
                     [function.api]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"exec\"\n"
                ),
            )
            .unwrap();
            crate::stack::load(&file)
                .map(|_| ())
                .map_err(|d| d.render(false))
        };
        assert_eq!(
            load("trust = { service = \"lambda.amazonaws.com\" }", &[]),
            Ok(())
        );
        let trust_file = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole"}]}"#;
        assert_eq!(
            load(
                "trust = { file = \"trust.json\" }",
                &[("trust.json", trust_file)]
            ),
            Ok(())
        );
        for trust in [
            "trust = { service = \"ec2.amazonaws.com\" }",
            "[identity_pool.app]\n[role.exec.trust]\nidentity_pool = \"app\"",
        ] {
            let text = load(trust, &[]).expect_err(trust);
            assert!(
                text.contains(
                    "`function.api`: its role `role.exec` does not trust `lambda.amazonaws.com`"
                ),
                "{text}"
            );
            assert!(text.contains("[function.api]"), "{text}");
        }
    }
}
