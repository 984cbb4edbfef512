//! `[bucket.<key>]` — an S3 bucket.
//!
//! The name forces replacement (refused without `--allow-replace`: a bucket
//! holds data); versioning, CORS, public-access block, default encryption and
//! tags change in place. A bucket that still holds objects, versions or delete
//! markers is deleted only with `--empty-buckets`.

use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CorsConfiguration, CorsRule,
    CreateBucketConfiguration, Delete, ObjectIdentifier, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::registry::{ResourceKind, Step};
use super::{retry, wait_for, ApplyOptions, Change, Desired, Error, Live, Ownership};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::Address;
use crate::stack::Tags;

// ------------------------------------------------------------ schema ----

/// `[bucket.<key>]` — an S3 bucket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// Physical name; default `<stack>-<key>`. Bucket names are unique across all of
    /// AWS: `${aws.account_id}` in it helps. Changing it replaces the bucket.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing bucket made outside this tool: the bucket's name. When the stack
    /// owns no bucket for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// Keep every version of every object.
    #[serde(default)]
    pub versioning: bool,
    /// CORS rules, for browsers and web views.
    #[serde(default)]
    pub cors: Vec<CorsRuleSpec>,
    /// All four S3 public-access blocks (on by default, as AWS does for new buckets).
    #[serde(default = "default_true")]
    pub block_public_access: bool,
    /// Default encryption: `aes256` (S3-managed keys, the default) or `aws:kms` (with
    /// `kms_key_id`).
    #[serde(default)]
    pub encryption: Encryption,
    /// KMS key id or ARN, with `encryption = "aws:kms"`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Tags of this bucket, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

fn default_true() -> bool {
    true
}

/// A CORS rule of a bucket.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorsRuleSpec {
    /// HTTP methods allowed: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
    pub allowed_methods: Vec<String>,
    /// Origins allowed, like `https://example.com`, or `*`.
    pub allowed_origins: Vec<String>,
    /// Request headers a preflight request may ask for.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers a browser may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache the preflight answer, in seconds.
    #[serde(default)]
    pub max_age_seconds: Option<i32>,
}

/// A bucket's default encryption: `aes256` or `aws:kms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Encryption {
    #[default]
    #[serde(rename = "aes256")]
    Aes256,
    #[serde(rename = "aws:kms")]
    Kms,
}

