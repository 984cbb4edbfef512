//! The pure part of `[api.<key>]`: the comparable shape of a REST API, the
//! route keys (`"POST /notes/{id}"`), the resource tree derived from their
//! paths, and the deployment hash. No I/O here.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::stack::reference::UNKNOWN;
use crate::stack::Tags;

/// What a deployment's description starts with; the rest is the hash of the
/// routes it was made from.
pub(crate) const DEPLOYMENT_PREFIX: &str = "mobile-backend:";

/// The request template of the OPTIONS mock this tool makes for CORS
/// preflights; it is how such a method is told from a route.
pub(crate) const CORS_TEMPLATE: &str = "{\"statusCode\": 200, \"cors\": true}";

/// The request headers a CORS preflight allows.
pub(crate) const CORS_ALLOW_HEADERS: &str =
    "'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'";

/// The content type of every template this tool writes and reads.
pub(crate) const JSON: &str = "application/json";

/// The methods a route may name (`ANY` is API Gateway's catch-all).
pub(crate) const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

/// The comparable shape of a REST API, built from the stack or from AWS.
/// API key values are never part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `EDGE`, `REGIONAL` or `PRIVATE`.
    pub endpoint_type: String,
    /// By route key `"METHOD /path"`.
    pub routes: BTreeMap<String, Route>,
    /// The stage the API is deployed to (absent when there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default)]
    pub stage_variables: BTreeMap<String, String>,
    /// Default throttling of every method of the stage (`*/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_throttle: Option<Throttle>,
    /// The hash of the routes (and models) the stage's deployment was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The API's `application/json` models by name, as parsed JSON Schema
    /// documents (the built-in `Empty` and `Error` are not listed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub usage_plans: BTreeMap<String, UsagePlan>,
    #[serde(default)]
    pub keys: BTreeMap<String, Key>,
    #[serde(default)]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `none`, `aws_iam` or `cognito`.
    pub authorization: String,
    /// The ARN of the user pool of a `cognito` route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool: Option<String>,
    pub api_key_required: bool,
    #[serde(default)]
    pub request_parameters: BTreeMap<String, bool>,
    /// Whether the route's path answers CORS preflights (an OPTIONS mock).
    #[serde(default)]
    pub cors: bool,
    /// The model the `application/json` request body is described by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    /// What the request validator checks: `body`, `params` or `body_and_params`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate: Option<String>,
    /// The `application/json` model of each method response, by status code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<String, String>,
    pub integration: Integration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    /// `lambda` (AWS_PROXY), `http` (HTTP_PROXY) or `mock`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function ARN (lambda) or the URL (http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The status code a mock answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// The body a mock answers (`application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl Integration {
    /// A method with no integration.
    pub fn none() -> Self {
        Self::to("none", None)
    }

    /// A proxy (or any other kind) with its target.
    pub fn to(kind: &str, target: Option<String>) -> Self {
        Integration {
            kind: kind.into(),
            target,
            status: None,
            response: None,
        }
    }

    /// A mock answering `status` with `response`.
    pub fn mock(status: i64, response: String) -> Self {
        Integration {
            kind: "mock".into(),
            target: None,
            status: Some(status),
            response: Some(response),
        }
    }
}

/// The status code a mock integration's request template answers (200 when
/// it names none).
pub(crate) fn mock_status(request_template: Option<&str>) -> i64 {
    request_template
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| v.get("statusCode").and_then(serde_json::Value::as_i64))
        .unwrap_or(200)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePlan {
    /// Keys of `keys` attached to the plan, sorted.
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throttle {
    pub rate: f64,
    pub burst: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: i64,
    /// `DAY`, `WEEK` or `MONTH`.
    pub period: String,
    /// Absent in AWS means 0.
    #[serde(default)]
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
}

/// A route key split into its method and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    pub method: String,
    pub path: String,
}

