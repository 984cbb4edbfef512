//! `[search.<key>]` — a search domain: Amazon CloudSearch (`engine =
//! "cloudsearch"`, the reference architecture's) or Amazon OpenSearch
//! Service (`engine = "opensearch"`, its successor for new accounts).
//!
//! The engine and the name force replacement (a domain holds its index, so
//! replacing it is refused without `--allow-replace`). Reading a domain
//! needs its engine before anything else is known (CloudSearch requests must
//! never be sent where there is no CloudSearch), so it comes from the
//! declared spec ([`Target::spec`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::registry::{ResourceKind, Step};
use super::{search_cloudsearch, search_opensearch, Change, Desired, DesiredContext, Error, Live};
use super::{Outputs, Target};
use crate::adopt;
use crate::aws::Aws;
use crate::stack::Tags;
use crate::stack::{Address, Spec};

// ------------------------------------------------------------ schema ----

/// `[search.<key>]` — a CloudSearch (or OpenSearch Service) domain.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    /// Physical name; default `<stack>-<key>` (3 to 28 characters). Changing it
    /// replaces the domain.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing domain made outside this tool: the domain's name. When the stack
    /// owns no domain for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// `cloudsearch` (the default; closed to new AWS accounts since 2024-07-25) or
    /// `opensearch` (OpenSearch Service).
    #[serde(default)]
    pub engine: SearchEngine,
    /// Index fields by name: a type (`text`, `literal`, ...) or `{ type = ..., facet =
    /// ..., sort = ... }`.
    #[serde(default)]
    pub fields: BTreeMap<String, SearchField>,
    /// The domain's access policy document (JSON).
    #[serde(default)]
    pub access_policy: Option<String>,
    /// OpenSearch Service engine version, like `OpenSearch_2.13`.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// Instance type: `search.small`, ... for CloudSearch; like `t3.small.search` for
    /// OpenSearch Service.
    #[serde(default)]
    pub instance_type: Option<String>,
    /// OpenSearch Service: number of data nodes.
    #[serde(default)]
    pub instance_count: Option<i64>,
    /// OpenSearch Service: EBS volume size per node, in GiB.
    #[serde(default)]
    pub ebs_volume_size: Option<i64>,
    /// CloudSearch scaling: search instances per partition.
    #[serde(default)]
    pub replication_count: Option<i64>,
    /// CloudSearch scaling: index partitions (only for the largest instance type).
    #[serde(default)]
    pub partition_count: Option<i64>,
    /// Whether `up` waits until the domain has finished processing a change
    /// (default true); with `false` it returns once AWS accepted the change.
    #[serde(default)]
    pub wait: Option<bool>,
    /// Tags of this domain, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// The search service: `cloudsearch` or `opensearch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchEngine {
    #[default]
    Cloudsearch,
    Opensearch,
}

/// An index field: its type, or a table with its type and options.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum SearchField {
    Type(SearchFieldType),
    Detailed(SearchFieldSpec),
}

/// An index field with options; which options a type allows is checked offline.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchFieldSpec {
    /// The field's type.
    #[serde(rename = "type")]
    pub field_type: SearchFieldType,
    /// Facet information can be returned for it.
    #[serde(default)]
    pub facet: Option<bool>,
    /// It can be returned in search results.
    #[serde(default, rename = "return")]
    pub return_enabled: Option<bool>,
    /// Results can be sorted by it.
    #[serde(default)]
    pub sort: Option<bool>,
    /// It can be searched.
    #[serde(default)]
    pub search: Option<bool>,
    /// Highlights can be returned for it (text fields).
    #[serde(default)]
    pub highlight: Option<bool>,
}

/// A search field type: `text`, `literal`, `int`, `double`, `date`, `latlon`, or an
/// `-array` of the first five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SearchFieldType {
    Text,
    Literal,
    Int,
    Double,
    Date,
    Latlon,
    TextArray,
    LiteralArray,
    IntArray,
    DoubleArray,
    DateArray,
}