crate::spec_fields!(BucketSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("versioning", Change::Update),
    ("cors", Change::Update),
    ("block_public_access", Change::Update),
    ("encryption", Change::Update),
    ("kms_key_id", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. The stack's defaults are
/// S3's for a new bucket: all four public-access blocks on (since April
/// 2023) and SSE-S3 default encryption (`AES256`, since 5 January 2023);
/// `create` sets the blocks, and the read takes "not configured" encryption
/// (as emulators answer) as `AES256`. Object ownership (`BucketOwnerEnforced`),
/// the bucket key and the SSE-C block of new buckets are not compared.
pub(crate) const DEFAULTED: &[&str] = &[];

/// `[bucket.<key>]`: an S3 bucket.
pub struct BucketKind;

impl Step for BucketKind {
    type Config = BucketConfig;
    type Spec = BucketSpec;
    const NOUN: &'static str = "S3 bucket";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 2;
    const HOLDS_DATA: bool = true;

    fn data_loss(name: &str) -> String {
        format!("replacing bucket `{name}` deletes every object in it")
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
        read(aws, target.stack, target.address, target.name, target.plan).await
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

    async fn delete_blocker(
        aws: &Aws,
        address: &Address,
        name: &str,
        destroying: bool,
        options: ApplyOptions,
    ) -> Result<Option<String>, Error> {
        // A replace was accepted with --allow-replace and empties its bucket.
        if options.empty_buckets || holds_objects(aws, name).await? != Some(true) {
            return Ok(None);
        }
        Ok(Some(if destroying {
            format!(
                "{address} ({name}) still holds objects; pass --empty-buckets to delete every object, version and delete marker in it (this cannot be undone)"
            )
        } else {
            format!(
                "{address} ({name}) is no longer in the stack file but still holds objects, and `up` never deletes objects: put `[{address}]` back to keep it, or empty it yourself and run `up` again"
            )
        }))
    }

    async fn delete(aws: &Aws, live: &Live, options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live, options).await
    }

    const OUTPUTS: &'static [&'static str] = &["name", "arn", "regional_domain_name"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["name"];
    const SWIFT_SECTION: &'static str = "Buckets";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::Storage);
}

impl ResourceKind for BucketKind {
    const NAME: &'static str = "bucket";
    const DESCRIPTION: &'static str = "S3 buckets, by key.";
    const REFERENCES: &'static [&'static str] = &["name", "arn", "regional_domain_name"];
    const ADOPTS_BY_NAME: bool = true;

    /// Bucket names allow no `_`.
    fn default_name(stack: &str, key: &str) -> String {
        format!("{stack}-{key}").replace('_', "-")
    }

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 3, 63)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'),
            "lowercase letters, digits, `-` and `.`",
        )?;
        let first_last_ok =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_last_ok(name.chars().next()) || !first_last_ok(name.chars().last()) {
            return Err("must begin and end with a lowercase letter or digit".into());
        }
        if name.contains("..") {
            return Err("must not contain two adjacent periods".into());
        }
        if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
            return Err("must not be formatted as an IP address".into());
        }
        for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
            if name.starts_with(prefix) {
                return Err(format!("must not start with `{prefix}` (reserved by S3)"));
            }
        }
        for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
            if name.ends_with(suffix) {
                return Err(format!("must not end with `{suffix}` (reserved by S3)"));
            }
        }
        Ok(())
    }

    fn tagged_name(arn: &str) -> Option<String> {
        arn.strip_prefix("arn:").and_then(|rest| {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            (parts.len() == 5 && parts[1] == "s3").then(|| parts[4].to_string())
        })
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        let address = c.address().clone();
        let b = spec;
        if b.kms_key_id.is_some() && b.encryption != Encryption::Kms {
            c.error(
                c.span(&["kms_key_id"]),
                format!("`{address}`: `kms_key_id` needs `encryption = \"aws:kms\"`"),
                None,
            );
        }
        for rule in &b.cors {
            for method in &rule.allowed_methods {
                if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&method.as_str()) {
                    c.error(
                        c.span(&["cors"]),
                        format!("`{address}`: CORS method `{method}` is not one of GET, PUT, POST, DELETE, HEAD"),
                        None,
                    );
                }
            }
            if rule.allowed_origins.is_empty() || rule.allowed_methods.is_empty() {
                c.error(
                    c.span(&["cors"]),
                    format!(
                        "`{address}`: each CORS rule needs at least one allowed method and origin"
                    ),
                    None,
                );
            }
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn"];
    const ADOPT_LIST_RANK: u8 = 1;

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

/// The comparable shape of a bucket, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketConfig {
    pub name: String,
    pub versioning: bool,
    pub cors: Vec<Cors>,
    /// `true`/`false` when all four blocks agree; the four flags otherwise.
    pub block_public_access: Value,
    pub encryption: Encryption,
    pub kms_key_id: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cors {
    pub allowed_methods: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

pub(crate) fn desired(spec: &BucketSpec, name: &str, tags: Tags) -> Result<Value, String> {
    let config = BucketConfig {
        name: name.to_string(),
        versioning: spec.versioning,
        cors: spec
            .cors
            .iter()
            .map(|r| Cors {
                allowed_methods: r.allowed_methods.clone(),
                allowed_origins: r.allowed_origins.clone(),
                allowed_headers: r.allowed_headers.clone(),
                expose_headers: r.expose_headers.clone(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect(),
        block_public_access: Value::Bool(spec.block_public_access),
        encryption: spec.encryption,
        kms_key_id: spec.kms_key_id.clone(),
        tags,
    };
    serde_json::to_value(config).map_err(|e| e.to_string())
}

fn arn(aws: &Aws, name: &str) -> String {
    format!("arn:{}:s3:::{}", aws.partition, name)
}

// ------------------------------------------------------------------ read ----

/// Reads a bucket in one round trip: its configuration reads go out
/// together, with HeadBucket (whether it exists, and where) and
/// GetBucketTagging. When the plan's tagging API listing reports the bucket
/// with the tags the stack wants (`plan`, see
/// [`super::tags_as_listed`]), neither of those two is sent: the
/// tags are the listed ones, and GetBucketVersioning, which every existing
/// bucket answers, says whether it exists (HeadBucket is asked only when
/// that fails otherwise than with "no such bucket", to say why). Otherwise
/// they are sent as soon as that listing has answered.
pub(crate) async fn read(
    aws: &Aws,
    stack: &str,
    address: &Address,
    name: &str,
    plan: Option<super::PlanTarget<'_>>,
) -> Result<Option<Live>, Error> {
    let s3 = &aws.s3;
    let bucket_arn = arn(aws, name);
    let (head_and_tagging, versioning, cors, block, encryption) = tokio::join!(
        async {
            match super::tags_as_listed(plan, aws, &bucket_arn).await {
                Some(tags) => Err(tags),
                None => Ok(tokio::join!(
                    s3.head_bucket().bucket(name).send(),
                    s3.get_bucket_tagging().bucket(name).send(),
                )),
            }
        },
        s3.get_bucket_versioning().bucket(name).send(),
        s3.get_bucket_cors().bucket(name).send(),
        s3.get_public_access_block().bucket(name).send(),
        s3.get_bucket_encryption().bucket(name).send(),
    );
    let (head, tagging) = match head_and_tagging {
        Ok((head, tagging)) => (head, Ok(tagging)),
        Err(listed) => match &versioning {
            Err(e) if error_code(e) == Some("NoSuchBucket") => return Ok(None),
            Err(_) => (s3.head_bucket().bucket(name).send().await, Err(listed)),
            Ok(_) => (
                Ok(aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().build()),
                Err(listed),
            ),
        },
    };
    let foreign = |why: String| -> Result<Option<Live>, Error> {
        Ok(Some(Live {
            address: address.clone(),
            physical_name: name.to_string(),
            attributes: Value::Null,
            outputs: BTreeMap::new(),
            ownership: Ownership::NotOurs { why },
        }))
    };
    if let Err(e) = head {
        let status = e.raw_response().map(|r| r.status().as_u16());
        // A bucket in another region answers 301 (or 400 when the request
        // was signed for this region), with its region in a header and no body.
        let region = e
            .raw_response()
            .and_then(|r| r.headers().get("x-amz-bucket-region"))
            .map(str::to_string);
        return match (status, region) {
            (Some(404), _) => Ok(None),
            (Some(403), _) => foreign("the name is taken by a bucket this account cannot access (bucket names are global)".into()),
            (Some(301 | 400), Some(region)) if region != aws.region => foreign(format!(
                "a bucket of that name exists in region {region} (bucket names are global): set `name = \"...\"` to another name, or deploy the stack to {region}"
            )),
            (Some(301), _) => foreign("a bucket of that name exists in another region".into()),
            _ => Err(Error::aws("s3:HeadBucket", &e)),
        };
    }
    let tags: Tags = match tagging {
        Err(listed) => listed,
        Ok(Ok(out)) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Ok(Err(e)) if error_code(&e) == Some("NoSuchTagSet") => Tags::new(),
        Ok(Err(e)) => return Err(Error::aws("s3:GetBucketTagging", &e)),
    };
    let versioning = match versioning {
        Ok(out) => out.status() == Some(&BucketVersioningStatus::Enabled),
        Err(e) => return Err(Error::aws("s3:GetBucketVersioning", &e)),
    };
    let cors: Vec<Cors> = match cors {
        Ok(out) => out
            .cors_rules()
            .iter()
            .map(|r| Cors {
                allowed_methods: r.allowed_methods().to_vec(),
                allowed_origins: r.allowed_origins().to_vec(),
                allowed_headers: r.allowed_headers().to_vec(),
                expose_headers: r.expose_headers().to_vec(),
                max_age_seconds: r.max_age_seconds(),
            })
            .collect(),
        Err(e) if error_code(&e) == Some("NoSuchCORSConfiguration") => Vec::new(),
        Err(e) => return Err(Error::aws("s3:GetBucketCors", &e)),
    };
    let block_public_access = match block {
        Ok(out) => {
            let c = out.public_access_block_configuration();
            let flags = [
                c.and_then(|c| c.block_public_acls()).unwrap_or(false),
                c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
                c.and_then(|c| c.block_public_policy()).unwrap_or(false),
                c.and_then(|c| c.restrict_public_buckets()).unwrap_or(false),
            ];
            if flags.iter().all(|f| *f) {
                Value::Bool(true)
            } else if flags.iter().all(|f| !*f) {
                Value::Bool(false)
            } else {
                json!({
                    "block_public_acls": flags[0],
                    "ignore_public_acls": flags[1],
                    "block_public_policy": flags[2],
                    "restrict_public_buckets": flags[3],
                })
            }
        }
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => {
            Value::Bool(false)
        }
        Err(e) => return Err(Error::aws("s3:GetPublicAccessBlock", &e)),
    };
    let (encryption, kms_key_id) = encryption_of(encryption)?;
    let config = BucketConfig {
        name: name.to_string(),
        versioning,
        cors,
        block_public_access,
        encryption,
        kms_key_id,
        tags: tags.clone(),
    };
    Ok(Some(Live {
        address: address.clone(),
        physical_name: name.to_string(),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs(aws, name),
        ownership: Ownership::from_tags(&tags, stack, address),
    }))
}

/// The bucket's default encryption, from GetBucketEncryption's answer.
/// Every S3 bucket is encrypted with SSE-S3 unless configured otherwise, so
/// "not configured" (as emulators report it) means AES256.
fn encryption_of(
    answer: Result<
        aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput,
        aws_sdk_s3::error::SdkError<
            aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionError,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    >,
) -> Result<(Encryption, Option<String>), Error> {
    match answer {
        Ok(out) => {
            let default = out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default());
            Ok(match default {
                Some(d)
                    if matches!(
                        d.sse_algorithm(),
                        ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse
                    ) =>
                {
                    (Encryption::Kms, d.kms_master_key_id().map(str::to_string))
                }
                _ => (Encryption::Aes256, None),
            })
        }
        Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            Ok((Encryption::Aes256, None))
        }
        Err(e) => Err(Error::aws("s3:GetBucketEncryption", &e)),
    }
}

fn outputs(aws: &Aws, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn(aws, name)),
        (
            "regional_domain_name".to_string(),
            format!("{name}.s3.{}.amazonaws.com", aws.region),
        ),
    ])
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<BucketConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
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
    let config = parse(&desired.attributes, &desired.address)?;
    let name = config.name.as_str();
    // Tags go with the create call, so the bucket never exists without its owner.
    let mut bucket_config =
        CreateBucketConfiguration::builder().set_tags(Some(sdk_tags(&config.tags)));
    if aws.region != "us-east-1" {
        bucket_config =
            bucket_config.location_constraint(BucketLocationConstraint::from(aws.region.as_str()));
    }
    let create = |configuration: CreateBucketConfiguration| {
        aws.s3
            .create_bucket()
            .bucket(name)
            .create_bucket_configuration(configuration)
            .send()
    };
    let mut created = create(bucket_config.clone().build()).await;
    // Tags in CreateBucket need `s3:TagResource` besides `s3:CreateBucket`
    // (since November 2025); a deployer policy written before has only
    // `s3:PutBucketTagging`. Then the bucket is made without them and
    // tagged right after (below), as before.
    if matches!(&created, Err(e) if error_code(e) == Some("AccessDenied"))
        && !config.tags.is_empty()
    {
        created = create(bucket_config.set_tags(None).build()).await;
    }
    match created {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("BucketAlreadyExists") => {
            return Err(Error::Refused(format!(
                "bucket name `{name}` is taken by another AWS account (bucket names are global); set `name = \"...\"` in `[{}]`, e.g. with `${{aws.account_id}}` in it",
                desired.address
            )))
        }
        Err(e) => return Err(Error::aws("s3:CreateBucket", &e)),
    }
    // The configuration, all at once (one round trip, not five): tags again
    // with the tagging API (for S3 implementations that ignore them at
    // create), the public-access block, versioning, CORS and encryption.
    let (tagged, blocked, versioned, cors, encrypted) = tokio::join!(
        unless_conflicting(|| put_tags(aws, name, &config.tags)),
        unless_conflicting(|| put_block_public_access(aws, name, &config.block_public_access)),
        async {
            if config.versioning {
                unless_conflicting(|| put_versioning(aws, name, true)).await
            } else {
                Ok(())
            }
        },
        async {
            if config.cors.is_empty() {
                Ok(())
            } else {
                unless_conflicting(|| put_cors(aws, name, &config.cors)).await
            }
        },
        async {
            if config.encryption == Encryption::Aes256 {
                Ok(())
            } else {
                let key = config.kms_key_id.as_deref();
                unless_conflicting(|| put_encryption(aws, name, config.encryption, key)).await
            }
        },
    );
    tagged?;
    blocked?;
    versioned?;
    cors?;
    encrypted?;
    Ok(outputs(aws, name))
}

