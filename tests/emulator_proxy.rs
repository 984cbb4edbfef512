//! Self-tests of the fault-injection proxy (tests/support/proxy.rs): SDK
//! clients (retries off) and the tool itself through it to the local
//! emulator that `scripts/test.sh` starts, and its HTTP/1.1 framing against a
//! small fake upstream. Run with `scripts/test.sh --test emulator_proxy`.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_smithy_runtime_api::client::result::SdkError;
use mobile_backend::aws::error_code;
use support::proxy::{self, Call, Fault, Faults, OpCounts, Outcome, Proxy};
use support::{read_call_log, World};

/// A bound on every call here: a hang fails the test instead of stalling it.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .build()
}

/// SDK clients of the world's account through `url`, built like `World`'s
/// but with retries disabled: each call is exactly one request.
struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    iam: aws_sdk_iam::Client,
    s3: aws_sdk_s3::Client,
    apigateway: aws_sdk_apigateway::Client,
    lambda: aws_sdk_lambda::Client,
}

fn clients(w: &World, url: &str) -> Clients {
    macro_rules! builder {
        ($krate:ident) => {
            $krate::config::Builder::from(&w.sdk)
                .endpoint_url(url)
                .retry_config(RetryConfig::disabled())
                .timeout_config(timeouts())
        };
    }
    Clients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(builder!(aws_sdk_dynamodb).build()),
        iam: aws_sdk_iam::Client::from_conf(builder!(aws_sdk_iam).build()),
        s3: aws_sdk_s3::Client::from_conf(builder!(aws_sdk_s3).force_path_style(true).build()),
        apigateway: aws_sdk_apigateway::Client::from_conf(builder!(aws_sdk_apigateway).build()),
        lambda: aws_sdk_lambda::Client::from_conf(builder!(aws_sdk_lambda).build()),
    }
}

/// A world and a proxy in front of its emulator.
fn world_and_proxy(prefix: &str) -> (World, Proxy, Clients) {
    let w = World::new(prefix);
    let proxy = Proxy::start(&w.endpoint);
    let c = clients(&w, &proxy.url());
    (w, proxy, c)
}

async fn create_table(dynamodb: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), String> {
    dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// (HTTP status, AWS error code) of a failed call.
fn status_and_code<E, R>(err: &SdkError<E, R>) -> (Option<u16>, Option<String>)
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    R: HasStatus,
{
    (
        err.raw_response().map(HasStatus::status),
        error_code(err).map(str::to_string),
    )
}

trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

fn counted(faulted: Fault) -> OpCounts {
    let mut c = OpCounts {
        seen: 1,
        ..OpCounts::default()
    };
    match faulted {
        Fault::Throttle => c.throttled = 1,
        Fault::Error500 => c.error_500 = 1,
        Fault::Error503 => c.error_503 = 1,
        Fault::Drop => c.dropped = 1,
    }
    c
}

// ------------------------------------------------ forwarding and counting --

#[tokio::test]
async fn a_read_is_forwarded_and_counted_as_not_mutating() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    let out = c
        .dynamodb
        .list_tables()
        .send()
        .await
        .expect("ListTables through the proxy");
    assert!(
        out.table_names().is_empty(),
        "a fresh account has no tables: {out:?}"
    );
    assert_eq!(
        proxy.count("dynamodb:ListTables"),
        OpCounts {
            mutating: false,
            seen: 1,
            forwarded: 1,
            ..OpCounts::default()
        }
    );
    assert_eq!(proxy.mutating_forwarded(), 0);
    assert_eq!(proxy.faults_injected(), 0);
}

#[tokio::test]
async fn a_create_is_forwarded_and_counted_as_mutating() {
    let (w, proxy, c) = world_and_proxy("proxy");
    let name = w.name("made");
    create_table(&c.dynamodb, &name)
        .await
        .expect("CreateTable through the proxy");
    let counts = proxy.count("dynamodb:CreateTable");
    assert!(counts.mutating, "{counts:?}");
    assert_eq!((counts.seen, counts.forwarded), (1, 1), "{counts:?}");
    assert_eq!(proxy.mutating_forwarded(), 1);
    // It reached the emulator (checked directly, not through the proxy).
    w.must_table(&name).await;

    proxy.reset_counts();
    assert!(proxy.counts().is_empty());
    assert_eq!(proxy.mutating_forwarded(), 0);
}