crate::spec_fields!(SearchSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("engine", Change::Replace),
    // CloudSearch
    ("fields", Change::Update),
    ("requires_index_documents", Change::Update),
    ("scaling", Change::Update),
    // OpenSearch Service
    ("engine_version", Change::Update),
    ("instance_type", Change::Update),
    ("instance_count", Change::Update),
    ("ebs_volume_size", Change::Update),
    // Both
    ("access_policy", Change::Update),
    ("tags", Change::Update),
    // How `up` behaves, not a setting of the domain.
    ("wait", Change::Computed),
    // CloudSearch has no tags: the expression that marks the domain as ours
    // (set at create; a domain without it is not ours, so never updated).
    ("ownership_marker", Change::Computed),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. OpenSearch Service
/// settings have the stack's defaults in the desired value (sent on
/// create). A new CloudSearch domain reports its scaling parameters as an
/// empty instance type and zero counts (terraform-provider-aws
/// `TestAccCloudSearchDomain_basic`: `desired_instance_type = ""`,
/// `desired_partition_count = 0`, `desired_replication_count = 0`), which
/// the read takes as unset; `requires_index_documents` is false.
pub(crate) const DEFAULTED: &[&str] = &[];

/// The comparable shape of a search domain, one struct for both engines:
/// CloudSearch fills `fields`, `requires_index_documents`, `scaling` and
/// `ownership_marker`; OpenSearch Service `engine_version`, `instance_type`,
/// `instance_count`, `ebs_volume_size` and `tags`. Each engine's file builds
/// its desired and live values in this shape (the registry's tests check
/// every value they make against it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    pub name: String,
    pub engine: SearchEngine,
    pub fields: Option<Value>,
    pub requires_index_documents: Option<bool>,
    pub scaling: Option<Value>,
    pub engine_version: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<i64>,
    pub ebs_volume_size: Option<i64>,
    pub access_policy: Option<Value>,
    pub tags: Option<Tags>,
    pub wait: Option<bool>,
    pub ownership_marker: Option<String>,
}

/// `[search.<key>]`: a search domain (CloudSearch or OpenSearch Service).
pub struct SearchKind;

impl Step for SearchKind {
    type Config = SearchConfig;
    type Spec = SearchSpec;
    const NOUN: &'static str = "search domain";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 20;
    // A search domain holds its index (the documents sent to it).
    const HOLDS_DATA: bool = true;

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        name: &str,
        tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        desired(spec, address, name, tags, ctx)
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        _parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        create(aws, desired).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        _parent: Option<&super::Outputs>,
    ) -> Result<super::Outputs, Error> {
        update(aws, desired, live).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    const OUTPUTS: &'static [&'static str] =
        &["name", "arn", "search_endpoint", "document_endpoint"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["search_endpoint", "document_endpoint"];
    /// No endpoint until the domain is active.
    const SUMMARY_FALLBACK: &'static [&'static str] = &["name"];
    const SWIFT_SECTION: &'static str = "SearchDomains";
}

impl ResourceKind for SearchKind {
    const NAME: &'static str = "search";
    const DESCRIPTION: &'static str = "Search domains (CloudSearch or OpenSearch Service), by key.";
    const REFERENCES: &'static [&'static str] =
        &["name", "arn", "search_endpoint", "document_endpoint"];
    const ADOPTS_BY_NAME: bool = true;

    /// Search-domain names allow no `_`.
    fn default_name(stack: &str, key: &str) -> String {
        format!("{stack}-{key}").replace('_', "-")
    }

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 3, 28)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "lowercase letters, digits and `-`",
        )?;
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("must start with a lowercase letter".into());
        }
        Ok(())
    }

    /// OpenSearch Service domains (CloudSearch has no tags).
    fn tagged_name(arn: &str) -> Option<String> {
        arn.split_once(":domain/")
            .filter(|(head, _)| head.contains(":es:"))
            .map(|(_, n)| n.to_string())
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        let address = c.address().clone();
        let s = spec;
        // The kind's own offline checks (field options, engine settings).
        if let Err(e) = crate::resource::search::check(s) {
            c.error(c.key_span(), format!("`{address}`: {e}"), None);
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn"];
    const ADOPT_LIST_RANK: u8 = 6;

    async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
        adopt_list(aws).await
    }

    fn adopt_write(
        writer: &mut adopt::Writer<'_>,
        found: &adopt::Found,
        section: &mut adopt::Section,
    ) {
        adopt_write(writer, found, section)
    }
}

/// How long `up` waits at most for a domain to finish processing a change.
/// A new CloudSearch domain takes about 10 minutes, an OpenSearch Service
/// domain 15–30; re-indexing a large CloudSearch domain can take longer, so
/// the wait ends with a message that `up` resumes it.
pub(crate) const WAIT: Duration = Duration::from_secs(45 * 60);

