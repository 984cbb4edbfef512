//! `mobile-backend adopt`: scans one account and region for resources made
//! outside this tool (by the tutorials' click-paths) and writes a stack file
//! that takes them over without recreating anything: each resource gets
//! `adopt = "<id>"`, so the first `up` only adds the ownership tags.
//!
//! The kinds' `read` functions already normalise live state into the shape of
//! their desired attributes; this module maps that shape back to the stack
//! format (defaults left implicit) and puts references back where one
//! resource names another. What the format cannot express is collected as
//! notes, never dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use serde_json::Value;

use crate::aws::Aws;
use crate::resource::registry::{KindVisitor, ResourceKind};
use crate::resource::{self, Live, Outputs, Ownership, Target};
use crate::stack::{Address, Kind};

/// What to scan for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// Only resources whose names start with this.
    pub name_prefix: Option<String>,
    /// `kind.key=id`: resources named explicitly (names not unique, or
    /// outside the prefix).
    pub includes: Vec<String>,
    /// The stack's name; by default made from the prefix.
    pub stack_name: Option<String>,
}

/// One resource found, read as the tool reads its own.
#[derive(Debug, Clone)]
pub struct Found {
    pub address: Address,
    /// The AWS id `adopt = "..."` names.
    pub id: String,
    pub attributes: Value,
    pub outputs: Outputs,
    /// Parts read with the resource (an identity pool's role attachment).
    pub parts: BTreeMap<Address, (Value, Outputs)>,
    /// Files of its own, downloaded with it (a function's code), each
    /// relative to the resource's folder; the kind's `adopt_write` places them.
    pub files: Vec<File>,
}

/// A file to write, relative to the stack file's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// As the stack file names it (`../policies/x.json`).
    pub relative: String,
    pub contents: Contents,
}

/// What a written file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Contents {
    /// A document the stack names (a policy): never written over.
    Text(String),
    /// A file of a function's code, as its live package holds it: one that
    /// is there already with these very bytes is kept, so `adopt` can run
    /// again into the same folder; any other is never written over.
    Code { bytes: Vec<u8>, executable: bool },
}

impl File {
    /// The text of a document (empty for a code file).
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        match &self.contents {
            Contents::Text(text) => text,
            Contents::Code { .. } => "",
        }
    }

    /// The bytes to write.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.contents {
            Contents::Text(text) => text.as_bytes(),
            Contents::Code { bytes, .. } => bytes,
        }
    }
}

/// The stack file and its policy files.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub stack: String,
    pub files: Vec<File>,
    /// What the stack format cannot express (also at the top of the file).
    pub notes: Vec<String>,
}

/// Where the AWS ids come from, to recognise ARNs.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub partition: String,
    pub region: String,
    /// The directory of policy files, relative to the stack file's directory,
    /// with a trailing `/` (`../policies/`).
    pub policies_dir: String,
    /// The directory of functions' code folders, likewise (`../functions/`).
    pub functions_dir: String,
    /// The directory of API models (JSON Schema files), likewise (`../api/`).
    pub models_dir: String,
}

// ----------------------------------------------------------------- kinds ----

/// What adopt asks of a kind, through [`Kind::visit`]: the `adopt` hooks of
/// [`ResourceKind`].
impl Kind {
    fn adopt_references(self) -> &'static [&'static str] {
        struct References;
        impl KindVisitor for References {
            type Output = &'static [&'static str];
            fn visit<K: ResourceKind>(self) -> Self::Output {
                K::ADOPT_REFERENCES
            }
        }
        self.visit(References)
    }

    fn adopt_list_rank(self) -> u8 {
        struct Rank;
        impl KindVisitor for Rank {
            type Output = u8;
            fn visit<K: ResourceKind>(self) -> Self::Output {
                K::ADOPT_LIST_RANK
            }
        }
        self.visit(Rank)
    }

    fn adopt_list(self, aws: &Aws) -> BoxFuture<'_, Result<Vec<(String, String)>, String>> {
        struct List<'a>(&'a Aws);
        impl<'a> KindVisitor for List<'a> {
            type Output = BoxFuture<'a, Result<Vec<(String, String)>, String>>;
            fn visit<K: ResourceKind>(self) -> Self::Output {
                Box::pin(K::adopt_list(self.0))
            }
        }
        self.visit(List(aws))
    }

    fn adopt_parts<'a>(
        self,
        aws: &'a Aws,
        stack: &'a str,
        found: &'a mut Found,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        struct Parts<'a>(&'a Aws, &'a str, &'a mut Found);
        impl<'a> KindVisitor for Parts<'a> {
            type Output = BoxFuture<'a, Result<Vec<String>, String>>;
            fn visit<K: ResourceKind>(self) -> Self::Output {
                Box::pin(K::adopt_parts(self.0, self.1, self.2))
            }
        }
        self.visit(Parts(aws, stack, found))
    }

    fn adopt_write(self, writer: &mut Writer<'_>, found: &Found, section: &mut Section) {
        struct Write<'w, 'a>(&'w mut Writer<'a>, &'w Found, &'w mut Section);
        impl KindVisitor for Write<'_, '_> {
            type Output = ();
            fn visit<K: ResourceKind>(self) -> Self::Output {
                K::adopt_write(self.0, self.1, self.2)
            }
        }
        self.visit(Write(writer, found, section))
    }
}

