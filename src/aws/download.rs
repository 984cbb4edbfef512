//! Plain GETs of presigned URLs (a Lambda function's package, `GetFunction`'s
//! `Code.Location`), through the tool's one HTTP stack: the connector the SDK
//! clients use (hyper 1, rustls on *ring*, proxy settings from the
//! environment), called directly, as a presigned URL needs no signing.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{HttpConnector, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;

/// How long connecting and the answer's headers may take.
const HEADERS: Duration = Duration::from_secs(30);
/// How long the body may stall between two chunks.
const STALL: Duration = Duration::from_secs(60);
/// Attempts of a download that fails on the way (no answer, a 5xx).
const ATTEMPTS: u32 = 3;

/// The HTTP connector downloads go through: the SDK's own HTTPS connector.
pub fn connector() -> SharedHttpConnector {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    use aws_smithy_http_client::ConnectorBuilder;
    let mut b = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    b.set_proxy_config(Some(ProxyConfig::from_env()));
    SharedHttpConnector::new(b.build())
}

/// Why a download failed: worth another attempt or not.
enum Failed {
    Transient(String),
    Final(String),
}

/// The body at `url`, at most `limit` bytes. `what` names the download in
/// errors (`the package of function `x``). A presigned URL holds a
/// signature: errors show only its scheme, host and path.
pub async fn get(
    connector: &SharedHttpConnector,
    url: &str,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let shown = without_query(url);
    let mut attempt = 1;
    loop {
        match get_once(connector, url, limit).await {
            Ok(body) => return Ok(body),
            Err(Failed::Transient(why)) if attempt < ATTEMPTS => {
                eprintln!("  {what}: {why}; trying again");
                tokio::time::sleep(Duration::from_millis(500) * attempt).await;
                attempt += 1;
            }
            Err(Failed::Transient(why)) => {
                return Err(format!(
                    "cannot download {what} from {shown}: {why} (after {ATTEMPTS} attempts)"
                ))
            }
            Err(Failed::Final(why)) => {
                return Err(format!("cannot download {what} from {shown}: {why}"))
            }
        }
    }
}

async fn get_once(
    connector: &SharedHttpConnector,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>, Failed> {
    let request = HttpRequest::get(url).map_err(|e| Failed::Final(format!("a bad URL: {e}")))?;
    let response = tokio::time::timeout(HEADERS, connector.call(request))
        .await
        .map_err(|_| Failed::Transient(format!("no answer within {}s", HEADERS.as_secs())))?
        .map_err(|e| Failed::Transient(innermost(&e)))?;
    let status = response.status().as_u16();
    if status >= 500 {
        return Err(Failed::Transient(format!("HTTP {status}")));
    }
    if status != 200 {
        return Err(Failed::Final(format!(
            "HTTP {status}{}",
            if status == 403 {
                " (the link is valid for 10 minutes, and needs lambda:GetFunction; run the command again)"
            } else {
                ""
            }
        )));
    }
    let too_big = || {
        Failed::Final(format!(
            "it is larger than {limit} bytes, more than Lambda allows a package to be"
        ))
    };
    if let Some(length) = response
        .headers()
        .get("content-length")
        .and_then(|l| l.parse::<u64>().ok())
    {
        if length > limit {
            return Err(too_big());
        }
    }
    let mut stream = ByteStream::new(response.into_body());
    let mut body = Vec::new();
    loop {
        let chunk = tokio::time::timeout(STALL, stream.next())
            .await
            .map_err(|_| Failed::Transient(format!("stalled for {}s", STALL.as_secs())))?;
        match chunk {
            None => return Ok(body),
            Some(Err(e)) => return Err(Failed::Transient(innermost(&e))),
            Some(Ok(bytes)) => {
                if (body.len() + bytes.len()) as u64 > limit {
                    return Err(too_big());
                }
                body.extend_from_slice(&bytes);
            }
        }
    }
}

/// The innermost cause of an error: the one that reads best ("connection
/// refused"); the chain above it is plumbing.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

/// A URL without its query (where a presigned URL keeps its signature).
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// A connector for unit tests that answers every request with `answer(uri)`
/// (status and body), and counts the requests.
#[cfg(test)]
type Answer = dyn Fn(&str) -> (u16, Vec<u8>) + Send + Sync;

#[cfg(test)]
#[derive(Clone)]
pub(crate) struct Answering {
    answer: std::sync::Arc<Answer>,
    pub(crate) requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[cfg(test)]
impl std::fmt::Debug for Answering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answering").finish_non_exhaustive()
    }
}

#[cfg(test)]
impl Answering {
    pub(crate) fn new(answer: impl Fn(&str) -> (u16, Vec<u8>) + Send + Sync + 'static) -> Self {
        Answering {
            answer: std::sync::Arc::new(answer),
            requests: std::sync::Arc::default(),
        }
    }

    pub(crate) fn shared(&self) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

#[cfg(test)]
impl HttpConnector for Answering {
    fn call(
        &self,
        request: HttpRequest,
    ) -> aws_smithy_runtime_api::client::http::HttpConnectorFuture {
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_types::body::SdkBody;
        let uri = request.uri().to_string();
        if let Ok(mut r) = self.requests.lock() {
            r.push(uri.clone());
        }
        let (status, body) = (self.answer)(&uri);
        let status = status.try_into().unwrap_or_else(|_| {
            aws_smithy_runtime_api::http::StatusCode::try_from(500u16).expect("500")
        });
        aws_smithy_runtime_api::client::http::HttpConnectorFuture::ready(Ok(HttpResponse::new(
            status,
            SdkBody::from(body),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_body_comes_back_a_5xx_is_retried_and_a_403_is_not() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = calls.clone();
        let flaky = Answering::new(move |_| {
            if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                (503, Vec::new())
            } else {
                (200, b"PK".to_vec())
            }
        });
        let body = get(
            &flaky.shared(),
            "https://x.example/a?X-Amz-Signature=s",
            10,
            "it",
        )
        .await
        .unwrap();
        assert_eq!(body, b"PK");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);

        let denied = Answering::new(|_| (403, Vec::new()));
        let e = get(
            &denied.shared(),
            "https://x.example/a?X-Amz-Signature=secret",
            10,
            "the package of function `f`",
        )
        .await
        .unwrap_err();
        assert!(e.contains("the package of function `f`"), "{e}");
        assert!(
            e.contains("HTTP 403") && e.contains("https://x.example/a"),
            "{e}"
        );
        assert!(!e.contains("secret"), "the signature is shown: {e}");
        assert_eq!(denied.requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let big = Answering::new(|_| (200, vec![0u8; 100]));
        let e = get(&big.shared(), "http://127.0.0.1:1/x", 99, "it")
            .await
            .unwrap_err();
        assert!(e.contains("larger than 99 bytes"), "{e}");
    }
}
