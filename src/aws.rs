//! AWS SDK configuration (region, profile, per-service endpoint override, retry
//! and timeouts), the clients, the call log, and error classification.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::config_bag::ConfigBag;

pub mod download;
pub mod limits;
#[cfg(test)]
pub(crate) mod mock;
pub mod nulls;
pub mod quotas;

/// What the user asked for on the command line and in the stack file.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub region: Option<String>,
    pub stack_region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Attempts per AWS call (the first and up to 7 retries).
pub const MAX_ATTEMPTS: u32 = 8;

/// How the call log names the stack lock's DynamoDB calls.
pub const LOCK_SERVICE: &str = "Lock DynamoDB";

/// Every AWS call the tool makes, counted per `service:Operation`, and written
/// one per line to `$MOBILE_BACKEND_CALL_LOG` when that is set (tests and
/// benchmarks count calls with it).
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    file: Option<Arc<Mutex<std::fs::File>>>,
    /// Recorded instead of the service's name (the stack lock's calls are
    /// `Lock DynamoDB:PutItem`, so they never count as the stack's).
    label: Option<&'static str>,
}

impl CallLog {
    pub fn from_env() -> Self {
        let file = std::env::var_os("MOBILE_BACKEND_CALL_LOG").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
                .map(|f| Arc::new(Mutex::new(f)))
        });
        CallLog {
            counts: Arc::default(),
            file,
            label: None,
        }
    }

    /// The same log, recording `label` as the service.
    pub fn labelled(&self, label: &'static str) -> CallLog {
        CallLog {
            label: Some(label),
            ..self.clone()
        }
    }

    pub(crate) fn record(&self, service: &str, operation: &str) {
        let key = format!("{}:{operation}", self.label.unwrap_or(service));
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(key.clone()).or_default() += 1;
        }
        if let Some(file) = &self.file {
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{key}");
            }
        }
    }

    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Whether an operation changes anything (everything but reads).
pub fn is_mutating(operation: &str) -> bool {
    !["Describe", "Get", "List", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "mobile-backend call log"
    }

    // Not `read_before_execution`: client-level interceptors see that hook
    // before the operation's metadata is in the config bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            self.record(meta.service(), meta.name());
        }
        Ok(())
    }
}

/// The clients of one run, and the account and region they act in.
#[derive(Debug, Clone)]
pub struct Aws {
    pub account_id: String,
    pub region: String,
    pub partition: String,
    pub sts: aws_sdk_sts::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// DynamoDB for the stack lock's table only (its calls are logged as
    /// [`LOCK_SERVICE`]).
    pub lock_table: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub iam: aws_sdk_iam::Client,
    pub cognito_idp: aws_sdk_cognitoidentityprovider::Client,
    pub cognito_identity: aws_sdk_cognitoidentity::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub cloudsearch: aws_sdk_cloudsearch::Client,
    pub opensearch: aws_sdk_opensearch::Client,
    /// CloudFront: a global service (one endpoint, signed for us-east-1 by
    /// the SDK's endpoint rules whatever the stack's region).
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// Whether CloudSearch can answer: on AWS, or where
    /// `AWS_ENDPOINT_URL_CLOUDSEARCH` names an endpoint. An endpoint for every
    /// service is a local emulator, and no emulator has CloudSearch.
    pub cloudsearch_reachable: bool,
    pub calls: CallLog,
    /// Where presigned URLs are fetched (a Lambda function's package): the
    /// SDK's HTTPS connector (see [`download`]).
    pub downloads: aws_smithy_runtime_api::client::http::SharedHttpConnector,
    /// Set once the endpoint answered `PutRestApi` as an operation it does
    /// not have (a local emulator): REST APIs are then written one call at a
    /// time for the rest of the run.
    pub no_put_rest_api: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How the call log names the download of a Lambda function's package (a
/// presigned URL, not an API call): a read.
pub const PACKAGE_DOWNLOAD: (&str, &str) = ("Lambda code", "GetPackage");

impl Aws {
    /// The body at a presigned `url` (at most `limit` bytes), logged as
    /// [`PACKAGE_DOWNLOAD`]; `what` names it in errors.
    pub async fn download_package(
        &self,
        url: &str,
        limit: u64,
        what: &str,
    ) -> Result<Vec<u8>, String> {
        self.calls.record(PACKAGE_DOWNLOAD.0, PACKAGE_DOWNLOAD.1);
        download::get(&self.downloads, url, limit, what).await
    }
}

/// Per-service variables that must keep their endpoint even when
/// `--endpoint-url` is given (an endpoint set in code would beat them).
fn service_endpoint_var(env_name: &str) -> bool {
    std::env::var_os(format!("AWS_ENDPOINT_URL_{env_name}")).is_some_and(|v| !v.is_empty())
}

impl Aws {
    /// Loads the SDK configuration and asks STS who we are.
    pub async fn connect(settings: &Settings) -> Result<Aws, String> {
        let mut aws = Aws::unidentified(settings).await?;
        let identity = aws.identify().await?;
        aws.set_identity(identity);
        Ok(aws)
    }