// ------------------------------------------------------------------ keys ----

/// Whether `key` is a valid resource key (`[a-z][a-z0-9_-]{0,63}`).
pub(crate) fn is_key(key: &str) -> bool {
    key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A resource key made from a physical name: the stack's (or the scan's)
/// prefix stripped, `camelCase` and other characters turned into `_`.
pub(crate) fn key_from_name(name: &str, stack: &str, prefix: Option<&str>) -> String {
    let mut rest = name;
    let mut prefixes = vec![format!("{stack}-"), format!("{}_", stack.replace('-', "_"))];
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        prefixes.push(p.to_string());
    }
    for p in &prefixes {
        if let Some(r) = rest.strip_prefix(p.as_str()) {
            let r = r.trim_start_matches(['-', '_']);
            if !r.is_empty() {
                rest = r;
                break;
            }
        }
    }
    let mut key = String::new();
    let mut previous: Option<char> = None;
    for c in rest.chars() {
        let lower_before = previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
        if c.is_ascii_uppercase() && lower_before {
            key.push('_');
        }
        key.push(match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        });
        previous = Some(c);
    }
    let key = key.trim_matches(['_', '-']).to_string();
    let mut key = if key.starts_with(|c: char| c.is_ascii_lowercase()) {
        key
    } else {
        format!("r{key}")
    };
    key.truncate(64);
    key
}

/// A stack name made from a prefix (`AmazonSwiftStarter-` → `amazon-swift-starter`).
pub(crate) fn stack_name_from(prefix: &str) -> Option<String> {
    if !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let key = key_from_name(prefix, "", None).replace('_', "-");
    let mut name = String::new();
    for c in key.chars() {
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let mut name = name.trim_matches('-').to_string();
    name.truncate(40);
    let name = name.trim_end_matches('-').to_string();
    crate::templates::is_stack_name(&name).then_some(name)
}

// -------------------------------------------------------------- references ----

/// Literal values (ARNs, ids) of the found resources, and the reference that
/// stands for each: `${table.notes.arn}`, `${identity_pool.app.id}`, ...
pub(crate) fn references(found: &[Found]) -> Vec<(String, String)> {
    let mut refs = Vec::new();
    for f in found {
        for attribute in f.address.kind.adopt_references() {
            if let Some(value) = f.outputs.get(*attribute).filter(|v| !v.is_empty()) {
                refs.push((value.clone(), format!("${{{}.{attribute}}}", f.address)));
            }
        }
    }
    // Longest first, so an ARN wins over an id inside it.
    refs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.cmp(b)));
    refs
}

/// Replaces every literal of `refs` in `s` that is not part of a longer name.
pub(crate) fn with_references(s: &str, refs: &[(String, String)]) -> String {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < s.len() {
        for (literal, reference) in refs {
            if s[i..].starts_with(literal.as_str()) {
                let end = i + literal.len();
                let before_ok = s[..i].chars().next_back().is_none_or(|c| !name_char(c));
                let after_ok = s[end..].chars().next().is_none_or(|c| !name_char(c));
                if before_ok && after_ok {
                    out.push_str(reference);
                    i = end;
                    continue 'outer;
                }
            }
        }
        let c = s[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

/// Every string of a JSON document with references put back.
pub(crate) fn document_with_references(v: &Value, refs: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(with_references(s, refs)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| document_with_references(i, refs))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (with_references(k, refs), document_with_references(v, refs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether a JSON document holds `${name}` without a `:` (a stack reference
/// to something unknown), which the loader would refuse.
fn holds_bare_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => s
            .match_indices("${")
            .any(|(i, _)| s[i..].split('}').next().is_some_and(|r| !r.contains(':'))),
        Value::Array(items) => items.iter().any(holds_bare_placeholder),
        Value::Object(o) => o.iter().any(|(k, v)| {
            holds_bare_placeholder(&Value::String(k.clone())) || holds_bare_placeholder(v)
        }),
        _ => false,
    }
}

// ------------------------------------------------------------ TOML output ----

/// `key` as a TOML key: bare when it can be.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    }
}

/// A JSON value as TOML (`null`s dropped).
pub(crate) fn toml_value(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(items.iter().filter_map(toml_value).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), toml_value(v)?)))
                .collect(),
        ),
    })
}

