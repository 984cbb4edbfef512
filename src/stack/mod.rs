//! The stack file: TOML → validated [`Stack`]. Three separate steps, as in
//! ripgrep's low/high args: the schema (`schema`, what the user typed), the
//! checks done here (all errors at once, each with file and line), and later the
//! resolution of `${...}` references against live state (`resolve_spec`).

pub mod check;
pub mod diagnostic;
pub mod names;
pub mod reference;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

pub use check::{Checks, Finding};
pub use diagnostic::{Diagnostic, Diagnostics};
use reference::{Declared, Piece, Reference};
pub use schema::Tags;
use schema::*;

use crate::resource::registry::{self, PartName, ResourceKind, SpecVisitor};
pub use crate::resource::registry::{Kind, Part, Spec};

/// `kind.key` (or `kind.key.part`), the stable identity of a resource
/// within a stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    pub key: String,
    pub part: Option<Part>,
}

impl Address {
    pub fn new(kind: Kind, key: impl Into<String>) -> Self {
        Address {
            kind,
            key: key.into(),
            part: None,
        }
    }

    pub fn with_part(&self, part: Part) -> Self {
        Address {
            kind: self.kind,
            key: self.key.clone(),
            part: Some(part),
        }
    }

    /// The declared resource this address belongs to (itself when it has no part).
    pub fn resource(&self) -> Address {
        Address::new(self.kind, self.key.clone())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.key)?;
        if let Some(part) = &self.part {
            write!(f, ".{}", part.name())?;
            if let Some(key) = part.key() {
                write!(f, ".{key}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut pieces = s.splitn(4, '.');
        let (Some(kind), Some(key)) = (pieces.next(), pieces.next()) else {
            return Err(format!("`{s}` is not a resource address (kind.key)"));
        };
        let kind = Kind::from_name(kind).ok_or_else(|| format!("unknown kind `{kind}`"))?;
        let address = Address::new(kind, key);
        let part = match (pieces.next(), pieces.next()) {
            (None, _) => return Ok(address),
            (Some(table), Some(name)) => kind.keyed_part(table, name),
            (Some(table), None) => kind.fixed_parts().into_iter().find(|p| p.name() == table),
        };
        match part {
            Some(part) => Ok(address.with_part(part)),
            None => Err(format!("`{s}` is not a resource address")),
        }
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One `[kind.key]` table of the stack file.
#[derive(Debug, Clone)]
pub struct ResourceDecl {
    pub address: Address,
    /// Where `[kind.key]` is written.
    pub span: Range<usize>,
    /// The table as written (references unresolved), for resolution at plan time.
    pub raw: toml::Value,
    pub spec: Spec,
    /// Resources this one needs to exist first (references and named links).
    pub depends_on: BTreeSet<Address>,
}

/// A validated stack file.
#[derive(Debug, Clone)]
pub struct Stack {
    pub file: PathBuf,
    /// The stack's name as AWS sees it (physical names, the ownership tag,
    /// the lock, saved plans): `[stack] name`, or `<name>-<stage>` with a stage.
    pub name: String,
    /// The stage given with `--stage` (`$MOBILE_BACKEND_STAGE`), if any.
    pub stage: Option<String>,
    /// `[stack] name` as written: the name shared by every stage.
    pub base_name: String,
    /// The stages `[stages]` declares, with the region each uses (its own,
    /// else `[stack] region`), if the file names one.
    pub declared_stages: BTreeMap<String, Option<String>>,
    /// `${var.<name>}` values: `[vars]` defaults with the stage's overrides.
    pub vars: BTreeMap<String, String>,
    pub region: Option<String>,
    pub tags: Tags,
    pub resources: BTreeMap<Address, ResourceDecl>,
    /// Every step to plan and apply (resources and their parts), with what
    /// each one needs to exist first.
    pub steps: BTreeMap<Address, BTreeSet<Address>>,
    /// Sources of the stack file and policy files, for locations in messages.
    pub sources: Diagnostics,
}

/// What references may name: the declared resources and `[vars]`.
struct Names<'a> {
    resources: &'a BTreeMap<Address, ResourceDecl>,
    vars: &'a BTreeMap<String, String>,
}

impl Declared for Names<'_> {
    fn has(&self, address: &Address) -> bool {
        self.resources.has(address)
    }
    fn keys_of(&self, kind: Kind) -> Vec<String> {
        self.resources.keys_of(kind)
    }
    fn var_names(&self) -> Vec<String> {
        self.vars.keys().cloned().collect()
    }
}

impl Declared for BTreeMap<Address, ResourceDecl> {
    fn has(&self, address: &Address) -> bool {
        self.contains_key(address)
    }
    fn keys_of(&self, kind: Kind) -> Vec<String> {
        self.keys()
            .filter(|a| a.kind == kind)
            .map(|a| a.key.clone())
            .collect()
    }
}

/// Values that references resolve to.
pub trait Lookup {
    /// `None` when the value is not known yet (the resource is to be created).
    fn value(&self, reference: &Reference) -> Option<String>;
}

impl Stack {
    /// `file:line` of a resource's `[kind.key]` (a part's: its resource's).
    pub fn location(&self, address: &Address) -> String {
        match self.resources.get(&address.resource()) {
            Some(r) => self.sources.location(&self.file, r.span.start),
            None => self.file.display().to_string(),
        }
    }

    /// The resource's settings with every reference replaced by its value
    /// (or [`reference::UNKNOWN`] when it is not known yet).
    pub fn resolve_spec(&self, address: &Address, lookup: &dyn Lookup) -> Result<Spec, String> {
        let decl = self
            .resources
            .get(address)
            .ok_or_else(|| format!("`{address}` is not declared in the stack"))?;
        let value = self.resolve_value(&decl.raw, lookup)?;
        address
            .kind
            .deserialize_spec(value)
            .map_err(|e| format!("{address}: {e}"))
    }

    /// The physical name: `name = ...` resolved, or the default. A client's
    /// name defaults to its key, a group's is its key, and an identity pool's
    /// role attachment goes by its pool's name.
    pub fn physical_name(&self, address: &Address, lookup: &dyn Lookup) -> Result<String, String> {
        let resource = address.resource();
        let decl = self
            .resources
            .get(&resource)
            .ok_or_else(|| format!("`{resource}` is not declared in the stack"))?;
        if address.part.is_none() {
            return match decl.spec.name() {
                Some(template) => self.interpolate(template, lookup),
                None => Ok(address.kind.default_name(&self.name, &address.key)),
            };
        }
        match registry::part_name(address, &decl.spec) {
            Some(PartName::Template(template)) => self.interpolate(template, lookup),
            Some(PartName::Key) => Ok(address
                .part
                .as_ref()
                .and_then(Part::key)
                .unwrap_or_default()
                .to_string()),
            Some(PartName::Resource) => self.physical_name(&resource, lookup),
            None => Err(format!("`{address}` is not a part of `{resource}`")),
        }
    }

    /// Tags every taggable resource of the stack carries: the stack's own tags,
    /// the resource's, and the two ownership tags (which always win).
    pub fn tags_for(&self, address: &Address, resource_tags: &Tags) -> Tags {
        let mut tags = self.tags.clone();
        tags.extend(resource_tags.clone());
        tags.insert(OWNER_STACK_TAG.to_string(), self.name.clone());
        tags.insert(OWNER_ID_TAG.to_string(), address.to_string());
        tags
    }

    pub fn interpolate(&self, s: &str, lookup: &dyn Lookup) -> Result<String, String> {
        let names = Names {
            resources: &self.resources,
            vars: &self.vars,
        };
        reference::interpolate(s, &names, &|r| match r {
            Reference::StackName => Some(self.name.clone()),
            Reference::StackStage => self.stage.clone(),
            Reference::Var(name) => self.vars.get(name).cloned(),
            other => lookup.value(other),
        })
        .map_err(|e| e.message)
    }

    fn resolve_value(
        &self,
        value: &toml::Value,
        lookup: &dyn Lookup,
    ) -> Result<toml::Value, String> {
        Ok(match value {
            toml::Value::String(s) => toml::Value::String(self.interpolate(s, lookup)?),
            toml::Value::Array(items) => toml::Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve_value(v, lookup))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(table) => {
                let mut out = toml::Table::new();
                for (k, v) in table {
                    out.insert(k.clone(), self.resolve_value(v, lookup)?);
                }
                toml::Value::Table(out)
            }
            other => other.clone(),
        })
    }
}

/// The stack-name rule, which stage names follow too: 1 to 40 characters of
/// `[a-z0-9-]`, starting with a letter.
pub(crate) fn is_stack_name(name: &str) -> bool {
    name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub const OWNER_STACK_TAG: &str = "mobile-backend:stack";
pub const OWNER_ID_TAG: &str = "mobile-backend:id";

/// Reads and validates a stack file. Every problem is reported at once.
pub fn load(file: &Path) -> Result<Stack, Diagnostics> {
    load_stage(file, None)
}

/// Reads and validates a stack file for `stage` (`--stage`): the stack's
/// name as AWS sees it becomes `<name>-<stage>`, so physical names, the
/// ownership tag and the lock are the stage's own; `${stack.stage}` is the
/// stage. Without a stage, exactly [`load`].
pub fn load_stage(file: &Path, stage: Option<&str>) -> Result<Stack, Diagnostics> {
    load_with(file, stage, false)
}

/// Reads and validates a stack file as every stage shares it (for `stages`):
/// without a stage, but `${stack.stage}` is no error.
pub fn load_any_stage(file: &Path) -> Result<Stack, Diagnostics> {
    load_with(file, None, true)
}

fn load_with(file: &Path, stage: Option<&str>, any_stage: bool) -> Result<Stack, Diagnostics> {
    let mut diags = Diagnostics::default();
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            diags.error(
                file,
                None,
                format!("cannot read the stack file: {e}"),
                Some("pass --stack FILE or set MOBILE_BACKEND_STACK".into()),
            );
            return Err(diags);
        }
    };
    let source = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            // Shown with the bad bytes replaced; offsets before them are exact.
            let at = e.utf8_error().valid_up_to();
            let shown = String::from_utf8_lossy(e.as_bytes()).into_owned();
            diags.add_source(file, &shown);
            diags.error(
                file,
                Some(at..at + char::REPLACEMENT_CHARACTER.len_utf8()),
                "the stack file is not UTF-8 text",
                Some("TOML files are UTF-8; save the file as UTF-8".into()),
            );
            return Err(diags);
        }
    };
    diags.add_source(file, &source);
    let mut loader = Loader::new(file, &source, &mut diags);
    loader.stage = stage;
    loader.any_stage = any_stage;
    match loader.load() {
        Some(stack) if diags.is_empty() => Ok(stack),
        _ => Err(diags),
    }
}

