//! Mocked SDK clients for unit tests: `mock_client!(aws_sdk_iam,
//! RuleMode::MatchAny, [&rule])` answers each call from aws-smithy-mocks
//! rules, as that crate's own `mock_client!` does.
//!
//! Ours is built without the SDK crates' `test-util` feature (which the
//! crate's macro needs for `with_test_defaults_v2`): a feature that only the
//! tests turn on makes `cargo build` after `cargo test` compile every SDK
//! crate again (see Cargo.toml).

/// A config builder of `$krate` with what every test client has: the
/// latest behaviour, `us-east-1` and fixed credentials.
macro_rules! test_config {
    ($krate:ident) => {
        $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new(
                "AKIDMOCKED",
                "mocked-secret",
                None,
                None,
                "mocked",
            ))
    };
}

pub(crate) use test_config;

/// A client of `$krate` whose calls are answered by the rules, in `$mode`.
macro_rules! mock_client {
    ($krate:ident, $mode:expr, $rules:expr) => {{
        let mut interceptor = aws_smithy_mocks::MockResponseInterceptor::new().rule_mode($mode);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $krate::Client::from_conf(
            $crate::aws::mock::test_config!($krate)
                .http_client(aws_smithy_mocks::create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

pub(crate) use mock_client;

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// What a wire answer is: the status, the headers and the body, as AWS
/// sends them.
pub(crate) struct Wire {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Wire {
    /// A 200 with a JSON body.
    pub(crate) fn json(body: impl Into<String>) -> Wire {
        Wire {
            status: 200,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
        }
    }

    /// A REST-JSON error (`x-amzn-errortype`, `{"message": ...}`).
    pub(crate) fn error(status: u16, code: &str, message: &str) -> Wire {
        Wire {
            status,
            headers: vec![
                ("content-type", "application/json".into()),
                ("x-amzn-errortype", code.to_string()),
            ],
            body: serde_json::json!({ "message": message }).to_string(),
        }
    }
}

type Answer = dyn Fn(&str, &str) -> Wire + Send + Sync;

/// An HTTP client that answers each request (method, path with query) with
/// raw bytes, so that the SDK's own deserializers read them: for responses
/// whose shape on the wire matters (AWS's `null`s), which typed mocks skip.
#[derive(Clone)]
pub(crate) struct WireAnswers(Arc<Answer>);

impl std::fmt::Debug for WireAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WireAnswers")
    }
}

impl WireAnswers {
    pub(crate) fn client(
        answer: impl Fn(&str, &str) -> Wire + Send + Sync + 'static,
    ) -> SharedHttpClient {
        SharedHttpClient::new(WireAnswers(Arc::new(answer)))
    }
}

impl HttpClient for WireAnswers {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for WireAnswers {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let uri = request.uri();
        let path = uri
            .find("://")
            .and_then(|i| uri[i + 3..].find('/').map(|j| &uri[i + 3 + j..]))
            .unwrap_or(uri);
        let wire = (self.0)(request.method(), path);
        let status = StatusCode::try_from(wire.status)
            .unwrap_or_else(|_| StatusCode::try_from(500).expect("500 is a status code"));
        let mut response = HttpResponse::new(status, SdkBody::from(wire.body));
        for (name, value) in wire.headers {
            response.headers_mut().insert(name, value);
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// A client of `$krate` whose HTTP client is `$http` (no retries: one
/// request per call).
macro_rules! wire_client {
    ($krate:ident, $http:expr) => {
        $krate::Client::from_conf(
            $crate::aws::mock::test_config!($krate)
                .retry_config($krate::config::retry::RetryConfig::disabled())
                .http_client($http)
                .build(),
        )
    };
}

pub(crate) use wire_client;