/// Sends a configuration call of a bucket just created again, after a
/// short and growing wait, while S3 answers one of its two "not yet"s:
/// `OperationAborted` when the calls overlap, as the ones after
/// `CreateBucket` do ([`retry::BUCKET_CALLS_OVERLAPPING`], about 3 s), and
/// `NoSuchBucket` while the new bucket is not yet visible everywhere in S3
/// ([`retry::NEW_BUCKET`], about 2 minutes).
async fn unless_conflicting<F, Fut>(call: F) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    retry::retry_errors(
        &[&retry::BUCKET_CALLS_OVERLAPPING, &retry::NEW_BUCKET],
        call,
    )
    .await
}

async fn put_tags(aws: &Aws, name: &str, tags: &Tags) -> Result<(), Error> {
    let tagging = Tagging::builder()
        .set_tag_set(Some(sdk_tags(tags)))
        .build()
        .expect("tag set is set");
    aws.s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| Error::aws("s3:PutBucketTagging", &e))?;
    Ok(())
}

async fn put_block_public_access(aws: &Aws, name: &str, block: &Value) -> Result<(), Error> {
    if block == &Value::Bool(false) {
        aws.s3
            .delete_public_access_block()
            .bucket(name)
            .send()
            .await
            .map_err(|e| Error::aws("s3:DeletePublicAccessBlock", &e))?;
        return Ok(());
    }
    let flag = |key: &str| {
        block
            .as_bool()
            .unwrap_or_else(|| block.get(key).and_then(Value::as_bool).unwrap_or(true))
    };
    aws.s3
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(flag("block_public_acls"))
                .ignore_public_acls(flag("ignore_public_acls"))
                .block_public_policy(flag("block_public_policy"))
                .restrict_public_buckets(flag("restrict_public_buckets"))
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::aws("s3:PutPublicAccessBlock", &e))?;
    Ok(())
}

