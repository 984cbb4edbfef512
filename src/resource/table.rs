//! `[table.<key>]` — a DynamoDB table.
//!
//! Key schema and name force replacement (a table holds data, so replacing is
//! refused without `--allow-replace`); billing, capacity, stream, global
//! secondary indexes, TTL, deletion protection and tags change in place, one
//! `UpdateTable` at a time with a wait for ACTIVE in between (DynamoDB accepts
//! one index creation or deletion per call).

use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_dynamodb::operation::update_table::builders::UpdateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType as SdkKeyType, Projection as SdkProjection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, StreamSpecification, StreamViewType,
    TableDescription, TableStatus, Tag, TimeToLiveSpecification, TimeToLiveStatus,
    UpdateGlobalSecondaryIndexAction,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::registry::{ResourceKind, Step};
use super::{tag_changes, wait_for, Change, Desired, Error, Live, Ownership};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::Address;
use crate::stack::Tags;

// ------------------------------------------------------------ schema ----

/// `[table.<key>]` — a DynamoDB table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Physical name; default `<stack>-<key>`. Changing it replaces the table.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing table made outside this tool: the table's name. When the stack
    /// owns no table for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The partition key. Changing it replaces the table, whose items are lost.
    pub hash_key: KeyAttribute,
    /// The sort key, if any. Changing it replaces the table.
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    /// `pay_per_request` (on demand, the default) or `provisioned` (with
    /// `read_capacity` and `write_capacity`).
    #[serde(default)]
    pub billing: Billing,
    /// Read capacity units, with `billing = "provisioned"`.
    #[serde(default)]
    pub read_capacity: Option<i64>,
    /// Write capacity units, with `billing = "provisioned"`.
    #[serde(default)]
    pub write_capacity: Option<i64>,
    /// The table's stream: `off` (the default), `keys_only`, `new_image`, `old_image`
    /// or `new_and_old_images`.
    #[serde(default)]
    pub stream: StreamView,
    /// Global secondary indexes, by index name.
    #[serde(default)]
    pub global_secondary_indexes: BTreeMap<String, GlobalSecondaryIndexSpec>,
    /// Name of the attribute that holds each item's expiry time (epoch seconds).
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// A protected table is never deleted: `destroy` stops and says to turn this off
    /// first.
    #[serde(default)]
    pub deletion_protection: bool,
    /// Tags of this table, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// A key attribute: its name and its DynamoDB type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// `S` (string), `N` (number) or `B` (binary).
    #[serde(rename = "type")]
    pub attribute_type: KeyType,
}

/// A DynamoDB key type: `S` (string), `N` (number) or `B` (binary).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum KeyType {
    S,
    N,
    B,
}

/// How a table is billed: `pay_per_request` (on demand) or `provisioned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    #[default]
    PayPerRequest,
    Provisioned,
}

/// What a table's stream records: `off`, `keys_only`, `new_image`, `old_image` or
/// `new_and_old_images`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StreamView {
    #[default]
    Off,
    KeysOnly,
    NewImage,
    OldImage,
    NewAndOldImages,
}

/// A global secondary index.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalSecondaryIndexSpec {
    /// The index's partition key.
    pub hash_key: KeyAttribute,
    /// The index's sort key, if any.
    #[serde(default)]
    pub range_key: Option<KeyAttribute>,
    /// `all` (default), `keys_only`, or a list of non-key attributes to include.
    #[serde(default)]
    pub projection: Projection,
    /// Read capacity units of the index, on a provisioned table.
    #[serde(default)]
    pub read_capacity: Option<i64>,
    /// Write capacity units of the index, on a provisioned table.
    #[serde(default)]
    pub write_capacity: Option<i64>,
}

/// What an index holds besides the keys: `all`, `keys_only`, or a list of non-key
/// attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Projection {
    Named(ProjectionName),
    Include(Vec<String>),
}

impl Default for Projection {
    fn default() -> Self {
        Projection::Named(ProjectionName::All)
    }
}

/// `all` attributes, or `keys_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionName {
    All,
    KeysOnly,
}