    /// Asks STS who we are: the account id and the partition.
    pub async fn identify(&self) -> Result<(String, String), String> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| format!("cannot identify the AWS account (sts:GetCallerIdentity): {}. Check your credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, `aws sso login`) and --endpoint-url", describe(&e).trim_end_matches('.')))?;
        let account_id = identity
            .account()
            .ok_or("sts:GetCallerIdentity returned no account id")?
            .to_string();
        let partition = identity
            .arn()
            .and_then(|arn| arn.split(':').nth(1))
            .unwrap_or("aws")
            .to_string();
        Ok((account_id, partition))
    }

    /// Sets what [`Aws::identify`] found.
    pub fn set_identity(&mut self, (account_id, partition): (String, String)) {
        self.account_id = account_id;
        self.partition = partition;
    }

    /// The clients, before STS is asked who we are ([`Aws::identify`]): the
    /// account id is empty until then. Only reads that need no account id
    /// (account-wide listings) may be made with it.
    pub async fn unidentified(settings: &Settings) -> Result<Aws, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            // The one HTTPS client (the SDK's default one is not compiled in:
            // see Cargo.toml); credential providers use it too.
            .http_client(limits::default_http_client())
            // Standard mode retries throttling, 5xx and dropped connections.
            // 8 attempts: a call fails only if 8 in a row do (at a 17 % fault
            // rate, 1 in 1.4 million); the waits are random up to 0.5 s, 1 s,
            // 2 s, 4 s, then 8 s, so a call that keeps failing gives up after
            // about 16 s on average and at most 32 s.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(500))
                    .with_max_backoff(Duration::from_secs(8)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = settings.region.clone().or(settings.stack_region.clone()) {
            loader = loader.region(Region::new(region));
        }
        let config = loader.load().await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            "no AWS region: pass --region, set `region` in [stack], or set AWS_REGION".to_string()
        })?;
        let endpoint = settings.endpoint_url.clone();
        let emulated = endpoint.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || service_endpoint_var("S3");
        let calls = CallLog::from_env();

        macro_rules! client {
            ($krate:ident, $env:literal) => {{
                let mut b = $krate::config::Builder::from(&config).interceptor(calls.clone());
                if let Some(url) = &endpoint {
                    if !service_endpoint_var($env) {
                        b = b.endpoint_url(url);
                    }
                }
                b
            }};
        }
        // Every service but DynamoDB: there `LimitExceededException` passes.
        macro_rules! quota_final {
            ($b:expr) => {
                $b.retry_classifier(limits::QuotaErrorsAreFinal)
            };
        }
        // Paced services get the SDK's own HTTP client behind a token bucket.
        let paced = |given: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
                     service: limits::Service| {
            Some(limits::Paced::client(
                given.unwrap_or_else(limits::default_http_client),
                service,
            ))
        };
        // A paced request waits for its token inside the HTTP client, before
        // its body is sent; the SDK's upload stall check (5 s of grace) would
        // take a wait of more than 5 s (the third `CreateDeployment` in a
        // row) for a stalled upload, abandon the attempt and retry, and each
        // abandoned attempt wastes its token. Their bodies are small JSON
        // documents: only downloads keep the stall check.
        let paced_stalls = || {
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                .upload_enabled(false)
                .build()
        };
        let sts = aws_sdk_sts::Client::from_conf(quota_final!(client!(aws_sdk_sts, "STS")).build());
        let dynamodb =
            aws_sdk_dynamodb::Client::from_conf(client!(aws_sdk_dynamodb, "DYNAMODB").build());
        let lock_calls = calls.labelled(LOCK_SERVICE);
        let lock_table = {
            let mut b = aws_sdk_dynamodb::config::Builder::from(&config).interceptor(lock_calls);
            if let Some(url) = &endpoint {
                if !service_endpoint_var("DYNAMODB") {
                    b = b.endpoint_url(url);
                }
            }
            aws_sdk_dynamodb::Client::from_conf(b.build())
        };
        let s3 = aws_sdk_s3::Client::from_conf(
            quota_final!(client!(aws_sdk_s3, "S3"))
                .force_path_style(emulated)
                .build(),
        );
        let tagging = aws_sdk_resourcegroupstagging::Client::from_conf(
            quota_final!(client!(
                aws_sdk_resourcegroupstagging,
                "RESOURCE_GROUPS_TAGGING_API"
            ))
            .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(quota_final!(client!(aws_sdk_iam, "IAM")).build());
        let cognito_idp = aws_sdk_cognitoidentityprovider::Client::from_conf({
            let mut b = quota_final!(client!(
                aws_sdk_cognitoidentityprovider,
                "COGNITO_IDENTITY_PROVIDER"
            ));
            b.set_http_client(paced(
                config.http_client(),
                limits::Service::CognitoUserPools,
            ));
            b.set_stalled_stream_protection(Some(paced_stalls()));
            b.build()
        });
        let cognito_identity = aws_sdk_cognitoidentity::Client::from_conf(
            quota_final!(client!(aws_sdk_cognitoidentity, "COGNITO_IDENTITY")).build(),
        );
        // Lambda's control plane is paced too, at 15 per second at most: its
        // waits stay far below the upload stall check's 5 s, which is kept
        // for function code (zip) uploads.
        let lambda = aws_sdk_lambda::Client::from_conf({
            let mut b = quota_final!(client!(aws_sdk_lambda, "LAMBDA"));
            b.set_http_client(paced(config.http_client(), limits::Service::Lambda));
            b.build()
        });
        let apigateway = aws_sdk_apigateway::Client::from_conf({
            let mut b = quota_final!(client!(aws_sdk_apigateway, "API_GATEWAY"));
            // API Gateway answers `null` inside maps, which the SDK refuses
            // to read (see `nulls`).
            b.set_http_client(
                paced(config.http_client(), limits::Service::ApiGateway)
                    .map(nulls::NullsDropped::client),
            );
            b.set_stalled_stream_protection(Some(paced_stalls()));
            b.build()
        });
        // CloudSearch keeps AWS_ENDPOINT_URL_CLOUDSEARCH when it is set (tests
        // point it at a stand-in: no emulator has CloudSearch's API).
        let cloudsearch = aws_sdk_cloudsearch::Client::from_conf(
            quota_final!(client!(aws_sdk_cloudsearch, "CLOUDSEARCH")).build(),
        );
        let opensearch = aws_sdk_opensearch::Client::from_conf(
            quota_final!(client!(aws_sdk_opensearch, "OPENSEARCH")).build(),
        );

        let cloudfront = aws_sdk_cloudfront::Client::from_conf(
            quota_final!(client!(aws_sdk_cloudfront, "CLOUDFRONT")).build(),
        );

        Ok(Aws {
            account_id: String::new(),
            region,
            partition: "aws".to_string(),
            sts,
            dynamodb,
            lock_table,
            s3,
            tagging,
            iam,
            cognito_idp,
            cognito_identity,
            lambda,
            apigateway,
            cloudsearch,
            opensearch,
            cloudfront,
            cloudsearch_reachable: service_endpoint_var("CLOUDSEARCH") || !emulated,
            calls,
            downloads: download::connector(),
            no_put_rest_api: Default::default(),
        })
    }
}