struct Loader<'a> {
    file: &'a Path,
    source: &'a str,
    diags: &'a mut Diagnostics,
    stage: Option<&'a str>,
    /// `${stack.stage}` without a stage is no error (see [`load_any_stage`]).
    any_stage: bool,
    /// `[vars]` as written, then (after [`Self::stage_settings`]) with the
    /// stage's overrides.
    vars: BTreeMap<String, String>,
    stages: BTreeMap<String, schema::StageSection>,
    stages_span: Option<Range<usize>>,
}

/// A `${...}` found in a string, with where it is written.
struct FoundReference {
    /// The step whose settings hold the string.
    step: Address,
    inner: String,
    file: PathBuf,
    span: Range<usize>,
}

/// A named link between steps (`trust.identity_pool = "app"`).
struct Link {
    from: Address,
    to: Address,
    span: Range<usize>,
    what: &'static str,
    /// A missing target is an error; otherwise the name means something
    /// outside the stack (an existing IAM role by name).
    required: bool,
}

/// What one resource table yields before cross-resource checks.
struct Parsed {
    decl: ResourceDecl,
    /// The steps the table declares besides itself (clients, groups, roles).
    parts: Vec<Address>,
    references: Vec<FoundReference>,
    links: Vec<Link>,
    /// Names (`name = ...`) to check: (template, span).
    name_span: Option<Range<usize>>,
}

