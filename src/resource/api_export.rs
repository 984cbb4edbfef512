//! An API's routes as an OpenAPI 3 document with API Gateway's extensions,
//! both ways. No I/O here.
//!
//! [`document`] writes the routes `up` makes or changes in the form API
//! Gateway's own exports take, for one `PutRestApi` instead of a call per
//! resource, method, integration and response. [`routes`] reads the routes a
//! stage's deployment serves back from the stage's export (`GetExport`,
//! `oas30`); each is the other's inverse.
//!
//! A deployment made outside this tool carries no route hash in its
//! description. Its export shows what it serves: when that equals the API's
//! routes, the stage is current and nothing needs deploying; `up` then only
//! writes the hash into the deployment's description. Anything here that
//! cannot be read the way AWS writes it gives no routes, and the deployment
//! stays unproven (deployed once more), never wrongly taken as current.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use serde_json::json;

use super::api_routes::{
    self, Integration, Route, RouteKey, CORS_ALLOW_HEADERS, CORS_TEMPLATE, JSON, METHODS,
};

/// The security schemes [`document`] writes, named as API Gateway's exports
/// name them.
const SIGV4: &str = "sigv4";
const API_KEY: &str = "api_key";

/// Where the document's models are: `components/schemas/<name>`.
fn model_ref(name: &str) -> Value {
    let escaped = name.replace('~', "~0").replace('/', "~1");
    json!({ "$ref": format!("#/components/schemas/{escaped}") })
}

/// The routes `keys` of `routes` (with the CORS preflights of their paths,
/// which list every method of `routes` on the path) as an OpenAPI 3 document
/// for `PutRestApi`: the form API Gateway's exports take, with the models of
/// `models` and the request validators the routes name. Cognito routes are
/// not written here (their authorizers are matched by user pool, which a
/// document cannot say): the caller makes those one call at a time.
pub(crate) fn document(
    title: &str,
    routes: &BTreeMap<String, Route>,
    keys: &[(String, RouteKey)],
    models: &BTreeMap<String, Value>,
    (region, partition): (&str, &str),
) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut schemes: Map<String, Value> = Map::new();
    let mut validators: Map<String, Value> = Map::new();
    let mut cors_paths = BTreeSet::new();
    for (key, k) in keys {
        let Some(route) = routes.get(key).filter(|r| r.authorization != "cognito") else {
            continue;
        };
        let mut op = Map::new();
        let parameters: Vec<Value> = route
            .request_parameters
            .iter()
            .filter_map(|(name, required)| {
                let mut parts = name.splitn(4, '.');
                let (_, _, place, name) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                let place = match place {
                    "path" => "path",
                    "querystring" => "query",
                    "header" => "header",
                    _ => return None,
                };
                Some(json!({"name": name, "in": place, "required": required, "schema": {"type": "string"}}))
            })
            .collect();
        if !parameters.is_empty() {
            op.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(model) = &route.request_model {
            op.insert(
                "requestBody".into(),
                json!({"content": {JSON: {"schema": model_ref(model)}}, "required": true}),
            );
        }
        let mut requirement = Map::new();
        if route.authorization == "aws_iam" {
            requirement.insert(SIGV4.into(), json!([]));
            schemes.insert(
                SIGV4.into(),
                json!({"type": "apiKey", "name": "Authorization", "in": "header",
                       "x-amazon-apigateway-authtype": "awsSigv4"}),
            );
        }
        if route.api_key_required {
            requirement.insert(API_KEY.into(), json!([]));
            schemes.insert(
                API_KEY.into(),
                json!({"type": "apiKey", "name": "x-api-key", "in": "header"}),
            );
        }
        if !requirement.is_empty() {
            op.insert("security".into(), json!([requirement]));
        }
        if let Some(kind) = &route.validate {
            let (body, params) = match kind.as_str() {
                "body" => (true, false),
                "params" => (false, true),
                _ => (true, true),
            };
            validators.insert(
                kind.clone(),
                json!({"validateRequestBody": body, "validateRequestParameters": params}),
            );
            op.insert("x-amazon-apigateway-request-validator".into(), json!(kind));
        }
        let mut responses: Map<String, Value> = route
            .responses
            .iter()
            .map(|(status, model)| {
                (
                    status.clone(),
                    json!({"description": format!("{status} response"),
                           "content": {JSON: {"schema": model_ref(model)}}}),
                )
            })
            .collect();
        let integration = integration_doc(route, k, (region, partition), &mut responses);
        // No method responses: no `responses` (as in terraform-provider-aws's
        // documented import example); a Lambda or HTTP proxy needs none.
        if !responses.is_empty() {
            op.insert("responses".into(), Value::Object(responses));
        }
        op.insert("x-amazon-apigateway-integration".into(), integration);
        if route.cors {
            cors_paths.insert(k.path.clone());
        }
        let verb = match k.method.as_str() {
            "ANY" => "x-amazon-apigateway-any-method".to_string(),
            m => m.to_ascii_lowercase(),
        };
        paths
            .entry(k.path.clone())
            .or_default()
            .insert(verb, Value::Object(op));
    }
    for path in &cors_paths {
        paths
            .entry(path.clone())
            .or_default()
            .insert("options".into(), preflight(path, routes));
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {"title": title, "version": "mobile-backend"},
        "paths": paths,
        "components": {
            "schemas": models,
            "securitySchemes": schemes,
        },
    });
    if !validators.is_empty() {
        doc["x-amazon-apigateway-request-validators"] = Value::Object(validators);
    }
    doc
}

