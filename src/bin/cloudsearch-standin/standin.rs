//! A stand-in of Amazon CloudSearch (API version 2013-01-01) for local
//! runs and tests: no emulator has CloudSearch. It serves
//!
//! - the configuration API (query protocol: form-encoded `Action=...` in,
//!   XML out, `<ErrorResponse>` errors) in the shapes of the AWS API
//!   reference, state in memory per account (the access key of the SigV4
//!   credential), with the `Processing` and `RequiresIndexDocuments` states
//!   so that waits are exercised;
//! - each domain's document endpoint (`POST .../2013-01-01/documents/batch`)
//!   and search endpoint (`GET .../2013-01-01/search`), see `documents.rs`.
//!
//! A plain HTTP/1.1 server on a std `TcpListener`, one thread per
//! connection: no dependency beyond the standard library and serde_json.
//! Used by the `cloudsearch-standin` binary and, in process, by the tests.

#![allow(dead_code)] // not every user uses every helper

#[path = "documents.rs"]
mod documents;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

static DOMAIN_IDS: AtomicU64 = AtomicU64::new(0x5eed);

const XMLNS: &str = "http://cloudsearch.amazonaws.com/doc/2013-01-01/";

/// How the stand-in behaves.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `DescribeDomains` answers `Processing = true` this many times after
    /// each change (and `Created = false` that long after `CreateDomain`).
    pub processing_calls: u32,
    /// Refuse `CreateDomain` as AWS does for accounts closed to CloudSearch.
    pub refuse_create: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            processing_calls: 3,
            refuse_create: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Field {
    field_type: String,
    /// `TextOptions` → [(`ReturnEnabled`, `true`), ...], as sent.
    options: BTreeMap<String, Vec<(String, String)>>,
    pending_deletion: bool,
    version: u32,
}

#[derive(Debug, Clone, Default)]
struct Domain {
    id: String,
    /// Documents by id: the fields of their last `add`.
    documents: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    region: String,
    created: bool,
    processing_left: u32,
    requires_index: bool,
    fields: BTreeMap<String, Field>,
    expressions: BTreeMap<String, String>,
    access_policies: String,
    scaling: Vec<(String, String)>,
}

#[derive(Default)]
struct State {
    settings: Settings,
    /// `http://127.0.0.1:PORT`: the domains' endpoints are under it.
    base_url: String,
    domains: BTreeMap<(String, String), Domain>,
    /// (account, action) of every request, in order.
    calls: Vec<(String, String)>,
}

/// A running stand-in; it stops with the test process.
pub struct StandIn {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    pub fn start() -> StandIn {
        StandIn::start_with(Settings::default())
    }