crate::spec_fields!(TableSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("hash_key", Change::Replace),
    ("range_key", Change::Replace),
    ("billing", Change::Update),
    ("read_capacity", Change::Update),
    ("write_capacity", Change::Update),
    ("stream", Change::Update),
    ("global_secondary_indexes", Change::Update),
    ("ttl_attribute", Change::Update),
    ("deletion_protection", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. The desired value is
/// DynamoDB's own default wherever the stack is silent, and the read maps
/// AWS's "not configured" answers to the same values: on-demand billing
/// without throughput, `stream = "off"` for an absent `StreamSpecification`
/// (or one with `StreamEnabled = false`), no TTL for `DISABLED` without an
/// attribute name, deletion protection off (`DeletionProtectionEnabled`
/// false). The table class (`TableClassSummary` absent = STANDARD) is not
/// compared.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `[table.<key>]`: a DynamoDB table.
pub struct TableKind;

impl Step for TableKind {
    type Config = TableConfig;
    type Spec = TableSpec;
    const NOUN: &'static str = "DynamoDB table";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 3;
    const HOLDS_DATA: bool = true;

    fn data_loss(name: &str) -> String {
        format!("replacing table `{name}` deletes every item in it")
    }

    fn desired(
        spec: &Self::Spec,
        _address: &Address,
        name: &str,
        tags: crate::stack::Tags,
        _ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        desired(spec, name, tags)
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        let mut live = read(aws, target.stack, target.address, target.name, target.plan).await?;
        if let (Some(live), Some(super::Spec::Table(spec))) = (live.as_mut(), target.spec) {
            forget_a_stream_to_be_replaced(live, spec.stream);
        }
        Ok(live)
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

    const OUTPUTS: &'static [&'static str] = &["name", "arn", "stream_arn"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["name", "stream_arn"];
    const SWIFT_SECTION: &'static str = "Tables";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::Database);
}

impl ResourceKind for TableKind {
    const NAME: &'static str = "table";
    const DESCRIPTION: &'static str = "DynamoDB tables, by key.";
    const REFERENCES: &'static [&'static str] = &["name", "arn", "stream_arn"];
    const ADOPTS_BY_NAME: bool = true;

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 3, 255)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
            "letters, digits, `_`, `-` and `.`",
        )
    }

    fn tagged_name(arn: &str) -> Option<String> {
        arn.split_once(":table/").map(|(_, n)| n.to_string())
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        let address = c.address().clone();
        let t = spec;
        match t.billing {
            Billing::PayPerRequest => {
                for (field, v) in [
                    ("read_capacity", t.read_capacity),
                    ("write_capacity", t.write_capacity),
                ] {
                    if v.is_some() {
                        c.error(
                            c.span(&[field]),
                            format!(
                                "`{address}`: `{field}` is only for `billing = \"provisioned\"`"
                            ),
                            Some("remove it, or set `billing = \"provisioned\"`".into()),
                        );
                    }
                }
            }
            Billing::Provisioned => {
                for (field, v) in [
                    ("read_capacity", t.read_capacity),
                    ("write_capacity", t.write_capacity),
                ] {
                    match v {
                        None => c.error(
                            c.span(&["billing"]),
                            format!("`{address}`: `billing = \"provisioned\"` needs `{field}`"),
                            None,
                        ),
                        Some(n) if n < 1 => c.error(
                            c.span(&[field]),
                            format!("`{address}`: `{field}` must be at least 1"),
                            None,
                        ),
                        _ => {}
                    }
                }
            }
        }
        let mut types: std::collections::BTreeMap<&str, KeyType> =
            std::collections::BTreeMap::new();
        let mut keys = vec![(vec!["hash_key"], &t.hash_key)];
        if let Some(r) = &t.range_key {
            keys.push((vec!["range_key"], r));
        }
        for (name, gsi) in &t.global_secondary_indexes {
            if !(3..=255).contains(&name.len())
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                c.error(
                    c.span(&["global_secondary_indexes", name]),
                    format!("`{address}`: index name `{name}` must be 3 to 255 characters of letters, digits, `_`, `-` and `.`"),
                    None,
                );
            }
            if t.billing == Billing::PayPerRequest
                && (gsi.read_capacity.is_some() || gsi.write_capacity.is_some())
            {
                c.error(
                    c.span(&["global_secondary_indexes", name]),
                    format!("`{address}`: index `{name}` sets capacity, but the table is `pay_per_request`"),
                    None,
                );
            }
            keys.push((
                vec!["global_secondary_indexes", name.as_str(), "hash_key"],
                &gsi.hash_key,
            ));
            if let Some(r) = &gsi.range_key {
                keys.push((
                    vec!["global_secondary_indexes", name.as_str(), "range_key"],
                    r,
                ));
            }
        }
        for (path, key) in keys {
            if key.name.is_empty() {
                c.error(
                    c.span(&path),
                    format!("`{address}`: a key attribute needs a name"),
                    None,
                );
                continue;
            }
            if let Some(prev) = types.insert(&key.name, key.attribute_type) {
                if prev != key.attribute_type {
                    c.error(
                        c.span(&path),
                        format!(
                            "`{address}`: attribute `{}` is used as a key with type {:?} and {:?}",
                            key.name, prev, key.attribute_type
                        ),
                        Some("DynamoDB stores one type per key attribute".into()),
                    );
                }
            }
        }
        if let Some(ttl) = &t.ttl_attribute {
            if ttl.is_empty() {
                c.error(
                    c.span(&["ttl_attribute"]),
                    format!("`{address}`: `ttl_attribute` is empty"),
                    None,
                );
            }
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn"];
    const ADOPT_LIST_RANK: u8 = 0;

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

const WAIT: Duration = Duration::from_secs(20 * 60);

/// The comparable shape of a table, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableConfig {
    pub name: String,
    pub hash_key: KeyAttribute,
    pub range_key: Option<KeyAttribute>,
    pub billing: Billing,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
    pub stream: StreamView,
    pub global_secondary_indexes: BTreeMap<String, IndexConfig>,
    pub ttl_attribute: Option<String>,
    pub deletion_protection: bool,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexConfig {
    pub hash_key: KeyAttribute,
    pub range_key: Option<KeyAttribute>,
    pub projection: Projection,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
}

impl IndexConfig {
    /// Whether going from `self` to `other` needs the index rebuilt.
    fn same_shape(&self, other: &IndexConfig) -> bool {
        self.hash_key == other.hash_key
            && self.range_key == other.range_key
            && self.projection == other.projection
    }
}

pub(crate) fn desired(spec: &TableSpec, name: &str, tags: Tags) -> Result<Value, String> {
    let provisioned = spec.billing == Billing::Provisioned;
    let config = TableConfig {
        name: name.to_string(),
        hash_key: spec.hash_key.clone(),
        range_key: spec.range_key.clone(),
        billing: spec.billing,
        read_capacity: spec.read_capacity.filter(|_| provisioned),
        write_capacity: spec.write_capacity.filter(|_| provisioned),
        stream: spec.stream,
        global_secondary_indexes: spec
            .global_secondary_indexes
            .iter()
            .map(|(index, g)| {
                (
                    index.clone(),
                    IndexConfig {
                        hash_key: g.hash_key.clone(),
                        range_key: g.range_key.clone(),
                        projection: normalize_projection(g.projection.clone()),
                        // An index of a provisioned table has its own capacity;
                        // by default the table's.
                        read_capacity: provisioned
                            .then(|| g.read_capacity.or(spec.read_capacity))
                            .flatten(),
                        write_capacity: provisioned
                            .then(|| g.write_capacity.or(spec.write_capacity))
                            .flatten(),
                    },
                )
            })
            .collect(),
        ttl_attribute: spec.ttl_attribute.clone(),
        deletion_protection: spec.deletion_protection,
        tags,
    };
    serde_json::to_value(config).map_err(|e| e.to_string())
}

fn normalize_projection(p: Projection) -> Projection {
    match p {
        Projection::Include(mut attrs) => {
            attrs.sort();
            attrs.dedup();
            Projection::Include(attrs)
        }
        other => other,
    }
}

fn arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:{}:dynamodb:{}:{}:table/{}",
        aws.partition, aws.region, aws.account_id, name
    )
}

fn is_not_found<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    error_code(e) == Some("ResourceNotFoundException")
}

// ------------------------------------------------------------------ read ----