/// A route's `x-amazon-apigateway-integration`; a mock's own status is added
/// to the method's `responses`.
fn integration_doc(
    route: &Route,
    k: &RouteKey,
    (region, partition): (&str, &str),
    responses: &mut Map<String, Value>,
) -> Value {
    let i = &route.integration;
    match i.kind.as_str() {
        "lambda" => json!({
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": api_routes::lambda_uri(region, partition, i.target.as_deref().unwrap_or_default()),
            "passthroughBehavior": "when_no_match",
        }),
        "http" => json!({
            "type": "http_proxy",
            "httpMethod": k.method,
            "uri": i.target.clone().unwrap_or_default(),
            "passthroughBehavior": "when_no_match",
        }),
        _ => {
            let status = i.status.unwrap_or(200).to_string();
            responses
                .entry(status.clone())
                .or_insert_with(|| json!({"description": format!("{status} response")}));
            let mut answer = json!({"statusCode": status});
            if let Some(body) = i.response.as_deref().filter(|b| !b.is_empty()) {
                answer["responseTemplates"] = json!({JSON: body});
            }
            json!({
                "type": "mock",
                "requestTemplates": {JSON: format!("{{\"statusCode\": {status}}}")},
                "responses": {"default": answer},
                "passthroughBehavior": "when_no_match",
            })
        }
    }
}

/// The CORS preflight of `path`: an OPTIONS mock that allows every method
/// `routes` has on the path.
fn preflight(path: &str, routes: &BTreeMap<String, Route>) -> Value {
    let mut methods: Vec<String> = routes
        .keys()
        .filter_map(|key| api_routes::parse_route(key).ok())
        .filter(|k| k.path == path)
        .map(|k| k.method)
        .chain(["OPTIONS".to_string()])
        .collect();
    methods.sort();
    methods.dedup();
    let header = |h: &str| format!("method.response.header.Access-Control-Allow-{h}");
    let headers: Map<String, Value> = ["Headers", "Methods", "Origin"]
        .iter()
        .map(|h| {
            (
                format!("Access-Control-Allow-{h}"),
                json!({"schema": {"type": "string"}}),
            )
        })
        .collect();
    json!({
        "responses": {"200": {"description": "200 response", "headers": headers}},
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {JSON: CORS_TEMPLATE},
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": {
                    header("Headers"): CORS_ALLOW_HEADERS,
                    header("Methods"): format!("'{}'", methods.join(",")),
                    header("Origin"): "'*'",
                },
            }},
            "passthroughBehavior": "when_no_match",
        },
    })
}

