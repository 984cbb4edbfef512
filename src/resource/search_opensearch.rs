//! `[search.<key>]` with `engine = "opensearch"` — an Amazon OpenSearch
//! Service domain, CloudSearch's documented successor for new accounts.
//!
//! Engine version (an in-place upgrade), instance type and count, EBS size,
//! access policy and tags change in place; the ownership tags are set at
//! create. Index mappings (the `fields` of a CloudSearch domain) belong to
//! the domain's own REST API, not to the control plane, and are not managed.

use std::ops::ControlFlow;

use aws_sdk_opensearch::types::{
    ClusterConfig, DomainStatus, EbsOptions, OpenSearchPartitionInstanceType, Tag, VolumeType,
};
use serde_json::{json, Value};

use super::search::{parse_policy, waits, WAIT};
use super::Target;
use super::{tag_changes, wait_for, Desired, DesiredContext, Error, Live, Outputs, Ownership};
use crate::aws::{error_code, Aws};
use crate::resource::search::SearchSpec;
use crate::stack::Tags;

pub(crate) const DEFAULT_ENGINE_VERSION: &str = "OpenSearch_2.19";
pub(crate) const DEFAULT_INSTANCE_TYPE: &str = "t3.small.search";
pub(crate) const DEFAULT_INSTANCE_COUNT: i64 = 1;
pub(crate) const DEFAULT_EBS_VOLUME_SIZE: i64 = 10;

pub(crate) fn desired(
    spec: &SearchSpec,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    Ok(json!({
        "name": name,
        "engine": "opensearch",
        "engine_version": spec.engine_version.as_deref().unwrap_or(DEFAULT_ENGINE_VERSION),
        "instance_type": spec.instance_type.as_deref().unwrap_or(DEFAULT_INSTANCE_TYPE),
        "instance_count": spec.instance_count.unwrap_or(DEFAULT_INSTANCE_COUNT),
        "ebs_volume_size": spec.ebs_volume_size.unwrap_or(DEFAULT_EBS_VOLUME_SIZE),
        "access_policy": super::search::access_policy(spec, ctx)?,
        "tags": tags,
        "wait": spec.wait.unwrap_or(true),
    }))
}

fn is_not_found<E: aws_sdk_opensearch::error::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    error_code(e) == Some("ResourceNotFoundException")
}

async fn describe(aws: &Aws, name: &str) -> Result<Option<DomainStatus>, Error> {
    match aws
        .opensearch
        .describe_domain()
        .domain_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .domain_status()
            .filter(|d| d.deleted() != Some(true))
            .cloned()),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws("opensearch:DescribeDomain", &e)),
    }
}

async fn list_tags(aws: &Aws, arn: &str) -> Result<Tags, Error> {
    let out = aws
        .opensearch
        .list_tags()
        .arn(arn)
        .send()
        .await
        .map_err(|e| Error::aws("opensearch:ListTags", &e))?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

fn arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:{}:es:{}:{}:domain/{name}",
        aws.partition, aws.region, aws.account_id
    )
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let name = target.name;
    let derived = arn(aws, name);
    let (domain, tags) = tokio::join!(describe(aws, name), list_tags(aws, &derived));
    let Some(domain) = domain? else {
        return Ok(None);
    };
    let tags = match tags {
        Ok(t) if domain.arn() == derived => t,
        _ => list_tags(aws, domain.arn()).await?,
    };
    let ownership = Ownership::from_tags(&tags, target.stack, target.address);
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: name.to_string(),
        attributes: attributes(&domain, &tags),
        outputs: outputs(&domain),
        ownership,
    }))
}

fn attributes(d: &DomainStatus, tags: &Tags) -> Value {
    let cluster = d.cluster_config();
    json!({
        "name": d.domain_name(),
        "engine": "opensearch",
        "engine_version": d.engine_version(),
        "instance_type": cluster.and_then(|c| c.instance_type()).map(|t| t.as_str()),
        "instance_count": cluster.and_then(|c| c.instance_count()),
        "ebs_volume_size": d.ebs_options().and_then(|e| e.volume_size()),
        "access_policy": parse_policy(d.access_policies()),
        "tags": tags,
    })
}

fn outputs(d: &DomainStatus) -> Outputs {
    let mut o = Outputs::new();
    o.insert("arn".into(), d.arn().to_string());
    o.insert("name".into(), d.domain_name().to_string());
    // A domain in a VPC has `Endpoints` instead of `Endpoint`.
    let endpoint = d
        .endpoint()
        .or_else(|| d.endpoints().and_then(|e| e.get("vpc")).map(String::as_str))
        .filter(|e| !e.is_empty());
    if let Some(e) = endpoint {
        // One endpoint serves both searching and indexing documents.
        o.insert("search_endpoint".into(), e.to_string());
        o.insert("document_endpoint".into(), e.to_string());
    }
    o
}

