//! `[search.<key>]` with `engine = "cloudsearch"` — an Amazon CloudSearch
//! domain (configuration API 2013-01-01).
//!
//! Index fields, the service access policy and the scaling parameters change
//! in place; defining or deleting a field is followed by `IndexDocuments`,
//! and `up` then waits (bounded, one line per state) while the domain is
//! processing, unless the stack says `wait = false`.
//!
//! CloudSearch has no tags. Ownership is proven by a marker: an expression
//! `mb_owner_<hash>` defined on the domain, where the hash is of the stack
//! name and the address; a domain without it is not ours (and is never
//! changed or deleted). Expressions are ranking formulas nobody queries by
//! that name, so the marker changes no search result.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use aws_sdk_cloudsearch::types::{
    DateArrayOptions, DateOptions, DomainStatus, DoubleArrayOptions, DoubleOptions, Expression,
    IndexField, IndexFieldType, IntArrayOptions, IntOptions, LatLonOptions, LiteralArrayOptions,
    LiteralOptions, PartitionInstanceType, ScalingParameters, TextArrayOptions, TextOptions,
};
use serde_json::{json, Value};

use super::search::{allowed_options, field_options, parse_policy, type_name, waits, WAIT};
use super::{wait_for, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target};
use crate::aws::{error_code, Aws};
use crate::resource::search::SearchSpec;
use crate::stack::Tags;
use crate::stack::{Address, OWNER_ID_TAG, OWNER_STACK_TAG};

const MARKER_PREFIX: &str = "mb_owner_";

/// The name of the expression that marks a domain as `address` of `stack`.
pub(crate) fn marker(stack: &str, address: &Address) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{stack}\n{address}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{MARKER_PREFIX}{hash:016x}")
}

pub(crate) fn desired(
    spec: &SearchSpec,
    address: &Address,
    name: &str,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let mut fields = serde_json::Map::new();
    for (field, f) in &spec.fields {
        let (t, options) = field_options(field, f)?;
        fields.insert(field.clone(), field_value(type_name(t), &options));
    }
    Ok(json!({
        "name": name,
        "engine": "cloudsearch",
        "fields": fields,
        "requires_index_documents": false,
        "scaling": {
            "instance_type": spec.instance_type,
            "replication_count": spec.replication_count,
            "partition_count": spec.partition_count,
        },
        "access_policy": super::search::access_policy(spec, ctx)?,
        "ownership_marker": marker(&ctx.stack.name, address),
        "wait": spec.wait.unwrap_or(true),
    }))
}

fn field_value(t: &str, options: &BTreeMap<String, bool>) -> Value {
    let mut v = serde_json::Map::new();
    v.insert("type".into(), Value::from(t));
    for (k, b) in options {
        v.insert(k.clone(), Value::from(*b));
    }
    Value::Object(v)
}

fn sdk_error<E, R>(
    operation: &'static str,
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Error
where
    E: aws_sdk_cloudsearch::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Error::aws(operation, e)
}

// ------------------------------------------------------------------ read ----

async fn describe(aws: &Aws, name: &str) -> Result<Option<DomainStatus>, Error> {
    let out = aws
        .cloudsearch
        .describe_domains()
        .domain_names(name)
        .send()
        .await
        .map_err(|e| sdk_error("cloudsearch:DescribeDomains", &e))?;
    Ok(out
        .domain_status_list()
        .iter()
        .find(|d| d.domain_name() == name && d.deleted() != Some(true))
        .cloned())
}