/// The engine the stack declares for this domain (`None` for a leftover
/// found by its tags).
fn engine_of(target: &Target<'_>) -> Option<SearchEngine> {
    match target.spec {
        Some(Spec::Search(s)) => Some(s.engine),
        _ => None,
    }
}

// ----------------------------------------------------------- offline checks ----

/// Which of `facet`, `return`, `sort`, `search`, `highlight` a CloudSearch
/// field type accepts (the option structures of the 2013-01-01 API).
pub(crate) fn allowed_options(t: SearchFieldType) -> &'static [&'static str] {
    use SearchFieldType::*;
    match t {
        Text => &["return", "sort", "highlight"],
        TextArray => &["return", "highlight"],
        Literal | Int | Double | Date | Latlon => &["facet", "return", "sort", "search"],
        LiteralArray | IntArray | DoubleArray | DateArray => &["facet", "return", "search"],
    }
}

/// The options of one field, every allowed option explicit: `return` and
/// `search` default to on, `facet`, `sort` and `highlight` to off.
pub(crate) fn field_options(
    name: &str,
    field: &SearchField,
) -> Result<(SearchFieldType, BTreeMap<String, bool>), String> {
    let (t, given): (SearchFieldType, Vec<(&str, Option<bool>)>) = match field {
        SearchField::Type(t) => (*t, Vec::new()),
        SearchField::Detailed(d) => (
            d.field_type,
            vec![
                ("facet", d.facet),
                ("return", d.return_enabled),
                ("sort", d.sort),
                ("search", d.search),
                ("highlight", d.highlight),
            ],
        ),
    };
    let allowed = allowed_options(t);
    let mut options = BTreeMap::new();
    for option in allowed {
        options.insert(option.to_string(), matches!(*option, "return" | "search"));
    }
    for (option, value) in given {
        let Some(value) = value else { continue };
        if !allowed.contains(&option) {
            return Err(format!(
                "field `{name}`: a `{}` field has no `{option}` option (it allows {})",
                type_name(t),
                allowed
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        options.insert(option.to_string(), value);
    }
    Ok((t, options))
}

pub(crate) fn type_name(t: SearchFieldType) -> &'static str {
    use SearchFieldType::*;
    match t {
        Text => "text",
        Literal => "literal",
        Int => "int",
        Double => "double",
        Date => "date",
        Latlon => "latlon",
        TextArray => "text-array",
        LiteralArray => "literal-array",
        IntArray => "int-array",
        DoubleArray => "double-array",
        DateArray => "date-array",
    }
}

/// CloudSearch index field names: 3–64 of `a-z0-9_`, starting with a
/// letter; `score` is reserved.
fn check_field_name(name: &str) -> Result<(), String> {
    if !(3..=64).contains(&name.len()) {
        return Err(format!(
            "field name `{name}` must be 3 to 64 characters long"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "field name `{name}` must start with a lowercase letter and contain only `a-z`, `0-9` and `_`"
        ));
    }
    if name == "score" {
        return Err("field name `score` is reserved by CloudSearch".into());
    }
    Ok(())
}

/// The offline checks of a search domain (run by `validate`).
pub(crate) fn check(spec: &SearchSpec) -> Result<(), String> {
    let mut wrong = Vec::new();
    match spec.engine {
        SearchEngine::Cloudsearch => {
            for (name, field) in &spec.fields {
                if let Err(e) = check_field_name(name).and_then(|_| field_options(name, field)) {
                    wrong.push(e);
                }
            }
            for (set, what) in [
                (spec.engine_version.is_some(), "engine_version"),
                (spec.instance_count.is_some(), "instance_count"),
                (spec.ebs_volume_size.is_some(), "ebs_volume_size"),
            ] {
                if set {
                    wrong.push(format!(
                        "`{what}` is a setting of `engine = \"opensearch\"`; CloudSearch scales with `instance_type`, `replication_count` and `partition_count`"
                    ));
                }
            }
            if let Some(t) = &spec.instance_type {
                if !t.starts_with("search.") {
                    wrong.push(format!(
                        "`instance_type = \"{t}\"` is not a CloudSearch instance type (`search.small`, `search.medium`, `search.large`, `search.xlarge`, `search.2xlarge`, ...)"
                    ));
                }
            }
            for (value, what) in [
                (spec.replication_count, "replication_count"),
                (spec.partition_count, "partition_count"),
            ] {
                if value.is_some_and(|v| !(1..=50).contains(&v)) {
                    wrong.push(format!("`{what}` must be between 1 and 50"));
                }
            }
        }
        SearchEngine::Opensearch => {
            for (set, what) in [
                (spec.replication_count.is_some(), "replication_count"),
                (spec.partition_count.is_some(), "partition_count"),
            ] {
                if set {
                    wrong.push(format!(
                        "`{what}` is a CloudSearch setting; an OpenSearch Service domain scales with `instance_type`, `instance_count` and `ebs_volume_size`"
                    ));
                }
            }
            if let Some(t) = &spec.instance_type {
                if !t.ends_with(".search") {
                    wrong.push(format!(
                        "`instance_type = \"{t}\"` is not an OpenSearch Service instance type (e.g. `t3.small.search`)"
                    ));
                }
            }
            if spec.instance_count.is_some_and(|c| c < 1) {
                wrong.push("`instance_count` must be at least 1".into());
            }
            if spec.ebs_volume_size.is_some_and(|c| c < 10) {
                wrong.push("`ebs_volume_size` (GiB) must be at least 10".into());
            }
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// The access policy of the spec: inline JSON (`{...}`) or a policy file
/// relative to the stack file. `None` when not set.
pub(crate) fn access_policy(
    spec: &SearchSpec,
    ctx: &DesiredContext<'_>,
) -> Result<Option<Value>, String> {
    let Some(text) = spec.access_policy.as_deref() else {
        return Ok(None);
    };
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("`access_policy` is not valid JSON: {e}"))?
    } else {
        ctx.policy_document(text)?
    };
    Ok(normalize_policy(Some(value)))
}

/// An empty policy (no statements) is no policy.
pub(crate) fn normalize_policy(policy: Option<Value>) -> Option<Value> {
    let policy = policy?;
    match policy.get("Statement") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        _ => Some(policy),
    }
}

/// A policy document as AWS returns it (a JSON string, maybe empty).
pub(crate) fn parse_policy(text: Option<&str>) -> Option<Value> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    normalize_policy(serde_json::from_str(text).ok())
}

// ------------------------------------------------------------ dispatch ----

pub(crate) fn desired(
    spec: &SearchSpec,
    address: &Address,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    check(spec)?;
    match spec.engine {
        SearchEngine::Cloudsearch => search_cloudsearch::desired(spec, address, name, ctx),
        SearchEngine::Opensearch => search_opensearch::desired(spec, name, tags, ctx),
    }
}

fn engine_of_attributes(attributes: &Value) -> SearchEngine {
    match attributes.get("engine").and_then(Value::as_str) {
        Some("opensearch") => SearchEngine::Opensearch,
        _ => SearchEngine::Cloudsearch,
    }
}

/// Whether `up` should wait for processing (the `wait` attribute, default true).
pub(crate) fn waits(desired: &Desired) -> bool {
    desired
        .attributes
        .get("wait")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

/// Reads the domain from the engine the stack declares; when it is not
/// there, from the other engine (so that changing the engine shows as a
/// replacement), except that CloudSearch is asked only where it can answer
/// ([`Aws::cloudsearch_reachable`]): a stack that declares no CloudSearch
/// domain never sends a CloudSearch request to an emulator.
pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    match engine_of(target) {
        Some(SearchEngine::Cloudsearch) => match search_cloudsearch::read(aws, target).await? {
            Some(live) => Ok(Some(live)),
            None => search_opensearch::read(aws, target).await,
        },
        // OpenSearch, or not declared (a leftover found by its tags, which
        // only OpenSearch domains have).
        engine => match search_opensearch::read(aws, target).await? {
            Some(live) => Ok(Some(live)),
            None if engine.is_some() && aws.cloudsearch_reachable => {
                search_cloudsearch::read(aws, target).await
            }
            None => Ok(None),
        },
    }
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    match engine_of_attributes(&desired.attributes) {
        SearchEngine::Cloudsearch => search_cloudsearch::create(aws, desired).await,
        SearchEngine::Opensearch => search_opensearch::create(aws, desired).await,
    }
}

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    if engine_of_attributes(&desired.attributes) != engine_of_attributes(&live.attributes) {
        return Err(Error::Unexpected(format!(
            "`{}`: changing the engine replaces the domain",
            desired.address
        )));
    }
    match engine_of_attributes(&desired.attributes) {
        SearchEngine::Cloudsearch => search_cloudsearch::update(aws, desired, live).await,
        SearchEngine::Opensearch => search_opensearch::update(aws, desired, live).await,
    }
}

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    match engine_of_attributes(&live.attributes) {
        SearchEngine::Cloudsearch => search_cloudsearch::delete(aws, live).await,
        SearchEngine::Opensearch => search_opensearch::delete(aws, live).await,
    }
}

