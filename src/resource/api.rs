//! `[api.<key>]` — an API Gateway REST API with everything in it: the
//! resource tree derived from the route paths, methods, integrations, the
//! Cognito authorizers, Lambda permissions, models and request validators
//! (`api_models.rs`), the stage and its deployment, API keys and usage plans. One step: writes to one REST API are serialized
//! by being made one after the other inside it.
//!
//! REST API names are not unique, so the API is found by its ownership tags
//! among the same-named APIs (the tags come with `GetRestApis`). Keys and
//! usage plans are named `<api name>-<key>` and carry the API's ownership tags.
//!
//! A deployment is an immutable snapshot: its description holds the hash of
//! the routes (and models) it was made from (`mobile-backend:<hash>`), so a
//! plan says `deployment` changes exactly when the routes, integrations or
//! models did; `up` then
//! makes one new deployment, moves the stage to it and deletes the old one.
//!
//! API Gateway answers concurrent writes to one API with `ConflictException`:
//! every call here is retried on it, a bounded number of times ([`call`]).
//! Its control-plane rate limits (`TooManyRequestsException`) are the SDK's
//! standard retry's business, and requests are paced below them in the first
//! place (`aws::limits`).
//!
//! API key values are secrets: they are never read (`includeValues` is never
//! set), so they cannot reach the plan, errors or outputs.

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use aws_sdk_apigateway::operation::get_usage_plan_keys::GetUsagePlanKeysOutput;
use aws_sdk_apigateway::types::{
    ApiKey, ApiStage, Authorizer, AuthorizerType, EndpointConfiguration, EndpointType,
    IntegrationType, Method, Op, PatchOperation, PutMode, QuotaPeriodType, QuotaSettings, Resource,
    RestApi, Stage, ThrottleSettings,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::api_routes::{
    self, deployment_hash, parse_route, ApiConfig, Integration, Key, Quota, Route, RouteKey,
    Throttle, UsagePlan, CORS_ALLOW_HEADERS, CORS_TEMPLATE, DEPLOYMENT_PREFIX, JSON,
};
use super::registry::{ResourceKind, Step};
use super::{
    tag_changes, Change, Desired, DesiredContext, Error, Live, Outputs, Ownership, Target,
};
use crate::adopt;
use crate::aws::{error_code, Aws};
use crate::stack::Tags;
use crate::stack::{Address, Kind, Stack};

// ------------------------------------------------------------ schema ----

/// `[api.<key>]` — an API Gateway REST API.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// Physical name; default `<stack>-<key>`. REST APIs are found by their tags: names
    /// are not unique.
    #[serde(default)]
    pub name: Option<String>,
    /// Adopt an existing REST API made outside this tool: the REST API's id, like `a1b2c3d4e5`. When the stack
    /// owns no REST API for this address, the one with this id is taken as this
    /// address's (only if it has no `mobile-backend:*` tags), and `up` adds the
    /// ownership tags. It is never replaced or deleted by adopting; once tagged,
    /// the key changes nothing.
    #[serde(default)]
    pub adopt: Option<String>,
    /// The API's description.
    #[serde(default)]
    pub description: Option<String>,
    /// `regional` (the default), `edge` or `private`.
    #[serde(default)]
    pub endpoint_type: Option<String>,
    /// The stage the API is deployed to, like `prod`. Without one the API is not
    /// deployed.
    #[serde(default)]
    pub stage: Option<String>,
    /// Variables of the stage (`${stageVariables.name}` in integrations).
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// Default method throttling of the stage (every method, `*/*`).
    #[serde(default)]
    pub stage_throttle: Option<ThrottleSpec>,
    /// Models by name (letters and digits): JSON Schema (draft 4) files,
    /// relative to the stack file, like `"../api/create-note-request.json"`.
    /// Routes name them in `request_model` and `responses`.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// Routes by `"<METHOD> <path>"`, like `"POST /notes"` or `"GET /notes/{id}"`.
    #[serde(default)]
    pub routes: BTreeMap<String, RouteSpec>,
    /// Usage plans by key: throttling and quotas for the API keys they list.
    #[serde(default)]
    pub usage_plans: BTreeMap<String, UsagePlanSpec>,
    /// API keys by key. Their values are secrets: they never appear in plans.
    #[serde(default)]
    pub keys: BTreeMap<String, ApiKeySpec>,
    /// Tags of this API, added to the stack's.
    #[serde(default)]
    pub tags: Tags,
}

/// A route: one method on one path.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `none` (the default), `aws_iam` or `cognito` (with `user_pool`).
    #[serde(default)]
    pub authorization: Option<String>,
    /// Callers must send an API key (`x-api-key`).
    #[serde(default)]
    pub api_key_required: bool,
    /// With `authorization = "cognito"`: the `[user_pool.<key>]` whose tokens are
    /// accepted.
    #[serde(default)]
    pub user_pool: Option<String>,
    /// Request parameters by name (`method.request.querystring.q`), `true` when
    /// required.
    #[serde(default)]
    pub request_parameters: BTreeMap<String, bool>,
    /// Also answer the browser's preflight: an OPTIONS method on the path.
    #[serde(default)]
    pub cors: Option<bool>,
    /// The model (of the API's `models`) an `application/json` request body
    /// is described by.
    #[serde(default)]
    pub request_model: Option<String>,
    /// What API Gateway checks before the integration runs: `body` (against
    /// `request_model`), `params` (the required `request_parameters`) or
    /// `body_and_params`; a request that fails gets 400.
    #[serde(default)]
    pub validate: Option<String>,
    /// The model of the `application/json` response, by status code, like
    /// `responses."200" = "CreateNoteResponse"`.
    #[serde(default)]
    pub responses: BTreeMap<String, String>,
    /// What serves the route: `lambda`, `http` or `mock`.
    pub integration: IntegrationSpec,
}

/// What serves a route: exactly one of `function`, `lambda`, `http` or `mock`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    /// A `[function.<key>]` of this stack (Lambda proxy integration; `up`
    /// adds the invoke permission).
    #[serde(default)]
    pub function: Option<String>,
    /// A Lambda function ARN (proxy integration; `up` adds the invoke permission).
    #[serde(default)]
    pub lambda: Option<String>,
    /// An HTTP URL (proxy integration).
    #[serde(default)]
    pub http: Option<String>,
    /// A fixed answer.
    #[serde(default)]
    pub mock: Option<MockIntegrationSpec>,
}

/// A fixed answer of a mock integration.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockIntegrationSpec {
    /// The HTTP status code.
    #[serde(default)]
    pub status: Option<i64>,
    /// The response body.
    #[serde(default)]
    pub response: Option<String>,
}

/// A usage plan: throttling and a quota for the keys it lists.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsagePlanSpec {
    /// Keys of the API's `keys` this plan applies to.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Request rate and burst limits.
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    /// Most requests per day, week or month.
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

/// Throttling: a steady rate and a burst.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Requests per second, on average.
    pub rate: f64,
    /// Requests at once, at most.
    pub burst: i64,
}

/// A quota: at most `limit` requests per `period`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaSpec {
    /// Requests allowed per period.
    pub limit: i64,
    /// `day`, `week` or `month`.
    pub period: String,
}

/// An API key; its value is made by API Gateway and is a secret.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// What the key is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the key works (default `true`).
    #[serde(default)]
    pub enabled: Option<bool>,
}

crate::spec_fields!(ApiSpec);

pub(crate) const ATTRIBUTES: &[(&str, Change)] = &[
    ("name", Change::Replace),
    ("description", Change::Update),
    // A new endpoint type is a new API here (id and invoke URL change).
    ("endpoint_type", Change::Replace),
    ("routes", Change::Update),
    ("models", Change::Update),
    ("stage", Change::Update),
    ("stage_variables", Change::Update),
    ("stage_throttle", Change::Update),
    ("deployment", Change::Update),
    ("usage_plans", Change::Update),
    ("keys", Change::Update),
    ("tags", Change::Update),
];

/// What AWS fills in when the stack leaves it unset
/// ([`super::ResourceType::defaulted`]): nothing. The integration defaults
/// AWS adds (`passthroughBehavior` WHEN_NO_MATCH, `timeoutInMillis` 29000,
/// `connectionType` INTERNET, `cacheNamespace` = the resource id;
/// terraform-provider-aws `integration.go` marks them Optional + Computed)
/// are not part of the comparable shape; a new stage's `methodSettings` are
/// empty, which reads as no `stage_throttle`; a usage plan's absent
/// `quota.offset` reads as 0, the stack's value; the endpoint type is sent
/// (`REGIONAL` unless the stack says otherwise).
pub(crate) const DEFAULTED: &[&str] = &[];

/// `[api.<key>]`: an API Gateway REST API.
pub struct ApiKind;

impl Step for ApiKind {
    type Config = super::api_routes::ApiConfig;
    type Spec = ApiSpec;
    const NOUN: &'static str = "API Gateway REST API";
    const ATTRIBUTES: &'static [(&'static str, Change)] = ATTRIBUTES;
    const DEFAULTED: &'static [&'static str] = DEFAULTED;
    const COST: u64 = 20;

    /// A REST API whose routes or integrations changed is deployed again:
    /// a deployment is an immutable snapshot, so the stage moves to a new one.
    fn update_reason(changed: &[&str]) -> Option<String> {
        let top = |path: &str| path.split('.').next().unwrap_or(path).to_string();
        if !changed.iter().any(|p| top(p) == "deployment") {
            return None;
        }
        let mut routes: Vec<&str> = changed
            .iter()
            .filter(|p| top(p) == "routes")
            .filter_map(|p| {
                p.strip_prefix("routes.")
                    .map(|rest| rest.split('.').next().unwrap_or(rest))
            })
            .collect();
        routes.dedup();
        if changed.iter().any(|p| top(p) == "models") {
            routes.push("models");
        }
        Some(if routes.is_empty() {
            "redeploy: the deployed routes differ from the stack's; a new deployment is made and the stage moved to it".to_string()
        } else {
            format!(
                "redeploy: routes changed ({}); a new deployment is made and the stage moved to it",
                routes.join(", ")
            )
        })
    }

    fn desired(
        spec: &Self::Spec,
        _address: &Address,
        name: &str,
        tags: crate::stack::Tags,
        ctx: &super::DesiredContext<'_>,
    ) -> Result<Value, String> {
        desired(spec, name, tags, ctx)
    }

    async fn read(aws: &Aws, target: &super::Target<'_>) -> Result<Option<Live>, Error> {
        read(aws, target).await
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

    /// The value of each API key, as `key.<name>.value`.
    async fn read_secrets(aws: &Aws, live: &Live) -> Result<super::Outputs, Error> {
        Ok(secrets(aws, live)
            .await?
            .into_iter()
            .map(|(name, value)| (format!("key.{name}.value"), value))
            .collect())
    }

    async fn delete(aws: &Aws, live: &Live, _options: super::ApplyOptions) -> Result<(), Error> {
        delete(aws, live).await
    }

    /// `key.<name>.id`: the id of each API key (never its value).
    const OUTPUTS: &'static [&'static str] = &[
        "id",
        "name",
        "root_resource_id",
        "execute_arn",
        "invoke_url",
        "key.*.id",
    ];
    const SUMMARY_OUTPUTS: &'static [&'static str] = &["invoke_url", "key.*.id"];
    const SWIFT_SECTION: &'static str = "Apis";
    const MOBILE_CONFIG: Option<super::registry::MobileConfig> =
        Some(super::registry::MobileConfig::RestApi);
}

impl ResourceKind for ApiKind {
    const NAME: &'static str = "api";
    const DESCRIPTION: &'static str = "API Gateway REST APIs, by key.";
    const REFERENCES: &'static [&'static str] = &[
        "id",
        "name",
        "root_resource_id",
        "execute_arn",
        "invoke_url",
    ];

    fn check_name(name: &str) -> Result<(), String> {
        crate::stack::names::within(Self::NOUN, name, 1, 1024)
    }

    /// The account's REST APIs (the search for removed ones lists them
    /// too), and its API keys and usage plans when the stack declares APIs.
    async fn warm(aws: &Aws, declared: usize) {
        let keys_and_plans = async {
            if declared > 0 {
                let _ = tokio::join!(
                    account_list(aws, Reading::Plan, "apigateway:GetApiKeys", || api_keys(
                        aws
                    )),
                    account_list(aws, Reading::Plan, "apigateway:GetUsagePlans", || {
                        usage_plans(aws)
                    }),
                );
            }
        };
        let _ = tokio::join!(list_apis_shared(aws), keys_and_plans);
    }

    async fn find_owned(
        aws: &Aws,
        stack: &crate::stack::Stack,
        declared_names: &[String],
    ) -> Result<Vec<(Address, String)>, Error> {
        find_owned(aws, stack, declared_names).await
    }

    fn check(spec: &Self::Spec, c: &mut crate::stack::Checks<'_, '_>) {
        let address = c.address().clone();
        let a = spec;
        // The kind's own offline checks (route keys, integrations, ...).
        if let Err(e) = crate::resource::api::check(a) {
            c.error(c.key_span(), format!("`{address}`: {e}"), None);
        }
        // Models and what the routes say of them, each where it is written.
        super::api_models::check(a, c);
        for route in a.routes.values() {
            if let Some(function) = &route.integration.function {
                c.link(
                    address.clone(),
                    Address::new(Kind::Function, function.as_str()),
                    c.span(&["routes"]),
                    "a route's `function`",
                    true,
                );
            }
            if let Some(pool) = &route.user_pool {
                c.link(
                    address.clone(),
                    Address::new(Kind::UserPool, pool.as_str()),
                    c.span(&["routes"]),
                    "a route's `user_pool`",
                    true,
                );
            }
        }
    }

    // ---- adopt ----

    const ADOPT_REFERENCES: &'static [&'static str] = &["execute_arn", "id"];
    const ADOPT_LIST_RANK: u8 = 5;

    async fn adopt_list(aws: &Aws) -> Result<Vec<(String, String)>, String> {
        list(aws).await.map_err(|e| e.to_string())
    }

    async fn adopt_parts(
        aws: &Aws,
        stack: &str,
        found: &mut adopt::Found,
    ) -> Result<Vec<String>, String> {
        adopt_parts(aws, stack, found).await
    }

    fn adopt_write(
        writer: &mut adopt::Writer<'_>,
        found: &adopt::Found,
        section: &mut adopt::Section,
    ) {
        adopt_write(writer, found, section)
    }
}

/// How many times a call is made when API Gateway answers
/// `ConflictException`, and the first wait
/// (doubled each time): about 16 s in all.
pub(crate) const CONFLICT_RETRY_ATTEMPTS: u32 = 6;
pub(crate) const CONFLICT_RETRY_FIRST_DELAY: Duration = Duration::from_millis(500);

/// The `deployment` of a stage deployed outside this tool.
pub(crate) const FOREIGN_DEPLOYMENT: &str = "(made outside this tool)";

// --------------------------------------------------------------- desired ----

pub(crate) fn desired(
    spec: &ApiSpec,
    name: &str,
    tags: Tags,
    ctx: &DesiredContext<'_>,
) -> Result<Value, String> {
    let arn = |address: &Address| ctx.output(address, "arn");
    let models = super::api_models::load(spec, &ctx.stack.file)?;
    let config = build(spec, name, tags, &arn, models)?;
    serde_json::to_value(config).map_err(|e| e.to_string())
}

/// The offline checks of `validate`: route keys, authorizations,
/// integrations, endpoint type, quota periods, what needs a stage.
pub(crate) fn check(spec: &ApiSpec) -> Result<(), String> {
    build(
        spec,
        "",
        Tags::new(),
        &|_: &Address| String::new(),
        BTreeMap::new(),
    )
    .map(|_| ())
}

fn build(
    spec: &ApiSpec,
    name: &str,
    tags: Tags,
    arn_of: &dyn Fn(&Address) -> String,
    models: BTreeMap<String, Value>,
) -> Result<ApiConfig, String> {
    let endpoint_type = endpoint_type_of(spec)?;
    let mut routes = BTreeMap::new();
    for (key, r) in &spec.routes {
        let (key, route) = route_of(key, r, arn_of)?;
        routes.insert(key, route);
    }
    api_routes::normalise_cors(&mut routes);
    let mut keys: BTreeMap<String, Key> = spec
        .keys
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                Key {
                    description: s.description.clone(),
                    enabled: s.enabled.unwrap_or(true),
                },
            )
        })
        .collect();
    let usage_plans = usage_plans_of(spec, &mut keys)?;
    if spec.stage.is_none() && (!spec.stage_variables.is_empty() || spec.stage_throttle.is_some()) {
        return Err(
            "`stage_variables` and `stage_throttle` need a stage: set `stage = \"...\"`".into(),
        );
    }
    let deployment = spec
        .stage
        .as_ref()
        .map(|_| deployment_hash(&routes, &models));
    let config = ApiConfig {
        name: name.to_string(),
        description: spec.description.clone(),
        endpoint_type,
        routes,
        stage: spec.stage.clone(),
        stage_variables: spec.stage_variables.clone(),
        stage_throttle: spec.stage_throttle.as_ref().map(|t| Throttle {
            rate: t.rate,
            burst: t.burst,
        }),
        deployment,
        models,
        usage_plans,
        keys,
        tags,
    };
    Ok(config)
}

/// `EDGE`, `REGIONAL` (when unset) or `PRIVATE`.
fn endpoint_type_of(spec: &ApiSpec) -> Result<String, String> {
    let endpoint_type = spec
        .endpoint_type
        .as_deref()
        .unwrap_or("regional")
        .to_ascii_uppercase();
    if !["EDGE", "REGIONAL", "PRIVATE"].contains(&endpoint_type.as_str()) {
        return Err(format!(
            "`endpoint_type = \"{endpoint_type}\"` is not one of edge, regional, private"
        ));
    }
    Ok(endpoint_type)
}

/// One declared route, under its normalised key.
fn route_of(
    key: &str,
    r: &RouteSpec,
    arn_of: &dyn Fn(&Address) -> String,
) -> Result<(String, Route), String> {
    let parsed = parse_route(key)?;
    let authorization = r
        .authorization
        .as_deref()
        .unwrap_or("none")
        .to_ascii_lowercase();
    let user_pool = match (authorization.as_str(), &r.user_pool) {
        ("cognito", Some(pool)) => Some(arn_of(&Address::new(Kind::UserPool, pool))),
        ("cognito", None) => {
            return Err(format!(
            "route `{key}`: `authorization = \"cognito\"` needs `user_pool = \"<user_pool key>\"`"
        ))
        }
        ("none" | "aws_iam", None) => None,
        ("none" | "aws_iam", Some(_)) => {
            return Err(format!(
                "route `{key}`: `user_pool` is only for `authorization = \"cognito\"`"
            ))
        }
        (other, _) => {
            return Err(format!(
                "route `{key}`: authorization `{other}` is not one of none, aws_iam, cognito"
            ))
        }
    };
    let i = &r.integration;
    let integration = match (&i.function, &i.lambda, &i.http, &i.mock) {
        (Some(f), None, None, None) => Integration::to(
            "lambda",
            Some(arn_of(&Address::new(Kind::Function, f.as_str()))),
        ),
        (None, Some(f), None, None) => Integration::to("lambda", Some(f.clone())),
        (None, None, Some(url), None) => Integration::to("http", Some(url.clone())),
        (None, None, None, Some(m)) => Integration::mock(
            m.status.unwrap_or(200),
            m.response.clone().unwrap_or_default(),
        ),
        _ => {
            return Err(format!(
                "route `{key}`: the integration needs exactly one of `function`, `lambda`, `http`, `mock`"
            ))
        }
    };
    let route = Route {
        authorization,
        user_pool,
        api_key_required: r.api_key_required,
        request_parameters: r.request_parameters.clone(),
        cors: r.cors.unwrap_or(false),
        request_model: r.request_model.clone(),
        validate: r.validate.clone(),
        responses: r.responses.clone(),
        integration,
    };
    Ok((parsed.key(), route))
}

/// The declared usage plans; the keys they name that are not declared are
/// added to `keys` (enabled, without a description).
fn usage_plans_of(
    spec: &ApiSpec,
    keys: &mut BTreeMap<String, Key>,
) -> Result<BTreeMap<String, UsagePlan>, String> {
    let mut usage_plans = BTreeMap::new();
    for (plan_key, p) in &spec.usage_plans {
        if spec.stage.is_none() {
            return Err(format!(
                "usage plan `{plan_key}` needs the API deployed to a stage: set `stage = \"...\"`"
            ));
        }
        let mut plan_keys = p.keys.clone();
        plan_keys.sort();
        plan_keys.dedup();
        for k in &plan_keys {
            keys.entry(k.clone()).or_insert(Key {
                description: None,
                enabled: true,
            });
        }
        let quota = match &p.quota {
            Some(q) => {
                let period = q.period.to_ascii_uppercase();
                if !["DAY", "WEEK", "MONTH"].contains(&period.as_str()) {
                    return Err(format!(
                        "usage plan `{plan_key}`: quota period `{}` is not one of day, week, month",
                        q.period
                    ));
                }
                Some(Quota {
                    limit: q.limit,
                    period,
                    offset: 0,
                })
            }
            None => None,
        };
        usage_plans.insert(
            plan_key.clone(),
            UsagePlan {
                keys: plan_keys,
                throttle: p.throttle.as_ref().map(|t| Throttle {
                    rate: t.rate,
                    burst: t.burst,
                }),
                quota,
            },
        );
    }
    Ok(usage_plans)
}