/// Reads a table in one round trip: DescribeTable, DescribeTimeToLive and
/// ListTagsOfResource are independent (the ARN is derived), so they go out
/// together. The tags are not read when the plan's tagging API listing
/// reports the table with the tags the stack wants (`plan`, see
/// [`super::tags_as_listed`]); otherwise they are read as soon as
/// that listing has answered.
pub(crate) async fn read(
    aws: &Aws,
    stack: &str,
    address: &Address,
    name: &str,
    plan: Option<super::PlanTarget<'_>>,
) -> Result<Option<Live>, Error> {
    let table_arn = arn(aws, name);
    let (described, tags, ttl) = tokio::join!(
        describe(aws, name),
        async {
            match super::tags_as_listed(plan, aws, &table_arn).await {
                Some(tags) => Ok(tags),
                None => list_tags(aws, &table_arn).await,
            }
        },
        aws.dynamodb.describe_time_to_live().table_name(name).send(),
    );
    let Some(table) = described? else {
        return Ok(None);
    };
    let tags = match tags {
        Ok(t) => t,
        // Created between the calls, or deleted: read tags again by the real ARN.
        Err(_) => list_tags(aws, table.table_arn().unwrap_or_default()).await?,
    };
    let ttl_attribute = match ttl {
        Ok(out) => out
            .time_to_live_description
            .and_then(|d| match d.time_to_live_status {
                Some(TimeToLiveStatus::Enabled) | Some(TimeToLiveStatus::Enabling) => {
                    d.attribute_name
                }
                _ => None,
            }),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(Error::aws("dynamodb:DescribeTimeToLive", &e)),
    };
    let config = config_from_description(&table, ttl_attribute, tags.clone())?;
    let ownership = Ownership::from_tags(&tags, stack, address);
    Ok(Some(Live {
        address: address.clone(),
        physical_name: name.to_string(),
        attributes: serde_json::to_value(&config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(&table),
        ownership,
    }))
}

/// A stream of another view than the stack's is replaced by `up` (disabled,
/// then enabled: a new stream with a new ARN), and so is one the stack turns
/// off. Its ARN is then not the value references to `stream_arn` get (a
/// role's policy, a function's trigger): it is left out of the outputs, so
/// the plan shows those as known after apply and one `up` converges.
fn forget_a_stream_to_be_replaced(live: &mut Live, wanted: StreamView) {
    let have: Option<StreamView> = live
        .attributes
        .get("stream")
        .and_then(|s| serde_json::from_value(s.clone()).ok());
    if have != Some(wanted) {
        live.outputs.remove("stream_arn");
    }
}

async fn list_tags(aws: &Aws, arn: &str) -> Result<Tags, Error> {
    let tags = super::all_pages(|token| async move {
        let out = aws
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb:ListTagsOfResource", &e))?;
        let tags: Vec<(String, String)> = out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Ok((tags, out.next_token))
    })
    .await?;
    Ok(tags.into_iter().collect())
}

fn outputs(table: &TableDescription) -> BTreeMap<String, String> {
    let mut o = BTreeMap::new();
    if let Some(n) = table.table_name() {
        o.insert("name".into(), n.to_string());
    }
    if let Some(a) = table.table_arn() {
        o.insert("arn".into(), a.to_string());
    }
    if let Some(s) = table.latest_stream_arn() {
        if table
            .stream_specification()
            .is_some_and(|s| s.stream_enabled())
        {
            o.insert("stream_arn".into(), s.to_string());
        }
    }
    o
}

fn key_attribute(
    schema: &[KeySchemaElement],
    definitions: &[AttributeDefinition],
    key_type: SdkKeyType,
) -> Result<Option<KeyAttribute>, Error> {
    let Some(element) = schema.iter().find(|k| k.key_type() == &key_type) else {
        return Ok(None);
    };
    let name = element.attribute_name();
    let attribute_type = definitions
        .iter()
        .find(|d| d.attribute_name() == name)
        .map(|d| match d.attribute_type() {
            ScalarAttributeType::N => Ok(KeyType::N),
            ScalarAttributeType::B => Ok(KeyType::B),
            ScalarAttributeType::S => Ok(KeyType::S),
            other => Err(Error::Unexpected(format!(
                "unknown attribute type {other:?} for key `{name}`"
            ))),
        })
        .transpose()?
        .ok_or_else(|| Error::Unexpected(format!("key `{name}` has no attribute definition")))?;
    Ok(Some(KeyAttribute {
        name: name.to_string(),
        attribute_type,
    }))
}

fn config_from_description(
    table: &TableDescription,
    ttl_attribute: Option<String>,
    tags: Tags,
) -> Result<TableConfig, Error> {
    let definitions = table.attribute_definitions();
    let hash_key = key_attribute(table.key_schema(), definitions, SdkKeyType::Hash)?
        .ok_or_else(|| Error::Unexpected("the table reports no hash key".into()))?;
    let range_key = key_attribute(table.key_schema(), definitions, SdkKeyType::Range)?;
    // No BillingModeSummary means PROVISIONED (tables created before on-demand existed).
    let billing = match table.billing_mode_summary().and_then(|b| b.billing_mode()) {
        Some(BillingMode::PayPerRequest) => Billing::PayPerRequest,
        _ => Billing::Provisioned,
    };
    let provisioned = billing == Billing::Provisioned;
    let throughput = |read: Option<i64>, write: Option<i64>| {
        if provisioned {
            (read, write)
        } else {
            (None, None)
        }
    };
    let (read_capacity, write_capacity) = throughput(
        table
            .provisioned_throughput()
            .and_then(|t| t.read_capacity_units()),
        table
            .provisioned_throughput()
            .and_then(|t| t.write_capacity_units()),
    );
    let stream = match table.stream_specification() {
        Some(s) if s.stream_enabled() => match s.stream_view_type() {
            Some(StreamViewType::KeysOnly) => StreamView::KeysOnly,
            Some(StreamViewType::NewImage) => StreamView::NewImage,
            Some(StreamViewType::OldImage) => StreamView::OldImage,
            Some(StreamViewType::NewAndOldImages) => StreamView::NewAndOldImages,
            _ => StreamView::Off,
        },
        _ => StreamView::Off,
    };
    let mut global_secondary_indexes = BTreeMap::new();
    for g in table.global_secondary_indexes() {
        let Some(name) = g.index_name() else { continue };
        let hash_key = key_attribute(g.key_schema(), definitions, SdkKeyType::Hash)?
            .ok_or_else(|| Error::Unexpected(format!("index `{name}` reports no hash key")))?;
        let range_key = key_attribute(g.key_schema(), definitions, SdkKeyType::Range)?;
        let projection = match g.projection() {
            Some(p) => match p.projection_type() {
                Some(ProjectionType::KeysOnly) => Projection::Named(ProjectionName::KeysOnly),
                Some(ProjectionType::Include) => {
                    normalize_projection(Projection::Include(p.non_key_attributes().to_vec()))
                }
                _ => Projection::Named(ProjectionName::All),
            },
            None => Projection::Named(ProjectionName::All),
        };
        let (read_capacity, write_capacity) = throughput(
            g.provisioned_throughput()
                .and_then(|t| t.read_capacity_units()),
            g.provisioned_throughput()
                .and_then(|t| t.write_capacity_units()),
        );
        global_secondary_indexes.insert(
            name.to_string(),
            IndexConfig {
                hash_key,
                range_key,
                projection,
                read_capacity,
                write_capacity,
            },
        );
    }
    Ok(TableConfig {
        name: table.table_name().unwrap_or_default().to_string(),
        hash_key,
        range_key,
        billing,
        read_capacity,
        write_capacity,
        stream,
        global_secondary_indexes,
        ttl_attribute,
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        tags,
    })
}

// ---------------------------------------------------------------- create ----

fn parse(desired: &Desired) -> Result<TableConfig, Error> {
    serde_json::from_value(desired.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", desired.address)))
}

fn sdk_key_type(t: KeyType) -> ScalarAttributeType {
    match t {
        KeyType::S => ScalarAttributeType::S,
        KeyType::N => ScalarAttributeType::N,
        KeyType::B => ScalarAttributeType::B,
    }
}

fn key_schema(hash: &KeyAttribute, range: Option<&KeyAttribute>) -> Vec<KeySchemaElement> {
    let mut schema = vec![KeySchemaElement::builder()
        .attribute_name(&hash.name)
        .key_type(SdkKeyType::Hash)
        .build()
        .expect("attribute name and key type are set")];
    if let Some(r) = range {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(&r.name)
                .key_type(SdkKeyType::Range)
                .build()
                .expect("attribute name and key type are set"),
        );
    }
    schema
}

/// Every key attribute of the table and of the given indexes, once each.
fn attribute_definitions<'a>(
    config: &'a TableConfig,
    indexes: impl Iterator<Item = &'a IndexConfig>,
) -> Vec<AttributeDefinition> {
    let mut seen = BTreeMap::new();
    let mut add = |k: &KeyAttribute| {
        seen.entry(k.name.clone()).or_insert(k.attribute_type);
    };
    add(&config.hash_key);
    if let Some(r) = &config.range_key {
        add(r);
    }
    for g in indexes {
        add(&g.hash_key);
        if let Some(r) = &g.range_key {
            add(r);
        }
    }
    seen.into_iter()
        .map(|(name, t)| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(sdk_key_type(t))
                .build()
                .expect("attribute name and type are set")
        })
        .collect()
}