impl<'a> Loader<'a> {
    fn new(file: &'a Path, source: &'a str, diags: &'a mut Diagnostics) -> Self {
        Loader {
            file,
            source,
            diags,
            stage: None,
            any_stage: false,
            vars: BTreeMap::new(),
            stages: BTreeMap::new(),
            stages_span: None,
        }
    }

    fn error(
        &mut self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        self.diags.error(self.file, span, message, help);
    }

    fn load(mut self) -> Option<Stack> {
        let root = self.parse_root()?;
        let (section, parsed) = self.top_level(&root);
        let Some(section) = section else {
            if self.diags.is_empty() {
                self.error(
                    Some(0..0),
                    "the stack file has no `[stack]` table",
                    Some("add `[stack]` with `name = \"my-app\"`".into()),
                );
            }
            return None;
        };
        let stack_span = root
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == "stack")
            .map(|(k, _)| k.span());
        self.check_section(&section, stack_span);
        let region = self.stage_settings(section.region.clone());

        let mut resources: BTreeMap<Address, ResourceDecl> = BTreeMap::new();
        let mut found = Vec::new();
        let mut links = Vec::new();
        let mut name_spans = Vec::new();
        // Every step, with its dependencies; a part depends on its resource.
        let mut steps: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
        let mut step_spans: BTreeMap<Address, Range<usize>> = BTreeMap::new();
        for p in parsed {
            steps.insert(p.decl.address.clone(), BTreeSet::new());
            step_spans.insert(p.decl.address.clone(), p.decl.span.clone());
            for part in p.parts {
                steps.insert(part.clone(), BTreeSet::from([p.decl.address.clone()]));
                step_spans.insert(part, p.decl.span.clone());
            }
            found.extend(p.references);
            links.extend(p.links);
            name_spans.push((p.decl.address.clone(), p.name_span));
            resources.insert(p.decl.address.clone(), p.decl);
        }