// ------------------------------------------------------------- throttling --

#[tokio::test]
async fn throttled_dynamodb_is_a_throttling_exception() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults::throttle(1.0));
    let err = c
        .dynamodb
        .list_tables()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("ThrottlingException".into())),
        "{err:?}"
    );
    assert_eq!(proxy.count("dynamodb:ListTables"), counted(Fault::Throttle));
}

#[tokio::test]
async fn throttled_iam_is_throttling_in_the_query_shape() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults::throttle(1.0));
    let err = c.iam.list_roles().send().await.expect_err("throttled");
    assert_eq!(
        status_and_code(&err),
        (Some(400), Some("Throttling".into())),
        "{err:?}"
    );
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::message(&err),
        Some("Rate exceeded")
    );
    assert_eq!(proxy.count("iam:ListRoles"), counted(Fault::Throttle));
}

#[tokio::test]
async fn throttled_s3_is_slow_down_with_503() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults::throttle(1.0));
    let err = c.s3.list_buckets().send().await.expect_err("throttled");
    assert_eq!(
        status_and_code(&err),
        (Some(503), Some("SlowDown".into())),
        "{err:?}"
    );
    assert_eq!(proxy.count("s3:ListBuckets"), counted(Fault::Throttle));
}

#[tokio::test]
async fn throttled_rest_json_services_are_too_many_requests_with_429() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults::throttle(1.0));
    let err = c
        .apigateway
        .get_rest_apis()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(
        status_and_code(&err),
        (Some(429), Some("TooManyRequestsException".into())),
        "{err:?}"
    );
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_too_many_requests_exception()),
        "API Gateway's modelled TooManyRequestsException: {err:?}"
    );
    let err = c
        .lambda
        .list_functions()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(
        status_and_code(&err),
        (Some(429), Some("TooManyRequestsException".into())),
        "{err:?}"
    );
    assert_eq!(
        proxy.count("apigateway:GET /restapis"),
        counted(Fault::Throttle),
        "{:?}",
        proxy.counts()
    );
    assert_eq!(
        proxy.count("lambda:GET /2015-03-31/functions"),
        counted(Fault::Throttle),
        "{:?}",
        proxy.counts()
    );
}

// ------------------------------------------------- 500, 503, drop, latency --

#[tokio::test]
async fn error_500_and_503_are_service_errors_with_their_status() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults::error_500(1.0));
    let err = c.dynamodb.list_tables().send().await.expect_err("500");
    assert!(matches!(err, SdkError::ServiceError(_)), "{err:?}");
    assert_eq!(
        status_and_code(&err),
        (Some(500), Some("InternalFailure".into())),
        "{err:?}"
    );
    let err = c.s3.list_buckets().send().await.expect_err("500");
    assert_eq!(
        status_and_code(&err),
        (Some(500), Some("InternalError".into())),
        "{err:?}"
    );

    proxy.set_faults(Faults::error_503(1.0));
    let err = c.iam.list_roles().send().await.expect_err("503");
    assert_eq!(
        status_and_code(&err),
        (Some(503), Some("ServiceUnavailable".into())),
        "{err:?}"
    );
    assert_eq!(proxy.count("dynamodb:ListTables"), counted(Fault::Error500));
    assert_eq!(proxy.count("iam:ListRoles"), counted(Fault::Error503));
    assert_eq!(proxy.faults_injected(), 3);
}