// ----------------------------------------------------------------- calls ----

/// Makes one API Gateway call, again after a growing wait while the answer
/// is `ConflictException`, at most
/// [`CONFLICT_RETRY_ATTEMPTS`] times.
pub(crate) async fn call<T, E, R, F, Fut>(operation: &'static str, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut delay = CONFLICT_RETRY_FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let retryable = error_code(&e) == Some("ConflictException");
                if !retryable || attempt >= CONFLICT_RETRY_ATTEMPTS {
                    return Err(Error::aws(operation, &e));
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        attempt += 1;
    }
}

/// Whether `PutRestApi` failed because the endpoint has no such operation
/// (a local emulator answers an unknown path or operation), not because of
/// the document: AWS answers `NotFoundException` only with "Invalid API
/// identifier" for an API that is gone.
fn put_rest_api_missing(e: &Error) -> bool {
    let Error::Aws { code, detail, .. } = e else {
        return false;
    };
    match code.as_deref() {
        Some(
            "UnknownOperationException"
            | "NotImplemented"
            | "NotImplementedException"
            | "InvalidAction",
        ) => true,
        Some("NotFoundException") => !detail.contains("Invalid API identifier"),
        None => detail.contains("404") || detail.contains("501"),
        _ => false,
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Aws { code: Some(c), .. } if c == "NotFoundException")
}

fn ok_if_gone(r: Result<(), Error>) -> Result<(), Error> {
    match r {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

fn tags_of(m: Option<&HashMap<String, String>>) -> Tags {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) fn patch(op: Op, path: &str, value: Option<String>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .set_value(value)
        .build()
}

// ------------------------------------------------------------------ read ----

/// Every REST API in the account, as (id, name).
async fn list(aws: &Aws) -> Result<Vec<(String, String)>, Error> {
    Ok(listed(&list_apis(aws).await?))
}

async fn list_apis(aws: &Aws) -> Result<Vec<RestApi>, Error> {
    all_pages(|position| async move {
        let out = call("apigateway:GetRestApis", || {
            aws.apigateway
                .get_rest_apis()
                .limit(500)
                .set_position(position.clone())
                .send()
        })
        .await?;
        Ok((out.items().to_vec(), out.position().map(str::to_string)))
    })
    .await
}

fn listed(apis: &[RestApi]) -> Vec<(String, String)> {
    apis.iter()
        .filter_map(|a| Some((a.id()?.to_string(), a.name()?.to_string())))
        .collect()
}

/// Everything of one REST API that the stack manages, as AWS has it.
#[derive(Debug, Default, Clone)]
struct Snapshot {
    /// Resource ids by path (`/` included).
    resources: BTreeMap<String, String>,
    /// Methods by route key, with the method's resource path.
    routes: BTreeMap<String, Route>,
    /// Paths with the OPTIONS mock this tool makes for CORS.
    cors_paths: BTreeSet<String>,
    /// (id, user pool ARN) of the Cognito authorizers.
    authorizers: Vec<(String, String)>,
    /// (stage name, deployment id).
    stages: Vec<(String, String)>,
    /// The hash the stage's deployment was made from.
    deployment: Option<String>,
    /// A deployment made outside this tool whose export shows it serves the
    /// API's routes: `up` writes their hash into its description.
    relabel: Option<String>,
    /// Variables and default throttling of the first stage.
    stage_variables: BTreeMap<String, String>,
    stage_throttle: Option<Throttle>,
    keys: BTreeMap<String, (String, Key)>,
    /// (id, config, stages of this API it is attached to, key id → key name).
    plans: BTreeMap<String, LivePlan>,
    /// The API's `application/json` models but the built-in ones, by name.
    models: BTreeMap<String, Value>,
    /// The API's request validators, when read (a method names one, or an
    /// apply step reads everything): `validators_read`.
    validators: Vec<super::api_models::LiveValidator>,
    validators_read: bool,
    /// The validator id each route's method names.
    validator_ids: BTreeMap<String, String>,
    /// Of an API being adopted (it has no ownership tags yet): the keys and
    /// usage plans matched by name (`<api name>-<key>`) that have no
    /// ownership tags either, as tagging paths (`/apikeys/<id>`); `up` tags them.
    untagged: Vec<String>,
}

/// A usage plan as found: (id, config, stages of this API it is attached
/// to, attached key id → key name).
type LivePlan = (String, UsagePlan, Vec<String>, BTreeMap<String, String>);

fn integration_of(method: &aws_sdk_apigateway::types::Method) -> Integration {
    let Some(i) = method.method_integration() else {
        return Integration::none();
    };
    match i.r#type() {
        Some(IntegrationType::AwsProxy) => Integration::to(
            "lambda",
            i.uri()
                .map(|u| api_routes::function_of_uri(u).unwrap_or(u).to_string()),
        ),
        Some(IntegrationType::HttpProxy) => Integration::to("http", i.uri().map(str::to_string)),
        Some(IntegrationType::Mock) => {
            let status = api_routes::mock_status(
                i.request_templates()
                    .and_then(|t| t.get(JSON))
                    .map(String::as_str),
            );
            let response = i
                .integration_responses()
                .and_then(|r| r.get(&status.to_string()))
                .and_then(|r| r.response_templates())
                .and_then(|t| t.get(JSON))
                .cloned()
                .unwrap_or_default();
            Integration::mock(status, response)
        }
        other => Integration::to(
            &other
                .map(|t| t.as_str().to_ascii_lowercase())
                .unwrap_or_default(),
            i.uri().map(str::to_string),
        ),
    }
}

fn is_cors_method(method: &aws_sdk_apigateway::types::Method) -> bool {
    method
        .method_integration()
        .and_then(|i| i.request_templates())
        .and_then(|t| t.get(JSON))
        .is_some_and(|t| t == CORS_TEMPLATE)
}

/// A resource's tags: those its listing carries, and, when those hold no
/// ownership tags, those of the tagging store. On AWS they are one;
/// MiniStack keeps tags added after create (`TagResource`, as adopting does)
/// apart from the listing's.
async fn tags_with_store(
    aws: &Aws,
    path: &str,
    listed: Option<&HashMap<String, String>>,
) -> Result<Tags, Error> {
    let mut tags = tags_of(listed);
    // Tagged when made: the listing has it all (and no call is spent).
    if tags.contains_key(crate::stack::OWNER_STACK_TAG) {
        return Ok(tags);
    }
    let arn = format!("arn:{}:apigateway:{}::{path}", aws.partition, aws.region);
    match call("apigateway:GetTags", || {
        aws.apigateway.get_tags().resource_arn(&arn).send()
    })
    .await
    {
        Ok(out) => tags.extend(tags_of(out.tags())),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(e),
    }
    Ok(tags)
}

/// A listed REST API with its tags, found later.
type ApiWithTags<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<(RestApi, Tags)>, Error>> + Send + 'a>,
>;

/// The REST APIs listed, by id, with their tags read in full (the only ones
/// a read looks at are those with the name it wants).
fn with_tags<'a>(
    aws: &'a Aws,
    by_id: &'a HashMap<String, RestApi>,
) -> impl Fn(String) -> ApiWithTags<'a> {
    move |id: String| {
        Box::pin(async move {
            let Some(api) = by_id.get(&id) else {
                return Ok(None);
            };
            let tags = tags_with_store(aws, &format!("/restapis/{id}"), api.tags()).await?;
            Ok(Some((api.clone(), tags)))
        })
    }
}

/// What a snapshot is taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// A plan's read: the account-wide lists (API keys, usage plans) are
    /// shared with the other APIs' reads in flight at the same time.
    Plan,
    /// An apply step: everything read afresh.
    Apply,
    /// Only the account-wide lists (API keys, usage plans): for an API
    /// created a moment ago, which has only its root resource and no
    /// authorizer, stage or deployment yet (keys and plans a half-done
    /// earlier run left are still found), and for deleting one (its keys
    /// and usage plans go first).
    KeysAndPlans,
}

/// Every page of one of API Gateway's lists: the shared walk, where an
/// empty page also ends the list.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Error>>,
{
    super::all_pages(|position| {
        let answer = page(position);
        async move {
            let (got, next) = answer.await?;
            let next = next.filter(|_| !got.is_empty());
            Ok((got, next))
        }
    })
    .await
}

async fn api_keys(aws: &Aws) -> Result<Vec<aws_sdk_apigateway::types::ApiKey>, Error> {
    all_pages(|position| async move {
        // Never `includeValues`: key values are secrets.
        let out = call("apigateway:GetApiKeys", || {
            aws.apigateway
                .get_api_keys()
                .limit(500)
                .set_position(position.clone())
                .send()
        })
        .await?;
        Ok((out.items().to_vec(), out.position().map(str::to_string)))
    })
    .await
}

async fn usage_plans(aws: &Aws) -> Result<Vec<aws_sdk_apigateway::types::UsagePlan>, Error> {
    all_pages(|position| async move {
        let out = call("apigateway:GetUsagePlans", || {
            aws.apigateway
                .get_usage_plans()
                .limit(500)
                .set_position(position.clone())
                .send()
        })
        .await?;
        Ok((out.items().to_vec(), out.position().map(str::to_string)))
    })
    .await
}

/// Everything of one REST API as AWS has it, in three round trips: its
/// resources (methods embedded), authorizers and stages with the account's
/// API keys and usage plans; then the methods AWS did not embed, the stage's
/// deployment and the keys of the API's usage plans, all at once.
async fn snapshot(
    aws: &Aws,
    api: &RestApi,
    api_tags: &Tags,
    reading: Reading,
) -> Result<Snapshot, Error> {
    let id = api.id().unwrap_or_default();
    let mut snap = Snapshot::default();
    let first = first_round(aws, id, reading).await?;
    snap.authorizers = first
        .authorizers
        .iter()
        .filter_map(|a| Some((a.id()?.to_string(), a.provider_arns().first()?.clone())))
        .collect();
    let methods = read_resources(&mut snap, &first.resources);
    snap.models = first.models;
    read_stages(&mut snap, &first.stages);
    // Validators are read when a method names one, or to write.
    snap.validators_read = reading == Reading::Apply
        || methods
            .iter()
            .any(|(_, _, _, m)| m.request_validator_id().is_some_and(|v| !v.is_empty()));
    let deployment_id = snap
        .stages
        .first()
        .map(|(_, d)| d.clone())
        .filter(|d| !d.is_empty());
    let (key_names, ours_plans) =
        ours_keys_and_plans(aws, api, api_tags, &first.keys, &first.plans, &mut snap).await?;

    // The second round trip: whatever the first one named.
    let (methods, deployment, plan_keys, validators) = tokio::join!(
        full_methods(aws, id, methods),
        deployment_label(aws, id, deployment_id.as_deref()),
        futures::future::try_join_all(
            ours_plans
                .iter()
                .map(|(_, pid, _)| usage_plan_keys(aws, pid))
        ),
        async {
            if !snap.validators_read {
                return Ok(Vec::new());
            }
            super::api_models::read_validators(aws, id).await
        },
    );
    let (methods, plan_keys) = (methods?, plan_keys?);
    snap.validators = validators?;
    snap.deployment = deployment?;

    read_methods(&mut snap, methods);
    // A deployment made outside this tool (an adopted API): the stage's
    // export says what it serves. If that is the API's routes, the stage is
    // current, and `up` only labels the deployment with their hash. Models
    // are not read from an export: an API with models is deployed again.
    if snap.deployment.as_deref() == Some(FOREIGN_DEPLOYMENT) && snap.models.is_empty() {
        if let (Some((stage, _)), Some(deployment_id)) = (snap.stages.first(), &deployment_id) {
            if exported_routes(aws, id, stage).await?.as_ref() == Some(&snap.routes) {
                snap.deployment = Some(deployment_hash(&snap.routes, &snap.models));
                snap.relabel = Some(deployment_id.clone());
            }
        }
    }

    for ((key, pid, p), attached) in ours_plans.into_iter().zip(plan_keys) {
        let plan = live_plan(id, pid, &p, attached.items(), &key_names);
        snap.plans.insert(key, plan);
    }
    Ok(snap)
}

/// The API's resources, their methods embedded (AWS embeds them; an
/// endpoint that does not gets them asked one by one: [`full_method`]).
async fn resources_with_methods(aws: &Aws, id: &str) -> Result<Vec<Resource>, Error> {
    all_pages(|position| async move {
        let out = call("apigateway:GetResources", || {
            aws.apigateway
                .get_resources()
                .rest_api_id(id)
                .limit(500)
                .embed("methods")
                .set_position(position.clone())
                .send()
        })
        .await?;
        Ok((out.items().to_vec(), out.position().map(str::to_string)))
    })
    .await
}

/// The API's routes read again after an import (`before`: as read before
/// it): its resources and methods, and its request validators when the
/// document declared some (`validators`). Everything else is as `before`
/// read it: a `merge` import of routes leaves stages, deployments,
/// authorizers, keys and usage plans alone, and the models it names were
/// written before it. One round trip (two without embedded methods) instead
/// of a whole snapshot's two, which also listed the account's API keys and
/// usage plans again.
async fn routes_after_import(
    aws: &Aws,
    id: &str,
    before: &Snapshot,
    validators: bool,
) -> Result<Snapshot, Error> {
    let (resources, validators) = tokio::join!(resources_with_methods(aws, id), async {
        if !validators {
            return Ok(None);
        }
        super::api_models::read_validators(aws, id).await.map(Some)
    });
    let mut snap = Snapshot {
        resources: BTreeMap::new(),
        routes: BTreeMap::new(),
        cors_paths: BTreeSet::new(),
        validator_ids: BTreeMap::new(),
        ..before.clone()
    };
    if let Some(validators) = validators? {
        snap.validators = validators;
        snap.validators_read = true;
    }
    let methods = read_resources(&mut snap, &resources?);
    let methods = full_methods(aws, id, methods).await?;
    read_methods(&mut snap, methods);
    Ok(snap)
}

/// What the first round trip of a [`snapshot`] reads.
struct FirstRound {
    resources: Vec<Resource>,
    models: BTreeMap<String, Value>,
    authorizers: Vec<Authorizer>,
    stages: Vec<Stage>,
    keys: Vec<ApiKey>,
    plans: Vec<aws_sdk_apigateway::types::UsagePlan>,
}

/// The API's resources (methods embedded), models, authorizers and stages,
/// with the account's API keys and usage plans, all at once (only the latter two for
/// [`Reading::KeysAndPlans`]).
async fn first_round(aws: &Aws, id: &str, reading: Reading) -> Result<FirstRound, Error> {
    let new = reading == Reading::KeysAndPlans;
    let (resources, models, authorizers, stages, keys, plans) = tokio::join!(
        async {
            if new {
                return Ok::<_, Error>(Vec::new());
            }
            resources_with_methods(aws, id).await
        },
        async {
            if new {
                return Ok(BTreeMap::new());
            }
            super::api_models::read_models(aws, id).await
        },
        async {
            if new {
                return Ok(Vec::new());
            }
            let out = call("apigateway:GetAuthorizers", || {
                aws.apigateway
                    .get_authorizers()
                    .rest_api_id(id)
                    .limit(500)
                    .send()
            })
            .await?;
            Ok(out.items().to_vec())
        },
        async {
            if new {
                return Ok(Vec::new());
            }
            let out = call("apigateway:GetStages", || {
                aws.apigateway.get_stages().rest_api_id(id).send()
            })
            .await?;
            Ok(out.item().to_vec())
        },
        account_list(aws, reading, "apigateway:GetApiKeys", || api_keys(aws)),
        account_list(aws, reading, "apigateway:GetUsagePlans", || usage_plans(
            aws
        )),
    );
    Ok(FirstRound {
        resources: resources?,
        models: models?,
        authorizers: authorizers?,
        stages: stages?,
        keys: keys?,
        plans: plans?,
    })
}

/// One of the account-wide lists (API keys, usage plans): for a plan's read,
/// shared with the other APIs' reads in flight; otherwise read afresh.
async fn account_list<T, F, Fut>(
    aws: &Aws,
    reading: Reading,
    operation: &str,
    list: F,
) -> Result<Vec<T>, Error>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<T>, Error>>,
{
    match reading {
        Reading::Plan => super::flight::shared(aws, operation, list).await,
        _ => list().await,
    }
}

/// Records the resource ids by path; returns every method found, as (path,
/// resource id, verb, method).
fn read_resources(
    snap: &mut Snapshot,
    resources: &[Resource],
) -> Vec<(String, String, String, Method)> {
    // Methods: embedded in GetResources on AWS; asked for one by one when not.
    let mut methods = Vec::new();
    for r in resources {
        let (Some(rid), Some(path)) = (r.id(), r.path()) else {
            continue;
        };
        snap.resources.insert(path.to_string(), rid.to_string());
        for (verb, m) in r.resource_methods().into_iter().flatten() {
            methods.push((path.to_string(), rid.to_string(), verb.clone(), m.clone()));
        }
    }
    methods
}