/// One `[kind.key]` table being written, keys in the order they are set.
#[derive(Debug, Default)]
pub struct Section {
    entries: Vec<(String, toml::Value)>,
}

impl Section {
    pub(crate) fn set(&mut self, key: &str, value: toml::Value) {
        self.entries.push((toml_key(key), value));
    }
    /// Sets a dotted key (`clients.ios`, `attributes."custom:team"`).
    pub(crate) fn set_dotted(&mut self, path: &[&str], value: toml::Value) {
        let key: Vec<String> = path.iter().map(|k| toml_key(k)).collect();
        self.entries.push((key.join("."), value));
    }
    pub(crate) fn string(&mut self, key: &str, value: &str) {
        self.set(key, toml::Value::String(value.to_string()));
    }
    /// Sets `key` from a JSON attribute unless it is absent, null, empty or `default`.
    pub(crate) fn json(&mut self, key: &str, value: Option<&Value>, default: Option<Value>) {
        let Some(v) = value else { return };
        let empty = match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty || default.as_ref() == Some(v) {
            return;
        }
        if let Some(t) = toml_value(v) {
            self.set(key, t);
        }
    }
    fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.entries {
            out.push_str(&format!("{k} = {}\n", inline(v)));
        }
        out
    }
}

/// A TOML value on one line (tables inline).
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            if t.is_empty() {
                return "{}".into();
            }
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// User tags (the ownership tags are the tool's own).
fn user_tags(attributes: &Value) -> Value {
    let mut tags = attributes.get("tags").cloned().unwrap_or(Value::Null);
    if let Value::Object(o) = &mut tags {
        o.retain(|k, _| !k.starts_with(resource::OWNER_TAG_PREFIX));
    }
    tags
}

// ---------------------------------------------------------- reverse mapping ----

/// What writes the found resources: the references, the policy files and
/// the notes gathered so far. Each kind's `adopt_write` writes through it.
pub struct Writer<'a> {
    stack: &'a str,
    found: &'a [Found],
    refs: Vec<(String, String)>,
    ctx: &'a Context,
    files: Vec<File>,
    notes: Vec<String>,
}

impl<'a> Writer<'a> {
    /// Every resource found.
    pub(crate) fn found(&self) -> &'a [Found] {
        self.found
    }

    pub(crate) fn ctx(&self) -> &'a Context {
        self.ctx
    }

    /// Adds a file to write (a function's code), relative to the stack
    /// file's directory.
    pub(crate) fn add_file(&mut self, file: File) {
        self.files.push(file);
    }

    /// Notes what the stack format cannot say about the resource at `address`.
    pub(crate) fn note(&mut self, address: &Address, what: String) {
        self.notes.push(format!("{address}: {what}"));
    }

    fn name(&self, section: &mut Section, address: &Address, name: &str) {
        if address.kind.default_name(self.stack, &address.key) != name {
            section.string("name", name);
        }
    }

    /// The found resource's `[kind.key]` table: its `adopt` id and name, what
    /// its kind writes, and its user tags.
    fn section(&mut self, f: &Found) -> Section {
        let a = &f.attributes;
        let mut s = Section::default();
        s.string("adopt", &f.id);
        self.name(&mut s, &f.address, a["name"].as_str().unwrap_or_default());
        f.address.kind.adopt_write(self, f, &mut s);
        s.json("tags", Some(&user_tags(a)), None);
        s
    }

    /// The key of the found resource of `kind` whose output `attribute` is `value`.
    pub(crate) fn key_of(&self, kind: Kind, attribute: &str, value: &str) -> Option<String> {
        self.found
            .iter()
            .find(|f| {
                f.address.kind == kind
                    && f.outputs.get(attribute).map(String::as_str) == Some(value)
            })
            .map(|f| f.address.key.clone())
    }

    /// Writes an API's model (a JSON Schema) as a file, `<models_dir><name>.json`
    /// (in a directory per API when another API has a model of that name);
    /// returns its path as the stack names it.
    pub(crate) fn model_file(&mut self, address: &Address, name: &str, doc: &Value) -> String {
        let taken = |files: &[File], relative: &str| files.iter().any(|f| f.relative == relative);
        let mut relative = format!("{}{name}.json", self.ctx.models_dir);
        if taken(&self.files, &relative) {
            relative = format!("{}{}/{name}.json", self.ctx.models_dir, address.key);
        }
        let text = serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string()) + "\n";
        self.files.push(File {
            relative: relative.clone(),
            contents: Contents::Text(text),
        });
        relative
    }

    /// Writes a policy document as a file; returns its path as the stack names it.
    pub(crate) fn policy_file(&mut self, address: &Address, stem: &str, doc: &Value) -> String {
        if holds_bare_placeholder(doc) {
            self.note(
                address,
                format!("policy `{stem}` holds a `${{...}}` without `:`, which the stack format reads as a reference; check the file"),
            );
        }
        let doc = document_with_references(doc, &self.refs);
        let taken = |files: &[File], relative: &str| files.iter().any(|f| f.relative == relative);
        let mut relative = format!("{}{stem}.json", self.ctx.policies_dir);
        if taken(&self.files, &relative) {
            relative = format!("{}{}/{stem}.json", self.ctx.policies_dir, address.key);
        }
        let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string()) + "\n";
        self.files.push(File {
            relative: relative.clone(),
            contents: Contents::Text(text),
        });
        relative
    }
}