fn throughput(read: Option<i64>, write: Option<i64>) -> Option<ProvisionedThroughput> {
    match (read, write) {
        (Some(r), Some(w)) => Some(
            ProvisionedThroughput::builder()
                .read_capacity_units(r)
                .write_capacity_units(w)
                .build()
                .expect("capacities are set"),
        ),
        _ => None,
    }
}

fn sdk_projection(p: &Projection) -> SdkProjection {
    match p {
        Projection::Named(ProjectionName::All) => SdkProjection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        Projection::Named(ProjectionName::KeysOnly) => SdkProjection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        Projection::Include(attrs) => SdkProjection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attrs.clone()))
            .build(),
    }
}

/// An index's new provisioned capacity, as one index update.
fn index_capacity_update(index: &str, t: ProvisionedThroughput) -> GlobalSecondaryIndexUpdate {
    GlobalSecondaryIndexUpdate::builder()
        .update(
            UpdateGlobalSecondaryIndexAction::builder()
                .index_name(index)
                .provisioned_throughput(t)
                .build()
                .expect("name and throughput are set"),
        )
        .build()
}

fn stream_specification(stream: StreamView) -> StreamSpecification {
    let view = match stream {
        StreamView::Off => {
            return StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .expect("enabled is set")
        }
        StreamView::KeysOnly => StreamViewType::KeysOnly,
        StreamView::NewImage => StreamViewType::NewImage,
        StreamView::OldImage => StreamViewType::OldImage,
        StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
    };
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .expect("enabled is set")
}

fn billing_mode(b: Billing) -> BillingMode {
    match b {
        Billing::PayPerRequest => BillingMode::PayPerRequest,
        Billing::Provisioned => BillingMode::Provisioned,
    }
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

pub(crate) async fn create(
    aws: &Aws,
    desired: &Desired,
) -> Result<BTreeMap<String, String>, Error> {
    let config = parse(desired)?;
    let indexes: Vec<GlobalSecondaryIndex> = config
        .global_secondary_indexes
        .iter()
        .map(|(name, g)| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(key_schema(&g.hash_key, g.range_key.as_ref())))
                .projection(sdk_projection(&g.projection))
                .set_provisioned_throughput(throughput(g.read_capacity, g.write_capacity))
                .build()
                .expect("name and key schema are set")
        })
        .collect();
    let mut request = aws
        .dynamodb
        .create_table()
        .table_name(&config.name)
        .set_attribute_definitions(Some(attribute_definitions(
            &config,
            config.global_secondary_indexes.values(),
        )))
        .set_key_schema(Some(key_schema(
            &config.hash_key,
            config.range_key.as_ref(),
        )))
        .billing_mode(billing_mode(config.billing))
        .set_provisioned_throughput(throughput(config.read_capacity, config.write_capacity))
        .deletion_protection_enabled(config.deletion_protection)
        // Tags go with the create call, so a table never exists without its owner.
        .set_tags(Some(sdk_tags(&config.tags)));
    if config.stream != StreamView::Off {
        request = request.stream_specification(stream_specification(config.stream));
    }
    if !indexes.is_empty() {
        request = request.set_global_secondary_indexes(Some(indexes));
    }
    let created = request
        .send()
        .await
        .map_err(|e| Error::aws("dynamodb:CreateTable", &e))?;
    // AWS answers CREATING and the wait polls; a table that is ACTIVE with
    // its indexes in the answer already (as emulators make it) needs no poll.
    let table = match created.table_description {
        Some(t) if is_active(&t) => t,
        _ => wait_active(aws, &config.name).await?,
    };
    if let Some(attribute) = &config.ttl_attribute {
        set_ttl(aws, &config.name, attribute, true).await?;
    }
    Ok(outputs(&table))
}

/// Turns TTL on `new` and off `old`. DynamoDB allows one TTL change per
/// table per hour (a second `UpdateTimeToLive` within the hour is refused),
/// so a rename takes two runs an hour apart: this one turns the old
/// attribute off and stops with a message; the next `up` after the hour
/// turns the new one on (its plan shows the change until then).
async fn change_ttl(
    aws: &Aws,
    name: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> Result<(), Error> {
    match (old, new) {
        (Some(old), Some(new)) => {
            set_ttl(aws, name, old, false).await?;
            Err(Error::Refused(format!(
                "table `{name}`: TTL on `{old}` is now off. DynamoDB allows one TTL change per table per hour, so TTL on `{new}` cannot be turned on in the same run: run `up` again in an hour to finish the rename"
            )))
        }
        (Some(old), None) => set_ttl(aws, name, old, false).await,
        (None, Some(new)) => set_ttl(aws, name, new, true).await,
        (None, None) => Ok(()),
    }
}

/// Whether DynamoDB refused a TTL change because TTL changed less than an
/// hour ago ("Time to live has been modified multiple times within a fixed
/// interval").
fn is_ttl_hourly_limit(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationException")
        && message.is_some_and(|m| m.contains("multiple times within a fixed interval"))
}

async fn set_ttl(aws: &Aws, name: &str, attribute: &str, enabled: bool) -> Result<(), Error> {
    let result = aws
        .dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(attribute)
                .enabled(enabled)
                .build()
                .expect("name and flag are set"),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_ttl_hourly_limit(
            crate::aws::error_code(&e),
            crate::aws::error_message(&e),
        ) =>
        {
            Err(Error::Refused(format!(
                "table `{name}`: TTL was changed less than an hour ago, and DynamoDB allows one TTL change per table per hour (ValidationException): run `up` again later to turn TTL {} on `{attribute}`",
                if enabled { "on" } else { "off" }
            )))
        }
        Err(e) => Err(Error::aws("dynamodb:UpdateTimeToLive", &e)),
    }
}

