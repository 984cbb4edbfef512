//! The routes a stage's deployment serves, read back from the stage's
//! OpenAPI 3 export (`GetExport`, `oas30`, with API Gateway's extensions).
//! No I/O here.
//!
//! A deployment made outside this tool carries no route hash in its
//! description. Its export shows what it serves: when that equals the API's
//! routes, the stage is current and nothing needs deploying; `up` then only
//! writes the hash into the deployment's description. Anything here that
//! cannot be read the way AWS writes it gives no routes, and the deployment
//! stays unproven (deployed once more), never wrongly taken as current.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::api_routes::{self, Integration, Route, CORS_TEMPLATE, JSON, METHODS};

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
}