impl Aws {
    /// Clients for unit tests: every client points at a closed local port;
    /// tests swap in mocked clients for the services they exercise.
    #[cfg(test)]
    pub fn for_tests() -> Aws {
        macro_rules! unreachable_client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::Config::builder()
                        .behavior_version(BehaviorVersion::latest())
                        .region(Region::new("us-east-1"))
                        .http_client(limits::default_http_client())
                        .endpoint_url("http://127.0.0.1:9")
                        .build(),
                )
            };
        }
        Aws {
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sts: unreachable_client!(aws_sdk_sts),
            dynamodb: unreachable_client!(aws_sdk_dynamodb),
            lock_table: unreachable_client!(aws_sdk_dynamodb),
            s3: unreachable_client!(aws_sdk_s3),
            tagging: unreachable_client!(aws_sdk_resourcegroupstagging),
            iam: unreachable_client!(aws_sdk_iam),
            cognito_idp: unreachable_client!(aws_sdk_cognitoidentityprovider),
            cognito_identity: unreachable_client!(aws_sdk_cognitoidentity),
            lambda: unreachable_client!(aws_sdk_lambda),
            apigateway: unreachable_client!(aws_sdk_apigateway),
            cloudsearch: unreachable_client!(aws_sdk_cloudsearch),
            opensearch: unreachable_client!(aws_sdk_opensearch),
            cloudfront: unreachable_client!(aws_sdk_cloudfront),
            cloudsearch_reachable: false,
            calls: CallLog::default(),
            no_put_rest_api: Default::default(),
            // Unit tests that download swap in `download::Answering`.
            downloads: download::Answering::new(|uri| {
                panic!("a unit test downloads {uri} without an answering connector")
            })
            .shared(),
        }
    }
}

