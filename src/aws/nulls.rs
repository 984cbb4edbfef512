//! `null`s inside API Gateway's JSON answers, removed before the SDK reads them.
//!
//! API Gateway stores an empty mapping template (`"application/json": ""`)
//! as `null` and answers it that way: `{"responseTemplates":
//! {"application/json": null}}` (aws/aws-cli#1610, confirmed by AWS; methods
//! made in the console read back the same). The Rust SDK's JSON deserializer
//! refuses a `null` inside a map that its model calls dense ("dense map cannot
//! contain null values", smithy-rs#2239, aws-sdk-rust#1443), so one such
//! method makes `GetResources`, `GetMethod`, `GetIntegration`... fail, and with
//! them every plan, `up`, `destroy` and `adopt` of that API.
//!
//! [`NullsDropped`] wraps the HTTP client of API Gateway: it reads each JSON
//! answer whole and drops every `null` member of an object (and `null` items
//! of a list) before the SDK deserializes it. For a structure member `null`
//! and absent already mean the same to the SDK; for a map entry, API
//! Gateway's `null` is what it made of `""`, and the tool reads an absent
//! template as `""`: the three read the same, as they do on AWS. Exports
//! (`GetExport`) are documents, not protocol answers, and pass untouched.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use serde_json::Value;

/// An HTTP client whose JSON answers have no `null` members left.
#[derive(Debug, Clone)]
pub(crate) struct NullsDropped {
    inner: SharedHttpClient,
}

impl NullsDropped {
    pub(crate) fn client(inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(NullsDropped { inner })
    }
}

impl HttpClient for NullsDropped {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NullsDroppedConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct NullsDroppedConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for NullsDroppedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let export = request.uri().contains("/exports/");
        let answer = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            let json = response
                .headers()
                .get("content-type")
                .is_some_and(|t| t.contains("json"));
            if export || !json {
                return Ok(response);
            }
            let body = ByteStream::new(response.take_body())
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .into_bytes();
            let body = match without_nulls(&body) {
                Some(cleaned) => {
                    response
                        .headers_mut()
                        .insert("content-length", cleaned.len().to_string());
                    SdkBody::from(cleaned)
                }
                None => SdkBody::from(body),
            };
            *response.body_mut() = body;
            Ok(response)
        })
    }
}

/// The JSON document without its `null` members and list items, or `None`
/// when it has none (or is not JSON: then the SDK reports what it is).
pub(crate) fn without_nulls(body: &[u8]) -> Option<Vec<u8>> {
    if !body.windows(4).any(|w| w == b"null") {
        return None;
    }
    let mut doc: Value = serde_json::from_slice(body).ok()?;
    if !drop_nulls(&mut doc) {
        return None;
    }
    serde_json::to_vec(&doc).ok()
}

/// Removes every `null` below `value`; whether there was one.
fn drop_nulls(value: &mut Value) -> bool {
    match value {
        Value::Object(members) => {
            let before = members.len();
            members.retain(|_, v| !v.is_null());
            let mut dropped = members.len() != before;
            for v in members.values_mut() {
                dropped |= drop_nulls(v);
            }
            dropped
        }
        Value::Array(items) => {
            let before = items.len();
            items.retain(|v| !v.is_null());
            let mut dropped = items.len() != before;
            for v in items.iter_mut() {
                dropped |= drop_nulls(v);
            }
            dropped
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_members_and_items_are_dropped_at_any_depth() {
        let body = br#"{"id":"m1","responseTemplates":{"application/json":null,"text/plain":"x"},
            "_embedded":{"item":[null,{"a":null,"b":[1,null]}]}}"#;
        let cleaned = without_nulls(body).expect("it had nulls");
        let doc: Value = serde_json::from_slice(&cleaned).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"id":"m1","responseTemplates":{"text/plain":"x"},
                "_embedded":{"item":[{"b":[1]}]}})
        );
    }

    #[test]
    fn a_body_without_nulls_or_not_json_is_left_as_it_is() {
        assert_eq!(without_nulls(br#"{"name":"nullable","n":1}"#), None);
        assert_eq!(without_nulls(b"<xml>null</xml>"), None);
        assert_eq!(without_nulls(b""), None);
    }
}