/// The stack file (and its policy files) that adopts `found`. Pure: the
/// reads are done before.
pub(crate) fn render(
    stack: &str,
    found: &[Found],
    ctx: &Context,
    mut notes: Vec<String>,
) -> Rendered {
    let mut w = Writer {
        stack,
        found,
        refs: references(found),
        ctx,
        files: Vec::new(),
        notes: Vec::new(),
    };
    let mut body = String::new();
    for &kind in Kind::ALL {
        for f in found.iter().filter(|f| f.address.kind == kind) {
            let section = w.section(f);
            body.push_str(&format!(
                "\n# {} `{}`, made outside mobile-backend; `up` adopts it (adds the ownership tags)\n[{}]\n",
                kind.service_noun(),
                f.id,
                f.address
            ));
            body.push_str(&section.render());
        }
    }
    notes.append(&mut w.notes);
    let mut text = String::from("# Written by `mobile-backend adopt` from live AWS state.\n# Check it, then `mobile-backend up` adds the ownership tags; nothing is recreated.\n");
    if notes.is_empty() {
        text.push_str("# Everything found could be expressed in the stack format.\n");
    } else {
        text.push_str("#\n# Not expressed in this file (the stack format cannot say it):\n");
        for n in &notes {
            text.push_str(&format!("#   - {n}\n"));
        }
    }
    text.push_str(&format!(
        "\n[stack]\nname = \"{stack}\"\nregion = \"{}\"\n",
        ctx.region
    ));
    text.push_str(&body);
    Rendered {
        stack: text,
        files: w.files,
        notes,
    }
}

// ------------------------------------------------------------------ scan ----

/// A resource listed by its service: kind, AWS id, physical name.
#[derive(Debug, Clone)]
struct Listed {
    kind: Kind,
    id: String,
    name: String,
}

/// Every kind's resources, listed at once.
async fn list_all(aws: &Aws) -> Result<Vec<Listed>, String> {
    let mut kinds = Kind::ALL.to_vec();
    kinds.sort_by_key(|k| k.adopt_list_rank());
    let lists = futures::future::join_all(kinds.iter().map(|k| k.adopt_list(aws))).await;
    let mut out = Vec::new();
    for (&kind, list) in kinds.iter().zip(lists) {
        out.extend(
            list?
                .into_iter()
                .map(|(id, name)| Listed { kind, id, name }),
        );
    }
    Ok(out)
}

/// Resources listed by name only, as (id, name): their names are their ids.
pub(crate) fn named(names: Vec<String>) -> Vec<(String, String)> {
    names.into_iter().map(|n| (n.clone(), n)).collect()
}

/// Parses `--include kind.key=id`.
fn parse_include(s: &str) -> Result<(Address, String), String> {
    let (address, id) = s.split_once('=').ok_or_else(|| {
        format!("--include `{s}`: write it `kind.key=id`, like `user_pool.users=us-east-1_AbC123`")
    })?;
    let address: Address = address
        .parse()
        .map_err(|e| format!("--include `{s}`: {e}"))?;
    if address.part.is_some() || !is_key(&address.key) {
        return Err(format!(
            "--include `{s}`: `{address}` is not a resource address `kind.key` with a valid key ([a-z][a-z0-9_-]*)"
        ));
    }
    if id.trim().is_empty() {
        return Err(format!("--include `{s}`: the id is empty"));
    }
    Ok((address, id.trim().to_string()))
}

