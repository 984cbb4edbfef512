//! `[api.<key>]` models and request validation: `models.<Name> = "<file>"`
//! (JSON Schema documents, draft 4 as API Gateway wants), and per route
//! `request_model`, `validate` and `responses."<status>"`.
//!
//! Models are compared by name and parsed JSON, never as strings; the
//! built-in `Empty` and `Error` models every REST API has on AWS are left
//! out of the comparison and never touched. Request validators are made on
//! demand, one per kind a route asks for (named `body`, `params`,
//! `body_and_params`), and deleted when no method names them any more. A
//! route's request model, validator and response models are part of the
//! route (so of the deployment hash); the models' schemas are part of the
//! hash too, so any change to them redeploys the stage once.
//!
//! The offline checks, the loading of the model files for `desired`, the
//! reads (one `GetModels` per API, and one `GetRequestValidators` when a
//! method names a validator or `up` writes), the writes, and how `adopt`
//! writes models as files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::api::{call, call_unless_gone, ApiSpec};
use super::api_routes::{parse_route, Route, JSON};
use super::Error;
use crate::aws::Aws;

/// The models API Gateway makes in every REST API.
pub(crate) const BUILT_IN: &[&str] = &["Empty", "Error"];

/// What a route's `validate` may say.
pub(crate) const VALIDATE: &[&str] = &["body", "params", "body_and_params"];

/// The JSON Schema draft API Gateway validates models as.
const DRAFT_4: &str = "json-schema.org/draft-04/schema";

/// What a validator of `kind` checks: (body, parameters).
pub(crate) fn flags(kind: &str) -> (bool, bool) {
    match kind {
        "body" => (true, false),
        "params" => (false, true),
        _ => (true, true),
    }
}

/// The `validate` a validator that checks `body` and `params` stands for;
/// `None` when it checks nothing.
pub(crate) fn kind_of(body: bool, params: bool) -> Option<&'static str> {
    match (body, params) {
        (true, false) => Some("body"),
        (false, true) => Some("params"),
        (true, true) => Some("body_and_params"),
        (false, false) => None,
    }
}

/// A model name API Gateway takes: letters and digits only.
fn name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A method response status code API Gateway takes: `[1-5]\d\d`.
fn status_ok(status: &str) -> bool {
    let b = status.as_bytes();
    b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit)
}

// ------------------------------------------------------------ checks ----

/// The offline checks of the models and what routes say of them, each
/// reported where it is written (the stack file's line, or the model
/// file's), all at once.
pub(crate) fn check(spec: &ApiSpec, c: &mut crate::stack::Checks<'_, '_>) {
    let address = c.address().clone();
    for (name, file) in &spec.models {
        let span = c.span(&["models", name]);
        if !name_ok(name) {
            c.error(
                span.clone(),
                format!("`{address}`: model name `{name}` is not one API Gateway takes"),
                Some("model names are letters and digits only, like `CreateNoteRequest`".into()),
            );
        } else if BUILT_IN.contains(&name.as_str()) {
            c.error(
                span.clone(),
                format!(
                    "`{address}`: `{name}` is a model API Gateway makes in every REST API itself"
                ),
                Some("give your model another name".into()),
            );
        }
        check_model_file(c, &address, name, file, span);
    }
    let declared: Vec<&str> = spec.models.keys().map(String::as_str).collect();
    for (key, r) in &spec.routes {
        let method = parse_route(key).map(|k| k.method).unwrap_or_default();
        if let Some(model) = &r.request_model {
            let span = c.span(&["routes", key, "request_model"]);
            undeclared(c, &address, key, model, &declared, span.clone());
            if method == "GET" || method == "HEAD" {
                c.error(
                    span,
                    format!("`{address}`: route `{key}` names a request model, but a {method} request has no body for it to describe"),
                    Some("remove `request_model` (and `validate = \"body\"`); describe query parameters with `request_parameters` and `validate = \"params\"`".into()),
                );
            }
        }
        if let Some(v) = &r.validate {
            let span = c.span(&["routes", key, "validate"]);
            if !VALIDATE.contains(&v.as_str()) {
                let near = crate::stack::reference::nearest(v, VALIDATE.iter().copied());
                c.error(
                    span,
                    format!(
                        "`{address}`: route `{key}`: `validate = \"{v}\"` is not one of {}",
                        VALIDATE.join(", ")
                    ),
                    near.map(|n| format!("did you mean `{n}`?")),
                );
            } else if v == "body" && r.request_model.is_none() {
                c.warning(
                    span,
                    format!("`{address}`: route `{key}` validates the body, but names no `request_model` to check it against, so every body passes"),
                    Some("add `request_model = \"<a model of `models`>\"`".into()),
                );
            }
        }
        for (status, model) in &r.responses {
            let span = c.span(&["routes", key, "responses", status]);
            if !status_ok(status) {
                c.error(
                    span.clone(),
                    format!("`{address}`: route `{key}`: `{status}` is not an HTTP status code"),
                    Some("write three digits, 100 to 599, like `responses.\"200\"`".into()),
                );
            }
            undeclared(c, &address, key, model, &declared, span);
        }
    }
}