        // References and links: checked against what is declared; they are the graph.
        self.add_references(found, &resources, &mut steps);
        self.add_links(links, &mut steps);
        for (address, decl) in resources.iter_mut() {
            decl.depends_on = steps.get(address).cloned().unwrap_or_default();
        }
        self.check_cycles(&steps, &step_spans);
        self.check_adopt_ids(&resources);

        let name = match self.stage {
            Some(stage) => {
                self.check_stage_name(stage);
                format!("{}-{stage}", section.name)
            }
            None => section.name.clone(),
        };
        let probe = Stack {
            file: self.file.to_path_buf(),
            name,
            stage: self.stage.map(str::to_string),
            base_name: section.name.clone(),
            declared_stages: self
                .stages
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.region.clone().or_else(|| section.region.clone()),
                    )
                })
                .collect(),
            vars: self.vars.clone(),
            region,
            tags: section.tags.clone(),
            resources,
            steps,
            sources: Diagnostics::default(),
        };
        self.check_names(&probe, name_spans);
        self.check_across(&probe);
        if !self.diags.is_empty() {
            return None;
        }
        let sources = Diagnostics {
            sources: self.diags.sources.clone(),
            items: Vec::new(),
            warnings: self.diags.warnings.clone(),
        };
        Some(Stack { sources, ..probe })
    }

    /// The file's top-level table, or `None` with every syntax error reported.
    fn parse_root(&mut self) -> Option<DeTable<'a>> {
        if self.source.trim().is_empty() {
            self.error(
                Some(0..0),
                "the stack file is empty",
                Some("start with a `[stack]` table: `[stack]\\nname = \"my-app\"`".into()),
            );
            return None;
        }
        let (root, errors) = DeTable::parse_recoverable(self.source);
        if !errors.is_empty() {
            for e in errors {
                let message = e.message().trim();
                // The parser gives no place for a key nested too deep: the
                // line that nests the most is the likely one.
                let (span, help) = match e.span() {
                    Some(span) => (span, None),
                    None => (
                        deepest_line(self.source),
                        message.contains("recursion").then(|| {
                            "TOML nests keys, tables and arrays at most 80 levels deep".to_string()
                        }),
                    ),
                };
                self.error(Some(span), format!("TOML syntax: {message}"), help);
            }
            return None;
        }
        let root = root.into_inner();

        Some(root)
    }

    /// `[stack]` and every `[kind.key]` table, each parsed and checked alone.
    fn top_level(&mut self, root: &DeTable<'a>) -> (Option<StackSection>, Vec<Parsed>) {
        let mut stack_section: Option<StackSection> = None;
        let mut parsed: Vec<Parsed> = Vec::new();
        for (key, value) in root.iter() {
            let key_name = key.get_ref().as_ref();
            if key_name == "stack" {
                stack_section = self.typed::<StackSection>("[stack]", value);
                continue;
            }
            if key_name == "vars" {
                self.vars = self
                    .typed::<schema::VarsSection>("[vars]", value)
                    .unwrap_or_default();
                continue;
            }
            if key_name == "stages" {
                self.stages_span = Some(key.span());
                self.stages = self
                    .typed::<BTreeMap<String, schema::StageSection>>("[stages]", value)
                    .unwrap_or_default();
                continue;
            }
            let Some(kind) = Kind::from_name(key_name) else {
                let names = Kind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .chain(["stack", "vars", "stages"]);
                let help = match reference::nearest(key_name, names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!(
                        "the top-level tables are `stack` and the kinds: {}",
                        Kind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.error(
                    Some(key.span()),
                    format!("unknown kind `{key_name}`"),
                    Some(help),
                );
                continue;
            };
            let DeValue::Table(entries) = value.get_ref() else {
                self.error(
                    Some(key.span()),
                    format!("`{kind}` must hold tables, one per resource: `[{kind}.<key>]`"),
                    None,
                );
                continue;
            };
            for (rkey, rvalue) in entries.iter() {
                let rkey_name = rkey.get_ref().as_ref();
                if let Some(p) = self.resource(kind, rkey_name, rkey.span(), rvalue) {
                    parsed.push(p);
                }
            }
        }

        (stack_section, parsed)
    }

    /// The `[stack]` table's own rules: its name and region.
    fn check_section(&mut self, section: &StackSection, stack_span: Option<Range<usize>>) {
        self.check_stack_name(&section.name, stack_span.clone());
        if let Some(region) = &section.region {
            if !is_region(region) {
                self.error(
                    stack_span,
                    format!("`{region}` is not an AWS region name"),
                    Some("write it like `us-east-1`".into()),
                );
            }
        }
    }

    /// Each `${...}` must name something declared; a resource reference is
    /// an edge of the graph.
    fn add_references(
        &mut self,
        found: Vec<FoundReference>,
        resources: &BTreeMap<Address, ResourceDecl>,
        steps: &mut BTreeMap<Address, BTreeSet<Address>>,
    ) {
        let vars = self.vars.clone();
        let names = Names {
            resources,
            vars: &vars,
        };
        for r in found {
            match reference::parse(&r.inner, &names) {
                Ok(Reference::Resource {
                    address: target, ..
                }) => {
                    steps.entry(r.step.clone()).or_default().insert(target);
                }
                Ok(Reference::StackStage) if self.stage.is_none() && !self.any_stage => {
                    self.diags.error(
                        &r.file,
                        Some(r.span),
                        format!(
                            "in `{}`: `${{stack.stage}}` needs a stage, and none was given",
                            r.step
                        ),
                        Some("pass --stage NAME or set MOBILE_BACKEND_STAGE".into()),
                    )
                }
                Ok(_) => {}
                Err(e) => self.diags.error(
                    &r.file,
                    Some(r.span),
                    format!("in `{}`: {}", r.step, e.message),
                    e.suggestion.map(|s| format!("did you mean `${{{s}}}`?")),
                ),
            }
        }
    }

    /// Each named link is an edge of the graph; a required one must name a
    /// declared step.
    fn add_links(&mut self, links: Vec<Link>, steps: &mut BTreeMap<Address, BTreeSet<Address>>) {
        for link in links {
            if steps.contains_key(&link.to) {
                steps.entry(link.from).or_default().insert(link.to);
            } else if link.required {
                let candidates: Vec<String> = steps
                    .keys()
                    .filter(|a| {
                        a.kind == link.to.kind
                            && std::mem::discriminant(&a.part)
                                == std::mem::discriminant(&link.to.part)
                    })
                    .map(|a| a.to_string())
                    .collect();
                let wanted = link.to.to_string();
                let help = reference::nearest(&wanted, candidates.iter().map(String::as_str))
                    .map(|k| format!("did you mean `{k}`?"))
                    .or_else(|| {
                        (!candidates.is_empty())
                            .then(|| format!("declared: {}", candidates.join(", ")))
                    });
                self.error(
                    Some(link.span),
                    format!(
                        "in `{}`: {} names `{wanted}`, which the stack does not declare",
                        link.from, link.what
                    ),
                    help,
                );
            }
        }
    }

    /// One AWS resource can be adopted by one address only.
    fn check_adopt_ids(&mut self, resources: &BTreeMap<Address, ResourceDecl>) {
        let mut adopted: BTreeMap<(Kind, &str), &Address> = BTreeMap::new();
        for (address, decl) in resources {
            let Some(id) = decl.spec.adopt() else {
                continue;
            };
            if let Some(first) = adopted.insert((address.kind, id), address) {
                self.error(
                    Some(decl.span.clone()),
                    format!("`{first}` and `{address}` both adopt `{id}`; one AWS resource can be adopted by one address only"),
                    Some("remove `adopt` from one of them".to_string()),
                );
            }
        }
    }

    /// Each kind's checks of how its resources fit the rest of the stack
    /// (a function's role must trust Lambda), at each resource's `[kind.key]`.
    fn check_across(&mut self, stack: &Stack) {
        for (address, decl) in &stack.resources {
            let mut found = Vec::new();
            decl.spec.visit(KindAcross {
                stack,
                address,
                found: &mut found,
            });
            for f in found {
                if f.warning {
                    self.diags
                        .warning(self.file, Some(decl.span.clone()), f.message, f.help);
                } else {
                    self.error(Some(decl.span.clone()), f.message, f.help);
                }
            }
        }
    }

    /// Physical names that can never be valid, and adopt ids that would rename.
    fn check_names(&mut self, probe: &Stack, name_spans: Vec<(Address, Option<Range<usize>>)>) {
        let lookup = OfflineLookup;
        for (address, span) in name_spans {
            let span = span.or_else(|| probe.resources.get(&address).map(|r| r.span.clone()));
            if let Ok(name) = probe.physical_name(&address, &lookup) {
                if name.contains(reference::UNKNOWN) {
                    continue; // depends on another resource's value
                }
                if let Err(why) = address.kind.check_name(&name) {
                    self.error(
                        span.clone(),
                        format!("`{address}`: the name `{name}` {why}"),
                        Some("set `name = \"...\"` to a valid name".into()),
                    );
                }
                // Kinds found by name adopt the resource of that name: an
                // adopt id that is not the name would rename (replace) it.
                let adopt = probe.resources.get(&address).and_then(|r| r.spec.adopt());
                if let Some(id) = adopt
                    .filter(|id| address.kind.adopts_by_name() && *id != name && !id.contains("${"))
                {
                    self.error(
                        span,
                        format!(
                            "`{address}`: `adopt = \"{id}\"`, but its name is `{name}`; adopting it under another name would replace it"
                        ),
                        Some(format!("add `name = \"{id}\"` to `[{address}]`")),
                    );
                }
            }
        }
    }

    /// The stage's region (else `[stack] region`), and `self.vars` with the
    /// stage's overrides; an override of a var `[vars]` does not declare is
    /// an error at `[stages]`.
    fn stage_settings(&mut self, region: Option<String>) -> Option<String> {
        let mut problems = Vec::new();
        for (stage, settings) in &self.stages {
            for name in settings.vars.keys().filter(|n| !self.vars.contains_key(*n)) {
                problems.push((
                    format!("`[stages.{stage}]` sets `{name}`, which `[vars]` does not declare"),
                    format!("declare it with its default under `[vars]`: `{name} = \"...\"`"),
                ));
            }
            if let Some(r) = settings.region.as_deref().filter(|r| !is_region(r)) {
                problems.push((
                    format!("`[stages.{stage}]`: `{r}` is not an AWS region name"),
                    "write it like `us-east-1`".to_string(),
                ));
            }
        }
        for (message, help) in problems {
            self.error(self.stages_span.clone(), message, Some(help));
        }
        let settings = self
            .stage
            .and_then(|s| self.stages.get(s))
            .cloned()
            .unwrap_or_default();
        self.vars.extend(settings.vars);
        settings.region.or(region)
    }

    /// A stage (from the command line) follows the stack-name rule.
    fn check_stage_name(&mut self, stage: &str) {
        if !is_stack_name(stage) {
            self.error(
                None,
                format!("stage name `{stage}` (--stage, MOBILE_BACKEND_STAGE) is not valid"),
                Some(
                    "a stage name is 1 to 40 characters of [a-z0-9-], starting with a letter, like `dev` or `pr-42`"
                        .into(),
                ),
            );
        }
    }

    fn check_stack_name(&mut self, name: &str, span: Option<Range<usize>>) {
        if !is_stack_name(name) {
            self.error(
                span,
                format!("stack name `{name}` is not valid"),
                Some(
                    "a stack name is 1 to 40 characters of [a-z0-9-], starting with a letter"
                        .into(),
                ),
            );
        }
    }

    /// Deserializes one table into its schema type, reporting the error with
    /// its location and the nearest valid key.
    fn typed<T: DeserializeOwned>(
        &mut self,
        what: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<T> {
        let parsed = T::deserialize(ValueDeserializer::from(value.clone()));
        self.reported(what, value, parsed)
    }

    /// Deserializes a `[kind.key]` table into its kind's spec, as [`Self::typed`].
    fn spec(&mut self, what: &str, kind: Kind, value: &Spanned<DeValue<'_>>) -> Option<Spec> {
        let parsed = kind.deserialize_spec(ValueDeserializer::from(value.clone()));
        self.reported(what, value, parsed)
    }

    /// The value, or `None` with the error reported at its place.
    fn reported<T>(
        &mut self,
        what: &str,
        value: &Spanned<DeValue<'_>>,
        parsed: Result<T, toml::de::Error>,
    ) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().or_else(|| Some(value.span()));
                let (message, help) = explain_serde_error(what, e.message());
                self.error(span, message, help);
                None
            }
        }
    }

    fn resource(
        &mut self,
        kind: Kind,
        key: &str,
        key_span: Range<usize>,
        value: &Spanned<DeValue<'_>>,
    ) -> Option<Parsed> {
        let address = Address::new(kind, key);
        let DeValue::Table(table) = value.get_ref() else {
            self.error(
                Some(key_span),
                format!(
                    "`{address}` must be a table: write `[{address}]` and its settings below it"
                ),
                Some(format!(
                    "each entry of `{kind}` is one resource, `[{kind}.<key>]`"
                )),
            );
            return None;
        };
        let key_ok = key.len() <= 64
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !key_ok {
            self.error(
                Some(key_span.clone()),
                format!("resource key `{key}` is not valid"),
                Some("a key is 1 to 64 characters of [a-z0-9_-], starting with a letter".into()),
            );
        }
        let what = format!("`{address}`");
        let spec = self.spec(&what, kind, value)?;
        let raw: toml::Value =
            match toml::Value::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(v) => v,
                Err(e) => {
                    let span = e.span().unwrap_or_else(|| value.span());
                    self.error(Some(span), e.message().to_string(), None);
                    return None;
                }
            };
        // References belong to the step whose settings hold them: a user pool's
        // clients and groups are steps of their own.
        let mut references = Vec::new();
        let mut parts = Vec::new();
        for (k, v) in table.iter() {
            let field = k.get_ref().as_ref();
            match v.get_ref() {
                DeValue::Table(entries) if kind.keyed_part(field, "").is_some() => {
                    for (name, entry) in entries.iter() {
                        let Some(part) = kind.keyed_part(field, name.get_ref()) else {
                            continue;
                        };
                        let step = address.with_part(part);
                        collect_references(entry, self.file, &step, &mut references, self.diags);
                        parts.push(step);
                    }
                }
                _ => collect_references(v, self.file, &address, &mut references, self.diags),
            }
        }
        parts.extend(kind.fixed_parts().into_iter().map(|p| address.with_part(p)));
        let span_of = |path: &[&str]| -> Range<usize> {
            find_span(table, path).unwrap_or_else(|| key_span.clone())
        };
        if let Some(id) = spec.adopt() {
            if id.trim().is_empty() || id.contains("${") || id.trim() != id {
                self.error(
                    Some(span_of(&["adopt"])),
                    format!("`{address}`: `adopt` must be the literal AWS id of an existing resource, not `{id}`"),
                    Some("write the id as AWS shows it (`mobile-backend adopt` writes these), or remove `adopt`".into()),
                );
            }
        }
        let mut checks = Checks::new(
            address.clone(),
            self.file,
            table,
            key_span.clone(),
            self.diags,
        );
        spec.visit(KindChecks(&mut checks));
        references.append(&mut checks.references);
        let links = checks.links;
        let name_span = find_span(table, &["name"]);
        Some(Parsed {
            decl: ResourceDecl {
                address,
                span: key_span,
                raw,
                spec,
                depends_on: BTreeSet::new(),
            },
            parts,
            references,
            links,
            name_span,
        })
    }

    /// Reports each real cycle once, naming every member.
    fn check_cycles(
        &mut self,
        steps: &BTreeMap<Address, BTreeSet<Address>>,
        spans: &BTreeMap<Address, Range<usize>>,
    ) {
        for component in strongly_connected(steps) {
            let is_cycle = component.len() > 1
                || steps
                    .get(&component[0])
                    .is_some_and(|deps| deps.contains(&component[0]));
            if !is_cycle {
                continue;
            }
            let span = spans.get(&component[0]).cloned();
            let members: Vec<String> = component.iter().map(|a| format!("`{a}`")).collect();
            self.error(
                span,
                format!("dependency cycle: {} reference each other", members.join(" → ")),
                Some("a resource cannot need a value of a resource that needs its own; remove one of the references".into()),
            );
        }
    }
}