#[tokio::test]
async fn a_dropped_connection_is_a_dispatch_failure_not_a_hang() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    // Warm up a keep-alive connection first: the drop hits a reused one.
    c.dynamodb.list_tables().send().await.expect("ListTables");
    proxy.set_faults(Faults::drop_connection(1.0));
    let started = Instant::now();
    let err = c.dynamodb.list_tables().send().await.expect_err("dropped");
    let elapsed = started.elapsed();
    match &err {
        SdkError::DispatchFailure(failure) => assert!(
            failure.is_io() || failure.is_other(),
            "an I/O failure: {failure:?}"
        ),
        other => panic!("expected a dispatch failure, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(proxy.count("dynamodb:ListTables").dropped, 1);

    // Faults for named operations only: other operations pass.
    proxy.clear_faults();
    proxy.set_faults_for("dynamodb:DescribeTable", Faults::drop_connection(1.0));
    c.dynamodb
        .list_tables()
        .send()
        .await
        .expect("ListTables is not faulted");
    let err = c
        .dynamodb
        .describe_table()
        .table_name("nothing")
        .send()
        .await
        .expect_err("dropped");
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
}

#[tokio::test]
async fn latency_is_added_each_way() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    c.dynamodb.list_tables().send().await.expect("ListTables");
    proxy.set_latency(Duration::from_millis(50));
    let started = Instant::now();
    c.dynamodb.list_tables().send().await.expect("ListTables");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(100),
        "a round trip took {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "a round trip took {elapsed:?}"
    );
}

#[tokio::test]
async fn fault_rates_are_reproducible_per_seed() {
    let (_w, proxy, c) = world_and_proxy("proxy");
    proxy.set_faults(Faults {
        throttle: 0.3,
        error_500: 0.2,
        ..Faults::NONE
    });
    let mut runs = Vec::new();
    for _ in 0..2 {
        proxy.set_seed(42);
        proxy.reset_counts();
        for _ in 0..30 {
            let _ = c.dynamodb.list_tables().send().await;
        }
        let outcomes: Vec<Outcome> = proxy.calls().iter().map(|c| c.outcome).collect();
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1], "the same seed, the same faults");
    let faulted = runs[0].iter().filter(|o| **o != Outcome::Forwarded).count();
    assert!(
        (5..=25).contains(&faulted),
        "about half of 30 faulted: {faulted}"
    );
    let counts = proxy.count("dynamodb:ListTables");
    assert_eq!(counts.seen, 30);
    assert_eq!(counts.forwarded + counts.faults(), 30, "{counts:?}");
}

// ------------------------------------------------------------------- hold --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_after_mutating_holds_the_next_mutating_call() {
    let (w, proxy, c) = world_and_proxy("proxy");
    let (first, second) = (w.name("first"), w.name("second"));
    proxy.hold_after_mutating(1);
    let dynamodb = c.dynamodb.clone();
    let (a, b) = (first.clone(), second.clone());
    let task = tokio::spawn(async move {
        let first = create_table(&dynamodb, &a).await;
        let second = create_table(&dynamodb, &b).await;
        (first, second)
    });
    assert!(
        proxy.wait_until_held(Duration::from_secs(20)),
        "{:?}",
        proxy.calls()
    );
    assert_eq!(proxy.held(), 1);
    assert_eq!(proxy.mutating_forwarded(), 1, "{:?}", proxy.calls());
    let counts = proxy.count("dynamodb:CreateTable");
    assert_eq!(
        (counts.seen, counts.forwarded, counts.held),
        (2, 1, 1),
        "{counts:?}"
    );
    assert_eq!(
        proxy.calls(),
        vec![
            Call {
                key: "dynamodb:CreateTable".into(),
                mutating: true,
                outcome: Outcome::Forwarded
            },
            Call {
                key: "dynamodb:CreateTable".into(),
                mutating: true,
                outcome: Outcome::Held
            },
        ]
    );
    // Reads still pass while a mutating call is held.
    c.dynamodb
        .describe_table()
        .table_name(&first)
        .send()
        .await
        .expect("DescribeTable during the hold");
    assert!(
        w.table(&second).await.is_none(),
        "the held CreateTable never reached the emulator"
    );
    assert!(!task.is_finished(), "the held call is still waiting");

    proxy.release_hold();
    let (first_result, second_result) = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the held call ends once released")
        .expect("the task");
    first_result.expect("the first CreateTable was forwarded");
    let err = second_result.expect_err("the held CreateTable's connection was closed unanswered");
    assert!(err.contains("DispatchFailure"), "{err}");
    assert!(w.table(&second).await.is_none());
    assert_eq!(proxy.mutating_forwarded(), 1);

    // After the release, mutating calls go through again.
    create_table(&c.dynamodb, &second)
        .await
        .expect("CreateTable after the release");
    assert_eq!(proxy.mutating_forwarded(), 2);
}