/// DescribeTable; `None` when there is no such table.
async fn describe(aws: &Aws, name: &str) -> Result<Option<TableDescription>, Error> {
    match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(out) => Ok(out.table),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws("dynamodb:DescribeTable", &e)),
    }
}

/// DescribeTable of a table that must exist.
async fn describe_existing(aws: &Aws, name: &str) -> Result<TableDescription, Error> {
    describe(aws, name)
        .await?
        .ok_or_else(|| Error::Unexpected(format!("table {name} vanished while being changed")))
}

/// Whether the table and all its indexes are ACTIVE.
fn is_active(table: &TableDescription) -> bool {
    table.table_status() == Some(&TableStatus::Active)
        && table
            .global_secondary_indexes()
            .iter()
            .all(|g| g.index_status().is_none_or(|s| s.as_str() == "ACTIVE"))
}

/// Waits until the table and all its indexes are ACTIVE; returns the description.
pub(crate) async fn wait_active(aws: &Aws, name: &str) -> Result<TableDescription, Error> {
    wait_for(&format!("table {name}"), WAIT, || async {
        let table = describe_existing(aws, name).await?;
        let status = table.table_status().cloned();
        let busy_index = table
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_status().is_some_and(|s| s.as_str() != "ACTIVE"))
            .map(|g| {
                format!(
                    "index {} {}",
                    g.index_name().unwrap_or("?"),
                    g.index_status().map(|s| s.as_str()).unwrap_or("")
                )
            });
        Ok(match (status, busy_index) {
            (Some(TableStatus::Active), None) => ControlFlow::Break(table),
            (Some(TableStatus::Active), Some(index)) => ControlFlow::Continue(index),
            (Some(other), _) => ControlFlow::Continue(other.as_str().to_string()),
            (None, _) => ControlFlow::Continue("no status".to_string()),
        })
    })
    .await
}

// ---------------------------------------------------------------- update ----

pub(crate) async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
) -> Result<BTreeMap<String, String>, Error> {
    let want = parse(desired)?;
    let have: TableConfig = serde_json::from_value(live.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", live.address)))?;
    let name = want.name.as_str();
    let arn = live
        .outputs
        .get("arn")
        .cloned()
        .unwrap_or_else(|| arn(aws, name));

    delete_reshaped_indexes(aws, &want, &have).await?;
    update_capacity(aws, &want, &have).await?;
    create_indexes(aws, &want, &have).await?;
    update_stream(aws, name, have.stream, want.stream).await?;
    if want.deletion_protection != have.deletion_protection {
        let request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(want.deletion_protection);
        update_and_wait(aws, name, request).await?;
    }
    update_tags(aws, &arn, &want.tags, &have.tags).await?;
    // Last: a TTL rename ends the run (see `change_ttl`).
    if want.ttl_attribute != have.ttl_attribute {
        change_ttl(
            aws,
            name,
            have.ttl_attribute.as_deref(),
            want.ttl_attribute.as_deref(),
        )
        .await?;
    }
    Ok(outputs(&describe_existing(aws, name).await?))
}

/// Sends one `UpdateTable`.
async fn send_update(request: UpdateTableFluentBuilder) -> Result<(), Error> {
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::aws("dynamodb:UpdateTable", &e))
}

/// Sends one `UpdateTable` and waits until the table and its indexes are
/// ACTIVE again.
async fn update_and_wait(
    aws: &Aws,
    name: &str,
    request: UpdateTableFluentBuilder,
) -> Result<(), Error> {
    send_update(request).await?;
    wait_active(aws, name).await?;
    Ok(())
}

/// Whether the live table has the index `index` in the shape `g` wants (so
/// it is kept, with at most its capacity changed).
fn keeps_index(have: &TableConfig, index: &str, g: &IndexConfig) -> bool {
    have.global_secondary_indexes
        .get(index)
        .is_some_and(|h| h.same_shape(g))
}

/// Indexes whose shape changed are deleted first (then created again by
/// [`create_indexes`]), one per call.
async fn delete_reshaped_indexes(
    aws: &Aws,
    want: &TableConfig,
    have: &TableConfig,
) -> Result<(), Error> {
    let name = want.name.as_str();
    let removed: Vec<&String> = have
        .global_secondary_indexes
        .iter()
        .filter(|(n, g)| {
            want.global_secondary_indexes
                .get(*n)
                .is_none_or(|w| !w.same_shape(g))
        })
        .map(|(n, _)| n)
        .collect();
    for index in removed {
        let request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .delete(
                        DeleteGlobalSecondaryIndexAction::builder()
                            .index_name(index)
                            .build()
                            .expect("name is set"),
                    )
                    .build(),
            );
        send_update(request).await?;
        wait_index_gone(aws, name, index).await?;
    }
    Ok(())
}

/// Billing and capacity, with every kept index's capacity when provisioned;
/// with the same billing, only the indexes whose capacity alone changed.
async fn update_capacity(aws: &Aws, want: &TableConfig, have: &TableConfig) -> Result<(), Error> {
    let name = want.name.as_str();
    if want.billing != have.billing
        || want.read_capacity != have.read_capacity
        || want.write_capacity != have.write_capacity
    {
        let mut request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .billing_mode(billing_mode(want.billing))
            .set_provisioned_throughput(throughput(want.read_capacity, want.write_capacity));
        if want.billing == Billing::Provisioned {
            for (index, g) in &want.global_secondary_indexes {
                if keeps_index(have, index, g) {
                    if let Some(t) = throughput(g.read_capacity, g.write_capacity) {
                        request =
                            request.global_secondary_index_updates(index_capacity_update(index, t));
                    }
                }
            }
        }
        update_and_wait(aws, name, request).await?;
    } else if want.billing == Billing::Provisioned {
        for (index, g) in &want.global_secondary_indexes {
            let Some(h) = have.global_secondary_indexes.get(index) else {
                continue;
            };
            if h.same_shape(g)
                && (h.read_capacity != g.read_capacity || h.write_capacity != g.write_capacity)
            {
                if let Some(t) = throughput(g.read_capacity, g.write_capacity) {
                    let request = aws
                        .dynamodb
                        .update_table()
                        .table_name(name)
                        .global_secondary_index_updates(index_capacity_update(index, t));
                    update_and_wait(aws, name, request).await?;
                }
            }
        }
    }
    Ok(())
}

