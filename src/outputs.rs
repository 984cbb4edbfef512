//! Stack outputs and mobile client configuration files, rendered from the
//! live resources the stack owns (there is no state file): `outputs --format
//! json|env|swift|awsconfiguration|amplify`, and the short summary `up` ends
//! with. Pure: no I/O, no AWS calls; the command reads and passes everything.
//!
//! What is shown, per resource: every output other resources may reference
//! (ids, ARNs, names, endpoints, the invoke URL, API key ids). Left out, in
//! every format (what each kind declares internal, [`Step::INTERNAL_OUTPUTS`]):
//! - `identity_pool.<key>.roles` (the role attachment): its only output is the
//!   pool's id, already shown with the pool; its role ARNs feed the Swift
//!   constants of the reference architecture;
//! - a user pool's `custom_attributes`: bookkeeping of this tool (which custom
//!   attributes the pool has, so a plan can classify schema changes), a JSON
//!   list inside a string that no app configures anything with.
//!
//! Secrets (app client secrets, API key values) are only in what is rendered
//! when the caller passes them ([`Secrets`], `--include-secrets`), under
//! `client_secret` and `key.<name>.value`; [`Rendered::holds_secrets`] says
//! whether any was written.
//!
//! The "Default" resources (the mobile SDK's `Default` entries, Amplify's
//! default bucket, the reference architecture's constants): the user pool and
//! app client the Default identity pool names as its provider (the first such
//! pair that is the stack's own); else the only one; else the first by
//! address. Each choice among several is reported in [`Rendered::notes`]
//! (and, in Swift, as a comment), and the others keep entries of their own.
//! The formats find their resources by what each kind declares it is to them
//! ([`Step::MOBILE_CONFIG`]), and name no kind.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::resource::registry::{MobileConfig, StepVisitor};
use crate::resource::{Live, Outputs, Step};
use crate::stack::Address;

/// `format_version` of `outputs --format json`.
const JSON_FORMAT_VERSION: &str = "1";
/// `version` of the `amplify_outputs.json` schema written (Amplify Gen 2).
const AMPLIFY_OUTPUTS_VERSION: &str = "1.4";

/// Where the resources live.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub stack: &'a str,
    /// The stage (`--stage`); `stack` already includes it.
    pub stage: Option<&'a str>,
    pub account_id: &'a str,
    pub region: &'a str,
}

/// Secrets read for `--include-secrets`: each resource's secret outputs
/// (an app client's `client_secret`, an API's `key.<name>.value`), by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Secrets(pub BTreeMap<Address, Outputs>);

/// One rendered format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub text: String,
    /// What a user should know about the choices made (which resource is the
    /// Default, what a format cannot hold), one sentence each.
    pub notes: Vec<String>,
    /// Whether `text` holds a secret value.
    pub holds_secrets: bool,
}

// ------------------------------------------------------- shared pieces ----

/// What the kind of a step declares of its outputs (its [`Step`] items).
#[derive(Debug, Clone, Copy)]
struct Declared {
    /// Bookkeeping, never shown.
    internal: &'static [&'static str],
    /// Whether it has an output that is not internal: if not, every format
    /// leaves it out.
    shown: bool,
    summary: &'static [&'static str],
    summary_fallback: &'static [&'static str],
    swift_section: &'static str,
    mobile_config: Option<MobileConfig>,
}

/// What the kind of the step at `address` declares of its outputs.
fn declared(address: &Address) -> Declared {
    struct Declare;
    impl StepVisitor for Declare {
        type Output = Declared;
        fn visit<S: Step>(self) -> Declared {
            Declared {
                internal: S::INTERNAL_OUTPUTS,
                shown: S::OUTPUTS.iter().any(|o| !S::INTERNAL_OUTPUTS.contains(o)),
                summary: S::SUMMARY_OUTPUTS,
                summary_fallback: S::SUMMARY_FALLBACK,
                swift_section: S::SWIFT_SECTION,
                mobile_config: S::MOBILE_CONFIG,
            }
        }
    }
    address.kind.visit_step(address.part.as_ref(), Declare)
}

/// Whether the output `name` is one that the declared `pattern` names (`*`
/// standing for one name: `key.*.id`).
fn is_output(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        Some((prefix, suffix)) => name.starts_with(prefix) && name.ends_with(suffix),
        None => pattern == name,
    }
}