// ----------------------------------------------------- the tool, proxied --

const ONE_TABLE: &str = r#"
[table.notes]
hash_key = { name = "userId", type = "S" }
"#;

/// Services whose requests the proxy names by REST template, not operation.
const REST_SERVICES: &[&str] = &["S3", "API Gateway", "Lambda", "OpenSearch", "CloudFront"];

/// `Service:Operation` (REST services: `Service:*`) → count.
fn by_call_log_name(keys: impl IntoIterator<Item = (String, usize)>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (key, n) in keys {
        let (service, operation) = key.split_once(':').unwrap_or((&key, ""));
        let key = if REST_SERVICES.contains(&service) {
            format!("{service}:*")
        } else {
            format!("{service}:{operation}")
        };
        *out.entry(key).or_insert(0) += n;
    }
    out
}

#[test]
fn the_tool_through_the_proxy_sends_exactly_the_calls_of_its_call_log() {
    let mut w = World::new("proxy");
    w.write_stack(ONE_TABLE);
    let proxy = Proxy::start(&w.endpoint);
    w.endpoint = proxy.url();
    let log = w.path("calls.log");
    w.run_logged(&["plan"], &log).code(0).stdout_has("notes");

    let logged = read_call_log(&log);
    assert!(!logged.is_empty(), "the tool logged no calls");
    let logged = by_call_log_name(logged.into_iter().map(|call| {
        // The stack lock's calls are DynamoDB's.
        let call = match call.split_once(':') {
            Some((service, op)) if service == mobile_backend::aws::LOCK_SERVICE => {
                format!("DynamoDB:{op}")
            }
            _ => call,
        };
        (call, 1)
    }));
    let seen = by_call_log_name(proxy.seen().into_iter().map(|(key, n)| {
        let (service, operation) = key.split_once(':').unwrap_or((&key, ""));
        let service = proxy::sdk_service_name(service)
            .unwrap_or_else(|| panic!("a request of an unknown service: {key}"));
        (format!("{service}:{operation}"), n)
    }));
    assert_eq!(
        seen, logged,
        "the proxy's counts against the tool's call log"
    );
    assert_eq!(proxy.faults_injected(), 0);
    assert_eq!(
        proxy.mutating_forwarded(),
        0,
        "plan changes nothing: {:?}",
        proxy.calls()
    );
}

// ------------------------------------------------- HTTP/1.1 framing, fake --

/// A fake upstream: records every request as received and answers by path.
struct Fake {
    url: String,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<Mutex<usize>>,
}

fn fake_upstream() -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(0));
    let (recorded, accepted) = (requests.clone(), connections.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            *accepted.lock().unwrap() += 1;
            let recorded = recorded.clone();
            std::thread::spawn(move || fake_serve(stream, recorded));
        }
    });
    Fake {
        url,
        requests,
        connections,
    }
}

fn fake_serve(mut stream: TcpStream, recorded: Arc<Mutex<Vec<Vec<u8>>>>) {
    loop {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => raw.push(byte[0]),
                _ => return,
            }
        }
        let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        if head.contains("transfer-encoding: chunked") {
            while !raw.ends_with(b"\r\n0\r\n\r\n") {
                match stream.read(&mut byte) {
                    Ok(1) => raw.push(byte[0]),
                    _ => return,
                }
            }
        } else if let Some(n) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            let mut body = vec![0; n];
            if stream.read_exact(&mut body).is_err() {
                return;
            }
            raw.extend(body);
        }
        let request_line = head.lines().next().unwrap_or_default().to_string();
        recorded.lock().unwrap().push(raw);
        let response: &[u8] = if request_line.starts_with("head ") {
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"
        } else if request_line.contains(" /chunked ") {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
        } else if request_line.contains(" /empty ") {
            b"HTTP/1.1 204 No Content\r\n\r\n"
        } else if request_line.contains(" /same ") {
            b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
        } else if request_line.contains(" /close ") {
            b"HTTP/1.1 200 OK\r\n\r\nuntil the end"
        } else {
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        };
        if stream.write_all(response).is_err() {
            return;
        }
        if request_line.contains(" /close ") {
            return;
        }
    }
}

