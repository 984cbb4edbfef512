//! `cdn.<key>.bucket_policy` — the statement of the origin bucket's policy
//! that lets exactly this distribution read the bucket:
//! `Principal: {"Service": "cloudfront.amazonaws.com"}`, `s3:GetObject` on
//! `<bucket ARN>/*`, on condition that `AWS:SourceArn` is the distribution's
//! ARN, with a fixed `Sid` naming the stack and the key
//! ([`super::cdn::statement_id`]).
//!
//! It is a step of its own, after the distribution: it needs the
//! distribution's ARN, as an identity pool's role attachment needs its
//! roles' ARNs, and a plan shows it on its own line (a statement removed by
//! hand is drift of this step, not of the distribution). The stack has no
//! bucket policy of its own, so the statement is merged into whatever policy
//! the bucket has: other statements are kept untouched and in order, the
//! statement follows the distribution's ARN when the distribution is
//! replaced and the bucket when `origin` changes, and deleting it removes
//! only it (the policy too when nothing else is left). Changes of one
//! bucket's policy are made one at a time within a run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cdn::{origin_bucket, statement_id, CdnSpec};
use super::registry::{PartName, PartStep, Step};
use super::{
    retry, ApplyOptions, Change, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target,
};
use crate::aws::{error_code, Aws};
use crate::stack::{Address, Part, Tags};

/// `cdn.<key>.bucket_policy`: the origin bucket's policy statement that lets
/// only this distribution read the bucket.
pub(crate) struct PolicyPart;

pub(crate) const POLICY_ATTRIBUTES: &[(&str, Change)] = &[
    // The bucket whose policy holds the statement: another one moves it.
    ("bucket", Change::Update),
    ("statement", Change::Update),
];

impl PartStep for PolicyPart {
    const PART: &'static str = "bucket_policy";

    fn physical_name<'s>(_spec: &'s CdnSpec, _part: &Part) -> PartName<'s> {
        PartName::Resource
    }
}

/// The comparable shape of the statement: in which bucket, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PolicyConfig {
    pub bucket: String,
    pub statement: Value,
}

impl Step for PolicyPart {
    type Config = PolicyConfig;
    type Spec = CdnSpec;
    const NOUN: &'static str = "bucket policy statement";
    const ATTRIBUTES: &'static [(&'static str, Change)] = POLICY_ATTRIBUTES;
    const COST: u64 = 2;

    fn desired(
        spec: &Self::Spec,
        address: &Address,
        _name: &str,
        _tags: Tags,
        ctx: &DesiredContext<'_>,
    ) -> Result<Value, String> {
        let bucket = origin_bucket(spec)?;
        let config = PolicyConfig {
            bucket: ctx.output(&bucket, "name"),
            statement: statement(
                &statement_id(&ctx.stack.name, &address.key),
                &ctx.output(&bucket, "arn"),
                &ctx.output(&address.resource(), "arn"),
            ),
        };
        serde_json::to_value(config).map_err(|e| e.to_string())
    }

    async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
        read_statement(aws, target).await
    }

    async fn create(
        aws: &Aws,
        desired: &Desired,
        _parent: Option<&Outputs>,
    ) -> Result<Outputs, Error> {
        put_statement(aws, desired, None).await
    }

    async fn update(
        aws: &Aws,
        desired: &Desired,
        live: &Live,
        _parent: Option<&Outputs>,
    ) -> Result<Outputs, Error> {
        put_statement(aws, desired, Some(live)).await
    }

    async fn delete(aws: &Aws, live: &Live, _options: ApplyOptions) -> Result<(), Error> {
        let bucket = live.attributes["bucket"].as_str().unwrap_or_default();
        remove_statement(aws, bucket, &statement_id_of(live), None).await
    }

    const OUTPUTS: &'static [&'static str] = &["sid"];
    /// Bookkeeping: the statement's id is nothing an app uses.
    const INTERNAL_OUTPUTS: &'static [&'static str] = &["sid"];
    const SWIFT_SECTION: &'static str = "BucketPolicies";
}

/// The statement that lets the distribution `distribution_arn` read the objects
/// of the bucket `bucket_arn`.
pub(crate) fn statement(sid: &str, bucket_arn: &str, distribution_arn: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": { "Service": "cloudfront.amazonaws.com" },
        "Action": "s3:GetObject",
        "Resource": format!("{bucket_arn}/*"),
        "Condition": { "StringEquals": { "AWS:SourceArn": distribution_arn } },
    })
}