/// The routes of an exported stage by route key (`"POST /notes"`), in the
/// shape [`super::api`] reads from the API itself, or `None` when the
/// document is not an OpenAPI 3 export this can read.
pub(crate) fn routes(doc: &Value) -> Option<BTreeMap<String, Route>> {
    doc.get("openapi")?.as_str()?.strip_prefix("3.")?;
    let schemes = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut routes = BTreeMap::new();
    let mut cors_paths = BTreeSet::new();
    for (path, item) in doc.get("paths")?.as_object()? {
        for (verb, op) in item.as_object()? {
            let method = match verb.as_str() {
                "x-amazon-apigateway-any-method" => "ANY".to_string(),
                v => v.to_ascii_uppercase(),
            };
            if !METHODS.contains(&method.as_str()) {
                // Path-level `parameters`, `summary` and other extensions.
                continue;
            }
            let op = op.as_object()?;
            let integration = op.get("x-amazon-apigateway-integration");
            if method == "OPTIONS"
                && integration
                    .and_then(|i| i.get("requestTemplates"))
                    .and_then(|t| t.get(JSON))
                    .and_then(Value::as_str)
                    == Some(CORS_TEMPLATE)
            {
                cors_paths.insert(path.clone());
                continue;
            }
            let (authorization, user_pool, api_key_required) = security(op, schemes)?;
            routes.insert(
                format!("{method} {path}"),
                Route {
                    authorization,
                    user_pool,
                    api_key_required,
                    request_parameters: parameters(op)?,
                    cors: false,
                    // Models and validators are not read from an export: a
                    // route with them never matches, and the stage is
                    // deployed again (the safe path).
                    request_model: None,
                    validate: None,
                    responses: BTreeMap::new(),
                    integration: match integration {
                        Some(i) => integration_of(i.as_object()?)?,
                        None => Integration::none(),
                    },
                },
            );
        }
    }
    api_routes::mark_cors(&mut routes, &cors_paths);
    Some(routes)
}