/// New (or rebuilt) indexes, one per call.
async fn create_indexes(aws: &Aws, want: &TableConfig, have: &TableConfig) -> Result<(), Error> {
    let name = want.name.as_str();
    for (index, g) in &want.global_secondary_indexes {
        if keeps_index(have, index, g) {
            continue;
        }
        let request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions(want, std::iter::once(g))))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(
                        CreateGlobalSecondaryIndexAction::builder()
                            .index_name(index)
                            .set_key_schema(Some(key_schema(&g.hash_key, g.range_key.as_ref())))
                            .projection(sdk_projection(&g.projection))
                            .set_provisioned_throughput(throughput(
                                g.read_capacity,
                                g.write_capacity,
                            ))
                            .build()
                            .expect("name and key schema are set"),
                    )
                    .build(),
            );
        update_and_wait(aws, name, request).await?;
    }
    Ok(())
}

/// A stream's view type cannot change while it is enabled: disable, then enable.
async fn update_stream(
    aws: &Aws,
    name: &str,
    have: StreamView,
    want: StreamView,
) -> Result<(), Error> {
    if want == have {
        return Ok(());
    }
    if have != StreamView::Off {
        let request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .stream_specification(stream_specification(StreamView::Off));
        update_and_wait(aws, name, request).await?;
    }
    if want != StreamView::Off {
        let request = aws
            .dynamodb
            .update_table()
            .table_name(name)
            .stream_specification(stream_specification(want));
        update_and_wait(aws, name, request).await?;
    }
    Ok(())
}

async fn update_tags(aws: &Aws, arn: &str, want: &Tags, have: &Tags) -> Result<(), Error> {
    let (set, remove) = tag_changes(want, have);
    if !set.is_empty() {
        aws.dynamodb
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(&set)))
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb:TagResource", &e))?;
    }
    if !remove.is_empty() {
        aws.dynamodb
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb:UntagResource", &e))?;
    }
    Ok(())
}

async fn wait_index_gone(aws: &Aws, name: &str, index: &str) -> Result<(), Error> {
    wait_for(&format!("table {name} index {index}"), WAIT, || async {
        let table = describe_existing(aws, name).await?;
        let still = table
            .global_secondary_indexes()
            .iter()
            .any(|g| g.index_name() == Some(index));
        let status = table.table_status().map(|s| s.as_str().to_string());
        Ok(if still {
            ControlFlow::Continue("DELETING index".to_string())
        } else if status.as_deref() != Some("ACTIVE") {
            ControlFlow::Continue(status.unwrap_or_default())
        } else {
            ControlFlow::Break(())
        })
    })
    .await
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let name = live.physical_name.as_str();
    if live.attributes.get("deletion_protection") == Some(&Value::Bool(true)) {
        return Err(Error::Refused(format!(
            "table {name} has deletion protection on; set `deletion_protection = false` in `[{}]`, run `up`, then delete it",
            live.address
        )));
    }
    match aws.dynamodb.delete_table().table_name(name).send().await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(Error::aws("dynamodb:DeleteTable", &e)),
    }
    wait_for(&format!("table {name}"), WAIT, || async {
        Ok(match describe(aws, name).await? {
            None => ControlFlow::Break(()),
            Some(t) => ControlFlow::Continue(
                t.table_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "DELETING".into()),
            ),
        })
    })
    .await
}

// ---- adopt ----

/// Every table in the account but the stack lock's, as (name, name).
async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = aws
            .dynamodb
            .list_tables()
            .set_exclusive_start_table_name(start)
            .send()
            .await
            .map_err(|e| Error::aws("dynamodb:ListTables", &e).to_string())?;
        names.extend(out.table_names().iter().cloned());
        start = out.last_evaluated_table_name;
        if start.is_none() {
            // The stack lock's table belongs to no stack.
            let lock = crate::lock::table_name();
            names.retain(|n| *n != lock);
            return Ok(adopt::named(names));
        }
    }
}

/// The table's keys, billing, stream, indexes, TTL and deletion protection.
fn adopt_write(_w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.json("hash_key", a.get("hash_key"), None);
    s.json("range_key", a.get("range_key"), None);
    let provisioned = a.get("billing").and_then(Value::as_str) == Some("provisioned");
    s.json(
        "billing",
        a.get("billing"),
        Some(Value::from("pay_per_request")),
    );
    s.json("read_capacity", a.get("read_capacity"), None);
    s.json("write_capacity", a.get("write_capacity"), None);
    s.json("stream", a.get("stream"), Some(Value::from("off")));
    if let Some(Value::Object(indexes)) = a.get("global_secondary_indexes") {
        let mut out = serde_json::Map::new();
        for (index, g) in indexes {
            let mut g = g.clone();
            if let Value::Object(o) = &mut g {
                if o.get("projection") == Some(&Value::from("all")) {
                    o.remove("projection");
                }
                // An index's capacity defaults to the table's.
                for c in ["read_capacity", "write_capacity"] {
                    if !provisioned || o.get(c) == a.get(c) {
                        o.remove(c);
                    }
                }
            }
            out.insert(index.clone(), g);
        }
        s.json("global_secondary_indexes", Some(&Value::Object(out)), None);
    }
    s.json("ttl_attribute", a.get("ttl_attribute"), None);
    s.json(
        "deletion_protection",
        a.get("deletion_protection"),
        Some(Value::Bool(false)),
    );
}

#[cfg(test)]
pub(crate) mod tests {
    //! Waits and request shapes with mocked DynamoDB responses: the emulator
    //! has no lifecycle states, so this is where CREATING/UPDATING are seen.

    use crate::aws::mock::mock_client;
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
    use aws_sdk_dynamodb::operation::update_table::UpdateTableOutput;
    use aws_sdk_dynamodb::types::{GlobalSecondaryIndexDescription, IndexStatus};
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use serde_json::json;

    use super::*;

    fn described(status: TableStatus, index: Option<IndexStatus>) -> DescribeTableOutput {
        let mut t = TableDescription::builder()
            .table_name("demo-notes")
            .table_arn("arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes")
            .table_status(status);
        if let Some(s) = index {
            t = t.global_secondary_indexes(
                GlobalSecondaryIndexDescription::builder()
                    .index_name("by_date")
                    .index_status(s)
                    .build(),
            );
        }
        DescribeTableOutput::builder().table(t.build()).build()
    }