async fn put_versioning(aws: &Aws, name: &str, enabled: bool) -> Result<(), Error> {
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        // Versioning can only be suspended, never switched off again.
        BucketVersioningStatus::Suspended
    };
    aws.s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(|e| Error::aws("s3:PutBucketVersioning", &e))?;
    Ok(())
}

async fn put_cors(aws: &Aws, name: &str, cors: &[Cors]) -> Result<(), Error> {
    if cors.is_empty() {
        aws.s3
            .delete_bucket_cors()
            .bucket(name)
            .send()
            .await
            .map_err(|e| Error::aws("s3:DeleteBucketCors", &e))?;
        return Ok(());
    }
    let rules = cors
        .iter()
        .map(|r| {
            CorsRule::builder()
                .set_allowed_methods(Some(r.allowed_methods.clone()))
                .set_allowed_origins(Some(r.allowed_origins.clone()))
                .set_allowed_headers(
                    (!r.allowed_headers.is_empty()).then(|| r.allowed_headers.clone()),
                )
                .set_expose_headers(
                    (!r.expose_headers.is_empty()).then(|| r.expose_headers.clone()),
                )
                .set_max_age_seconds(r.max_age_seconds)
                .build()
                .expect("methods and origins are set")
        })
        .collect();
    aws.s3
        .put_bucket_cors()
        .bucket(name)
        .cors_configuration(
            CorsConfiguration::builder()
                .set_cors_rules(Some(rules))
                .build()
                .expect("rules are set"),
        )
        .send()
        .await
        .map_err(|e| Error::aws("s3:PutBucketCors", &e))?;
    Ok(())
}

