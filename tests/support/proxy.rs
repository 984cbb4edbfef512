//! A fault-injection HTTP/1.1 proxy for the emulator tests, between the tool
//! (or SDK clients) and MiniStack, on 127.0.0.1 only. Test support code: the
//! shipped binary never goes through it unless a test points `--endpoint-url`
//! at [`Proxy::url`].
//!
//! - Forwards every request byte for byte (Host and every signed header kept:
//!   MiniStack routes by the SigV4 credential scope), HTTP/1.1 keep-alive with
//!   many requests per connection, bodies framed by `Content-Length` or
//!   `Transfer-Encoding: chunked` both ways, `HEAD` / 1xx / 204 / 304
//!   responses without a body, `Expect: 100-continue` answered by the proxy.
//! - Names each request `service:Operation`: the service from the SigV4
//!   credential scope; the operation from `X-Amz-Target` (JSON protocols),
//!   `Action=` (Query protocols), S3's `x-id=` query parameter, or else
//!   `METHOD /path/{id}/template` for REST protocols.
//! - Adds a one-way latency (before forwarding a request and again before
//!   returning its response: a round trip costs twice the latency).
//! - Injects faults at configurable rates, for all operations or named ones:
//!   throttling in each protocol's own shape, HTTP 500, HTTP 503, and dropped
//!   connections (closed after the request was read, never answered). A
//!   seeded xorshift generator draws one number per request, in arrival
//!   order, so a sequential run is reproducible per seed.
//! - Counts requests per operation (seen, forwarded, each fault), and can
//!   hold the (k+1)-th mutating request ([`Proxy::hold_after_mutating`]) so a
//!   test can kill the tool knowing exactly k mutating calls reached AWS.
//!
//! One thread per connection on std `TcpListener` / `TcpStream`; no
//! dependency beyond the standard library. Dropping the [`Proxy`] stops it
//! and closes every connection, held ones included.
//!
//! To run the tool through it, give a `World` the proxy's URL after the
//! proxy has taken the emulator's: `let proxy = Proxy::start(&w.endpoint);
//! w.endpoint = proxy.url();` (the `World`'s own `dynamodb` and `s3` clients
//! keep talking to the emulator directly).

#![allow(dead_code)] // not every test uses every helper

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The largest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body accepted (bodies are read whole before forwarding).
const MAX_BODY: usize = 256 * 1024 * 1024;
/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests forwarded to the emulator at once, at most. MiniStack answers
/// one request at a time and listens with hypercorn's backlog of 100: a
/// burst of hundreds of new upstream connections (a large plan's reads)
/// overflowed it, the kernel dropped their SYNs and sent them again a
/// second later, and a plan took 1.6 s or 0.6 s by chance. Requests beyond
/// the bound wait their turn here, as they would in the emulator's queue.
const FORWARD_AT_ONCE: usize = 32;

// ------------------------------------------------------------- public API --

/// Rates (0.0 to 1.0) of the faults injected instead of forwarding a
/// request. One draw per request decides: throttle, then 500, then 503, then
/// drop, each taking its share of [0, 1); rates summing past 1 are cut there.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Throttling error in the service's protocol (`ThrottlingException`,
    /// `Throttling`, `TooManyRequestsException`, `SlowDown`).
    pub throttle: f64,
    /// HTTP 500 (`InternalFailure`; S3: `InternalError`).
    pub error_500: f64,
    /// HTTP 503 (`ServiceUnavailable`).
    pub error_503: f64,
    /// The connection closed after the request was read, without an answer.
    pub drop: f64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        throttle: 0.0,
        error_500: 0.0,
        error_503: 0.0,
        drop: 0.0,
    };

    pub fn throttle(rate: f64) -> Faults {
        Faults {
            throttle: rate,
            ..Faults::NONE
        }
    }

    pub fn error_500(rate: f64) -> Faults {
        Faults {
            error_500: rate,
            ..Faults::NONE
        }
    }

    pub fn error_503(rate: f64) -> Faults {
        Faults {
            error_503: rate,
            ..Faults::NONE
        }
    }

    pub fn drop_connection(rate: f64) -> Faults {
        Faults {
            drop: rate,
            ..Faults::NONE
        }
    }

    /// The fault a draw `r` in [0, 1) picks, if any.
    fn pick(&self, r: f64) -> Option<Fault> {
        let mut edge = 0.0;
        for (rate, fault) in [
            (self.throttle, Fault::Throttle),
            (self.error_500, Fault::Error500),
            (self.error_503, Fault::Error503),
            (self.drop, Fault::Drop),
        ] {
            // NaN and negative rates count as 0.
            edge += if rate > 0.0 { rate.min(1.0) } else { 0.0 };
            if r < edge {
                return Some(fault);
            }
        }
        None
    }
}

/// One kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Throttle,
    Error500,
    Error503,
    Drop,
}

/// What happened to the requests of one `service:Operation`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Whether the operation changes anything.
    pub mutating: bool,
    /// Requests received.
    pub seen: usize,
    /// Requests sent on to the emulator (counted when the proxy decides to
    /// forward; an unreachable emulator is answered with a 502 and logged).
    pub forwarded: usize,
    pub throttled: usize,
    pub error_500: usize,
    pub error_503: usize,
    pub dropped: usize,
    /// Requests held by [`Proxy::hold_after_mutating`] (never forwarded).
    pub held: usize,
}