impl RouteKey {
    pub(crate) fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Parses `"METHOD /a/{b}/{proxy+}"`; the method is upper-cased.
pub(crate) fn parse_route(route: &str) -> Result<RouteKey, String> {
    let (method, path) = route
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("route `{route}` must be written `METHOD /path`"))?;
    let method = method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(format!(
            "route `{route}`: `{method}` is not a method (one of {})",
            METHODS.join(", ")
        ));
    }
    let path = path.trim();
    if !path.starts_with('/') {
        return Err(format!("route `{route}`: the path must start with `/`"));
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    if path != "/" {
        for (i, s) in segments.iter().enumerate() {
            if s.is_empty() {
                return Err(format!("route `{route}`: the path has an empty segment"));
            }
            if s.contains('{') || s.contains('}') {
                let inner = s
                    .strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .ok_or_else(|| {
                        format!("route `{route}`: a path parameter is a whole segment, `{{name}}`")
                    })?;
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(format!(
                        "route `{route}`: `{s}` is not a valid path parameter"
                    ));
                }
                if greedy && i + 1 != segments.len() {
                    return Err(format!(
                        "route `{route}`: a greedy parameter `{s}` must be the last segment"
                    ));
                }
            } else if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:~".contains(c))
            {
                return Err(format!(
                    "route `{route}`: `{s}` has characters a resource path cannot hold"
                ));
            }
        }
    }
    Ok(RouteKey {
        method,
        path: path.to_string(),
    })
}

/// Sets each route's `cors` from the paths that answer CORS preflights.
pub(crate) fn mark_cors(routes: &mut BTreeMap<String, Route>, cors_paths: &BTreeSet<String>) {
    for (key, route) in routes.iter_mut() {
        if let Ok(k) = parse_route(key) {
            route.cors = cors_paths.contains(&k.path);
        }
    }
}

/// Every resource path the routes need besides the root, parents before
/// children, each once (shared prefixes are one resource).
pub(crate) fn resource_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut all = BTreeSet::new();
    for path in paths {
        let mut prefix = String::new();
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            prefix.push('/');
            prefix.push_str(segment);
            all.insert(prefix.clone());
        }
    }
    let mut all: Vec<String> = all.into_iter().collect();
    all.sort_by(|a, b| (depth(a), a).cmp(&(depth(b), b)));
    all
}

/// How many segments deep a path is (`/` is 0).
pub(crate) fn depth(path: &str) -> usize {
    path.split('/').filter(|s| !s.is_empty()).count()
}

/// The parent path and last segment of a resource path (`/a/b` → `/a`, `b`).
pub(crate) fn split_parent(path: &str) -> (String, String) {
    match path.rsplit_once('/') {
        Some(("", last)) => ("/".to_string(), last.to_string()),
        Some((parent, last)) => (parent.to_string(), last.to_string()),
        None => ("/".to_string(), path.to_string()),
    }
}

/// The hash a deployment of these routes and models is known by: FNV-1a (64
/// bits) of their canonical JSON (route keys and model names sorted, fields
/// in a fixed order). It changes exactly when a route, its method settings,
/// its request model, validator or response models, its integration or a
/// model's schema change. Without models it is the hash of the routes alone
/// (as before models existed, so deployments made then stay current).
/// Routes holding a value not known yet hash to the unknown marker.
pub(crate) fn deployment_hash(
    routes: &BTreeMap<String, Route>,
    models: &BTreeMap<String, serde_json::Value>,
) -> String {
    let mut json = serde_json::to_string(routes).unwrap_or_default();
    if !models.is_empty() {
        // Keys sorted at every level: a schema's key order says nothing.
        let sorted: BTreeMap<&String, serde_json::Value> =
            models.iter().map(|(k, v)| (k, canonical(v))).collect();
        json.push_str(&serde_json::to_string(&sorted).unwrap_or_default());
    }
    if json.contains(UNKNOWN) || json.contains("\\u0001") {
        return UNKNOWN.to_string();
    }
    format!("{:016x}", fnv1a64(json.as_bytes()))
}

