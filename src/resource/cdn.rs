//! `[cdn.<key>]` — a CloudFront distribution in front of a bucket of the stack.
//!
//! The distribution has one S3 origin, the bucket's regional domain name,
//! reached through an origin access control (OAC) of its own, named after
//! the distribution's physical name (`<stack>-<key>`), which is also the
//! origin's id. Distributions have no unique name: one is found by listing
//! the distributions (`ListDistributions`, one listing shared by every read
//! in flight), keeping those with an origin of that id, and reading their
//! ownership tags (`ListTagsForResource`), as user pools are found.
//!
//! Every setting changes in place, read-modify-write: `GetDistributionConfig`,
//! the stack's settings put into what AWS returned (everything else kept),
//! `UpdateDistribution` with `IfMatch` = the ETag read (a `PreconditionFailed`,
//! someone else's change in between, is read and sent once more). The name
//! (the origin's id and the OAC's name) forces replacement. Create, update
//! and delete wait for `Status = Deployed` (minutes on AWS), one line per
//! state change. Delete disables the distribution first (CloudFront deletes
//! only disabled ones), waits, deletes it with the new ETag, then deletes
//! its OAC.
//!
//! The part `cdn.<key>.bucket_policy` (`cdn_bucket_policy.rs`) is the one statement of the origin
//! bucket's policy that lets exactly this distribution read the bucket
//! (`cloudfront.amazonaws.com`, `s3:GetObject`, `AWS:SourceArn` = the
//! distribution's ARN), with a fixed `Sid` naming the stack and the key. It
//! is merged into whatever policy the bucket has (other statements are never
//! touched), follows the distribution's ARN when the distribution is
//! replaced, and on delete only that statement goes (the policy too when
//! nothing else is left). It is a step of its own, after the distribution,
//! because it needs the distribution's ARN, exactly like an identity pool's
//! role attachment needs its roles.

use schemars::JsonSchema;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Duration;

use aws_sdk_cloudfront::types::{
    AllowedMethods, CachedMethods, DefaultCacheBehavior, Distribution, DistributionConfig,
    DistributionConfigWithTags, Method, Origin, OriginAccessControlConfig,
    OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Origins, S3OriginConfig, Tag, TagKeys, Tags as CfTags,
    ViewerProtocolPolicy,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cdn_bucket_policy as bucket_policy;
use super::registry::{ResourceKind, Step};
use super::retry::{self, Transient};
use super::{
    wait_for, ApplyOptions, Change, Desired, DesiredContext, Error, Kind, Live, Outputs, Target,
};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::{Address, Part, Tags};

// ------------------------------------------------------------ schema ----

/// `[cdn.<key>]` — a CloudFront distribution in front of a bucket of this stack.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CdnSpec {
    /// Physical name: the name of the distribution's origin access control and
    /// the id of its origin; default `<stack>-<key>`. Changing it replaces the
    /// distribution.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing distribution made outside this tool: its id
    /// (`E2QWRUHAPOMQZL`). When the stack owns no distribution for this
    /// address, the one with this id is taken as this address's (only if it
    /// has no `mobile-backend:*` tags); `up` adds the ownership tags and an
    /// origin access control, and points its default origin at the bucket.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The bucket served: `bucket.<key>`, a bucket of this stack. CloudFront
    /// reads it through an origin access control; the tool adds the bucket
    /// policy statement that lets only this distribution read it.
    pub origin: String,
    /// Which edge locations serve it (and what it costs): `PriceClass_100`
    /// (North America and Europe, the cheapest; the default), `PriceClass_200`
    /// or `PriceClass_All`.
    #[serde(default)]
    pub price_class: PriceClass,
    /// The object served for a request of `/` (`index.html`), without a leading `/`.
    #[serde(default)]
    pub default_root_object: Option<String>,
    /// Whether it serves requests (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A comment shown in the CloudFront console, up to 128 characters.
    #[serde(default)]
    pub comment: Option<String>,
    /// Tags of this distribution, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

fn default_true() -> bool {
    true
}

/// A distribution's price class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum PriceClass {
    /// North America, Europe and Israel: the cheapest.
    #[default]
    #[serde(rename = "PriceClass_100")]
    Class100,
    /// `PriceClass_100` plus Asia, the Middle East and Africa.
    #[serde(rename = "PriceClass_200")]
    Class200,
    /// Every edge location.
    #[serde(rename = "PriceClass_All")]
    All,
}

impl PriceClass {
    fn as_str(self) -> &'static str {
        match self {
            PriceClass::Class100 => "PriceClass_100",
            PriceClass::Class200 => "PriceClass_200",
            PriceClass::All => "PriceClass_All",
        }
    }
}

crate::spec_fields!(CdnSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    // The origin's id and the OAC's name: how the distribution is found.
    ("name", Change::Replace),
    // The bucket's regional domain name.
    ("origin", Change::Update),
    // Whether the origin is read through an origin access control.
    ("origin_access_control", Change::Update),
    ("price_class", Change::Update),
    ("default_root_object", Change::Update),
    ("enabled", Change::Update),
    ("comment", Change::Update),
    // The default cache behaviour: fixed by the tool, repaired when changed
    // out of band.
    ("cache_behavior", Change::Update),
    ("tags", Change::Update),
];

/// The managed cache policy `CachingOptimized` (CloudFront Developer Guide,
/// "Use managed cache policies"): the same id in every account.
pub(crate) const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/// How long a distribution may take to reach `Deployed` (the AWS SDKs'
/// `DistributionDeployed` waiter gives up after 25 minutes).
const DEPLOY: Duration = Duration::from_secs(30 * 60);

/// A `PreconditionFailed` (the ETag sent is no longer the distribution's:
/// someone changed it in between) is answered by reading it again and
/// sending the change once more.
const STALE_ETAG: Transient = Transient {
    waiting_for: "the distribution's new ETag",
    matches: |code, _| code == "PreconditionFailed",
    attempts: 2,
    first_delay: Duration::from_millis(0),
    max_delay: Duration::from_millis(0),
};

/// CloudFront refuses to delete an origin access control that a
/// distribution still uses, and a deleted distribution lets go of it a
/// moment later.
const OAC_RELEASING: Transient = Transient {
    waiting_for: "CloudFront to let go of the origin access control",
    matches: |code, _| code == "OriginAccessControlInUse",
    attempts: 10,
    first_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(15),
};

/// `[cdn.<key>]`: a CloudFront distribution.
pub struct CdnKind;

impl Step for CdnKind {
    type Config = CdnConfig;
    type Spec = CdnSpec;
    const NOUN: &'static str = "CloudFront distribution";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    // Deploys take minutes: the waits count as many calls.
    const COST: u64 = 20;

    fn desired(
        spec: &Self::Spec,
        _address: &Address,
        name: &str,
        tags: Tags,
        ctx: &DesiredContext<'_>,
    ) -> Result<Value, String> {
        let bucket = origin_bucket(spec)?;
        let origin = ctx.output(&bucket, "regional_domain_name");
        serde_json::to_value(desired_config(spec, name, origin, tags)).map_err(|e| e.to_string())
    }

    async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
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

    const OUTPUTS: &'static [&'static str] = &["id", "arn", "domain_name", "origin_bucket"];
    /// The bucket it reads: bookkeeping for its bucket policy statement.
    const INTERNAL_OUTPUTS: &'static [&'static str] = &["origin_bucket"];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["domain_name"];
    const SWIFT_SECTION: &'static str = "Cdns";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::ContentDelivery);
}

