//! Client-side request pacing and quota errors.
//!
//! Some control planes throttle far below what a parallel `up` would send:
//! API Gateway allows about 10 requests per second per account, one
//! `CreateDeployment` per 5 seconds and one `DeleteRestApi` per 30 seconds;
//! Cognito user pools' resource-management operations allow about 5 per
//! second. Rather than be throttled and back off, the tool paces its own
//! requests below those rates: every HTTP attempt (retries included) to such
//! a service first takes a token from the service's bucket.
//!
//! A quota error (`LimitExceeded`, `LimitExceededException`: too many user
//! pools, roles, APIs...) is not transient: retrying cannot help, so it is
//! classified as not retryable, and [`super::describe`] says it is a quota.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket (generic cell rate algorithm): `burst` requests at once,
/// then one per `interval`.
#[derive(Debug)]
pub struct Bucket {
    interval: Duration,
    burst: u32,
    /// The theoretical arrival time of the next request.
    next: Mutex<Option<Instant>>,
}

impl Bucket {
    pub fn new(interval: Duration, burst: u32) -> Bucket {
        Bucket {
            interval,
            burst: burst.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits until a request may be sent.
    pub async fn take(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let tat = next.map_or(now, |t| t.max(now));
            let tolerance = self.interval * (self.burst - 1);
            let allowed = tat.checked_sub(tolerance).unwrap_or(now).max(now);
            *next = Some(tat + self.interval);
            allowed
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Which bucket, if any, a request to one service takes a token from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ApiGateway,
    CognitoUserPools,
}

/// The buckets of one service.
#[derive(Debug)]
struct Pacing {
    service: Service,
    general: Bucket,
    /// API Gateway's `CreateDeployment`.
    deployments: Bucket,
    /// API Gateway's `DeleteRestApi`.
    api_deletes: Bucket,
}

impl Pacing {
    pub(crate) fn new(service: Service) -> Pacing {
        let general = match service {
            Service::ApiGateway => Bucket::new(Duration::from_millis(100), 10),
            Service::CognitoUserPools => Bucket::new(Duration::from_millis(200), 5),
        };
        Pacing {
            service,
            general,
            deployments: Bucket::new(Duration::from_secs(5), 1),
            api_deletes: Bucket::new(Duration::from_secs(30), 1),
        }
    }

    /// Waits for every bucket this request needs.
    async fn take(&self, method: &str, path: &str) {
        if self.service == Service::ApiGateway {
            let segments: Vec<&str> = path
                .split('?')
                .next()
                .unwrap_or("")
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            match (method, segments.as_slice()) {
                ("POST", ["restapis", _, "deployments"]) => self.deployments.take().await,
                ("DELETE", ["restapis", _]) => self.api_deletes.take().await,
                _ => {}
            }
        }
        self.general.take().await;
    }
}

/// The one HTTPS client of every SDK client: the SDK's default client (hyper
/// 1, rustls, proxy settings from the environment) with rustls on *ring*
/// instead of aws-lc. It is built here because the SDK builds its own only
/// inside a client, where it cannot be wrapped, and because the SDK's
/// default client is not compiled in (its aws-lc is a long C build).
pub fn default_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut b =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    })
}

/// An HTTP client that paces requests before handing them to the SDK's own.
#[derive(Debug, Clone)]
pub(crate) struct Paced {
    inner: SharedHttpClient,
    pacing: Arc<Pacing>,
}

impl Paced {
    pub(crate) fn client(inner: SharedHttpClient, service: Service) -> SharedHttpClient {
        SharedHttpClient::new(Paced {
            inner,
            pacing: Arc::new(Pacing::new(service)),
        })
    }
}

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacing: self.pacing.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacing: Arc<Pacing>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let pacing = self.pacing.clone();
        HttpConnectorFuture::new(async move {
            let path = request.uri().to_string();
            let path = path
                .find("://")
                .and_then(|i| {
                    path[i + 3..]
                        .find('/')
                        .map(|j| path[i + 3 + j..].to_string())
                })
                .unwrap_or(path);
            pacing.take(request.method(), &path).await;
            inner.call(request).await
        })
    }
}