impl OpCounts {
    /// Faults injected, of every kind.
    pub fn faults(&self) -> usize {
        self.throttled + self.error_500 + self.error_503 + self.dropped
    }
}

/// What the proxy did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    Fault(Fault),
    Held,
}

/// One request, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `service:Operation` (see [`Operation::key`]).
    pub key: String,
    pub mutating: bool,
    pub outcome: Outcome,
}

/// The AWS operation of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The SigV4 signing name: `dynamodb`, `iam`, `s3`, `apigateway`, `es`...
    /// (`unknown` for an unsigned request).
    pub service: String,
    /// `CreateTable`, `ListRoles`; for REST protocols without an operation
    /// name in the request, `METHOD /path/{id}/template`.
    pub name: String,
    pub mutating: bool,
    /// Whether `name` is a REST template rather than an operation name.
    pub rest: bool,
}

impl Operation {
    /// `service:Operation`, the key of the counts.
    pub fn key(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

/// A running proxy; it stops, closing every connection, when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 (a free port) in front of `upstream`
    /// (`http://host:port`, such as the emulator's URL).
    #[track_caller]
    pub fn start(upstream: &str) -> Proxy {
        let authority = upstream_authority(upstream).unwrap_or_else(|| {
            panic!("the proxy's upstream must be http://host:port, not {upstream:?}")
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            upstream: authority,
            state: Mutex::new(State::new()),
            changed: Condvar::new(),
            stopping: AtomicBool::new(false),
            sockets: Mutex::new(HashMap::new()),
            forwarding: Mutex::new(0),
            forwarded: Condvar::new(),
        });
        let workers = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let workers = Arc::clone(&workers);
            std::thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(listener, shared, workers))
                .expect("start the proxy's accept thread")
        };
        Proxy {
            addr,
            shared,
            acceptor: Some(acceptor),
            workers,
        }
    }

    /// `http://127.0.0.1:<port>`, for `--endpoint-url` and SDK clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The one-way latency: added before a request is forwarded (or a fault
    /// answered) and again before the response is returned.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    pub fn latency(&self) -> Duration {
        self.shared.state().latency
    }

    /// Restarts the fault generator from `seed` (the default seed is 1).
    pub fn set_seed(&self, seed: u64) {
        self.shared.state().rng = XorShift::new(seed);
    }

    /// Fault rates of every operation without rates of its own.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.state().all = faults;
    }

    /// Fault rates of the operations `name` selects, overriding
    /// [`Proxy::set_faults`]: `dynamodb:CreateTable` (one operation of one
    /// service), `CreateTable` (that operation of any service), or
    /// `dynamodb:*` (every operation of the service), most specific first.
    /// REST operations are named by their template:
    /// `apigateway:POST /restapis/{id}/deployments`.
    pub fn set_faults_for(&self, name: &str, faults: Faults) {
        self.shared.state().named.insert(name.to_string(), faults);
    }

    /// No faults anywhere.
    pub fn clear_faults(&self) {
        let mut state = self.shared.state();
        state.all = Faults::NONE;
        state.named.clear();
    }

    /// Counts per `service:Operation`.
    pub fn counts(&self) -> BTreeMap<String, OpCounts> {
        self.shared.state().counts.clone()
    }

    /// Counts of one `service:Operation` (all zero if never seen).
    pub fn count(&self, key: &str) -> OpCounts {
        self.shared
            .state()
            .counts
            .get(key)
            .copied()
            .unwrap_or_default()
    }

    /// Requests received per `service:Operation`.
    pub fn seen(&self) -> BTreeMap<String, usize> {
        self.per_key(|c| c.seen)
    }

    /// Requests forwarded per `service:Operation`.
    pub fn forwarded(&self) -> BTreeMap<String, usize> {
        self.per_key(|c| c.forwarded)
    }

    fn per_key(&self, f: impl Fn(&OpCounts) -> usize) -> BTreeMap<String, usize> {
        self.shared
            .state()
            .counts
            .iter()
            .map(|(k, c)| (k.clone(), f(c)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Every request since the start (or [`Proxy::reset_counts`]), in order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.state().calls.clone()
    }

    /// Every request since the start (or [`Proxy::reset_counts`]), in order,
    /// with when it reached the proxy, from the first one's arrival.
    pub fn timeline(&self) -> Vec<(Duration, String)> {
        let state = self.shared.state();
        let first = state.arrivals.first().copied();
        state
            .arrivals
            .iter()
            .zip(&state.calls)
            .map(|(at, call)| {
                let since = first.map(|f| at.duration_since(f)).unwrap_or_default();
                (since, call.key.clone())
            })
            .collect()
    }

    /// Mutating requests forwarded to the emulator.
    pub fn mutating_forwarded(&self) -> usize {
        self.shared
            .state()
            .counts
            .values()
            .filter(|c| c.mutating)
            .map(|c| c.forwarded)
            .sum()
    }

    /// Faults injected, of every kind, on every operation.
    pub fn faults_injected(&self) -> usize {
        self.shared
            .state()
            .counts
            .values()
            .map(OpCounts::faults)
            .sum()
    }

    /// Forgets every count and call (the settings and the hold stay).
    pub fn reset_counts(&self) {
        let mut state = self.shared.state();
        state.counts.clear();
        state.calls.clear();
        state.arrivals.clear();
    }

    /// Forwards the next `k` mutating requests, then holds every mutating
    /// request after them: not forwarded, not answered, its connection kept
    /// open until [`Proxy::release_hold`] (or the proxy's drop) closes it.
    /// Reads are forwarded all along. A hold set before is released first.
    pub fn hold_after_mutating(&self, k: usize) {
        let mut state = self.shared.state();
        state.hold = Some(Hold {
            after: k,
            forwarded: 0,
            held: 0,
        });
        state.hold_generation += 1;
        self.shared.changed.notify_all();
    }

    /// Waits until a request is held; false when `timeout` passes first.
    pub fn wait_until_held(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        loop {
            if state.hold.is_some_and(|h| h.held > 0) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || self.shared.stopping() {
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Requests held since the last [`Proxy::hold_after_mutating`].
    pub fn held(&self) -> usize {
        self.shared.state().hold.map_or(0, |h| h.held)
    }

    /// Ends the hold: held connections are closed unanswered, and mutating
    /// requests are forwarded again.
    pub fn release_hold(&self) {
        let mut state = self.shared.state();
        state.hold = None;
        state.hold_generation += 1;
        self.shared.changed.notify_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        {
            // Under the lock: a thread about to wait sees `stopping` or
            // gets this notification.
            let _state = self.shared.state();
            self.shared.changed.notify_all();
        }
        // Wakes the accept loop, which then sees `stopping`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for sockets in lock(&self.shared.sockets).values() {
            sockets.shutdown();
        }
        let workers = std::mem::take(&mut *lock(&self.workers));
        for worker in workers {
            let _ = worker.join();
        }
    }
}

/// The SDK's service name (as in the tool's call log, `DynamoDB:PutItem`)
/// of a SigV4 signing name.
pub fn sdk_service_name(signing_name: &str) -> Option<&'static str> {
    Some(match signing_name {
        "dynamodb" => "DynamoDB",
        "s3" => "S3",
        "sts" => "STS",
        "iam" => "IAM",
        "tagging" => "Resource Groups Tagging API",
        "cognito-idp" => "Cognito Identity Provider",
        "cognito-identity" => "Cognito Identity",
        "lambda" => "Lambda",
        "apigateway" => "API Gateway",
        "cloudsearch" => "CloudSearch",
        "es" => "OpenSearch",
        "cloudfront" => "CloudFront",
        _ => return None,
    })
}

/// Names the AWS operation of a request (see [`Operation`]).
pub fn identify(
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Operation {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let service = header(headers, "authorization")
        .and_then(scope_service)
        .or_else(|| form_value(query, "X-Amz-Credential").and_then(|c| credential_service(&c)))
        .unwrap_or_else(|| "unknown".to_string());
    let named = |name: String| Operation {
        mutating: named_is_mutating(&name),
        service: service.clone(),
        name,
        rest: false,
    };
    if let Some(amz_target) = header(headers, "x-amz-target") {
        let name = amz_target.rsplit('.').next().unwrap_or(amz_target).trim();
        return named(name.to_string());
    }
    let form = header(headers, "content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("x-www-form-urlencoded"));
    let action = if form {
        form_value(&String::from_utf8_lossy(body), "Action")
    } else {
        None
    };
    if let Some(action) = action.or_else(|| form_value(query, "Action")) {
        return named(action);
    }
    if service == "s3" {
        if let Some(name) = form_value(query, "x-id") {
            return named(name);
        }
    }
    let name = format!("{method} {}", path_template(&service, path, query));
    Operation {
        mutating: !matches!(method, "GET" | "HEAD")
            && !REST_POST_READS.contains(&(service.as_str(), name.as_str())),
        name,
        service,
        rest: true,
    }
}

/// REST reads sent with POST (counted as not mutating).
const REST_POST_READS: &[(&str, &str)] = &[
    // OpenSearch DescribeDomains.
    ("es", "POST /2021-01-01/opensearch/domain-info"),
];

/// The path with its ids replaced: S3 `/{bucket}/{key}` plus the names of its
/// sub-resource query parameters (`PUT /{bucket}?tagging`); other services
/// keep their API's literal segments (`restapis`, `2015-03-31`, `GET`) and
/// put `{id}` for the rest.
pub fn path_template(service: &str, path: &str, query: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if service == "s3" {
        let mut template = match segments.len() {
            0 => "/".to_string(),
            1 => "/{bucket}".to_string(),
            _ => "/{bucket}/{key}".to_string(),
        };
        let mut subresources: Vec<&str> = query
            .split('&')
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (!key.is_empty() && (value.is_empty() || key == "list-type")).then_some(key)
            })
            .collect();
        subresources.sort_unstable();
        subresources.dedup();
        if !subresources.is_empty() {
            template.push('?');
            template.push_str(&subresources.join("&"));
        }
        return template;
    }
    let mut template = String::new();
    for segment in segments {
        template.push('/');
        template.push_str(if is_literal_segment(segment) {
            segment
        } else {
            "{id}"
        });
    }
    if template.is_empty() {
        template.push('/');
    }
    template
}

/// The path segments of the REST APIs the tool calls (API Gateway, Lambda,
/// OpenSearch, CloudFront) that are part of the API, not ids.
const REST_WORDS: &[&str] = &[
    "account",
    "aliases",
    "apikeys",
    "authorizers",
    "basepathmappings",
    "clientcertificates",
    "code",
    "compatibleVersions",
    "concurrency",
    "config",
    "configuration",
    "deployments",
    "distribution",
    "documentation",
    "domain",
    "domain-info",
    "domainnames",
    "dryRun",
    "event-invoke-config",
    "event-source-mappings",
    "exports",
    "functions",
    "gatewayresponses",
    "integration",
    "invocations",
    "keys",
    "layers",
    "methods",
    "models",
    "opensearch",
    "origin-access-control",
    "parts",
    "policy",
    "requestvalidators",
    "resources",
    "responses",
    "restapis",
    "sdktypes",
    "stages",
    "status",
    "tagging",
    "tags",
    "tags-removal",
    "upgradeDomain",
    "url",
    "usageplans",
    "versions",
    "vpclinks",
];

fn is_literal_segment(segment: &str) -> bool {
    let b = segment.as_bytes();
    let api_version = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    api_version
        || matches!(
            segment,
            "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "ANY"
        )
        || REST_WORDS.contains(&segment)
}

/// Mirrors `mobile_backend::aws::is_mutating`, and `Search*` reads too.
fn named_is_mutating(operation: &str) -> bool {
    mobile_backend::aws::is_mutating(operation) && !operation.starts_with("Search")
}

// ------------------------------------------------------------ shared state --

#[derive(Debug, Clone, Copy)]
struct Hold {
    /// Mutating requests to forward before holding.
    after: usize,
    /// Mutating requests forwarded (or about to be) since the hold was set.
    forwarded: usize,
    held: usize,
}

struct State {
    latency: Duration,
    rng: XorShift,
    all: Faults,
    named: BTreeMap<String, Faults>,
    counts: BTreeMap<String, OpCounts>,
    calls: Vec<Call>,
    /// When each call in `calls` reached the proxy (before its latency).
    arrivals: Vec<Instant>,
    hold: Option<Hold>,
    /// Changes at every hold and release: held requests wait for a change.
    hold_generation: u64,
}

impl State {
    fn new() -> State {
        State {
            latency: Duration::ZERO,
            rng: XorShift::new(1),
            all: Faults::NONE,
            named: BTreeMap::new(),
            counts: BTreeMap::new(),
            calls: Vec::new(),
            arrivals: Vec::new(),
            hold: None,
            hold_generation: 0,
        }
    }

    fn faults_for(&self, op: &Operation) -> Faults {
        [op.key(), op.name.clone(), format!("{}:*", op.service)]
            .iter()
            .find_map(|name| self.named.get(name).copied())
            .unwrap_or(self.all)
    }

    /// Decides what to do with a request, and counts it.
    fn decide(&mut self, op: &Operation, arrived: Instant) -> Action {
        let draw = self.rng.next_f64();
        let faults = self.faults_for(op);
        let key = op.key();
        let held = op.mutating && self.hold.is_some_and(|h| h.forwarded >= h.after);
        let action = if held {
            Action::Hold(self.hold_generation)
        } else if let Some(fault) = faults.pick(draw) {
            Action::Fault(fault)
        } else {
            Action::Forward
        };
        let counts = self.counts.entry(key.clone()).or_default();
        counts.mutating = op.mutating;
        counts.seen += 1;
        let outcome = match action {
            Action::Hold(_) => {
                counts.held += 1;
                if let Some(hold) = &mut self.hold {
                    hold.held += 1;
                }
                Outcome::Held
            }
            Action::Fault(fault) => {
                match fault {
                    Fault::Throttle => counts.throttled += 1,
                    Fault::Error500 => counts.error_500 += 1,
                    Fault::Error503 => counts.error_503 += 1,
                    Fault::Drop => counts.dropped += 1,
                }
                Outcome::Fault(fault)
            }
            Action::Forward => {
                counts.forwarded += 1;
                if op.mutating {
                    if let Some(hold) = &mut self.hold {
                        hold.forwarded += 1;
                    }
                }
                Outcome::Forwarded
            }
        };
        self.arrivals.push(arrived);
        self.calls.push(Call {
            key,
            mutating: op.mutating,
            outcome,
        });
        action
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Forward,
    Fault(Fault),
    /// Held until the hold generation moves on from this one.
    Hold(u64),
}

/// xorshift64*: small, fast, reproducible per seed.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        let state = seed ^ 0x9E37_79B9_7F4A_7C15;
        XorShift(if state == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            state
        })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The sockets of one client connection, shut down when the proxy stops.
struct Sockets {
    client: TcpStream,
    upstream: Option<TcpStream>,
}

impl Sockets {
    fn shutdown(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        if let Some(upstream) = &self.upstream {
            let _ = upstream.shutdown(Shutdown::Both);
        }
    }
}

struct Shared {
    /// `host:port` of the emulator.
    upstream: String,
    state: Mutex<State>,
    changed: Condvar,
    stopping: AtomicBool,
    sockets: Mutex<HashMap<u64, Sockets>>,
    /// Requests being forwarded now (at most [`FORWARD_AT_ONCE`]).
    forwarding: Mutex<usize>,
    forwarded: Condvar,
}

/// A request's turn to be forwarded; the next one's when dropped.
struct Turn<'a>(&'a Shared);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *lock(&self.0.forwarding) -= 1;
        self.0.forwarded.notify_one();
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Records a new client connection; false when the proxy is stopping.
    fn register(&self, id: u64, client: &TcpStream) -> bool {
        let Ok(clone) = client.try_clone() else {
            return false;
        };
        let mut sockets = lock(&self.sockets);
        if self.stopping() {
            return false;
        }
        sockets.insert(
            id,
            Sockets {
                client: clone,
                upstream: None,
            },
        );
        true
    }

    fn unregister(&self, id: u64) {
        lock(&self.sockets).remove(&id);
    }

    /// Opens a connection to the emulator for client connection `id`.
    /// Waits for a turn to forward a request (`None`: the proxy is stopping).
    fn turn(&self) -> Option<Turn<'_>> {
        let mut forwarding = lock(&self.forwarding);
        while *forwarding >= FORWARD_AT_ONCE {
            if self.stopping() {
                return None;
            }
            forwarding = self
                .forwarded
                .wait_timeout(forwarding, Duration::from_millis(100))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *forwarding += 1;
        Some(Turn(self))
    }

    fn connect_upstream(&self, id: u64) -> Result<Upstream, String> {
        let addr = self
            .upstream
            .to_socket_addrs()
            .map_err(|e| format!("resolve {}: {e}", self.upstream))?
            .next()
            .ok_or_else(|| format!("{} has no address", self.upstream))?;
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let clone = stream
            .try_clone()
            .map_err(|e| format!("clone the upstream socket: {e}"))?;
        let registered = stream
            .try_clone()
            .map_err(|e| format!("clone the upstream socket: {e}"))?;
        let mut sockets = lock(&self.sockets);
        if self.stopping() {
            return Err("the proxy is stopping".into());
        }
        if let Some(entry) = sockets.get_mut(&id) {
            entry.upstream = Some(registered);
        }
        Ok(Upstream {
            reader: BufReader::new(clone),
            writer: stream,
        })
    }

    /// Sleeps `duration`, or less when the proxy stops.
    fn sleep(&self, duration: Duration) {
        if duration.is_zero() {
            return;
        }
        let deadline = Instant::now() + duration;
        let mut state = self.state();
        loop {
            let now = Instant::now();
            if self.stopping() || now >= deadline {
                return;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Blocks a held request until the hold of `generation` ends.
    fn wait_released(&self, generation: u64) {
        let mut state = self.state();
        // Wakes `wait_until_held`.
        self.changed.notify_all();
        while !self.stopping() && state.hold_generation == generation {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `host:port` of `http://host:port[/]`.
fn upstream_authority(url: &str) -> Option<String> {
    let rest = url.trim().strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty() && authority.contains(':')).then(|| authority.to_string())
}

// ------------------------------------------------------------ connections --

fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    workers: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("fault proxy: accept: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        if !shared.register(id, &stream) {
            if shared.stopping() {
                break;
            }
            eprintln!("fault proxy: cannot track a new connection; closing it");
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("fault-proxy-{id}"))
                .spawn(move || {
                    serve(&shared, id, stream);
                    shared.unregister(id);
                })
        };
        match worker {
            Ok(handle) => {
                let mut workers = lock(&workers);
                workers.retain(|w| !w.is_finished());
                workers.push(handle);
            }
            Err(e) => {
                eprintln!("fault proxy: cannot start a connection thread: {e}");
                if let Some(sockets) = lock(&shared.sockets).remove(&id) {
                    sockets.shutdown();
                }
            }
        }
    }
}

/// A keep-alive connection to the emulator.
struct Upstream {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Upstream {
    fn close(self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }
}

/// Serves one client connection until it closes, a fault or hold closes it,
/// or the proxy stops.
fn serve(shared: &Shared, id: u64, client: TcpStream) {
    let _ = client.set_nodelay(true);
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = client;
    let mut upstream: Option<Upstream> = None;
    while !shared.stopping() {
        let request = match read_request(&mut reader, &mut writer) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(ReadError::Malformed(why)) => {
                eprintln!("fault proxy: malformed request, answering 400: {why}");
                let _ = writer.write_all(&plain_response(400, "Bad Request", &why));
                break;
            }
            Err(ReadError::Io(_)) => break,
        };
        let op = identify(
            &request.method,
            &request.target,
            &request.headers,
            &request.body,
        );
        let arrived = Instant::now();
        let latency = shared.state().latency;
        shared.sleep(latency);
        if shared.stopping() {
            break;
        }
        let action = shared.state().decide(&op, arrived);
        let response = match action {
            Action::Hold(generation) => {
                shared.wait_released(generation);
                break;
            }
            Action::Fault(Fault::Drop) => break,
            Action::Fault(fault) => Response {
                bytes: fault_response(&op, &request, fault),
                close: false,
            },
            Action::Forward => match forward(shared, id, &mut upstream, &request) {
                Ok(response) => response,
                Err(why) => {
                    eprintln!(
                        "fault proxy: {} not forwarded, answering 502: {why}",
                        op.key()
                    );
                    let _ = writer.write_all(&plain_response(502, "Bad Gateway", &why));
                    break;
                }
            },
        };
        let latency = shared.state().latency;
        shared.sleep(latency);
        if shared.stopping() || writer.write_all(&response.bytes).is_err() {
            break;
        }
        if response.close || request.close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    if let Some(upstream) = upstream {
        upstream.close();
    }
}

/// Sends `request` to the emulator on the connection's keep-alive upstream
/// connection (opened when needed); a reused connection the emulator closed
/// while idle is replaced once, and so is a new one it reset before reading
/// the request (a burst of hundreds of new connections overflows its accept
/// queue; the kernel then resets connections whose request was never read).
fn forward(
    shared: &Shared,
    id: u64,
    upstream: &mut Option<Upstream>,
    request: &Request,
) -> Result<Response, String> {
    let Some(_turn) = shared.turn() else {
        return Err("the proxy is stopping".into());
    };
    for attempt in 0..2 {
        let reused = upstream.is_some();
        let mut connection = match upstream.take() {
            Some(connection) => connection,
            None => shared.connect_upstream(id)?,
        };
        let result = exchange(&mut connection, request);
        let stale = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            )
        };
        match result {
            Ok(Some(response)) => {
                if response.close {
                    connection.close();
                } else {
                    *upstream = Some(connection);
                }
                return Ok(response);
            }
            Ok(None) if reused && attempt == 0 => connection.close(),
            Err(ReadError::Io(e)) if reused && attempt == 0 && stale(&e) => connection.close(),
            Err(ReadError::Io(e)) if attempt == 0 && e.kind() == io::ErrorKind::ConnectionReset => {
                connection.close();
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                connection.close();
                return Err("the emulator closed the connection without answering".into());
            }
            Err(ReadError::Io(e)) => {
                connection.close();
                return Err(format!("talking to the emulator: {e}"));
            }
            Err(ReadError::Malformed(why)) => {
                connection.close();
                return Err(format!("the emulator's response is malformed: {why}"));
            }
        }
    }
    Err("the emulator closed the connection without answering".into())
}

/// Writes the request and reads its response (`None`: closed before any
/// byte of one).
fn exchange(connection: &mut Upstream, request: &Request) -> Result<Option<Response>, ReadError> {
    connection.writer.write_all(&request.head)?;
    connection.writer.write_all(&request.raw_body)?;
    connection.writer.flush()?;
    read_response(&mut connection.reader, &request.method)
}

// ---------------------------------------------------------------- HTTP/1.1 --

#[derive(Debug)]
enum ReadError {
    /// The peer broke the connection.
    Io(io::Error),
    /// Not HTTP/1.1 this proxy can frame.
    Malformed(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn malformed<T>(why: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError::Malformed(why.into()))
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// The head as received (request line, headers, empty line).
    head: Vec<u8>,
    /// The body as received (chunked framing included).
    raw_body: Vec<u8>,
    /// The body's content.
    body: Vec<u8>,
    /// The client asked to close after this exchange.
    close: bool,
}

struct Response {
    /// The whole response as received, or as built.
    bytes: Vec<u8>,
    /// Close the client connection after it.
    close: bool,
}

/// Reads one request; `None` when the client closed between requests.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<Option<Request>, ReadError> {
    let Some(head) = read_head(reader)? else {
        return Ok(None);
    };
    let (start, headers) = parse_head(&head)?;
    let mut parts = start.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return malformed(format!("bad request line {start:?}"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return malformed(format!("bad method in {start:?}"));
    }
    if target.is_empty() {
        return malformed(format!("no target in {start:?}"));
    }
    let close = match version {
        "HTTP/1.1" => has_token(&headers, "connection", "close"),
        "HTTP/1.0" => !has_token(&headers, "connection", "keep-alive"),
        _ => return malformed(format!("not HTTP/1.x: {start:?}")),
    };
    if has_token(&headers, "expect", "100-continue") {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let (raw_body, body) = if let Some(encoding) = header(&headers, "transfer-encoding") {
        if !is_chunked(encoding) {
            return malformed(format!("transfer-encoding {encoding:?} is not chunked"));
        }
        read_chunked(reader)?
    } else if let Some(length) = content_length(&headers)? {
        let body = read_exact(reader, length)?;
        (body.clone(), body)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Some(Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        head,
        raw_body,
        body,
        close,
    }))
}

/// Reads one response to a `method` request, skipping interim (1xx)
/// responses; `None` when the connection closed before any byte of it.
fn read_response<R: BufRead>(reader: &mut R, method: &str) -> Result<Option<Response>, ReadError> {
    loop {
        let Some(head) = read_head(reader)? else {
            return Ok(None);
        };
        let (start, headers) = parse_head(&head)?;
        let mut parts = start.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let status: u16 = match parts.next().map(str::parse) {
            Some(Ok(status)) if (100..600).contains(&status) => status,
            _ => return malformed(format!("bad status line {start:?}")),
        };
        let mut close = match version {
            "HTTP/1.1" => has_token(&headers, "connection", "close"),
            "HTTP/1.0" => !has_token(&headers, "connection", "keep-alive"),
            _ => return malformed(format!("not HTTP/1.x: {start:?}")),
        };
        if (100..200).contains(&status) && status != 101 {
            // The proxy answered `Expect: 100-continue` itself.
            continue;
        }
        let mut bytes = head;
        let bodiless =
            method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304;
        if !bodiless {
            if let Some(encoding) = header(&headers, "transfer-encoding") {
                if is_chunked(encoding) {
                    bytes.extend(read_chunked(reader)?.0);
                } else {
                    bytes.extend(read_to_close(reader)?);
                    close = true;
                }
            } else if let Some(length) = content_length(&headers)? {
                bytes.extend(read_exact(reader, length)?);
            } else {
                bytes.extend(read_to_close(reader)?);
                close = true;
            }
        }
        return Ok(Some(Response { bytes, close }));
    }
}

/// The head up to and including its empty line; `None` when the peer closed
/// before sending a byte of it. Empty lines before the start line are skipped.
fn read_head<R: BufRead>(reader: &mut R) -> Result<Option<Vec<u8>>, ReadError> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let limit = (MAX_HEAD + 1).saturating_sub(head.len()) as u64;
        let n = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                malformed("the connection closed inside a head")
            };
        }
        if !line.ends_with(b"\n") {
            return if head.len() + line.len() > MAX_HEAD {
                malformed(format!("a head longer than {MAX_HEAD} bytes"))
            } else {
                malformed("the connection closed inside a head")
            };
        }
        let empty = line == b"\r\n" || line == b"\n";
        if empty && head.is_empty() {
            continue;
        }
        head.extend_from_slice(&line);
        if empty {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD {
            return malformed(format!("a head longer than {MAX_HEAD} bytes"));
        }
    }
}