    pub fn start_with(settings: Settings) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the CloudSearch stand-in");
        StandIn::serve_on(listener, settings).expect("the stand-in's address")
    }

    /// Serves on `listener` from background threads.
    pub fn serve_on(listener: TcpListener, settings: Settings) -> std::io::Result<StandIn> {
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State {
            settings,
            base_url: url.clone(),
            ..State::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, state));
            }
        });
        Ok(StandIn { url, state })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ids of the documents in `account`'s domain `name`.
    pub fn document_ids(&self, account: &str, name: &str) -> Vec<String> {
        let state = self.lock();
        state
            .domains
            .get(&(account.to_string(), name.to_string()))
            .map(|d| d.documents.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// How many times `account` called `action`.
    pub fn calls(&self, account: &str, action: &str) -> usize {
        let state = self.lock();
        state
            .calls
            .iter()
            .filter(|(a, x)| a == account && x == action)
            .count()
    }

    /// Every action `account` called, in order.
    pub fn actions(&self, account: &str) -> Vec<String> {
        let state = self.lock();
        state
            .calls
            .iter()
            .filter(|(a, _)| a == account)
            .map(|(_, x)| x.clone())
            .collect()
    }

    /// The names of `account`'s domains.
    pub fn domain_names(&self, account: &str) -> Vec<String> {
        let state = self.lock();
        state
            .domains
            .keys()
            .filter(|(a, _)| a == account)
            .map(|(_, d)| d.clone())
            .collect()
    }
}

// ------------------------------------------------------------------ HTTP ----

struct Request {
    method: String,
    /// The path, without the query string.
    path: String,
    query: String,
    authorization: String,
    /// The body as sent.
    body: String,
}

impl Request {
    /// The configuration API's parameters: the form body, and for a GET the
    /// query string.
    fn form(&self) -> String {
        let mut form = self.body.clone();
        if !self.query.is_empty() {
            if !form.is_empty() {
                form.push('&');
            }
            form.push_str(&self.query);
        }
        form
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut length = 0usize;
    let mut authorization = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => authorization = value.to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some(Request {
        method,
        path: path.to_string(),
        query: query.to_string(),
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let (status, content_type, body) = match documents::handle(&request, &state) {
            Some((status, body)) => (status, "application/json", body),
            None => {
                let (status, body) = handle(&request, &state);
                (status, "text/xml", body)
            }
        };
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            _ => "Error",
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: {}\r\n\r\n",
            body.len(),
            request_id()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

fn request_id() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The access key and region of `Credential=AKID/date/region/service/aws4_request`.
fn credential(authorization: &str) -> (String, String) {
    let scope = authorization
        .split("Credential=")
        .nth(1)
        .unwrap_or_default()
        .split([',', ' '])
        .next()
        .unwrap_or_default();
    let mut parts = scope.split('/');
    let account = parts.next().unwrap_or_default().to_string();
    let region = parts.nth(1).unwrap_or("us-east-1").to_string();
    (account, region)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn now() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "2024-01-01T00:00:00Z".into())
}

struct Failure {
    status: u16,
    code: &'static str,
    message: String,
}

fn fail(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

fn handle(request: &Request, state: &Mutex<State>) -> (u16, String) {
    let params = parse_form(&request.form());
    let action = params.get("Action").cloned().unwrap_or_default();
    let (account, region) = credential(&request.authorization);
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    state.calls.push((account.clone(), action.clone()));
    match dispatch(&mut state, &account, &region, &action, &params) {
        Ok(result) => (
            200,
            format!(
                "<{action}Response xmlns=\"{XMLNS}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
                request_id()
            ),
        ),
        Err(f) => (
            f.status,
            format!(
                "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                f.code,
                esc(&f.message),
                request_id()
            ),
        ),
    }
}

const FIELD_TYPES: &[(&str, &str)] = &[
    ("text", "TextOptions"),
    ("text-array", "TextArrayOptions"),
    ("literal", "LiteralOptions"),
    ("literal-array", "LiteralArrayOptions"),
    ("int", "IntOptions"),
    ("int-array", "IntArrayOptions"),
    ("double", "DoubleOptions"),
    ("double-array", "DoubleArrayOptions"),
    ("date", "DateOptions"),
    ("date-array", "DateArrayOptions"),
    ("latlon", "LatLonOptions"),
];

fn status_xml(state: &str, version: u32, pending_deletion: bool) -> String {
    let t = now();
    format!(
        "<Status><CreationDate>{t}</CreationDate><UpdateDate>{t}</UpdateDate><UpdateVersion>{version}</UpdateVersion><State>{state}</State><PendingDeletion>{pending_deletion}</PendingDeletion></Status>"
    )
}

fn option_state(d: &Domain) -> &'static str {
    if d.requires_index {
        "RequiresIndexDocuments"
    } else if d.processing_left > 0 {
        "Processing"
    } else {
        "Active"
    }
}

/// A domain's document or search endpoint: where AWS gives a host name
/// (`doc-<name>-<id>.<region>.cloudsearch.amazonaws.com`), the stand-in
/// gives a URL under its own address (`http://127.0.0.1:PORT/doc-<name>-<id>`).
fn endpoint(base_url: &str, service: &str, name: &str, d: &Domain) -> String {
    format!("{base_url}/{service}-{name}-{}", d.id)
}

fn domain_xml(base_url: &str, account: &str, name: &str, d: &Domain, deleted: bool) -> String {
    let endpoints = if d.created {
        format!(
            "<DocService><Endpoint>{}</Endpoint></DocService><SearchService><Endpoint>{}</Endpoint></SearchService>",
            endpoint(base_url, "doc", name, d),
            endpoint(base_url, "search", name, d),
        )
    } else {
        String::new()
    };
    let instance_type = d
        .scaling
        .iter()
        .find(|(k, _)| k == "DesiredInstanceType")
        .map(|(_, v)| v.as_str())
        .unwrap_or("search.small");
    format!(
        "<DomainId>{account}/{name}</DomainId><DomainName>{name}</DomainName><ARN>arn:aws:cloudsearch:{r}:{account}:domain/{name}</ARN><Created>{created}</Created><Deleted>{deleted}</Deleted>{endpoints}<RequiresIndexDocuments>{ri}</RequiresIndexDocuments><Processing>{p}</Processing><SearchInstanceType>{instance_type}</SearchInstanceType><SearchPartitionCount>1</SearchPartitionCount><SearchInstanceCount>1</SearchInstanceCount>",
        r = d.region,
        created = d.created,
        ri = d.requires_index,
        p = d.processing_left > 0,
    )
}

fn field_xml(name: &str, f: &Field, d: &Domain) -> String {
    let group = FIELD_TYPES
        .iter()
        .find(|(t, _)| *t == f.field_type)
        .map(|(_, g)| *g)
        .unwrap_or("TextOptions");
    let options: String = f
        .options
        .get(group)
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("<{k}>{}</{k}>", esc(v)))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "<Options><IndexFieldName>{name}</IndexFieldName><IndexFieldType>{}</IndexFieldType><{group}>{options}</{group}></Options>{}",
        f.field_type,
        status_xml(option_state(d), f.version, f.pending_deletion)
    )
}

/// `Prefix.member.1`, `Prefix.member.2`, ...
fn members(params: &BTreeMap<String, String>, prefix: &str) -> Vec<String> {
    (1..)
        .map_while(|i| params.get(&format!("{prefix}.member.{i}")).cloned())
        .collect()
}

fn dispatch(
    state: &mut State,
    account: &str,
    region: &str,
    action: &str,
    params: &BTreeMap<String, String>,
) -> Result<String, Failure> {
    if params.get("Version").map(String::as_str) != Some("2013-01-01") {
        return Err(fail(
            400,
            "InvalidParameterValue",
            "Version must be 2013-01-01",
        ));
    }
    let settings = state.settings;
    let base_url = state.base_url.clone();
    let name = params.get("DomainName").cloned().unwrap_or_default();
    let key = (account.to_string(), name.clone());
    match action {
        "CreateDomain" => {
            if settings.refuse_create {
                return Err(fail(
                    401,
                    "NotAuthorized",
                    "New domain creation not supported on this account. Please reach out to AWS Support for assistance.",
                ));
            }
            if !(3..=28).contains(&name.len())
                || !name.starts_with(|c: char| c.is_ascii_lowercase())
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(fail(
                    400,
                    "ValidationException",
                    format!("1 validation error detected: Value '{name}' at 'domainName' failed to satisfy constraint"),
                ));
            }
            // Creating an existing domain answers its status, as AWS does.
            let d = state.domains.entry(key).or_insert_with(|| Domain {
                id: format!("{:026x}", DOMAIN_IDS.fetch_add(1, Ordering::Relaxed)),
                region: region.to_string(),
                created: false,
                processing_left: settings.processing_calls,
                ..Domain::default()
            });
            if settings.processing_calls == 0 {
                d.created = true;
            }
            Ok(format!(
                "<DomainStatus>{}</DomainStatus>",
                domain_xml(&base_url, account, &name, d, false)
            ))
        }
        "DescribeDomains" => {
            let wanted = members(params, "DomainNames");
            let mut out = String::new();
            for ((a, n), d) in state.domains.iter_mut() {
                if a != account || (!wanted.is_empty() && !wanted.contains(n)) {
                    continue;
                }
                out.push_str(&format!(
                    "<member>{}</member>",
                    domain_xml(&base_url, a, n, d, false)
                ));
                if d.processing_left > 0 {
                    d.processing_left -= 1;
                    if d.processing_left == 0 {
                        d.created = true;
                    }
                }
            }
            Ok(format!("<DomainStatusList>{out}</DomainStatusList>"))
        }
        "ListDomainNames" => {
            let out: String = state
                .domains
                .keys()
                .filter(|(a, _)| a == account)
                .map(|(_, n)| format!("<entry><key>{n}</key><value>2013-01-01</value></entry>"))
                .collect();
            Ok(format!("<DomainNames>{out}</DomainNames>"))
        }
        "DeleteDomain" => match state.domains.remove(&key) {
            Some(d) => Ok(format!(
                "<DomainStatus>{}</DomainStatus>",
                domain_xml(&base_url, account, &name, &d, true)
            )),
            None => Ok(String::new()),
        },
        _ => index_options(state, &key, action, params, settings),
    }
}

/// The actions on a domain's index fields, expressions, access policies and
/// scaling (any other action is not one of CloudSearch's).
fn index_options(
    state: &mut State,
    key: &(String, String),
    action: &str,
    params: &BTreeMap<String, String>,
    settings: Settings,
) -> Result<String, Failure> {
    let name = &key.1;
    let missing = || fail(409, "ResourceNotFound", format!("Domain not found: {name}"));
    let key = key.clone();
    match action {
        "DefineIndexField" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            let field = params
                .get("IndexField.IndexFieldName")
                .cloned()
                .unwrap_or_default();
            let field_type = params
                .get("IndexField.IndexFieldType")
                .cloned()
                .unwrap_or_default();
            if !FIELD_TYPES.iter().any(|(t, _)| *t == field_type) {
                return Err(fail(
                    400,
                    "ValidationException",
                    format!("invalid IndexFieldType `{field_type}`"),
                ));
            }
            let mut options: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for (k, v) in params {
                if let Some(rest) = k.strip_prefix("IndexField.") {
                    if let Some((group, option)) = rest.split_once('.') {
                        options
                            .entry(group.to_string())
                            .or_default()
                            .push((option.to_string(), v.clone()));
                    }
                }
            }
            let version = d.fields.get(&field).map(|f| f.version + 1).unwrap_or(1);
            let f = Field {
                field_type,
                options,
                pending_deletion: false,
                version,
            };
            d.requires_index = true;
            d.fields.insert(field.clone(), f);
            let f = &d.fields[&field];
            Ok(format!(
                "<IndexField>{}</IndexField>",
                field_xml(&field, f, d)
            ))
        }
        "DeleteIndexField" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            let field = params.get("IndexFieldName").cloned().unwrap_or_default();
            let Some(f) = d.fields.get_mut(&field) else {
                return Err(fail(
                    409,
                    "ResourceNotFound",
                    format!("Index field not found: {field}"),
                ));
            };
            f.pending_deletion = true;
            d.requires_index = true;
            let f = d.fields[&field].clone();
            Ok(format!(
                "<IndexField>{}</IndexField>",
                field_xml(&field, &f, d)
            ))
        }
        "DescribeIndexFields" => {
            let d = state.domains.get(&key).ok_or_else(missing)?;
            let wanted = members(params, "FieldNames");
            let out: String = d
                .fields
                .iter()
                .filter(|(n, _)| wanted.is_empty() || wanted.contains(n))
                .map(|(n, f)| format!("<member>{}</member>", field_xml(n, f, d)))
                .collect();
            Ok(format!("<IndexFields>{out}</IndexFields>"))
        }
        "IndexDocuments" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            d.fields.retain(|_, f| !f.pending_deletion);
            d.requires_index = false;
            d.processing_left = settings.processing_calls;
            let out: String = d
                .fields
                .keys()
                .map(|n| format!("<member>{n}</member>"))
                .collect();
            Ok(format!("<FieldNames>{out}</FieldNames>"))
        }
        _ => other_options(state, &key, action, params, settings),
    }
}