/// Each shown resource's outputs, with the secrets that were passed.
/// Returns the outputs and whether any secret is among them.
fn app_outputs(
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> (BTreeMap<Address, Outputs>, bool) {
    let mut all = BTreeMap::new();
    let mut holds_secrets = false;
    for (address, live) in resources {
        let declared = declared(address);
        if !declared.shown {
            continue;
        }
        let mut outputs: Outputs = live
            .outputs
            .iter()
            .filter(|(k, v)| !v.is_empty() && !declared.internal.iter().any(|p| is_output(p, k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(s) = secrets {
            for (name, value) in s.0.get(address).into_iter().flatten() {
                outputs.insert(name.clone(), value.clone());
                holds_secrets = true;
            }
        }
        all.insert(address.clone(), outputs);
    }
    (all, holds_secrets)
}

/// The resources the mobile config formats use as `what`, by address.
fn playing(resources: &BTreeMap<Address, Live>, what: MobileConfig) -> Vec<&Live> {
    resources
        .values()
        .filter(|l| declared(&l.address).mobile_config == Some(what))
        .collect()
}

fn out<'a>(live: &'a Live, key: &str) -> Option<&'a str> {
    live.outputs
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// Names of the API keys of an API (from its `key.<name>.id` outputs), sorted.
fn api_key_names(live: &Live) -> Vec<String> {
    live.outputs
        .keys()
        .filter_map(|k| k.strip_prefix("key.")?.strip_suffix(".id"))
        .map(str::to_string)
        .collect()
}

/// The resources a format's "Default" entries use (see the module docs).
struct Defaults<'a> {
    identity_pool: Option<&'a Live>,
    /// The Default identity pool's role attachment.
    roles: Option<&'a Live>,
    user_pool: Option<&'a Live>,
    client: Option<&'a Live>,
    bucket: Option<&'a Live>,
    table: Option<&'a Live>,
    api: Option<&'a Live>,
    /// The name of the Default API's Default key.
    api_key: Option<String>,
    notes: Vec<String>,
}

/// The only one, or the first by address, saying so when there are several
/// (`plural`: what they are, e.g. `buckets`).
fn pick<'a>(plural: &str, candidates: &[&'a Live], notes: &mut Vec<String>) -> Option<&'a Live> {
    let first = candidates.first().copied()?;
    if candidates.len() > 1 {
        let list: Vec<String> = candidates.iter().map(|l| l.address.to_string()).collect();
        notes.push(format!(
            "there are {} {plural} ({}); `{}` is the Default (the first by address), the others are under their own names",
            candidates.len(),
            list.join(", "),
            first.address
        ));
    }
    Some(first)
}

/// The user pool and app client the identity pool names as its provider,
/// when they are the stack's own (the first such pair, saying so when there
/// are several).
fn trusted_sign_in<'a>(
    identity_pool: &Live,
    pools: &[&'a Live],
    clients: &[&'a Live],
    notes: &mut Vec<String>,
) -> Option<(&'a Live, &'a Live)> {
    let providers = identity_pool
        .attributes
        .get("cognito_identity_providers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ours: Vec<(&Live, &Live)> = providers
        .iter()
        .filter_map(|p| {
            let pool_id = p.get("provider_name")?.as_str()?.rsplit('/').next()?;
            let client_id = p.get("client_id")?.as_str()?;
            let pool = pools.iter().find(|u| out(u, "id") == Some(pool_id))?;
            let client = clients.iter().find(|c| {
                out(c, "id") == Some(client_id) && c.address.resource() == pool.address
            })?;
            Some((*pool, *client))
        })
        .collect();
    let (p, c) = ours.first()?;
    if ours.len() > 1 {
        notes.push(format!(
            "identity pool `{}` trusts {} app clients of this stack; `{}` (of `{}`) is the Default",
            identity_pool.address,
            ours.len(),
            c.address,
            p.address
        ));
    }
    Some((*p, *c))
}

/// The Default user pool and app client: the ones the identity pool trusts,
/// else the first pool and its first client.
fn default_sign_in<'a>(
    resources: &'a BTreeMap<Address, Live>,
    identity_pool: Option<&Live>,
    notes: &mut Vec<String>,
) -> (Option<&'a Live>, Option<&'a Live>) {
    let pools = playing(resources, MobileConfig::SignIn);
    let clients = playing(resources, MobileConfig::AppClient);
    if let Some(trusted) = identity_pool.and_then(|p| trusted_sign_in(p, &pools, &clients, notes)) {
        return (Some(trusted.0), Some(trusted.1));
    }
    let user_pool = pick("user pools", &pools, notes);
    let client = user_pool.and_then(|pool| {
        let own: Vec<&Live> = clients
            .iter()
            .copied()
            .filter(|c| c.address.resource() == pool.address)
            .collect();
        pick(&format!("app clients of `{}`", pool.address), &own, notes)
    });
    (user_pool, client)
}

/// The name of the API's Default key: the first by name, saying so when
/// there are several.
fn default_api_key(api: &Live, notes: &mut Vec<String>) -> Option<String> {
    let names = api_key_names(api);
    if names.len() > 1 {
        notes.push(format!(
            "`{}` has {} API keys ({}); `{}` is the Default (the first by name)",
            api.address,
            names.len(),
            names.join(", "),
            names[0]
        ));
    }
    names.into_iter().next()
}

fn defaults(resources: &BTreeMap<Address, Live>) -> Defaults<'_> {
    let mut notes = Vec::new();
    let identity_pool = pick(
        "identity pools",
        &playing(resources, MobileConfig::Credentials),
        &mut notes,
    );
    let roles = identity_pool.and_then(|p| {
        playing(resources, MobileConfig::CredentialRoles)
            .into_iter()
            .find(|r| r.address.resource() == p.address)
    });
    let (user_pool, client) = default_sign_in(resources, identity_pool, &mut notes);
    let bucket = pick(
        "buckets",
        &playing(resources, MobileConfig::Storage),
        &mut notes,
    );
    let table = pick(
        "tables",
        &playing(resources, MobileConfig::Database),
        &mut notes,
    );
    let api = pick(
        "REST APIs",
        &playing(resources, MobileConfig::RestApi),
        &mut notes,
    );
    let api_key = api.and_then(|a| default_api_key(a, &mut notes));
    Defaults {
        identity_pool,
        roles,
        user_pool,
        client,
        bucket,
        table,
        api,
        api_key,
        notes,
    }
}