/// The AWS error code of a failed call, if AWS answered.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().code(),
        _ => None,
    }
}

/// The AWS error message of a failed call, if AWS answered with one.
pub fn error_message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(e) => e.err().message(),
        _ => None,
    }
}

/// A one-line account of a failed call: the AWS error code and message, or
/// why no answer came.
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    err: &SdkError<E, R>,
) -> String {
    match err {
        SdkError::ServiceError(e) => {
            let inner = e.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(msg)) if limits::is_quota_code(code) => format!(
                    "{code}: {msg} (an AWS quota of this account and region: waiting does not help, so it was not retried; raise it in the Service Quotas console or remove resources that count against it)"
                ),
                (Some(code), Some(msg)) => format!("{code}: {msg}"),
                (Some(code), None) => code.to_string(),
                _ => format!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(inner)
                ),
            }
        }
        SdkError::DispatchFailure(e) => {
            // The innermost cause reads best ("connection closed before
            // message completed"); the chain above it is the SDK's plumbing.
            let mut cause = None;
            let mut source: Option<&(dyn std::error::Error + 'static)> = e
                .as_connector_error()
                .map(|c| c as &(dyn std::error::Error + 'static));
            while let Some(s) = source {
                cause = Some(s.to_string());
                source = s.source();
            }
            let what = if e.is_timeout() {
                "AWS did not answer in time"
            } else {
                "could not reach AWS"
            };
            match cause {
                Some(c) => format!("{what} ({c})"),
                None => what.to_string(),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_string(),
        other => format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(other)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_mutating() {
        for op in [
            "DescribeTable",
            "GetBucketTagging",
            "ListTagsOfResource",
            "HeadBucket",
        ] {
            assert!(!is_mutating(op), "{op}");
        }
        for op in [
            "CreateTable",
            "PutBucketVersioning",
            "TagResource",
            "DeleteObjects",
            "UpdateTable",
        ] {
            assert!(is_mutating(op), "{op}");
        }
    }
}