/// An error when `model` is not one of the API's `declared` models.
fn undeclared(
    c: &mut crate::stack::Checks<'_, '_>,
    address: &crate::stack::Address,
    route: &str,
    model: &str,
    declared: &[&str],
    span: std::ops::Range<usize>,
) {
    if declared.contains(&model) {
        return;
    }
    let near = crate::stack::reference::nearest(model, declared.iter().copied());
    c.error(
        span,
        format!(
            "`{address}`: route `{route}` names model `{model}`, which `models` does not declare"
        ),
        Some(match near {
            Some(n) => format!("did you mean `{n}`?"),
            None => format!("declare it: `models.{model} = \"<JSON Schema file>\"`"),
        }),
    );
}

/// A model file: it is there, is JSON, is an object (a JSON Schema); a
/// `$schema` of another draft than 4 is a warning (API Gateway validates
/// as draft 4, where some keywords mean other things).
fn check_model_file(
    c: &mut crate::stack::Checks<'_, '_>,
    address: &crate::stack::Address,
    name: &str,
    file: &str,
    span: std::ops::Range<usize>,
) {
    let Some((path, text, doc)) = c.json_file(file, span, &format!("model `{name}`'s file")) else {
        return;
    };
    let Some(object) = doc.as_object() else {
        c.error_in(
            &path,
            Some(0..text.len().min(1)),
            format!("`{address}`: model `{name}` is not a JSON object (a JSON Schema document)"),
            Some(
                "a model is a JSON Schema, like `{\"type\": \"object\", \"properties\": {...}}`"
                    .into(),
            ),
        );
        return;
    };
    if let Some(schema) = object.get("$schema") {
        let draft_4 = schema.as_str().is_some_and(|s| s.contains(DRAFT_4));
        if !draft_4 {
            let at = text.find("\"$schema\"").unwrap_or(0);
            c.warning_in(
                &path,
                Some(at..at + "\"$schema\"".len()),
                format!("`{address}`: model `{name}` says `$schema` {schema}, but API Gateway validates models as JSON Schema draft 4"),
                Some("write `\"$schema\": \"http://json-schema.org/draft-04/schema#\"` and use draft 4 keywords (a boolean `exclusiveMinimum`, `definitions`)".into()),
            );
        }
    }
}

/// The API's models, read from their files (relative to the stack file's
/// directory), by name.
pub(crate) fn load(spec: &ApiSpec, stack_file: &Path) -> Result<BTreeMap<String, Value>, String> {
    let dir = stack_file.parent().unwrap_or(Path::new("."));
    let mut models = BTreeMap::new();
    for (name, file) in &spec.models {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read model `{name}`'s file `{}`: {e}",
                path.display()
            )
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "model `{name}`'s file `{}` is not valid JSON: {e}",
                path.display()
            )
        })?;
        models.insert(name.clone(), doc);
    }
    Ok(models)
}