/// Asks which of several same-named resources to adopt, on a terminal;
/// without one, an error naming them.
fn choose(kind: Kind, name: &str, candidates: &[Listed]) -> Result<Option<Listed>, String> {
    let ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(format!(
            "{} {}s are named `{name}` ({}); adopt cannot guess which one the app uses. Name it with `--include {}.<key>=<id>` (and narrow --name-prefix to leave the others out)",
            candidates.len(),
            kind.service_noun(),
            ids.join(", "),
            kind
        ));
    }
    eprintln!(
        "{} {}s are named `{name}`:",
        candidates.len(),
        kind.service_noun()
    );
    for (i, id) in ids.iter().enumerate() {
        eprintln!("  {}) {id}", i + 1);
    }
    eprint!("which one to adopt (number, or empty for none)? ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(None);
    }
    match answer.parse::<usize>() {
        Ok(n) if (1..=candidates.len()).contains(&n) => Ok(Some(candidates[n - 1].clone())),
        _ => Err(format!(
            "`{answer}` is not one of 1 to {}",
            candidates.len()
        )),
    }
}

/// What the scan found, ready for [`render`], and what it left out.
pub(crate) struct Scan {
    pub stack: String,
    pub found: Vec<Found>,
    /// Resources left out, and why (also written at the top of the file).
    pub notes: Vec<String>,
}

/// Lists, filters and reads every resource to adopt.
pub(crate) async fn scan(aws: &Aws, request: &Request) -> Result<Scan, String> {
    let prefix = request.name_prefix.clone().unwrap_or_default();
    let stack = stack_name(request)?;
    let includes = request
        .includes
        .iter()
        .map(|s| parse_include(s))
        .collect::<Result<Vec<_>, _>>()?;

    let listed = list_all(aws).await?;
    let mut chosen = included(&listed, &includes)?;
    by_prefix(&listed, &stack, &prefix, &mut chosen)?;
    let mut notes = Vec::new();
    let mut found = read_chosen(aws, &stack, &chosen, &mut notes).await?;
    read_parts(aws, &stack, &mut found, &mut notes).await?;
    Ok(Scan {
        stack,
        found,
        notes,
    })
}

/// The stack's name: `--stack-name`, else made from `--name-prefix`.
fn stack_name(request: &Request) -> Result<String, String> {
    Ok(match (&request.stack_name, request.name_prefix.as_deref()) {
        (Some(name), _) if crate::templates::is_stack_name(name) => name.clone(),
        (Some(name), _) => {
            return Err(format!(
                "--stack-name `{name}` is not a valid stack name: 1 to 40 characters of a-z, 0-9 and `-`, starting with a letter"
            ))
        }
        (None, Some(p)) => stack_name_from(p).ok_or_else(|| {
            format!("no stack name can be made from --name-prefix `{p}`; pass --stack-name")
        })?,
        (None, None) => return Err("pass --stack-name NAME (or --name-prefix, which it is made from)".into()),
    })
}

/// The resources `--include` names, each found among the listed.
fn included(
    listed: &[Listed],
    includes: &[(Address, String)],
) -> Result<Vec<(Address, Listed)>, String> {
    let mut chosen = Vec::new();
    for (address, id) in includes {
        let Some(l) = listed.iter().find(|l| {
            l.kind == address.kind && (&l.id == id || (l.kind.adopts_by_name() && &l.name == id))
        }) else {
            return Err(format!(
                "--include {address}={id}: no {} with the id `{id}` exists in this account and region",
                address.kind.service_noun()
            ));
        };
        chosen.push((address.clone(), l.clone()));
    }
    Ok(chosen)
}

