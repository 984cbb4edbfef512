//! Client-side request pacing and quota errors.
//!
//! Some control planes throttle far below what a parallel `up` would send
//! (API Gateway: 10 requests per second in all, one `CreateDeployment` per
//! 5 seconds, one `DeleteRestApi` per 30 seconds...). Rather than be
//! throttled and back off, the tool paces its own requests below the rates
//! AWS documents, listed in one table, [`super::quotas::QUOTAS`]: every HTTP
//! attempt (retries included) to such a service first takes a token from
//! its operation's bucket, if it has one, then from the service's total, if
//! there is one.
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

pub use super::quotas::Service;
use super::quotas::{Call, Quota, QUOTAS};

/// The buckets of one service: one per row of [`QUOTAS`] for it.
#[derive(Debug)]
struct Pacing {
    buckets: Vec<(&'static Quota, Bucket)>,
}

impl Pacing {
    pub(crate) fn new(service: Service) -> Pacing {
        let buckets = QUOTAS
            .iter()
            .filter(|q| q.service == service)
            .map(|q| (q, Bucket::new(q.interval(), q.burst)))
            .collect();
        Pacing { buckets }
    }

    /// The rows a request takes a token from: its operation's first, the
    /// service's total last (so that a long wait for an operation's token
    /// does not hold a token of the total meanwhile).
    fn rows_for<'p>(&'p self, call: &Call<'_>) -> Vec<&'p (&'static Quota, Bucket)> {
        let (mut total, mut own): (Vec<_>, Vec<_>) = self
            .buckets
            .iter()
            .filter(|(q, _)| q.covers(call))
            .partition(|(q, _)| matches!(q.matches, super::quotas::Matches::All));
        own.append(&mut total);
        own
    }

    /// Waits for every bucket this request needs.
    async fn take_call(&self, call: &Call<'_>) {
        for (_, bucket) in self.rows_for(call) {
            bucket.take().await;
        }
    }

    /// Waits for every bucket a REST request needs.
    #[cfg(test)]
    async fn take(&self, method: &str, path: &str) {
        self.take_call(&Call {
            method,
            path,
            target: None,
        })
        .await;
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
            let target = request.headers().get("x-amz-target");
            let call = Call {
                method: request.method(),
                path: &path,
                target,
            };
            pacing.take_call(&call).await;
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
        // Other calls are only paced at 10 per second. (`GetResources` has
        // its own bucket now: 5 per 2 s.)
        let start = Instant::now();
        for _ in 0..10 {
            p.take("GET", "/restapis/abc123/stages?limit=500").await;
        }
        assert!((Instant::now() - start) < Duration::from_secs(1));
        let start = Instant::now();
        p.take("DELETE", "/restapis/abc123").await;
        p.take("DELETE", "/restapis/def456").await;
        assert!((Instant::now() - start) >= Duration::from_secs(30));
    }

    /// The table, as AWS documents it: (service, row, interval, burst).
    const DOCUMENTED: &[(Service, &str, u64, u32)] = &[
        (Service::ApiGateway, "total", 100, 40),
        (Service::ApiGateway, "CreateRestApi", 3000, 1),
        (Service::ApiGateway, "PutRestApi", 1000, 1),
        (Service::ApiGateway, "DeleteRestApi", 30_000, 1),
        (Service::ApiGateway, "CreateDeployment", 5000, 1),
        (Service::ApiGateway, "CreateResource", 200, 1),
        (Service::ApiGateway, "DeleteResource", 200, 1),
        (Service::ApiGateway, "GetResources", 400, 1),
        (Service::ApiGateway, "CreateApiKey", 200, 1),
        (Service::ApiGateway, "DeleteApiKey", 200, 1),
        (Service::ApiGateway, "UpdateUsagePlan", 20_000, 1),
        (Service::CognitoUserPools, "UserPoolRead", 66, 1),
        (Service::CognitoUserPools, "UserPoolUpdate", 66, 1),
        (Service::CognitoUserPools, "UserPoolClientRead", 66, 1),
        (Service::CognitoUserPools, "UserPoolClientUpdate", 66, 1),
        (Service::CognitoUserPools, "UserResourceRead", 20, 1),
        (Service::CognitoUserPools, "UserResourceUpdate", 40, 1),
        (Service::Lambda, "GetFunction", 10, 1),
        (Service::Lambda, "GetPolicy", 66, 1),
        (Service::Lambda, "control plane (remainder)", 66, 1),
    ];

    #[test]
    fn the_table_holds_the_documented_rates_and_bursts() {
        let table: Vec<_> = QUOTAS
            .iter()
            .map(|q| (q.service, q.name, q.interval().as_millis() as u64, q.burst))
            .collect();
        assert_eq!(table, DOCUMENTED.to_vec());
    }