fn is_not_found<E: aws_sdk_cloudsearch::error::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    error_code(e) == Some("ResourceNotFound")
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let c = &aws.cloudsearch;
    let name = target.name;
    // All five reads in one round trip; the domain's absence makes the
    // others fail, which is then not an error.
    let (domain, fields, policies, scaling, expressions) = tokio::join!(
        describe(aws, name),
        c.describe_index_fields().domain_name(name).send(),
        c.describe_service_access_policies()
            .domain_name(name)
            .send(),
        c.describe_scaling_parameters().domain_name(name).send(),
        c.describe_expressions().domain_name(name).send(),
    );
    let Some(domain) = domain? else {
        return Ok(None);
    };
    let gone = || Ok(None);
    let fields = match fields {
        Ok(f) => f,
        Err(e) if is_not_found(&e) => return gone(),
        Err(e) => return Err(sdk_error("cloudsearch:DescribeIndexFields", &e)),
    };
    let policies = match policies {
        Ok(p) => p,
        Err(e) if is_not_found(&e) => return gone(),
        Err(e) => return Err(sdk_error("cloudsearch:DescribeServiceAccessPolicies", &e)),
    };
    let scaling = match scaling {
        Ok(s) => s,
        Err(e) if is_not_found(&e) => return gone(),
        Err(e) => return Err(sdk_error("cloudsearch:DescribeScalingParameters", &e)),
    };
    let expressions = match expressions {
        Ok(x) => x,
        Err(e) if is_not_found(&e) => return gone(),
        Err(e) => return Err(sdk_error("cloudsearch:DescribeExpressions", &e)),
    };

    let mut live_fields = serde_json::Map::new();
    for status in fields.index_fields() {
        if status.status().and_then(|s| s.pending_deletion()) == Some(true) {
            continue;
        }
        if let Some(f) = status.options() {
            live_fields.insert(
                f.index_field_name().to_string(),
                field_value(f.index_field_type().as_str(), &options_of(f)),
            );
        }
    }
    let policy = parse_policy(policies.access_policies().map(|p| p.options()));
    let scaling = scaling.scaling_parameters().and_then(|s| s.options());
    let scaling = json!({
        "instance_type": scaling
            .and_then(|s| s.desired_instance_type())
            .map(|t| t.as_str().to_string())
            .filter(|t| !t.is_empty()),
        "replication_count": scaling.map(|s| s.desired_replication_count()).filter(|n| *n > 0),
        "partition_count": scaling.map(|s| s.desired_partition_count()).filter(|n| *n > 0),
    });

    // Ownership: the marker expression stands for both ownership tags.
    let ours = marker(target.stack, target.address);
    let markers: Vec<&str> = expressions
        .expressions()
        .iter()
        .filter_map(|x| x.options().map(|o| o.expression_name()))
        .filter(|n| n.starts_with(MARKER_PREFIX))
        .collect();
    let markers: Vec<&str> = if markers.contains(&ours.as_str()) {
        vec![ours.as_str()]
    } else {
        markers
    };
    let ownership = if markers.first() == Some(&ours.as_str()) {
        let tags: Tags = [
            (OWNER_STACK_TAG.to_string(), target.stack.to_string()),
            (OWNER_ID_TAG.to_string(), target.address.to_string()),
        ]
        .into_iter()
        .collect();
        Ownership::from_tags(&tags, target.stack, target.address)
    } else if markers.is_empty() {
        Ownership::NotOurs {
            why: format!(
                "it has no mobile-backend ownership marker (CloudSearch has no tags; the marker is the expression `{ours}`)"
            ),
        }
    } else {
        Ownership::NotOurs {
            why: "its ownership marker names another stack or resource".into(),
        }
    };

    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: name.to_string(),
        attributes: json!({
            "name": name,
            "engine": "cloudsearch",
            "fields": live_fields,
            "requires_index_documents": domain.requires_index_documents(),
            "scaling": scaling,
            "access_policy": policy,
            "ownership_marker": markers.first(),
        }),
        outputs: outputs(&domain, aws),
        ownership,
    }))
}