impl ResourceKind for CdnKind {
    const NAME: &'static str = "cdn";
    const DESCRIPTION: &'static str =
        "CloudFront distributions in front of a bucket of the stack, by key.";
    const REFERENCES: &'static [&'static str] = &["id", "arn", "domain_name"];

    /// The OAC's name and the origin's id: letters, digits, `-`, `_` and `.`.
    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 64)?;
        crate::stack::names::only(
            Self::NOUN,
            name,
            |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
            "letters, digits, `-`, `_` and `.`",
        )
    }

    fn fixed_parts() -> Vec<Part> {
        vec![Part::BucketPolicy]
    }

    async fn warm(aws: &Aws, _declared: usize) {
        let _ = list(aws).await;
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

    /// Two distributions of the stack must not share a bucket policy `Sid`.
    fn check_across(
        _spec: &Self::Spec,
        address: &Address,
        stack: &crate::stack::Stack,
    ) -> Vec<crate::stack::Finding> {
        let mine = statement_id(&stack.name, &address.key);
        stack
            .resources
            .keys()
            .filter(|a| a.kind == Kind::Cdn && a.key < address.key)
            .filter(|a| statement_id(&stack.name, &a.key) == mine)
            .map(|a| {
                crate::stack::Finding::error(
                    format!(
                        "`{address}` and `{a}` would share the bucket policy statement id `{mine}`"
                    ),
                    Some("rename one of the keys (the id keeps only letters and digits)".into()),
                )
            })
            .collect()
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["arn", "domain_name"];
    const ADOPT_LIST_RANK: u8 = 8;

    /// None: `adopt` does not scan distributions yet (which bucket of the
    /// written stack one serves cannot be told from the account alone). A
    /// distribution made by hand is taken over with `adopt = "<id>"` in a
    /// `[cdn.<key>]` the user writes.
    async fn adopt_list(_aws: &Aws) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }

    fn adopt_write(_writer: &mut adopt::Writer<'_>, found: &adopt::Found, s: &mut adopt::Section) {
        let a = &found.attributes;
        s.json(
            "price_class",
            a.get("price_class"),
            Some(json!("PriceClass_100")),
        );
        s.json("default_root_object", a.get("default_root_object"), None);
        s.json("enabled", a.get("enabled"), Some(Value::Bool(true)));
        s.json("comment", a.get("comment"), None);
    }
}

/// The comparable shape of a distribution, built from the stack or from AWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnConfig {
    pub name: String,
    /// The S3 origin's domain name (the bucket's regional domain name).
    pub origin: String,
    pub origin_access_control: bool,
    pub price_class: PriceClass,
    pub default_root_object: Option<String>,
    pub enabled: bool,
    pub comment: Option<String>,
    pub cache_behavior: CacheBehavior,
    pub tags: Tags,
}

/// The default cache behaviour, as the tool sets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheBehavior {
    pub viewer_protocol_policy: String,
    pub allowed_methods: Vec<String>,
    pub cached_methods: Vec<String>,
    pub cache_policy_id: Option<String>,
    pub compress: bool,
}

impl CacheBehavior {
    /// HTTPS only (HTTP is redirected), GET and HEAD, cached by
    /// `CachingOptimized`, compressed.
    fn fixed() -> CacheBehavior {
        CacheBehavior {
            viewer_protocol_policy: "redirect-to-https".into(),
            allowed_methods: vec!["GET".into(), "HEAD".into()],
            cached_methods: vec!["GET".into(), "HEAD".into()],
            cache_policy_id: Some(CACHING_OPTIMIZED.into()),
            compress: true,
        }
    }
}

pub(crate) fn desired_config(spec: &CdnSpec, name: &str, origin: String, tags: Tags) -> CdnConfig {
    CdnConfig {
        name: name.to_string(),
        origin,
        origin_access_control: true,
        price_class: spec.price_class,
        default_root_object: spec.default_root_object.clone().filter(|o| !o.is_empty()),
        enabled: spec.enabled,
        comment: spec.comment.clone().filter(|c| !c.is_empty()),
        cache_behavior: CacheBehavior::fixed(),
        tags,
    }
}

/// The bucket `origin = "bucket.<key>"` names.
pub(crate) fn origin_bucket(spec: &CdnSpec) -> Result<Address, String> {
    match spec.origin.split_once('.') {
        Some(("bucket", key)) if !key.is_empty() && !key.contains('.') => {
            Ok(Address::new(Kind::Bucket, key))
        }
        _ => Err(format!(
            "`origin = \"{}\"` must name a bucket of this stack as `bucket.<key>`",
            spec.origin
        )),
    }
}

// ------------------------------------------------------------ checks ----

fn check(spec: &CdnSpec, c: &mut crate::stack::Checks<'_, '_>) {
    let address = c.address().clone();
    match origin_bucket(spec) {
        Ok(bucket) => {
            c.link(
                address.clone(),
                bucket.clone(),
                c.span(&["origin"]),
                "the CDN's `origin`",
                true,
            );
            // The statement names the bucket's ARN.
            c.link(
                address.with_part(Part::BucketPolicy),
                bucket,
                c.span(&["origin"]),
                "the CDN's `origin`",
                true,
            );
        }
        Err(e) => c.error(
            c.span(&["origin"]),
            format!("`{address}`: {e}"),
            Some(
                "write `origin = \"bucket.<key>\"` with the key of a `[bucket.<key>]` table".into(),
            ),
        ),
    }
    if let Some(root) = &spec.default_root_object {
        if root.starts_with('/') || root.len() > 255 {
            c.error(
                c.span(&["default_root_object"]),
                format!("`{address}`: `default_root_object = \"{root}\"` must be an object key without a leading `/`, up to 255 characters"),
                Some(format!("write `default_root_object = \"{}\"`", root.trim_start_matches('/'))),
            );
        }
    }
    if let Some(comment) = &spec.comment {
        if comment.chars().count() > 128 {
            c.error(
                c.span(&["comment"]),
                format!(
                    "`{address}`: `comment` has {} characters; CloudFront allows 128",
                    comment.chars().count()
                ),
                None,
            );
        }
    }
}

/// The bucket policy statement id of `[cdn.<key>]` in stack `stack`: only
/// letters and digits (what IAM's `Sid` allows), each `-`/`_`-separated
/// word capitalised: `MobileBackendPhotoNotesCdnMedia`.
pub(crate) fn statement_id(stack: &str, key: &str) -> String {
    let words = |s: &str| -> String {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|f| f.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    };
    format!("MobileBackend{}Cdn{}", words(stack), words(key))
}

// ------------------------------------------------------------------ read ----

/// A distribution's outputs: its id, ARN, domain name and the bucket it reads.
fn outputs_of(d: &Distribution) -> Outputs {
    let bucket = d
        .distribution_config()
        .and_then(target_origin)
        .and_then(|o| bucket_of_domain(o.domain_name()))
        .unwrap_or_default();
    Outputs::from([
        ("id".to_string(), d.id().to_string()),
        ("arn".to_string(), d.arn().to_string()),
        ("domain_name".to_string(), d.domain_name().to_string()),
        ("origin_bucket".to_string(), bucket),
    ])
}

/// The origin the default cache behaviour sends requests to.
fn target_origin(c: &DistributionConfig) -> Option<&Origin> {
    let target = c.default_cache_behavior()?.target_origin_id();
    c.origins()?.items().iter().find(|o| o.id() == target)
}

/// The bucket of an S3 origin's domain name (`<bucket>.s3.<region>.amazonaws.com`,
/// `<bucket>.s3.amazonaws.com`).
pub(crate) fn bucket_of_domain(domain: &str) -> Option<String> {
    let at = domain.rfind(".s3.").or_else(|| domain.rfind(".s3-"))?;
    let rest = &domain[at..];
    (rest.ends_with(".amazonaws.com") || rest.ends_with(".amazonaws.com.cn"))
        .then(|| domain[..at].to_string())
        .filter(|b| !b.is_empty())
}

/// The comparable shape of a live distribution, named `name`.
pub(crate) fn config_from(name: &str, c: &DistributionConfig, tags: Tags) -> CdnConfig {
    let origin = target_origin(c);
    let behavior = c.default_cache_behavior();
    let methods = |m: &[Method]| -> Vec<String> {
        let mut all: Vec<String> = m.iter().map(|m| m.as_str().to_string()).collect();
        all.sort();
        all
    };
    let allowed = behavior.and_then(|b| b.allowed_methods());
    CdnConfig {
        name: name.to_string(),
        origin: origin
            .map(|o| o.domain_name().to_string())
            .unwrap_or_default(),
        origin_access_control: origin
            .and_then(|o| o.origin_access_control_id())
            .is_some_and(|id| !id.is_empty()),
        // AWS's own default when none is sent is PriceClass_All.
        price_class: match c.price_class().map(|p| p.as_str()) {
            Some("PriceClass_100") => PriceClass::Class100,
            Some("PriceClass_200") => PriceClass::Class200,
            _ => PriceClass::All,
        },
        // AWS answers "" for none.
        default_root_object: c
            .default_root_object()
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        enabled: c.enabled(),
        comment: Some(c.comment())
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        cache_behavior: CacheBehavior {
            viewer_protocol_policy: behavior
                .map(|b| b.viewer_protocol_policy().as_str().to_string())
                .unwrap_or_default(),
            allowed_methods: methods(allowed.map(|a| a.items()).unwrap_or_default()),
            cached_methods: methods(
                allowed
                    .and_then(|a| a.cached_methods())
                    .map(|c| c.items())
                    .unwrap_or_default(),
            ),
            cache_policy_id: behavior
                .and_then(|b| b.cache_policy_id())
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            compress: behavior.and_then(|b| b.compress()).unwrap_or(false),
        },
        tags,
    }
}