async fn put_encryption(
    aws: &Aws,
    name: &str,
    encryption: Encryption,
    kms_key_id: Option<&str>,
) -> Result<(), Error> {
    let default = match encryption {
        Encryption::Aes256 => {
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
        }
        Encryption::Kms => ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .set_kms_master_key_id(kms_key_id.map(str::to_string)),
    }
    .build()
    .expect("algorithm is set");
    aws.s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(default)
                        .build(),
                )
                .build()
                .expect("rules are set"),
        )
        .send()
        .await
        .map_err(|e| Error::aws("s3:PutBucketEncryption", &e))?;
    Ok(())
}

// ---------------------------------------------------------------- update ----

pub(crate) async fn update(
    aws: &Aws,
    desired: &Desired,
    live: &Live,
) -> Result<BTreeMap<String, String>, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let have = parse(&live.attributes, &live.address)?;
    let name = want.name.as_str();
    if want.tags != have.tags {
        put_tags(aws, name, &want.tags).await?;
    }
    if want.block_public_access != have.block_public_access {
        put_block_public_access(aws, name, &want.block_public_access).await?;
    }
    if want.versioning != have.versioning {
        put_versioning(aws, name, want.versioning).await?;
    }
    if want.cors != have.cors {
        put_cors(aws, name, &want.cors).await?;
    }
    if want.encryption != have.encryption || want.kms_key_id != have.kms_key_id {
        put_encryption(aws, name, want.encryption, want.kms_key_id.as_deref()).await?;
    }
    Ok(outputs(aws, name))
}

// ---------------------------------------------------------------- delete ----

/// Whether the bucket holds any object, version or delete marker (`None`:
/// there is no such bucket).
pub(crate) async fn holds_objects(aws: &Aws, name: &str) -> Result<Option<bool>, Error> {
    match aws
        .s3
        .list_object_versions()
        .bucket(name)
        .max_keys(1)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            !out.versions().is_empty() || !out.delete_markers().is_empty(),
        )),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(None),
        Err(e) => Err(Error::aws("s3:ListObjectVersions", &e)),
    }
}

/// What `DeleteBucket` answered.
enum Deleted {
    Yes,
    /// There is no such bucket (any more).
    Gone,
    /// `BucketNotEmpty`: objects, versions or delete markers are left.
    NotEmpty,
}

async fn delete_bucket(aws: &Aws, name: &str) -> Result<Deleted, Error> {
    match aws.s3.delete_bucket().bucket(name).send().await {
        Ok(_) => Ok(Deleted::Yes),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(Deleted::Gone),
        Err(e) if error_code(&e) == Some("BucketNotEmpty") => Ok(Deleted::NotEmpty),
        Err(e) => Err(Error::aws("s3:DeleteBucket", &e)),
    }
}

/// Deletes the bucket: at once when it is empty (S3 refuses to delete one
/// that is not, so nothing is lost by trying first: an empty bucket costs
/// one call, not a listing and a delete); a bucket that still holds objects
/// is emptied first only with `--empty-buckets`.
pub(crate) async fn delete(aws: &Aws, live: &Live, options: ApplyOptions) -> Result<(), Error> {
    let name = live.physical_name.as_str();
    match delete_bucket(aws, name).await? {
        Deleted::Yes => {}
        Deleted::Gone => return Ok(()),
        Deleted::NotEmpty if !options.empty_buckets => {
            return Err(Error::Refused(format!(
                "bucket {name} still holds objects; pass --empty-buckets to delete every object, version and delete marker in it (this cannot be undone)"
            )))
        }
        Deleted::NotEmpty => {
            empty(aws, name).await?;
            match delete_bucket(aws, name).await? {
                Deleted::Yes => {}
                Deleted::Gone => return Ok(()),
                Deleted::NotEmpty => {
                    return Err(Error::Refused(format!(
                        "bucket {name} is not empty (objects were added while deleting?); run `destroy --empty-buckets` again"
                    )))
                }
            }
        }
    }
    wait_for(
        &format!("bucket {name}"),
        Duration::from_secs(120),
        || async {
            match aws.s3.head_bucket().bucket(name).send().await {
                Ok(_) => Ok(ControlFlow::Continue("still listed".to_string())),
                Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                    Ok(ControlFlow::Break(()))
                }
                Err(e) => Err(Error::aws("s3:HeadBucket", &e)),
            }
        },
    )
    .await
}