/// Runs a kind's checks of how one resource fits the rest of the stack.
struct KindAcross<'a> {
    stack: &'a Stack,
    address: &'a Address,
    found: &'a mut Vec<Finding>,
}

impl SpecVisitor for KindAcross<'_> {
    type Output = ();
    fn visit<K: ResourceKind>(self, spec: &K::Spec) {
        self.found
            .extend(K::check_across(spec, self.address, self.stack));
    }
}

/// Runs a kind's own offline checks on its typed spec.
struct KindChecks<'c, 'a, 'de>(&'c mut Checks<'a, 'de>);

impl SpecVisitor for KindChecks<'_, '_, '_> {
    type Output = ();
    fn visit<K: ResourceKind>(self, spec: &K::Spec) {
        K::check(spec, self.0);
    }
}

/// Tarjan's algorithm over a dependency graph, in address order so the
/// output is deterministic. Each component lists its members sorted. It walks
/// with a stack of its own, not recursion: a chain of references thousands
/// long must not overflow the thread's stack.
pub(crate) fn strongly_connected(
    graph: &BTreeMap<Address, BTreeSet<Address>>,
) -> Vec<Vec<Address>> {
    let mut index: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut low: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut on_stack: BTreeSet<&Address> = BTreeSet::new();
    let mut stack: Vec<&Address> = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in graph.keys() {
        if index.contains_key(root) {
            continue;
        }
        // The vertices being visited, each with the dependencies still to see.
        let mut frames = vec![(root, graph[root].iter())];
        index.insert(root, next);
        low.insert(root, next);
        next += 1;
        stack.push(root);
        on_stack.insert(root);
        while let Some((v, deps)) = frames.last_mut() {
            let v: &Address = v;
            if let Some(w) = deps.next() {
                let Some((w, w_deps)) = graph.get_key_value(w) else {
                    continue;
                };
                if !index.contains_key(w) {
                    index.insert(w, next);
                    low.insert(w, next);
                    next += 1;
                    stack.push(w);
                    on_stack.insert(w);
                    frames.push((w, w_deps.iter()));
                } else if on_stack.contains(w) {
                    let lowest = low[v].min(index[w]);
                    low.insert(v, lowest);
                }
                continue;
            }
            frames.pop();
            if let Some((parent, _)) = frames.last() {
                let parent: &Address = parent;
                let lowest = low[parent].min(low[v]);
                low.insert(parent, lowest);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack.remove(w);
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                component.sort();
                out.push(component);
            }
        }
    }
    out
}