// -------------------------------------------------------------- read ----

/// A request validator as found: its id, name and what it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LiveValidator {
    pub id: String,
    pub name: String,
    /// `None`: it checks nothing.
    pub kind: Option<&'static str>,
}

/// The API's `application/json` models (a model without a content type is
/// one), by name, parsed; without the built-in `Empty` and `Error`. A schema
/// that is not JSON is kept as its text, so it differs from any document.
pub(crate) async fn read_models(aws: &Aws, id: &str) -> Result<BTreeMap<String, Value>, Error> {
    let mut models = BTreeMap::new();
    let mut position: Option<String> = None;
    loop {
        let out = call("apigateway:GetModels", || {
            aws.apigateway
                .get_models()
                .rest_api_id(id)
                .limit(500)
                .set_position(position.clone())
                .send()
        })
        .await?;
        for m in out.items() {
            let Some(name) = m.name() else { continue };
            let json = m.content_type().is_none_or(|t| t.is_empty() || t == JSON);
            if !json || BUILT_IN.contains(&name) {
                continue;
            }
            let schema = m.schema().unwrap_or_default();
            let doc = serde_json::from_str(schema).unwrap_or_else(|_| Value::from(schema));
            models.insert(name.to_string(), doc);
        }
        match out
            .position()
            .filter(|p| !p.is_empty() && !out.items().is_empty())
        {
            Some(p) => position = Some(p.to_string()),
            None => return Ok(models),
        }
    }
}

/// The API's request validators.
pub(crate) async fn read_validators(aws: &Aws, id: &str) -> Result<Vec<LiveValidator>, Error> {
    let mut validators = Vec::new();
    let mut position: Option<String> = None;
    loop {
        let out = call("apigateway:GetRequestValidators", || {
            aws.apigateway
                .get_request_validators()
                .rest_api_id(id)
                .limit(500)
                .set_position(position.clone())
                .send()
        })
        .await?;
        for v in out.items() {
            let Some(vid) = v.id() else { continue };
            validators.push(LiveValidator {
                id: vid.to_string(),
                name: v.name().unwrap_or_default().to_string(),
                kind: kind_of(v.validate_request_body(), v.validate_request_parameters()),
            });
        }
        match out
            .position()
            .filter(|p| !p.is_empty() && !out.items().is_empty())
        {
            Some(p) => position = Some(p.to_string()),
            None => return Ok(validators),
        }
    }
}

/// A method's request model, validator and response models, as a route
/// says them: the `application/json` ones, the built-in `Empty` as none (the
/// console puts it on every method response it makes), and the validator
/// by what it checks (`validators`: the API's, when read).
pub(crate) fn of_method(
    m: &aws_sdk_apigateway::types::Method,
    validators: &[LiveValidator],
) -> (Option<String>, Option<String>, BTreeMap<String, String>) {
    let named = |models: Option<&std::collections::HashMap<String, String>>| {
        models
            .and_then(|models| models.get(JSON))
            .filter(|m| m.as_str() != "Empty" && !m.is_empty())
            .cloned()
    };
    let request_model = named(m.request_models());
    let validate = m.request_validator_id().and_then(|vid| {
        validators
            .iter()
            .find(|v| v.id == vid)
            .and_then(|v| v.kind)
            .map(str::to_string)
    });
    let responses = m
        .method_responses()
        .into_iter()
        .flatten()
        .filter_map(|(status, r)| Some((status.clone(), named(r.response_models())?)))
        .collect();
    (request_model, validate, responses)
}

// ------------------------------------------------------------- write ----