fn client_has_secret(client: &Live) -> bool {
    client
        .attributes
        .get("generate_secret")
        .and_then(Value::as_bool)
        == Some(true)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------- json ----

/// `outputs --format json` (the default): one stable document,
///
/// ```text
/// { "format_version": "1", "stack": "...", "stage": "..." | null,
///   "account_id": "...", "region": "...",
///   "secrets_included": false,
///   "resources": { "<address>": { "<output>": "<string>", ... }, ... } }
/// ```
///
/// `resources` is keyed by address (`table.notes`, `user_pool.users.clients.ios`)
/// in the stack's kind order; every value is a string, named as in
/// `${kind.key.attr}` references (`key.<name>.id` for API keys). With secrets:
/// `client_secret` on app clients, `key.<name>.value` on APIs.
pub(crate) fn json(
    ctx: &Context<'_>,
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> Rendered {
    let (outputs, holds_secrets) = app_outputs(resources, secrets);
    let doc = json!({
        "format_version": JSON_FORMAT_VERSION,
        "stack": ctx.stack,
        "stage": ctx.stage,
        "account_id": ctx.account_id,
        "region": ctx.region,
        "secrets_included": secrets.is_some(),
        "resources": resources_value(&outputs),
    });
    Rendered {
        text: format!("{doc:#}\n"),
        notes: Vec::new(),
        holds_secrets,
    }
}

fn resources_value(outputs: &BTreeMap<Address, Outputs>) -> Value {
    Value::Object(
        outputs
            .iter()
            .map(|(address, o)| {
                let values: Map<String, Value> = o
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                (address.to_string(), Value::Object(values))
            })
            .collect(),
    )
}

// ----------------------------------------------------------------- env ----

/// The variable name of an output: `<address>_<output>` upper-cased, every
/// character other than a letter or digit turned into `_`
/// (`user_pool.users.clients.ios` + `id` → `USER_POOL_USERS_CLIENTS_IOS_ID`).
fn env_key(address: &Address, output: &str) -> String {
    format!("{address}_{output}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A value as a POSIX shell word: as it is when it holds only characters no
/// shell treats specially (ids, ARNs, URLs), else in single quotes.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// `outputs --format env`: `KEY=value` lines, nothing else (no comments, no
/// `export`), for `set -a; . file`, a CI job's environment file or a
/// `.env`: `AWS_REGION` first, then one line per output ([`env_key`]),
/// values quoted only when a shell needs it ([`shell_quote`]).
pub(crate) fn env(
    ctx: &Context<'_>,
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> Rendered {
    let (outputs, holds_secrets) = app_outputs(resources, secrets);
    let mut notes = Vec::new();
    let mut taken: BTreeMap<String, String> =
        BTreeMap::from([("AWS_REGION".to_string(), "the region".to_string())]);
    let mut text = format!("AWS_REGION={}\n", shell_quote(ctx.region));
    for (address, o) in &outputs {
        for (output, value) in o {
            let key = env_key(address, output);
            let what = format!("`{output}` of `{address}`");
            if let Some(first) = taken.get(&key) {
                notes.push(format!(
                    "{what} and {first} are both {key}; only the first is written"
                ));
                continue;
            }
            text.push_str(&format!("{key}={}\n", shell_quote(value)));
            taken.insert(key, what);
        }
    }
    Rendered {
        text,
        notes,
        holds_secrets,
    }
}

// --------------------------------------------------------------- swift ----

/// Swift keywords a generated name must not be (escaped with backticks).
const SWIFT_KEYWORDS: &[&str] = &[
    "Any",
    "Protocol",
    "Self",
    "Type",
    "as",
    "associatedtype",
    "break",
    "case",
    "catch",
    "class",
    "continue",
    "default",
    "defer",
    "deinit",
    "do",
    "else",
    "enum",
    "extension",
    "fallthrough",
    "false",
    "fileprivate",
    "for",
    "func",
    "guard",
    "if",
    "import",
    "in",
    "init",
    "inout",
    "internal",
    "is",
    "let",
    "nil",
    "open",
    "operator",
    "private",
    "protocol",
    "public",
    "repeat",
    "rethrows",
    "return",
    "self",
    "some",
    "static",
    "struct",
    "subscript",
    "super",
    "switch",
    "throw",
    "throws",
    "true",
    "try",
    "typealias",
    "var",
    "where",
    "while",
];

fn swift_identifier(words: &[String], upper_first: bool) -> String {
    let mut name = String::new();
    for (i, word) in words.iter().enumerate() {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            if i == 0 && !upper_first {
                name.push(first.to_ascii_lowercase());
            } else {
                name.push(first.to_ascii_uppercase());
            }
            name.extend(chars);
        }
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if SWIFT_KEYWORDS.contains(&name.as_str()) {
        format!("`{name}`")
    } else {
        name
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `notes_backend` → `NotesBackend`
fn swift_type(s: &str) -> String {
    swift_identifier(&words(s), true)
}

/// `regional_domain_name` → `regionalDomainName`
fn swift_property(s: &str) -> String {
    swift_identifier(&words(s), false)
}

/// A Swift string literal.
fn swift_string(value: &str) -> String {
    let mut s = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => s.push_str(r"\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str(r"\n"),
            '\r' => s.push_str(r"\r"),
            '\t' => s.push_str(r"\t"),
            c if c.is_control() => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// `let Name = "value" // address`
fn line(text: &mut String, name: &str, value: &str, from: Option<&Address>) {
    let comment = from.map(|a| format!(" // {a}")).unwrap_or_default();
    text.push_str(&format!("let {name} = {}{comment}\n", swift_string(value)));
}

/// A namespace of the generated `MobileBackend` enum.
#[derive(Default)]
struct SwiftEnum {
    name: String,
    constants: Vec<(String, String)>,
    children: Vec<SwiftEnum>,
}

impl SwiftEnum {
    fn child(&mut self, name: &str) -> &mut SwiftEnum {
        let i = match self.children.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.children.push(SwiftEnum {
                    name: name.to_string(),
                    ..SwiftEnum::default()
                });
                self.children.len() - 1
            }
        };
        &mut self.children[i]
    }

    fn render(&self, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        out.push_str(&format!("{pad}enum {} {{\n", self.name));
        for (name, value) in &self.constants {
            out.push_str(&format!(
                "{pad}    static let {name} = {}\n",
                swift_string(value)
            ));
        }
        for (i, child) in self.children.iter().enumerate() {
            if depth == 0 && (i > 0 || !self.constants.is_empty()) {
                out.push('\n');
            }
            child.render(depth + 1, out);
        }
        out.push_str(&format!("{pad}}}\n"));
    }
}

/// Where a resource goes in `MobileBackend`: `UserPools.Users.Clients.Ios`.
fn swift_path(address: &Address) -> Vec<String> {
    let kind = declared(&address.resource()).swift_section;
    let mut path = vec![kind.to_string(), swift_type(&address.key)];
    if let Some(part) = &address.part {
        path.push(declared(address).swift_section.to_string());
        path.extend(part.key().map(swift_type));
    }
    path
}

/// `outputs --format swift`: a `Constants.swift` in the shape of the AWS
/// "Serverless Reference Architecture: Mobile Backend" iOS sample (global
/// `let`s named as there: `CognitoIdentityPoolId`, `CognitoUnauthenticatedRoleArn`,
/// `CognitoAuthenticatedRoleArn`, `AWSAccountId`, `APIEndpointUrl`,
/// `APIGatewayKey` (with secrets), `S3BucketName`, and `CognitoRegionType` /
/// `DefaultServiceRegionType` where the AWS Mobile SDK's `AWSCore` is there),
/// plus what the sample lacks (`AWSRegionName`, `CognitoUserPoolId`,
/// `CognitoUserPoolAppClientId`, `CognitoUserPoolAppClientSecret` with secrets,
/// `DynamoDBTableName`), all from the Default resources; then every output of
/// every resource as `static let`s in `enum MobileBackend`
/// (`MobileBackend.Tables.Notes.arn`). Only what exists is written.
pub(crate) fn swift(
    ctx: &Context<'_>,
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> Rendered {
    let (outputs, holds_secrets) = app_outputs(resources, secrets);
    let d = defaults(resources);
    let mut notes = d.notes.clone();
    let mut text = swift_header(ctx, holds_secrets, &d.notes);
    swift_reference_constants(&mut text, ctx, &d, &outputs, secrets);
    text.push_str("\n/// Every output of the stack, by kind and key.\n");
    swift_mobile_backend(ctx, &outputs, &mut notes).render(0, &mut text);
    Rendered {
        text,
        notes,
        holds_secrets,
    }
}

/// What the file is, its notes, and its imports.
fn swift_header(ctx: &Context<'_>, holds_secrets: bool, notes: &[String]) -> String {
    let mut text = format!(
        "// Constants.swift: the outputs of stack `{}` (account {}, {}), read from live AWS\n\
         // by `mobile-backend outputs --format swift`. Generated: change the stack and run it\n\
         // again rather than editing this file.\n",
        ctx.stack, ctx.account_id, ctx.region
    );
    if holds_secrets {
        text.push_str(
            "// It holds secrets (client secrets, API key values): keep it out of version control.\n",
        );
    }
    for note in notes {
        text.push_str(&format!("// Note: {note}.\n"));
    }
    text.push_str("\nimport Foundation\n#if canImport(AWSCore)\nimport AWSCore\n#endif\n\n");
    text
}

/// The reference architecture's constants, from the Default resources.
fn swift_reference_constants(
    text: &mut String,
    ctx: &Context<'_>,
    d: &Defaults<'_>,
    outputs: &BTreeMap<Address, Outputs>,
    secrets: Option<&Secrets>,
) {
    text.push_str(
        "// The constants of the AWS \"Serverless Reference Architecture: Mobile Backend\" iOS sample.\n",
    );
    line(text, "AWSRegionName", ctx.region, None);
    text.push_str(
        "#if canImport(AWSCore)\n\
         let CognitoRegionType = (AWSRegionName as NSString).aws_regionTypeValue()\n\
         let DefaultServiceRegionType = CognitoRegionType\n\
         #endif\n",
    );
    line(text, "AWSAccountId", ctx.account_id, None);
    swift_credentials_constants(text, d);
    swift_sign_in_constants(text, d, outputs, secrets);
    let named = [
        ("S3BucketName", d.bucket, "name"),
        ("DynamoDBTableName", d.table, "name"),
        ("APIEndpointUrl", d.api, "invoke_url"),
    ];
    for (name, resource, output) in named {
        if let Some(r) = resource {
            if let Some(value) = out(r, output) {
                line(text, name, value, Some(&r.address));
            }
        }
    }
    swift_api_key_constant(text, d, outputs, secrets);
}

/// The Default identity pool's id and the role ARNs it hands out.
fn swift_credentials_constants(text: &mut String, d: &Defaults<'_>) {
    if let Some(pool) = d.identity_pool {
        if let Some(id) = out(pool, "id") {
            line(text, "CognitoIdentityPoolId", id, Some(&pool.address));
        }
    }
    if let Some(roles) = d.roles {
        for (name, which) in [
            ("CognitoUnauthenticatedRoleArn", "unauthenticated"),
            ("CognitoAuthenticatedRoleArn", "authenticated"),
        ] {
            if let Some(arn) = roles
                .attributes
                .get("roles")
                .and_then(|r| r.get(which))
                .and_then(Value::as_str)
            {
                line(text, name, arn, Some(&roles.address));
            }
        }
    }
}

/// The Default user pool's id and its app client's id (and secret).
fn swift_sign_in_constants(
    text: &mut String,
    d: &Defaults<'_>,
    outputs: &BTreeMap<Address, Outputs>,
    secrets: Option<&Secrets>,
) {
    if let Some(pool) = d.user_pool {
        if let Some(id) = out(pool, "id") {
            line(text, "CognitoUserPoolId", id, Some(&pool.address));
        }
    }
    let Some(client) = d.client else {
        return;
    };
    if let Some(id) = out(client, "id") {
        line(
            text,
            "CognitoUserPoolAppClientId",
            id,
            Some(&client.address),
        );
    }
    match outputs.get(&client.address).and_then(|o| o.get("client_secret")) {
        Some(secret) => line(
            text,
            "CognitoUserPoolAppClientSecret",
            secret,
            Some(&client.address),
        ),
        None if client_has_secret(client) && secrets.is_none() => text.push_str(&format!(
            "// CognitoUserPoolAppClientSecret: `{}` has a client secret; run `mobile-backend outputs --format swift --include-secrets` to write it.\n",
            client.address
        )),
        None => {}
    }
}

/// The value of the Default API's Default key, or where to find it.
fn swift_api_key_constant(
    text: &mut String,
    d: &Defaults<'_>,
    outputs: &BTreeMap<Address, Outputs>,
    secrets: Option<&Secrets>,
) {
    let (Some(api), Some(key)) = (d.api, &d.api_key) else {
        return;
    };
    let value = outputs
        .get(&api.address)
        .and_then(|o| o.get(&format!("key.{key}.value")));
    match value {
        Some(v) => line(text, "APIGatewayKey", v, Some(&api.address)),
        None if secrets.is_none() => text.push_str(&format!(
            "// APIGatewayKey: the value of key `{key}` of `{}` is a secret; run `mobile-backend outputs --format swift --include-secrets` to write it.\n",
            api.address
        )),
        None => {}
    }
}

/// `enum MobileBackend`: every output, by kind and key.
fn swift_mobile_backend(
    ctx: &Context<'_>,
    outputs: &BTreeMap<Address, Outputs>,
    notes: &mut Vec<String>,
) -> SwiftEnum {
    let mut root = SwiftEnum {
        name: "MobileBackend".into(),
        constants: vec![
            ("stack".into(), ctx.stack.into()),
            ("accountId".into(), ctx.account_id.into()),
            ("region".into(), ctx.region.into()),
        ],
        children: Vec::new(),
    };
    for (address, o) in outputs {
        let path = swift_path(address);
        for (output, value) in o {
            let mut segments: Vec<&str> = output.split('.').collect();
            let leaf = segments.pop().unwrap_or(output.as_str());
            let mut node = &mut root;
            for p in &path {
                node = node.child(p);
            }
            for s in segments {
                node = node.child(&if s == "key" {
                    "Keys".to_string()
                } else {
                    swift_type(s)
                });
            }
            let property = swift_property(leaf);
            if node.constants.iter().any(|(n, _)| *n == property) {
                notes.push(format!(
                    "`{output}` of `{address}` has the same Swift name as another output; it is left out of `MobileBackend`"
                ));
                continue;
            }
            node.constants.push((property, value.clone()));
        }
    }
    root
}

// ---------------------------------------------------- awsconfiguration ----

/// `outputs --format awsconfiguration`: the AWS Mobile SDK's (iOS and
/// Android) `awsconfiguration.json`: `CredentialsProvider.CognitoIdentity`,
/// `CognitoUserPool` (`PoolId`, `AppClientId`, `AppClientSecret` with secrets,
/// `Region`), `Auth` (the flow the Default client allows),
/// `S3TransferUtility` (`Bucket`, `Region`) and `DynamoDBObjectMapper`
/// (`Region`), each with a `Default` entry and, when the stack has several,
/// one entry per resource under its key (`uploads`, or `users.ios` for a
/// client), which `forKey:` / `getConfiguration(key)` selects. The SDK's file
/// has no REST API section: see the json, env or swift formats.
pub(crate) fn awsconfiguration(
    ctx: &Context<'_>,
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> Rendered {
    let (outputs, _) = app_outputs(resources, secrets);
    let d = defaults(resources);
    let mut notes = d.notes.clone();
    let region = ctx.region;
    let mut doc = Map::new();
    doc.insert(
        "UserAgent".into(),
        json!(format!("mobile-backend/{}", env!("CARGO_PKG_VERSION"))),
    );
    doc.insert("Version".into(), json!("1.0"));
    doc.insert("IdentityManager".into(), json!({ "Default": {} }));

    if let Some(default) = d.identity_pool {
        let entries = sdk_entries(
            default,
            &playing(resources, MobileConfig::Credentials),
            |p| p.address.key.clone(),
            |p| json!({ "PoolId": out(p, "id").unwrap_or_default(), "Region": region }),
        );
        doc.insert(
            "CredentialsProvider".into(),
            json!({ "CognitoIdentity": entries }),
        );
    }
    let holds_secrets = sdk_user_pool(&mut doc, resources, &d, &outputs, region, &mut notes);
    if let Some(default) = d.bucket {
        let entries = sdk_entries(
            default,
            &playing(resources, MobileConfig::Storage),
            |b| b.address.key.clone(),
            |b| json!({ "Bucket": out(b, "name").unwrap_or_default(), "Region": region }),
        );
        doc.insert("S3TransferUtility".into(), Value::Object(entries));
    }
    if d.table.is_some() {
        doc.insert(
            "DynamoDBObjectMapper".into(),
            json!({ "Default": { "Region": region } }),
        );
    }
    Rendered {
        text: format!("{:#}\n", Value::Object(doc)),
        notes,
        holds_secrets,
    }
}

/// An SDK section's entries: `Default`, then, when there are several, one
/// per resource under its `key`.
fn sdk_entries(
    default: &Live,
    all: &[&Live],
    key: impl Fn(&Live) -> String,
    mut entry: impl FnMut(&Live) -> Value,
) -> Map<String, Value> {
    let mut entries = Map::new();
    entries.insert("Default".into(), entry(default));
    if all.len() > 1 {
        for r in all {
            entries.insert(key(r), entry(r));
        }
    }
    entries
}

/// `CognitoUserPool` (the app clients, named `<pool key>.<client key>`) and
/// `Auth` (the flow the Default client allows), or a note when the Default
/// user pool has no client. Returns whether a client secret was written.
fn sdk_user_pool(
    doc: &mut Map<String, Value>,
    resources: &BTreeMap<Address, Live>,
    d: &Defaults<'_>,
    outputs: &BTreeMap<Address, Outputs>,
    region: &str,
    notes: &mut Vec<String>,
) -> bool {
    let Some(default) = d.client else {
        if let Some(pool) = d.user_pool {
            notes.push(format!(
                "`{}` has no app client, and the SDK's CognitoUserPool entry needs one (AppClientId): add `clients.<name>` to `[{}]`",
                pool.address, pool.address
            ));
        }
        return false;
    };
    let mut holds_secrets = false;
    let client_entry = |c: &Live| {
        let mut e = Map::new();
        e.insert(
            "PoolId".into(),
            json!(c.outputs.get("user_pool_id").cloned().unwrap_or_default()),
        );
        e.insert(
            "AppClientId".into(),
            json!(out(c, "id").unwrap_or_default()),
        );
        if let Some(secret) = outputs.get(&c.address).and_then(|o| o.get("client_secret")) {
            e.insert("AppClientSecret".into(), json!(secret));
            holds_secrets = true;
        }
        e.insert("Region".into(), json!(region));
        Value::Object(e)
    };
    let client_key = |c: &Live| match c.address.part.as_ref().and_then(|p| p.key()) {
        Some(name) => format!("{}.{name}", c.address.key),
        None => c.address.to_string(),
    };
    let entries = sdk_entries(
        default,
        &playing(resources, MobileConfig::AppClient),
        client_key,
        client_entry,
    );
    doc.insert("CognitoUserPool".into(), Value::Object(entries));
    let flows = strings(default.attributes.get("auth_flows"));
    let flow = if flows.iter().any(|f| f == "ALLOW_USER_SRP_AUTH") {
        Some("USER_SRP_AUTH")
    } else if flows.iter().any(|f| f == "ALLOW_USER_PASSWORD_AUTH") {
        Some("USER_PASSWORD_AUTH")
    } else {
        None
    };
    if let Some(flow) = flow {
        doc.insert(
            "Auth".into(),
            json!({ "Default": { "authenticationFlowType": flow } }),
        );
    }
    holds_secrets
}

// ------------------------------------------------------------- amplify ----

/// Cognito's standard attributes, as `amplify_outputs.json` names them.
const STANDARD_ATTRIBUTES: &[&str] = &[
    "address",
    "birthdate",
    "email",
    "family_name",
    "gender",
    "given_name",
    "locale",
    "middle_name",
    "name",
    "nickname",
    "phone_number",
    "picture",
    "preferred_username",
    "profile",
    "updated_at",
    "website",
    "zoneinfo",
];

fn amplify_auth(
    ctx: &Context<'_>,
    d: &Defaults<'_>,
    pool: &Live,
    client: &Live,
    groups: &[&Live],
) -> Value {
    let a = &pool.attributes;
    let mut auth = Map::new();
    auth.insert("aws_region".into(), json!(ctx.region));
    auth.insert(
        "user_pool_id".into(),
        json!(out(pool, "id").unwrap_or_default()),
    );
    auth.insert(
        "user_pool_client_id".into(),
        json!(out(client, "id").unwrap_or_default()),
    );
    if let Some(identity_pool) = d.identity_pool {
        if let Some(id) = out(identity_pool, "id") {
            auth.insert("identity_pool_id".into(), json!(id));
        }
    }
    if let Some(policy) = a.get("password_policy").and_then(amplify_password_policy) {
        auth.insert("password_policy".into(), policy);
    }
    amplify_user_attributes(&mut auth, a);
    if let Some(unauthenticated) = d
        .identity_pool
        .and_then(|p| p.attributes.get("allow_unauthenticated"))
        .and_then(Value::as_bool)
    {
        auth.insert(
            "unauthenticated_identities_enabled".into(),
            json!(unauthenticated),
        );
    }
    if let Some(mfa) = a.get("mfa").and_then(Value::as_str) {
        let (configuration, methods) = match mfa {
            "on" => ("REQUIRED", vec!["TOTP"]),
            "optional" => ("OPTIONAL", vec!["TOTP"]),
            _ => ("NONE", vec![]),
        };
        auth.insert("mfa_configuration".into(), json!(configuration));
        if !methods.is_empty() {
            // This tool turns on software-token (TOTP) MFA only.
            auth.insert("mfa_methods".into(), json!(methods));
        }
    }
    if let Some(groups) = amplify_groups(groups) {
        auth.insert("groups".into(), groups);
    }
    Value::Object(auth)
}

/// `password_policy`, when the pool's has every setting Amplify's has.
fn amplify_password_policy(p: &Value) -> Option<Value> {
    let flag = |k: &str| p.get(k).and_then(Value::as_bool);
    Some(json!({
        "min_length": p.get("min_length").and_then(Value::as_i64)?,
        "require_numbers": flag("require_numbers")?,
        "require_lowercase": flag("require_lowercase")?,
        "require_uppercase": flag("require_uppercase")?,
        "require_symbols": flag("require_symbols")?,
    }))
}

/// `standard_required_attributes`, `username_attributes` and
/// `user_verification_types`, each when not empty.
fn amplify_user_attributes(auth: &mut Map<String, Value>, a: &Value) {
    let required: Vec<&str> = a
        .get("attributes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(name, c)| {
                    STANDARD_ATTRIBUTES.contains(&name.as_str())
                        && c.get("required").and_then(Value::as_bool) == Some(true)
                })
                .map(|(name, _)| name.as_str())
                .collect()
        })
        .unwrap_or_default();
    if !required.is_empty() {
        auth.insert("standard_required_attributes".into(), json!(required));
    }
    let email_or_phone = |key: &str| -> Vec<String> {
        strings(a.get(key))
            .into_iter()
            .filter(|u| u == "email" || u == "phone_number")
            .collect()
    };
    let username = email_or_phone("username_attributes");
    if !username.is_empty() {
        auth.insert("username_attributes".into(), json!(username));
    }
    let verified = email_or_phone("auto_verified_attributes");
    if !verified.is_empty() {
        auth.insert("user_verification_types".into(), json!(verified));
    }
}

/// `groups`: `[{ "<name>": { "precedence": n } }, ...]` by precedence (none
/// last), then name; `None` when there is none.
fn amplify_groups(groups: &[&Live]) -> Option<Value> {
    let mut groups: Vec<(Option<i64>, String)> = groups
        .iter()
        .filter_map(|g| {
            let precedence = g.attributes.get("precedence").and_then(Value::as_i64);
            Some((precedence, out(g, "name")?.to_string()))
        })
        .collect();
    groups.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    if groups.is_empty() {
        return None;
    }
    let list: Vec<Value> = groups
        .into_iter()
        .map(|(precedence, name)| {
            let config = match precedence {
                Some(p) => json!({ "precedence": p }),
                None => json!({}),
            };
            Value::Object(Map::from_iter([(name, config)]))
        })
        .collect();
    Some(Value::Array(list))
}

/// `outputs --format amplify`: `amplify_outputs.json` in the Amplify Gen 2
/// schema ([`AMPLIFY_OUTPUTS_VERSION`]): `auth` from the Default user pool,
/// app client and identity pool (region, ids, password policy, username and
/// required attributes, verification, guest access, MFA, groups; Amplify
/// needs a user pool and an app client for `auth`), `storage` (the Default
/// bucket, and every bucket in `buckets` under its stack key), and `custom`:
/// `API.<api name>` (`endpoint`, `region`, `apiName`: the shape Amplify's
/// REST API guide adds for an existing API Gateway API), `CDN.<key>`
/// (`domain_name`, `url`, `distribution_id` of each CloudFront distribution) and
/// `mobile_backend` (the json format's `stack`, `account_id`, `region` and
/// `resources`, secrets included when passed).
pub(crate) fn amplify(
    ctx: &Context<'_>,
    resources: &BTreeMap<Address, Live>,
    secrets: Option<&Secrets>,
) -> Rendered {
    let (outputs, holds_secrets) = app_outputs(resources, secrets);
    let d = defaults(resources);
    let mut notes = d.notes.clone();
    let mut doc = Map::new();
    doc.insert("version".into(), json!(AMPLIFY_OUTPUTS_VERSION));

    match (d.user_pool, d.client) {
        (Some(pool), Some(client)) => {
            let groups: Vec<&Live> = playing(resources, MobileConfig::UserGroup)
                .into_iter()
                .filter(|g| g.address.resource() == pool.address)
                .collect();
            doc.insert(
                "auth".into(),
                amplify_auth(ctx, &d, pool, client, &groups),
            );
        }
        (Some(pool), None) => notes.push(format!(
            "`{}` has no app client, and Amplify's `auth` needs one (user_pool_client_id): add `clients.<name>` to `[{}]`; its ids are under custom.mobile_backend",
            pool.address, pool.address
        )),
        (None, _) => {
            if let Some(p) = d.identity_pool {
                notes.push(format!(
                    "Amplify's `auth` needs a user pool and an app client, which the stack does not have; the id of `{}` is under custom.mobile_backend",
                    p.address
                ));
            }
        }
    }

    if let Some(default) = d.bucket {
        let buckets: Vec<Value> = playing(resources, MobileConfig::Storage)
            .iter()
            .map(|b| {
                json!({
                    "name": b.address.key,
                    "bucket_name": out(b, "name").unwrap_or_default(),
                    "aws_region": ctx.region,
                })
            })
            .collect();
        doc.insert(
            "storage".into(),
            json!({
                "aws_region": ctx.region,
                "bucket_name": out(default, "name").unwrap_or_default(),
                "buckets": buckets,
            }),
        );
    }

    let mut custom = Map::new();
    let mut apis = Map::new();
    for api in playing(resources, MobileConfig::RestApi) {
        if let (Some(name), Some(url)) = (out(api, "name"), out(api, "invoke_url")) {
            apis.insert(
                name.to_string(),
                json!({ "endpoint": url, "region": ctx.region, "apiName": name }),
            );
        }
    }
    if !apis.is_empty() {
        custom.insert("API".into(), Value::Object(apis));
    }
    let mut cdns = Map::new();
    for cdn in playing(resources, MobileConfig::ContentDelivery) {
        if let Some(domain) = out(cdn, "domain_name") {
            cdns.insert(
                cdn.address.key.clone(),
                json!({
                    "domain_name": domain,
                    "url": format!("https://{domain}"),
                    "distribution_id": out(cdn, "id").unwrap_or_default(),
                }),
            );
        }
    }
    if !cdns.is_empty() {
        custom.insert("CDN".into(), Value::Object(cdns));
    }
    custom.insert(
        "mobile_backend".into(),
        json!({
            "stack": ctx.stack,
            "account_id": ctx.account_id,
            "region": ctx.region,
            "resources": resources_value(&outputs),
        }),
    );
    doc.insert("custom".into(), Value::Object(custom));
    Rendered {
        text: format!("{:#}\n", Value::Object(doc)),
        notes,
        holds_secrets,
    }
}

// ------------------------------------------------------------- summary ----

/// `output=value` for each output with a value that one of `patterns`
/// names, in the patterns' order.
fn summary_values(outputs: &Outputs, patterns: &[&str]) -> Vec<String> {
    patterns
        .iter()
        .flat_map(|p| {
            outputs
                .iter()
                .filter(move |(k, v)| !v.is_empty() && is_output(p, k))
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// A short block for people, for the end of `up`: `Outputs:` and one line per
/// resource with the values the tutorials tell you to copy (ids, names, the
/// invoke URL and API key ids, endpoints, role ARNs). No secrets, no colour.
/// Empty when there is nothing to show.
pub(crate) fn summary(resources: &BTreeMap<Address, Outputs>) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for (address, outputs) in resources {
        let declared = declared(address);
        let mut values = summary_values(outputs, declared.summary);
        if values.is_empty() {
            values = summary_values(outputs, declared.summary_fallback);
        }
        if !values.is_empty() {
            rows.push((address.to_string(), values));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let width = rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
    let mut text = String::from("Outputs:\n");
    for (address, values) in rows {
        text.push_str(&format!("  {address:<width$}  {}\n", values.join("  ")));
    }
    text
}

#[cfg(test)]
mod tests;