/// Whether an error code is a quota (not a rate) being exceeded.
pub(crate) fn is_quota_code(code: &str) -> bool {
    matches!(code, "LimitExceeded" | "LimitExceededException")
}

/// Never retries a quota error: the quota will not go away by waiting.
/// (DynamoDB's `LimitExceededException` means too many table operations at
/// once, which does pass: that client does not get this classifier.)
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct QuotaErrorsAreFinal;

impl QuotaErrorsAreFinal {
    fn quota_in(headers_type: Option<&str>, body: &[u8]) -> bool {
        if headers_type
            .map(|t| t.split(':').next().unwrap_or(t))
            .is_some_and(is_quota_code)
        {
            return true;
        }
        let body = String::from_utf8_lossy(body);
        // Query and REST-XML: <Code>LimitExceeded</Code>; JSON: "__type".
        body.contains("<Code>LimitExceeded</Code>")
            || body.contains("<Code>LimitExceededException</Code>")
            || body.contains("#LimitExceededException\"")
            || body.contains("\"__type\":\"LimitExceededException\"")
            || body.contains("\"__type\": \"LimitExceededException\"")
    }
}

impl ClassifyRetry for QuotaErrorsAreFinal {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(response) = ctx.response() else {
            return RetryAction::NoActionIndicated;
        };
        let status = response.status().as_u16();
        if !(400..500).contains(&status) {
            return RetryAction::NoActionIndicated;
        }
        let body = response.body().bytes().unwrap_or_default();
        if Self::quota_in(response.headers().get("x-amzn-errortype"), body) {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "mobile-backend: quota errors are final"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::default()
    }
}

impl fmt::Display for QuotaErrorsAreFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_a_burst_through_then_paces() {
        let b = Bucket::new(Duration::from_millis(100), 3);
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..6 {
            b.take().await;
            at.push((Instant::now() - start).as_millis());
        }
        assert_eq!(at, vec![0, 0, 0, 100, 200, 300]);
        // Idle time refills it, but never beyond the burst.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let again = Instant::now();
        for _ in 0..4 {
            b.take().await;
        }
        assert_eq!((Instant::now() - again).as_millis(), 100);
    }

    #[tokio::test(start_paused = true)]
    async fn api_gateway_deployments_are_five_seconds_apart() {
        let p = Pacing::new(Service::ApiGateway);
        let start = Instant::now();
        for _ in 0..3 {
            p.take("POST", "/restapis/abc123/deployments").await;
        }
        assert_eq!((Instant::now() - start).as_secs(), 10);
        // Other calls are only paced at 10 per second.
        let start = Instant::now();
        for _ in 0..10 {
            p.take("GET", "/restapis/abc123/resources?limit=500").await;
        }
        assert!((Instant::now() - start) < Duration::from_secs(1));
        let start = Instant::now();
        p.take("DELETE", "/restapis/abc123").await;
        p.take("DELETE", "/restapis/def456").await;
        assert!((Instant::now() - start) >= Duration::from_secs(30));
    }

    #[test]
    fn quota_errors_are_recognised_in_every_protocol() {
        let q = QuotaErrorsAreFinal::quota_in;
        assert!(q(Some("LimitExceededException"), b""));
        assert!(q(Some("LimitExceededException:http://internal"), b""));
        assert!(q(
            None,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>Cannot exceed quota for RolesPerAccount: 1000</Message></Error></ErrorResponse>"
        ));
        assert!(q(
            None,
            br#"{"__type":"com.amazonaws.cognito#LimitExceededException","message":"user pools"}"#
        ));
        assert!(!q(Some("TooManyRequestsException"), b""));
        assert!(!q(
            None,
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        ));
    }
}