/// Authorization (`none`, `aws_iam`, `cognito` or the scheme's own type),
/// the user pool of a `cognito` route and whether an API key is required,
/// from the operation's one security requirement.
fn security(
    op: &Map<String, Value>,
    schemes: Option<&Map<String, Value>>,
) -> Option<(String, Option<String>, bool)> {
    let mut authorization = "none".to_string();
    let mut user_pool = None;
    let mut api_key_required = false;
    let requirements = match op.get("security") {
        None => return Some((authorization, user_pool, api_key_required)),
        Some(r) => r.as_array()?,
    };
    // API Gateway writes one requirement object naming every scheme a
    // method needs; alternatives are not something it exports.
    if requirements.len() > 1 {
        return None;
    }
    let names = match requirements.first() {
        Some(requirement) => requirement.as_object()?.keys().collect(),
        None => Vec::new(),
    };
    for name in names {
        let scheme = schemes?.get(name)?.as_object()?;
        match scheme
            .get("x-amazon-apigateway-authtype")
            .and_then(Value::as_str)
        {
            Some("awsSigv4") => authorization = "aws_iam".into(),
            Some("cognito_user_pools") => {
                authorization = "cognito".into();
                user_pool = scheme
                    .get("x-amazon-apigateway-authorizer")
                    .and_then(|a| a.get("providerARNs"))
                    .and_then(Value::as_array)
                    .and_then(|arns| arns.first())
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            Some(other) => authorization = other.to_ascii_lowercase(),
            None => {
                let api_key = scheme.get("type").and_then(Value::as_str) == Some("apiKey")
                    && scheme.get("in").and_then(Value::as_str) == Some("header")
                    && scheme
                        .get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"));
                if !api_key {
                    return None;
                }
                api_key_required = true;
            }
        }
    }
    Some((authorization, user_pool, api_key_required))
}

/// `method.request.<where>.<name>` → required, from the operation's
/// parameters.
fn parameters(op: &Map<String, Value>) -> Option<BTreeMap<String, bool>> {
    let mut out = BTreeMap::new();
    let Some(list) = op.get("parameters") else {
        return Some(out);
    };
    for p in list.as_array()? {
        let place = match p.get("in")?.as_str()? {
            "path" => "path",
            "query" => "querystring",
            "header" => "header",
            _ => return None,
        };
        let name = p.get("name")?.as_str()?;
        let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
        out.insert(format!("method.request.{place}.{name}"), required);
    }
    Some(out)
}

fn integration_of(i: &Map<String, Value>) -> Option<Integration> {
    let kind = i.get("type")?.as_str()?.to_ascii_lowercase();
    let uri = i.get("uri").and_then(Value::as_str);
    Some(match kind.as_str() {
        "aws_proxy" => Integration::to(
            "lambda",
            uri.map(|u| api_routes::function_of_uri(u).unwrap_or(u).to_string()),
        ),
        "http_proxy" => Integration::to("http", uri.map(str::to_string)),
        "mock" => {
            let status = api_routes::mock_status(
                i.get("requestTemplates")
                    .and_then(|t| t.get(JSON))
                    .and_then(Value::as_str),
            );
            let response = i
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
                .find(|r| status_of(r.get("statusCode")) == Some(status))
                .and_then(|r| r.get("responseTemplates"))
                .and_then(|t| t.get(JSON))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Integration::mock(status, response)
        }
        other => Integration::to(other, uri.map(str::to_string)),
    })
}

/// An integration response's status code: written as a string by AWS.
fn status_of(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => s.parse().ok(),
        n => n.as_i64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POOL: &str = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Ab";
    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:notes";

    /// A stage export as API Gateway writes it (`oas30`, extensions
    /// `integrations,authorizers`): IAM, Cognito and API key security, a path parameter,
    /// a Lambda proxy, an HTTP proxy, a mock and a CORS preflight.
    fn export() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "NotesBackendApi", "version": "2026-12-03T07:00:00Z"},
            "servers": [{"url": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/{basePath}",
                         "variables": {"basePath": {"default": "prod"}}}],
            "paths": {
                "/notes": {
                    "post": {
                        "responses": {"200": {"description": "200 response"}},
                        "security": [{"sigv4": [], "api_key": []}],
                        "x-amazon-apigateway-integration": {
                            "type": "aws_proxy",
                            "httpMethod": "POST",
                            "uri": format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"),
                            "passthroughBehavior": "when_no_match"
                        }
                    },
                    "options": {
                        "responses": {"200": {"description": "200 response"}},
                        "x-amazon-apigateway-integration": {
                            "type": "mock",
                            "requestTemplates": {"application/json": CORS_TEMPLATE},
                            "responses": {"default": {"statusCode": "200"}},
                            "passthroughBehavior": "when_no_match"
                        }
                    }
                },
                "/notes/{id}": {
                    "get": {
                        "parameters": [{"name": "id", "in": "path", "required": true,
                                        "schema": {"type": "string"}}],
                        "responses": {"200": {"description": "200 response"}},
                        "security": [{"users": []}],
                        "x-amazon-apigateway-integration": {
                            "type": "mock",
                            "requestTemplates": {"application/json": "{\"statusCode\": 201}"},
                            "responses": {"default": {"statusCode": "201",
                                "responseTemplates": {"application/json": "{\"ok\": true}"}}},
                            "passthroughBehavior": "when_no_match"
                        }
                    }
                },
                "/{proxy+}": {
                    "x-amazon-apigateway-any-method": {
                        "responses": {"200": {"description": "200 response"}},
                        "x-amazon-apigateway-integration": {
                            "type": "http_proxy",
                            "httpMethod": "ANY",
                            "uri": "https://example.com/{proxy}"
                        }
                    }
                }
            },
            "components": {"securitySchemes": {
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-amazon-apigateway-authtype": "awsSigv4"},
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                "users": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "x-amazon-apigateway-authtype": "cognito_user_pools",
                          "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools",
                                                             "providerARNs": [POOL]}}
            }}
        })
    }

    #[test]
    fn an_exported_stage_reads_as_the_routes_it_serves() {
        let routes = routes(&export()).expect("readable");
        assert_eq!(
            routes.keys().collect::<Vec<_>>(),
            vec!["ANY /{proxy+}", "GET /notes/{id}", "POST /notes"]
        );
        let post = &routes["POST /notes"];
        assert_eq!(post.authorization, "aws_iam");
        assert!(post.api_key_required);
        assert!(post.cors, "the OPTIONS preflight is CORS, not a route");
        assert_eq!(post.integration.kind, "lambda");
        assert_eq!(post.integration.target.as_deref(), Some(FUNCTION));
        let get = &routes["GET /notes/{id}"];
        assert_eq!(get.authorization, "cognito");
        assert_eq!(get.user_pool.as_deref(), Some(POOL));
        assert!(!get.api_key_required);
        assert!(!get.cors, "CORS is per path");
        assert_eq!(
            get.request_parameters,
            BTreeMap::from([("method.request.path.id".to_string(), true)])
        );
        assert_eq!(get.integration.status, Some(201));
        assert_eq!(get.integration.response.as_deref(), Some("{\"ok\": true}"));
        let any = &routes["ANY /{proxy+}"];
        assert_eq!(any.authorization, "none");
        assert_eq!(any.integration.kind, "http");
        assert_eq!(
            any.integration.target.as_deref(),
            Some("https://example.com/{proxy}")
        );
    }

    #[test]
    fn what_cannot_be_read_as_aws_writes_it_proves_nothing() {
        // Not OpenAPI 3 (a Swagger 2 export).
        assert_eq!(routes(&json!({"swagger": "2.0", "paths": {}})), None);
        // A security scheme the document does not define.
        let mut doc = export();
        doc["components"]["securitySchemes"]
            .as_object_mut()
            .expect("schemes")
            .remove("users");
        assert_eq!(routes(&doc), None);
        // Alternative requirements.
        let mut doc = export();
        doc["paths"]["/notes"]["post"]["security"] = json!([{"sigv4": []}, {"api_key": []}]);
        assert_eq!(routes(&doc), None);
        // A requirement that is not an object.
        let mut doc = export();
        doc["paths"]["/notes"]["post"]["security"] = json!(["sigv4"]);
        assert_eq!(routes(&doc), None);
        // A parameter in a cookie.
        let mut doc = export();
        doc["paths"]["/notes/{id}"]["get"]["parameters"] = json!([{"name": "s", "in": "cookie"}]);
        assert_eq!(routes(&doc), None);
        // An integration without a type.
        let mut doc = export();
        doc["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
            ["x-amazon-apigateway-integration"] = json!({"uri": "https://example.com"});
        assert_eq!(routes(&doc), None);
    }

    #[test]
    fn a_changed_route_in_the_export_changes_the_deployment_hash() {
        let served = routes(&export()).expect("readable");
        let mut doc = export();
        doc["paths"]["/notes"]["post"]["security"] = json!([{"sigv4": []}]);
        let stale = routes(&doc).expect("readable");
        assert!(!stale["POST /notes"].api_key_required);
        assert_ne!(
            api_routes::deployment_hash(&served, &BTreeMap::new()),
            api_routes::deployment_hash(&stale, &BTreeMap::new())
        );
    }

    /// Every combination of authorization, API key, integration kind,
    /// parameters and CORS that a route of the stack may have (Cognito
    /// aside), on paths that share resources.
    fn every_route_shape() -> BTreeMap<String, Route> {
        let integrations = [
            Integration::to("lambda", Some(FUNCTION.to_string())),
            Integration::to("http", Some("https://example.com/{proxy}".to_string())),
            Integration::mock(201, "{\"ok\": true}".to_string()),
            Integration::mock(200, String::new()),
        ];
        let mut routes = BTreeMap::new();
        let verbs = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "ANY"];
        let mut n = 0;
        for authorization in ["none", "aws_iam"] {
            for api_key_required in [false, true] {
                for integration in &integrations {
                    for params in [false, true] {
                        let path = format!("/p{}/{{id}}", n / verbs.len());
                        let verb = verbs[n % verbs.len()];
                        n += 1;
                        let mut request_parameters = BTreeMap::new();
                        if params {
                            request_parameters.insert("method.request.path.id".to_string(), true);
                            request_parameters
                                .insert("method.request.querystring.q".to_string(), false);
                            request_parameters
                                .insert("method.request.header.X-Trace".to_string(), true);
                        }
                        routes.insert(
                            format!("{verb} {path}"),
                            Route {
                                authorization: authorization.to_string(),
                                user_pool: None,
                                api_key_required,
                                request_parameters,
                                cors: n % 3 == 0,
                                request_model: None,
                                validate: None,
                                responses: BTreeMap::new(),
                                integration: integration.clone(),
                            },
                        );
                    }
                }
            }
        }
        // CORS is per path: every route of a CORS path has it.
        api_routes::normalise_cors(&mut routes);
        routes
    }

    fn keys_of(routes: &BTreeMap<String, Route>) -> Vec<(String, RouteKey)> {
        routes
            .keys()
            .map(|k| (k.clone(), api_routes::parse_route(k).expect("a route key")))
            .collect()
    }

    #[test]
    fn a_written_document_reads_back_as_the_routes_it_was_written_from() {
        let routes = every_route_shape();
        assert!(routes.len() > 30, "{}", routes.len());
        let doc = document(
            "demo-notes",
            &routes,
            &keys_of(&routes),
            &BTreeMap::new(),
            ("us-east-1", "aws"),
        );
        assert_eq!(super::routes(&doc).as_ref(), Some(&routes));
        // As API Gateway writes them: a Lambda proxy is called with POST.
        let lambda = routes
            .iter()
            .find(|(_, r)| r.integration.kind == "lambda")
            .map(|(k, _)| api_routes::parse_route(k).expect("a key"))
            .expect("a Lambda route");
        let verb = match lambda.method.as_str() {
            "ANY" => "x-amazon-apigateway-any-method".to_string(),
            m => m.to_ascii_lowercase(),
        };
        let integration = &doc["paths"][&lambda.path][&verb]["x-amazon-apigateway-integration"];
        assert_eq!(integration["httpMethod"], "POST");
        assert_eq!(integration["type"], "aws_proxy");
        assert!(
            doc["paths"][&lambda.path][&verb].get("responses").is_none(),
            "a proxy without method responses has no `responses`"
        );
    }

    #[test]
    fn only_the_routes_named_are_written_and_cognito_ones_never() {
        let mut routes = every_route_shape();
        let cognito = Route {
            authorization: "cognito".into(),
            user_pool: Some(POOL.into()),
            ..routes.values().next().expect("a route").clone()
        };
        routes.insert("GET /mine".into(), cognito);
        let keys: Vec<(String, RouteKey)> = keys_of(&routes)
            .into_iter()
            .filter(|(k, _)| k == "GET /mine" || k.ends_with("/p0/{id}"))
            .collect();
        let doc = document(
            "demo-notes",
            &routes,
            &keys,
            &BTreeMap::new(),
            ("us-east-1", "aws"),
        );
        let read = super::routes(&doc).expect("readable");
        let want: Vec<&String> = keys
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.as_str() != "GET /mine")
            .collect();
        assert_eq!(read.keys().collect::<Vec<_>>(), want);
        assert!(doc["paths"].get("/mine").is_none());
    }

    #[test]
    fn models_validators_and_responses_are_written_as_api_gateway_exports_them() {
        let schema =
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"});
        let models = BTreeMap::from([
            ("CreateNoteRequest".to_string(), schema.clone()),
            ("CreateNoteResponse".to_string(), schema),
        ]);
        let route = Route {
            authorization: "aws_iam".into(),
            user_pool: None,
            api_key_required: true,
            request_parameters: BTreeMap::new(),
            cors: false,
            request_model: Some("CreateNoteRequest".into()),
            validate: Some("body".into()),
            responses: BTreeMap::from([("200".to_string(), "CreateNoteResponse".to_string())]),
            integration: Integration::to("lambda", Some(FUNCTION.to_string())),
        };
        let routes = BTreeMap::from([("POST /notes".to_string(), route)]);
        let doc = document(
            "demo-notes",
            &routes,
            &keys_of(&routes),
            &models,
            ("us-east-1", "aws"),
        );
        let post = &doc["paths"]["/notes"]["post"];
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreateNoteRequest"
        );
        assert_eq!(post["x-amazon-apigateway-request-validator"], "body");
        assert_eq!(
            doc["x-amazon-apigateway-request-validators"]["body"],
            json!({"validateRequestBody": true, "validateRequestParameters": false})
        );
        assert_eq!(
            post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreateNoteResponse"
        );
        assert_eq!(doc["components"]["schemas"], json!(models));
        assert_eq!(post["security"], json!([{"sigv4": [], "api_key": []}]));
    }
}