/// The id of the statement read as `live`.
fn statement_id_of(live: &Live) -> String {
    live.outputs
        .get("sid")
        .cloned()
        .or_else(|| {
            live.attributes["statement"]["Sid"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// A policy's statements as a list (a policy may hold a single one as an object).
fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(all) => all.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// `policy` (none: the bucket has none) with the statement `sid` set to
/// `statement`, or removed when `statement` is `None`; the other statements
/// kept as they are, in their order. `None` when nothing is left: the
/// policy is to be deleted.
pub(crate) fn merged(
    policy: Option<&Value>,
    sid: &str,
    statement: Option<&Value>,
) -> Option<Value> {
    let mut doc = policy
        .cloned()
        .unwrap_or_else(|| json!({ "Version": "2012-10-17" }));
    let mut all: Vec<Value> = policy.map(statements).unwrap_or_default();
    let at = all.iter().position(|s| s["Sid"] == sid);
    match (at, statement) {
        (Some(i), Some(s)) => all[i] = s.clone(),
        (None, Some(s)) => all.push(s.clone()),
        (Some(i), None) => {
            all.remove(i);
        }
        (None, None) => {}
    }
    if all.is_empty() {
        return None;
    }
    if let Value::Object(o) = &mut doc {
        o.insert("Statement".into(), Value::Array(all));
    }
    Some(doc)
}

/// The bucket's policy; `None` when it has none, or when the bucket is gone
/// and `gone_ok`.
async fn bucket_policy(aws: &Aws, bucket: &str, gone_ok: bool) -> Result<Option<Value>, Error> {
    let out = match aws.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => return Ok(None),
        Err(e) if gone_ok && error_code(&e) == Some("NoSuchBucket") => return Ok(None),
        Err(e) => return Err(Error::aws("s3:GetBucketPolicy", &e)),
    };
    let raw = out.policy().unwrap_or_default();
    if raw.trim().is_empty() {
        return Ok(None);
    }
    super::role::parse_policy_document(raw)
        .map(Some)
        .map_err(|e| Error::Unexpected(format!("bucket {bucket}: {}", e.replace("IAM", "S3"))))
}

/// Every change of one bucket's policy, one at a time: two distributions
/// of one bucket would otherwise read, merge and write over each other.
async fn bucket_lock(bucket: &str) -> tokio::sync::OwnedMutexGuard<()> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let lock = {
        let mut all = LOCKS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(all.entry(bucket.to_string()).or_default())
    };
    lock.lock_owned().await
}

/// Writes `policy` to the bucket, or deletes its policy when `None`.
async fn write_policy(aws: &Aws, bucket: &str, policy: Option<Value>) -> Result<(), Error> {
    match policy {
        Some(doc) => retry::retry(
            &format!("s3:PutBucketPolicy of `{bucket}`"),
            &retry::NEW_BUCKET,
            || {
                aws.s3
                    .put_bucket_policy()
                    .bucket(bucket)
                    .policy(doc.to_string())
                    .send()
            },
        )
        .await
        .map(|_| ())
        .map_err(|e| Error::aws("s3:PutBucketPolicy", &e)),
        None => match aws.s3.delete_bucket_policy().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(Error::aws("s3:DeleteBucketPolicy", &e)),
        },
    }
}

async fn read_statement(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let Some(bucket) = target
        .parent
        .and_then(|p| p.get("origin_bucket"))
        .filter(|b| !b.is_empty())
    else {
        return Ok(None);
    };
    let sid = statement_id(target.stack, &target.address.key);
    let Some(policy) = bucket_policy(aws, bucket, true).await? else {
        return Ok(None);
    };
    let Some(found) = statements(&policy)
        .into_iter()
        .find(|s| s["Sid"] == sid.as_str())
    else {
        return Ok(None);
    };
    let config = PolicyConfig {
        bucket: bucket.clone(),
        statement: found,
    };
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        outputs: Outputs::from([("sid".to_string(), sid)]),
        ownership: Ownership::Ours,
    }))
}

