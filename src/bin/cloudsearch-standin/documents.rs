//! The stand-in's data plane: each domain's document endpoint
//! (`POST <doc endpoint>/2013-01-01/documents/batch`) and search endpoint
//! (`GET <search endpoint>/2013-01-01/search`, or a POST of the same
//! parameters as a form, as the AWS SDKs send it), in CloudSearch's JSON shapes
//! (`UploadDocuments` and `Search` of the 2013-01-01 API).
//!
//! What it does: a batch of `add` and `delete` operations is checked as a
//! whole (ids, operation types, fields that the domain defines, value types)
//! and then applied at once; a search with the simple query parser finds the
//! documents whose text fields hold every term (case-insensitive, words; a
//! trailing `*` matches a prefix; a leading `-` excludes) or whose literal
//! fields equal a term, best first (most occurrences, then id), and returns
//! the fields asked for as arrays of strings.
//!
//! What it is not: no relevance ranking beyond counting, no other query
//! parsers, facets, highlights, sorting or expressions, no SigV4
//! verification (a request must carry a SigV4 `Authorization` header for the
//! `cloudsearch` service, as AWS needs one with an IAM access policy, but
//! the signature is not checked), and documents live in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use super::{decode, request_id, Domain, Request, State};

const API: &str = "/2013-01-01/";

/// Answers a request to a domain's document or search endpoint; `None` when
/// the path is not one (the configuration API then answers it).
pub(super) fn handle(request: &Request, state: &Mutex<State>) -> Option<(u16, String)> {
    let at = request.path.find(API)?;
    let prefix = request.path[..at].trim_start_matches('/');
    let operation = &request.path[at + API.len()..];
    let (service, _) = prefix.split_once('-')?;
    if service != "doc" && service != "search" {
        return None;
    }
    let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
    let domain = state
        .domains
        .iter_mut()
        .find(|((_, name), d)| d.created && format!("{service}-{name}-{}", d.id) == prefix)
        .map(|(_, d)| d);
    let Some(domain) = domain else {
        return Some(failure(
            404,
            &format!("no domain answers at `/{prefix}`: see DescribeDomains for its endpoints"),
        ));
    };
    if !signed_for_cloudsearch(&request.authorization) {
        return Some(failure(
            403,
            "Request forbidden by administrative rules: sign the request with SigV4 for the service `cloudsearch`",
        ));
    }
    Some(match (service, request.method.as_str(), operation) {
        ("doc", "POST", "documents/batch") => match batch(domain, &request.body) {
            Ok((adds, deletes)) => (
                200,
                json!({ "status": "success", "adds": adds, "deletes": deletes }).to_string(),
            ),
            Err(message) => (
                400,
                json!({ "status": "error", "message": message, "errors": [{ "message": message }] })
                    .to_string(),
            ),
        },
        // The AWS SDKs send a search as a POST with the parameters as a
        // form body (botocore does, for long queries); CloudSearch takes both.
        ("search", "GET" | "POST", "search") => match search(domain, &request.form()) {
            Ok(answer) => (200, answer.to_string()),
            Err(message) => failure(400, &message),
        },
        _ => failure(
            404,
            &format!(
                "`{} {}` is not an operation of a {service} endpoint (POST .../2013-01-01/documents/batch, GET .../2013-01-01/search)",
                request.method, request.path
            ),
        ),
    })
}

fn failure(status: u16, message: &str) -> (u16, String) {
    (
        status,
        json!({ "error": { "rid": request_id(), "message": message }, "message": message })
            .to_string(),
    )
}

/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/cloudsearch/aws4_request, ...`
fn signed_for_cloudsearch(authorization: &str) -> bool {
    authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .and_then(|rest| rest.split([',', ' ']).next())
        .map(|scope| scope.split('/').nth(3) == Some("cloudsearch"))
        .unwrap_or(false)
}

/// A document id CloudSearch accepts: a-z, 0-9 and `_-=#;:/?@&`, 1 to 128.
fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-=#;:/?@&".contains(c))
}

enum Operation {
    Add(String, Map<String, Value>),
    Delete(String),
}

/// Checks a whole batch, then applies it: (adds, deletes).
fn batch(domain: &mut Domain, body: &str) -> Result<(usize, usize), String> {
    let operations: Vec<Value> = serde_json::from_str(body)
        .map_err(|e| format!("the batch is not a JSON array of operations: {e}"))?;
    let mut checked = Vec::new();
    for (i, op) in operations.iter().enumerate() {
        checked.push(operation(domain, op).map_err(|e| format!("operation {}: {e}", i + 1))?);
    }
    let (mut adds, mut deletes) = (0, 0);
    for op in checked {
        match op {
            Operation::Add(id, fields) => {
                domain.documents.insert(id, fields);
                adds += 1;
            }
            Operation::Delete(id) => {
                domain.documents.remove(&id);
                deletes += 1;
            }
        }
    }
    Ok((adds, deletes))
}