    #[tokio::test(start_paused = true)]
    async fn every_bucket_lets_its_burst_through_then_waits_one_interval() {
        for service in [
            Service::ApiGateway,
            Service::CognitoUserPools,
            Service::Lambda,
        ] {
            let p = Pacing::new(service);
            for (q, bucket) in &p.buckets {
                let start = Instant::now();
                for _ in 0..q.burst {
                    bucket.take().await;
                }
                assert_eq!(
                    Instant::now(),
                    start,
                    "{}: its burst is {}",
                    q.name,
                    q.burst
                );
                bucket.take().await;
                // (Paused time still wakes on whole milliseconds.)
                let near = |a: Duration, b: Duration| a.abs_diff(b) <= Duration::from_millis(1);
                let waited = Instant::now() - start;
                assert!(
                    near(waited, q.interval()),
                    "{}: one more waits one interval, not {waited:?}",
                    q.name
                );
                // Then one per interval.
                bucket.take().await;
                let waited = Instant::now() - start;
                assert!(near(waited, q.interval() * 2), "{}: {waited:?}", q.name);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_with_its_own_bucket_also_takes_the_service_total() {
        let p = Pacing::new(Service::ApiGateway);
        let start = Instant::now();
        // The total's burst of 40 goes at once...
        for _ in 0..40 {
            p.take("GET", "/restapis/abc123/stages").await;
        }
        assert_eq!(Instant::now(), start);
        // ...then a deployment, whose own bucket is full, waits for the total.
        p.take("POST", "/restapis/abc123/deployments").await;
        assert_eq!((Instant::now() - start).as_millis(), 100);
        // The next deployment waits for its own bucket: 5 s after the first
        // took its token (at 0, before it waited for the total).
        p.take("POST", "/restapis/abc123/deployments").await;
        assert_eq!((Instant::now() - start).as_millis(), 5000);
        // Cognito has no total: categories do not wait for one another.
        let c = Pacing::new(Service::CognitoUserPools);
        let start = Instant::now();
        for op in [
            "DescribeUserPool",
            "CreateUserPool",
            "ListUserPoolClients",
            "CreateGroup",
        ] {
            let target = format!("AWSCognitoIdentityProviderService.{op}");
            c.take_call(&Call {
                method: "POST",
                path: "/",
                target: Some(&target),
            })
            .await;
        }
        assert_eq!(Instant::now(), start);
    }

    #[test]
    fn the_operation_of_a_request_is_recognised() {
        use Service::{ApiGateway as Gw, CognitoUserPools as Idp, Lambda as Fn};
        let idp = |op: &'static str| -> Option<String> {
            Some(format!("AWSCognitoIdentityProviderService.{op}"))
        };
        // (service, method, path, X-Amz-Target, the rows it takes, in order)
        type Case = (
            Service,
            &'static str,
            &'static str,
            Option<String>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                Gw,
                "POST",
                "/restapis",
                None,
                vec!["CreateRestApi", "total"],
            ),
            (Gw, "GET", "/restapis?limit=500", None, vec!["total"]),
            (
                Gw,
                "PUT",
                "/restapis/a1?mode=overwrite",
                None,
                vec!["PutRestApi", "total"],
            ),
            (
                Gw,
                "DELETE",
                "/restapis/a1",
                None,
                vec!["DeleteRestApi", "total"],
            ),
            (Gw, "PATCH", "/restapis/a1", None, vec!["total"]),
            (
                Gw,
                "POST",
                "/restapis/a1/deployments",
                None,
                vec!["CreateDeployment", "total"],
            ),
            (Gw, "GET", "/restapis/a1/deployments", None, vec!["total"]),
            (
                Gw,
                "POST",
                "/restapis/a1/resources/r0",
                None,
                vec!["CreateResource", "total"],
            ),
            (
                Gw,
                "DELETE",
                "/restapis/a1/resources/r1",
                None,
                vec!["DeleteResource", "total"],
            ),
            (
                Gw,
                "GET",
                "/restapis/a1/resources?embed=methods",
                None,
                vec!["GetResources", "total"],
            ),
            (Gw, "GET", "/restapis/a1/resources/r1", None, vec!["total"]),
            (
                Gw,
                "PUT",
                "/restapis/a1/resources/r1/methods/GET",
                None,
                vec!["total"],
            ),
            (Gw, "POST", "/apikeys", None, vec!["CreateApiKey", "total"]),
            (
                Gw,
                "DELETE",
                "/apikeys/k1",
                None,
                vec!["DeleteApiKey", "total"],
            ),
            (
                Gw,
                "PATCH",
                "/usageplans/u1",
                None,
                vec!["UpdateUsagePlan", "total"],
            ),
            (Gw, "POST", "/usageplans", None, vec!["total"]),
            (
                Idp,
                "POST",
                "/",
                idp("DescribeUserPool"),
                vec!["UserPoolRead"],
            ),
            (Idp, "POST", "/", idp("ListUserPools"), vec!["UserPoolRead"]),
            (
                Idp,
                "POST",
                "/",
                idp("CreateUserPool"),
                vec!["UserPoolUpdate"],
            ),
            (
                Idp,
                "POST",
                "/",
                idp("SetUserPoolMfaConfig"),
                vec!["UserPoolUpdate"],
            ),
            (Idp, "POST", "/", idp("TagResource"), vec!["UserPoolUpdate"]),
            (
                Idp,
                "POST",
                "/",
                idp("DescribeUserPoolClient"),
                vec!["UserPoolClientRead"],
            ),
            (
                Idp,
                "POST",
                "/",
                idp("DeleteUserPoolClient"),
                vec!["UserPoolClientUpdate"],
            ),
            (
                Idp,
                "POST",
                "/",
                idp("ListGroups"),
                vec!["UserResourceRead"],
            ),
            (
                Idp,
                "POST",
                "/",
                idp("UpdateGroup"),
                vec!["UserResourceUpdate"],
            ),
            (Idp, "POST", "/", idp("InitiateAuth"), vec![]),
            (Idp, "POST", "/", None, vec![]),
            (
                Fn,
                "GET",
                "/2015-03-31/functions/f1",
                None,
                vec!["GetFunction"],
            ),
            (
                Fn,
                "GET",
                "/2015-03-31/functions/f1?Qualifier=1",
                None,
                vec!["GetFunction"],
            ),
            (
                Fn,
                "GET",
                "/2015-03-31/functions/f1/policy",
                None,
                vec!["GetPolicy"],
            ),
            (
                Fn,
                "POST",
                "/2015-03-31/functions/f1/invocations",
                None,
                vec![],
            ),
            (
                Fn,
                "POST",
                "/2015-03-31/functions",
                None,
                vec!["control plane (remainder)"],
            ),
            (
                Fn,
                "PUT",
                "/2015-03-31/functions/f1/code",
                None,
                vec!["control plane (remainder)"],
            ),
            (
                Fn,
                "GET",
                "/2015-03-31/functions/f1/configuration",
                None,
                vec!["control plane (remainder)"],
            ),
            (
                Fn,
                "GET",
                "/2015-03-31/event-source-mappings/",
                None,
                vec!["control plane (remainder)"],
            ),
            (
                Fn,
                "GET",
                "/2017-03-31/tags/arn%3Aaws%3Alambda",
                None,
                vec!["control plane (remainder)"],
            ),
        ];
        for (service, method, path, target, want) in cases {
            let p = Pacing::new(service);
            let call = Call {
                method,
                path,
                target: target.as_deref(),
            };
            let got: Vec<&str> = p.rows_for(&call).iter().map(|(q, _)| q.name).collect();
            assert_eq!(got, want, "{service:?} {method} {path} {target:?}");
        }
    }

    /// An inner connector that notes when each request reached it.
    #[derive(Debug, Clone)]
    struct Noting {
        at: Arc<std::sync::Mutex<Vec<Duration>>>,
        start: Instant,
    }

    impl HttpConnector for Noting {
        fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
            use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
            use aws_smithy_types::body::SdkBody;
            if let Ok(mut at) = self.at.lock() {
                at.push(Instant::now() - self.start);
            }
            let ok = aws_smithy_runtime_api::http::StatusCode::try_from(200u16).expect("200");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(ok, SdkBody::empty())))
        }
    }

    fn request(method: &str, uri: &str, target: Option<&str>) -> HttpRequest {
        use aws_smithy_types::body::SdkBody;
        let mut r = HttpRequest::new(SdkBody::empty());
        r.set_method(method).expect("a method");
        r.set_uri(uri).expect("a URI");
        if let Some(t) = target {
            r.headers_mut().insert("X-Amz-Target", t.to_string());
        }
        r
    }

    #[tokio::test(start_paused = true)]
    async fn the_connector_paces_by_the_target_header_and_the_uri_path() {
        let noting = Noting {
            at: Arc::default(),
            start: Instant::now(),
        };
        let send = |service: Service, requests: Vec<HttpRequest>| {
            let connector = PacedConnector {
                inner: SharedHttpConnector::new(noting.clone()),
                pacing: Arc::new(Pacing::new(service)),
            };
            async move {
                for r in requests {
                    connector.call(r).await.expect("an answer");
                }
            }
        };
        let idp = |op: &str| {
            let target = format!("AWSCognitoIdentityProviderService.{op}");
            request(
                "POST",
                "https://cognito-idp.eu-west-1.amazonaws.com/",
                Some(&target),
            )
        };
        // Two reads of one category: 1/15 s apart; another category: at once.
        send(
            Service::CognitoUserPools,
            vec![
                idp("DescribeUserPool"),
                idp("CreateGroup"),
                idp("ListUserPools"),
            ],
        )
        .await;
        // Two REST APIs created: 3 s apart (the host is not part of the path).
        let create = || {
            request(
                "POST",
                "https://apigateway.eu-west-1.amazonaws.com/restapis",
                None,
            )
        };
        send(Service::ApiGateway, vec![create(), create()]).await;
        let at: Vec<u128> = noting
            .at
            .lock()
            .expect("the times")
            .iter()
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(at, vec![0, 0, 67, 67, 3067]);
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