/// Deletes every object version and delete marker, 1000 per request.
async fn empty(aws: &Aws, name: &str) -> Result<(), Error> {
    let mut deleted = 0usize;
    loop {
        let out = aws
            .s3
            .list_object_versions()
            .bucket(name)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| Error::aws("s3:ListObjectVersions", &e))?;
        let mut ids: Vec<ObjectIdentifier> = Vec::new();
        for v in out.versions() {
            if let Some(key) = v.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(v.version_id().map(str::to_string))
                        .build()
                        .expect("key is set"),
                );
            }
        }
        for m in out.delete_markers() {
            if let Some(key) = m.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(m.version_id().map(str::to_string))
                        .build()
                        .expect("key is set"),
                );
            }
        }
        if ids.is_empty() {
            break;
        }
        let count = ids.len();
        let result = aws
            .s3
            .delete_objects()
            .bucket(name)
            .delete(
                Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .expect("objects are set"),
            )
            .send()
            .await
            .map_err(|e| Error::aws("s3:DeleteObjects", &e))?;
        if let Some(err) = result.errors().first() {
            return Err(Error::Aws {
                operation: "s3:DeleteObjects",
                code: err.code().map(str::to_string),
                detail: format!(
                    "could not delete `{}`: {} {}",
                    err.key().unwrap_or("?"),
                    err.code().unwrap_or(""),
                    err.message().unwrap_or("")
                ),
            });
        }
        deleted += count;
        eprintln!("  bucket {name}: deleted {deleted} object versions");
    }
    Ok(())
}

// ---- adopt ----

/// Every bucket of the account, as (name, name).
async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
    let out = aws
        .s3
        .list_buckets()
        .send()
        .await
        .map_err(|e| Error::aws("s3:ListBuckets", &e).to_string())?;
    Ok(adopt::named(
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect(),
    ))
}