/// Records the stages (sorted by name), and the variables and default
/// throttling of the first one.
fn read_stages(snap: &mut Snapshot, stages: &[Stage]) {
    let mut stage_list: Vec<(String, String)> = stages
        .iter()
        .filter_map(|s| {
            Some((
                s.stage_name()?.to_string(),
                s.deployment_id().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    stage_list.sort();
    if let Some(first) = stage_list
        .first()
        .and_then(|(name, _)| stages.iter().find(|s| s.stage_name() == Some(name)))
    {
        snap.stage_variables = tags_of(first.variables());
        snap.stage_throttle = first
            .method_settings()
            .and_then(|m| m.get("*/*"))
            .filter(|m| m.throttling_burst_limit() > 0 || m.throttling_rate_limit() > 0.0)
            .map(|m| Throttle {
                rate: m.throttling_rate_limit(),
                burst: i64::from(m.throttling_burst_limit()),
            });
    }
    snap.stages = stage_list;
}

/// A usage plan of the API as listed: (key, id, plan).
type ListedPlan = (String, String, aws_sdk_apigateway::types::UsagePlan);

/// Records the API's keys among the account's; returns their names by id
/// and the API's usage plans. They are named `<api name>-<key>` and carry
/// the API's ownership tags, or, of an API made outside the tool (being
/// adopted), no ownership tags either.
async fn ours_keys_and_plans(
    aws: &Aws,
    api: &RestApi,
    api_tags: &Tags,
    keys: &[ApiKey],
    plans: &[aws_sdk_apigateway::types::UsagePlan],
    snap: &mut Snapshot,
) -> Result<(BTreeMap<String, String>, Vec<ListedPlan>), Error> {
    let api_name = api.name().unwrap_or_default();
    let adopting = super::untagged(api_tags);
    let ours = |t: &Tags| {
        if adopting {
            return super::untagged(t);
        }
        [crate::stack::OWNER_STACK_TAG, crate::stack::OWNER_ID_TAG]
            .iter()
            .all(|k| t.contains_key(*k) && t.get(*k) == api_tags.get(*k))
    };
    let part = |name: Option<&str>| {
        name.and_then(|n| n.strip_prefix(api_name))
            .and_then(|n| n.strip_prefix('-'))
            .map(str::to_string)
    };
    let mut key_names = BTreeMap::new();
    for k in keys {
        if let (Some(kid), Some(key)) = (k.id(), part(k.name())) {
            if ours(&tags_with_store(aws, &format!("/apikeys/{kid}"), k.tags()).await?) {
                if adopting {
                    snap.untagged.push(format!("/apikeys/{kid}"));
                }
                key_names.insert(kid.to_string(), key.clone());
                let description = k.description().filter(|d| !d.is_empty());
                let live = Key {
                    description: description.map(str::to_string),
                    enabled: k.enabled(),
                };
                snap.keys.insert(key, (kid.to_string(), live));
            }
        }
    }
    let mut ours_plans = Vec::new();
    for p in plans {
        if let (Some(pid), Some(key)) = (p.id(), part(p.name())) {
            if ours(&tags_with_store(aws, &format!("/usageplans/{pid}"), p.tags()).await?) {
                if adopting {
                    snap.untagged.push(format!("/usageplans/{pid}"));
                }
                ours_plans.push((key, pid.to_string(), p.clone()));
            }
        }
    }
    Ok((key_names, ours_plans))
}

/// Every method of `read_resources` whole, all at once ([`full_method`]).
async fn full_methods(
    aws: &Aws,
    id: &str,
    methods: Vec<(String, String, String, Method)>,
) -> Result<Vec<(String, String, Method)>, Error> {
    futures::future::try_join_all(
        methods
            .into_iter()
            .map(|(path, rid, verb, m)| full_method(aws, id, path, rid, verb, m)),
    )
    .await
}

/// A method with its integration: as embedded when AWS embedded that, else
/// asked for (`GetMethod`).
async fn full_method(
    aws: &Aws,
    id: &str,
    path: String,
    rid: String,
    verb: String,
    m: Method,
) -> Result<(String, String, Method), Error> {
    if m.method_integration().is_some() {
        return Ok((path, verb, m));
    }
    let full = call("apigateway:GetMethod", || {
        aws.apigateway
            .get_method()
            .rest_api_id(id)
            .resource_id(&rid)
            .http_method(&verb)
            .send()
    })
    .await?;
    let method = Method::builder()
        .set_http_method(full.http_method().map(str::to_string))
        .set_authorization_type(full.authorization_type().map(str::to_string))
        .set_authorizer_id(full.authorizer_id().map(str::to_string))
        .set_api_key_required(full.api_key_required())
        .set_request_parameters(full.request_parameters().cloned())
        .set_request_models(full.request_models().cloned())
        .set_request_validator_id(full.request_validator_id().map(str::to_string))
        .set_method_responses(full.method_responses().cloned())
        .set_method_integration(full.method_integration().cloned())
        .build();
    Ok((path, verb, method))
}

/// The routes hash a deployment was made from, [`FOREIGN_DEPLOYMENT`] for
/// one made outside this tool; `None` without a deployment.
async fn deployment_label(
    aws: &Aws,
    id: &str,
    deployment_id: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(deployment_id) = deployment_id else {
        return Ok(None);
    };
    match call("apigateway:GetDeployment", || {
        aws.apigateway
            .get_deployment()
            .rest_api_id(id)
            .deployment_id(deployment_id)
            .send()
    })
    .await
    {
        Ok(d) => Ok(Some(
            d.description()
                .and_then(|s| s.strip_prefix(DEPLOYMENT_PREFIX))
                .unwrap_or(FOREIGN_DEPLOYMENT)
                .to_string(),
        )),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn usage_plan_keys(aws: &Aws, pid: &str) -> Result<GetUsagePlanKeysOutput, Error> {
    call("apigateway:GetUsagePlanKeys", || {
        aws.apigateway
            .get_usage_plan_keys()
            .usage_plan_id(pid)
            .limit(500)
            .send()
    })
    .await
}

/// Records the routes of the methods found, and the paths with this tool's
/// CORS preflight.
fn read_methods(snap: &mut Snapshot, methods: Vec<(String, String, Method)>) {
    for (path, verb, m) in methods {
        if verb == "OPTIONS" && is_cors_method(&m) {
            snap.cors_paths.insert(path);
            continue;
        }
        let route = route_of_method(&m, &snap.authorizers, &snap.validators);
        let key = format!("{verb} {path}");
        if let Some(v) = m.request_validator_id().filter(|v| !v.is_empty()) {
            snap.validator_ids.insert(key.clone(), v.to_string());
        }
        snap.routes.insert(key, route);
    }
    api_routes::mark_cors(&mut snap.routes, &snap.cors_paths);
}

/// A method as a route (its `cors` is marked later); `authorizers` are the
/// API's (id, user pool ARN), `validators` its request validators.
fn route_of_method(
    m: &Method,
    authorizers: &[(String, String)],
    validators: &[super::api_models::LiveValidator],
) -> Route {
    let (request_model, validate, responses) = super::api_models::of_method(m, validators);
    let authorization = match m.authorization_type().unwrap_or("NONE") {
        "AWS_IAM" => "aws_iam",
        "COGNITO_USER_POOLS" => "cognito",
        "NONE" => "none",
        other => other,
    }
    .to_string();
    let pool_of = |authorizer: Option<&str>| {
        authorizer.and_then(|a| {
            authorizers
                .iter()
                .find(|(i, _)| i == a)
                .map(|(_, arn)| arn.clone())
        })
    };
    Route {
        user_pool: if authorization == "cognito" {
            pool_of(m.authorizer_id())
        } else {
            None
        },
        authorization,
        api_key_required: m.api_key_required().unwrap_or(false),
        request_parameters: m
            .request_parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default(),
        cors: false,
        request_model,
        validate,
        responses,
        integration: integration_of(m),
    }
}

/// A usage plan of the API as found, with the keys attached to it
/// (`attached`; named by `key_names` when they are the API's).
fn live_plan(
    id: &str,
    pid: String,
    p: &aws_sdk_apigateway::types::UsagePlan,
    attached: &[aws_sdk_apigateway::types::UsagePlanKey],
    key_names: &BTreeMap<String, String>,
) -> LivePlan {
    let attached: BTreeMap<String, String> = attached
        .iter()
        .filter_map(|k| {
            let kid = k.id()?;
            let name = key_names
                .get(kid)
                .cloned()
                .or_else(|| k.name().map(str::to_string))?;
            Some((kid.to_string(), name))
        })
        .collect();
    let mut names: Vec<String> = attached.values().cloned().collect();
    names.sort();
    let config = UsagePlan {
        keys: names,
        // An emulator reports "no throttle" as an all-zero one.
        throttle: p
            .throttle()
            .filter(|t| t.rate_limit() > 0.0 || t.burst_limit() > 0)
            .map(|t| Throttle {
                rate: t.rate_limit(),
                burst: i64::from(t.burst_limit()),
            }),
        // An emulator reports "no quota" as an empty one.
        quota: p
            .quota()
            .filter(|q| q.period().is_some_and(|p| !p.as_str().is_empty()))
            .map(|q| Quota {
                limit: i64::from(q.limit()),
                period: q
                    .period()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                offset: i64::from(q.offset()),
            }),
    };
    let stages: Vec<String> = p
        .api_stages()
        .iter()
        .filter(|s| s.api_id() == Some(id))
        .filter_map(|s| s.stage().map(str::to_string))
        .collect();
    (pid, config, stages, attached)
}

/// The routes a stage serves, from its OpenAPI 3 export with API Gateway's
/// extensions; `None` when there is no export to read (the stage is gone,
/// exporting is not allowed or not offered) or it cannot be read as AWS
/// writes it. `None` leaves the deployment unproven: it is deployed again.
async fn exported_routes(
    aws: &Aws,
    id: &str,
    stage: &str,
) -> Result<Option<BTreeMap<String, Route>>, Error> {
    let export = call("apigateway:GetExport", || {
        aws.apigateway
            .get_export()
            .rest_api_id(id)
            .stage_name(stage)
            .export_type("oas30")
            .parameters("extensions", "integrations,authorizers")
            .accepts(JSON)
            .send()
    })
    .await;
    let export = match export {
        Ok(e) => e,
        Err(Error::Aws { code: Some(c), .. })
            if [
                "NotFoundException",
                "BadRequestException",
                "AccessDeniedException",
                "UnauthorizedException",
            ]
            .contains(&c.as_str()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let Some(doc) = export
        .body()
        .and_then(|b| serde_json::from_slice::<Value>(b.as_ref()).ok())
    else {
        return Ok(None);
    };
    Ok(super::api_export::routes(&doc))
}

fn config_from(api: &RestApi, snap: &Snapshot, tags: Tags) -> ApiConfig {
    ApiConfig {
        name: api.name().unwrap_or_default().to_string(),
        description: api
            .description()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        endpoint_type: api
            .endpoint_configuration()
            .and_then(|e| e.types().first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "EDGE".to_string()),
        routes: snap.routes.clone(),
        stage: snap.stages.first().map(|(s, _)| s.clone()),
        stage_variables: snap.stage_variables.clone(),
        stage_throttle: snap.stage_throttle.clone(),
        deployment: snap.deployment.clone(),
        models: snap.models.clone(),
        usage_plans: snap
            .plans
            .iter()
            .map(|(k, (_, p, _, _))| (k.clone(), p.clone()))
            .collect(),
        keys: snap
            .keys
            .iter()
            .map(|(k, (_, key))| (k.clone(), key.clone()))
            .collect(),
        tags,
    }
}

/// The API's outputs, plus `key.<key>.id` for each API key (its id, never
/// its value).
fn outputs(
    aws: &Aws,
    id: &str,
    name: &str,
    root: &str,
    stage: Option<&str>,
    key_ids: &BTreeMap<String, String>,
) -> Outputs {
    let execute_arn = format!(
        "arn:{}:execute-api:{}:{}:{id}",
        aws.partition, aws.region, aws.account_id
    );
    let mut out = Outputs::from([
        ("id".to_string(), id.to_string()),
        ("name".to_string(), name.to_string()),
        ("root_resource_id".to_string(), root.to_string()),
        ("execute_arn".to_string(), execute_arn),
        (
            "invoke_url".to_string(),
            format!(
                "https://{id}.execute-api.{}.amazonaws.com/{}",
                aws.region,
                stage.unwrap_or_default()
            ),
        ),
    ]);
    for (key, key_id) in key_ids {
        out.insert(format!("key.{key}.id"), key_id.clone());
    }
    out
}

/// The account's REST APIs, one listing shared by the reads in flight at
/// once (every declared API's, and the search for APIs removed from the
/// stack).
async fn list_apis_shared(aws: &Aws) -> Result<Vec<RestApi>, Error> {
    super::flight::shared(aws, "apigateway:GetRestApis", || list_apis(aws)).await
}

async fn find(aws: &Aws, target: &Target<'_>) -> Result<Option<(RestApi, Tags, Ownership)>, Error> {
    let apis = list_apis_shared(aws).await?;
    let by_id: HashMap<String, RestApi> = apis
        .iter()
        .filter_map(|a| Some((a.id()?.to_string(), a.clone())))
        .collect();
    let by_id = &by_id;
    let found = super::find_one_ours(
        "REST API",
        listed(&apis),
        target,
        with_tags(aws, by_id),
        |(_, tags): &(RestApi, Tags)| tags.clone(),
    )
    .await?;
    Ok(found.map(|(_, (api, tags), ownership)| (api, tags, ownership)))
}

pub(crate) async fn read(aws: &Aws, target: &Target<'_>) -> Result<Option<Live>, Error> {
    let Some((api, tags, ownership)) = find(aws, target).await? else {
        return Ok(None);
    };
    let snap = snapshot(aws, &api, &tags, Reading::Plan).await?;
    let config = config_from(&api, &snap, tags);
    let id = api.id().unwrap_or_default();
    let root = snap.resources.get("/").cloned().unwrap_or_default();
    Ok(Some(Live {
        address: target.address.clone(),
        physical_name: target.name.to_string(),
        outputs: outputs(
            aws,
            id,
            target.name,
            &root,
            config.stage.as_deref(),
            &snap
                .keys
                .iter()
                .map(|(k, (key_id, _))| (k.clone(), key_id.clone()))
                .collect(),
        ),
        attributes: serde_json::to_value(config).map_err(|e| Error::Unexpected(e.to_string()))?,
        ownership,
    }))
}

/// REST APIs this stack owns, by their tags, among the APIs named like the
/// stack's default names (`<stack>-`) and none of the declared `names`.
pub(crate) async fn find_owned(
    aws: &Aws,
    stack: &Stack,
    names: &[String],
) -> Result<Vec<(Address, String)>, Error> {
    let apis = list_apis_shared(aws).await?;
    let by_id: HashMap<String, RestApi> = apis
        .iter()
        .filter_map(|a| Some((a.id()?.to_string(), a.clone())))
        .collect();
    let by_id = &by_id;
    super::find_owned_leftovers(
        stack,
        Kind::Api,
        &format!("{}-", stack.name),
        names,
        listed(&apis),
        with_tags(aws, by_id),
        |(_, tags): &(RestApi, Tags)| tags.clone(),
    )
    .await
}

/// The values of the API's keys, by key name (`usage_plans.*.keys`): one
/// `GetApiKey` with `includeValue` per `key.<name>.id` output. Only `outputs
/// --include-secrets` calls this; every other read lists keys without their
/// values.
pub(crate) async fn secrets(aws: &Aws, live: &Live) -> Result<BTreeMap<String, String>, Error> {
    let keys: Vec<(String, String)> = live
        .outputs
        .iter()
        .filter_map(|(output, id)| {
            let name = output.strip_prefix("key.")?.strip_suffix(".id")?;
            Some((name.to_string(), id.clone()))
        })
        .collect();
    let answers = futures::future::join_all(keys.iter().map(|(_, id)| {
        call("apigateway:GetApiKey", move || {
            aws.apigateway
                .get_api_key()
                .api_key(id)
                .include_value(true)
                .send()
        })
    }))
    .await;
    let mut values = BTreeMap::new();
    for ((name, id), answer) in keys.into_iter().zip(answers) {
        let key = answer?;
        match key.value().filter(|v| !v.is_empty()) {
            Some(v) => values.insert(name, v.to_string()),
            None => {
                return Err(Error::Unexpected(format!(
                "apigateway:GetApiKey answered without the value of key `{name}` ({id}) of `{}`",
                live.address
            )))
            }
        };
    }
    Ok(values)
}

// ---------------------------------------------------------------- create ----

fn parse(value: &Value, address: &Address) -> Result<ApiConfig, Error> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Unexpected(format!("{address}: {e}")))
}

pub(crate) async fn create(aws: &Aws, desired: &Desired) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let endpoint = EndpointType::from(want.endpoint_type.as_str());
    let api = call("apigateway:CreateRestApi", || {
        aws.apigateway
            .create_rest_api()
            .name(&want.name)
            .set_description(want.description.clone())
            .endpoint_configuration(
                EndpointConfiguration::builder()
                    .types(endpoint.clone())
                    .build(),
            )
            // Tags go with the create call, so the API never exists without its owner.
            .set_tags(Some(hash_map(&want.tags)))
            .send()
    })
    .await?;
    let rest_api = RestApi::builder()
        .set_id(api.id().map(str::to_string))
        .set_name(api.name().map(str::to_string))
        .set_description(api.description().map(str::to_string))
        .set_root_resource_id(api.root_resource_id().map(str::to_string))
        // The tags sent: a new API is never taken for one being adopted.
        .set_tags(Some(hash_map(&want.tags)))
        .set_endpoint_configuration(api.endpoint_configuration().cloned())
        .build();
    reconcile(
        aws,
        desired,
        &want,
        &rest_api,
        &want.tags,
        Reading::KeysAndPlans,
    )
    .await
}

// ---------------------------------------------------------------- update ----

pub(crate) async fn update(aws: &Aws, desired: &Desired, live: &Live) -> Result<Outputs, Error> {
    let want = parse(&desired.attributes, &desired.address)?;
    let id = live
        .outputs
        .get("id")
        .ok_or_else(|| Error::Unexpected(format!("{}: the live API has no id", live.address)))?;
    let apis = list_apis(aws).await?;
    let api = apis
        .into_iter()
        .find(|a| a.id() == Some(id.as_str()))
        .ok_or_else(|| Error::Unexpected(format!("REST API {id} vanished while being updated")))?;
    let id = id.clone();
    // Name and description; tags.
    let mut ops = Vec::new();
    if api.description().unwrap_or_default() != want.description.as_deref().unwrap_or_default() {
        ops.push(patch(
            Op::Replace,
            "/description",
            Some(want.description.clone().unwrap_or_default()),
        ));
    }
    if !ops.is_empty() {
        call("apigateway:UpdateRestApi", || {
            aws.apigateway
                .update_rest_api()
                .rest_api_id(&id)
                .set_patch_operations(Some(ops.clone()))
                .send()
        })
        .await?;
    }
    let arn = format!(
        "arn:{}:apigateway:{}::/restapis/{id}",
        aws.partition, aws.region
    );
    let before = tags_with_store(aws, &format!("/restapis/{id}"), api.tags()).await?;
    let (set, remove) = tag_changes(&want.tags, &before);
    if !set.is_empty() {
        call("apigateway:TagResource", || {
            aws.apigateway
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(hash_map(&set)))
                .send()
        })
        .await?;
    }
    if !remove.is_empty() {
        call("apigateway:UntagResource", || {
            aws.apigateway
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
        })
        .await?;
    }
    // The API's parts as they were found: an adopted API's keys and plans
    // are still matched by name (and tagged) though the API is tagged now.
    reconcile(aws, desired, &want, &api, &before, Reading::Apply).await
}

/// Brings everything inside the API to `want`. The calls that change the
/// API itself (models, resources, methods, the deployment and stage) are made
/// one after the other: API Gateway answers two at once on one API with
/// `ConflictException` ("concurrent modification"), as terraform-provider-aws
/// users learnt. The API keys (account resources) and the Lambda invoke
/// permissions (Lambda's) do not modify the API, so they are made at the same
/// time; the usage plans follow the stage and the keys. For an API created a
/// moment ago (`Reading::KeysAndPlans`) nothing of it needs reading: only the
/// account's keys and usage plans (that a half-done earlier run may have
/// left) are read, beside the routes being written.
async fn reconcile(
    aws: &Aws,
    desired: &Desired,
    want: &ApiConfig,
    api: &RestApi,
    api_tags: &Tags,
    reading: Reading,
) -> Result<Outputs, Error> {
    let id = api.id().unwrap_or_default().to_string();
    let id = id.as_str();
    let adopting = super::untagged(api_tags);
    let fresh = reading == Reading::KeysAndPlans;
    // An API just made has only its root resource; the account's keys and
    // usage plans are read while its routes are written.
    let (snap, parts_snap) = if fresh {
        (
            Snapshot::default(),
            Some(snapshot(aws, api, api_tags, reading)),
        )
    } else {
        (snapshot(aws, api, api_tags, reading).await?, None)
    };
    let step = Reconcile {
        aws,
        id,
        want,
        snap: &snap,
        // Adopting never deletes: an API made outside the tool keeps its other
        // stages, old deployments, keys, plans and plan keys on this first `up`.
        adopting,
    };
    step.tag_untagged().await?;
    let mut resources = snap.resources.clone();
    let root = match resources.get("/") {
        Some(r) => r.clone(),
        None => api.root_resource_id().unwrap_or_default().to_string(),
    };
    resources.insert("/".to_string(), root.clone());
    let hash = deployment_hash(&want.routes, &want.models);
    let routes_changed = routes_changed(want, &snap);
    let redeploy = want.stage.as_ref().is_some_and(|stage| {
        routes_changed
            || !snap.stages.iter().any(|(s, _)| s == stage)
            || snap.deployment.as_deref() != Some(hash.as_str())
            || snap.stages.first().map(|(s, _)| s) != Some(stage)
    });
    // The API itself, one call after the other, with the invoke permissions
    // beside its routes; the stage moves only once both are done, so a run
    // that failed to allow an invocation leaves a deployment to make, and the
    // next run allows it again.
    let api_calls = async {
        let routes = async {
            // Models first: the methods name them.
            super::api_models::write_models(aws, id, &want.models, &snap.models).await?;
            if !routes_changed {
                return Ok((BTreeMap::new(), None));
            }
            // The new and changed routes in one `PutRestApi`; then, against
            // the API as it is now, one call for each thing still different
            // (the routes it does not take, the ones no longer declared).
            if let Some(fresh) = Box::pin(step.import_routes()).await? {
                let after = Reconcile {
                    snap: &fresh,
                    ..step
                };
                let mut resources = fresh.resources.clone();
                resources.insert("/".to_string(), root.clone());
                let validators = Box::pin(after.write_routes(&mut resources)).await?;
                return Ok((validators, Some(fresh)));
            }
            Ok((Box::pin(step.write_routes(&mut resources)).await?, None))
        };
        let permissions = step.update_invoke_permissions(routes_changed || redeploy);
        let (written, permissions) = tokio::join!(routes, permissions);
        let written = written?;
        permissions?;
        if let Some(stage) = &want.stage {
            step.update_stage(stage, &hash, redeploy).await?;
        }
        Ok::<_, Error>(written)
    };
    // Beside it all: the keys (after reading the account's, for a new API).
    let keys = async {
        let parts_snap = match parts_snap {
            Some(read) => Some(read.await?),
            None => None,
        };
        let parts = Reconcile {
            snap: parts_snap.as_ref().unwrap_or(&snap),
            ..step
        };
        let key_ids = parts.update_keys().await?;
        Ok::<_, Error>((key_ids, parts_snap))
    };
    // Boxed: the futures of an API's whole reconcile are large.
    let (written, keys) = tokio::join!(Box::pin(api_calls), Box::pin(keys));
    let (validators, imported) = written?;
    let (key_ids, parts_snap) = keys?;
    let parts = Reconcile {
        snap: parts_snap.as_ref().unwrap_or(&snap),
        ..step
    };
    let stage = want.stage.clone().unwrap_or_default();
    for (plan_key, plan) in &want.usage_plans {
        parts
            .update_usage_plan(plan_key, plan, &key_ids, &stage)
            .await?;
    }
    let after = Reconcile {
        snap: imported.as_ref().unwrap_or(&snap),
        ..step
    };
    after.delete_unused_models(&validators).await?;
    parts.delete_undeclared().await?;
    let _ = desired;
    Ok(outputs(
        aws,
        id,
        &want.name,
        &root,
        want.stage.as_deref(),
        &key_ids,
    ))
}

/// Whether the methods differ from the declared routes, or a declared CORS
/// preflight is missing.
fn routes_changed(want: &ApiConfig, snap: &Snapshot) -> bool {
    snap.routes != want.routes
        || want
            .routes
            .iter()
            .filter(|(_, r)| r.cors)
            .filter_map(|(k, _)| parse_route(k).ok())
            .any(|k| !snap.cors_paths.contains(&k.path))
}

/// Makes the call and takes "not found" as done (for deleting).
pub(crate) async fn call_unless_gone<T, E, R, F, Fut>(
    operation: &'static str,
    f: F,
) -> Result<(), Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    ok_if_gone(call(operation, f).await.map(|_| ()))
}

/// The patch operations that set a throttle (`<base>/rateLimit`,
/// `<base>/burstLimit`) or, for none, remove `remove`.
fn throttle_ops(base: &str, remove: &str, throttle: Option<&Throttle>) -> Vec<PatchOperation> {
    match throttle {
        Some(t) => vec![
            patch(
                Op::Replace,
                &format!("{base}/rateLimit"),
                Some(t.rate.to_string()),
            ),
            patch(
                Op::Replace,
                &format!("{base}/burstLimit"),
                Some(t.burst.to_string()),
            ),
        ],
        None => vec![patch(Op::Remove, remove, None)],
    }
}

/// The patch operations that bring the stage's variables and default
/// throttling to `want` (they change in place, with no new deployment).
fn stage_settings_ops(want: &ApiConfig, snap: &Snapshot, stage: &str) -> Vec<PatchOperation> {
    let same_stage = snap.stages.first().map(|(s, _)| s.as_str()) == Some(stage);
    let (live_vars, live_throttle) = if same_stage {
        (snap.stage_variables.clone(), snap.stage_throttle.clone())
    } else {
        (BTreeMap::new(), None)
    };
    let mut ops = Vec::new();
    for (k, v) in &want.stage_variables {
        if live_vars.get(k) != Some(v) {
            ops.push(patch(
                Op::Replace,
                &format!("/variables/{k}"),
                Some(v.clone()),
            ));
        }
    }
    for k in live_vars.keys() {
        if !want.stage_variables.contains_key(k) {
            ops.push(patch(Op::Remove, &format!("/variables/{k}"), None));
        }
    }
    if live_throttle != want.stage_throttle {
        ops.extend(throttle_ops(
            "/*/*/throttling",
            "/*/*",
            want.stage_throttle.as_ref(),
        ));
    }
    ops
}

/// The patch operations that bring an API key to `want`.
fn key_ops(live: &Key, want: &Key) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if live.enabled != want.enabled {
        ops.push(patch(
            Op::Replace,
            "/enabled",
            Some(want.enabled.to_string()),
        ));
    }
    if live.description != want.description {
        ops.push(patch(
            Op::Replace,
            "/description",
            Some(want.description.clone().unwrap_or_default()),
        ));
    }
    ops
}

/// The patch operations that bring a usage plan to `want`, attached to the
/// API's `stage` only (`stages`: those it is attached to now).
fn usage_plan_ops(
    id: &str,
    live: &UsagePlan,
    want: &UsagePlan,
    stages: &[String],
    stage: &str,
) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    if live.throttle != want.throttle {
        ops.extend(throttle_ops(
            "/throttle",
            "/throttle",
            want.throttle.as_ref(),
        ));
    }
    if live.quota != want.quota {
        match &want.quota {
            Some(q) => {
                ops.push(patch(
                    Op::Replace,
                    "/quota/limit",
                    Some(q.limit.to_string()),
                ));
                ops.push(patch(Op::Replace, "/quota/period", Some(q.period.clone())));
                ops.push(patch(
                    Op::Replace,
                    "/quota/offset",
                    Some(q.offset.to_string()),
                ));
            }
            None => ops.push(patch(Op::Remove, "/quota", None)),
        }
    }
    if !stages.iter().any(|s| s == stage) {
        ops.push(patch(Op::Add, "/apiStages", Some(format!("{id}:{stage}"))));
    }
    for s in stages.iter().filter(|s| *s != stage) {
        ops.push(patch(Op::Remove, "/apiStages", Some(format!("{id}:{s}"))));
    }
    ops
}

/// One [`reconcile`]: the API, what the stack wants of it and what was found.
struct Reconcile<'a> {
    aws: &'a Aws,
    id: &'a str,
    want: &'a ApiConfig,
    snap: &'a Snapshot,
    /// The API was made outside the tool (it has no ownership tags yet).
    adopting: bool,
}