/// The first statement (by `Sid` or index) that allows `*` actions on `*`
/// resources: the tutorials' own policy did that, and it was insecure.
fn allows_everything(document: &serde_json::Value) -> Option<String> {
    let statements = match &document["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(_) => vec![document["Statement"].clone()],
        _ => return None,
    };
    let has_star = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s == "*",
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    statements.iter().enumerate().find_map(|(i, st)| {
        (st["Effect"] == "Allow" && has_star(&st["Action"]) && has_star(&st["Resource"])).then(
            || {
                st["Sid"]
                    .as_str()
                    .map(|s| format!("`{s}`"))
                    .unwrap_or_else(|| format!("#{}", i + 1))
            },
        )
    })
}

/// Offline stand-ins for values only AWS knows, to check names that use them.
struct OfflineLookup;

impl Lookup for OfflineLookup {
    fn value(&self, reference: &Reference) -> Option<String> {
        match reference {
            Reference::AwsAccountId => Some("123456789012".into()),
            Reference::AwsRegion => Some("us-east-1".into()),
            _ => None,
        }
    }
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Every `${...}` in every string of a value, with the string's span.
fn collect_references(
    value: &Spanned<DeValue<'_>>,
    file: &Path,
    step: &Address,
    out: &mut Vec<FoundReference>,
    diags: &mut Diagnostics,
) {
    match value.get_ref() {
        DeValue::String(s) => {
            for piece in reference::scan(s) {
                match piece {
                    Piece::Reference { inner, .. } => out.push(FoundReference {
                        step: step.clone(),
                        inner: inner.to_string(),
                        file: file.to_path_buf(),
                        span: value.span(),
                    }),
                    Piece::Unterminated(_) => diags.error(
                        file,
                        Some(value.span()),
                        "`${` is not closed by `}`",
                        Some("write `$${` for a literal `${`".into()),
                    ),
                    _ => {}
                }
            }
        }
        DeValue::Array(items) => {
            for item in items.iter() {
                collect_references(item, file, step, out, diags);
            }
        }
        DeValue::Table(table) => {
            for (_, v) in table.iter() {
                collect_references(v, file, step, out, diags);
            }
        }
        _ => {}
    }
}

/// The span of the key at `path` inside `table`.
fn find_span(table: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *first)?;
    if rest.is_empty() {
        return Some(k.span());
    }
    match v.get_ref() {
        DeValue::Table(inner) => find_span(inner, rest).or(Some(k.span())),
        _ => Some(k.span()),
    }
}