fn operation(domain: &Domain, op: &Value) -> Result<Operation, String> {
    let id = op
        .get("id")
        .and_then(Value::as_str)
        .ok_or("every operation needs a string `id`")?;
    if !valid_id(id) {
        return Err(format!(
            "invalid document id `{id}`: use a-z, 0-9 and _-=#;:/?@& (1 to 128 characters)"
        ));
    }
    match op.get("type").and_then(Value::as_str) {
        Some("delete") => Ok(Operation::Delete(id.to_string())),
        Some("add") => {
            let fields = op
                .get("fields")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("`add` of `{id}` needs an object `fields`"))?;
            for (name, value) in fields {
                let field = domain
                    .fields
                    .get(name)
                    .filter(|f| !f.pending_deletion)
                    .ok_or_else(|| {
                        format!("document `{id}`: the domain has no index field `{name}`")
                    })?;
                check_value(&field.field_type, value)
                    .map_err(|e| format!("document `{id}`, field `{name}`: {e}"))?;
            }
            Ok(Operation::Add(id.to_string(), fields.clone()))
        }
        other => Err(format!(
            "`type` must be `add` or `delete`, not {}",
            other.map_or("missing".to_string(), |t| format!("`{t}`"))
        )),
    }
}

fn check_value(field_type: &str, value: &Value) -> Result<(), String> {
    let scalar_ok = |v: &Value| match field_type.trim_end_matches("-array") {
        "int" | "double" => v.is_number() || v.as_str().is_some_and(|s| s.parse::<f64>().is_ok()),
        _ => v.is_string(),
    };
    let ok = match value {
        Value::Array(items) if field_type.ends_with("-array") => items.iter().all(scalar_ok),
        Value::Array(_) => false,
        v => scalar_ok(v),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{value} is not a value of a `{field_type}` field"))
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// How often `term` occurs in the document: in the words of its text
/// fields, or as the whole value of a literal field.
fn occurrences(domain: &Domain, fields: &Map<String, Value>, term: &str) -> usize {
    let prefix = term.strip_suffix('*');
    let lowered = term.to_lowercase();
    let mut n = 0;
    for (name, value) in fields {
        let field_type = domain
            .fields
            .get(name)
            .map(|f| f.field_type.as_str())
            .unwrap_or("text");
        for v in strings(value) {
            if field_type.starts_with("text") {
                n += words(&v)
                    .iter()
                    .filter(|w| match prefix {
                        Some(p) => w.starts_with(&p.to_lowercase()),
                        None => **w == lowered,
                    })
                    .count();
            } else if field_type.starts_with("literal") && v == term {
                n += 1;
            }
        }
    }
    n
}

fn query_params(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A search with the simple query parser.
fn search(domain: &Domain, query: &str) -> Result<Value, String> {
    let params = query_params(query);
    let q = params
        .get("q")
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
        .ok_or("q is required: GET .../2013-01-01/search?q=WORDS")?;
    if let Some(parser) = params.get("q.parser").filter(|p| *p != "simple") {
        return Err(format!(
            "the stand-in supports only q.parser=simple, not `{parser}`"
        ));
    }
    let number = |name: &str, default: usize| -> Result<usize, String> {
        params.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("{name} must be a whole number, not `{v}`"))
        })
    };
    let size = number("size", 10)?;
    let start = number("start", 0)?;
    let terms: Vec<String> = q
        .split_whitespace()
        .map(|t| t.trim_matches('"').trim_start_matches('+').to_string())
        .filter(|t| !t.is_empty() && t != "-")
        .collect();
    let mut hits: Vec<(usize, &String, &Map<String, Value>)> = domain
        .documents
        .iter()
        .filter_map(|(id, fields)| {
            let mut score = 0;
            for term in &terms {
                match term.strip_prefix('-') {
                    Some(excluded) if occurrences(domain, fields, excluded) > 0 => return None,
                    Some(_) => {}
                    None => match occurrences(domain, fields, term) {
                        0 => return None,
                        n => score += n,
                    },
                }
            }
            Some((score, id, fields))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let wanted: Option<Vec<&str>> = match params.get("return").map(String::as_str) {
        None | Some("_all_fields") => None,
        Some("_no_fields") => Some(Vec::new()),
        Some(list) => Some(list.split(',').map(str::trim).collect()),
    };
    let found = hits.len();
    let hit: Vec<Value> = hits
        .into_iter()
        .skip(start)
        .take(size)
        .map(|(_, id, fields)| {
            let returned: Map<String, Value> = fields
                .iter()
                .filter(|(name, _)| wanted.as_ref().is_none_or(|w| w.contains(&name.as_str())))
                .map(|(name, value)| (name.clone(), json!(strings(value))))
                .collect();
            json!({ "id": id, "fields": returned })
        })
        .collect();
    Ok(json!({
        "status": { "rid": request_id(), "time-ms": 0 },
        "hits": { "found": found, "start": start, "hit": hit },
    }))
}

#[cfg(test)]
mod tests {
    use super::super::Field;
    use super::*;

    fn domain() -> Domain {
        let mut d = Domain {
            id: "abc".into(),
            created: true,
            ..Domain::default()
        };
        for (name, field_type) in [
            ("headline", "text"),
            ("note_text", "text"),
            ("tags", "text-array"),
            ("user_id", "literal"),
            ("rank", "int"),
        ] {
            d.fields.insert(
                name.into(),
                Field {
                    field_type: field_type.into(),
                    ..Field::default()
                },
            );
        }
        d
    }

    fn add(id: &str, fields: Value) -> Value {
        json!({ "type": "add", "id": id, "fields": fields })
    }

    fn ids(answer: &Value) -> Vec<&str> {
        answer["hits"]["hit"]
            .as_array()
            .map(|h| h.iter().filter_map(|x| x["id"].as_str()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_batch_adds_and_deletes_and_is_refused_whole_when_one_operation_is_wrong() {
        let mut d = domain();
        let ok = json!([
            add(
                "n-1",
                json!({ "headline": "Harbour", "user_id": "eu:1", "rank": 3 })
            ),
            add(
                "n-2",
                json!({ "headline": "Hills", "tags": ["walk", "green"] })
            ),
        ]);
        assert_eq!(batch(&mut d, &ok.to_string()), Ok((2, 0)));
        for (bad, why) in [
            (
                json!([add("n-3", json!({ "colour": "red" }))]),
                "no index field `colour`",
            ),
            (json!([add("N 3", json!({}))]), "invalid document id `N 3`"),
            (
                json!([add("n-3", json!({ "rank": "high" }))]),
                "not a value of a `int` field",
            ),
            (
                json!([add("n-3", json!({ "headline": ["a"] }))]),
                "not a value of a `text` field",
            ),
            (
                json!([{ "type": "update", "id": "n-3" }]),
                "`type` must be `add` or `delete`",
            ),
            (json!({ "type": "add" }), "not a JSON array"),
        ] {
            let batch_with_good_first = match bad {
                Value::Array(mut ops) => {
                    ops.insert(0, json!({ "type": "delete", "id": "n-1" }));
                    Value::Array(ops)
                }
                other => other,
            };
            let err = batch(&mut d, &batch_with_good_first.to_string()).expect_err(why);
            assert!(err.contains(why), "{err}");
        }
        // Nothing of a refused batch was applied: n-1 is still there.
        assert_eq!(d.documents.keys().collect::<Vec<_>>(), ["n-1", "n-2"]);
        let delete = json!([{ "type": "delete", "id": "n-1" }]);
        assert_eq!(batch(&mut d, &delete.to_string()), Ok((0, 1)));
        assert_eq!(d.documents.keys().collect::<Vec<_>>(), ["n-2"]);
    }

    #[test]
    fn search_finds_documents_holding_every_term_best_first() {
        let mut d = domain();
        let docs = json!([
            add(
                "a",
                json!({ "headline": "Boats", "note_text": "boats and more boats", "user_id": "eu:1" })
            ),
            add(
                "b",
                json!({ "headline": "Harbour", "note_text": "one boat, boats", "user_id": "eu:2" })
            ),
            add(
                "c",
                json!({ "headline": "Hills", "note_text": "no water here", "tags": ["Walk"] })
            ),
        ]);
        batch(&mut d, &docs.to_string()).expect("the documents");
        let search = |q: &str| search(&d, q).expect("an answer");
        assert_eq!(
            ids(&search("q=boats")),
            ["a", "b"],
            "most occurrences first"
        );
        assert_eq!(
            ids(&search("q=BOATS%20harbour")),
            ["b"],
            "every term, any case"
        );
        assert_eq!(ids(&search("q=boat*")), ["a", "b"], "a prefix");
        assert_eq!(ids(&search("q=boats+-harbour")), ["a"], "an excluded term");
        assert_eq!(
            ids(&search("q=eu:2")),
            ["b"],
            "a literal field's whole value"
        );
        assert_eq!(ids(&search("q=walk")), ["c"], "a text-array field");
        assert_eq!(search("q=boats")["hits"]["found"], 2);
        let page = search("q=boats&size=1&start=1");
        assert_eq!(ids(&page), ["b"]);
        assert_eq!(page["hits"]["found"], 2);
        assert_eq!(page["hits"]["start"], 1);
        let fields = search("q=hills&return=headline,tags");
        assert_eq!(
            fields["hits"]["hit"][0]["fields"],
            json!({ "headline": ["Hills"], "tags": ["Walk"] }),
            "the fields asked for, each an array of strings"
        );
        let none = search("q=hills&return=_no_fields");
        assert_eq!(none["hits"]["hit"][0]["fields"], json!({}));
        assert!(super::search(&d, "q=").is_err());
        assert!(super::search(&d, "q=x&q.parser=lucene").is_err());
        assert!(super::search(&d, "q=x&size=ten").is_err());
    }

    #[test]
    fn only_a_sigv4_request_for_cloudsearch_is_taken() {
        assert!(signed_for_cloudsearch(
            "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/cloudsearch/aws4_request, SignedHeaders=host, Signature=0"
        ));
        assert!(!signed_for_cloudsearch(
            "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/es/aws4_request, SignedHeaders=host, Signature=0"
        ));
        assert!(!signed_for_cloudsearch(""));
    }
}