fn cluster_config(a: &Value) -> ClusterConfig {
    ClusterConfig::builder()
        .set_instance_type(
            a["instance_type"]
                .as_str()
                .map(OpenSearchPartitionInstanceType::from),
        )
        .set_instance_count(a["instance_count"].as_i64().map(|n| n as i32))
        .build()
}

fn ebs_options(a: &Value) -> EbsOptions {
    EbsOptions::builder()
        .ebs_enabled(true)
        .volume_type(VolumeType::Gp3)
        .set_volume_size(a["ebs_volume_size"].as_i64().map(|n| n as i32))
        .build()
}

fn policy_text(a: &Value) -> String {
    match &a["access_policy"] {
        Value::Null => r#"{"Version":"2012-10-17","Statement":[]}"#.to_string(),
        p => p.to_string(),
    }
}

fn tags_of(a: &Value) -> Tags {
    serde_json::from_value(a["tags"].clone()).unwrap_or_default()
}

fn sdk_tags(tags: &Tags) -> Result<Vec<Tag>, Error> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::Unexpected(e.to_string()))
        })
        .collect()
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let a = &desired.attributes;
    let name = desired.physical_name.as_str();
    let mut request = aws
        .opensearch
        .create_domain()
        .domain_name(name)
        .set_engine_version(a["engine_version"].as_str().map(str::to_string))
        .cluster_config(cluster_config(a))
        .ebs_options(ebs_options(a))
        .set_tag_list(Some(sdk_tags(&tags_of(a))?));
    if !a["access_policy"].is_null() {
        request = request.access_policies(policy_text(a));
    }
    let out = request
        .send()
        .await
        .map_err(|e| Error::aws("opensearch:CreateDomain", &e))?;
    finish(aws, desired, out.domain_status().cloned()).await
}

async fn finish(
    aws: &Aws,
    desired: &Desired,
    status: Option<DomainStatus>,
) -> Result<Outputs, Error> {
    let name = desired.physical_name.as_str();
    let domain = match status {
        Some(d) if !waits(desired) => d,
        _ if waits(desired) => wait_processed(aws, name).await?,
        _ => describe(aws, name).await?.ok_or_else(|| {
            Error::Unexpected(format!("OpenSearch Service domain `{name}` disappeared"))
        })?,
    };
    Ok(outputs(&domain))
}

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let a = &desired.attributes;
    let l = &live.attributes;
    let name = desired.physical_name.as_str();
    let os = &aws.opensearch;
    let changed = |k: &str| a[k] != l[k];
    let cluster = changed("instance_type") || changed("instance_count");
    let ebs = changed("ebs_volume_size");
    let policy = changed("access_policy");
    let upgrade = a["engine_version"]
        .as_str()
        .filter(|_| changed("engine_version"));
    // A domain takes one change at a time: AWS refuses another while one is
    // processing ("A change/update is in progress", ValidationException;
    // terraform-provider-aws #38136). So: wait out a change still running
    // (one made with `wait = false`, or by hand), then the configuration,
    // wait for it, then the upgrade (Terraform's order too); each call also
    // retries that answer for a while.
    if cluster || ebs || policy || upgrade.is_some() {
        wait_processed(aws, name).await?;
    }
    if cluster || ebs || policy {
        super::retry::retry(
            &format!("opensearch:UpdateDomainConfig {name}"),
            &super::retry::DOMAIN_CHANGING,
            || {
                let mut request = os.update_domain_config().domain_name(name);
                if cluster {
                    request = request.cluster_config(cluster_config(a));
                }
                if ebs {
                    request = request.ebs_options(ebs_options(a));
                }
                if policy {
                    request = request.access_policies(policy_text(a));
                }
                request.send()
            },
        )
        .await
        .map_err(|e| Error::aws("opensearch:UpdateDomainConfig", &e))?;
        if upgrade.is_some() {
            wait_processed(aws, name).await?;
        }
    }
    if let Some(version) = upgrade {
        super::retry::retry(
            &format!("opensearch:UpgradeDomain {name}"),
            &super::retry::DOMAIN_CHANGING,
            || {
                os.upgrade_domain()
                    .domain_name(name)
                    .target_version(version)
                    .send()
            },
        )
        .await
        .map_err(|e| Error::aws("opensearch:UpgradeDomain", &e))?;
    }
    let (set, remove) = tag_changes(&tags_of(a), &tags_of(l));
    let arn = live
        .outputs
        .get("arn")
        .cloned()
        .unwrap_or_else(|| arn(aws, name));
    if !set.is_empty() {
        os.add_tags()
            .arn(&arn)
            .set_tag_list(Some(sdk_tags(&set)?))
            .send()
            .await
            .map_err(|e| Error::aws("opensearch:AddTags", &e))?;
    }
    if !remove.is_empty() {
        os.remove_tags()
            .arn(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| Error::aws("opensearch:RemoveTags", &e))?;
    }
    finish(aws, desired, None).await
}