    #[tokio::test(start_paused = true)]
    async fn wait_active_polls_until_the_table_and_its_indexes_are_active() {
        let rule = mock!(Client::describe_table)
            .sequence()
            .output(|| described(TableStatus::Creating, Some(IndexStatus::Creating)))
            .output(|| described(TableStatus::Active, Some(IndexStatus::Creating)))
            .output(|| described(TableStatus::Active, Some(IndexStatus::Active)))
            .build();
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
            ..Aws::for_tests()
        };
        let table = wait_active(&aws, "demo-notes")
            .await
            .expect("becomes active");
        assert_eq!(rule.num_calls(), 3);
        assert_eq!(table.table_status(), Some(&TableStatus::Active));
    }

    #[tokio::test(start_paused = true)]
    async fn wait_active_gives_up_with_a_message_that_says_how_to_resume() {
        let rule = mock!(Client::describe_table)
            .sequence()
            .output(|| described(TableStatus::Updating, None))
            .repeatedly()
            .build();
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [&rule]),
            ..Aws::for_tests()
        };
        let err = wait_active(&aws, "demo-notes")
            .await
            .expect_err("times out");
        let text = err.to_string();
        assert!(text.contains("still UPDATING"), "{text}");
        assert!(text.contains("run `up` again"), "{text}");
        // Backoff caps at 5 s: a 20-minute wait is a few hundred polls, not thousands.
        assert!(
            rule.num_calls() > 200 && rule.num_calls() < 300,
            "{}",
            rule.num_calls()
        );
    }

    fn live_table(attributes: Value) -> Live {
        Live {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes,
            outputs: BTreeMap::from([(
                "arn".into(),
                "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes".into(),
            )]),
            ownership: Ownership::Ours,
        }
    }

    fn attrs(billing: &str, capacity: Option<i64>, stream: &str) -> Value {
        json!({
            "name": "demo-notes",
            "hash_key": { "name": "id", "type": "S" },
            "range_key": null,
            "billing": billing,
            "read_capacity": capacity,
            "write_capacity": capacity,
            "stream": stream,
            "global_secondary_indexes": {},
            "ttl_attribute": null,
            "deletion_protection": false,
            "tags": { "mobile-backend:stack": "demo", "mobile-backend:id": "table.notes" },
        })
    }

    /// A stream the stack changes gets a new ARN from `up`: until then the
    /// old one is no value for references (a trigger, a policy).
    #[test]
    fn a_stream_of_another_view_has_no_arn_to_reference() {
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes/stream/2026-12-06T04:00:00.000";
        let live = |stream: &str| Live {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: attrs("pay_per_request", None, stream),
            outputs: BTreeMap::from([("stream_arn".to_string(), arn.to_string())]),
            ownership: Ownership::Ours,
        };
        let mut same = live("new_image");
        forget_a_stream_to_be_replaced(&mut same, StreamView::NewImage);
        assert_eq!(
            same.outputs.get("stream_arn").map(String::as_str),
            Some(arn)
        );
        for wanted in [StreamView::NewAndOldImages, StreamView::Off] {
            let mut other = live("new_image");
            forget_a_stream_to_be_replaced(&mut other, wanted);
            assert_eq!(other.outputs.get("stream_arn"), None, "{wanted:?}");
        }
    }

    #[tokio::test]
    async fn delete_refuses_a_protected_table_without_calling_aws() {
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, []),
            ..Aws::for_tests()
        };
        let mut a = attrs("pay_per_request", None, "off");
        a["deletion_protection"] = json!(true);
        let err = delete(&aws, &live_table(a)).await.expect_err("refused");
        assert!(matches!(err, Error::Refused(_)));
        assert!(err.to_string().contains("deletion_protection = false"));
    }

    #[tokio::test]
    async fn switching_to_on_demand_sends_only_the_billing_mode() {
        let update = mock!(Client::update_table)
            .match_requests(|r| {
                r.billing_mode() == Some(&BillingMode::PayPerRequest)
                    && r.provisioned_throughput().is_none()
                    && r.stream_specification().is_none()
            })
            .then_output(|| UpdateTableOutput::builder().build());
        let describe =
            mock!(Client::describe_table).then_output(|| described(TableStatus::Active, None));
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &describe]),
            ..Aws::for_tests()
        };
        let desired = Desired {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: attrs("pay_per_request", None, "off"),
            depends_on: vec![],
        };
        update_table(
            &aws,
            &desired,
            &live_table(attrs("provisioned", Some(5), "off")),
        )
        .await;
        assert_eq!(
            update.num_calls(),
            1,
            "exactly one UpdateTable with the billing mode only"
        );
    }

    #[tokio::test]
    async fn a_new_stream_view_disables_the_old_stream_first() {
        let disable = mock!(Client::update_table)
            .match_requests(|r| {
                r.stream_specification()
                    .is_some_and(|s| !s.stream_enabled())
            })
            .then_output(|| UpdateTableOutput::builder().build());
        let enable = mock!(Client::update_table)
            .match_requests(|r| {
                r.stream_specification().is_some_and(|s| {
                    s.stream_enabled()
                        && s.stream_view_type() == Some(&StreamViewType::NewAndOldImages)
                })
            })
            .then_output(|| UpdateTableOutput::builder().build());
        let describe =
            mock!(Client::describe_table).then_output(|| described(TableStatus::Active, None));
        let aws = Aws {
            dynamodb: mock_client!(
                aws_sdk_dynamodb,
                RuleMode::MatchAny,
                [&disable, &enable, &describe]
            ),
            ..Aws::for_tests()
        };
        let desired = Desired {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: attrs("pay_per_request", None, "new_and_old_images"),
            depends_on: vec![],
        };
        update_table(
            &aws,
            &desired,
            &live_table(attrs("pay_per_request", None, "keys_only")),
        )
        .await;
        assert_eq!(disable.num_calls(), 1);
        assert_eq!(enable.num_calls(), 1);
    }

    fn with_ttl(mut a: Value, attribute: Option<&str>) -> Value {
        a["ttl_attribute"] = json!(attribute);
        a
    }

    fn ttl_rule(attribute: &'static str, enabled: bool) -> aws_smithy_mocks::Rule {
        use aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveOutput;
        mock!(Client::update_time_to_live)
            .match_requests(move |r| {
                r.time_to_live_specification()
                    .is_some_and(|s| s.attribute_name() == attribute && s.enabled() == enabled)
            })
            .then_output(|| UpdateTimeToLiveOutput::builder().build())
    }

    #[tokio::test]
    async fn a_ttl_rename_turns_the_old_attribute_off_and_stops_for_the_hour_aws_asks() {
        // DynamoDB refuses a second UpdateTimeToLive on a table within an
        // hour: turning `expires` on right after `ttl` off would fail and
        // leave TTL off with a bare ValidationException.
        let off = ttl_rule("ttl", false);
        let on = ttl_rule("expires", true);
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&off, &on]),
            ..Aws::for_tests()
        };
        let base = attrs("pay_per_request", None, "off");
        let desired = Desired {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: with_ttl(base.clone(), Some("expires")),
            depends_on: vec![],
        };
        let err = update(&aws, &desired, &live_table(with_ttl(base, Some("ttl"))))
            .await
            .expect_err("the rename needs a second run");
        assert_eq!((off.num_calls(), on.num_calls()), (1, 0));
        let text = err.to_string();
        assert!(matches!(err, Error::Refused(_)), "{text}");
        assert!(text.contains("one TTL change per table per hour"), "{text}");
        assert!(text.contains("run `up` again in an hour"), "{text}");
    }

    #[tokio::test]
    async fn the_hourly_ttl_limit_is_explained_not_passed_on_raw() {
        use aws_sdk_dynamodb::operation::update_time_to_live::UpdateTimeToLiveError;
        let refused = mock!(Client::update_time_to_live).then_error(|| {
            UpdateTimeToLiveError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ValidationException")
                    .message(
                        "Time to live has been modified multiple times within a fixed interval",
                    )
                    .build(),
            )
        });
        let aws = Aws {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&refused]),
            ..Aws::for_tests()
        };
        let base = attrs("pay_per_request", None, "off");
        let desired = Desired {
            address: "table.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: with_ttl(base.clone(), Some("expires")),
            depends_on: vec![],
        };
        let err = update(&aws, &desired, &live_table(base))
            .await
            .expect_err("refused by AWS");
        let text = err.to_string();
        assert!(text.contains("less than an hour ago"), "{text}");
        assert!(text.contains("turn TTL on on `expires`"), "{text}");
    }

    async fn update_table(aws: &Aws, desired: &Desired, live: &Live) {
        if let Err(e) = update(aws, desired, live).await {
            panic!("update failed: {e}");
        }
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for a table made from `[table.notes]` with only its
    /// hash key (see `resource/aws_defaults.rs`): `CreateTable` is sent the
    /// key, on-demand billing and the tags; the rest is as DynamoDB reports
    /// a table created without it: `ProvisionedThroughput` of zeros for an
    /// on-demand table (which the read ignores, as TESTING.md says to), no
    /// `StreamSpecification` while streams are off,
    /// `DeletionProtectionEnabled` false, no `TableClassSummary` for a
    /// STANDARD table, and `DescribeTimeToLive` answering `DISABLED` without
    /// an attribute name (`TimeToLiveDescription` names the attribute only
    /// while TTL is enabling, enabled or disabling).
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = minimal();
        let [describe, list_tags, ttl] = minimal_rules(&m.tags());
        let aws = Aws {
            dynamodb: mock_client!(
                aws_sdk_dynamodb,
                RuleMode::MatchAny,
                [&describe, &list_tags, &ttl]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, "demo", &m.address, &m.name, None)
            .await
            .expect("read");
        vec![m.case("an on-demand table with only a hash key", live)]
    }

    fn minimal() -> crate::resource::aws_defaults::Minimal {
        crate::resource::aws_defaults::Minimal::load(
            "[table.notes]\nhash_key = { name = \"id\", type = \"S\" }\n",
            "table.notes",
            &[],
        )
    }

    /// AWS's answers for [`minimal`]'s table: DescribeTable,
    /// ListTagsOfResource (with `tags`) and DescribeTimeToLive.
    fn minimal_rules(tags: &Tags) -> [aws_smithy_mocks::Rule; 3] {
        use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
        use aws_sdk_dynamodb::operation::list_tags_of_resource::ListTagsOfResourceOutput;
        use aws_sdk_dynamodb::types::{
            BillingModeSummary, ProvisionedThroughputDescription, TimeToLiveDescription,
        };
        let tags = tags.clone();
        let describe = mock!(Client::describe_table).then_output(|| {
            DescribeTableOutput::builder()
                .table(
                    TableDescription::builder()
                        .table_name("demo-notes")
                        .table_arn("arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes")
                        .table_id("4d1f0c62-0000-0000-0000-000000000000")
                        .table_status(TableStatus::Active)
                        .key_schema(
                            KeySchemaElement::builder()
                                .attribute_name("id")
                                .key_type(SdkKeyType::Hash)
                                .build()
                                .unwrap(),
                        )
                        .attribute_definitions(
                            AttributeDefinition::builder()
                                .attribute_name("id")
                                .attribute_type(ScalarAttributeType::S)
                                .build()
                                .unwrap(),
                        )
                        .billing_mode_summary(
                            BillingModeSummary::builder()
                                .billing_mode(BillingMode::PayPerRequest)
                                .build(),
                        )
                        .provisioned_throughput(
                            ProvisionedThroughputDescription::builder()
                                .read_capacity_units(0)
                                .write_capacity_units(0)
                                .number_of_decreases_today(0)
                                .build(),
                        )
                        .deletion_protection_enabled(false)
                        .item_count(0)
                        .table_size_bytes(0)
                        .build(),
                )
                .build()
        });
        let list_tags = mock!(Client::list_tags_of_resource).then_output(move || {
            ListTagsOfResourceOutput::builder()
                .set_tags(Some(sdk_tags(&tags)))
                .build()
        });
        let ttl = mock!(Client::describe_time_to_live).then_output(|| {
            DescribeTimeToLiveOutput::builder()
                .time_to_live_description(
                    TimeToLiveDescription::builder()
                        .time_to_live_status(TimeToLiveStatus::Disabled)
                        .build(),
                )
                .build()
        });
        [describe, list_tags, ttl]
    }

    /// The tagging API listing is a shortcut only: the table's own tag read
    /// is skipped when the listing reports the table with exactly the tags
    /// the stack wants, and made when it reports other tags or does not
    /// report the table at all.
    #[tokio::test]
    async fn tags_listed_as_desired_skip_list_tags_of_resource_and_any_other_listing_does_not() {
        use crate::resource::{PlanReads, PlanTarget};
        let m = minimal();
        let desired = m.tags();
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-notes".to_string();
        let mut other = desired.clone();
        other.insert("team".into(), "web".into());
        let elsewhere = "arn:aws:dynamodb:us-east-1:123456789012:table/demo-other".to_string();
        for (label, listed, reads_tags) in [
            (
                "listed as desired",
                vec![(arn.clone(), desired.clone())],
                false,
            ),
            (
                "listed with other tags",
                vec![(arn.clone(), other.clone())],
                true,
            ),
            ("not listed", vec![(elsewhere, desired.clone())], true),
        ] {
            // What the table has in AWS: `other` when the listing says so
            // (it is stale or right; the table's own answer decides).
            let live_tags = if reads_tags {
                other.clone()
            } else {
                desired.clone()
            };
            let [describe, list_tags, ttl] = minimal_rules(&live_tags);
            let aws = Aws {
                dynamodb: mock_client!(
                    aws_sdk_dynamodb,
                    RuleMode::MatchAny,
                    [&describe, &list_tags, &ttl]
                ),
                ..Aws::for_tests()
            };
            let listing = PlanReads::answered("demo", listed);
            let shortcut = PlanTarget {
                reads: &listing,
                desired_tags: Some(&desired),
            };
            let live = read(&aws, "demo", &m.address, &m.name, Some(shortcut))
                .await
                .expect("read")
                .expect("the table exists");
            assert_eq!(list_tags.num_calls(), usize::from(reads_tags), "{label}");
            assert_eq!(describe.num_calls(), 1, "{label}");
            assert_eq!(ttl.num_calls(), 1, "{label}");
            assert_eq!(live.attributes["tags"], json!(live_tags), "{label}");
            assert_eq!(live.ownership, Ownership::Ours, "{label}");
        }
    }
}