/// Makes the models the stack declares that are missing and updates those
/// whose schema differs (`UpdateModel`, `replace /schema`). Before the
/// methods are written: they name them.
pub(crate) async fn write_models(
    aws: &Aws,
    id: &str,
    want: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Result<(), Error> {
    for (name, doc) in want {
        let schema = serde_json::to_string(doc).map_err(|e| Error::Unexpected(e.to_string()))?;
        match live.get(name) {
            Some(have) if have == doc => {}
            Some(_) => {
                call("apigateway:UpdateModel", || {
                    aws.apigateway
                        .update_model()
                        .rest_api_id(id)
                        .model_name(name)
                        .patch_operations(super::api::patch(
                            aws_sdk_apigateway::types::Op::Replace,
                            "/schema",
                            Some(schema.clone()),
                        ))
                        .send()
                })
                .await?;
            }
            None => {
                call("apigateway:CreateModel", || {
                    aws.apigateway
                        .create_model()
                        .rest_api_id(id)
                        .name(name)
                        .content_type(JSON)
                        .schema(&schema)
                        .send()
                })
                .await?;
            }
        }
    }
    Ok(())
}

/// Deletes the models the stack no longer declares (after the methods
/// stopped naming them).
pub(crate) async fn delete_models(
    aws: &Aws,
    id: &str,
    want: &BTreeMap<String, Value>,
    live: &BTreeMap<String, Value>,
) -> Result<(), Error> {
    for name in live.keys().filter(|n| !want.contains_key(*n)) {
        call_unless_gone("apigateway:DeleteModel", || {
            aws.apigateway
                .delete_model()
                .rest_api_id(id)
                .model_name(name)
                .send()
        })
        .await?;
    }
    Ok(())
}

/// A validator for each kind the routes ask for: one found that checks
/// just that (this tool's by name first), else a new one named after the
/// kind. Returns their ids by kind.
pub(crate) async fn ensure_validators(
    aws: &Aws,
    id: &str,
    routes: &BTreeMap<String, Route>,
    live: &[LiveValidator],
) -> Result<BTreeMap<String, String>, Error> {
    let kinds: BTreeSet<&str> = routes
        .values()
        .filter_map(|r| r.validate.as_deref())
        .collect();
    let mut ids = BTreeMap::new();
    for kind in kinds {
        let found = live
            .iter()
            .filter(|v| v.kind == Some(kind))
            .min_by_key(|v| v.name != kind);
        let vid = match found {
            Some(v) => v.id.clone(),
            None => {
                let (body, params) = flags(kind);
                let out = call("apigateway:CreateRequestValidator", || {
                    aws.apigateway
                        .create_request_validator()
                        .rest_api_id(id)
                        .name(kind)
                        .validate_request_body(body)
                        .validate_request_parameters(params)
                        .send()
                })
                .await?;
                out.id().unwrap_or_default().to_string()
            }
        };
        ids.insert(kind.to_string(), vid);
    }
    Ok(ids)
}

/// Deletes the validators no method names any more (`used`).
pub(crate) async fn delete_validators(
    aws: &Aws,
    id: &str,
    live: &[LiveValidator],
    used: &BTreeSet<String>,
) -> Result<(), Error> {
    for v in live.iter().filter(|v| !used.contains(&v.id)) {
        call_unless_gone("apigateway:DeleteRequestValidator", || {
            aws.apigateway
                .delete_request_validator()
                .rest_api_id(id)
                .request_validator_id(&v.id)
                .send()
        })
        .await?;
    }
    Ok(())
}

// ------------------------------------------------------------- adopt ----

/// Writes each model as a file next to the stack (`api/<Name>.json`) and
/// sets `models.<Name>` to it.
pub(crate) fn adopt_write(
    w: &mut crate::adopt::Writer<'_>,
    address: &crate::stack::Address,
    models: Option<&Value>,
    s: &mut crate::adopt::Section,
) {
    let Some(Value::Object(models)) = models else {
        return;
    };
    for (name, doc) in models {
        let relative = w.model_file(address, name, doc);
        s.set_dotted(&["models", name], toml::Value::String(relative));
    }
}

/// A route's `request_model`, `validate` and `responses` into its table
/// `t`; a model the API's `models` do not hold (a built-in one, `Error`)
/// is left out with a note, since a route names only the stack's models.
pub(crate) fn adopt_route(
    w: &mut crate::adopt::Writer<'_>,
    api: &crate::stack::Address,
    route: &str,
    r: &Value,
    models: &[&str],
    t: &mut toml::Table,
) {
    let known = |w: &mut crate::adopt::Writer<'_>, model: &str, what: String| {
        let ok = models.contains(&model);
        if !ok {
            w.note(
                api,
                format!("route `{route}` names model `{model}` for its {what}, which is not one of the API's own models (a built-in one); it is left out, so `up` would remove it"),
            );
        }
        ok
    };
    if let Some(m) = r.get("request_model").and_then(Value::as_str) {
        if known(w, m, "request body".into()) {
            t.insert("request_model".into(), toml::Value::String(m.into()));
        }
    }
    if let Some(v) = r.get("validate").and_then(Value::as_str) {
        t.insert("validate".into(), toml::Value::String(v.into()));
    }
    let mut responses = toml::Table::new();
    for (status, m) in r
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(m) = m.as_str() else { continue };
        if known(w, m, format!("{status} response")) {
            responses.insert(status.clone(), toml::Value::String(m.into()));
        }
    }
    if !responses.is_empty() {
        t.insert("responses".into(), toml::Value::Table(responses));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_is_adopted_with_its_models_as_files_and_what_its_routes_say() {
        use crate::adopt::render;
        use crate::adopt::tests::{ctx, found};
        use serde_json::json;
        let route = |request: Option<&str>, responses: Value| {
            json!({"authorization": "none", "api_key_required": false, "request_parameters": {},
                "cors": false, "request_model": request, "validate": "body", "responses": responses,
                "integration": {"type": "mock", "status": 200, "response": ""}})
        };
        let api = found(
            "api.notes",
            "abc123",
            json!({"name": "Notes", "endpoint_type": "REGIONAL", "stage": "prod",
                "stage_variables": {}, "deployment": "0123456789abcdef",
                "models": {"CreateNote": {"type": "object", "required": ["text"]}},
                "routes": {
                    "POST /notes": route(Some("CreateNote"), json!({"200": "CreateNote"})),
                    "PUT /notes": route(None, json!({"500": "Error"}))
                },
                "usage_plans": {}, "keys": {}, "tags": {}}),
            &[("id", "abc123")],
        );
        let r = render("app", &[api], &ctx(), vec![]);
        for needle in [
            "models.CreateNote = \"../api/CreateNote.json\"",
            "routes.\"POST /notes\" = { integration = { mock = {} }, request_model = \"CreateNote\", responses = { 200 = \"CreateNote\" }, validate = \"body\" }",
            "routes.\"PUT /notes\" = { integration = { mock = {} }, validate = \"body\" }",
        ] {
            assert!(r.stack.contains(needle), "`{needle}` in\n{}", r.stack);
        }
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].relative, "../api/CreateNote.json");
        let crate::adopt::Contents::Text(text) = &r.files[0].contents else {
            panic!("a text file")
        };
        let doc: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(doc, json!({"type": "object", "required": ["text"]}));
        assert!(
            r.notes
                .join("\n")
                .contains("route `PUT /notes` names model `Error`"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn validator_kinds_and_their_flags() {
        for kind in VALIDATE {
            let (body, params) = flags(kind);
            assert_eq!(kind_of(body, params), Some(*kind));
        }
        assert_eq!(kind_of(false, false), None);
    }

    #[test]
    fn names_and_status_codes() {
        assert!(name_ok("CreateNoteRequest"));
        assert!(name_ok("V2"));
        assert!(!name_ok("create-note"));
        assert!(!name_ok(""));
        assert!(status_ok("200"));
        assert!(status_ok("599"));
        assert!(!status_ok("600"));
        assert!(!status_ok("20"));
        assert!(!status_ok("2xx"));
    }

    /// `(file name, line, message)` of each diagnostic, sorted.
    fn located(
        diags: &crate::stack::Diagnostics,
        list: &[crate::stack::diagnostic::Diagnostic],
    ) -> Vec<(String, usize, String)> {
        let mut out: Vec<_> = list
            .iter()
            .map(|d| {
                let line = match (&d.span, diags.sources.get(&d.file)) {
                    (Some(span), Some(src)) => {
                        crate::stack::diagnostic::line_col(src, span.start).0
                    }
                    _ => 0,
                };
                let file = d.file.file_name().unwrap_or_default().to_string_lossy();
                let help = d.help.clone().unwrap_or_default();
                (file.into_owned(), line, format!("{} | {help}", d.message))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_model_mistake_is_reported_at_once_with_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("create.json", r#"{"type": "object", "required": ["text"]}"#);
        write("broken.json", "{\n  \"type\": \"object\",\n  oops\n}\n");
        write("list.json", "[1, 2]\n");
        write(
            "seven.json",
            "{\n  \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n  \"type\": \"object\"\n}\n",
        );
        let stack = r#"[stack]
name = "demo"
[api.notes]
stage = "prod"
models.CreateNote = "create.json"
models.Bad-Name = "create.json"
models.Missing = "missing.json"
models.Broken = "broken.json"
models.List = "list.json"
models.Seven = "seven.json"
models.Empty = "create.json"
routes."POST /notes" = { request_model = "CreateNot", validate = "bodie", responses."20" = "CreateNote", integration = { mock = {} } }
routes."GET /notes" = { request_model = "CreateNote", validate = "body", integration = { mock = {} } }
routes."PUT /notes" = { validate = "body", responses."201" = "Nope", integration = { mock = {} } }
routes."PATCH /notes" = { request_model = "CreateNote", validate = "body_and_params", responses."200" = "CreateNote", integration = { mock = {} } }
"#;
        write("stack.toml", stack);
        let diags = crate::stack::load(&dir.path().join("stack.toml")).expect_err("rejected");
        let errors = located(&diags, &diags.items);
        let at: Vec<(&str, usize)> = errors.iter().map(|(f, l, _)| (f.as_str(), *l)).collect();
        assert_eq!(
            at,
            [
                ("broken.json", 3),
                ("list.json", 1),
                ("stack.toml", 6),
                ("stack.toml", 7),
                ("stack.toml", 11),
                ("stack.toml", 12),
                ("stack.toml", 12),
                ("stack.toml", 12),
                ("stack.toml", 13),
                ("stack.toml", 14),
            ],
            "{errors:#?}"
        );
        let text = format!("{errors:#?}");
        for needle in [
            "model name `Bad-Name` is not one API Gateway takes",
            "missing.json",
            "is not valid JSON",
            "is not a JSON object",
            "`Empty` is a model API Gateway makes",
            "names model `CreateNot`, which `models` does not declare | did you mean `CreateNote`?",
            "`validate = \\\"bodie\\\"` is not one of body, params, body_and_params | did you mean `body`?",
            "`20` is not an HTTP status code",
            "a GET request has no body",
            "names model `Nope`",
        ] {
            assert!(text.contains(needle), "`{needle}` in {text}");
        }
        let warnings = located(&diags, &diags.warnings);
        let at: Vec<(&str, usize)> = warnings.iter().map(|(f, l, _)| (f.as_str(), *l)).collect();
        assert_eq!(at, [("seven.json", 2), ("stack.toml", 14)], "{warnings:#?}");
        assert!(format!("{warnings:?}").contains("draft 4"), "{warnings:?}");
        assert!(
            format!("{warnings:?}").contains("every body passes"),
            "{warnings:?}"
        );
    }
}
