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

use std::collections::{HashMap, VecDeque};
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

/// The rate as AWS writes it when it documents no burst: at most `requests`
/// in any span of `per`. The first `requests` of a quiet span go at once;
/// each later one waits until `per` after the one `requests` before it.
#[derive(Debug)]
pub struct Window {
    requests: usize,
    per: Duration,
    /// When the last `requests` requests were let through, oldest first.
    sent: Mutex<VecDeque<Instant>>,
}

impl Window {
    pub fn new(requests: u32, per: Duration) -> Window {
        let requests = usize::try_from(requests.max(1)).unwrap_or(1);
        Window {
            requests,
            per,
            sent: Mutex::new(VecDeque::with_capacity(requests)),
        }
    }

    /// Waits until a request may be sent.
    pub async fn take(&self) {
        let at = {
            let mut sent = self.sent.lock().await;
            let now = Instant::now();
            let at = if sent.len() < self.requests {
                now
            } else {
                // Full: the oldest of the last `requests` leaves the window.
                sent.pop_front()
                    .map_or(now, |oldest| (oldest + self.per).max(now))
            };
            sent.push_back(at);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// One row's limiter: a token bucket where AWS documents a burst, the rate
/// as written where it does not.
#[derive(Debug)]
enum Limiter {
    Bucket(Bucket),
    Window(Window),
}

impl Limiter {
    fn of(q: &Quota) -> Limiter {
        match q.burst {
            Some(burst) => Limiter::Bucket(Bucket::new(q.interval(), burst)),
            None => Limiter::Window(Window::new(q.requests, q.per)),
        }
    }

    async fn take(&self) {
        match self {
            Limiter::Bucket(b) => b.take().await,
            Limiter::Window(w) => w.take().await,
        }
    }
}

pub use super::quotas::Service;
use super::quotas::{Call, Quota, PER_USER_POOL, QUOTAS};

/// The limiters of one service: one per row of [`QUOTAS`] for it, and
/// one per operation and user pool for Cognito's [`PER_USER_POOL`] rows.
#[derive(Debug)]
struct Pacing {
    buckets: Vec<(&'static Quota, Limiter)>,
    per_pool: std::sync::Mutex<HashMap<(String, String), Arc<Window>>>,
}

impl Pacing {
    pub(crate) fn new(service: Service) -> Pacing {
        let buckets = QUOTAS
            .iter()
            .filter(|q| q.service == service)
            .map(|q| (q, Limiter::of(q)))
            .collect();
        Pacing {
            buckets,
            per_pool: std::sync::Mutex::default(),
        }
    }

    /// The limiter of this request's operation for its user pool, when a
    /// [`PER_USER_POOL`] row covers it.
    fn per_pool(&self, call: &Call<'_>) -> Option<Arc<Window>> {
        let (rate, categories) = PER_USER_POOL;
        let operation = call.operation()?;
        if !self
            .buckets
            .iter()
            .any(|(q, _)| categories.contains(&q.name) && q.covers(call))
        {
            return None;
        }
        let pool = call.user_pool()?;
        let mut windows = self.per_pool.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows
            .entry((operation.to_string(), pool))
            .or_insert_with(|| Arc::new(Window::new(rate, Duration::from_secs(1))));
        Some(Arc::clone(window))
    }

    /// The rows a request takes a token from: its operation's first, the
    /// service's total last (so that a long wait for an operation's token
    /// does not hold a token of the total meanwhile).
    fn rows_for<'p>(&'p self, call: &Call<'_>) -> Vec<&'p (&'static Quota, Limiter)> {
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
        if let Some(window) = self.per_pool(call) {
            window.take().await;
        }
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
            body: None,
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
            let call = Call {
                method: request.method(),
                path: &path,
                target: request.headers().get("x-amz-target"),
                body: request.body().bytes(),
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

    /// The table, as AWS documents it: (service, row, requests, per (ms),
    /// burst).
    const DOCUMENTED: &[(Service, &str, u32, u64, Option<u32>)] = &[
        (Service::ApiGateway, "total", 10, 1000, Some(40)),
        (Service::ApiGateway, "CreateRestApi", 1, 3000, None),
        (Service::ApiGateway, "PutRestApi", 1, 1000, None),
        (Service::ApiGateway, "DeleteRestApi", 1, 30_000, None),
        (Service::ApiGateway, "CreateDeployment", 1, 5000, None),
        (Service::ApiGateway, "CreateResource", 5, 1000, None),
        (Service::ApiGateway, "DeleteResource", 5, 1000, None),
        (Service::ApiGateway, "GetResources", 5, 2000, None),
        (Service::ApiGateway, "CreateApiKey", 5, 1000, None),
        (Service::ApiGateway, "DeleteApiKey", 5, 1000, None),
        (Service::ApiGateway, "UpdateUsagePlan", 1, 20_000, None),
        (Service::CognitoUserPools, "UserPoolRead", 15, 1000, None),
        (Service::CognitoUserPools, "UserPoolUpdate", 15, 1000, None),
        (
            Service::CognitoUserPools,
            "UserPoolClientRead",
            15,
            1000,
            None,
        ),
        (
            Service::CognitoUserPools,
            "UserPoolClientUpdate",
            15,
            1000,
            None,
        ),
        (
            Service::CognitoUserPools,
            "UserPoolResourceRead",
            20,
            1000,
            None,
        ),
        (
            Service::CognitoUserPools,
            "UserPoolResourceUpdate",
            15,
            1000,
            None,
        ),
        (Service::Lambda, "GetFunction", 100, 1000, None),
        (Service::Lambda, "GetPolicy", 15, 1000, None),
        (Service::Lambda, "control plane (remainder)", 15, 1000, None),
    ];

    #[test]
    fn the_table_holds_the_documented_rates_and_bursts() {
        let table: Vec<_> = QUOTAS
            .iter()
            .map(|q| {
                let per = u64::try_from(q.per.as_millis()).unwrap_or(u64::MAX);
                (q.service, q.name, q.requests, per, q.burst)
            })
            .collect();
        assert_eq!(table, DOCUMENTED.to_vec());
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_lets_the_rate_through_at_once_and_never_more_in_any_span() {
        let w = Window::new(3, Duration::from_millis(1000));
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            w.take().await;
            at.push((Instant::now() - start).as_millis());
        }
        assert_eq!(at, vec![0, 0, 0, 1000, 1000, 1000, 2000]);
        // Spread out requests are not held back...
        tokio::time::sleep(Duration::from_secs(10)).await;
        let again = Instant::now();
        for _ in 0..3 {
            w.take().await;
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        // ...and the fourth waits for the first of those to leave the span.
        w.take().await;
        assert_eq!((Instant::now() - again).as_millis(), 1200);
    }

    /// Whether two paused-clock durations are equal (paused time still wakes
    /// on whole milliseconds).
    fn near(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) <= Duration::from_millis(1)
    }

    #[tokio::test(start_paused = true)]
    async fn every_row_lets_its_burst_or_its_rate_through_then_waits() {
        for service in [
            Service::ApiGateway,
            Service::CognitoUserPools,
            Service::Lambda,
        ] {
            let p = Pacing::new(service);
            for (q, limiter) in &p.buckets {
                // At once: the documented burst, or the rate's requests.
                let at_once = q.burst.unwrap_or(q.requests);
                let start = Instant::now();
                for _ in 0..at_once {
                    limiter.take().await;
                }
                assert_eq!(Instant::now(), start, "{}: {at_once} at once", q.name);
                limiter.take().await;
                let waited = Instant::now() - start;
                match q.burst {
                    // A bucket: then one per interval.
                    Some(_) => {
                        assert!(near(waited, q.interval()), "{}: {waited:?}", q.name);
                        limiter.take().await;
                        let waited = Instant::now() - start;
                        assert!(near(waited, q.interval() * 2), "{}: {waited:?}", q.name);
                    }
                    // The rate as written: the next ones when the span is
                    // over, and never more than `requests` in it.
                    None => {
                        assert!(near(waited, q.per), "{}: {waited:?}", q.name);
                        for _ in 1..q.requests {
                            limiter.take().await;
                        }
                        assert!(near(Instant::now() - start, q.per), "{}", q.name);
                        limiter.take().await;
                        let waited = Instant::now() - start;
                        assert!(near(waited, q.per * 2), "{}: {waited:?}", q.name);
                    }
                }
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
                body: Some(br#"{"UserPoolId":"eu-west-1_abc"}"#),
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
                vec!["UserPoolResourceRead"],
            ),
            (
                Idp,
                "POST",
                "/",
                idp("UpdateGroup"),
                vec!["UserPoolResourceUpdate"],
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
                body: None,
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

    impl Noting {
        /// When each request reached it, in ms from the start.
        fn millis(&self) -> Vec<u128> {
            let at = self.at.lock().expect("the times");
            at.iter().map(|d| d.as_millis()).collect()
        }
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
        // Reads of one category (15 per second): 15 at once, the 16th a
        // second later; another category is not held by them.
        let mut reads: Vec<HttpRequest> = (0..15).map(|_| idp("DescribeUserPool")).collect();
        reads.push(idp("ListUserPools"));
        reads.insert(3, idp("CreateGroup"));
        send(Service::CognitoUserPools, reads).await;
        // Two REST APIs created: 3 s apart (the host is not part of the path).
        let create = || {
            request(
                "POST",
                "https://apigateway.eu-west-1.amazonaws.com/restapis",
                None,
            )
        };
        send(Service::ApiGateway, vec![create(), create()]).await;
        let at = noting.millis();
        let mut want = vec![0; 16];
        want.extend([1000, 1000, 4000]);
        assert_eq!(at, want);
    }

    #[tokio::test(start_paused = true)]
    async fn each_cognito_operation_keeps_to_five_a_second_for_one_user_pool() {
        let noting = Noting {
            at: Arc::default(),
            start: Instant::now(),
        };
        let connector = PacedConnector {
            inner: SharedHttpConnector::new(noting.clone()),
            pacing: Arc::new(Pacing::new(Service::CognitoUserPools)),
        };
        let idp = |op: &str, pool: &str| {
            use aws_smithy_types::body::SdkBody;
            let body = format!(r#"{{"UserPoolId":"{pool}","ClientId":"c"}}"#);
            let mut r = HttpRequest::new(SdkBody::from(body));
            r.set_method("POST").expect("a method");
            r.set_uri("https://cognito-idp.eu-west-1.amazonaws.com/")
                .expect("a URI");
            r.headers_mut().insert(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            );
            r
        };
        let mut requests: Vec<HttpRequest> = (0..5)
            .map(|_| idp("DescribeUserPoolClient", "eu-west-1_A"))
            .collect();
        // Another pool, another operation of the category, an operation of a
        // category without the cap (UserPoolRead): not held by those five.
        requests.push(idp("DescribeUserPoolClient", "eu-west-1_B"));
        requests.push(idp("ListUserPoolClients", "eu-west-1_A"));
        requests.extend((0..6).map(|_| idp("DescribeUserPool", "eu-west-1_A")));
        // The sixth of one operation for one pool: a second after the first.
        requests.push(idp("DescribeUserPoolClient", "eu-west-1_A"));
        for r in requests {
            connector.call(r).await.expect("an answer");
        }
        let at = noting.millis();
        let mut want = vec![0; 13];
        want.push(1000);
        assert_eq!(at, want);
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