/// A JSON value with the keys of every object sorted.
fn canonical(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The Lambda integration URI of a function.
pub(crate) fn lambda_uri(region: &str, partition: &str, function_arn: &str) -> String {
    format!("arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations")
}

/// The function ARN inside a Lambda integration URI.
pub(crate) fn function_of_uri(uri: &str) -> Option<&str> {
    uri.split_once("/functions/")
        .and_then(|(_, rest)| rest.strip_suffix("/invocations"))
}

/// The execute-api source ARN a Lambda permission of a route allows:
/// `<execute_arn>/*/<METHOD>/<path>` (`*` for `ANY`; path parameters as `*`).
pub(crate) fn permission_source_arn(execute_arn: &str, route: &RouteKey) -> String {
    let method = if route.method == "ANY" {
        "*"
    } else {
        route.method.as_str()
    };
    let path: Vec<&str> = route
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') { "*" } else { s })
        .collect();
    format!("{execute_arn}/*/{method}/{}", path.join("/"))
}

/// A statement id for the Lambda permission of one route of one API:
/// the same every run, so adding it again is recognised.
pub(crate) fn permission_statement_id(api_id: &str, route: &RouteKey) -> String {
    format!(
        "mobile-backend-{api_id}-{:016x}",
        fnv1a64(route.key().as_bytes())
    )
}

/// CORS is per path (one OPTIONS method answers every method of it): a path
/// has it when any route of the path asks for it, so every route there says so.
pub(crate) fn normalise_cors(routes: &mut BTreeMap<String, Route>) {
    let with_cors: BTreeSet<String> = routes
        .iter()
        .filter(|(_, r)| r.cors)
        .filter_map(|(k, _)| parse_route(k).ok().map(|k| k.path))
        .collect();
    mark_cors(routes, &with_cors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(target: &str) -> Route {
        Route {
            authorization: "aws_iam".into(),
            user_pool: None,
            api_key_required: false,
            request_parameters: BTreeMap::new(),
            cors: false,
            request_model: None,
            validate: None,
            responses: BTreeMap::new(),
            integration: Integration::to("lambda", Some(target.into())),
        }
    }

    #[test]
    fn route_keys_parse_methods_paths_and_parameters() {
        let k = parse_route("post /notes/{id}").unwrap();
        assert_eq!(k.method, "POST");
        assert_eq!(k.path, "/notes/{id}");
        assert!(parse_route("GET /files/{proxy+}").is_ok());
        assert!(parse_route("GET /").is_ok());
        assert!(parse_route("FETCH /x")
            .unwrap_err()
            .contains("not a method"));
        assert!(parse_route("GET notes").unwrap_err().contains("start with"));
        assert!(parse_route("GET /a//b")
            .unwrap_err()
            .contains("empty segment"));
        assert!(parse_route("GET /{proxy+}/x")
            .unwrap_err()
            .contains("last segment"));
        assert!(parse_route("GET /a{b}").is_err());
        assert!(parse_route("/notes").is_err());
    }

    #[test]
    fn resource_tree_creates_shared_prefixes_once_parents_first() {
        let paths = resource_paths([
            "/notes/{id}",
            "/notes",
            "/search",
            "/notes/{id}/photos/{proxy+}",
            "/",
        ]);
        assert_eq!(
            paths,
            vec![
                "/notes",
                "/search",
                "/notes/{id}",
                "/notes/{id}/photos",
                "/notes/{id}/photos/{proxy+}",
            ]
        );
        assert_eq!(
            split_parent("/notes/{id}"),
            ("/notes".into(), "{id}".into())
        );
        assert_eq!(split_parent("/notes"), ("/".into(), "notes".into()));
    }

    #[test]
    fn deployment_hash_is_stable_and_changes_only_with_routes() {
        let mut a = BTreeMap::new();
        a.insert("POST /notes".to_string(), route("arn:fn:notes"));
        a.insert("GET /search".to_string(), route("arn:fn:search"));
        let mut b = BTreeMap::new();
        b.insert("GET /search".to_string(), route("arn:fn:search"));
        b.insert("POST /notes".to_string(), route("arn:fn:notes"));
        let none = BTreeMap::new();
        let h = deployment_hash(&a, &none);
        assert_eq!(
            h,
            deployment_hash(&b, &none),
            "insertion order does not matter"
        );
        assert_eq!(h.len(), 16);
        assert_eq!(h, deployment_hash(&a.clone(), &none), "stable");

        let mut c = a.clone();
        c.get_mut("POST /notes").unwrap().api_key_required = true;
        assert_ne!(h, deployment_hash(&c, &none), "method settings");
        let mut d = a.clone();
        d.get_mut("GET /search").unwrap().integration.target = Some("arn:fn:other".into());
        assert_ne!(h, deployment_hash(&d, &none), "integration");
        let mut e = a.clone();
        e.insert("GET /notes".into(), route("arn:fn:notes"));
        assert_ne!(h, deployment_hash(&e, &none), "a new route");

        let mut u = a.clone();
        u.get_mut("GET /search").unwrap().user_pool = Some(format!("x{UNKNOWN}"));
        assert_eq!(deployment_hash(&u, &none), UNKNOWN);
    }

    #[test]
    fn deployment_hash_covers_models_and_what_routes_say_of_them() {
        let mut routes = BTreeMap::new();
        routes.insert("POST /notes".to_string(), route("arn:fn:notes"));
        let none = BTreeMap::new();
        let h = deployment_hash(&routes, &none);
        // Without models: the hash of the routes alone, as deployments made
        // before models existed were labelled.
        let old = format!(
            "{:016x}",
            fnv1a64(serde_json::to_string(&routes).unwrap().as_bytes())
        );
        assert_eq!(h, old);
        let models = BTreeMap::from([(
            "CreateNote".to_string(),
            serde_json::json!({"type": "object", "required": ["text"]}),
        )]);
        let with_model = deployment_hash(&routes, &models);
        assert_ne!(h, with_model, "a model");
        let mut edited = models.clone();
        edited.insert(
            "CreateNote".into(),
            serde_json::json!({"type": "object", "required": ["headline"]}),
        );
        assert_ne!(with_model, deployment_hash(&routes, &edited), "a schema");
        let reordered = BTreeMap::from([(
            "CreateNote".to_string(),
            serde_json::from_str(r#"{"required": ["text"], "type": "object"}"#).unwrap(),
        )]);
        assert_eq!(
            with_model,
            deployment_hash(&routes, &reordered),
            "key order says nothing"
        );
        for change in [
            |r: &mut Route| r.request_model = Some("CreateNote".into()),
            |r: &mut Route| r.validate = Some("body".into()),
            |r: &mut Route| {
                r.responses.insert("200".into(), "CreateNote".into());
            },
        ] {
            let mut changed = routes.clone();
            change(changed.get_mut("POST /notes").unwrap());
            assert_ne!(
                with_model,
                deployment_hash(&changed, &models),
                "{changed:?}"
            );
        }
    }

    #[test]
    fn lambda_uris_and_permissions() {
        let f = "arn:aws:lambda:us-east-1:123456789012:function:Notes";
        let uri = lambda_uri("us-east-1", "aws", f);
        assert_eq!(
            uri,
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Notes/invocations"
        );
        assert_eq!(function_of_uri(&uri), Some(f));
        let key = parse_route("GET /notes/{id}").unwrap();
        assert_eq!(
            permission_source_arn("arn:aws:execute-api:us-east-1:1:abc", &key),
            "arn:aws:execute-api:us-east-1:1:abc/*/GET/notes/*"
        );
        assert_eq!(
            permission_statement_id("abc", &key),
            permission_statement_id("abc", &key)
        );
        assert_ne!(
            permission_statement_id("abc", &key),
            permission_statement_id("abc", &parse_route("POST /notes/{id}").unwrap())
        );
    }

    #[test]
    fn cors_is_normalised_per_path() {
        let mut routes = BTreeMap::new();
        let mut with = route("f");
        with.cors = true;
        routes.insert("GET /notes".to_string(), with);
        routes.insert("POST /notes".to_string(), route("f"));
        routes.insert("GET /search".to_string(), route("f"));
        normalise_cors(&mut routes);
        assert!(routes["POST /notes"].cors);
        assert!(!routes["GET /search"].cors);
    }
}