/// A distribution as listed, once for each of its origins.
#[derive(Debug, Clone)]
struct Listed {
    id: String,
    arn: String,
    origin_id: String,
}

/// Every distribution of the account, once for each of its origins; one
/// listing is shared by the reads in flight at once.
async fn list(aws: &Aws) -> Result<Vec<Listed>, Error> {
    super::flight::shared(aws, "cloudfront:ListDistributions", || list_all(aws)).await
}

async fn list_all(aws: &Aws) -> Result<Vec<Listed>, Error> {
    super::all_pages(|marker| async move {
        let out = aws
            .cloudfront
            .list_distributions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:ListDistributions", &e))?;
        let Some(list) = out.distribution_list() else {
            return Ok((Vec::new(), None));
        };
        let listed = list
            .items()
            .iter()
            .flat_map(|d| {
                let origins = d.origins().map(|o| o.items()).unwrap_or_default();
                origins.iter().map(|o| Listed {
                    id: d.id().to_string(),
                    arn: d.arn().to_string(),
                    origin_id: o.id().to_string(),
                })
            })
            .collect();
        let next = if list.is_truncated() {
            list.next_marker().map(str::to_string)
        } else {
            None
        };
        Ok((listed, next))
    })
    .await
}

/// A distribution as `GetDistribution` answers, with its ETag and tags.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    pub distribution: Distribution,
    pub tags: Tags,
}

async fn describe(aws: &Aws, id: &str) -> Result<Option<Described>, Error> {
    describe_listed(aws, id, None).await
}

/// [`describe`], with the ARN `ListDistributions` gave when there is one:
/// the tags are then asked beside `GetDistribution` instead of after it.
async fn describe_listed(
    aws: &Aws,
    id: &str,
    listed_arn: Option<&str>,
) -> Result<Option<Described>, Error> {
    let get = async {
        match aws.cloudfront.get_distribution().id(id).send().await {
            Ok(out) => match out.distribution {
                Some(d) => Ok(Some(d)),
                None => Err(Error::Unexpected(format!(
                    "cloudfront:GetDistribution of `{id}` answered no distribution"
                ))),
            },
            Err(e) if error_code(&e) == Some("NoSuchDistribution") => Ok(None),
            Err(e) => Err(Error::aws("cloudfront:GetDistribution", &e)),
        }
    };
    let (distribution, tags) = match listed_arn {
        Some(arn) => {
            let (d, t) = tokio::join!(get, tags_of(aws, arn));
            (d?, t?)
        }
        None => match get.await? {
            Some(d) => {
                let tags = tags_of(aws, d.arn()).await?;
                (Some(d), tags)
            }
            None => (None, None),
        },
    };
    let (Some(distribution), Some(tags)) = (distribution, tags) else {
        return Ok(None);
    };
    Ok(Some(Described { distribution, tags }))
}

/// A distribution's tags; `None` when it is gone.
async fn tags_of(aws: &Aws, arn: &str) -> Result<Option<Tags>, Error> {
    match aws
        .cloudfront
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.tags()
                .map(|t| t.items())
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        )),
        Err(e)
            if error_code(&e) == Some("NoSuchResource")
                || error_code(&e) == Some("NoSuchDistribution") =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::aws("cloudfront:ListTagsForResource", &e)),
    }
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let all = list(aws).await?;
    let arns: HashMap<&str, &str> = all
        .iter()
        .map(|l| (l.id.as_str(), l.arn.as_str()))
        .filter(|(_, arn)| !arn.is_empty())
        .collect();
    let listed = all
        .iter()
        .map(|l| (l.id.clone(), l.origin_id.clone()))
        .collect();
    let arns = &arns;
    let found = super::find_one_ours(
        "CloudFront distribution",
        listed,
        target,
        |id| async move { describe_listed(aws, &id, arns.get(id.as_str()).copied()).await },
        |d: &Described| d.tags.clone(),
    )
    .await?;
    let Some((_, found, ownership)) = found else {
        return Ok(None);
    };
    let Some(config) = found.distribution.distribution_config() else {
        return Err(Error::Unexpected(format!(
            "{}: cloudfront:GetDistribution answered no configuration",
            target.address
        )));
    };
    let config = config_from(target.name, config, found.tags.clone());
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: outputs_of(&found.distribution),
        ownership,
    }))
}