/// Waits while the domain is being created or is processing a change.
pub(crate) async fn wait_processed(aws: &Aws, name: &str) -> Result<DomainStatus, Error> {
    wait_for(
        &format!("OpenSearch Service domain {name}"),
        WAIT,
        || async {
            let Some(d) = describe(aws, name).await? else {
                return Err(Error::Wait(format!(
                    "OpenSearch Service domain `{name}` disappeared while waiting for it"
                )));
            };
            Ok(if d.created() == Some(false) {
                ControlFlow::Continue("being created".to_string())
            } else if d.processing() == Some(true) || d.upgrade_processing() == Some(true) {
                ControlFlow::Continue("processing".to_string())
            } else {
                ControlFlow::Break(d)
            })
        },
    )
    .await
}

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    match aws
        .opensearch
        .delete_domain()
        .domain_name(&live.physical_name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::aws("opensearch:DeleteDomain", &e)),
    }
}

#[cfg(test)]
mod tests {
    //! The order of a domain's changes with mocked OpenSearch Service
    //! answers: the emulator finishes every change at once, AWS does not.

    use aws_sdk_opensearch::operation::describe_domain::DescribeDomainOutput;
    use aws_sdk_opensearch::operation::update_domain_config::{
        UpdateDomainConfigError, UpdateDomainConfigOutput,
    };
    use aws_sdk_opensearch::operation::upgrade_domain::UpgradeDomainOutput;
    use aws_sdk_opensearch::types::ClusterConfig;
    use aws_sdk_opensearch::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::aws::mock::mock_client;

    fn domain(processing: bool) -> DescribeDomainOutput {
        DescribeDomainOutput::builder()
            .domain_status(
                DomainStatus::builder()
                    .domain_id("123456789012/demo-notes")
                    .domain_name("demo-notes")
                    .arn("arn:aws:es:us-east-1:123456789012:domain/demo-notes")
                    .cluster_config(ClusterConfig::builder().build())
                    .created(true)
                    .processing(processing)
                    .build()
                    .expect("a domain status"),
            )
            .build()
    }

    fn attributes(version: &str, count: i64) -> Value {
        json!({
            "name": "demo-notes",
            "engine": "opensearch",
            "engine_version": version,
            "instance_type": DEFAULT_INSTANCE_TYPE,
            "instance_count": count,
            "ebs_volume_size": DEFAULT_EBS_VOLUME_SIZE,
            "access_policy": null,
            "tags": {},
            "wait": true,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_waits_for_the_one_in_progress_then_configures_then_upgrades() {
        // Today's AWS: a domain takes one change at a time. Upgrading first
        // and configuring at once was refused ("A change/update is in
        // progress"); so is any change while an earlier one still runs.
        let busy_then_idle = mock!(Client::describe_domain)
            .sequence()
            .output(|| domain(true))
            .output(|| domain(false))
            .build();
        let configure = mock!(Client::update_domain_config)
            .sequence()
            .error(|| {
                UpdateDomainConfigError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("A change/update is in progress. Please wait for it to complete before requesting another change.")
                        .build(),
                )
            })
            .output(|| UpdateDomainConfigOutput::builder().build())
            .build();
        let configured = mock!(Client::describe_domain)
            .sequence()
            .output(|| domain(false))
            .build();
        let upgrade = mock!(Client::upgrade_domain)
            .sequence()
            .output(|| UpgradeDomainOutput::builder().build())
            .build();
        let upgraded = mock!(Client::describe_domain)
            .sequence()
            .output(|| domain(false))
            .build();
        let rules = [
            &busy_then_idle,
            &configure,
            &configured,
            &upgrade,
            &upgraded,
        ];
        let aws = Aws {
            opensearch: mock_client!(aws_sdk_opensearch, RuleMode::Sequential, rules),
            ..Aws::for_tests()
        };
        let desired = Desired {
            address: "search.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: attributes("OpenSearch_2.19", 2),
            depends_on: vec![],
        };
        let live = Live {
            address: "search.notes".parse().unwrap(),
            physical_name: "demo-notes".into(),
            attributes: attributes("OpenSearch_2.17", 1),
            outputs: Outputs::new(),
            ownership: Ownership::Ours,
        };
        update(&aws, &desired, &live)
            .await
            .unwrap_or_else(|e| panic!("update failed: {e}"));
        // Sequential rules: each was used up, in this order.
        for (rule, calls) in [
            (&busy_then_idle, 2),
            (&configure, 2),
            (&configured, 1),
            (&upgrade, 1),
            (&upgraded, 1),
        ] {
            assert_eq!(rule.num_calls(), calls);
        }
    }
}