/// The options of a field as read, every option its type allows explicit
/// (absent = off).
fn options_of(f: &IndexField) -> BTreeMap<String, bool> {
    use IndexFieldType as T;
    let t = f.index_field_type();
    let mut values: Vec<(&str, Option<bool>)> = Vec::new();
    macro_rules! scalar {
        ($o:expr) => {
            if let Some(o) = $o {
                values.extend([
                    ("facet", o.facet_enabled()),
                    ("return", o.return_enabled()),
                    ("sort", o.sort_enabled()),
                    ("search", o.search_enabled()),
                ]);
            }
        };
    }
    macro_rules! array {
        ($o:expr) => {
            if let Some(o) = $o {
                values.extend([
                    ("facet", o.facet_enabled()),
                    ("return", o.return_enabled()),
                    ("search", o.search_enabled()),
                ]);
            }
        };
    }
    match t {
        T::Text => {
            if let Some(o) = f.text_options() {
                values.extend([
                    ("return", o.return_enabled()),
                    ("sort", o.sort_enabled()),
                    ("highlight", o.highlight_enabled()),
                ]);
            }
        }
        T::TextArray => {
            if let Some(o) = f.text_array_options() {
                values.extend([
                    ("return", o.return_enabled()),
                    ("highlight", o.highlight_enabled()),
                ]);
            }
        }
        T::Literal => scalar!(f.literal_options()),
        T::Int => scalar!(f.int_options()),
        T::Double => scalar!(f.double_options()),
        T::Date => scalar!(f.date_options()),
        T::Latlon => scalar!(f.lat_lon_options()),
        T::LiteralArray => array!(f.literal_array_options()),
        T::IntArray => array!(f.int_array_options()),
        T::DoubleArray => array!(f.double_array_options()),
        T::DateArray => array!(f.date_array_options()),
        _ => {}
    }
    let allowed: &[&str] = match serde_json::from_value(Value::from(t.as_str())) {
        Ok(known) => allowed_options(known),
        Err(_) => &[],
    };
    allowed
        .iter()
        .map(|o| {
            let v = values
                .iter()
                .find(|(k, _)| k == o)
                .and_then(|(_, v)| *v)
                .unwrap_or(false);
            (o.to_string(), v)
        })
        .collect()
}

/// The SDK shape of a field from its comparable value (`{"type": ..., options}`).
pub(crate) fn index_field(name: &str, value: &Value) -> Result<IndexField, Error> {
    let t = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let g = |k: &str| value.get(k).and_then(Value::as_bool);
    let b = IndexField::builder()
        .index_field_name(name)
        .index_field_type(IndexFieldType::from(t));
    macro_rules! scalar {
        ($ty:ident, $set:ident) => {
            b.$set(
                $ty::builder()
                    .set_facet_enabled(g("facet"))
                    .set_return_enabled(g("return"))
                    .set_sort_enabled(g("sort"))
                    .set_search_enabled(g("search"))
                    .build(),
            )
        };
    }
    macro_rules! array {
        ($ty:ident, $set:ident) => {
            b.$set(
                $ty::builder()
                    .set_facet_enabled(g("facet"))
                    .set_return_enabled(g("return"))
                    .set_search_enabled(g("search"))
                    .build(),
            )
        };
    }
    let b = match t {
        "text" => b.text_options(
            TextOptions::builder()
                .set_return_enabled(g("return"))
                .set_sort_enabled(g("sort"))
                .set_highlight_enabled(g("highlight"))
                .build(),
        ),
        "text-array" => b.text_array_options(
            TextArrayOptions::builder()
                .set_return_enabled(g("return"))
                .set_highlight_enabled(g("highlight"))
                .build(),
        ),
        "literal" => scalar!(LiteralOptions, literal_options),
        "int" => scalar!(IntOptions, int_options),
        "double" => scalar!(DoubleOptions, double_options),
        "date" => scalar!(DateOptions, date_options),
        "latlon" => scalar!(LatLonOptions, lat_lon_options),
        "literal-array" => array!(LiteralArrayOptions, literal_array_options),
        "int-array" => array!(IntArrayOptions, int_array_options),
        "double-array" => array!(DoubleArrayOptions, double_array_options),
        "date-array" => array!(DateArrayOptions, date_array_options),
        other => {
            return Err(Error::Unexpected(format!(
                "field `{name}` has an unknown type `{other}`"
            )))
        }
    };
    b.build().map_err(|e| Error::Unexpected(e.to_string()))
}