/// Adds to `chosen` the listed resources whose names start with `prefix`,
/// each under a key made from its name (one of several same-named ones
/// chosen by [`choose`]).
fn by_prefix(
    listed: &[Listed],
    stack: &str,
    prefix: &str,
    chosen: &mut Vec<(Address, Listed)>,
) -> Result<(), String> {
    // Every kind, names grouped (names of some kinds are not unique).
    let mut by_name: BTreeMap<(Kind, String), Vec<Listed>> = BTreeMap::new();
    for l in listed.iter().filter(|l| l.name.starts_with(prefix)) {
        if chosen.iter().any(|(_, c)| c.kind == l.kind && c.id == l.id) {
            continue;
        }
        by_name
            .entry((l.kind, l.name.clone()))
            .or_default()
            .push(l.clone());
    }
    let mut keys: BTreeSet<(Kind, String)> = chosen
        .iter()
        .map(|(a, _)| (a.kind, a.key.clone()))
        .collect();
    for ((kind, name), candidates) in by_name {
        // An included resource of this name settles the question.
        if chosen.iter().any(|(a, c)| a.kind == kind && c.name == name) {
            continue;
        }
        let pick = if candidates.len() == 1 {
            candidates.into_iter().next()
        } else {
            choose(kind, &name, &candidates)?
        };
        let Some(pick) = pick else { continue };
        let base = key_from_name(&pick.name, stack, Some(prefix));
        let mut key = base.clone();
        let mut n = 2;
        while keys.contains(&(kind, key.clone())) {
            key = format!("{base}_{n}");
            n += 1;
        }
        keys.insert((kind, key.clone()));
        chosen.push((Address::new(kind, key), pick));
    }
    Ok(())
}

/// Reads each chosen resource as the tool reads its own; the ones another
/// stack owns are left out with a note.
async fn read_chosen(
    aws: &Aws,
    stack: &str,
    chosen: &[(Address, Listed)],
    notes: &mut Vec<String>,
) -> Result<Vec<Found>, String> {
    let reads = futures::future::join_all(chosen.iter().map(|(address, l)| async move {
        let target = Target {
            stack,
            address,
            name: &l.name,
            parent: None,
            spec: None,
            adopt: Some(&l.id),
            dir: None,
            plan: None,
        };
        (address, l, resource::read(aws, &target).await)
    }))
    .await;
    let mut found = Vec::new();
    for (address, l, read) in reads {
        let live: Live = match read {
            Ok(Some(live)) => live,
            Ok(None) => continue,
            Err(e) => return Err(format!("{address} (`{}`): {e}", l.id)),
        };
        match &live.ownership {
            Ownership::Adopting { .. } => {}
            Ownership::Ours => notes.push(format!(
                "{address} (`{}`): already owned by stack `{stack}`; written without change",
                l.id
            )),
            Ownership::NotOurs { why } => {
                notes.push(format!(
                    "{} `{}` left out: {why}",
                    l.kind.service_noun(),
                    l.id
                ));
                continue;
            }
        }
        found.push(Found {
            address: address.clone(),
            id: l.id.clone(),
            attributes: live.attributes,
            outputs: live.outputs,
            parts: BTreeMap::new(),
            files: Vec::new(),
        });
    }
    Ok(found)
}

