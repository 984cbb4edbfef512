//! The control-plane request rates the tool paces itself below: one table,
//! [`QUOTAS`], of every per-service and per-operation rate AWS documents for
//! the calls the tool makes. [`super::limits`] keeps one limiter per row.
//!
//! Only documented rates are here. Where AWS documents a burst (API
//! Gateway's total: "10 requests per second with a burst of 40"), the row is
//! a token bucket of that size. Where it documents none ("5 requests per
//! second", "1 request every 3 seconds"), the row is the rate as written: at
//! most that many requests in any span of that length, so the first ones of
//! a quiet span go at once and none goes over the rate. (The tool once read
//! "no burst" as a burst of 1: two `DescribeUserPoolClient` calls were then
//! 67 ms apart, which the documented rate does not ask for.) Services with no published control-plane request rate are not
//! paced (their SDK clients only retry throttling errors):
//! - IAM: "IAM and AWS STS quotas" lists object counts and sizes only, no
//!   request rates.
//! - CloudFront: "Quotas" (Amazon CloudFront Developer Guide) lists resource
//!   counts and per-distribution viewer traffic, no control-plane API rate.

use std::time::Duration;

/// A service whose requests are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    ApiGateway,
    CognitoUserPools,
    Lambda,
}

/// Which requests of its service a row covers.
#[derive(Debug, Clone, Copy)]
pub enum Matches {
    /// Every request: the service's total.
    All,
    /// A REST operation: its HTTP method and path, one pattern per segment
    /// (`*` matches any one segment; the query string is ignored).
    Rest(&'static str, &'static [&'static str]),
    /// Every REST request but those listed (method, path pattern).
    RestExcept(&'static [(&'static str, &'static [&'static str])]),
    /// JSON 1.1 operations, by the operation name in `X-Amz-Target`
    /// (`<ServicePrefix>.<Operation>`).
    Target(&'static [&'static str]),
}

/// One documented rate: `requests` per `per`, and its burst if AWS documents
/// one.
#[derive(Debug)]
pub struct Quota {
    pub service: Service,
    /// The operation, category or total, as AWS's page names it.
    pub name: &'static str,
    pub matches: Matches,
    pub requests: u32,
    pub per: Duration,
    /// The documented burst: a token bucket of this size, refilled at the
    /// rate. `None` (no burst documented): at most `requests` in any span of
    /// `per`.
    pub burst: Option<u32>,
}

impl Quota {
    /// The time between two requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.per / self.requests.max(1)
    }

    /// Whether this row covers a request.
    pub fn covers(&self, call: &Call<'_>) -> bool {
        match self.matches {
            Matches::All => true,
            Matches::Rest(method, pattern) => call.is_rest(method, pattern),
            Matches::RestExcept(except) => {
                call.target.is_none() && !except.iter().any(|(m, p)| call.is_rest(m, p))
            }
            Matches::Target(ops) => call.operation().is_some_and(|op| ops.contains(&op)),
        }
    }
}

/// What identifies the operation of one HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub method: &'a str,
    /// The path, with or without its query string.
    pub path: &'a str,
    /// The `X-Amz-Target` header (JSON 1.0/1.1 protocols).
    pub target: Option<&'a str>,
    /// The body, when it is in memory (JSON protocols name the user pool
    /// there, for the rate per user pool: [`PER_USER_POOL`]).
    pub body: Option<&'a [u8]>,
}

impl Call<'_> {
    /// The operation's name in its `X-Amz-Target` header.
    pub fn operation(&self) -> Option<&str> {
        self.target
            .and_then(|t| t.rsplit_once('.'))
            .map(|(_, op)| op)
    }

    /// The `UserPoolId` of a JSON body (parsed only when asked: for the rows
    /// with a rate per user pool).
    pub fn user_pool(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(self.body?).ok()?;
        Some(body.get("UserPoolId")?.as_str()?.to_string())
    }
}