// ---- adopt ----

/// OpenSearch Service domains, as (name, name) (CloudSearch domains are not scanned).
async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
    let out = aws
        .opensearch
        .list_domain_names()
        .send()
        .await
        .map_err(|e| Error::aws("es:ListDomainNames", &e).to_string())?;
    Ok(adopt::named(
        out.domain_names()
            .iter()
            .filter_map(|d| d.domain_name().map(str::to_string))
            .collect(),
    ))
}

/// An OpenSearch Service domain (CloudSearch domains are not scanned).
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.string("engine", "opensearch");
    s.json(
        "engine_version",
        a.get("engine_version"),
        Some(Value::from(search_opensearch::DEFAULT_ENGINE_VERSION)),
    );
    s.json(
        "instance_type",
        a.get("instance_type"),
        Some(Value::from(search_opensearch::DEFAULT_INSTANCE_TYPE)),
    );
    s.json(
        "instance_count",
        a.get("instance_count"),
        Some(Value::from(search_opensearch::DEFAULT_INSTANCE_COUNT)),
    );
    s.json(
        "ebs_volume_size",
        a.get("ebs_volume_size"),
        Some(Value::from(search_opensearch::DEFAULT_EBS_VOLUME_SIZE)),
    );
    if let Some(policy) = a.get("access_policy").filter(|p| !p.is_null()) {
        let stem = format!("{}-access", f.address.key.replace('_', "-"));
        let path = w.policy_file(&f.address, &stem, policy);
        s.string("access_policy", &path);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn detailed(t: SearchFieldType) -> SearchFieldSpec {
        SearchFieldSpec {
            field_type: t,
            facet: None,
            return_enabled: None,
            sort: None,
            search: None,
            highlight: None,
        }
    }

    #[test]
    fn options_are_explicit_with_defaults_per_type() {
        let (t, o) = field_options("headline", &SearchField::Type(SearchFieldType::Text)).unwrap();
        assert_eq!(t, SearchFieldType::Text);
        assert_eq!(
            o.into_iter().collect::<Vec<_>>(),
            vec![
                ("highlight".to_string(), false),
                ("return".to_string(), true),
                ("sort".to_string(), false)
            ]
        );
        let (_, o) =
            field_options("user_id", &SearchField::Type(SearchFieldType::Literal)).unwrap();
        assert!(o["search"]);
        assert!(!o["facet"]);
        let mut f = detailed(SearchFieldType::IntArray);
        f.facet = Some(true);
        let (_, o) = field_options("counts", &SearchField::Detailed(f)).unwrap();
        assert!(o["facet"]);
        assert!(!o.contains_key("sort"));
    }

    #[test]
    fn options_a_type_does_not_have_are_refused() {
        let cases = [
            (SearchFieldType::Text, "facet"),
            (SearchFieldType::Text, "search"),
            (SearchFieldType::TextArray, "sort"),
            (SearchFieldType::LiteralArray, "sort"),
            (SearchFieldType::DateArray, "highlight"),
            (SearchFieldType::Latlon, "highlight"),
        ];
        for (t, option) in cases {
            let mut f = detailed(t);
            match option {
                "facet" => f.facet = Some(true),
                "search" => f.search = Some(true),
                "sort" => f.sort = Some(true),
                _ => f.highlight = Some(true),
            }
            let err = field_options("field", &SearchField::Detailed(f)).unwrap_err();
            assert!(err.contains(&format!("no `{option}` option")), "{err}");
        }
        // An option set to its default is still one the type must have.
        let mut f = detailed(SearchFieldType::Text);
        f.facet = Some(false);
        assert!(field_options("field", &SearchField::Detailed(f)).is_err());
    }

    #[test]
    fn field_names_follow_cloudsearch_rules() {
        assert!(check_field_name("note_text").is_ok());
        assert!(check_field_name("ab").is_err());
        assert!(check_field_name("Headline").is_err());
        assert!(check_field_name("9lives").is_err());
        assert!(check_field_name("has-dash").is_err());
        assert!(check_field_name("score").is_err());
    }

    #[test]
    fn empty_policies_are_no_policy() {
        assert_eq!(parse_policy(None), None);
        assert_eq!(parse_policy(Some("")), None);
        assert_eq!(
            parse_policy(Some(r#"{"Version":"2012-10-17","Statement":[]}"#)),
            None
        );
        assert!(parse_policy(Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"cloudsearch:search"}]}"#
        ))
        .is_some());
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answers for `[search.notes]` with only its engine (see
    /// `resource/aws_defaults.rs`), one case per engine.
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        vec![cloudsearch_defaults().await, opensearch_defaults().await]
    }

    /// CloudSearch: `CreateDomain` is sent only the name, then the ownership
    /// marker expression; a domain created so reports no index fields, an
    /// empty access policy, and scaling options with nothing set (the XML's
    /// empty `<Options/>`; terraform-provider-aws `TestAccCloudSearchDomain_basic`
    /// reads `desired_instance_type` "", `desired_partition_count` 0 and
    /// `desired_replication_count` 0), and `RequiresIndexDocuments` false.
    async fn cloudsearch_defaults() -> crate::resource::aws_defaults::Case {
        use aws_sdk_cloudsearch::operation::describe_domains::DescribeDomainsOutput;
        use aws_sdk_cloudsearch::operation::describe_expressions::DescribeExpressionsOutput;
        use aws_sdk_cloudsearch::operation::describe_index_fields::DescribeIndexFieldsOutput;
        use aws_sdk_cloudsearch::operation::describe_scaling_parameters::DescribeScalingParametersOutput;
        use aws_sdk_cloudsearch::operation::describe_service_access_policies::DescribeServiceAccessPoliciesOutput;
        use aws_sdk_cloudsearch::types::{
            AccessPoliciesStatus, DomainStatus, Expression, ExpressionStatus, OptionState,
            OptionStatus, ScalingParameters, ScalingParametersStatus, ServiceEndpoint,
        };
        use aws_sdk_cloudsearch::Client;
        use aws_smithy_mocks::{mock, RuleMode};

        let m = crate::resource::aws_defaults::Minimal::load(
            "[search.notes]\nengine = \"cloudsearch\"\n",
            "search.notes",
            &[],
        );
        let status = || {
            OptionStatus::builder()
                .creation_date(aws_smithy_types::DateTime::from_secs(0))
                .update_date(aws_smithy_types::DateTime::from_secs(0))
                .state(OptionState::Active)
                .build()
                .unwrap()
        };
        let marker = m.desired["ownership_marker"]
            .as_str()
            .expect("a marker")
            .to_string();
        let domains = mock!(Client::describe_domains).then_output(|| {
            DescribeDomainsOutput::builder()
                .domain_status_list(
                    DomainStatus::builder()
                        .domain_id("123456789012/demo-notes")
                        .domain_name("demo-notes")
                        .arn("arn:aws:cloudsearch:us-east-1:123456789012:domain/demo-notes")
                        .created(true)
                        .deleted(false)
                        .processing(false)
                        .requires_index_documents(false)
                        .search_instance_count(1)
                        .search_partition_count(1)
                        .doc_service(
                            ServiceEndpoint::builder()
                                .endpoint("doc-demo-notes-abc.us-east-1.cloudsearch.amazonaws.com")
                                .build(),
                        )
                        .search_service(
                            ServiceEndpoint::builder()
                                .endpoint(
                                    "search-demo-notes-abc.us-east-1.cloudsearch.amazonaws.com",
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap()
        });
        let fields = mock!(Client::describe_index_fields).then_output(|| {
            DescribeIndexFieldsOutput::builder()
                .set_index_fields(Some(vec![]))
                .build()
                .unwrap()
        });
        let policies = mock!(Client::describe_service_access_policies).then_output(move || {
            DescribeServiceAccessPoliciesOutput::builder()
                .access_policies(
                    AccessPoliciesStatus::builder()
                        .options("")
                        .status(status())
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let scaling = mock!(Client::describe_scaling_parameters).then_output(move || {
            DescribeScalingParametersOutput::builder()
                .scaling_parameters(
                    ScalingParametersStatus::builder()
                        .options(ScalingParameters::builder().build())
                        .status(status())
                        .build(),
                )
                .build()
        });
        let expressions = mock!(Client::describe_expressions).then_output(move || {
            DescribeExpressionsOutput::builder()
                .expressions(
                    ExpressionStatus::builder()
                        .options(
                            Expression::builder()
                                .expression_name(&marker)
                                .expression_value("0")
                                .build()
                                .unwrap(),
                        )
                        .status(status())
                        .build(),
                )
                .build()
                .unwrap()
        });
        let aws = Aws {
            cloudsearch: crate::aws::mock::mock_client!(
                aws_sdk_cloudsearch,
                RuleMode::MatchAny,
                [&domains, &fields, &policies, &scaling, &expressions]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        m.case(
            "a CloudSearch domain made from `engine = \"cloudsearch\"`",
            live,
        )
    }

    /// OpenSearch Service: `CreateDomain` is sent the engine version, one
    /// `t3.small.search` instance, 10 GiB of gp3 EBS and the tags, and no
    /// access policy; the domain reports them, with `AccessPolicies` ""
    /// (terraform-provider-aws `domain.go`: `access_policies` Optional +
    /// Computed, and an empty policy read as none) and the defaults it adds
    /// (no dedicated masters, no zone awareness, the default advanced
    /// options, EBS `Iops` 3000 and `Throughput` 125 for gp3).
    async fn opensearch_defaults() -> crate::resource::aws_defaults::Case {
        use aws_sdk_opensearch::operation::describe_domain::DescribeDomainOutput;
        use aws_sdk_opensearch::operation::list_tags::ListTagsOutput;
        use aws_sdk_opensearch::types::{
            ClusterConfig, DomainStatus, EbsOptions, OpenSearchPartitionInstanceType, Tag,
            VolumeType,
        };
        use aws_sdk_opensearch::Client;
        use aws_smithy_mocks::{mock, RuleMode};

        let m = crate::resource::aws_defaults::Minimal::load(
            "[search.notes]\nengine = \"opensearch\"\n",
            "search.notes",
            &[],
        );
        let tags = m.tags();
        let describe = mock!(Client::describe_domain).then_output(|| {
            DescribeDomainOutput::builder()
                .domain_status(
                    DomainStatus::builder()
                        .domain_id("123456789012/demo-notes")
                        .domain_name("demo-notes")
                        .arn("arn:aws:es:us-east-1:123456789012:domain/demo-notes")
                        .created(true)
                        .deleted(false)
                        .processing(false)
                        .upgrade_processing(false)
                        .endpoint("search-demo-notes-abc.us-east-1.es.amazonaws.com")
                        .engine_version("OpenSearch_2.19")
                        .cluster_config(
                            ClusterConfig::builder()
                                .instance_type(OpenSearchPartitionInstanceType::T3SmallSearch)
                                .instance_count(1)
                                .dedicated_master_enabled(false)
                                .zone_awareness_enabled(false)
                                .warm_enabled(false)
                                .multi_az_with_standby_enabled(false)
                                .build(),
                        )
                        .ebs_options(
                            EbsOptions::builder()
                                .ebs_enabled(true)
                                .volume_type(VolumeType::Gp3)
                                .volume_size(10)
                                .iops(3000)
                                .throughput(125)
                                .build(),
                        )
                        .access_policies("")
                        .advanced_options("indices.fielddata.cache.size", "20")
                        .advanced_options("indices.query.bool.max_clause_count", "1024")
                        .advanced_options("override_main_response_version", "false")
                        .advanced_options("rest.action.multi.allow_explicit_index", "true")
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let list_tags = mock!(Client::list_tags).then_output(move || {
            ListTagsOutput::builder()
                .set_tag_list(Some(
                    tags.iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
                        .collect(),
                ))
                .build()
        });
        let aws = Aws {
            opensearch: crate::aws::mock::mock_client!(
                aws_sdk_opensearch,
                RuleMode::MatchAny,
                [&describe, &list_tags]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        m.case(
            "an OpenSearch Service domain made from `engine = \"opensearch\"`",
            live,
        )
    }
}