async fn put_statement(
    aws: &Aws,
    desired: &Desired,
    live: Option<&Live>,
) -> Result<Outputs, Error> {
    let want: PolicyConfig = serde_json::from_value(desired.attributes.clone())
        .map_err(|e| Error::Unexpected(format!("{}: {e}", desired.address)))?;
    if crate::plan::contains_unknown(&desired.attributes) {
        return Err(Error::Unexpected(format!(
            "{}: a referenced value is still unknown after its resource was applied",
            desired.address
        )));
    }
    let sid = want.statement["Sid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Moved to another bucket: out of the old one first.
    if let Some(old) = live.and_then(|l| l.attributes["bucket"].as_str()) {
        if old != want.bucket {
            remove_statement(aws, old, &sid, None).await?;
        }
    }
    let _one_writer = bucket_lock(&want.bucket).await;
    let policy = bucket_policy(aws, &want.bucket, false).await?;
    let doc = merged(policy.as_ref(), &sid, Some(&want.statement));
    write_policy(aws, &want.bucket, doc).await?;
    Ok(Outputs::from([("sid".to_string(), sid)]))
}

/// Removes the statement `sid` from the bucket's policy (the policy when
/// nothing else is left); with `only_for`, only while its `AWS:SourceArn`
/// is that distribution's (a replacing distribution's statement stays).
pub(crate) async fn remove_statement(
    aws: &Aws,
    bucket: &str,
    sid: &str,
    only_for: Option<&str>,
) -> Result<(), Error> {
    let _one_writer = bucket_lock(bucket).await;
    let Some(policy) = bucket_policy(aws, bucket, true).await? else {
        return Ok(());
    };
    let Some(ours) = statements(&policy).into_iter().find(|s| s["Sid"] == sid) else {
        return Ok(());
    };
    if let Some(arn) = only_for {
        if ours["Condition"]["StringEquals"]["AWS:SourceArn"] != arn {
            return Ok(());
        }
    }
    write_policy(aws, bucket, merged(Some(&policy), sid, None)).await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
    use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
    use aws_sdk_s3::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    use crate::aws::mock::mock_client;

    const SID: &str = "MobileBackendDemoCdnMedia";
    const BUCKET_ARN: &str = "arn:aws:s3:::demo-uploads";
    const OLD: &str = "arn:aws:cloudfront::123456789012:distribution/EOLD";
    const NEW: &str = "arn:aws:cloudfront::123456789012:distribution/ENEW";

    fn other() -> Value {
        json!({
            "Sid": "HandMade",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": format!("{BUCKET_ARN}/*"),
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        })
    }

    #[test]
    fn the_statement_is_added_to_no_policy_and_to_another_one_at_its_end() {
        let ours = statement(SID, BUCKET_ARN, OLD);
        let new = merged(None, SID, Some(&ours)).expect("a policy");
        assert_eq!(
            new,
            json!({ "Version": "2012-10-17", "Statement": [ours.clone()] })
        );
        let theirs = json!({ "Version": "2008-10-17", "Id": "Theirs", "Statement": [other()] });
        let both = merged(Some(&theirs), SID, Some(&ours)).expect("a policy");
        assert_eq!(
            both,
            json!({ "Version": "2008-10-17", "Id": "Theirs", "Statement": [other(), ours] })
        );
        // A single statement written as an object is a list of one.
        let single = json!({ "Version": "2012-10-17", "Statement": other() });
        let statements = merged(Some(&single), SID, Some(&statement(SID, BUCKET_ARN, OLD)))
            .expect("a policy")["Statement"]
            .as_array()
            .map(Vec::len);
        assert_eq!(statements, Some(2));
    }

    #[test]
    fn a_new_distribution_arn_replaces_the_statement_in_place() {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [statement(SID, BUCKET_ARN, OLD), other()],
        });
        let new = merged(Some(&policy), SID, Some(&statement(SID, BUCKET_ARN, NEW))).unwrap();
        assert_eq!(
            new["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"],
            NEW
        );
        assert_eq!(new["Statement"][1], other());
        assert_eq!(new["Statement"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn removing_takes_only_ours_and_the_policy_when_nothing_is_left() {
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [other(), statement(SID, BUCKET_ARN, OLD)],
        });
        let left = merged(Some(&policy), SID, None).unwrap();
        assert_eq!(
            left,
            json!({ "Version": "2012-10-17", "Statement": [other()] })
        );
        let only_ours =
            json!({ "Version": "2012-10-17", "Statement": [statement(SID, BUCKET_ARN, OLD)] });
        assert_eq!(merged(Some(&only_ours), SID, None), None);
        // Another statement id is never touched.
        assert_eq!(merged(Some(&left), SID, None), Some(left.clone()));
    }

    #[test]
    fn the_statement_lets_only_the_distribution_read_objects() {
        let s = statement(SID, BUCKET_ARN, NEW);
        assert_eq!(
            s["Principal"],
            json!({ "Service": "cloudfront.amazonaws.com" })
        );
        assert_eq!(s["Action"], "s3:GetObject");
        assert_eq!(s["Resource"], "arn:aws:s3:::demo-uploads/*");
        assert_eq!(
            s["Condition"],
            json!({ "StringEquals": { "AWS:SourceArn": NEW } })
        );
    }

    fn live(bucket: &str, arn: &str) -> Live {
        Live {
            address: "cdn.media.bucket_policy".parse().unwrap(),
            physical_name: "demo-media".into(),
            attributes: json!({ "bucket": bucket, "statement": statement(SID, BUCKET_ARN, arn) }),
            outputs: Outputs::from([("sid".to_string(), SID.to_string())]),
            ownership: Ownership::Ours,
        }
    }

    #[tokio::test]
    async fn deleting_the_last_statement_deletes_the_policy_and_a_missing_policy_is_nothing() {
        use aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyOutput;
        let only_ours =
            json!({ "Version": "2012-10-17", "Statement": [statement(SID, BUCKET_ARN, OLD)] });
        let get = mock!(Client::get_bucket_policy)
            .sequence()
            .output(move || {
                GetBucketPolicyOutput::builder()
                    .policy(only_ours.to_string())
                    .build()
            })
            .error(|| {
                GetBucketPolicyError::generic(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("NoSuchBucketPolicy")
                        .message("The bucket policy does not exist")
                        .build(),
                )
            })
            .build();
        let gone = mock!(Client::delete_bucket_policy)
            .match_requests(|r| r.bucket() == Some("demo-uploads"))
            .then_output(|| DeleteBucketPolicyOutput::builder().build());
        let rules = [get, gone];
        let aws = Aws {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules),
            ..Aws::for_tests()
        };
        PolicyPart::delete(&aws, &live("demo-uploads", OLD), ApplyOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Deleted again: the policy is gone, nothing to do.
        PolicyPart::delete(&aws, &live("demo-uploads", OLD), ApplyOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rules[0].num_calls(), rules[1].num_calls()), (2, 1));
    }

    #[tokio::test]
    async fn a_distribution_deleted_after_its_replacement_leaves_the_new_statement() {
        let policy =
            json!({ "Version": "2012-10-17", "Statement": [statement(SID, BUCKET_ARN, NEW)] });
        let get = mock!(Client::get_bucket_policy).then_output(move || {
            GetBucketPolicyOutput::builder()
                .policy(policy.to_string())
                .build()
        });
        let put = mock!(Client::put_bucket_policy)
            .then_output(|| PutBucketPolicyOutput::builder().build());
        let rules = [get, put];
        let aws = Aws {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &rules),
            ..Aws::for_tests()
        };
        remove_statement(&aws, "demo-uploads", SID, Some(OLD))
            .await
            .unwrap();
        assert_eq!(rules[1].num_calls(), 0);
    }

    // ------------------------------------------------- AWS's defaults ----

    /// S3's `GetBucketPolicy` answers the policy as plain JSON (not
    /// percent-encoded as IAM's), as it was put, with another statement of
    /// the bucket's beside ours.
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        let m = crate::resource::aws_defaults::Minimal::load(
            "[bucket.uploads]\n[cdn.media]\norigin = \"bucket.uploads\"\n",
            "cdn.media.bucket_policy",
            &[
                ("bucket.uploads.name", "demo-uploads"),
                ("bucket.uploads.arn", BUCKET_ARN),
                ("cdn.media.arn", NEW),
            ],
        );
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [other(), statement(SID, BUCKET_ARN, NEW)],
        });
        let get = mock!(Client::get_bucket_policy)
            .match_requests(|r| r.bucket() == Some("demo-uploads"))
            .then_output(move || {
                GetBucketPolicyOutput::builder()
                    .policy(policy.to_string())
                    .build()
            });
        let aws = Aws {
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get]),
            ..Aws::for_tests()
        };
        let parent = Outputs::from([("origin_bucket".to_string(), "demo-uploads".to_string())]);
        let live = read_statement(&aws, &m.target(Some(&parent)))
            .await
            .expect("read");
        vec![m.case(
            "the statement of `[cdn.media]` in its bucket's policy",
            live,
        )]
    }
}