/// Distributions this stack owns but no longer declares: those with an
/// origin whose id starts like the stack's default names (`<stack>-`),
/// checked by their tags (`ListTagsForResource`, the ARN listed). The
/// distributions the stack declares by a literal name are read on their own
/// and left out here (the other declared names may be a bucket's of the same
/// name, `<stack>-<key>` too, so they do not count).
async fn find_owned(
    aws: &Aws,
    stack: &crate::stack::Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    let declared: Vec<String> = stack
        .resources
        .iter()
        .filter(|(a, _)| a.kind == Kind::Cdn)
        .filter_map(|(a, d)| match d.spec.name() {
            None => Some(CdnKind::default_name(&stack.name, &a.key)),
            Some(n) if !n.contains("${") => Some(n.clone()),
            Some(_) => None,
        })
        .filter(|n| names.contains(n))
        .collect();
    let listed = list(aws).await?;
    let arns: HashMap<String, String> = listed
        .iter()
        .map(|l| (l.id.clone(), l.arn.clone()))
        .collect();
    let arns = &arns;
    let mut found = super::find_owned_leftovers(
        stack,
        Kind::Cdn,
        &format!("{}-", stack.name),
        &declared,
        listed.into_iter().map(|l| (l.id, l.origin_id)).collect(),
        |id| async move {
            match arns.get(&id) {
                Some(arn) => tags_of(aws, arn).await,
                None => Ok(None),
            }
        },
        |tags: &Tags| tags.clone(),
    )
    .await?;
    found.sort();
    found.dedup();
    Ok(found)
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<CdnConfig, Error> {
    if crate::plan::contains_unknown(value) {
        return Err(Error::Unexpected(format!(
            "{address}: a referenced value is still unknown after its resource was applied"
        )));
    }
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

fn built<T>(
    what: &str,
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, Error> {
    r.map_err(|e| Error::Unexpected(format!("cannot build the {what}: {e}")))
}

/// The default cache behaviour the tool sets, to the origin `origin_id`.
fn cache_behavior(origin_id: &str, c: &CacheBehavior) -> Result<DefaultCacheBehavior, Error> {
    let methods =
        |m: &[String]| -> Vec<Method> { m.iter().map(|m| Method::from(m.as_str())).collect() };
    let cached = built(
        "cached methods",
        CachedMethods::builder()
            .quantity(c.cached_methods.len() as i32)
            .set_items(Some(methods(&c.cached_methods)))
            .build(),
    )?;
    let allowed = built(
        "allowed methods",
        AllowedMethods::builder()
            .quantity(c.allowed_methods.len() as i32)
            .set_items(Some(methods(&c.allowed_methods)))
            .cached_methods(cached)
            .build(),
    )?;
    built(
        "default cache behaviour",
        DefaultCacheBehavior::builder()
            .target_origin_id(origin_id)
            .viewer_protocol_policy(ViewerProtocolPolicy::from(
                c.viewer_protocol_policy.as_str(),
            ))
            .allowed_methods(allowed)
            .set_cache_policy_id(c.cache_policy_id.clone())
            .compress(c.compress)
            .build(),
    )
}

/// The S3 origin named `c.name`, read through the OAC `oac_id`.
fn s3_origin(c: &CdnConfig, oac_id: &str) -> Result<Origin, Error> {
    built(
        "origin",
        Origin::builder()
            .id(&c.name)
            .domain_name(&c.origin)
            // An S3 origin with an OAC has an empty origin access identity.
            .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
            .origin_access_control_id(oac_id)
            .build(),
    )
}

/// The configuration of a new distribution. `caller_reference` makes the
/// request unique (CloudFront answers a repeated one with the distribution
/// it made, or `DistributionAlreadyExists` for another configuration).
pub(crate) fn new_config(
    c: &CdnConfig,
    oac_id: &str,
    caller_reference: &str,
) -> Result<DistributionConfig, Error> {
    let origins = built(
        "origins",
        Origins::builder()
            .quantity(1)
            .items(s3_origin(c, oac_id)?)
            .build(),
    )?;
    built(
        "distribution configuration",
        DistributionConfig::builder()
            .caller_reference(caller_reference)
            .origins(origins)
            .default_cache_behavior(cache_behavior(&c.name, &c.cache_behavior)?)
            .comment(c.comment.clone().unwrap_or_default())
            .enabled(c.enabled)
            .price_class(aws_sdk_cloudfront::types::PriceClass::from(
                c.price_class.as_str(),
            ))
            .default_root_object(c.default_root_object.clone().unwrap_or_default())
            .build(),
    )
}

/// The stack's settings put into a distribution's configuration as read:
/// everything the stack does not set is kept as it is.
pub(crate) fn modified_config(
    mut config: DistributionConfig,
    c: &CdnConfig,
    oac_id: &str,
) -> Result<DistributionConfig, Error> {
    config.comment = c.comment.clone().unwrap_or_default();
    config.enabled = c.enabled;
    config.price_class = Some(aws_sdk_cloudfront::types::PriceClass::from(
        c.price_class.as_str(),
    ));
    config.default_root_object = Some(c.default_root_object.clone().unwrap_or_default());
    // The default behaviour's origin (ours, or an adopted one's) becomes the
    // bucket, under the id the distribution is found by (an adopted one's
    // is renamed, and so are the cache behaviours that named it).
    let old_target = config
        .default_cache_behavior
        .as_ref()
        .map(|b| b.target_origin_id.clone())
        .unwrap_or_else(|| c.name.clone());
    let target = c.name.clone();
    let mut origins: Vec<Origin> = config
        .origins
        .as_ref()
        .map(|o| o.items.clone())
        .unwrap_or_default();
    match origins.iter_mut().find(|o| o.id == old_target) {
        Some(origin) => {
            origin.id = target.clone();
            origin.domain_name = c.origin.clone();
            origin.origin_access_control_id = Some(oac_id.to_string());
            origin.custom_origin_config = None;
            origin.s3_origin_config =
                Some(S3OriginConfig::builder().origin_access_identity("").build());
        }
        None => origins.push(s3_origin(c, oac_id)?),
    }
    if let Some(items) = config
        .cache_behaviors
        .as_mut()
        .and_then(|b| b.items.as_mut())
    {
        for b in items
            .iter_mut()
            .filter(|b| b.target_origin_id == old_target)
        {
            b.target_origin_id = target.clone();
        }
    }
    config.origins = Some(built(
        "origins",
        Origins::builder()
            .quantity(origins.len() as i32)
            .set_items(Some(origins))
            .build(),
    )?);
    let fixed = cache_behavior(&target, &c.cache_behavior)?;
    // What the stack does not set (function associations, ...) stays.
    let mut behavior = config
        .default_cache_behavior
        .take()
        .unwrap_or_else(|| fixed.clone());
    behavior.target_origin_id = fixed.target_origin_id;
    behavior.viewer_protocol_policy = fixed.viewer_protocol_policy;
    behavior.allowed_methods = fixed.allowed_methods;
    behavior.cache_policy_id = fixed.cache_policy_id;
    behavior.compress = fixed.compress;
    // A cache policy excludes the legacy TTLs and forwarded values.
    #[allow(deprecated)]
    {
        behavior.forwarded_values = None;
        behavior.min_ttl = None;
        behavior.default_ttl = None;
        behavior.max_ttl = None;
    }
    config.default_cache_behavior = Some(behavior);
    Ok(config)
}

fn cf_tags(tags: &Tags) -> Result<CfTags, Error> {
    let items = tags
        .iter()
        .map(|(k, v)| built("tag", Tag::builder().key(k).value(v).build()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CfTags::builder().set_items(Some(items)).build())
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let c = parse(&desired.attributes, &desired.address)?;
    let oac_id = ensure_oac(aws, &desired.address, &c.name).await?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let config = new_config(&c, &oac_id, &format!("{}-{stamp}", c.name))?;
    // The tags go with the create call, so it never exists without its owner.
    let out = aws
        .cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(
            DistributionConfigWithTags::builder()
                .distribution_config(config)
                .tags(cf_tags(&c.tags)?)
                .build(),
        )
        .send()
        .await
        .map_err(|e| Error::Aws {
            operation: "cloudfront:CreateDistributionWithTags",
            code: error_code(&e).map(str::to_string),
            detail: format!("{}: {}", desired.address, crate::aws::describe(&e)),
        })?;
    let Some(distribution) = out.distribution else {
        return Err(Error::Unexpected(format!(
            "{}: cloudfront:CreateDistributionWithTags answered no distribution",
            desired.address
        )));
    };
    wait_deployed(aws, distribution.id()).await?;
    Ok(outputs_of(&distribution))
}

/// The id of the origin access control named `name`, made when there is none
/// (a run interrupted after making it finds it again).
async fn ensure_oac(aws: &Aws, address: &Address, name: &str) -> Result<String, Error> {
    if let Some(id) = find_oac(aws, name).await? {
        return Ok(id);
    }
    let config = built(
        "origin access control",
        OriginAccessControlConfig::builder()
            .name(name)
            .description(format!("mobile-backend: {address}"))
            .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
            .signing_behavior(OriginAccessControlSigningBehaviors::Always)
            .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
            .build(),
    )?;
    match aws
        .cloudfront
        .create_origin_access_control()
        .origin_access_control_config(config)
        .send()
        .await
    {
        Ok(out) => out
            .origin_access_control()
            .map(|o| o.id().to_string())
            .ok_or_else(|| {
                Error::Unexpected(format!(
                    "{address}: cloudfront:CreateOriginAccessControl answered no id"
                ))
            }),
        // Made in between (names are unique in the account): take it.
        Err(e) if error_code(&e) == Some("OriginAccessControlAlreadyExists") => find_oac(aws, name)
            .await?
            .ok_or_else(|| Error::aws("cloudfront:CreateOriginAccessControl", &e)),
        Err(e) => Err(Error::aws("cloudfront:CreateOriginAccessControl", &e)),
    }
}

/// The id of the origin access control named `name`, if there is one.
async fn find_oac(aws: &Aws, name: &str) -> Result<Option<String>, Error> {
    let all = super::all_pages(|marker| async move {
        let out = aws
            .cloudfront
            .list_origin_access_controls()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:ListOriginAccessControls", &e))?;
        let Some(list) = out.origin_access_control_list() else {
            return Ok((Vec::new(), None));
        };
        let items: Vec<(String, String)> = list
            .items()
            .iter()
            .map(|o| (o.id().to_string(), o.name().to_string()))
            .collect();
        let next = if list.is_truncated() {
            list.next_marker().map(str::to_string)
        } else {
            None
        };
        Ok((items, next))
    })
    .await?;
    Ok(all.into_iter().find(|(_, n)| n == name).map(|(id, _)| id))
}

/// Waits until the distribution's changes have reached every edge location
/// (`Status` from `InProgress` to `Deployed`); returns its ETag then.
async fn wait_deployed(aws: &Aws, id: &str) -> Result<String, Error> {
    wait_for(&format!("distribution {id}"), DEPLOY, || async {
        let out = aws
            .cloudfront
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:GetDistribution", &e))?;
        let status = out.distribution().map(|d| d.status()).unwrap_or_default();
        if status == "Deployed" {
            Ok(ControlFlow::Break(
                out.e_tag().unwrap_or_default().to_string(),
            ))
        } else {
            Ok(ControlFlow::Continue(format!(
                "{status} (deploying to the edge locations)"
            )))
        }
    })
    .await
}

// ---------------------------------------------------------------- update ----

/// Reads the distribution's configuration, changes it with `change`, and
/// sends it with `IfMatch` = the ETag read; a `PreconditionFailed` (changed
/// in between) is read and sent once more.
async fn read_modify_write<F>(aws: &Aws, id: &str, change: F) -> Result<(), Error>
where
    F: Fn(DistributionConfig) -> Result<Option<DistributionConfig>, Error>,
{
    let change = &change;
    retry::retry_errors(&[&STALE_ETAG], || async move {
        let out = aws
            .cloudfront
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:GetDistributionConfig", &e))?;
        let etag = out.e_tag().unwrap_or_default().to_string();
        let Some(config) = out.distribution_config else {
            return Err(Error::Unexpected(format!(
                "cloudfront:GetDistributionConfig of `{id}` answered no configuration"
            )));
        };
        let Some(config) = change(config)? else {
            return Ok(());
        };
        aws.cloudfront
            .update_distribution()
            .id(id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:UpdateDistribution", &e))?;
        Ok(())
    })
    .await
}

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let have: CdnConfig = serde_json::from_value(live.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", live.address)))?;
    let id = live.outputs.get("id").cloned().unwrap_or_default();
    let arn = live.outputs.get("arn").cloned().unwrap_or_default();
    let config_changed = CdnConfig {
        tags: Tags::new(),
        ..want.clone()
    } != CdnConfig {
        tags: Tags::new(),
        ..have.clone()
    };
    if config_changed {
        let oac_id = ensure_oac(aws, &desired.address, &want.name).await?;
        read_modify_write(aws, &id, |config| {
            modified_config(config, &want, &oac_id).map(Some)
        })
        .await?;
    }
    if want.tags != have.tags {
        update_tags(aws, &arn, &want.tags, &have.tags).await?;
    }
    if config_changed {
        wait_deployed(aws, &id).await?;
    }
    let described = describe(aws, &id).await?.ok_or_else(|| {
        Error::Unexpected(format!(
            "{}: distribution {id} is gone after its update",
            desired.address
        ))
    })?;
    Ok(outputs_of(&described.distribution))
}

async fn update_tags(aws: &Aws, arn: &str, want: &Tags, have: &Tags) -> Result<(), Error> {
    let (set, remove) = super::tag_changes(want, have);
    if !remove.is_empty() {
        aws.cloudfront
            .untag_resource()
            .resource(arn)
            .tag_keys(TagKeys::builder().set_items(Some(remove)).build())
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:UntagResource", &e))?;
    }
    if !set.is_empty() {
        aws.cloudfront
            .tag_resource()
            .resource(arn)
            .tags(cf_tags(&set)?)
            .send()
            .await
            .map_err(|e| Error::aws("cloudfront:TagResource", &e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------- delete ----

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let id = live.outputs.get("id").cloned().unwrap_or_default();
    let arn = live.outputs.get("arn").cloned().unwrap_or_default();
    // CloudFront deletes only a disabled, deployed distribution. Its origin
    // access control and policy statement go first, while the distribution
    // (which a re-run finds by its tags) still exists: a destroy interrupted
    // at any call leaves nothing a re-run cannot find.
    let disabled = read_modify_write(aws, &id, |mut config| {
        let mut changed = std::mem::replace(&mut config.enabled, false);
        let target = config
            .default_cache_behavior
            .as_ref()
            .map(|b| b.target_origin_id.clone());
        if let Some(origins) = config.origins.as_mut() {
            for origin in origins
                .items
                .iter_mut()
                .filter(|o| Some(&o.id) == target.as_ref())
            {
                if origin
                    .origin_access_control_id
                    .as_deref()
                    .is_some_and(|o| !o.is_empty())
                {
                    origin.origin_access_control_id = Some(String::new());
                    changed = true;
                }
            }
        }
        Ok(changed.then_some(config))
    })
    .await;
    match disabled {
        Err(Error::Aws { code: Some(c), .. }) if c == "NoSuchDistribution" => return Ok(()),
        other => other?,
    }
    let mut etag = wait_deployed(aws, &id).await?;
    // Its statement in the bucket policy, unless another distribution has it by now.
    if let Some(bucket) = live.outputs.get("origin_bucket").filter(|b| !b.is_empty()) {
        let sid = statement_id(stack_of(live), &live.address.key);
        bucket_policy::remove_statement(aws, bucket, &sid, Some(&arn)).await?;
    }
    // The origin access control the tool made for it (found by its name, so
    // also after a run interrupted once it was detached).
    if let Some(oac_id) = find_oac(aws, &live.physical_name).await? {
        delete_oac(aws, &oac_id, &live.physical_name).await?;
    }
    let mut tries = 0;
    loop {
        tries += 1;
        match aws.cloudfront.delete_distribution().id(&id).if_match(&etag).send().await {
            Ok(_) => return Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchDistribution") => return Ok(()),
            Err(e) if error_code(&e) == Some("PreconditionFailed") && tries < 2 => {
                etag = wait_deployed(aws, &id).await?;
            }
            Err(e) if error_code(&e) == Some("DistributionNotDisabled") => {
                return Err(Error::Aws {
                    operation: "cloudfront:DeleteDistribution",
                    code: Some("DistributionNotDisabled".into()),
                    detail: format!("{}: distribution {id} was enabled again while it was being deleted; run `destroy` again", live.address),
                })
            }
            Err(e) => return Err(Error::aws("cloudfront:DeleteDistribution", &e)),
        }
    }
}

/// Deletes the origin access control `id` if it is the one the tool made
/// for the distribution `name` (an adopted distribution's own is kept).
async fn delete_oac(aws: &Aws, id: &str, name: &str) -> Result<(), Error> {
    let out = match aws
        .cloudfront
        .get_origin_access_control()
        .id(id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("NoSuchOriginAccessControl") => return Ok(()),
        Err(e) => return Err(Error::aws("cloudfront:GetOriginAccessControl", &e)),
    };
    let ours = out
        .origin_access_control()
        .and_then(|o| o.origin_access_control_config())
        .is_some_and(|c| c.name() == name);
    if !ours {
        return Ok(());
    }
    let etag = out.e_tag().unwrap_or_default().to_string();
    let deleted = retry::retry(
        &format!("cloudfront:DeleteOriginAccessControl of `{name}`"),
        &OAC_RELEASING,
        || {
            aws.cloudfront
                .delete_origin_access_control()
                .id(id)
                .if_match(&etag)
                .send()
        },
    )
    .await;
    match deleted {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("NoSuchOriginAccessControl") => Ok(()),
        Err(e) => Err(Error::aws("cloudfront:DeleteOriginAccessControl", &e)),
    }
}

/// The stack name the ownership tags of a live distribution give.
fn stack_of(live: &Live) -> &str {
    live.attributes["tags"][crate::stack::OWNER_STACK_TAG]
        .as_str()
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_cloudfront::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use crate::aws::mock::mock_client;
    use crate::resource::Ownership;

    const NS: &str = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
    const ID: &str = "E2QWRUHAPOMQZL";
    const ARN: &str = "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL";
    const DOMAIN: &str = "d111111abcdef8.cloudfront.net";
    const ORIGIN: &str = "demo-uploads.s3.us-east-1.amazonaws.com";

    /// An HTTP answer of CloudFront (REST-XML), with an ETag when given.
    fn xml(status: u16, body: String, etag: Option<&str>) -> HttpResponse {
        let mut r = HttpResponse::new(
            StatusCode::try_from(status).expect("a status"),
            SdkBody::from(body),
        );
        r.headers_mut().insert("content-type", "text/xml");
        if let Some(etag) = etag {
            r.headers_mut().insert("ETag", etag.to_string());
        }
        r
    }

    /// CloudFront's error document.
    fn error(status: u16, code: &str, message: &str) -> HttpResponse {
        xml(
            status,
            format!("<?xml version=\"1.0\"?><ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"),
            None,
        )
    }

    /// A distribution's configuration as AWS returns it for one made by
    /// `create` from `[cdn.media]` with nothing else set: everything
    /// `create` leaves out filled in (CloudFront API Reference,
    /// `DistributionConfig`: no aliases, logging off, the default
    /// certificate, no geo restriction, HTTP/2, IPv6 on; the origin's
    /// connection attempts 3 and timeout 10 s; methods in CloudFront's own
    /// order, HEAD first), an empty comment and root object as "".
    fn config_xml(comment: &str, enabled: bool, oac: &str) -> String {
        format!(
            "<CallerReference>demo-media-1767225600000</CallerReference>\
             <Aliases><Quantity>0</Quantity></Aliases><DefaultRootObject></DefaultRootObject>\
             <Origins><Quantity>1</Quantity><Items><Origin><Id>demo-media</Id><DomainName>{ORIGIN}</DomainName>\
             <OriginPath></OriginPath><CustomHeaders><Quantity>0</Quantity></CustomHeaders>\
             <S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity><OriginReadTimeout>30</OriginReadTimeout></S3OriginConfig>\
             <ConnectionAttempts>3</ConnectionAttempts><ConnectionTimeout>10</ConnectionTimeout>\
             <OriginShield><Enabled>false</Enabled></OriginShield><OriginAccessControlId>{oac}</OriginAccessControlId>\
             </Origin></Items></Origins><OriginGroups><Quantity>0</Quantity></OriginGroups>\
             <DefaultCacheBehavior><TargetOriginId>demo-media</TargetOriginId>\
             <TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></TrustedSigners>\
             <TrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></TrustedKeyGroups>\
             <ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>\
             <AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items>\
             <CachedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method><Method>GET</Method></Items></CachedMethods></AllowedMethods>\
             <SmoothStreaming>false</SmoothStreaming><Compress>true</Compress>\
             <LambdaFunctionAssociations><Quantity>0</Quantity></LambdaFunctionAssociations>\
             <FunctionAssociations><Quantity>0</Quantity></FunctionAssociations>\
             <FieldLevelEncryptionId></FieldLevelEncryptionId><CachePolicyId>{CACHING_OPTIMIZED}</CachePolicyId>\
             </DefaultCacheBehavior><CacheBehaviors><Quantity>0</Quantity></CacheBehaviors>\
             <CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses><Comment>{comment}</Comment>\
             <Logging><Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix></Logging>\
             <PriceClass>PriceClass_100</PriceClass><Enabled>{enabled}</Enabled>\
             <ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate><SSLSupportMethod>vip</SSLSupportMethod>\
             <MinimumProtocolVersion>TLSv1</MinimumProtocolVersion><CertificateSource>cloudfront</CertificateSource></ViewerCertificate>\
             <Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions>\
             <WebACLId></WebACLId><HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled><Staging>false</Staging>"
        )
    }

    fn distribution_xml(id: &str, status: &str, config: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><Distribution xmlns=\"{NS}\"><Id>{id}</Id>\
             <ARN>arn:aws:cloudfront::123456789012:distribution/{id}</ARN><Status>{status}</Status>\
             <LastModifiedTime>2026-01-01T00:00:00.000Z</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches>\
             <DomainName>{DOMAIN}</DomainName>\
             <ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>\
             <ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>\
             <DistributionConfig>{config}</DistributionConfig></Distribution>"
        )
    }

    /// `ListDistributions` with one summary per (id, origin id).
    fn list_xml(items: &[(&str, &str)]) -> String {
        let summaries: String = items
            .iter()
            .map(|(id, origin)| {
                format!(
                    "<DistributionSummary><Id>{id}</Id><ARN>arn:aws:cloudfront::123456789012:distribution/{id}</ARN>\
                     <ETag>E1</ETag><Status>Deployed</Status><LastModifiedTime>2026-01-01T00:00:00.000Z</LastModifiedTime>\
                     <DomainName>{DOMAIN}</DomainName><Aliases><Quantity>0</Quantity></Aliases>\
                     <Origins><Quantity>1</Quantity><Items><Origin><Id>{origin}</Id><DomainName>{ORIGIN}</DomainName>\
                     <OriginPath></OriginPath><S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity></S3OriginConfig></Origin></Items></Origins>\
                     <DefaultCacheBehavior><TargetOriginId>{origin}</TargetOriginId><ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy></DefaultCacheBehavior>\
                     <CacheBehaviors><Quantity>0</Quantity></CacheBehaviors><CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses>\
                     <Comment></Comment><PriceClass>PriceClass_100</PriceClass><Enabled>true</Enabled>\
                     <ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate></ViewerCertificate>\
                     <Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction></Restrictions>\
                     <WebACLId></WebACLId><HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled><Staging>false</Staging></DistributionSummary>"
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><DistributionList xmlns=\"{NS}\"><Marker></Marker><MaxItems>100</MaxItems>\
             <IsTruncated>false</IsTruncated><Quantity>{}</Quantity><Items>{summaries}</Items></DistributionList>",
            items.len()
        )
    }

    fn tags_xml(tags: &[(&str, &str)]) -> String {
        let items: String = tags
            .iter()
            .map(|(k, v)| format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"))
            .collect();
        format!("<?xml version=\"1.0\"?><Tags xmlns=\"{NS}\"><Items>{items}</Items></Tags>")
    }

    fn ours(key: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            (crate::stack::OWNER_STACK_TAG, "demo"),
            (crate::stack::OWNER_ID_TAG, key),
        ]
    }

    fn with_cloudfront(client: Client) -> Aws {
        Aws {
            cloudfront: client,
            ..Aws::for_tests()
        }
    }

    /// The reads of one distribution of ours named `demo-media`, with `config`.
    fn read_rules(config: String) -> Vec<aws_smithy_mocks::Rule> {
        let list = mock!(Client::list_distributions)
            .then_http_response(|| xml(200, list_xml(&[(ID, "demo-media")]), None));
        let get = mock!(Client::get_distribution)
            .match_requests(|r| r.id() == Some(ID))
            .then_http_response(move || {
                xml(200, distribution_xml(ID, "Deployed", &config), Some("E1"))
            });
        let tags = mock!(Client::list_tags_for_resource)
            .match_requests(|r| r.resource() == Some(ARN))
            .then_http_response(|| xml(200, tags_xml(&ours("cdn.media")), None));
        vec![list, get, tags]
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for a distribution made from `[cdn.media]` with only its
    /// origin: see [`config_xml`].
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = crate::resource::aws_defaults::Minimal::load(
            "[bucket.uploads]\n[cdn.media]\norigin = \"bucket.uploads\"\n",
            "cdn.media",
            &[("bucket.uploads.regional_domain_name", ORIGIN)],
        );
        let rules = read_rules(config_xml("", true, "E1OAC"));
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let live = read(&aws, &m.target(None)).await.expect("read");
        vec![m.case("a distribution made from `[cdn.media]`", live)]
    }

    #[tokio::test]
    async fn a_read_finds_the_distribution_by_its_origin_id_and_tags_and_normalises_it() {
        let rules = read_rules(config_xml("", true, "E1OAC"));
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let address: Address = "cdn.media".parse().unwrap();
        let target = Target {
            stack: "demo",
            address: &address,
            name: "demo-media",
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        };
        let live = read(&aws, &target).await.expect("read").expect("found");
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.outputs["id"], ID);
        assert_eq!(live.outputs["arn"], ARN);
        assert_eq!(live.outputs["domain_name"], DOMAIN);
        assert_eq!(live.outputs["origin_bucket"], "demo-uploads");
        let c: CdnConfig = serde_json::from_value(live.attributes).unwrap();
        // "" is none; HEAD, GET is sorted.
        assert_eq!(c.comment, None);
        assert_eq!(c.default_root_object, None);
        assert_eq!(c.cache_behavior, CacheBehavior::fixed());
        assert!(c.origin_access_control);
        // One list, one describe, one tag read: a converged read's cost.
        assert_eq!(
            rules.iter().map(|r| r.num_calls()).collect::<Vec<_>>(),
            [1, 1, 1]
        );
    }

    #[tokio::test]
    async fn a_distribution_with_another_origin_id_is_not_described_and_one_not_ours_is_not_ours() {
        // Another stack's distribution with the same origin id: found, not ours,
        // not a conflict; a distribution of another origin id is never read.
        let list = mock!(Client::list_distributions).then_http_response(|| {
            xml(
                200,
                list_xml(&[(ID, "demo-media"), ("EOTHER", "other-origin")]),
                None,
            )
        });
        let get = mock!(Client::get_distribution)
            .match_requests(|r| r.id() == Some(ID))
            .then_http_response(|| {
                xml(
                    200,
                    distribution_xml(ID, "Deployed", &config_xml("", true, "E1OAC")),
                    Some("E1"),
                )
            });
        let tags = mock!(Client::list_tags_for_resource).then_http_response(|| {
            xml(
                200,
                tags_xml(&[(crate::stack::OWNER_STACK_TAG, "other")]),
                None,
            )
        });
        let rules = [list, get, tags];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let address: Address = "cdn.media".parse().unwrap();
        let target = Target {
            stack: "demo",
            address: &address,
            name: "demo-media",
            parent: None,
            spec: None,
            adopt: None,
            dir: None,
            plan: None,
        };
        assert!(read(&aws, &target).await.expect("read").is_none());
        assert_eq!(rules[1].num_calls(), 1, "only the candidate is described");
    }

    #[tokio::test]
    async fn adopt_takes_an_untagged_distribution_by_its_id() {
        // Made by hand: another origin id, no tags. `adopt = "<id>"` reads it
        // by id; `up` then tags it (an update of its tags and origin).
        let list = mock!(Client::list_distributions)
            .then_http_response(|| xml(200, list_xml(&[(ID, "S3-by-hand")]), None));
        let get = mock!(Client::get_distribution)
            .match_requests(|r| r.id() == Some(ID))
            .then_http_response(|| {
                let config =
                    config_xml("made by hand", true, "").replace("demo-media", "S3-by-hand");
                xml(200, distribution_xml(ID, "Deployed", &config), Some("E1"))
            });
        let tags = mock!(Client::list_tags_for_resource)
            .then_http_response(|| xml(200, tags_xml(&[]), None));
        let rules = [list, get, tags];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let address: Address = "cdn.media".parse().unwrap();
        let target = Target {
            stack: "demo",
            address: &address,
            name: "demo-media",
            parent: None,
            spec: None,
            adopt: Some(ID),
            dir: None,
            plan: None,
        };
        let live = read(&aws, &target).await.expect("read").expect("found");
        assert_eq!(live.ownership, Ownership::Adopting { id: ID.into() });
        let c: CdnConfig = serde_json::from_value(live.attributes).unwrap();
        assert_eq!(
            c.name, "demo-media",
            "identified by the stack's name, not its origin id"
        );
        assert!(!c.origin_access_control);
        assert_eq!(c.comment.as_deref(), Some("made by hand"));
    }

    fn desired(comment: Option<&str>, enabled: bool) -> Desired {
        let spec = CdnSpec {
            name: None,
            adopt: None,
            origin: "bucket.uploads".into(),
            price_class: PriceClass::Class200,
            default_root_object: Some("index.html".into()),
            enabled,
            comment: comment.map(str::to_string),
            tags: Tags::new(),
        };
        let tags: Tags = ours("cdn.media")
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Desired {
            address: "cdn.media".parse().unwrap(),
            physical_name: "demo-media".into(),
            attributes: serde_json::to_value(desired_config(
                &spec,
                "demo-media",
                ORIGIN.into(),
                tags,
            ))
            .unwrap(),
            depends_on: vec![],
        }
    }

    #[test]
    fn the_stack_maps_to_the_compared_configuration_and_a_new_distribution() {
        let d = desired(Some(""), true);
        let c: CdnConfig = serde_json::from_value(d.attributes).unwrap();
        assert_eq!(c.comment, None, "an empty comment is none, as AWS's \"\"");
        assert_eq!(c.price_class, PriceClass::Class200);
        let config = new_config(&c, "E1OAC", "demo-media-1").expect("a configuration");
        assert_eq!(config.caller_reference(), "demo-media-1");
        assert_eq!(config.comment(), "");
        assert_eq!(config.default_root_object(), Some("index.html"));
        assert_eq!(
            config.price_class().map(|p| p.as_str()),
            Some("PriceClass_200")
        );
        let origin = &config.origins().unwrap().items()[0];
        assert_eq!((origin.id(), origin.domain_name()), ("demo-media", ORIGIN));
        assert_eq!(origin.origin_access_control_id(), Some("E1OAC"));
        assert_eq!(
            origin
                .s3_origin_config()
                .map(|s| s.origin_access_identity()),
            Some("")
        );
        let b = config.default_cache_behavior().unwrap();
        assert_eq!(b.target_origin_id(), "demo-media");
        assert_eq!(b.viewer_protocol_policy().as_str(), "redirect-to-https");
        assert_eq!(b.cache_policy_id(), Some(CACHING_OPTIMIZED));
        // The configuration read back is the one wanted.
        assert_eq!(config_from("demo-media", &config, c.tags.clone()), c);
    }

    #[test]
    #[allow(deprecated)]
    fn an_update_keeps_what_the_stack_does_not_set() {
        let mut read_back = new_config(
            &serde_json::from_value(desired(None, true).attributes).unwrap(),
            "E1OAC",
            "ref",
        )
        .unwrap();
        read_back.aliases = Some(
            aws_sdk_cloudfront::types::Aliases::builder()
                .quantity(1)
                .items("media.example.com")
                .build()
                .unwrap(),
        );
        read_back.http_version = Some(aws_sdk_cloudfront::types::HttpVersion::Http3);
        if let Some(b) = read_back.default_cache_behavior.as_mut() {
            b.viewer_protocol_policy = ViewerProtocolPolicy::AllowAll;
            b.field_level_encryption_id = Some("FLE1".into());
            b.min_ttl = Some(0);
        }
        let want: CdnConfig =
            serde_json::from_value(desired(Some("new comment"), false).attributes).unwrap();
        let sent = modified_config(read_back, &want, "E1OAC").unwrap();
        assert_eq!(sent.caller_reference(), "ref", "CallerReference is kept");
        assert_eq!(sent.comment(), "new comment");
        assert!(!sent.enabled());
        assert_eq!(sent.aliases().map(|a| a.quantity()), Some(1));
        assert_eq!(sent.http_version().map(|h| h.as_str()), Some("http3"));
        let b = sent.default_cache_behavior().unwrap();
        assert_eq!(b.viewer_protocol_policy().as_str(), "redirect-to-https");
        assert_eq!(b.field_level_encryption_id(), Some("FLE1"));
        assert_eq!(b.min_ttl, None, "a cache policy excludes the legacy TTLs");
        assert_eq!(sent.origins().unwrap().quantity(), 1);
    }

    #[test]
    fn an_adopted_distribution_s_origin_takes_the_name_it_is_found_by() {
        let mut by_hand: CdnConfig =
            serde_json::from_value(desired(None, true).attributes).unwrap();
        by_hand.name = "S3-by-hand".into();
        let read_back = new_config(&by_hand, "", "ref").unwrap();
        let want: CdnConfig = serde_json::from_value(desired(None, true).attributes).unwrap();
        let sent = modified_config(read_back, &want, "E1OAC").unwrap();
        let origins = sent.origins().unwrap().items();
        assert_eq!(origins.len(), 1);
        assert_eq!(origins[0].id(), "demo-media");
        assert_eq!(origins[0].origin_access_control_id(), Some("E1OAC"));
        assert_eq!(
            sent.default_cache_behavior().unwrap().target_origin_id(),
            "demo-media"
        );
    }

    fn live() -> Live {
        Live {
            address: "cdn.media".parse().unwrap(),
            physical_name: "demo-media".into(),
            attributes: serde_json::to_value(
                serde_json::from_value::<CdnConfig>(desired(None, true).attributes).unwrap(),
            )
            .unwrap(),
            outputs: Outputs::from([
                ("id".to_string(), ID.to_string()),
                ("arn".to_string(), ARN.to_string()),
                ("domain_name".to_string(), DOMAIN.to_string()),
                ("origin_bucket".to_string(), String::new()),
            ]),
            ownership: Ownership::Ours,
        }
    }

    #[tokio::test]
    async fn an_update_sends_the_etag_read_and_reads_again_once_when_it_is_stale() {
        // Someone changed the distribution between our read and our write:
        // PreconditionFailed, read again (new ETag), send again.
        let config = config_xml("", true, "E1OAC");
        let c2 = config.clone();
        let get_config = mock!(Client::get_distribution_config)
            .sequence()
            .http_response(move || {
                xml(200, format!("<?xml version=\"1.0\"?><DistributionConfig xmlns=\"{NS}\">{config}</DistributionConfig>"), Some("E1"))
            })
            .http_response(move || {
                xml(200, format!("<?xml version=\"1.0\"?><DistributionConfig xmlns=\"{NS}\">{c2}</DistributionConfig>"), Some("E2"))
            })
            .build();
        let stale = mock!(Client::update_distribution)
            .match_requests(|r| r.if_match() == Some("E1"))
            .then_http_response(|| {
                error(
                    412,
                    "PreconditionFailed",
                    "The If-Match version is missing or not valid for the resource.",
                )
            });
        let fresh = mock!(Client::update_distribution)
            .match_requests(|r| {
                r.if_match() == Some("E2")
                    && r.distribution_config()
                        .is_some_and(|c| c.comment() == "new comment")
            })
            .then_http_response(|| {
                xml(
                    200,
                    distribution_xml(ID, "InProgress", &config_xml("new comment", true, "E1OAC")),
                    Some("E3"),
                )
            });
        let oacs = mock!(Client::list_origin_access_controls).then_http_response(|| {
            xml(200, format!("<?xml version=\"1.0\"?><OriginAccessControlList xmlns=\"{NS}\"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>1</Quantity><Items><OriginAccessControlSummary><Id>E1OAC</Id><Description></Description><Name>demo-media</Name><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlSummary></Items></OriginAccessControlList>"), None)
        });
        let status = mock!(Client::get_distribution).then_http_response(|| {
            xml(
                200,
                distribution_xml(ID, "Deployed", &config_xml("new comment", true, "E1OAC")),
                Some("E3"),
            )
        });
        let tags = mock!(Client::list_tags_for_resource)
            .then_http_response(|| xml(200, tags_xml(&ours("cdn.media")), None));
        let rules = [get_config, stale, fresh, oacs, status, tags];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let outputs = update(&aws, &desired(Some("new comment"), true), &live())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outputs["id"], ID);
        assert_eq!(
            (
                rules[0].num_calls(),
                rules[1].num_calls(),
                rules[2].num_calls()
            ),
            (2, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_stale_etag_twice_is_an_error_naming_the_code() {
        let config = config_xml("", true, "E1OAC");
        let get_config = mock!(Client::get_distribution_config).then_http_response(move || {
            xml(200, format!("<?xml version=\"1.0\"?><DistributionConfig xmlns=\"{NS}\">{config}</DistributionConfig>"), Some("E1"))
        });
        let stale = mock!(Client::update_distribution)
            .then_http_response(|| error(412, "PreconditionFailed", "stale"));
        let rules = [get_config, stale];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let err = read_modify_write(&aws, ID, |c| Ok(Some(c)))
            .await
            .expect_err("stale twice");
        assert!(
            matches!(&err, Error::Aws { code: Some(c), .. } if c == "PreconditionFailed"),
            "{err}"
        );
        assert_eq!(rules[1].num_calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_disables_detaches_waits_deletes_the_oac_then_the_distribution() {
        let enabled = config_xml("", true, "E1OAC");
        let get_config = mock!(Client::get_distribution_config).then_http_response(move || {
            xml(200, format!("<?xml version=\"1.0\"?><DistributionConfig xmlns=\"{NS}\">{enabled}</DistributionConfig>"), Some("E1"))
        });
        let disable = mock!(Client::update_distribution)
            .match_requests(|r| {
                r.if_match() == Some("E1")
                    && r.distribution_config().is_some_and(|c| {
                        !c.enabled()
                            && c.origins().is_some_and(|o| {
                                o.items().iter().all(|o| {
                                    o.origin_access_control_id().unwrap_or_default().is_empty()
                                })
                            })
                    })
            })
            .then_http_response(|| {
                xml(
                    200,
                    distribution_xml(ID, "InProgress", &config_xml("", false, "E1OAC")),
                    Some("E2"),
                )
            });
        let disabled = config_xml("", false, "E1OAC");
        let d2 = disabled.clone();
        let status = mock!(Client::get_distribution)
            .sequence()
            .http_response(move || {
                xml(
                    200,
                    distribution_xml(ID, "InProgress", &disabled),
                    Some("E2"),
                )
            })
            .times(2)
            .http_response(move || xml(200, distribution_xml(ID, "Deployed", &d2), Some("E2")))
            .build();
        let delete_it = mock!(Client::delete_distribution)
            .match_requests(|r| r.id() == Some(ID) && r.if_match() == Some("E2"))
            .then_http_response(|| xml(204, String::new(), None));
        let get_oac = mock!(Client::get_origin_access_control)
            .match_requests(|r| r.id() == Some("E1OAC"))
            .then_http_response(|| {
                xml(200, format!("<?xml version=\"1.0\"?><OriginAccessControl xmlns=\"{NS}\"><Id>E1OAC</Id><OriginAccessControlConfig><Name>demo-media</Name><Description></Description><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlConfig></OriginAccessControl>"), Some("EOAC1"))
            });
        // Still let go of a moment later, then deleted.
        let in_use = mock!(Client::delete_origin_access_control)
            .sequence()
            .http_response(|| {
                error(
                    409,
                    "OriginAccessControlInUse",
                    "The origin access control is in use.",
                )
            })
            .http_response(|| xml(204, String::new(), None))
            .build();
        // The origin access control is found by its name (the distribution
        // no longer names it once detached).
        let oacs = mock!(Client::list_origin_access_controls).then_http_response(|| {
            xml(200, format!("<?xml version=\"1.0\"?><OriginAccessControlList xmlns=\"{NS}\"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>1</Quantity><Items><OriginAccessControlSummary><Id>E1OAC</Id><Description></Description><Name>demo-media</Name><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlSummary></Items></OriginAccessControlList>"), None)
        });
        let rules = [
            get_config, disable, status, delete_it, get_oac, in_use, oacs,
        ];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        delete(&aws, &live())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            rules.iter().map(|r| r.num_calls()).collect::<Vec<_>>(),
            [1, 1, 3, 1, 1, 2, 1]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deploy_that_never_ends_is_a_clear_error_after_the_timeout() {
        let config = config_xml("", true, "E1OAC");
        let status = mock!(Client::get_distribution).then_http_response(move || {
            xml(200, distribution_xml(ID, "InProgress", &config), Some("E1"))
        });
        let rules = [status];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let started = tokio::time::Instant::now();
        let err = wait_deployed(&aws, ID).await.expect_err("never deployed");
        assert!(started.elapsed() >= DEPLOY);
        let text = err.to_string();
        assert!(
            text.contains(&format!("distribution {ID}: still InProgress")),
            "{text}"
        );
        assert!(text.contains("run `up` again"), "{text}");
    }

    #[tokio::test]
    async fn create_reuses_an_origin_access_control_of_its_name_and_sends_the_tags() {
        let oacs = mock!(Client::list_origin_access_controls).then_http_response(|| {
            xml(200, format!("<?xml version=\"1.0\"?><OriginAccessControlList xmlns=\"{NS}\"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated><Quantity>1</Quantity><Items><OriginAccessControlSummary><Id>E1OAC</Id><Description></Description><Name>demo-media</Name><SigningProtocol>sigv4</SigningProtocol><SigningBehavior>always</SigningBehavior><OriginAccessControlOriginType>s3</OriginAccessControlOriginType></OriginAccessControlSummary></Items></OriginAccessControlList>"), None)
        });
        let made = mock!(Client::create_origin_access_control)
            .then_http_response(|| error(409, "OriginAccessControlAlreadyExists", "exists"));
        let create_it = mock!(Client::create_distribution_with_tags)
            .match_requests(|r| {
                let Some(c) = r.distribution_config_with_tags() else {
                    return false;
                };
                let tagged = c
                    .tags()
                    .map(|t| t.items())
                    .unwrap_or_default()
                    .iter()
                    .any(|t| {
                        t.key() == crate::stack::OWNER_ID_TAG && t.value() == Some("cdn.media")
                    });
                let origin = c
                    .distribution_config()
                    .and_then(|d| d.origins())
                    .map(|o| o.items()[0].clone());
                tagged
                    && origin.is_some_and(|o| o.origin_access_control_id() == Some("E1OAC"))
                    && c.distribution_config()
                        .is_some_and(|d| d.caller_reference().starts_with("demo-media-"))
            })
            .then_http_response(|| {
                xml(
                    201,
                    distribution_xml(ID, "InProgress", &config_xml("", true, "E1OAC")),
                    Some("E1"),
                )
            });
        let status = mock!(Client::get_distribution).then_http_response(|| {
            xml(
                200,
                distribution_xml(ID, "Deployed", &config_xml("", true, "E1OAC")),
                Some("E1"),
            )
        });
        let rules = [oacs, made, create_it, status];
        let aws = with_cloudfront(mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, &rules));
        let outputs = create(&aws, &desired(None, true))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(outputs["domain_name"], DOMAIN);
        assert_eq!(outputs["origin_bucket"], "demo-uploads");
        assert_eq!(rules[1].num_calls(), 0, "an OAC of its name is reused");
        assert_eq!(rules[2].num_calls(), 1);
    }

    #[test]
    fn statement_ids_and_origin_buckets() {
        assert_eq!(
            statement_id("photo-notes", "media"),
            "MobileBackendPhotoNotesCdnMedia"
        );
        assert_eq!(
            statement_id("photo-notes-alice", "user_files"),
            "MobileBackendPhotoNotesAliceCdnUserFiles"
        );
        assert!(statement_id("a-b", "c")
            .chars()
            .all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            bucket_of_domain("demo-uploads.s3.us-east-1.amazonaws.com").as_deref(),
            Some("demo-uploads")
        );
        assert_eq!(
            bucket_of_domain("a.s3.b.s3.amazonaws.com").as_deref(),
            Some("a.s3.b")
        );
        assert_eq!(bucket_of_domain("example.com"), None);
    }
}