impl Call<'_> {
    fn is_rest(&self, method: &str, pattern: &[&str]) -> bool {
        if self.target.is_some() || !self.method.eq_ignore_ascii_case(method) {
            return false;
        }
        let path = self.path.split('?').next().unwrap_or("");
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let mut pattern = pattern.iter();
        loop {
            match (segments.next(), pattern.next()) {
                (None, None) => return true,
                (Some(s), Some(p)) if *p == "*" || s == *p => {}
                _ => return false,
            }
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// Source of the API Gateway rows.
const APIGW: &str =
    "Amazon API Gateway quotas: API Gateway quotas for creating, deploying and managing an API";
/// Source of the Cognito rows.
const COGNITO: &str =
    "Quotas in Amazon Cognito: Amazon Cognito user pools API operation categories and request rate quotas";
/// Source of the Lambda rows.
const LAMBDA: &str = "Lambda quotas: Lambda API requests";

/// Shorthand for a row.
const fn row(
    service: Service,
    name: &'static str,
    matches: Matches,
    requests: u32,
    per: Duration,
    burst: Option<u32>,
) -> Quota {
    Quota {
        service,
        name,
        matches,
        requests,
        per,
        burst,
    }
}

use Matches::{All, Rest, RestExcept, Target};
use Service::{ApiGateway, CognitoUserPools, Lambda};

/// Every paced rate, with its source page. A request takes a token from
/// every row that covers it: its operation's (or category's) row, if any,
/// then its service's total, if any.
#[rustfmt::skip]
pub static QUOTAS: &[Quota] = &[
    // -- API Gateway. Source: APIGW ("Amazon API Gateway quotas"). The total
    // is the only row with a documented burst: "10 requests per second with
    // a burst of 40". The per-operation rows document no burst.
    row(ApiGateway, "total", All, 10, SECOND, Some(40)),
    // CreateRestApi (regional or private API): 1 request every 3 seconds.
    row(ApiGateway, "CreateRestApi", Rest("POST", &["restapis"]), 1, Duration::from_secs(3), None),
    // PutRestApi: 1 request per second.
    row(ApiGateway, "PutRestApi", Rest("PUT", &["restapis", "*"]), 1, SECOND, None),
    // DeleteRestApi: 1 request every 30 seconds.
    row(ApiGateway, "DeleteRestApi", Rest("DELETE", &["restapis", "*"]), 1, Duration::from_secs(30), None),
    // CreateDeployment: 1 request every 5 seconds.
    row(ApiGateway, "CreateDeployment", Rest("POST", &["restapis", "*", "deployments"]), 1, Duration::from_secs(5), None),
    // CreateResource: 5 requests per second.
    row(ApiGateway, "CreateResource", Rest("POST", &["restapis", "*", "resources", "*"]), 5, SECOND, None),
    // DeleteResource: 5 requests per second.
    row(ApiGateway, "DeleteResource", Rest("DELETE", &["restapis", "*", "resources", "*"]), 5, SECOND, None),
    // GetResources: 5 requests every 2 seconds.
    row(ApiGateway, "GetResources", Rest("GET", &["restapis", "*", "resources"]), 5, Duration::from_secs(2), None),
    // CreateApiKey: 5 requests per second.
    row(ApiGateway, "CreateApiKey", Rest("POST", &["apikeys"]), 5, SECOND, None),
    // DeleteApiKey: 5 requests per second.
    row(ApiGateway, "DeleteApiKey", Rest("DELETE", &["apikeys", "*"]), 5, SECOND, None),
    // UpdateUsagePlan: 1 request every 20 seconds.
    row(ApiGateway, "UpdateUsagePlan", Rest("PATCH", &["usageplans", "*"]), 1, Duration::from_secs(20), None),
    // -- Cognito user pools. Source: COGNITO ("Quotas in Amazon Cognito").
    // Rates are per category, per account and region, in requests per
    // second; no burst is documented. Only the operations the tool calls
    // are listed; others are not paced. Groups are a user pool's resources
    // ("UserPoolResourceRead: operations that retrieve information about
    // resources, such as groups or resource servers, from a user pool"), not
    // a user's (UserResourceRead: "a remembered device or a group
    // membership"). The page also caps each operation of four categories at
    // 5 per second for one user pool: PER_USER_POOL.
    row(CognitoUserPools, "UserPoolRead", Target(&["DescribeUserPool", "ListUserPools", "GetUserPoolMfaConfig"]), 15, SECOND, None),
    row(CognitoUserPools, "UserPoolUpdate", Target(&["CreateUserPool", "UpdateUserPool", "DeleteUserPool", "AddCustomAttributes", "SetUserPoolMfaConfig", "TagResource", "UntagResource"]), 15, SECOND, None),
    row(CognitoUserPools, "UserPoolClientRead", Target(&["DescribeUserPoolClient", "ListUserPoolClients"]), 15, SECOND, None),
    row(CognitoUserPools, "UserPoolClientUpdate", Target(&["CreateUserPoolClient", "UpdateUserPoolClient", "DeleteUserPoolClient"]), 15, SECOND, None),
    row(CognitoUserPools, "UserPoolResourceRead", Target(&["GetGroup", "ListGroups"]), 20, SECOND, None),
    row(CognitoUserPools, "UserPoolResourceUpdate", Target(&["CreateGroup", "UpdateGroup", "DeleteGroup"]), 15, SECOND, None),
    // -- Lambda. Source: LAMBDA ("Lambda quotas"). No burst is documented.
    // Invocations are not control-plane requests: not paced.
    // GetFunction API requests: 100 requests per second.
    row(Lambda, "GetFunction", Rest("GET", &["2015-03-31", "functions", "*"]), 100, SECOND, None),
    // GetPolicy API requests: 15 requests per second.
    row(Lambda, "GetPolicy", Rest("GET", &["2015-03-31", "functions", "*", "policy"]), 15, SECOND, None),
    // Remainder of the control plane API requests (excludes invocation,
    // GetFunction and GetPolicy requests): 15 per second across all APIs.
    row(Lambda, "control plane (remainder)", RestExcept(&[
        ("GET", &["2015-03-31", "functions", "*"]),
        ("GET", &["2015-03-31", "functions", "*", "policy"]),
        ("POST", &["2015-03-31", "functions", "*", "invocations"]),
    ]), 15, SECOND, None),
];

/// Cognito's footnote to four of its categories (COGNITO): "Any individual
/// operation in this category has a constraint that prevents the operation
/// from being called at a rate higher than 5 RPS for a single user pool".
/// Each operation of these rows is also kept to this many requests per
/// second for one user pool (the rate as written, as the rows are).
pub const PER_USER_POOL: (u32, &[&str]) = (
    5,
    &[
        "UserPoolResourceRead",
        "UserPoolResourceUpdate",
        "UserPoolClientRead",
        "UserPoolClientUpdate",
    ],
);

/// The source page of a row (for messages and the README's table).
pub fn source(q: &Quota) -> &'static str {
    match q.service {
        ApiGateway => APIGW,
        CognitoUserPools => COGNITO,
        Lambda => LAMBDA,
    }
}