/// The start line and the headers of a head.
fn parse_head(head: &[u8]) -> Result<(String, Vec<(String, String)>), ReadError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| ReadError::Malformed("a head that is not UTF-8".into()))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            return malformed("folded header line");
        }
        let Some((name, value)) = line.split_once(':') else {
            return malformed(format!("header line without a colon: {line:?}"));
        };
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return malformed(format!("bad header name {name:?}"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok((start, headers))
}

/// The first value of header `name` (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether a comma-separated header lists `token` (case-insensitive).
fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_chunked(transfer_encoding: &str) -> bool {
    transfer_encoding
        .rsplit(',')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"))
}

fn content_length(headers: &[(String, String)]) -> Result<Option<usize>, ReadError> {
    let mut length = None;
    for (_, value) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let Ok(n) = value.trim().parse::<usize>() else {
            return malformed(format!("bad content-length {value:?}"));
        };
        if length.is_some_and(|l| l != n) {
            return malformed("conflicting content-length headers");
        }
        if n > MAX_BODY {
            return malformed(format!("a body of {n} bytes (at most {MAX_BODY})"));
        }
        length = Some(n);
    }
    Ok(length)
}

fn read_exact<R: Read>(reader: &mut R, length: usize) -> Result<Vec<u8>, ReadError> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_to_close<R: Read>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
    if body.len() > MAX_BODY {
        return malformed(format!("a body over {MAX_BODY} bytes"));
    }
    Ok(body)
}