/// A domain's expressions, access policies and scaling parameters.
fn other_options(
    state: &mut State,
    key: &(String, String),
    action: &str,
    params: &BTreeMap<String, String>,
    settings: Settings,
) -> Result<String, Failure> {
    let name = &key.1;
    let missing = || fail(409, "ResourceNotFound", format!("Domain not found: {name}"));
    let key = key.clone();
    match action {
        "DefineExpression" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            let x = params
                .get("Expression.ExpressionName")
                .cloned()
                .unwrap_or_default();
            let v = params
                .get("Expression.ExpressionValue")
                .cloned()
                .unwrap_or_default();
            d.expressions.insert(x.clone(), v.clone());
            Ok(format!(
                "<Expression><Options><ExpressionName>{x}</ExpressionName><ExpressionValue>{}</ExpressionValue></Options>{}</Expression>",
                esc(&v),
                status_xml(option_state(d), 1, false)
            ))
        }
        "DescribeExpressions" => {
            let d = state.domains.get(&key).ok_or_else(missing)?;
            let out: String = d
                .expressions
                .iter()
                .map(|(x, v)| {
                    format!(
                        "<member><Options><ExpressionName>{x}</ExpressionName><ExpressionValue>{}</ExpressionValue></Options>{}</member>",
                        esc(v),
                        status_xml("Active", 1, false)
                    )
                })
                .collect();
            Ok(format!("<Expressions>{out}</Expressions>"))
        }
        "UpdateServiceAccessPolicies" | "DescribeServiceAccessPolicies" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            if action == "UpdateServiceAccessPolicies" {
                let policy = params.get("AccessPolicies").cloned().unwrap_or_default();
                if serde_json::from_str::<serde_json::Value>(&policy).is_err() {
                    return Err(fail(
                        400,
                        "ValidationException",
                        "AccessPolicies is not a valid JSON policy document",
                    ));
                }
                d.access_policies = policy;
                d.processing_left = settings.processing_calls;
            }
            Ok(format!(
                "<AccessPolicies><Options>{}</Options>{}</AccessPolicies>",
                esc(&d.access_policies),
                status_xml(option_state(d), 1, false)
            ))
        }
        "UpdateScalingParameters" | "DescribeScalingParameters" => {
            let d = state.domains.get_mut(&key).ok_or_else(missing)?;
            if action == "UpdateScalingParameters" {
                d.scaling = params
                    .iter()
                    .filter_map(|(k, v)| {
                        k.strip_prefix("ScalingParameters.")
                            .map(|o| (o.to_string(), v.clone()))
                    })
                    .collect();
                d.processing_left = settings.processing_calls;
            }
            let options: String = d
                .scaling
                .iter()
                .map(|(k, v)| format!("<{k}>{}</{k}>", esc(v)))
                .collect();
            Ok(format!(
                "<ScalingParameters><Options>{options}</Options>{}</ScalingParameters>",
                status_xml(option_state(d), 1, false)
            ))
        }
        other => Err(fail(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}