/// The bucket's versioning, CORS, public-access block and encryption.
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.json("versioning", a.get("versioning"), Some(Value::Bool(false)));
    if let Some(Value::Array(rules)) = a.get("cors") {
        let rules: Vec<Value> = rules
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if let Value::Object(o) = &mut r {
                    o.retain(|_, v| {
                        !matches!(v, Value::Null) && v.as_array().is_none_or(|a| !a.is_empty())
                    });
                }
                r
            })
            .collect();
        s.json("cors", Some(&Value::Array(rules)), None);
    }
    match a.get("block_public_access") {
        Some(Value::Bool(b)) => {
            s.json("block_public_access", Some(&Value::Bool(*b)), Some(Value::Bool(true)))
        }
        Some(other) => w.note(
            &f.address,
            format!("its public-access blocks are mixed ({other}); the stack format sets all four or none, so `plan` will show `block_public_access` to change"),
        ),
        None => {}
    }
    s.json(
        "encryption",
        a.get("encryption"),
        Some(Value::from("aes256")),
    );
    s.json("kms_key_id", a.get("kms_key_id"), None);
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn aborted() -> Error {
        Error::Aws {
            operation: "s3:PutBucketVersioning",
            code: Some("OperationAborted".into()),
            detail: "OperationAborted: A conflicting conditional operation is currently in progress against this resource. Please try again.".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflicting_configuration_call_is_sent_again() {
        let tries = AtomicU32::new(0);
        let result = unless_conflicting(|| async {
            if tries.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(aborted())
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_a_bounded_number_of_times_and_nothing_else_is() {
        let tries = AtomicU32::new(0);
        let result = unless_conflicting(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(aborted())
        })
        .await;
        assert!(matches!(result, Err(Error::Aws { code: Some(c), .. }) if c == "OperationAborted"));
        assert_eq!(
            tries.load(Ordering::SeqCst),
            retry::BUCKET_CALLS_OVERLAPPING.attempts
        );

        let tries = AtomicU32::new(0);
        let result = unless_conflicting(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(Error::Refused("no".into()))
        })
        .await;
        assert!(matches!(result, Err(Error::Refused(_))));
        assert_eq!(tries.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_bucket_not_yet_visible_is_waited_for() {
        // S3 may answer NoSuchBucket for a moment right after CreateBucket
        // (terraform-provider-aws #10863): the configuration calls wait.
        let tries = AtomicU32::new(0);
        let result = unless_conflicting(|| async {
            if tries.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(Error::Aws {
                    operation: "s3:PutBucketVersioning",
                    code: Some("NoSuchBucket".into()),
                    detail: "NoSuchBucket: The specified bucket does not exist".into(),
                })
            } else {
                Ok(())
            }
        })
        .await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(tries.load(Ordering::SeqCst), 4);

        // ... for a bounded time (about Terraform's two minutes).
        let tries = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let result = unless_conflicting(|| async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(Error::Aws {
                operation: "s3:PutBucketVersioning",
                code: Some("NoSuchBucket".into()),
                detail: String::new(),
            })
        })
        .await;
        assert!(matches!(result, Err(Error::Aws { code: Some(c), .. }) if c == "NoSuchBucket"));
        assert_eq!(tries.load(Ordering::SeqCst), retry::NEW_BUCKET.attempts);
        assert_eq!(started.elapsed(), retry::patience(&retry::NEW_BUCKET));
    }

    #[tokio::test]
    async fn a_name_taken_in_another_region_says_which_region() {
        // HeadBucket signed for this region, bucket elsewhere: HTTP 400, no
        // body, the bucket's region in `x-amz-bucket-region`.
        use crate::aws::mock::{wire_client, Wire, WireAnswers};
        let s3 = wire_client!(
            aws_sdk_s3,
            WireAnswers::client(|_, _| Wire {
                status: 400,
                headers: vec![("x-amz-bucket-region", "eu-west-1".into())],
                body: String::new(),
            })
        );
        let aws = Aws {
            s3,
            ..Aws::for_tests()
        };
        let address: Address = "bucket.uploads".parse().unwrap();
        let live = read(&aws, "demo", &address, "demo-uploads", None)
            .await
            .unwrap_or_else(|e| panic!("read failed: {e}"))
            .expect("the name is taken");
        match live.ownership {
            Ownership::NotOurs { why } => {
                assert!(why.contains("region eu-west-1"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn without_s3_tag_resource_the_bucket_is_made_then_tagged() {
        // Tags in CreateBucket need `s3:TagResource` (November 2025); a
        // deployer policy with only s3:CreateBucket + s3:PutBucketTagging
        // is refused the tagged create.
        use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
        use aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingOutput;
        use aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlockOutput;
        use aws_sdk_s3::Client;
        use aws_smithy_mocks::{mock, RuleMode};

        use crate::aws::mock::mock_client;
        let tagged = mock!(Client::create_bucket)
            .match_requests(|r| {
                r.create_bucket_configuration()
                    .is_some_and(|c| !c.tags().is_empty())
            })
            .then_error(|| {
                CreateBucketError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("User is not authorized to perform: s3:TagResource")
                        .build(),
                )
            });
        let untagged = mock!(Client::create_bucket)
            .match_requests(|r| {
                r.create_bucket_configuration()
                    .is_none_or(|c| c.tags().is_empty())
            })
            .then_output(|| CreateBucketOutput::builder().build());
        let tagging = mock!(Client::put_bucket_tagging)
            .match_requests(|r| {
                r.tagging().is_some_and(|t| {
                    t.tag_set()
                        .iter()
                        .any(|t| t.key() == "mobile-backend:stack")
                })
            })
            .then_output(|| PutBucketTaggingOutput::builder().build());
        let block = mock!(Client::put_public_access_block)
            .then_output(|| PutPublicAccessBlockOutput::builder().build());
        let aws = Aws {
            s3: mock_client!(
                aws_sdk_s3,
                RuleMode::MatchAny,
                [&tagged, &untagged, &tagging, &block]
            ),
            ..Aws::for_tests()
        };
        let desired = Desired {
            address: "bucket.uploads".parse().unwrap(),
            physical_name: "demo-uploads".into(),
            attributes: json!({
                "name": "demo-uploads", "versioning": false, "cors": [],
                "block_public_access": true, "encryption": "aes256", "kms_key_id": null,
                "tags": {"mobile-backend:stack": "demo", "mobile-backend:id": "bucket.uploads"}
            }),
            depends_on: vec![],
        };
        create(&aws, &desired)
            .await
            .unwrap_or_else(|e| panic!("create failed: {e}"));
        assert_eq!(
            (
                tagged.num_calls(),
                untagged.num_calls(),
                tagging.num_calls()
            ),
            (1, 1, 1)
        );
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for a bucket made from `[bucket.uploads]` with nothing
    /// in it (see `resource/aws_defaults.rs`): `CreateBucket` is sent the
    /// tags, then the public-access block (all four on); the rest is as S3
    /// reports a new general purpose bucket: never versioned (no `Status`),
    /// no CORS configuration (`NoSuchCORSConfiguration`), default encryption
    /// SSE-S3 (`AES256`, `BucketKeyEnabled` false; S3 User Guide, "Setting
    /// default server-side encryption behavior": every bucket has it since
    /// 5 January 2023) with SSE-C blocked (`BlockedEncryptionTypes`, which
    /// S3 sets on new general purpose buckets since 2026: S3 User Guide,
    /// "Using server-side encryption with customer-provided keys (SSE-C)").
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        use crate::aws::mock::mock_client;
        use aws_smithy_mocks::RuleMode;
        let m = minimal();
        let rules = minimal_rules(&m.tags());
        let aws = Aws {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules),
            ..Aws::for_tests()
        };
        let live = read(&aws, "demo", &m.address, &m.name, None)
            .await
            .expect("read");
        vec![m.case("a bucket made from `[bucket.uploads]`", live)]
    }

    fn minimal() -> crate::resource::aws_defaults::Minimal {
        crate::resource::aws_defaults::Minimal::load("[bucket.uploads]\n", "bucket.uploads", &[])
    }

    /// AWS's answers for [`minimal`]'s bucket, tagged `tags`: HeadBucket,
    /// GetBucketTagging, GetBucketVersioning, GetBucketCors,
    /// GetPublicAccessBlock and GetBucketEncryption, in that order.
    fn minimal_rules(tags: &Tags) -> [aws_smithy_mocks::Rule; 6] {
        use aws_sdk_s3::operation::get_bucket_cors::GetBucketCorsError;
        use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput;
        use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingOutput;
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
        use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput;
        use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
        use aws_sdk_s3::types::{BlockedEncryptionTypes, EncryptionType};
        use aws_sdk_s3::Client;
        use aws_smithy_mocks::mock;
        use aws_smithy_types::error::ErrorMetadata;

        let tags = tags.clone();
        let head = mock!(Client::head_bucket).then_output(|| {
            HeadBucketOutput::builder()
                .bucket_region("us-east-1")
                .build()
        });
        let tagging = mock!(Client::get_bucket_tagging).then_output(move || {
            GetBucketTaggingOutput::builder()
                .set_tag_set(Some(sdk_tags(&tags)))
                .build()
                .unwrap()
        });
        let versioning = mock!(Client::get_bucket_versioning)
            .then_output(|| GetBucketVersioningOutput::builder().build());
        let cors = mock!(Client::get_bucket_cors).then_error(|| {
            GetBucketCorsError::generic(
                ErrorMetadata::builder()
                    .code("NoSuchCORSConfiguration")
                    .message("The CORS configuration does not exist")
                    .build(),
            )
        });
        let block = mock!(Client::get_public_access_block).then_output(|| {
            GetPublicAccessBlockOutput::builder()
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .build()
        });
        let encryption = mock!(Client::get_bucket_encryption).then_output(|| {
            GetBucketEncryptionOutput::builder()
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(
                            ServerSideEncryptionRule::builder()
                                .apply_server_side_encryption_by_default(
                                    ServerSideEncryptionByDefault::builder()
                                        .sse_algorithm(ServerSideEncryption::Aes256)
                                        .build()
                                        .unwrap(),
                                )
                                .bucket_key_enabled(false)
                                .blocked_encryption_types(
                                    BlockedEncryptionTypes::builder()
                                        .encryption_type(EncryptionType::SseC)
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
        [head, tagging, versioning, cors, block, encryption]
    }

    /// The tagging API listing is a shortcut only: HeadBucket and
    /// GetBucketTagging are skipped when the listing reports the bucket with
    /// exactly the tags the stack wants, and made when it reports other tags
    /// or does not report the bucket at all.
    #[tokio::test]
    async fn tags_listed_as_desired_skip_head_bucket_and_get_bucket_tagging_and_any_other_listing_does_not(
    ) {
        use crate::aws::mock::mock_client;
        use crate::resource::{PlanReads, PlanTarget};
        use aws_smithy_mocks::RuleMode;
        let m = minimal();
        let desired = m.tags();
        let arn = "arn:aws:s3:::demo-uploads".to_string();
        let mut other = desired.clone();
        other.insert("team".into(), "web".into());
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
            ("not listed", Vec::new(), true),
        ] {
            let live_tags = if reads_tags {
                other.clone()
            } else {
                desired.clone()
            };
            let rules = minimal_rules(&live_tags);
            let aws = Aws {
                s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules),
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
                .expect("the bucket exists");
            let calls: Vec<usize> = rules.iter().map(|r| r.num_calls()).collect();
            let skipped = usize::from(reads_tags);
            assert_eq!(calls, vec![skipped, skipped, 1, 1, 1, 1], "{label}");
            assert_eq!(live.attributes["tags"], json!(live_tags), "{label}");
            assert_eq!(live.ownership, Ownership::Ours, "{label}");
        }
    }

    /// Listed with the desired tags but deleted since (the listing lags):
    /// GetBucketVersioning's NoSuchBucket says it is gone, without HeadBucket.
    #[tokio::test]
    async fn a_bucket_listed_as_desired_but_gone_is_missing() {
        use crate::aws::mock::mock_client;
        use crate::resource::{PlanReads, PlanTarget};
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningError;
        use aws_sdk_s3::Client;
        use aws_smithy_mocks::{mock, RuleMode};
        use aws_smithy_types::error::ErrorMetadata;
        let m = minimal();
        let desired = m.tags();
        let [head, tagging, _, cors, block, encryption] = minimal_rules(&desired);
        let versioning = mock!(Client::get_bucket_versioning).then_error(|| {
            GetBucketVersioningError::generic(ErrorMetadata::builder().code("NoSuchBucket").build())
        });
        let aws = Aws {
            s3: mock_client!(
                aws_sdk_s3,
                RuleMode::MatchAny,
                [&head, &tagging, &versioning, &cors, &block, &encryption]
            ),
            ..Aws::for_tests()
        };
        let listing = PlanReads::answered(
            "demo",
            vec![("arn:aws:s3:::demo-uploads".into(), desired.clone())],
        );
        let shortcut = PlanTarget {
            reads: &listing,
            desired_tags: Some(&desired),
        };
        let live = read(&aws, "demo", &m.address, &m.name, Some(shortcut))
            .await
            .expect("read");
        assert!(live.is_none());
        assert_eq!((head.num_calls(), tagging.num_calls()), (0, 0));
    }
}