fn find_span_index(table: &DeTable<'_>, key: &str, index: usize) -> Option<Range<usize>> {
    let (_, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key)?;
    match v.get_ref() {
        DeValue::Array(items) => items.get(index).map(|i| i.span()),
        _ => Some(v.span()),
    }
}

/// The line with the most `.`, `[` and `{` (the first of equals), without
/// its line break.
fn deepest_line(source: &str) -> Range<usize> {
    let mut best = 0..0;
    let mut most = 0;
    let mut start = 0;
    for line in source.split_inclusive('\n') {
        let depth = line
            .chars()
            .filter(|c| matches!(c, '.' | '[' | '{'))
            .count();
        if depth > most {
            most = depth;
            best = start..start + line.trim_end().len();
        }
        start += line.len();
    }
    best
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1)).min(text.len());
        }
        offset += l.len();
    }
    text.len()
}

/// Turns serde's messages into ours: the key, where, and the nearest valid one.
fn explain_serde_error(what: &str, message: &str) -> (String, Option<String>) {
    let message = message.trim();
    let backticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = backticked(rest);
        if let Some((field, expected)) = names.split_first() {
            let help = match reference::nearest(field, expected.iter().map(String::as_str)) {
                Some(n) => format!("did you mean `{n}`?"),
                None if expected.is_empty() => "this table takes no keys".to_string(),
                None => format!("valid keys: {}", expected.join(", ")),
            };
            return (format!("unknown key `{field}` in {what}"), Some(help));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let names = backticked(rest);
        if let Some((variant, expected)) = names.split_first() {
            let help = match reference::nearest(variant, expected.iter().map(String::as_str)) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("one of: {}", expected.join(", ")),
            };
            return (
                format!("`{variant}` is not a valid value in {what}"),
                Some(help),
            );
        }
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let names = backticked(rest);
        if let Some(field) = names.first() {
            return (format!("{what} needs `{field}`"), None);
        }
    }
    if message.starts_with("data did not match any variant") {
        return (format!("a value in {what} has the wrong shape"), None);
    }
    (format!("{what}: {message}"), None)
}

#[cfg(test)]
mod tests;