/// A line of a chunked body (size line, chunk end or trailer).
fn read_line<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(8 * 1024)
        .read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return malformed("a chunked body cut short or with an over-long line");
    }
    Ok(line)
}

/// A chunked body: (as received, content).
fn read_chunked<R: BufRead>(reader: &mut R) -> Result<(Vec<u8>, Vec<u8>), ReadError> {
    let mut raw = Vec::new();
    let mut content = Vec::new();
    loop {
        let line = read_line(reader)?;
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return malformed(format!("bad chunk size {size_text:?}"));
        };
        if size == 0 {
            loop {
                let trailer = read_line(reader)?;
                raw.extend_from_slice(&trailer);
                if trailer == b"\r\n" || trailer == b"\n" {
                    return Ok((raw, content));
                }
            }
        }
        if content.len() + size > MAX_BODY {
            return malformed(format!("a body over {MAX_BODY} bytes"));
        }
        let chunk = read_exact(reader, size)?;
        raw.extend_from_slice(&chunk);
        content.extend_from_slice(&chunk);
        let end = read_line(reader)?;
        if end != b"\r\n" && end != b"\n" {
            return malformed("a chunk not followed by CRLF");
        }
        raw.extend_from_slice(&end);
    }
}

/// The service of a SigV4 `Authorization` header's credential scope.
fn scope_service(authorization: &str) -> Option<String> {
    let credential = authorization.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    credential_service(credential)
}