/// Reads exactly `expected` from `stream` and compares.
#[track_caller]
fn expect_bytes(stream: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|e| panic!("reading {:?}: {e}", String::from_utf8_lossy(expected)));
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

#[test]
fn keep_alive_with_every_framing_is_forwarded_byte_for_byte() {
    let fake = fake_upstream();
    let proxy = Proxy::start(&fake.url);
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0\r\n";
    let host = format!("Host: {}\r\n", proxy.addr());
    let requests: Vec<(Vec<u8>, &[u8])> = vec![
        (
            format!("POST /restapis/a1b2c3/deployments HTTP/1.1\r\n{host}{auth}Content-Length: 5\r\n\r\nhello").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            format!("PUT /restapis/a1b2c3/resources/r9/methods/GET HTTP/1.1\r\n{host}{auth}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext\r\nde\r\n0\r\n\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            format!("GET /chunked HTTP/1.1\r\n{host}{auth}\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
        ),
        (
            format!("HEAD /restapis HTTP/1.1\r\n{host}{auth}\r\n").into_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        ),
        (
            format!("DELETE /empty HTTP/1.1\r\n{host}{auth}\r\n").into_bytes(),
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ),
        (
            format!("GET /same HTTP/1.1\r\n{host}{auth}\r\n").into_bytes(),
            b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        ),
    ];
    for (request, response) in &requests {
        client.write_all(request).unwrap();
        expect_bytes(&mut client, response);
    }
    // `Expect: 100-continue`: the proxy says continue, then forwards it all.
    let expect = format!(
        "PUT /restapis/x HTTP/1.1\r\n{host}{auth}Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    );
    client.write_all(expect.as_bytes()).unwrap();
    expect_bytes(&mut client, b"HTTP/1.1 100 Continue\r\n\r\n");
    client.write_all(b"xyz").unwrap();
    expect_bytes(
        &mut client,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );

    // A response framed by the connection's end ends the client connection.
    let close = format!("GET /close HTTP/1.1\r\n{host}{auth}\r\n");
    client.write_all(close.as_bytes()).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "HTTP/1.1 200 OK\r\n\r\nuntil the end"
    );

    let recorded = fake.requests.lock().unwrap().clone();
    let mut sent: Vec<Vec<u8>> = requests.into_iter().map(|(r, _)| r).collect();
    sent.push([expect.as_bytes(), b"xyz"].concat());
    sent.push(close.into_bytes());
    assert_eq!(recorded.len(), sent.len());
    for (got, want) in recorded.iter().zip(&sent) {
        assert_eq!(String::from_utf8_lossy(got), String::from_utf8_lossy(want));
    }
    assert_eq!(
        *fake.connections.lock().unwrap(),
        1,
        "one keep-alive upstream connection"
    );
    let seen = proxy.seen();
    assert_eq!(
        seen.get("apigateway:POST /restapis/{id}/deployments"),
        Some(&1),
        "{seen:?}"
    );
    assert_eq!(
        seen.get("apigateway:PUT /restapis/{id}/resources/{id}/methods/GET"),
        Some(&1),
        "{seen:?}"
    );
    assert_eq!(seen.get("apigateway:HEAD /restapis"), Some(&1), "{seen:?}");
    // POST, PUT (twice) and DELETE are mutating; GET and HEAD are not.
    assert_eq!(proxy.mutating_forwarded(), 4, "{:?}", proxy.counts());
}

#[test]
fn a_malformed_request_is_answered_400_and_closed() {
    let fake = fake_upstream();
    let proxy = Proxy::start(&fake.url);
    let mut client = TcpStream::connect(proxy.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(fake.requests.lock().unwrap().is_empty());
    assert!(proxy.counts().is_empty());
}

#[test]
fn dropping_the_proxy_closes_held_and_idle_connections() {
    let fake = fake_upstream();
    let proxy = Proxy::start(&fake.url);
    let auth = "Authorization: AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0\r\n";
    let mut idle = TcpStream::connect(proxy.addr()).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    idle.write_all(
        format!("GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n{auth}\r\n").as_bytes(),
    )
    .unwrap();
    expect_bytes(&mut idle, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    proxy.hold_after_mutating(0);
    let mut held = TcpStream::connect(proxy.addr()).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    held.write_all(
        format!(
            "POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\n\r\n{{}}"
        )
        .as_bytes(),
    )
    .unwrap();
    assert!(proxy.wait_until_held(Duration::from_secs(5)));
    assert_eq!(proxy.count("lambda:POST /2015-03-31/functions").held, 1);
    let started = Instant::now();
    drop(proxy);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopping took {:?}",
        started.elapsed()
    );
    for mut stream in [idle, held] {
        let mut rest = Vec::new();
        let n = stream.read_to_end(&mut rest).unwrap_or(0);
        assert_eq!(
            n,
            0,
            "closed without an answer: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

#[test]
fn operations_are_named_per_protocol() {
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let auth = |service: &str| {
        format!("AWS4-HMAC-SHA256 Credential=123456789012/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
    };
    let op = proxy::identify(
        "POST",
        "/",
        &h(&[
            ("Authorization", &auth("dynamodb")),
            ("X-Amz-Target", "DynamoDB_20120810.DescribeTable"),
        ]),
        b"{}",
    );
    assert_eq!(
        (op.key(), op.mutating, op.rest),
        ("dynamodb:DescribeTable".into(), false, false)
    );
    let op = proxy::identify(
        "POST",
        "/",
        &h(&[
            ("authorization", &auth("iam")),
            ("content-type", "application/x-www-form-urlencoded"),
        ]),
        b"Version=2010-05-08&Action=CreateRole&RoleName=x",
    );
    assert_eq!((op.key(), op.mutating), ("iam:CreateRole".into(), true));
    let op = proxy::identify(
        "GET",
        "/b/k?x-id=GetObject",
        &h(&[("Authorization", &auth("s3"))]),
        b"",
    );
    assert_eq!((op.key(), op.mutating), ("s3:GetObject".into(), false));
    let op = proxy::identify(
        "PUT",
        "/my-bucket?tagging",
        &h(&[("Authorization", &auth("s3"))]),
        b"x",
    );
    assert_eq!(
        (op.key(), op.mutating, op.rest),
        ("s3:PUT /{bucket}?tagging".into(), true, true)
    );
    let op = proxy::identify(
        "GET",
        "/2021-01-01/opensearch/domain/notes-search/config",
        &h(&[("Authorization", &auth("es"))]),
        b"",
    );
    assert_eq!(op.key(), "es:GET /2021-01-01/opensearch/domain/{id}/config");
    assert!(!op.mutating);
    let op = proxy::identify(
        "POST",
        "/2021-01-01/opensearch/domain-info",
        &h(&[("Authorization", &auth("es"))]),
        b"{}",
    );
    assert!(!op.mutating, "OpenSearch DescribeDomains reads: {op:?}");
    let op = proxy::identify(
        "DELETE",
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/policy/sid-1",
        &h(&[("Authorization", &auth("lambda"))]),
        b"",
    );
    assert_eq!(
        (op.key(), op.mutating),
        (
            "lambda:DELETE /2015-03-31/functions/{id}/policy/{id}".into(),
            true
        )
    );
    let op = proxy::identify(
        "POST",
        "/",
        &h(&[
            ("Authorization", &auth("cognito-idp")),
            (
                "X-Amz-Target",
                "AWSCognitoIdentityProviderService.SearchThings",
            ),
        ]),
        b"{}",
    );
    assert!(!op.mutating, "Search* reads");
    let op = proxy::identify("GET", "/?X-Amz-Credential=AK%2F20240101%2Fus-east-1%2Fsts%2Faws4_request&Action=GetCallerIdentity", &[], b"");
    assert_eq!(op.key(), "sts:GetCallerIdentity");
}