/// Reads the part at `address` of the found resource `f` (named `name`)
/// into `f.parts`; an error names the part and `shown`.
pub(crate) async fn read_part(
    aws: &Aws,
    stack: &str,
    f: &mut Found,
    address: Address,
    name: &str,
    shown: &str,
) -> Result<(), String> {
    let target = Target {
        stack,
        address: &address,
        name,
        parent: Some(&f.outputs),
        spec: None,
        adopt: None,
        dir: None,
        plan: None,
    };
    match resource::read(aws, &target).await {
        Ok(Some(live)) => {
            f.parts.insert(address, (live.attributes, live.outputs));
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(format!("{address} (`{shown}`): {e}")),
    }
}

/// Reads the found resources' parts, kind by kind; notes what the stack
/// format cannot say.
async fn read_parts(
    aws: &Aws,
    stack: &str,
    found: &mut [Found],
    notes: &mut Vec<String>,
) -> Result<(), String> {
    for &kind in Kind::ALL {
        for f in found.iter_mut().filter(|f| f.address.kind == kind) {
            notes.extend(kind.adopt_parts(aws, stack, f).await?);
        }
    }
    Ok(())
}

/// Where policy files go: `policies/` next to the stack file's directory when
/// that is `stacks/` (the repository layout), else inside it.
pub(crate) fn policies_dir(stack_file: &Path) -> (PathBuf, String) {
    beside(stack_file, "policies")
}

/// Where API models go: `api/`, placed as `policies/` is.
pub(crate) fn models_dir(stack_file: &Path) -> (PathBuf, String) {
    beside(stack_file, "api")
}

/// Where functions' code folders go: `functions/`, placed as `policies/` is.
pub(crate) fn functions_dir(stack_file: &Path) -> (PathBuf, String) {
    beside(stack_file, "functions")
}

/// The directory `name` next to the stack file's directory when that is
/// `stacks/`, else inside it; and how the stack file names it.
fn beside(stack_file: &Path, name: &str) -> (PathBuf, String) {
    let dir = stack_file.parent().unwrap_or(Path::new(""));
    if dir.file_name().is_some_and(|n| n == "stacks") {
        let base = dir.parent().unwrap_or(Path::new(""));
        (base.join(name), format!("../{name}/"))
    } else {
        (dir.join(name), format!("{name}/"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn ctx() -> Context {
        Context {
            partition: "aws".into(),
            region: "us-east-1".into(),
            policies_dir: "../policies/".into(),
            functions_dir: "../functions/".into(),
            models_dir: "../api/".into(),
        }
    }

    pub(crate) fn found(
        address: &str,
        id: &str,
        attributes: Value,
        outputs: &[(&str, &str)],
    ) -> Found {
        Found {
            address: address.parse().expect("address"),
            id: id.into(),
            attributes,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            parts: BTreeMap::new(),
            files: Vec::new(),
        }
    }

    pub(crate) const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:111122223333:table/Notes";

    pub(crate) fn table() -> Found {
        found(
            "table.notes",
            "Notes",
            json!({
                "name": "Notes", "hash_key": {"name": "userId", "type": "S"},
                "range_key": {"name": "noteId", "type": "S"}, "billing": "pay_per_request",
                "read_capacity": null, "write_capacity": null, "stream": "new_image",
                "global_secondary_indexes": {"by_date": {"hash_key": {"name": "userId", "type": "S"},
                    "range_key": null, "projection": "all", "read_capacity": null, "write_capacity": null}},
                "ttl_attribute": null, "deletion_protection": false,
                "tags": {"team": "mobile"}
            }),
            &[("arn", TABLE_ARN), ("name", "Notes")],
        )
    }

    #[test]
    fn keys_come_from_names_without_the_stack_prefix() {
        assert_eq!(
            key_from_name("photo-notes-uploads", "photo-notes", None),
            "uploads"
        );
        assert_eq!(key_from_name("photo_notes_app", "photo-notes", None), "app");
        assert_eq!(
            key_from_name("SwiftStarterUsers", "x", Some("SwiftStarter")),
            "users"
        );
        assert_eq!(
            key_from_name("SwiftStarter", "x", Some("SwiftStarter")),
            "swift_starter"
        );
        assert_eq!(
            key_from_name("Cognito_SwiftStarterUnauth_Role", "x", None),
            "cognito_swift_starter_unauth_role"
        );
        assert_eq!(key_from_name("2024 data!", "x", None), "r2024_data");
        for name in ["a", "A-B.C", "9", "___", "x".repeat(200).as_str()] {
            assert!(is_key(&key_from_name(name, "s", None)), "{name}");
        }
        assert_eq!(
            stack_name_from("AmazonSwiftStarter-").as_deref(),
            Some("amazon-swift-starter")
        );
        assert_eq!(stack_name_from("___"), None);
    }

    #[test]
    fn literals_become_references_only_as_whole_names() {
        let refs = vec![
            (
                "arn:aws:s3:::photos".to_string(),
                "${bucket.photos.arn}".to_string(),
            ),
            (TABLE_ARN.to_string(), "${table.notes.arn}".to_string()),
        ];
        let refs = {
            let mut r = refs;
            r.sort_by_key(|b| std::cmp::Reverse(b.0.len()));
            r
        };
        assert_eq!(
            with_references("arn:aws:s3:::photos/private/*", &refs),
            "${bucket.photos.arn}/private/*"
        );
        assert_eq!(
            with_references("arn:aws:s3:::photos", &refs),
            "${bucket.photos.arn}"
        );
        // A longer bucket name is another bucket.
        assert_eq!(
            with_references("arn:aws:s3:::photos2/*", &refs),
            "arn:aws:s3:::photos2/*"
        );
        assert_eq!(
            with_references(&format!("{TABLE_ARN}/index/*"), &refs),
            "${table.notes.arn}/index/*"
        );
        assert_eq!(
            with_references(&format!("{TABLE_ARN}-old"), &refs),
            format!("{TABLE_ARN}-old")
        );
        // Non-ASCII text passes through.
        assert_eq!(
            with_references("ü → arn:aws:s3:::photos", &refs),
            "ü → ${bucket.photos.arn}"
        );
    }

    #[test]
    fn a_table_is_written_with_only_what_differs_from_the_defaults() {
        let r = render("app", &[table()], &ctx(), vec![]);
        let text = &r.stack;
        assert!(
            text.contains("[table.notes]\nadopt = \"Notes\"\nname = \"Notes\"\n"),
            "{text}"
        );
        assert!(
            text.contains("hash_key = { name = \"userId\", type = \"S\" }"),
            "{text}"
        );
        assert!(text.contains("stream = \"new_image\""), "{text}");
        assert!(text.contains("global_secondary_indexes = { by_date = { hash_key = { name = \"userId\", type = \"S\" } } }"), "{text}");
        assert!(text.contains("tags = { team = \"mobile\" }"), "{text}");
        for default in [
            "billing",
            "deletion_protection",
            "ttl_attribute",
            "read_capacity",
            "projection",
        ] {
            assert!(!text.contains(default), "{default} in {text}");
        }
        assert!(
            text.contains("Everything found could be expressed"),
            "{text}"
        );
        // The file parses and declares what was found.
        let parsed: toml::Table = text.parse().expect("TOML");
        assert_eq!(parsed["table"]["notes"]["adopt"].as_str(), Some("Notes"));
    }

    #[test]
    fn a_default_name_is_left_implicit() {
        let mut t = table();
        t.attributes["name"] = json!("app-notes");
        let r = render("app", &[t], &ctx(), vec![]);
        assert!(!r.stack.contains("name = \"app-notes\""), "{}", r.stack);
    }

    #[test]
    fn what_cannot_be_expressed_is_listed_at_the_top() {
        let bucket = found(
            "bucket.files",
            "files",
            json!({"name": "files", "versioning": true, "cors": [],
                "block_public_access": {"block_public_acls": true, "ignore_public_acls": false,
                    "block_public_policy": true, "restrict_public_buckets": true},
                "encryption": "aes256", "kms_key_id": null,
                "tags": {"mobile-backend:other": "x", "team": "a"}}),
            &[("arn", "arn:aws:s3:::files")],
        );
        let pool = found(
            "identity_pool.app",
            "us-east-1:1",
            json!({"name": "App", "allow_unauthenticated": false, "allow_classic_flow": false,
                "cognito_identity_providers": [{"provider_name": "cognito-idp.us-east-1.amazonaws.com/us-east-1_X",
                    "client_id": "abc", "server_side_token_check": true}],
                "supported_login_providers": {}, "open_id_connect_provider_arns": [], "saml_provider_arns": [], "tags": {}}),
            &[("id", "us-east-1:1")],
        );
        let r = render(
            "app",
            &[bucket, pool],
            &ctx(),
            vec!["REST API `x` left out".into()],
        );
        let header: String = r
            .stack
            .lines()
            .take_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(header.contains("REST API `x` left out"), "{header}");
        assert!(
            header.contains("bucket.files: its public-access blocks are mixed"),
            "{header}"
        );
        assert!(
            header.contains(
                "identity_pool.app: its provider `cognito-idp.us-east-1.amazonaws.com/us-east-1_X`"
            ),
            "{header}"
        );
        assert!(header.contains("server-side token check"), "{header}");
        assert_eq!(r.notes.len(), 4, "{:?}", r.notes);
        assert!(r.stack.contains("versioning = true"), "{}", r.stack);
        // The tool's own tags are never written as user tags.
        assert!(r.stack.contains("tags = { team = \"a\" }"), "{}", r.stack);
    }

    #[test]
    fn includes_are_kind_key_and_id() {
        let (a, id) = parse_include("user_pool.users=us-east-1_AbC").expect("include");
        assert_eq!(a.to_string(), "user_pool.users");
        assert_eq!(id, "us-east-1_AbC");
        assert!(parse_include("user_pool.users").is_err());
        assert!(parse_include("pool.users=x").is_err());
        assert!(parse_include("table.Users=x").is_err());
        assert!(parse_include("table.users=").is_err());
    }

    #[test]
    fn policy_files_named_alike_go_to_a_directory_per_role() {
        let role = |key: &str| {
            found(
                &format!("role.{key}"),
                key,
                json!({"name": key, "trust_policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                    "inline_policies": {"default": {"Version": "2012-10-17", "Statement": []}},
                    "managed_policies": [], "max_session_duration": 3600, "description": null, "tags": {}}),
                &[],
            )
        };
        let r = render("app", &[role("a"), role("b")], &ctx(), vec![]);
        let paths: Vec<&str> = r.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(
            paths,
            vec!["../policies/default.json", "../policies/b/default.json"]
        );
        // Both keep the stem, which is the inline policy's name.
        assert!(paths.iter().all(|p| p.ends_with("/default.json")));
    }
}