/// `SERVICE` of `AKID/date/region/SERVICE/aws4_request`.
fn credential_service(credential: &str) -> Option<String> {
    let parts: Vec<&str> = credential.split('/').collect();
    (parts.len() >= 5 && parts[parts.len() - 1] == "aws4_request")
        .then(|| parts[parts.len() - 2].to_string())
        .filter(|s| !s.is_empty())
}

/// The decoded value of `key` in a form-encoded string.
fn form_value(form: &str, key: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ----------------------------------------------------------------- faults --

/// How a service shapes its errors.
enum Protocol {
    /// awsJson1_0 / 1_1 (DynamoDB, Cognito, Resource Groups Tagging).
    AwsJson(String),
    /// awsQuery (IAM, STS, CloudSearch), and CloudFront's restXml: XML `ErrorResponse`.
    AwsQuery(Option<&'static str>),
    /// restJson1 of API Gateway.
    ApiGateway,
    /// restJson1 of Lambda, OpenSearch and others.
    RestJson,
    /// restXml of S3: an unwrapped XML `Error`.
    S3,
}

fn protocol_of(op: &Operation, request: &Request) -> Protocol {
    let json_type = || {
        header(&request.headers, "content-type")
            .filter(|t| t.starts_with("application/x-amz-json"))
            .unwrap_or("application/x-amz-json-1.1")
            .to_string()
    };
    match op.service.as_str() {
        "s3" => Protocol::S3,
        "apigateway" => Protocol::ApiGateway,
        "iam" => Protocol::AwsQuery(Some("https://iam.amazonaws.com/doc/2010-05-08/")),
        "sts" => Protocol::AwsQuery(Some("https://sts.amazonaws.com/doc/2011-06-15/")),
        "cloudsearch" => {
            Protocol::AwsQuery(Some("http://cloudsearch.amazonaws.com/doc/2013-01-01/"))
        }
        // restXml with the wrapped `ErrorResponse` of the query protocol;
        // CloudFront's throttling code is `Throttling` (HTTP 400).
        "cloudfront" => Protocol::AwsQuery(Some("http://cloudfront.amazonaws.com/doc/2020-05-31/")),
        "lambda" | "es" => Protocol::RestJson,
        "dynamodb" | "cognito-idp" | "cognito-identity" | "tagging" => {
            Protocol::AwsJson(json_type())
        }
        _ if header(&request.headers, "x-amz-target").is_some() => Protocol::AwsJson(json_type()),
        _ if !op.rest => Protocol::AwsQuery(None),
        _ => Protocol::RestJson,
    }
}

static REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

fn request_id() -> String {
    let n = REQUEST_IDS.fetch_add(1, Ordering::Relaxed);
    format!("fa170000-0000-4000-8000-{n:012x}")
}

/// The response of an injected fault (not `Drop`), in the shape the AWS
/// SDKs parse for the service's protocol:
/// - JSON protocols: the code in `x-amzn-ErrorType` (which the SDK prefers)
///   and in the body's `__type`, the text in `message`;
/// - Query: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`;
/// - S3: `<Error><Code/><Message/><RequestId/><HostId/></Error>`.
fn fault_response(op: &Operation, request: &Request, fault: Fault) -> Vec<u8> {
    const INTERNAL: &str =
        "The request processing has failed because of an unknown error, exception or failure.";
    const UNAVAILABLE: &str = "The request has failed due to a temporary failure of the server.";
    let protocol = protocol_of(op, request);
    let (status, code, message): (u16, &str, &str) = match (&protocol, fault) {
        (Protocol::AwsJson(_), Fault::Throttle) => (400, "ThrottlingException", "Rate exceeded"),
        (Protocol::AwsQuery(_), Fault::Throttle) => (400, "Throttling", "Rate exceeded"),
        (Protocol::ApiGateway, Fault::Throttle) => {
            (429, "TooManyRequestsException", "Too Many Requests")
        }
        (Protocol::RestJson, Fault::Throttle) => (429, "TooManyRequestsException", "Rate exceeded"),
        (Protocol::S3, Fault::Throttle) => (503, "SlowDown", "Please reduce your request rate."),
        (Protocol::S3, Fault::Error500) => (
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        (Protocol::S3, _) => (
            503,
            "ServiceUnavailable",
            "Service is unable to handle request.",
        ),
        (_, Fault::Error500) => (500, "InternalFailure", INTERNAL),
        (_, _) => (503, "ServiceUnavailable", UNAVAILABLE),
    };
    let id = request_id();
    let (content_type, extra, body) = match &protocol {
        Protocol::AwsJson(content_type) => (
            content_type.clone(),
            format!("x-amzn-ErrorType: {code}\r\nx-amzn-RequestId: {id}\r\n"),
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        ),
        Protocol::ApiGateway | Protocol::RestJson => (
            "application/json".to_string(),
            format!("x-amzn-ErrorType: {code}\r\nx-amzn-RequestId: {id}\r\n"),
            format!(r#"{{"message":"{message}"}}"#),
        ),
        Protocol::AwsQuery(namespace) => {
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let xmlns = namespace.map(|ns| format!(r#" xmlns="{ns}""#)).unwrap_or_default();
            (
                "text/xml".to_string(),
                format!("x-amzn-RequestId: {id}\r\n"),
                format!(
                    "<ErrorResponse{xmlns}>\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>{id}</RequestId>\n</ErrorResponse>\n"
                ),
            )
        }
        Protocol::S3 => (
            "application/xml".to_string(),
            format!("x-amz-request-id: {id}\r\nx-amz-id-2: {id}\r\n"),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{id}</RequestId><HostId>{id}</HostId></Error>"
            ),
        ),
    };
    // A HEAD response has no body (S3's HeadBucket / HeadObject errors).
    let body = if request.method == "HEAD" {
        String::new()
    } else {
        body
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}",
        reason(status),
        body.len()
    );
    if request.close {
        response.push_str("Connection: close\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&body);
    response.into_bytes()
}

/// A plain-text response that closes the connection (the proxy's own errors).
fn plain_response(status: u16, reason: &str, text: &str) -> Vec<u8> {
    let body = format!("fault proxy: {text}\n");
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