fn outputs(domain: &DomainStatus, aws: &Aws) -> Outputs {
    let mut o = Outputs::new();
    let name = domain.domain_name().to_string();
    let arn = domain.arn().map(str::to_string).unwrap_or_else(|| {
        format!(
            "arn:{}:cloudsearch:{}:{}:domain/{name}",
            aws.partition, aws.region, aws.account_id
        )
    });
    o.insert("arn".into(), arn);
    o.insert("name".into(), name);
    if let Some(e) = domain
        .search_service()
        .and_then(|s| s.endpoint())
        .filter(|e| !e.is_empty())
    {
        o.insert("search_endpoint".into(), e.to_string());
    }
    if let Some(e) = domain
        .doc_service()
        .and_then(|s| s.endpoint())
        .filter(|e| !e.is_empty())
    {
        o.insert("document_endpoint".into(), e.to_string());
    }
    o
}

// ---------------------------------------------------------------- writes ----

/// What AWS answers an account that may not create CloudSearch domains.
pub(crate) fn closed_to_new_customers(code: Option<&str>) -> bool {
    matches!(code, Some("NotAuthorized") | Some("AccessDenied"))
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let name = desired.physical_name.as_str();
    let c = &aws.cloudsearch;
    if let Err(e) = c.create_domain().domain_name(name).send().await {
        if closed_to_new_customers(error_code(&e)) {
            return Err(Error::Refused(format!(
                "AWS refused to create the CloudSearch domain `{name}` ({}). Amazon CloudSearch is closed to new customers since 2024-07-25: accounts without a CloudSearch domain cannot create one unless AWS Support allowlists them. Use Amazon OpenSearch Service instead: set `engine = \"opensearch\"` in `[{}]`",
                crate::aws::describe(&e),
                desired.address
            )));
        }
        return Err(sdk_error("cloudsearch:CreateDomain", &e));
    }
    // The ownership marker first, so an interrupted run leaves a domain this
    // stack can find and finish.
    c.define_expression()
        .domain_name(name)
        .expression(
            Expression::builder()
                .expression_name(
                    desired.attributes["ownership_marker"]
                        .as_str()
                        .unwrap_or_default(),
                )
                .expression_value("0")
                .build()
                .map_err(|e| Error::Unexpected(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("cloudsearch:DefineExpression", &e))?;
    let empty = json!({
        "fields": {},
        "requires_index_documents": false,
        "scaling": {"instance_type": null, "replication_count": null, "partition_count": null},
        "access_policy": null,
    });
    apply_changes(aws, desired, &empty).await
}

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    apply_changes(aws, desired, &live.attributes).await
}

async fn apply_changes(aws: &Aws, desired: &Desired, live: &Value) -> Result<Outputs, Error> {
    let name = desired.physical_name.as_str();
    let c = &aws.cloudsearch;
    let empty = serde_json::Map::new();
    let want = desired.attributes["fields"].as_object().unwrap_or(&empty);
    let have = live["fields"].as_object().unwrap_or(&empty);
    let mut reindex = live["requires_index_documents"].as_bool() == Some(true);
    for (field, value) in want {
        if have.get(field) != Some(value) {
            c.define_index_field()
                .domain_name(name)
                .index_field(index_field(field, value)?)
                .send()
                .await
                .map_err(|e| sdk_error("cloudsearch:DefineIndexField", &e))?;
            reindex = true;
        }
    }
    for field in have.keys().filter(|f| !want.contains_key(*f)) {
        c.delete_index_field()
            .domain_name(name)
            .index_field_name(field)
            .send()
            .await
            .map_err(|e| sdk_error("cloudsearch:DeleteIndexField", &e))?;
        reindex = true;
    }
    let policy = &desired.attributes["access_policy"];
    if policy != &live["access_policy"] {
        let text = if policy.is_null() {
            // No policy: no statements (nobody but the account's IAM users).
            r#"{"Version":"2012-10-17","Statement":[]}"#.to_string()
        } else {
            policy.to_string()
        };
        c.update_service_access_policies()
            .domain_name(name)
            .access_policies(text)
            .send()
            .await
            .map_err(|e| sdk_error("cloudsearch:UpdateServiceAccessPolicies", &e))?;
    }
    let scaling = &desired.attributes["scaling"];
    if scaling != &live["scaling"] {
        let count = |k: &str| scaling[k].as_i64().map(|n| n as i32);
        c.update_scaling_parameters()
            .domain_name(name)
            .scaling_parameters(
                ScalingParameters::builder()
                    .set_desired_instance_type(
                        scaling["instance_type"]
                            .as_str()
                            .map(PartitionInstanceType::from),
                    )
                    .set_desired_replication_count(count("replication_count"))
                    .set_desired_partition_count(count("partition_count"))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("cloudsearch:UpdateScalingParameters", &e))?;
    }
    if reindex {
        c.index_documents()
            .domain_name(name)
            .send()
            .await
            .map_err(|e| sdk_error("cloudsearch:IndexDocuments", &e))?;
    }
    let domain = if waits(desired) {
        wait_processed(aws, name).await?
    } else {
        describe(aws, name)
            .await?
            .ok_or_else(|| Error::Unexpected(format!("CloudSearch domain `{name}` disappeared")))?
    };
    Ok(outputs(&domain, aws))
}

/// Waits while the domain is being created or is processing a change.
pub(crate) async fn wait_processed(aws: &Aws, name: &str) -> Result<DomainStatus, Error> {
    wait_for(&format!("CloudSearch domain {name}"), WAIT, || async {
        let Some(d) = describe(aws, name).await? else {
            return Err(Error::Wait(format!(
                "CloudSearch domain `{name}` disappeared while waiting for it"
            )));
        };
        Ok(if d.created() == Some(false) {
            ControlFlow::Continue("being created".to_string())
        } else if d.processing() == Some(true) {
            ControlFlow::Continue("processing".to_string())
        } else {
            ControlFlow::Break(d)
        })
    })
    .await
}

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    match aws
        .cloudsearch
        .delete_domain()
        .domain_name(&live.physical_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(sdk_error("cloudsearch:DeleteDomain", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_stable_and_a_valid_expression_name() {
        let a: Address = "search.notes".parse().unwrap();
        let m = marker("photo-notes", &a);
        assert_eq!(m, marker("photo-notes", &a));
        assert_ne!(m, marker("other", &a));
        assert_ne!(m, marker("photo-notes", &"search.other".parse().unwrap()));
        assert!(m.len() <= 64);
        assert!(m
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }

    #[test]
    fn a_field_value_round_trips_through_the_sdk_shape() {
        for (t, options) in [
            (
                "text",
                json!({"return": true, "sort": false, "highlight": false}),
            ),
            (
                "literal",
                json!({"facet": true, "return": true, "sort": false, "search": true}),
            ),
            (
                "int-array",
                json!({"facet": false, "return": true, "search": true}),
            ),
            (
                "latlon",
                json!({"facet": false, "return": false, "sort": true, "search": true}),
            ),
            ("text-array", json!({"return": true, "highlight": true})),
        ] {
            let mut value = options.as_object().unwrap().clone();
            value.insert("type".into(), Value::from(t));
            let value = Value::Object(value);
            let f = index_field("field", &value).unwrap();
            assert_eq!(f.index_field_type().as_str(), t);
            assert_eq!(field_value(t, &options_of(&f)), value, "{t}");
        }
    }

    #[test]
    fn closed_accounts_are_recognised() {
        assert!(closed_to_new_customers(Some("NotAuthorized")));
        assert!(!closed_to_new_customers(Some("ResourceNotFound")));
        assert!(!closed_to_new_customers(None));
    }
}