impl Reconcile<'_> {
    /// Keys and usage plans of an adopted API get the ownership tags too, so
    /// they are found by their tags from now on.
    async fn tag_untagged(&self) -> Result<(), Error> {
        let aws = self.aws;
        for path in &self.snap.untagged {
            let arn = format!("arn:{}:apigateway:{}::{path}", aws.partition, aws.region);
            call("apigateway:TagResource", || {
                aws.apigateway
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(hash_map(&self.want.tags)))
                    .send()
            })
            .await?;
        }
        Ok(())
    }

    /// Models no longer declared and request validators no method names
    /// any more (`assigned`: the validators the rewritten routes were given,
    /// by kind), after the methods stopped naming them; never while adopting.
    async fn delete_unused_models(&self, assigned: &BTreeMap<String, String>) -> Result<(), Error> {
        if self.adopting {
            return Ok(());
        }
        let (aws, id, want, snap) = (self.aws, self.id, self.want, self.snap);
        super::api_models::delete_models(aws, id, &want.models, &snap.models).await?;
        if !snap.validators_read {
            return Ok(());
        }
        let mut used = BTreeSet::new();
        for (key, route) in &want.routes {
            let kept = snap.routes.get(key) == Some(route);
            let named = if kept {
                snap.validator_ids.get(key)
            } else {
                route.validate.as_ref().and_then(|k| assigned.get(k))
            };
            used.extend(named.cloned());
        }
        super::api_models::delete_validators(aws, id, &snap.validators, &used).await
    }

    /// Writes the new and changed routes (but Cognito ones) with one
    /// `PutRestApi` in `merge` mode (AWS, "Import an OpenAPI file to update
    /// an existing API definition": a merge overrides the methods the
    /// document declares and leaves every other item alone; an overwrite
    /// would reset the API configuration the document does not state), in
    /// the form of API Gateway's own exports
    /// ([`super::api_export::document`]), and reads the API again. `None`
    /// when that is not done: while adopting (merge never deletes, but an
    /// adopted API is only ever changed call by call), when no route is
    /// written that way, or when the endpoint has no `PutRestApi` (a local
    /// emulator; remembered for the run). When AWS refuses the document it
    /// says so, and the API is read again all the same. Whatever the import
    /// made differently from the stack, or left half done, the calls that
    /// follow correct.
    async fn import_routes(&self) -> Result<Option<Snapshot>, Error> {
        let (aws, want, snap) = (self.aws, self.want, self.snap);
        if self.adopting
            || aws
                .no_put_rest_api
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Ok(None);
        }
        let keys: Vec<(String, RouteKey)> = want
            .routes
            .iter()
            .filter(|(key, route)| {
                route.authorization != "cognito" && snap.routes.get(*key) != Some(*route)
            })
            .filter_map(|(key, _)| parse_route(key).ok().map(|k| (key.clone(), k)))
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let doc = super::api_export::document(
            &want.name,
            &want.routes,
            &keys,
            &want.models,
            (&aws.region, &aws.partition),
        );
        let body = serde_json::to_vec(&doc).map_err(|e| Error::Unexpected(e.to_string()))?;
        // Asked once, never retried: a failure of any kind (an emulator's
        // half-done import answered 500 and made the paths again on each
        // retry) is followed by reading the API and the calls per route.
        let put = call("apigateway:PutRestApi", || {
            aws.apigateway
                .put_rest_api()
                .rest_api_id(self.id)
                .mode(PutMode::Merge)
                .fail_on_warnings(false)
                .body(aws_smithy_types::Blob::new(body.clone()))
                .customize()
                .config_override(
                    aws_sdk_apigateway::config::Builder::default()
                        .retry_config(aws_config::retry::RetryConfig::disabled()),
                )
                .send()
        })
        .await;
        match put {
            Ok(out) => {
                for warning in out.warnings() {
                    eprintln!(
                        "  note: `{}`: API Gateway's import says: {warning}",
                        want.name
                    );
                }
            }
            Err(e) if put_rest_api_missing(&e) => {
                aws.no_put_rest_api
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                return Ok(None);
            }
            Err(e) => {
                // Read again all the same: a refused import may have left
                // part of its work, which the calls per route then see.
                eprintln!(
                    "  note: `{}`: {e}; its routes are written one call at a time instead",
                    want.name
                );
            }
        }
        let validators = keys
            .iter()
            .any(|(key, _)| want.routes[key].validate.is_some());
        Ok(Some(
            routes_after_import(aws, self.id, snap, validators).await?,
        ))
    }

    /// Authorizers, request validators, resources, methods with their
    /// integrations and CORS preflights, then the resources no route needs
    /// any more. Returns the validators' ids by kind.
    async fn write_routes(
        &self,
        resources: &mut BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let authorizers = self.create_authorizers().await?;
        let validators = super::api_models::ensure_validators(
            self.aws,
            self.id,
            &self.want.routes,
            &self.snap.validators,
        )
        .await?;
        let keys: Vec<(String, RouteKey)> = self
            .want
            .routes
            .keys()
            .filter_map(|k| parse_route(k).ok().map(|p| (k.clone(), p)))
            .collect();
        let needed = api_routes::resource_paths(keys.iter().map(|(_, k)| k.path.as_str()));
        self.create_resources(&needed, resources).await?;
        self.write_methods(&keys, resources, &authorizers, &validators)
            .await?;
        self.write_cors(&keys, resources).await?;
        self.delete_unneeded_resources(&needed, resources).await?;
        Ok(validators)
    }

    /// Cognito authorizers, one per user pool; returns their ids by pool ARN.
    async fn create_authorizers(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut authorizers: BTreeMap<String, String> = self
            .snap
            .authorizers
            .iter()
            .map(|(i, arn)| (arn.clone(), i.clone()))
            .collect();
        for route in self.want.routes.values() {
            let Some(pool) = &route.user_pool else {
                continue;
            };
            if authorizers.contains_key(pool) {
                continue;
            }
            let pool_name = pool.rsplit('/').next().unwrap_or("pool");
            let out = call("apigateway:CreateAuthorizer", || {
                self.aws
                    .apigateway
                    .create_authorizer()
                    .rest_api_id(self.id)
                    .name(format!("cognito-{pool_name}"))
                    .r#type(AuthorizerType::CognitoUserPools)
                    .provider_arns(pool)
                    .identity_source("method.request.header.Authorization")
                    .send()
            })
            .await?;
            authorizers.insert(pool.clone(), out.id().unwrap_or_default().to_string());
        }
        Ok(authorizers)
    }

    /// The resource tree, parents first.
    async fn create_resources(
        &self,
        needed: &[String],
        resources: &mut BTreeMap<String, String>,
    ) -> Result<(), Error> {
        for path in needed {
            if resources.contains_key(path) {
                continue;
            }
            let (parent, part) = api_routes::split_parent(path);
            let parent_id = resources.get(&parent).cloned().ok_or_else(|| {
                Error::Unexpected(format!("the parent of resource `{path}` was not created"))
            })?;
            let out = call("apigateway:CreateResource", || {
                self.aws
                    .apigateway
                    .create_resource()
                    .rest_api_id(self.id)
                    .parent_id(&parent_id)
                    .path_part(&part)
                    .send()
            })
            .await?;
            resources.insert(path.clone(), out.id().unwrap_or_default().to_string());
        }
        Ok(())
    }

    /// Deletes the methods no longer declared; makes those that are new or
    /// changed again from scratch.
    async fn write_methods(
        &self,
        keys: &[(String, RouteKey)],
        resources: &BTreeMap<String, String>,
        authorizers: &BTreeMap<String, String>,
        validators: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let (aws, id, want, snap) = (self.aws, self.id, self.want, self.snap);
        for key in snap.routes.keys() {
            if want.routes.contains_key(key) {
                continue;
            }
            // Split as read, not checked as the stack's keys are: a method
            // with a verb the stack cannot name is still not declared.
            let Some((verb, path)) = key.split_once(' ') else {
                continue;
            };
            if let Some(rid) = resources.get(path) {
                delete_method(aws, id, rid, verb).await?;
            }
        }
        for (key, k) in keys {
            let route = &want.routes[key];
            if snap.routes.get(key) == Some(route) {
                continue;
            }
            let rid = resources[&k.path].clone();
            if snap.routes.contains_key(key) {
                delete_method(aws, id, &rid, &k.method).await?;
            }
            let authorizer = route
                .user_pool
                .as_ref()
                .and_then(|p| authorizers.get(p).cloned());
            let validator = route
                .validate
                .as_ref()
                .and_then(|v| validators.get(v).cloned());
            put_route(aws, id, &rid, k, route, (authorizer, validator)).await?;
        }
        Ok(())
    }

    /// CORS preflights, per path, made again so that they list every method.
    async fn write_cors(
        &self,
        keys: &[(String, RouteKey)],
        resources: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let (aws, id, snap) = (self.aws, self.id, self.snap);
        let cors_paths: BTreeSet<String> = keys
            .iter()
            .filter(|(key, _)| self.want.routes[key].cors)
            .map(|(_, k)| k.path.clone())
            .collect();
        for path in snap.cors_paths.iter().chain(cors_paths.iter()) {
            if let Some(rid) = resources.get(path) {
                if snap.cors_paths.contains(path) {
                    delete_method(aws, id, rid, "OPTIONS").await?;
                }
            }
        }
        for path in &cors_paths {
            let mut methods: Vec<&str> = keys
                .iter()
                .filter(|(_, k)| &k.path == path)
                .map(|(_, k)| k.method.as_str())
                .collect();
            methods.push("OPTIONS");
            methods.sort();
            methods.dedup();
            put_cors(aws, id, &resources[path], &methods.join(",")).await?;
        }
        Ok(())
    }

    /// Resources no route needs any more: the topmost of each subtree.
    async fn delete_unneeded_resources(
        &self,
        needed: &[String],
        resources: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let needed: BTreeSet<&String> = needed.iter().collect();
        let unneeded: Vec<(&String, &String)> = resources
            .iter()
            .filter(|(p, _)| p.as_str() != "/" && !needed.contains(p))
            .filter(|(p, _)| {
                let (parent, _) = api_routes::split_parent(p);
                parent == "/" || needed.contains(&parent)
            })
            .collect();
        for (_, rid) in unneeded {
            call_unless_gone("apigateway:DeleteResource", || {
                self.aws
                    .apigateway
                    .delete_resource()
                    .rest_api_id(self.id)
                    .resource_id(rid)
                    .send()
            })
            .await?;
        }
        Ok(())
    }

    /// Lambda may be invoked by this API for each Lambda route (again after
    /// an `up` that stopped half-way, since that leaves a deployment to
    /// make, when `allow`), and no longer by routes that are gone or call
    /// another function.
    async fn update_invoke_permissions(&self, allow: bool) -> Result<(), Error> {
        let (aws, id, want) = (self.aws, self.id, self.want);
        for (key, old) in &self.snap.routes {
            let still = want.routes.get(key).is_some_and(|r| {
                r.integration.kind == "lambda" && r.integration.target == old.integration.target
            });
            if !still {
                revoke_invoke(aws, id, key, old).await;
            }
        }
        if allow {
            let execute_arn = format!(
                "arn:{}:execute-api:{}:{}:{id}",
                aws.partition, aws.region, aws.account_id
            );
            for key in want.routes.keys() {
                let route = &want.routes[key];
                let Ok(k) = parse_route(key) else { continue };
                if route.integration.kind == "lambda" {
                    allow_invoke(aws, id, &execute_arn, key, &k, route).await?;
                }
            }
        }
        Ok(())
    }

    /// The stage and its deployment (`redeploy`: a new one), its variables
    /// and throttling.
    async fn update_stage(&self, stage: &str, hash: &str, redeploy: bool) -> Result<(), Error> {
        let (aws, id) = (self.aws, self.id);
        if redeploy {
            self.deploy(stage, hash).await?;
        }
        // A deployment made outside this tool that serves these routes keeps
        // serving them; it is labelled with their hash, so it is known next time.
        if let Some(current) = self.snap.relabel.as_ref().filter(|_| !redeploy) {
            call("apigateway:UpdateDeployment", || {
                aws.apigateway
                    .update_deployment()
                    .rest_api_id(id)
                    .deployment_id(current)
                    .patch_operations(patch(
                        Op::Replace,
                        "/description",
                        Some(format!("{DEPLOYMENT_PREFIX}{hash}")),
                    ))
                    .send()
            })
            .await?;
        }
        let ops = stage_settings_ops(self.want, self.snap, stage);
        if !ops.is_empty() {
            call("apigateway:UpdateStage", || {
                aws.apigateway
                    .update_stage()
                    .rest_api_id(id)
                    .stage_name(stage)
                    .set_patch_operations(Some(ops.clone()))
                    .send()
            })
            .await?;
        }
        Ok(())
    }

    /// A new deployment of the routes (`hash`), the stage moved to it (or
    /// made), and the superseded deployment deleted unless another stage
    /// still uses it.
    ///
    /// Not `CreateDeployment` with the stage's name, which makes or moves
    /// the stage in the same call: moto then refuses to delete that
    /// deployment once the stage has moved on ("Active stages pointing to
    /// this deployment"), and a call saved is not worth a path the
    /// cross-check cannot follow.
    async fn deploy(&self, stage: &str, hash: &str) -> Result<(), Error> {
        let (aws, id, snap) = (self.aws, self.id, self.snap);
        let current = snap.stages.iter().find(|(s, _)| s == stage);
        let deployment = call("apigateway:CreateDeployment", || {
            aws.apigateway
                .create_deployment()
                .rest_api_id(id)
                .description(format!("{DEPLOYMENT_PREFIX}{hash}"))
                .send()
        })
        .await?;
        let new_id = deployment.id().unwrap_or_default().to_string();
        match current {
            Some(_) => {
                call("apigateway:UpdateStage", || {
                    aws.apigateway
                        .update_stage()
                        .rest_api_id(id)
                        .stage_name(stage)
                        .patch_operations(patch(Op::Replace, "/deploymentId", Some(new_id.clone())))
                        .send()
                })
                .await?;
            }
            None => {
                call("apigateway:CreateStage", || {
                    aws.apigateway
                        .create_stage()
                        .rest_api_id(id)
                        .stage_name(stage)
                        .deployment_id(&new_id)
                        .send()
                })
                .await?;
            }
        }
        if let Some((_, old)) = current.filter(|_| !self.adopting) {
            let used_elsewhere = snap.stages.iter().any(|(s, d)| s != stage && d == old);
            if !old.is_empty() && *old != new_id && !used_elsewhere {
                call_unless_gone("apigateway:DeleteDeployment", || {
                    aws.apigateway
                        .delete_deployment()
                        .rest_api_id(id)
                        .deployment_id(old)
                        .send()
                })
                .await?;
            }
        }
        Ok(())
    }

    /// API keys (never with their values), all at once; returns their ids by
    /// key name.
    async fn update_keys(&self) -> Result<BTreeMap<String, String>, Error> {
        let written = futures::future::join_all(self.want.keys.iter().map(|(key, k)| async move {
            Ok::<_, Error>((key.clone(), self.update_key(key, k).await?))
        }))
        .await;
        written.into_iter().collect()
    }

    /// One API key: updated in place, or made; returns its id.
    async fn update_key(&self, key: &str, k: &Key) -> Result<String, Error> {
        let (aws, want) = (self.aws, self.want);
        match self.snap.keys.get(key) {
            Some((kid, live)) => {
                let ops = key_ops(live, k);
                if !ops.is_empty() {
                    call("apigateway:UpdateApiKey", || {
                        aws.apigateway
                            .update_api_key()
                            .api_key(kid)
                            .set_patch_operations(Some(ops.clone()))
                            .send()
                    })
                    .await?;
                }
                Ok(kid.clone())
            }
            None => {
                let out = call("apigateway:CreateApiKey", || {
                    aws.apigateway
                        .create_api_key()
                        .name(format!("{}-{key}", want.name))
                        .set_description(k.description.clone())
                        .enabled(k.enabled)
                        .set_tags(Some(hash_map(&want.tags)))
                        .send()
                })
                .await?;
                Ok(out.id().unwrap_or_default().to_string())
            }
        }
    }

    /// One usage plan, on `stage`, with the keys it names (`key_ids`: the
    /// keys' ids by name) attached and no others.
    async fn update_usage_plan(
        &self,
        plan_key: &str,
        plan: &UsagePlan,
        key_ids: &BTreeMap<String, String>,
        stage: &str,
    ) -> Result<(), Error> {
        let (aws, id) = (self.aws, self.id);
        let want_keys: BTreeSet<String> = plan
            .keys
            .iter()
            .filter_map(|k| key_ids.get(k).cloned())
            .collect();
        let (pid, attached) = match self.snap.plans.get(plan_key) {
            Some((pid, live, stages, attached)) => {
                let ops = usage_plan_ops(id, live, plan, stages, stage);
                if !ops.is_empty() {
                    call("apigateway:UpdateUsagePlan", || {
                        aws.apigateway
                            .update_usage_plan()
                            .usage_plan_id(pid)
                            .set_patch_operations(Some(ops.clone()))
                            .send()
                    })
                    .await?;
                }
                (
                    pid.clone(),
                    attached.keys().cloned().collect::<BTreeSet<_>>(),
                )
            }
            None => (
                self.create_usage_plan(plan_key, plan, stage).await?,
                BTreeSet::new(),
            ),
        };
        for kid in want_keys.difference(&attached) {
            call("apigateway:CreateUsagePlanKey", || {
                aws.apigateway
                    .create_usage_plan_key()
                    .usage_plan_id(&pid)
                    .key_id(kid)
                    .key_type("API_KEY")
                    .send()
            })
            .await?;
        }
        for kid in attached.difference(&want_keys).filter(|_| !self.adopting) {
            call_unless_gone("apigateway:DeleteUsagePlanKey", || {
                aws.apigateway
                    .delete_usage_plan_key()
                    .usage_plan_id(&pid)
                    .key_id(kid)
                    .send()
            })
            .await?;
        }
        Ok(())
    }

    /// A new usage plan on `stage`; returns its id.
    async fn create_usage_plan(
        &self,
        plan_key: &str,
        plan: &UsagePlan,
        stage: &str,
    ) -> Result<String, Error> {
        let want = self.want;
        let out = call("apigateway:CreateUsagePlan", || {
            self.aws
                .apigateway
                .create_usage_plan()
                .name(format!("{}-{plan_key}", want.name))
                .api_stages(ApiStage::builder().api_id(self.id).stage(stage).build())
                .set_throttle(plan.throttle.as_ref().map(|t| {
                    ThrottleSettings::builder()
                        .rate_limit(t.rate)
                        .burst_limit(t.burst as i32)
                        .build()
                }))
                .set_quota(plan.quota.as_ref().map(|q| {
                    QuotaSettings::builder()
                        .limit(q.limit as i32)
                        .offset(q.offset as i32)
                        .period(QuotaPeriodType::from(q.period.as_str()))
                        .build()
                }))
                .set_tags(Some(hash_map(&want.tags)))
                .send()
        })
        .await?;
        Ok(out.id().unwrap_or_default().to_string())
    }

    /// Usage plans, keys and stages no longer declared (unless adopting),
    /// in that order: the stages after the usage plans left them.
    async fn delete_undeclared(&self) -> Result<(), Error> {
        let (aws, id, want, snap) = (self.aws, self.id, self.want, self.snap);
        for (plan_key, (pid, _, stages, _)) in &snap.plans {
            if !want.usage_plans.contains_key(plan_key) && !self.adopting {
                delete_usage_plan(aws, id, pid, stages).await?;
            }
        }
        for (key, (kid, _)) in &snap.keys {
            if !want.keys.contains_key(key) && !self.adopting {
                delete_api_key(aws, kid).await?;
            }
        }
        for (stage, deployment) in &snap.stages {
            if Some(stage) != want.stage.as_ref() && !self.adopting {
                call_unless_gone("apigateway:DeleteStage", || {
                    aws.apigateway
                        .delete_stage()
                        .rest_api_id(id)
                        .stage_name(stage)
                        .send()
                })
                .await?;
                if !deployment.is_empty() {
                    call_unless_gone("apigateway:DeleteDeployment", || {
                        aws.apigateway
                            .delete_deployment()
                            .rest_api_id(id)
                            .deployment_id(deployment)
                            .send()
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }
}

async fn delete_method(aws: &Aws, id: &str, rid: &str, verb: &str) -> Result<(), Error> {
    call_unless_gone("apigateway:DeleteMethod", || {
        aws.apigateway
            .delete_method()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method(verb)
            .send()
    })
    .await
}

async fn put_route(
    aws: &Aws,
    id: &str,
    rid: &str,
    k: &RouteKey,
    route: &Route,
    (authorizer, validator): (Option<String>, Option<String>),
) -> Result<(), Error> {
    let authorization = match route.authorization.as_str() {
        "aws_iam" => "AWS_IAM",
        "cognito" => "COGNITO_USER_POOLS",
        _ => "NONE",
    };
    call("apigateway:PutMethod", || {
        aws.apigateway
            .put_method()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method(&k.method)
            .authorization_type(authorization)
            .set_authorizer_id(authorizer.clone())
            .api_key_required(route.api_key_required)
            .set_request_parameters((!route.request_parameters.is_empty()).then(|| {
                route
                    .request_parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            }))
            .set_request_models(
                route
                    .request_model
                    .clone()
                    .map(|m| HashMap::from([(JSON.to_string(), m)])),
            )
            .set_request_validator_id(validator.clone())
            .send()
    })
    .await?;
    let i = &route.integration;
    let mock_status = (i.kind == "mock").then(|| i.status.unwrap_or(200).to_string());
    match i.kind.as_str() {
        "lambda" | "http" => {
            let target = i.target.clone().unwrap_or_default();
            let (kind, verb, uri) = if i.kind == "lambda" {
                (
                    IntegrationType::AwsProxy,
                    "POST".to_string(),
                    api_routes::lambda_uri(&aws.region, &aws.partition, &target),
                )
            } else {
                let verb = if k.method == "ANY" {
                    "ANY".to_string()
                } else {
                    k.method.clone()
                };
                (IntegrationType::HttpProxy, verb, target)
            };
            call("apigateway:PutIntegration", || {
                aws.apigateway
                    .put_integration()
                    .rest_api_id(id)
                    .resource_id(rid)
                    .http_method(&k.method)
                    .r#type(kind.clone())
                    .integration_http_method(&verb)
                    .uri(&uri)
                    .send()
            })
            .await?;
        }
        _ => {
            let status = i.status.unwrap_or(200).to_string();
            put_mock(
                aws,
                id,
                rid,
                &k.method,
                &format!("{{\"statusCode\": {status}}}"),
                &status,
                HashMap::new(),
                i.response.clone().unwrap_or_default(),
                route.responses.get(&status).cloned(),
            )
            .await?;
        }
    }
    // The method responses that name a model (a mock's own status has its
    // response made with the mock).
    for (status, model) in &route.responses {
        if mock_status.as_ref() == Some(status) {
            continue;
        }
        put_method_response(aws, id, rid, &k.method, status, HashMap::new(), Some(model)).await?;
    }
    Ok(())
}

/// A method response, with the response headers it declares and the model
/// of its `application/json` body.
async fn put_method_response(
    aws: &Aws,
    id: &str,
    rid: &str,
    verb: &str,
    status: &str,
    declared: HashMap<String, bool>,
    model: Option<&String>,
) -> Result<(), Error> {
    call("apigateway:PutMethodResponse", || {
        aws.apigateway
            .put_method_response()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method(verb)
            .status_code(status)
            .set_response_parameters((!declared.is_empty()).then(|| declared.clone()))
            .set_response_models(model.map(|m| HashMap::from([(JSON.to_string(), m.clone())])))
            .send()
    })
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn put_mock(
    aws: &Aws,
    id: &str,
    rid: &str,
    verb: &str,
    template: &str,
    status: &str,
    headers: HashMap<String, String>,
    body: String,
    model: Option<String>,
) -> Result<(), Error> {
    call("apigateway:PutIntegration", || {
        aws.apigateway
            .put_integration()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method(verb)
            .r#type(IntegrationType::Mock)
            .request_templates(JSON, template)
            .send()
    })
    .await?;
    let declared: HashMap<String, bool> = headers.keys().map(|h| (h.clone(), false)).collect();
    put_method_response(aws, id, rid, verb, status, declared, model.as_ref()).await?;
    call("apigateway:PutIntegrationResponse", || {
        aws.apigateway
            .put_integration_response()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method(verb)
            .status_code(status)
            .selection_pattern("")
            .set_response_parameters((!headers.is_empty()).then(|| headers.clone()))
            // An empty template is stored by API Gateway as `null` (and read
            // back so); leaving it out means the same empty body.
            .set_response_templates(
                (!body.is_empty()).then(|| HashMap::from([(JSON.to_string(), body.clone())])),
            )
            .send()
    })
    .await?;
    Ok(())
}

async fn put_cors(aws: &Aws, id: &str, rid: &str, methods: &str) -> Result<(), Error> {
    call("apigateway:PutMethod", || {
        aws.apigateway
            .put_method()
            .rest_api_id(id)
            .resource_id(rid)
            .http_method("OPTIONS")
            .authorization_type("NONE")
            .send()
    })
    .await?;
    let header = |h: &str| format!("method.response.header.Access-Control-Allow-{h}");
    let headers = HashMap::from([
        (header("Headers"), CORS_ALLOW_HEADERS.to_string()),
        (header("Methods"), format!("'{methods}'")),
        (header("Origin"), "'*'".to_string()),
    ]);
    put_mock(
        aws,
        id,
        rid,
        "OPTIONS",
        CORS_TEMPLATE,
        "200",
        headers,
        String::new(),
        None,
    )
    .await
}

/// Lets API Gateway invoke the route's function (idempotent: the statement
/// id is the same every run, and "already there" is success).
async fn allow_invoke(
    aws: &Aws,
    id: &str,
    execute_arn: &str,
    key: &str,
    k: &RouteKey,
    route: &Route,
) -> Result<(), Error> {
    let function = route.integration.target.clone().unwrap_or_default();
    super::lambda_permission::add(
        aws,
        &super::lambda_permission::Statement {
            function: &function,
            id: &api_routes::permission_statement_id(id, k),
            principal: "apigateway.amazonaws.com",
            source_arn: &api_routes::permission_source_arn(execute_arn, k),
        },
        &format!("route `{key}`"),
    )
    .await
}

/// Takes back the invoke permission of a Lambda route that is deleted, or
/// now calls another function, or whose API is deleted. Best effort, as for
/// a user pool's triggers: a statement left behind names an API that no
/// longer calls the function, and only takes room in its policy.
async fn revoke_invoke(aws: &Aws, id: &str, key: &str, route: &Route) {
    let (Some(function), Ok(k)) = (route.integration.target.as_deref(), parse_route(key)) else {
        return;
    };
    if route.integration.kind != "lambda" {
        return;
    }
    let statement = api_routes::permission_statement_id(id, &k);
    if let Err(e) =
        super::lambda_permission::remove(aws, function, &statement, &format!("route `{key}`")).await
    {
        eprintln!("  warning: {e} (it only takes room in the function's policy)");
    }
}

// ---------------------------------------------------------------- delete ----

async fn delete_usage_plan(
    aws: &Aws,
    api_id: &str,
    pid: &str,
    stages: &[String],
) -> Result<(), Error> {
    // A usage plan leaves the API's stages first (AWS refuses otherwise).
    if !stages.is_empty() {
        let ops: Vec<PatchOperation> = stages
            .iter()
            .map(|s| patch(Op::Remove, "/apiStages", Some(format!("{api_id}:{s}"))))
            .collect();
        call_unless_gone("apigateway:UpdateUsagePlan", || {
            aws.apigateway
                .update_usage_plan()
                .usage_plan_id(pid)
                .set_patch_operations(Some(ops.clone()))
                .send()
        })
        .await?;
    }
    call_unless_gone("apigateway:DeleteUsagePlan", || {
        aws.apigateway.delete_usage_plan().usage_plan_id(pid).send()
    })
    .await
}

async fn delete_api_key(aws: &Aws, kid: &str) -> Result<(), Error> {
    call_unless_gone("apigateway:DeleteApiKey", || {
        aws.apigateway.delete_api_key().api_key(kid).send()
    })
    .await
}

pub(crate) async fn delete(aws: &Aws, live: &Live) -> Result<(), Error> {
    let Some(id) = live.outputs.get("id") else {
        return Ok(());
    };
    let apis = list_apis(aws).await?;
    let Some(api) = apis.into_iter().find(|a| a.id() == Some(id.as_str())) else {
        return Ok(());
    };
    // The invoke permissions its Lambda routes were given go with it (the
    // routes as read by the plan): Lambda's calls, made beside API Gateway's
    // (one after the other: they all change the function's one policy).
    let revoke = async {
        if let Ok(config) = parse(&live.attributes, &live.address) {
            for (key, route) in &config.routes {
                revoke_invoke(aws, id, key, route).await;
            }
        }
    };
    let delete = async {
        // Usage plans and keys first: AWS keeps an API that a usage plan uses.
        let tags = tags_with_store(aws, &format!("/restapis/{id}"), api.tags()).await?;
        let snap = snapshot(aws, &api, &tags, Reading::KeysAndPlans).await?;
        futures::future::try_join_all(
            snap.plans
                .values()
                .map(|(pid, _, stages, _)| delete_usage_plan(aws, id, pid, stages)),
        )
        .await?;
        futures::future::try_join_all(snap.keys.values().map(|(kid, _)| delete_api_key(aws, kid)))
            .await?;
        call_unless_gone("apigateway:DeleteRestApi", || {
            aws.apigateway.delete_rest_api().rest_api_id(id).send()
        })
        .await
    };
    let ((), deleted) = tokio::join!(revoke, delete);
    deleted
}

// ---- adopt ----

/// Notes the API's stages, usage plans and keys the stack format cannot take.
async fn adopt_parts(aws: &Aws, _stack: &str, f: &mut adopt::Found) -> Result<Vec<String>, String> {
    let name = f.attributes["name"].as_str().unwrap_or_default();
    let mut notes = Vec::new();
    for (what, item) in unmatched_parts(aws, &f.id, name)
        .await
        .map_err(|e| format!("{} (`{}`): {e}", f.address, f.id))?
    {
        notes.push(if what == "stage" {
            format!(
                "{}: stage `{item}`: the stack format has one stage per API and the first is written; `up` keeps `{item}` while adopting, but a later `up` that changes the API removes it",
                f.address
            )
        } else {
            format!(
                "{}: {what} `{item}` is attached to this API but not named `{name}-<key>`, the names the stack format gives them; it is left as it is (rename it `{name}-<key>` to adopt it with the API)",
                f.address
            )
        });
    }
    Ok(notes)
}

/// Usage plans of the API (and their keys) whose names the stack format
/// cannot give (`<api name>-<key>`), as (what, name).
async fn unmatched_parts(
    aws: &Aws,
    api_id: &str,
    api_name: &str,
) -> Result<Vec<(&'static str, String)>, String> {
    let prefix = format!("{api_name}-");
    let mut out_stages = Vec::new();
    let stages = aws
        .apigateway
        .get_stages()
        .rest_api_id(api_id)
        .send()
        .await
        .map_err(|e| Error::aws("apigateway:GetStages", &e).to_string())?;
    let mut names: Vec<&str> = stages
        .item()
        .iter()
        .filter_map(|s| s.stage_name())
        .collect();
    names.sort();
    // The stack format has one stage per API: the first is written.
    for extra in names.iter().skip(1) {
        out_stages.push(extra.to_string());
    }
    let plans = aws
        .apigateway
        .get_usage_plans()
        .limit(500)
        .send()
        .await
        .map_err(|e| Error::aws("apigateway:GetUsagePlans", &e).to_string())?;
    let mut out: Vec<(&'static str, String)> =
        out_stages.into_iter().map(|s| ("stage", s)).collect();
    for p in plans.items() {
        if !p.api_stages().iter().any(|s| s.api_id() == Some(api_id)) {
            continue;
        }
        let plan_name = p.name().unwrap_or_default();
        if !plan_name.starts_with(&prefix) {
            out.push(("usage plan", plan_name.to_string()));
        }
        let Some(pid) = p.id() else { continue };
        let keys = aws
            .apigateway
            .get_usage_plan_keys()
            .usage_plan_id(pid)
            .limit(500)
            .send()
            .await
            .map_err(|e| Error::aws("apigateway:GetUsagePlanKeys", &e).to_string())?;
        for k in keys.items() {
            let key_name = k.name().unwrap_or_default();
            if !key_name.starts_with(&prefix) {
                out.push(("API key", key_name.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The API's endpoint, stage, routes, usage plans and keys.
fn adopt_write(w: &mut adopt::Writer<'_>, f: &adopt::Found, s: &mut adopt::Section) {
    let a = &f.attributes;
    s.json("description", a.get("description"), None);
    if let Some(t) = a.get("endpoint_type").and_then(Value::as_str) {
        let t = t.to_ascii_lowercase();
        if t != "regional" {
            s.string("endpoint_type", &t);
        }
    }
    s.json("stage", a.get("stage"), None);
    s.json("stage_variables", a.get("stage_variables"), None);
    s.json("stage_throttle", a.get("stage_throttle"), None);
    super::api_models::adopt_write(w, &f.address, a.get("models"), s);
    let models: Vec<&str> = a
        .get("models")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(routes)) = a.get("routes") {
        for (route, r) in routes {
            if let Some(mut t) = adopt_route(w, &f.address, route, r) {
                super::api_models::adopt_route(w, &f.address, route, r, &models, &mut t);
                s.set_dotted(&["routes", route], toml::Value::Table(t));
            }
        }
    }
    if let Some(Value::Object(plans)) = a.get("usage_plans") {
        for (plan, p) in plans {
            let mut t = toml::Table::new();
            let known = a.get("keys").and_then(Value::as_object);
            let mut plan_keys = Vec::new();
            for k in p
                .get("keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(k) = k.as_str() else { continue };
                if known.is_some_and(|known| known.contains_key(k)) {
                    plan_keys.push(toml::Value::String(k.into()));
                } else {
                    w.note(
                        &f.address,
                        format!("usage plan `{plan}` holds API key `{k}`, which is not one of this API's keys by name; it is left out, so `up` would detach it"),
                    );
                }
            }
            if !plan_keys.is_empty() {
                t.insert("keys".into(), toml::Value::Array(plan_keys));
            }
            if let Some(v) = p.get("throttle").and_then(adopt::toml_value) {
                t.insert("throttle".into(), v);
            }
            if let Some(q) = p.get("quota").filter(|q| !q.is_null()) {
                if q.get("offset").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    w.note(
                        &f.address,
                        format!("usage plan `{plan}` has a quota offset, which the stack format cannot say; `up` would set it to 0"),
                    );
                }
                let mut qt = toml::Table::new();
                qt.insert(
                    "limit".into(),
                    toml::Value::Integer(q["limit"].as_i64().unwrap_or(0)),
                );
                qt.insert(
                    "period".into(),
                    toml::Value::String(
                        q["period"]
                            .as_str()
                            .unwrap_or_default()
                            .to_ascii_lowercase(),
                    ),
                );
                t.insert("quota".into(), toml::Value::Table(qt));
            }
            s.set_dotted(&["usage_plans", plan], toml::Value::Table(t));
        }
    }
    if let Some(Value::Object(keys)) = a.get("keys") {
        for (key, k) in keys {
            let mut t = toml::Table::new();
            if let Some(d) = k.get("description").and_then(Value::as_str) {
                t.insert("description".into(), toml::Value::String(d.into()));
            }
            if k.get("enabled") == Some(&Value::Bool(false)) {
                t.insert("enabled".into(), toml::Value::Boolean(false));
            }
            s.set_dotted(&["keys", key], toml::Value::Table(t));
        }
    }
    if a.get("stage").is_some_and(|v| !v.is_null())
        && a.get("deployment").and_then(Value::as_str) == Some(FOREIGN_DEPLOYMENT)
    {
        w.note(
            &f.address,
            "its stage's deployment was made outside this tool, and the stage's export does not show it serving the API's routes as they are now (or could not be read), so the plan shows `deployment` to change: `up` deploys the routes once more and moves the stage to that deployment".into(),
        );
    }
}

/// One route: authorization, API key, parameters, CORS and integration.
fn adopt_route(
    w: &mut adopt::Writer<'_>,
    api: &Address,
    route: &str,
    r: &Value,
) -> Option<toml::Table> {
    let mut t = toml::Table::new();
    let authorization = r["authorization"].as_str().unwrap_or("none");
    if !["none", "aws_iam", "cognito"].contains(&authorization) {
        w.note(
            api,
            format!("route `{route}` is authorized by `{authorization}`, which the stack format cannot say; it is left out"),
        );
        return None;
    }
    if authorization != "none" {
        t.insert(
            "authorization".into(),
            toml::Value::String(authorization.into()),
        );
    }
    if let Some(pool) = r.get("user_pool").and_then(Value::as_str) {
        match w.key_of(Kind::UserPool, "arn", pool) {
            Some(key) => {
                t.insert("user_pool".into(), toml::Value::String(key));
            }
            None => {
                w.note(
                    api,
                    format!("route `{route}` accepts tokens of user pool `{pool}`, which this scan did not adopt; `user_pool` names only the stack's own, so the route is left out"),
                );
                return None;
            }
        }
    }
    if r.get("api_key_required") == Some(&Value::Bool(true)) {
        t.insert("api_key_required".into(), toml::Value::Boolean(true));
    }
    if let Some(v) = r
        .get("request_parameters")
        .filter(|p| p.as_object().is_some_and(|p| !p.is_empty()))
        .and_then(adopt::toml_value)
    {
        t.insert("request_parameters".into(), v);
    }
    if r.get("cors") == Some(&Value::Bool(true)) {
        t.insert("cors".into(), toml::Value::Boolean(true));
    }
    let i = &r["integration"];
    let mut it = toml::Table::new();
    match i["type"].as_str().unwrap_or_default() {
        "lambda" => {
            let target = i["target"].as_str().unwrap_or_default();
            match w.key_of(Kind::Function, "arn", target) {
                Some(key) => it.insert("function".into(), toml::Value::String(key)),
                None => it.insert("lambda".into(), toml::Value::String(target.into())),
            };
        }
        "http" => {
            let target = i["target"].as_str().unwrap_or_default();
            it.insert("http".into(), toml::Value::String(target.into()));
        }
        "mock" => {
            let mut m = toml::Table::new();
            if let Some(status) = i["status"].as_i64().filter(|s| *s != 200) {
                m.insert("status".into(), toml::Value::Integer(status));
            }
            if let Some(response) = i["response"].as_str().filter(|r| !r.is_empty()) {
                m.insert("response".into(), toml::Value::String(response.into()));
            }
            it.insert("mock".into(), toml::Value::Table(m));
        }
        other => {
            w.note(
                api,
                format!("route `{route}` has a `{other}` integration; the stack format has Lambda proxy, HTTP proxy and mock integrations only, so the route is left out"),
            );
            return None;
        }
    }
    t.insert("integration".into(), toml::Value::Table(it));
    Some(t)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::aws::mock::mock_client;
    use aws_sdk_apigateway::operation::get_rest_apis::GetRestApisOutput;
    use aws_sdk_apigateway::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn conflict() -> aws_sdk_apigateway::operation::get_rest_apis::GetRestApisError {
        aws_sdk_apigateway::operation::get_rest_apis::GetRestApisError::generic(
            ErrorMetadata::builder()
                .code("ConflictException")
                .message("Another operation is in progress")
                .build(),
        )
    }

    struct Values(BTreeMap<String, String>);
    impl crate::stack::Lookup for Values {
        fn value(&self, r: &crate::stack::reference::Reference) -> Option<String> {
            self.0.get(&r.to_string()).cloned()
        }
    }

    fn desired_of(body: &str, values: &Values) -> Result<ApiConfig, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, format!("[stack]\nname = \"demo\"\n{body}")).unwrap();
        // Offline checks fail the load, as `validate` does.
        let stack = crate::stack::load(&file).map_err(|d| format!("{d:?}"))?;
        let address = Address::new(Kind::Api, "notes");
        let crate::stack::Spec::Api(spec) = stack.resolve_spec(&address, values)? else {
            panic!("an API")
        };
        let ctx = DesiredContext {
            stack: &stack,
            lookup: values,
            account_id: "123456789012",
            region: "us-east-1",
            partition: "aws",
        };
        let tags = stack.tags_for(&address, &spec.tags);
        let value = desired(&spec, "demo-notes", tags, &ctx)?;
        Ok(serde_json::from_value(value).unwrap())
    }

    const EXAMPLE: &str = r#"
[api.notes]
stage = "prod"
routes."POST /notes" = { authorization = "aws_iam", api_key_required = true, integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:NotesApiFunction" } }
routes."GET /search" = { authorization = "aws_iam", integration = { lambda = "arn:aws:lambda:${aws.region}:${aws.account_id}:function:SearchApiFunction" } }
usage_plans.mobile = { keys = ["ios"], throttle = { rate = 100, burst = 200 } }
"#;

    #[test]
    fn the_design_example_is_normalised_and_keys_of_usage_plans_exist() {
        let aws = Values(BTreeMap::from([
            ("aws.region".to_string(), "us-east-1".to_string()),
            ("aws.account_id".to_string(), "123456789012".to_string()),
        ]));
        let c = desired_of(EXAMPLE, &aws).expect("desired");
        assert_eq!(c.endpoint_type, "REGIONAL");
        assert_eq!(
            c.routes.keys().collect::<Vec<_>>(),
            vec!["GET /search", "POST /notes"]
        );
        let post = &c.routes["POST /notes"];
        assert!(post.api_key_required);
        assert_eq!(post.integration.kind, "lambda");
        assert_eq!(
            post.integration.target.as_deref(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:NotesApiFunction")
        );
        assert_eq!(c.stage.as_deref(), Some("prod"));
        assert_eq!(c.deployment, Some(deployment_hash(&c.routes, &c.models)));
        assert_eq!(c.usage_plans["mobile"].keys, vec!["ios"]);
        assert!(c.keys["ios"].enabled, "a key named only by a plan is made");
        assert_eq!(
            c.tags.get(crate::stack::OWNER_ID_TAG).map(String::as_str),
            Some("api.notes")
        );
        // Usage plans and keys do not change the deployment.
        let other = desired_of(&EXAMPLE.replace("rate = 100", "rate = 5"), &aws).unwrap();
        assert_eq!(other.deployment, c.deployment);
    }

    fn shown(ops: &[PatchOperation]) -> Vec<String> {
        ops.iter()
            .map(|o| {
                let op = o.op().map(|o| o.as_str()).unwrap_or_default();
                let value = o.value().map(|v| format!(" {v}")).unwrap_or_default();
                format!("{op} {}{value}", o.path().unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn patch_operations_of_a_stage_and_a_usage_plan() {
        let throttle = Throttle {
            rate: 10.0,
            burst: 20,
        };
        let quota = Quota {
            limit: 1000,
            period: "DAY".to_string(),
            offset: 0,
        };
        // The stage: variables set and removed, the throttle set.
        let want = ApiConfig {
            name: "demo-notes".to_string(),
            description: None,
            endpoint_type: "REGIONAL".to_string(),
            routes: BTreeMap::new(),
            stage: Some("prod".to_string()),
            stage_variables: BTreeMap::from([("a".to_string(), "1".to_string())]),
            stage_throttle: Some(throttle.clone()),
            deployment: None,
            models: BTreeMap::new(),
            usage_plans: BTreeMap::new(),
            keys: BTreeMap::new(),
            tags: Tags::new(),
        };
        let snap = Snapshot {
            stages: vec![("prod".to_string(), "d1".to_string())],
            stage_variables: BTreeMap::from([("b".to_string(), "2".to_string())]),
            ..Snapshot::default()
        };
        assert_eq!(
            shown(&stage_settings_ops(&want, &snap, "prod")),
            [
                "replace /variables/a 1",
                "remove /variables/b",
                "replace /*/*/throttling/rateLimit 10",
                "replace /*/*/throttling/burstLimit 20",
            ]
        );
        // Another stage than the one found: nothing of the live one's is removed.
        assert_eq!(shown(&stage_settings_ops(&want, &snap, "beta")).len(), 3);
        // A usage plan: throttle removed, quota set, moved to the one stage.
        let live = UsagePlan {
            keys: Vec::new(),
            throttle: Some(throttle),
            quota: None,
        };
        let plan = UsagePlan {
            keys: Vec::new(),
            throttle: None,
            quota: Some(quota),
        };
        let stages = ["old".to_string()];
        assert_eq!(
            shown(&usage_plan_ops("api1", &live, &plan, &stages, "prod")),
            [
                "remove /throttle",
                "replace /quota/limit 1000",
                "replace /quota/period DAY",
                "replace /quota/offset 0",
                "add /apiStages api1:prod",
                "remove /apiStages api1:old",
            ]
        );
        assert!(usage_plan_ops("api1", &plan, &plan, &["prod".to_string()], "prod").is_empty());
    }

    #[test]
    fn cognito_routes_name_the_pool_and_bad_routes_are_errors() {
        let body = r#"
[user_pool.users]
[api.notes]
stage = "prod"
routes."GET /notes" = { authorization = "cognito", user_pool = "users", integration = { mock = { status = 200 } } }
"#;
        let unknown = desired_of(body, &Values(BTreeMap::new())).unwrap();
        assert_eq!(
            unknown.deployment.as_deref(),
            Some(crate::stack::reference::UNKNOWN),
            "known after the pool exists"
        );
        let values = Values(BTreeMap::from([(
            "user_pool.users.arn".to_string(),
            "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X".to_string(),
        )]));
        let known = desired_of(body, &values).unwrap();
        assert_eq!(
            known.routes["GET /notes"].user_pool.as_deref(),
            Some("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_X")
        );
        assert_eq!(known.deployment.as_ref().map(String::len), Some(16));

        let bad = desired_of(
            &body.replace(r#"user_pool = "users", "#, ""),
            &Values(BTreeMap::new()),
        );
        assert!(bad.unwrap_err().contains("needs `user_pool"));
        let two = desired_of(
            &EXAMPLE.replace(
                "integration = { lambda = \"arn:aws:lambda:${aws.region}:${aws.account_id}:function:SearchApiFunction\" }",
                "integration = { http = \"https://x\", mock = {} }",
            ),
            &Values(BTreeMap::new()),
        );
        assert!(two.unwrap_err().contains("exactly one"));
    }

    #[test]
    fn validate_rejects_bad_routes_offline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(
            &file,
            "[stack]\nname = \"demo\"\n[api.notes]\nroutes.\"FETCH /notes\" = { integration = { mock = {} } }\n",
        )
        .unwrap();
        let err = crate::stack::load(&file).expect_err("a bad method");
        assert!(format!("{err:?}").contains("FETCH"), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_then_succeed() {
        let busy = mock!(Client::get_rest_apis)
            .sequence()
            .error(conflict)
            .times(2)
            .output(|| GetRestApisOutput::builder().build())
            .build();
        let aws = Aws {
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&busy]),
            ..Aws::for_tests()
        };
        let apis = list_apis(&aws).await.expect("retried past the conflicts");
        assert!(apis.is_empty());
        assert_eq!(busy.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_a_bounded_number_of_times() {
        let busy = mock!(Client::get_rest_apis)
            .sequence()
            .error(conflict)
            .times(CONFLICT_RETRY_ATTEMPTS as usize + 5)
            .build();
        let aws = Aws {
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::Sequential, [&busy]),
            ..Aws::for_tests()
        };
        let err = list_apis(&aws).await.expect_err("gives up");
        assert!(
            matches!(&err, Error::Aws { code: Some(c), .. } if c == "ConflictException"),
            "{err}"
        );
        assert_eq!(busy.num_calls(), CONFLICT_RETRY_ATTEMPTS as usize);
    }

    #[test]
    fn mock_integration_and_cors_read_back() {
        let cors = aws_sdk_apigateway::types::Method::builder()
            .method_integration(
                aws_sdk_apigateway::types::Integration::builder()
                    .r#type(IntegrationType::Mock)
                    .request_templates(JSON, CORS_TEMPLATE)
                    .build(),
            )
            .build();
        assert!(is_cors_method(&cors));
        let lambda = aws_sdk_apigateway::types::Method::builder()
            .method_integration(
                aws_sdk_apigateway::types::Integration::builder()
                    .r#type(IntegrationType::AwsProxy)
                    .uri(api_routes::lambda_uri("us-east-1", "aws", "arn:fn"))
                    .passthrough_behavior("WHEN_NO_MATCH")
                    .timeout_in_millis(29000)
                    .build(),
            )
            .build();
        assert!(!is_cors_method(&lambda));
        let i = integration_of(&lambda);
        assert_eq!(i.kind, "lambda");
        assert_eq!(i.target.as_deref(), Some("arn:fn"));
    }

    /// The calls of one snapshot of an API with `POST /notes` (IAM, API key,
    /// Lambda proxy) whose stage `prod` serves deployment `d1`, described
    /// `description`, and whose export is `export`.
    fn adopted_api(
        description: Option<&'static str>,
        export: Result<Value, &'static str>,
    ) -> Vec<aws_smithy_mocks::Rule> {
        use aws_sdk_apigateway::operation::{
            get_api_keys::GetApiKeysOutput, get_authorizers::GetAuthorizersOutput,
            get_deployment::GetDeploymentOutput, get_export::GetExportError,
            get_export::GetExportOutput, get_resources::GetResourcesOutput,
            get_stages::GetStagesOutput, get_usage_plans::GetUsagePlansOutput,
        };
        use aws_sdk_apigateway::types::{Integration as AwsIntegration, Method, Resource, Stage};
        let resources = mock!(Client::get_resources).then_output(|| {
            let post = Method::builder()
                .http_method("POST")
                .authorization_type("AWS_IAM")
                .api_key_required(true)
                .method_integration(
                    AwsIntegration::builder()
                        .r#type(IntegrationType::AwsProxy)
                        .uri(api_routes::lambda_uri("us-east-1", "aws", FUNCTION))
                        .build(),
                )
                .build();
            GetResourcesOutput::builder()
                .items(Resource::builder().id("r0").path("/").build())
                .items(
                    Resource::builder()
                        .id("r1")
                        .path("/notes")
                        .resource_methods("POST", post)
                        .build(),
                )
                .build()
        });
        let stages = mock!(Client::get_stages).then_output(|| {
            GetStagesOutput::builder()
                .item(
                    Stage::builder()
                        .stage_name("prod")
                        .deployment_id("d1")
                        .build(),
                )
                .build()
        });
        let deployment = mock!(Client::get_deployment)
            .match_requests(|r| r.deployment_id() == Some("d1"))
            .then_output(move || {
                GetDeploymentOutput::builder()
                    .id("d1")
                    .set_description(description.map(str::to_string))
                    .build()
            });
        let export = match export {
            Ok(doc) => mock!(Client::get_export)
                .match_requests(|r| {
                    r.stage_name() == Some("prod")
                        && r.export_type() == Some("oas30")
                        && r.parameters()
                            .and_then(|p| p.get("extensions"))
                            .is_some_and(|e| e == "integrations,authorizers")
                })
                .then_output(move || {
                    GetExportOutput::builder()
                        .body(aws_smithy_types::Blob::new(doc.to_string()))
                        .build()
                }),
            Err(code) => mock!(Client::get_export).then_error(move || {
                GetExportError::generic(ErrorMetadata::builder().code(code).build())
            }),
        };
        vec![
            resources,
            stages,
            deployment,
            export,
            mock!(Client::get_authorizers).then_output(|| GetAuthorizersOutput::builder().build()),
            mock!(Client::get_api_keys).then_output(|| GetApiKeysOutput::builder().build()),
            mock!(Client::get_usage_plans).then_output(|| GetUsagePlansOutput::builder().build()),
            mock!(Client::get_models).then_output(built_in_models),
            mock!(Client::get_request_validators).then_output(|| {
                aws_sdk_apigateway::operation::get_request_validators::GetRequestValidatorsOutput::builder().build()
            }),
        ]
    }

    /// The draft 4 schemas of the models API Gateway makes in every REST API.
    pub(crate) const EMPTY_SCHEMA: &str = "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}";
    pub(crate) const ERROR_SCHEMA: &str = "{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}";

    /// `GetModels` of a REST API with only the built-in models, as AWS answers it.
    pub(crate) fn built_in_models() -> aws_sdk_apigateway::operation::get_models::GetModelsOutput {
        use aws_sdk_apigateway::types::Model;
        aws_sdk_apigateway::operation::get_models::GetModelsOutput::builder()
            .items(
                Model::builder()
                    .id("m1")
                    .name("Error")
                    .description("This is a default error schema model")
                    .content_type(JSON)
                    .schema(ERROR_SCHEMA)
                    .build(),
            )
            .items(
                Model::builder()
                    .id("m2")
                    .name("Empty")
                    .description("This is a default empty schema model")
                    .content_type(JSON)
                    .schema(EMPTY_SCHEMA)
                    .build(),
            )
            .build()
    }

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:notes";

    /// `POST /notes` as API Gateway exports it, with the security schemes named.
    fn export_of(security: Value) -> Value {
        serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "notes", "version": "1"},
            "paths": {"/notes": {"post": {
                "responses": {"200": {"description": "200 response"}},
                "security": security,
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy", "httpMethod": "POST",
                    "uri": api_routes::lambda_uri("us-east-1", "aws", FUNCTION)
                }
            }}},
            "components": {"securitySchemes": {
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-amazon-apigateway-authtype": "awsSigv4"},
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
            }}
        })
    }

    async fn snapshot_of(rules: &[aws_smithy_mocks::Rule]) -> Snapshot {
        let aws = Aws {
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        let api = RestApi::builder().id("a1").name("notes").build();
        snapshot(&aws, &api, &Tags::new(), Reading::Apply)
            .await
            .unwrap_or_else(|e| panic!("snapshot failed: {e}"))
    }

    #[tokio::test]
    async fn a_hand_made_deployment_whose_export_is_the_routes_is_current() {
        let rules = adopted_api(
            None,
            Ok(export_of(serde_json::json!([{"sigv4": [], "api_key": []}]))),
        );
        let snap = snapshot_of(&rules).await;
        assert_eq!(
            snap.deployment,
            Some(deployment_hash(&snap.routes, &snap.models)),
            "the stage serves the API's routes, so nothing is to deploy"
        );
        assert_eq!(snap.relabel.as_deref(), Some("d1"));
        assert_eq!(rules[3].num_calls(), 1, "one GetExport");
    }

    #[tokio::test]
    async fn a_hand_made_deployment_that_serves_other_routes_is_deployed_again() {
        // Deployed before the route required IAM: the stage is stale.
        let rules = adopted_api(None, Ok(export_of(serde_json::json!([{"api_key": []}]))));
        let snap = snapshot_of(&rules).await;
        assert_eq!(snap.deployment.as_deref(), Some(FOREIGN_DEPLOYMENT));
        assert_eq!(snap.relabel, None);
    }

    #[tokio::test]
    async fn a_stage_that_cannot_be_exported_is_deployed_again() {
        for code in ["BadRequestException", "AccessDeniedException"] {
            let rules = adopted_api(None, Err(code));
            let snap = snapshot_of(&rules).await;
            assert_eq!(
                snap.deployment.as_deref(),
                Some(FOREIGN_DEPLOYMENT),
                "{code}"
            );
            assert_eq!(snap.relabel, None, "{code}");
        }
    }

    #[tokio::test]
    async fn a_deployment_of_this_tool_is_known_by_its_label_without_an_export() {
        let rules = adopted_api(
            Some("mobile-backend:0123456789abcdef"),
            Err("BadRequestException"),
        );
        let snap = snapshot_of(&rules).await;
        assert_eq!(snap.deployment.as_deref(), Some("0123456789abcdef"));
        assert_eq!(snap.relabel, None);
        assert_eq!(rules[3].num_calls(), 0, "no GetExport");
    }

    /// An API of the stack with a mock route that has no response and a
    /// route with `cors = true`, as API Gateway answers it on the wire: the
    /// empty templates the tool once sent (and that the console sends) read
    /// back as `null` (aws/aws-cli#1610).
    const NULLS_STACK: &str = r#"
[api.notes]
stage = "prod"
routes."GET /health" = { integration = { mock = { status = 200 } } }
routes."GET /notes" = { cors = true, integration = { http = "https://example.com/notes" } }
"#;

    /// API Gateway answering on the wire for the API of `NULLS_STACK` (id
    /// `a1`, deployed to `prod` as `d1`): made by this tool (ownership tags,
    /// the deployment labelled `label`) or by hand in the console (`None`: no
    /// tags, no label, and no export to prove the deployment by).
    pub(crate) fn wire_api_gateway(
        label: Option<String>,
    ) -> impl Fn(&str, &str) -> crate::aws::mock::Wire {
        use crate::aws::mock::Wire;
        let cors_template = serde_json::to_string(CORS_TEMPLATE).unwrap();
        let allow = |h: &str| format!("method.response.header.Access-Control-Allow-{h}");
        let cors_out = serde_json::json!({
            allow("Headers"): CORS_ALLOW_HEADERS,
            allow("Methods"): "'GET,OPTIONS'",
            allow("Origin"): "'*'",
        });
        let cors_in = serde_json::json!({
            allow("Headers"): false, allow("Methods"): false, allow("Origin"): false,
        });
        let resources = format!(
            r#"{{"item": [
              {{"id": "r0", "path": "/"}},
              {{"id": "r1", "path": "/health", "parentId": "r0", "pathPart": "health",
                "resourceMethods": {{"GET": {{
                  "httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": false,
                  "requestParameters": null, "requestModels": null,
                  "methodResponses": {{"200": {{"statusCode": "200", "responseModels": null, "responseParameters": null}}}},
                  "methodIntegration": {{
                    "type": "MOCK", "passthroughBehavior": "WHEN_NO_MATCH", "timeoutInMillis": 29000,
                    "cacheNamespace": "r1", "cacheKeyParameters": [],
                    "requestTemplates": {{"application/json": "{{\"statusCode\": 200}}"}},
                    "integrationResponses": {{"200": {{"statusCode": "200", "selectionPattern": "",
                      "responseTemplates": {{"application/json": null}}, "responseParameters": null}}}}
                  }}
                }}}}
              }},
              {{"id": "r2", "path": "/notes", "parentId": "r0", "pathPart": "notes",
                "resourceMethods": {{
                  "GET": {{
                    "httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": false,
                    "methodIntegration": {{
                      "type": "HTTP_PROXY", "httpMethod": "ANY", "uri": "https://example.com/notes",
                      "connectionType": "INTERNET", "passthroughBehavior": "WHEN_NO_MATCH",
                      "timeoutInMillis": 29000, "cacheNamespace": "r2", "cacheKeyParameters": [],
                      "requestTemplates": null, "integrationResponses": null
                    }}
                  }},
                  "OPTIONS": {{
                    "httpMethod": "OPTIONS", "authorizationType": "NONE", "apiKeyRequired": false,
                    "methodResponses": {{"200": {{"statusCode": "200", "responseParameters": {cors_in},
                      "responseModels": {{"application/json": null}}}}}},
                    "methodIntegration": {{
                      "type": "MOCK", "passthroughBehavior": "WHEN_NO_MATCH", "timeoutInMillis": 29000,
                      "cacheNamespace": "r2", "cacheKeyParameters": [],
                      "requestTemplates": {{"application/json": {cors_template}}},
                      "integrationResponses": {{"200": {{"statusCode": "200", "selectionPattern": "",
                        "responseParameters": {cors_out},
                        "responseTemplates": {{"application/json": null}}}}}}
                    }}
                  }}
                }}
              }}
            ]}}"#
        );
        move |method, path| {
            assert_eq!(method, "GET", "only reads: {path}");
            let path = path.split('?').next().unwrap_or(path);
            match path {
                "/restapis" => Wire::json(
                    serde_json::json!({"item": [{"id": "a1", "name": "demo-notes", "createdDate": 1.7e9,
                        "endpointConfiguration": {"types": ["REGIONAL"]}, "binaryMediaTypes": null,
                        "tags": if label.is_some() {
                            serde_json::json!({"mobile-backend:stack": "demo", "mobile-backend:id": "api.notes"})
                        } else {
                            serde_json::Value::Null
                        }}]})
                    .to_string(),
                ),
                tags if tags.starts_with("/tags/") => Wire::json(r#"{"tags": {}}"#),
                "/restapis/a1/resources" => Wire::json(resources.clone()),
                "/restapis/a1/authorizers" => Wire::json(r#"{"item": []}"#),
                "/restapis/a1/models" => Wire::json(
                    serde_json::json!({"item": [
                        {"id": "m1", "name": "Error", "contentType": "application/json",
                         "description": "This is a default error schema model", "schema": ERROR_SCHEMA},
                        {"id": "m2", "name": "Empty", "contentType": "application/json",
                         "description": "This is a default empty schema model", "schema": EMPTY_SCHEMA}
                    ]})
                    .to_string(),
                ),
                "/restapis/a1/requestvalidators" => Wire::json(r#"{"item": []}"#),
                "/restapis/a1/stages" => Wire::json(
                    r#"{"item": [{"stageName": "prod", "deploymentId": "d1",
                        "methodSettings": {}, "variables": null, "tags": null}]}"#,
                ),
                "/restapis/a1/deployments/d1" => Wire::json(
                    serde_json::json!({"id": "d1", "description": label.clone()}).to_string(),
                ),
                // A console export of such an API is its own document; not
                // proving the deployment only means one redeploy.
                "/restapis/a1/stages/prod/exports/oas30" => {
                    Wire::error(400, "BadRequestException", "export not available")
                }
                "/apikeys" | "/usageplans" => Wire::json(r#"{"item": []}"#),
                other => Wire::error(404, "NotFoundException", &format!("no {other}")),
            }
        }
    }

    /// The tool's clients with API Gateway answering as `wire_api_gateway`
    /// does, through the tool's own null-dropping layer.
    fn wire_aws(label: Option<String>) -> Aws {
        Aws {
            apigateway: crate::aws::mock::wire_client!(
                aws_sdk_apigateway,
                crate::aws::nulls::NullsDropped::client(crate::aws::mock::WireAnswers::client(
                    wire_api_gateway(label)
                ))
            ),
            ..Aws::for_tests()
        }
    }

    fn notes_target<'a>(address: &'a Address, adopt: Option<&'a str>) -> Target<'a> {
        Target {
            stack: "demo",
            address,
            name: "demo-notes",
            parent: None,
            spec: None,
            adopt,
            dir: None,
            plan: None,
        }
    }

    #[tokio::test]
    async fn null_templates_on_the_wire_read_as_the_stack_that_made_them() {
        let desired = desired_of(NULLS_STACK, &Values(BTreeMap::new())).unwrap();
        let label = format!(
            "{}{}",
            api_routes::DEPLOYMENT_PREFIX,
            deployment_hash(&desired.routes, &desired.models)
        );
        let aws = wire_aws(Some(label));
        let address = Address::new(Kind::Api, "notes");
        let live = read(&aws, &notes_target(&address, None))
            .await
            .unwrap_or_else(|e| panic!("the read failed: {e}"))
            .expect("the API is found");
        let want = serde_json::to_value(&desired).unwrap();
        assert_eq!(
            crate::plan::diff(crate::resource::ResourceType::Api, &live.attributes, &want),
            vec![],
            "no change: the nulls are the empty templates the stack means"
        );
    }

    #[tokio::test]
    async fn an_api_made_by_hand_with_null_templates_is_planned_for_adoption() {
        let desired = desired_of(NULLS_STACK, &Values(BTreeMap::new())).unwrap();
        let aws = wire_aws(None);
        let address = Address::new(Kind::Api, "notes");
        let live = read(&aws, &notes_target(&address, Some("a1")))
            .await
            .unwrap_or_else(|e| panic!("the read failed: {e}"))
            .expect("the API to adopt is found");
        let want = serde_json::to_value(&desired).unwrap();
        let changed: Vec<String> =
            crate::plan::diff(crate::resource::ResourceType::Api, &live.attributes, &want)
                .into_iter()
                .map(|c| c.path)
                .collect();
        // The routes read as declared; what adopting adds is the ownership
        // tags, and one deployment (the stage's could not be proven).
        assert_eq!(
            changed,
            [
                "deployment",
                "tags.mobile-backend:id",
                "tags.mobile-backend:stack"
            ]
        );
    }

    #[tokio::test]
    async fn without_dropping_nulls_the_sdk_cannot_read_such_an_api() {
        // Pins why `NullsDropped` exists (smithy-rs#2239): the SDK refuses a
        // null in a dense map. When an SDK release reads them, this fails
        // and the layer can go.
        let client = crate::aws::mock::wire_client!(
            aws_sdk_apigateway,
            crate::aws::mock::WireAnswers::client(wire_api_gateway(None))
        );
        let err = client
            .get_resources()
            .rest_api_id("a1")
            .embed("methods")
            .send()
            .await
            .expect_err("a null in a dense map");
        let text = format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&err)
        );
        assert!(text.contains("null"), "{text}");
    }

    // ------------------------------------------------- AWS's defaults ----

    /// AWS's answer for an API with one Lambda route, a stage and a usage
    /// plan with a quota (see `resource/aws_defaults.rs`), as `create` makes
    /// it: the REST API (REGIONAL, tagged), the method (no authorization, no
    /// API key) with its `AWS_PROXY` integration, a deployment described with
    /// the routes' hash, the stage, the key and the plan (tagged like the
    /// API), echoed; with what API Gateway fills in itself: on the
    /// integration `passthroughBehavior` WHEN_NO_MATCH, `timeoutInMillis`
    /// 29000, `connectionType` INTERNET and `cacheNamespace` = the resource
    /// id (terraform-provider-aws `integration.go`: Optional + Computed or
    /// defaulted so), the API's `apiKeySource` HEADER, the stage's empty
    /// `methodSettings`, no cache cluster and no tracing, and the quota's
    /// `offset` 0 (absent on the wire), and the built-in `Empty` and `Error`
    /// models every REST API has.
    pub(crate) async fn aws_defaults() -> Vec<crate::resource::aws_defaults::Case> {
        use aws_sdk_apigateway::operation::{
            get_api_keys::GetApiKeysOutput, get_authorizers::GetAuthorizersOutput,
            get_deployment::GetDeploymentOutput, get_resources::GetResourcesOutput,
            get_stages::GetStagesOutput, get_usage_plan_keys::GetUsagePlanKeysOutput,
            get_usage_plans::GetUsagePlansOutput,
        };
        use aws_sdk_apigateway::types::{
            ApiKey, ApiKeySourceType, CacheClusterStatus, ConnectionType,
            Integration as AwsIntegration, Method, Resource, Stage, UsagePlan as AwsUsagePlan,
            UsagePlanKey,
        };
        const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:notes";
        let m = crate::resource::aws_defaults::Minimal::load(
            &format!(
                r#"[api.notes]
stage = "prod"
routes."GET /notes" = {{ integration = {{ lambda = "{FUNCTION}" }} }}
usage_plans.mobile = {{ keys = ["ios"], quota = {{ limit = 1000, period = "month" }} }}
"#
            ),
            "api.notes",
            &[],
        );
        let tags = hash_map(&m.tags());
        let hash = m.desired["deployment"]
            .as_str()
            .expect("a deployment")
            .to_string();
        let created = aws_smithy_types::DateTime::from_secs(0);
        let apis = {
            let tags = tags.clone();
            mock!(Client::get_rest_apis).then_output(move || {
                GetRestApisOutput::builder()
                    .items(
                        RestApi::builder()
                            .id("a1")
                            .name("demo-notes")
                            .created_date(created)
                            .root_resource_id("r0")
                            .api_key_source(ApiKeySourceType::Header)
                            .endpoint_configuration(
                                EndpointConfiguration::builder()
                                    .types(EndpointType::Regional)
                                    .build(),
                            )
                            .disable_execute_api_endpoint(false)
                            .set_tags(Some(tags.clone()))
                            .build(),
                    )
                    .build()
            })
        };
        let resources = mock!(Client::get_resources).then_output(|| {
            let get = Method::builder()
                .http_method("GET")
                .authorization_type("NONE")
                .api_key_required(false)
                .method_integration(
                    AwsIntegration::builder()
                        .r#type(IntegrationType::AwsProxy)
                        .http_method("POST")
                        .uri(api_routes::lambda_uri("us-east-1", "aws", FUNCTION))
                        // Filled in by API Gateway.
                        .passthrough_behavior("WHEN_NO_MATCH")
                        .timeout_in_millis(29000)
                        .connection_type(ConnectionType::Internet)
                        .cache_namespace("r1")
                        .set_cache_key_parameters(Some(vec![]))
                        .build(),
                )
                .build();
            GetResourcesOutput::builder()
                .items(Resource::builder().id("r0").path("/").build())
                .items(
                    Resource::builder()
                        .id("r1")
                        .parent_id("r0")
                        .path_part("notes")
                        .path("/notes")
                        .resource_methods("GET", get)
                        .build(),
                )
                .build()
        });
        let authorizers =
            mock!(Client::get_authorizers).then_output(|| GetAuthorizersOutput::builder().build());
        // The built-in `Empty` and `Error` models every REST API has.
        let models = mock!(Client::get_models).then_output(built_in_models);
        let stages = mock!(Client::get_stages).then_output(move || {
            GetStagesOutput::builder()
                .item(
                    Stage::builder()
                        .stage_name("prod")
                        .deployment_id("d1")
                        .created_date(created)
                        .last_updated_date(created)
                        // Filled in by API Gateway.
                        .set_method_settings(Some(HashMap::new()))
                        .cache_cluster_enabled(false)
                        .cache_cluster_status(CacheClusterStatus::NotAvailable)
                        .tracing_enabled(false)
                        .build(),
                )
                .build()
        });
        let deployment = mock!(Client::get_deployment).then_output(move || {
            GetDeploymentOutput::builder()
                .id("d1")
                .description(format!("{DEPLOYMENT_PREFIX}{hash}"))
                .created_date(created)
                .build()
        });
        let keys = {
            let tags = tags.clone();
            mock!(Client::get_api_keys).then_output(move || {
                GetApiKeysOutput::builder()
                    .items(
                        ApiKey::builder()
                            .id("k1")
                            .name("demo-notes-ios")
                            .enabled(true)
                            .created_date(created)
                            .last_updated_date(created)
                            .stage_keys("a1/prod")
                            .set_tags(Some(tags.clone()))
                            .build(),
                    )
                    .build()
            })
        };
        let plans = mock!(Client::get_usage_plans).then_output(move || {
            GetUsagePlansOutput::builder()
                .items(
                    AwsUsagePlan::builder()
                        .id("p1")
                        .name("demo-notes-mobile")
                        .api_stages(ApiStage::builder().api_id("a1").stage("prod").build())
                        .quota(
                            QuotaSettings::builder()
                                .limit(1000)
                                .period(QuotaPeriodType::Month)
                                .build(),
                        )
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .build()
        });
        let plan_keys = mock!(Client::get_usage_plan_keys).then_output(|| {
            GetUsagePlanKeysOutput::builder()
                .items(
                    UsagePlanKey::builder()
                        .id("k1")
                        .r#type("API_KEY")
                        .name("demo-notes-ios")
                        .build(),
                )
                .build()
        });
        let aws = Aws {
            apigateway: mock_client!(
                aws_sdk_apigateway,
                RuleMode::MatchAny,
                [
                    &apis,
                    &resources,
                    &authorizers,
                    &models,
                    &stages,
                    &deployment,
                    &keys,
                    &plans,
                    &plan_keys
                ]
            ),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        vec![
            m.case(
                "an API with a Lambda route, a stage and a usage plan with a quota",
                live,
            ),
            models_case().await,
        ]
    }

    /// The stack's models, as files beside it.
    const MODEL_FILES: &[(&str, &str)] = &[
        (
            "api/create-note-request.json",
            r#"{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                "required": ["headline", "text"],
                "properties": {"headline": {"type": "string", "minLength": 1},
                               "text": {"type": "string", "minLength": 1}}}"#,
        ),
        (
            "api/create-note-response.json",
            r#"{"type": "object", "properties": {"noteId": {"type": "string"}}}"#,
        ),
    ];

    const MODELS_STACK: &str = r#"[api.notes]
stage = "prod"
models.CreateNoteRequest = "api/create-note-request.json"
models.CreateNoteResponse = "api/create-note-response.json"
routes."POST /notes" = { request_model = "CreateNoteRequest", validate = "body", responses."200" = "CreateNoteResponse", integration = { mock = { status = 200 } } }
"#;

    #[test]
    fn models_are_parsed_and_an_edit_of_one_redeploys() {
        use crate::resource::aws_defaults::Minimal;
        let a = Minimal::load_with_files(MODELS_STACK, "api.notes", &[], MODEL_FILES);
        let want = &a.desired;
        assert_eq!(
            want["models"]["CreateNoteRequest"]["required"],
            serde_json::json!(["headline", "text"])
        );
        let post = &want["routes"]["POST /notes"];
        assert_eq!(post["request_model"], "CreateNoteRequest");
        assert_eq!(post["validate"], "body");
        assert_eq!(post["responses"]["200"], "CreateNoteResponse");
        // The same document written otherwise is the same model.
        let mut reformatted = MODEL_FILES.to_vec();
        reformatted[1].1 = "{\n  \"properties\": {\"noteId\": {\"type\": \"string\"}},\n  \"type\": \"object\"\n}\n";
        let same = Minimal::load_with_files(MODELS_STACK, "api.notes", &[], &reformatted);
        assert_eq!(same.desired, a.desired);
        // An edited schema: the model changes, and the stage is redeployed.
        let mut edited = MODEL_FILES.to_vec();
        edited[1].1 = r#"{"type": "object", "required": ["noteId"], "properties": {"noteId": {"type": "string"}}}"#;
        let b = Minimal::load_with_files(MODELS_STACK, "api.notes", &[], &edited);
        let mut changes: Vec<String> =
            crate::plan::diff(crate::resource::ResourceType::Api, &a.desired, &b.desired)
                .into_iter()
                .map(|c| c.path)
                .collect();
        changes.sort();
        assert_eq!(
            changes,
            ["deployment", "models.CreateNoteResponse.required"],
            "{changes:?}"
        );
        let paths: Vec<&str> = changes.iter().map(String::as_str).collect();
        let reason = ApiKind::update_reason(&paths).expect("a redeploy");
        assert!(reason.contains("models"), "{reason}");
    }

    /// `POST /notes` of [`MODELS_STACK`] as AWS embeds it in `GetResources`.
    fn models_method() -> aws_sdk_apigateway::types::Method {
        use aws_sdk_apigateway::types::{
            Integration as AwsIntegration, IntegrationResponse, Method, MethodResponse,
        };
        Method::builder()
            .http_method("POST")
            .authorization_type("NONE")
            .api_key_required(false)
            .request_models(JSON, "CreateNoteRequest")
            .request_validator_id("v1")
            .method_responses(
                "200",
                MethodResponse::builder()
                    .status_code("200")
                    .response_models(JSON, "CreateNoteResponse")
                    .build(),
            )
            .method_integration(
                AwsIntegration::builder()
                    .r#type(IntegrationType::Mock)
                    .request_templates(JSON, "{\"statusCode\": 200}")
                    .passthrough_behavior("WHEN_NO_MATCH")
                    .timeout_in_millis(29000)
                    .cache_namespace("r1")
                    .integration_responses(
                        "200",
                        IntegrationResponse::builder()
                            .status_code("200")
                            .selection_pattern("")
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    /// AWS's answer for an API with two models and a `POST /notes` whose
    /// body is validated against one and whose 200 response names the other,
    /// as `create` makes it: `GetModels` lists the built-in `Empty` and
    /// `Error` too and gives each schema back as the text sent (compact JSON
    /// here; compared parsed), the method names the model for
    /// `application/json` and the validator by id, `GetRequestValidators`
    /// has the one validator (`body`: body only), and the mock's method
    /// response names the response model.
    async fn models_case() -> crate::resource::aws_defaults::Case {
        use aws_sdk_apigateway::operation::{
            get_api_keys::GetApiKeysOutput, get_authorizers::GetAuthorizersOutput,
            get_deployment::GetDeploymentOutput,
            get_request_validators::GetRequestValidatorsOutput, get_resources::GetResourcesOutput,
            get_stages::GetStagesOutput, get_usage_plans::GetUsagePlansOutput,
        };
        use aws_sdk_apigateway::types::{Model, RequestValidator, Resource, Stage};
        let m = crate::resource::aws_defaults::Minimal::load_with_files(
            MODELS_STACK,
            "api.notes",
            &[],
            MODEL_FILES,
        );
        let tags = hash_map(&m.tags());
        let hash = m.desired["deployment"]
            .as_str()
            .expect("a hash")
            .to_string();
        let compact = |i: usize| {
            let doc: Value = serde_json::from_str(MODEL_FILES[i].1).expect("JSON");
            doc.to_string()
        };
        let (request, response) = (compact(0), compact(1));
        let apis = mock!(Client::get_rest_apis).then_output(move || {
            GetRestApisOutput::builder()
                .items(
                    RestApi::builder()
                        .id("a1")
                        .name("demo-notes")
                        .root_resource_id("r0")
                        .endpoint_configuration(
                            EndpointConfiguration::builder()
                                .types(EndpointType::Regional)
                                .build(),
                        )
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .build()
        });
        let resources = mock!(Client::get_resources).then_output(|| {
            let post = models_method();
            GetResourcesOutput::builder()
                .items(Resource::builder().id("r0").path("/").build())
                .items(
                    Resource::builder()
                        .id("r1")
                        .parent_id("r0")
                        .path_part("notes")
                        .path("/notes")
                        .resource_methods("POST", post)
                        .build(),
                )
                .build()
        });
        let models = mock!(Client::get_models).then_output(move || {
            let mut out = built_in_models();
            for (id, name, schema) in [
                ("m3", "CreateNoteRequest", &request),
                ("m4", "CreateNoteResponse", &response),
            ] {
                out.items.get_or_insert_with(Vec::new).push(
                    Model::builder()
                        .id(id)
                        .name(name)
                        .content_type(JSON)
                        .schema(schema.as_str())
                        .build(),
                );
            }
            out
        });
        let validators = mock!(Client::get_request_validators).then_output(|| {
            GetRequestValidatorsOutput::builder()
                .items(
                    RequestValidator::builder()
                        .id("v1")
                        .name("body")
                        .validate_request_body(true)
                        .validate_request_parameters(false)
                        .build(),
                )
                .build()
        });
        let stages = mock!(Client::get_stages).then_output(|| {
            GetStagesOutput::builder()
                .item(
                    Stage::builder()
                        .stage_name("prod")
                        .deployment_id("d1")
                        .build(),
                )
                .build()
        });
        let deployment = mock!(Client::get_deployment).then_output(move || {
            GetDeploymentOutput::builder()
                .id("d1")
                .description(format!("{DEPLOYMENT_PREFIX}{hash}"))
                .build()
        });
        let rules = [
            apis,
            resources,
            models,
            validators,
            stages,
            deployment,
            mock!(Client::get_authorizers).then_output(|| GetAuthorizersOutput::builder().build()),
            mock!(Client::get_api_keys).then_output(|| GetApiKeysOutput::builder().build()),
            mock!(Client::get_usage_plans).then_output(|| GetUsagePlansOutput::builder().build()),
        ];
        let aws = Aws {
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, rules.iter()),
            ..Aws::for_tests()
        };
        let live = read(&aws, &m.target(None)).await.expect("read");
        assert_eq!(
            rules[3].num_calls(),
            1,
            "one GetRequestValidators: a method names one"
        );
        assert_eq!(rules[2].num_calls(), 1, "one GetModels");
        m.case(
            "an API with models, a validated request body and a response model",
            live,
        )
    }

    // ---- adopt ----

    #[test]
    fn an_api_is_written_with_routes_stage_keys_and_plans() {
        use crate::adopt::render;
        use crate::adopt::tests::{ctx, found};
        use serde_json::json;
        let pool = found(
            "user_pool.users",
            "us-east-1_P",
            json!({"name": "users", "username_attributes": [], "alias_attributes": [],
                "attributes": {}, "new_attributes": {}, "auto_verified_attributes": [], "mfa": "off",
                "password_policy": {"min_length": 8, "require_uppercase": true, "require_lowercase": true,
                    "require_numbers": true, "require_symbols": true, "temporary_password_validity_days": 7},
                "triggers": {}, "trigger_permissions": [], "email_verification_subject": null,
                "email_verification_message": null, "sms_verification_message": null,
                "deletion_protection": false, "tags": {}}),
            &[
                (
                    "arn",
                    "arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_P",
                ),
                ("id", "us-east-1_P"),
            ],
        );
        let route = |auth: &str, pool: Option<&str>, integration: Value| {
            json!({"authorization": auth, "user_pool": pool, "api_key_required": auth == "aws_iam",
                "request_parameters": {}, "cors": false, "integration": integration})
        };
        let api = found(
            "api.notes",
            "abc123",
            json!({"name": "Notes", "endpoint_type": "EDGE", "stage": "prod",
                "stage_variables": {}, "deployment": crate::resource::api::FOREIGN_DEPLOYMENT,
                "routes": {
                    "POST /notes": route("aws_iam", None, json!({"type": "lambda", "target": "arn:aws:lambda:us-east-1:1:function:f"})),
                    "GET /me": route("cognito", Some("arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_P"), json!({"type": "mock", "status": 200, "response": "{}"})),
                    "GET /other": route("cognito", Some("arn:aws:cognito-idp:us-east-1:1:userpool/elsewhere"), json!({"type": "mock", "status": 200, "response": ""})),
                    "GET /vpc": route("none", None, json!({"type": "http", "target": "https://example.com"})),
                    "GET /aws": route("none", None, json!({"type": "aws", "target": "arn:aws:apigateway:x"}))
                },
                "usage_plans": {"mobile": {"keys": ["ios", "legacy"], "throttle": {"rate": 10.0, "burst": 20},
                    "quota": {"limit": 1000, "period": "DAY", "offset": 0}}},
                "keys": {"ios": {"enabled": true}, "old": {"enabled": false, "description": "retired"}},
                "tags": {}}),
            &[("id", "abc123")],
        );
        let r = render("app", &[pool, api], &ctx(), vec![]);
        let text = &r.stack;
        for needle in [
            "[api.notes]\nadopt = \"abc123\"\nname = \"Notes\"\nendpoint_type = \"edge\"\nstage = \"prod\"\n",
            "routes.\"POST /notes\" = { api_key_required = true, authorization = \"aws_iam\", integration = { lambda = \"arn:aws:lambda:us-east-1:1:function:f\" } }",
            "routes.\"GET /me\" = { authorization = \"cognito\", integration = { mock = { response = \"{}\" } }, user_pool = \"users\" }",
            "routes.\"GET /vpc\" = { integration = { http = \"https://example.com\" } }",
            "usage_plans.mobile = { keys = [\"ios\"], quota = { limit = 1000, period = \"day\" }, throttle = { burst = 20, rate = 10.0 } }",
            "keys.ios = {}",
            "keys.old = { description = \"retired\", enabled = false }",
        ] {
            assert!(text.contains(needle), "`{needle}` in\n{text}");
        }
        assert!(!text.contains("GET /other\" ="), "{text}");
        assert!(!text.contains("GET /aws\" ="), "{text}");
        let notes = r.notes.join("\n");
        for needle in [
            "route `GET /other` accepts tokens of user pool",
            "route `GET /aws` has a `aws` integration",
            "usage plan `mobile` holds API key `legacy`",
            "its stage's deployment was made outside this tool",
        ] {
            assert!(notes.contains(needle), "`{needle}` in\n{notes}");
        }
        let parsed: toml::Table = text.parse().expect("TOML");
        assert_eq!(
            parsed["api"]["notes"]["routes"]["POST /notes"]["authorization"].as_str(),
            Some("aws_iam")
        );
    }

    #[tokio::test]
    async fn an_api_made_by_hand_whose_templates_read_back_null_is_adopted() {
        use crate::adopt::tests::ctx;
        use crate::adopt::{render, scan, Request};
        use crate::aws::Aws;
        use serde_json::json;
        // Made in the console: its empty templates read back as `null`
        // (aws/aws-cli#1610), which the SDK alone cannot read.
        use crate::aws::mock::{wire_client, Wire, WireAnswers};
        let empty = |content_type: &'static str, body: &'static str| {
            WireAnswers::client(move |_, _| Wire {
                status: 200,
                headers: vec![("content-type", content_type.to_string())],
                body: body.to_string(),
            })
        };
        let aws = Aws {
            apigateway: wire_client!(
                aws_sdk_apigateway,
                crate::aws::nulls::NullsDropped::client(WireAnswers::client(
                    crate::resource::api::tests::wire_api_gateway(None)
                ))
            ),
            dynamodb: wire_client!(
                aws_sdk_dynamodb,
                empty("application/x-amz-json-1.0", r#"{"TableNames": []}"#)
            ),
            s3: wire_client!(
                aws_sdk_s3,
                empty(
                    "application/xml",
                    r#"<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Buckets></Buckets></ListAllMyBucketsResult>"#
                )
            ),
            iam: wire_client!(
                aws_sdk_iam,
                empty(
                    "text/xml",
                    r#"<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult><IsTruncated>false</IsTruncated><Roles/></ListRolesResult></ListRolesResponse>"#
                )
            ),
            cognito_idp: wire_client!(
                aws_sdk_cognitoidentityprovider,
                empty("application/x-amz-json-1.1", r#"{"UserPools": []}"#)
            ),
            cognito_identity: wire_client!(
                aws_sdk_cognitoidentity,
                empty("application/x-amz-json-1.1", r#"{"IdentityPools": []}"#)
            ),
            opensearch: wire_client!(
                aws_sdk_opensearch,
                empty("application/json", r#"{"DomainNames": []}"#)
            ),
            lambda: wire_client!(
                aws_sdk_lambda,
                empty("application/json", r#"{"Functions": []}"#)
            ),
            ..Aws::for_tests()
        };
        let scan = scan(
            &aws,
            &Request {
                name_prefix: None,
                includes: vec!["api.notes=a1".into()],
                stack_name: Some("demo".into()),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("adopt failed: {e}"));
        let api = scan
            .found
            .iter()
            .find(|f| f.address.to_string() == "api.notes")
            .expect("the API is adopted");
        assert_eq!(api.id, "a1");
        let routes = api.attributes["routes"].as_object().expect("routes");
        assert_eq!(
            routes.keys().collect::<Vec<_>>(),
            ["GET /health", "GET /notes"]
        );
        assert_eq!(routes["GET /notes"]["cors"], json!(true));
        assert_eq!(routes["GET /health"]["integration"]["type"], json!("mock"));
        assert_eq!(routes["GET /health"]["integration"]["status"], json!(200));
        let written = render(&scan.stack, &scan.found, &ctx(), scan.notes.clone());
        assert!(
            written.stack.contains(r#"adopt = "a1""#),
            "{}",
            written.stack
        );
    }

    // ------------------------------------------ routes in one PutRestApi ----

    /// What a create of [`EXAMPLE`] calls, with `put` as PutRestApi's answer:
    /// the rules of API Gateway (by operation) and of Lambda. After the
    /// import, `GetResources` shows the routes as API Gateway makes them.
    fn import_rules(
        put: Result<(), (&'static str, &'static str)>,
    ) -> (Vec<aws_smithy_mocks::Rule>, Vec<aws_smithy_mocks::Rule>) {
        let imported = put.is_ok();
        use aws_sdk_apigateway::operation::{
            create_api_key::CreateApiKeyOutput, create_deployment::CreateDeploymentOutput,
            create_resource::CreateResourceOutput, create_rest_api::CreateRestApiOutput,
            create_stage::CreateStageOutput, create_usage_plan::CreateUsagePlanOutput,
            create_usage_plan_key::CreateUsagePlanKeyOutput, get_api_keys::GetApiKeysOutput,
            get_authorizers::GetAuthorizersOutput, get_resources::GetResourcesOutput,
            get_stages::GetStagesOutput, get_usage_plans::GetUsagePlansOutput,
            put_integration::PutIntegrationOutput, put_method::PutMethodOutput,
            put_rest_api::PutRestApiError, put_rest_api::PutRestApiOutput,
        };
        use aws_sdk_apigateway::types::{Integration as AwsIntegration, Method, Resource};
        let lambda_of =
            |name: &str| format!("arn:aws:lambda:us-east-1:123456789012:function:{name}");
        let method = move |verb: &str, key: bool, function: &str| {
            Method::builder()
                .http_method(verb)
                .authorization_type("AWS_IAM")
                .api_key_required(key)
                .method_integration(
                    AwsIntegration::builder()
                        .r#type(IntegrationType::AwsProxy)
                        .http_method("POST")
                        .uri(api_routes::lambda_uri(
                            "us-east-1",
                            "aws",
                            &lambda_of(function),
                        ))
                        .passthrough_behavior("WHEN_NO_MATCH")
                        .timeout_in_millis(29000)
                        .build(),
                )
                .build()
        };
        let put = match put {
            Ok(()) => mock!(Client::put_rest_api)
                .match_requests(|r| {
                    // The routes as API Gateway's exports write them, which
                    // the export reader reads back as the stack's routes.
                    let doc: Value = r
                        .body()
                        .and_then(|b| serde_json::from_slice(b.as_ref()).ok())
                        .unwrap_or_default();
                    let routes = super::super::api_export::routes(&doc).unwrap_or_default();
                    r.rest_api_id() == Some("a1")
                        && r.mode() == Some(&PutMode::Merge)
                        && r.fail_on_warnings() == Some(false)
                        && routes.keys().collect::<Vec<_>>() == ["GET /search", "POST /notes"]
                        && routes["POST /notes"].api_key_required
                        && routes["GET /search"].authorization == "aws_iam"
                })
                .then_output(|| PutRestApiOutput::builder().id("a1").build()),
            Err((code, message)) => mock!(Client::put_rest_api).then_error(move || {
                PutRestApiError::generic(
                    ErrorMetadata::builder().code(code).message(message).build(),
                )
            }),
        };
        let apigateway = vec![
            mock!(Client::create_rest_api).then_output(|| {
                CreateRestApiOutput::builder()
                    .id("a1")
                    .name("demo-notes")
                    .root_resource_id("r0")
                    .build()
            }),
            put,
            mock!(Client::get_resources).then_output(move || {
                let root = GetResourcesOutput::builder()
                    .items(Resource::builder().id("r0").path("/").build());
                if !imported {
                    return root.build();
                }
                root.items(
                        Resource::builder()
                            .id("r1")
                            .path("/notes")
                            .resource_methods("POST", method("POST", true, "NotesApiFunction"))
                            .build(),
                    )
                    .items(
                        Resource::builder()
                            .id("r2")
                            .path("/search")
                            .resource_methods("GET", method("GET", false, "SearchApiFunction"))
                            .build(),
                    )
                    .build()
            }),
            mock!(Client::get_models).then_output(built_in_models),
            mock!(Client::get_authorizers).then_output(|| GetAuthorizersOutput::builder().build()),
            mock!(Client::get_stages).then_output(|| GetStagesOutput::builder().build()),
            mock!(Client::get_api_keys).then_output(|| GetApiKeysOutput::builder().build()),
            mock!(Client::get_usage_plans).then_output(|| GetUsagePlansOutput::builder().build()),
            mock!(Client::get_request_validators).then_output(|| {
                aws_sdk_apigateway::operation::get_request_validators::GetRequestValidatorsOutput::builder().build()
            }),
            mock!(Client::create_resource).then_output(|| CreateResourceOutput::builder().id("r9").build()),
            mock!(Client::put_method).then_output(|| PutMethodOutput::builder().build()),
            mock!(Client::put_integration).then_output(|| PutIntegrationOutput::builder().build()),
            mock!(Client::create_deployment)
                .then_output(|| CreateDeploymentOutput::builder().id("d1").build()),
            mock!(Client::create_stage).then_output(|| CreateStageOutput::builder().build()),
            mock!(Client::create_api_key).then_output(|| CreateApiKeyOutput::builder().id("k1").build()),
            mock!(Client::create_usage_plan)
                .then_output(|| CreateUsagePlanOutput::builder().id("p1").build()),
            mock!(Client::create_usage_plan_key)
                .then_output(|| CreateUsagePlanKeyOutput::builder().build()),
        ];
        let lambda = vec![
            mock!(aws_sdk_lambda::Client::add_permission).then_output(|| {
                aws_sdk_lambda::operation::add_permission::AddPermissionOutput::builder().build()
            }),
        ];
        (apigateway, lambda)
    }

    /// Creates [`EXAMPLE`] against the rules; returns the client's state.
    async fn create_example(aws: &Aws) -> Result<Outputs, Error> {
        let values = Values(BTreeMap::from([
            ("aws.region".to_string(), "us-east-1".to_string()),
            ("aws.account_id".to_string(), "123456789012".to_string()),
        ]));
        let config = desired_of(EXAMPLE, &values).expect("the example loads");
        let desired = Desired {
            address: Address::new(Kind::Api, "notes"),
            physical_name: "demo-notes".into(),
            attributes: serde_json::to_value(&config).expect("JSON"),
            depends_on: Vec::new(),
        };
        create(aws, &desired).await
    }

    fn import_aws(apigateway: &[aws_smithy_mocks::Rule], lambda: &[aws_smithy_mocks::Rule]) -> Aws {
        Aws {
            apigateway: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, apigateway.iter()),
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, lambda.iter()),
            ..Aws::for_tests()
        }
    }

    fn count(rules: &[aws_smithy_mocks::Rule], at: usize) -> usize {
        rules[at].num_calls()
    }

    #[tokio::test]
    async fn a_new_apis_routes_are_one_put_rest_api_and_nothing_per_route() {
        let (apigateway, lambda) = import_rules(Ok(()));
        let aws = import_aws(&apigateway, &lambda);
        let outputs = create_example(&aws).await.expect("created");
        assert_eq!(outputs.get("id").map(String::as_str), Some("a1"));
        assert_eq!(count(&apigateway, 1), 1, "one PutRestApi");
        assert_eq!(count(&apigateway, 2), 1, "the routes read once, after it");
        // That read is the routes only: no stage (a merge import leaves them
        // alone), and the account's keys listed once, for the new API.
        assert_eq!(count(&apigateway, 5), 0, "GetStages");
        assert_eq!(count(&apigateway, 6), 1, "GetApiKeys");
        assert_eq!(count(&apigateway, 7), 1, "GetUsagePlans");
        for (at, what) in [
            (9, "CreateResource"),
            (10, "PutMethod"),
            (11, "PutIntegration"),
        ] {
            assert_eq!(count(&apigateway, at), 0, "no {what}: the import made them");
        }
        assert_eq!(count(&apigateway, 12), 1, "deployed once");
        assert_eq!(
            count(&lambda, 0),
            2,
            "an invoke permission per Lambda route"
        );
        assert!(!aws
            .no_put_rest_api
            .load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn an_endpoint_without_put_rest_api_gets_the_routes_one_call_at_a_time() {
        // MiniStack 1.5.33's answer to `PUT /restapis/{id}`.
        let missing = (
            "NotFoundException",
            "Unknown API Gateway v1 path: /restapis/a1",
        );
        let (apigateway, lambda) = import_rules(Err(missing));
        let aws = import_aws(&apigateway, &lambda);
        create_example(&aws).await.expect("created");
        assert_eq!(
            count(&apigateway, 9),
            2,
            "CreateResource /notes and /search"
        );
        assert_eq!(count(&apigateway, 10), 2, "PutMethod per route");
        assert_eq!(count(&apigateway, 11), 2, "PutIntegration per route");
        assert_eq!(count(&apigateway, 2), 0, "nothing read back");
        assert!(aws
            .no_put_rest_api
            .load(std::sync::atomic::Ordering::SeqCst));
        // The next API of the run does not ask again.
        create_example(&aws).await.expect("created");
        assert_eq!(count(&apigateway, 1), 1, "PutRestApi asked once per run");
        assert_eq!(count(&apigateway, 10), 4);
    }

    #[tokio::test]
    async fn a_refused_document_is_said_and_the_routes_are_written_one_by_one() {
        let refused = (
            "BadRequestException",
            "Errors found during import: unsupported",
        );
        let (apigateway, lambda) = import_rules(Err(refused));
        let aws = import_aws(&apigateway, &lambda);
        create_example(&aws).await.expect("created");
        assert_eq!(count(&apigateway, 1), 1, "asked once: never retried");
        assert_eq!(count(&apigateway, 2), 1, "the API read again");
        assert_eq!(count(&apigateway, 10), 2, "PutMethod per route");
        assert!(
            !aws.no_put_rest_api
                .load(std::sync::atomic::Ordering::SeqCst),
            "AWS has PutRestApi; only this document was refused"
        );
        let gone = Error::Aws {
            operation: "apigateway:PutRestApi",
            code: Some("NotFoundException".into()),
            detail: "Invalid API identifier specified 123456789012:a1".into(),
        };
        assert!(
            !put_rest_api_missing(&gone),
            "an API that is gone is no missing operation"
        );
    }

    #[tokio::test]
    async fn a_failed_import_is_never_sent_again() {
        // moto's answer when its import breaks half-way: a 500 with an HTML
        // page, after it made some of the paths. Retried, it makes them again.
        let (mut apigateway, lambda) = import_rules(Err(("unused", "unused")));
        apigateway[1] = mock!(Client::put_rest_api).then_http_response(|| {
            use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
            use aws_smithy_runtime_api::http::StatusCode;
            HttpResponse::new(
                StatusCode::try_from(500).expect("a status"),
                aws_smithy_types::body::SdkBody::from("<html>Internal Server Error</html>"),
            )
        });
        let aws = import_aws(&apigateway, &lambda);
        create_example(&aws).await.expect("created");
        assert_eq!(count(&apigateway, 1), 1, "PutRestApi sent once");
        assert_eq!(count(&apigateway, 2), 1, "the API read again");
        assert_eq!(count(&apigateway, 10), 2, "PutMethod per route");
    }
}
