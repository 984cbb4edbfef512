//! Bad input at scale: property-based fuzzing of the stack loader and the
//! `${...}` reference resolver, in process and through the real binary.
//!
//! Inputs come from four sources: mutations of the checked-in corpus
//! (`tests/fuzz/corpus/`: the example stacks, small files of every kind, and
//! known-bad inputs), stacks generated from a grammar (random kinds, keys,
//! settings and references, cycles included), mutated policy documents, and
//! random strings for the reference scanner and parser. For every input:
//!
//! - nothing panics and nothing hangs (each input runs on its own thread with
//!   a deadline, `MOBILE_BACKEND_FUZZ_DEADLINE_MS`, default 2000);
//! - a rejection carries at least one diagnostic, every diagnostic has a
//!   location, and the rendered error names `file:line:col` for each;
//! - an accepted stack keeps its invariants: every step's dependencies are
//!   steps, the graph has no cycle, and every resource resolves offline;
//! - through the binary (`validate --stack FILE`), the exit code is 0 or 1,
//!   never a panic or a signal, a rejection names `FILE:LINE:COL`, and no
//!   connection is made to AWS.
//!
//! A short run (about 14,000 inputs) is part of `cargo test`. The long run
//! sets the number of inputs per property (a twentieth of them, at least 96,
//! through the binary), a deadline that tolerates a busy machine, and keeps
//! inputs slower than `MOBILE_BACKEND_FUZZ_SLOW_MS` in
//! `target/fuzz-failures/slow-*` (see README.md, "Fuzzing the stack file"):
//!
//! ```text
//! MOBILE_BACKEND_FUZZ_CASES=250000 MOBILE_BACKEND_FUZZ_DEADLINE_MS=30000 \
//!     MOBILE_BACKEND_FUZZ_SLOW_MS=1000 nice cargo test --test fuzz -- --nocapture
//! ```
//!
//! Corpus stacks named `valid-*` must load; every other one (`bad-*`,
//! `regression-*`) must be rejected with locations.
//!
//! Proptest is used rather than cargo-fuzz because cargo-fuzz needs a nightly
//! toolchain (its sanitizers), and this project builds on stable only.
//!
//! Reproducing a failure: proptest prints the shrunk input, writes it to
//! `target/fuzz-failures/`, and keeps the failing seed in
//! `target/fuzz-regressions/`, replayed first by the next run of the same
//! code (`PROPTEST_RNG_SEED` fixes the whole run). Those seeds are not
//! checked in: they index into the corpus and the strategies, so they go
//! stale as either changes. The lasting record is the corpus: a fixed
//! failure is added to `tests/fuzz/corpus/stacks/` (as `regression-*.toml`),
//! and every corpus file is loaded on every run.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use mobile_backend::stack::diagnostic::{line_col, Diagnostic, MAX_SHOWN};
use mobile_backend::stack::reference::{self, Declared, Piece, Reference};
use mobile_backend::stack::{self, Address, Diagnostics, Kind, Lookup, Stack};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

// ------------------------------------------------------------- settings ----

/// Inputs per property: `MOBILE_BACKEND_FUZZ_CASES`, else `PROPTEST_CASES`,
/// else the short run's `default`.
fn cases(default: u32) -> u32 {
    for var in ["MOBILE_BACKEND_FUZZ_CASES", "PROPTEST_CASES"] {
        if let Some(n) = std::env::var(var).ok().and_then(|v| v.trim().parse().ok()) {
            return n;
        }
    }
    default
}

/// Whether a long run was asked for (then the binary runs scale with it).
fn long_run() -> Option<u32> {
    std::env::var("MOBILE_BACKEND_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

fn deadline() -> Duration {
    let ms = std::env::var("MOBILE_BACKEND_FUZZ_DEADLINE_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

/// Inputs slower than this (`MOBILE_BACKEND_FUZZ_SLOW_MS`, default a quarter
/// of the deadline) are kept in `target/fuzz-failures/slow-*` for a look.
fn slow() -> Duration {
    std::env::var("MOBILE_BACKEND_FUZZ_SLOW_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_else(|| deadline() / 4)
}

fn config(cases: u32, persistence: &'static str) -> Config {
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(persistence))),
        // A hang costs a deadline per shrink step: bound the shrinking.
        max_shrink_time: 120_000,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// --------------------------------------------------------------- corpus ----

struct Corpus {
    /// (file name, bytes) of `corpus/stacks/*.toml`.
    stacks: Vec<(String, Vec<u8>)>,
    /// (file name, bytes) of `corpus/policies/*.json`.
    policies: Vec<(String, Vec<u8>)>,
    /// Lines of `corpus/references.txt`.
    references: Vec<String>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = root().join("tests/fuzz/corpus");
        let read_dir = |sub: &str, ext: &str| -> Vec<(String, Vec<u8>)> {
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join(sub))
                .expect("corpus directory")
                .map(|e| e.expect("corpus entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read(&p).expect("corpus file"))
                })
                .collect();
            files.sort();
            files
        };
        let references = std::fs::read_to_string(dir.join("references.txt"))
            .expect("corpus references")
            .lines()
            .map(str::to_string)
            .collect();
        Corpus {
            stacks: read_dir("stacks", "toml"),
            policies: read_dir("policies", "json"),
            references,
        }
    })
}

/// A scratch copy of the corpus layout (`stacks/`, `policies/`), so the
/// stacks' `../policies/x.json` paths resolve. Inputs are written next to them
/// (and removed again); it lives under cargo's `target/tmp`, shared by
/// concurrent runs, so a policy file is only written when it differs.
fn workspace() -> &'static Path {
    static WORKSPACE: OnceLock<PathBuf> = OnceLock::new();
    WORKSPACE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
        std::fs::create_dir_all(dir.join("stacks")).expect("stacks dir");
        std::fs::create_dir_all(dir.join("policies")).expect("policies dir");
        for (name, bytes) in &corpus().policies {
            let path = dir.join("policies").join(name);
            if std::fs::read(&path).ok().as_ref() != Some(bytes) {
                std::fs::write(&path, bytes).expect("policy");
            }
        }
        dir
    })
}

/// A file of the workspace that is removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(sub: &str, ext: &str, bytes: &[u8]) -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = workspace()
            .join(sub)
            .join(format!("case-{}-{n}.{ext}", std::process::id()));
        std::fs::write(&path, bytes).expect("write input");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Keeps a failing input where it can be looked at and added to the corpus.
fn keep_failure(what: &str, bytes: &[u8]) -> String {
    let dir = root().join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("{what}-{hash:016x}.txt"));
    let _ = std::fs::write(&path, bytes);
    format!(
        "input kept in target/fuzz-failures/{}",
        path.file_name().unwrap().to_string_lossy()
    )
}

// ------------------------------------------------------ running guarded ----

/// Runs `f` on its own thread (the size of a main thread's stack, like the
/// binary's), catching panics, and fails when it does not finish in time.
fn guarded<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<(T, Duration), String> {
    guarded_for(what, deadline(), f)
}

/// [`guarded`] with a deadline of its own, for the scale tests.
fn guarded_for<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<(T, Duration), String> {
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::Builder::new()
        .name(format!("fuzz-{what}"))
        .stack_size(8 << 20)
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(outcome);
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => Ok((value, started.elapsed())),
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(no message)".into());
            Err(format!("{what} panicked: {message}"))
        }
        // The thread is left behind: a hang is the failure being reported.
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Err(format!("{what} did not finish within {limit:?}: a hang"))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{what} died")),
    }
}

// ----------------------------------------------------------- statistics ----

#[derive(Default)]
struct Stats {
    inputs: AtomicUsize,
    accepted: AtomicUsize,
    rejected: AtomicUsize,
    slowest_us: AtomicU64,
}

impl Stats {
    fn record(&self, accepted: bool, took: Duration) {
        self.inputs.fetch_add(1, Ordering::Relaxed);
        if accepted {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        } else {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
        self.slowest_us
            .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Runs one property with its own runner and prints what it did.
fn run<S: Strategy>(
    name: &str,
    default_cases: u32,
    persistence: &'static str,
    strategy: S,
    test: impl Fn(S::Value, &Stats) -> Result<(), TestCaseError>,
) {
    let stats = Stats::default();
    let started = Instant::now();
    let mut runner = TestRunner::new(config(cases(default_cases), persistence));
    let result = runner.run(&strategy, |value| test(value, &stats));
    eprintln!(
        "fuzz {name}: {} inputs in {:.1} s ({} accepted, {} rejected), slowest {:.1} ms",
        stats.inputs.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        stats.accepted.load(Ordering::Relaxed),
        stats.rejected.load(Ordering::Relaxed),
        stats.slowest_us.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    if let Err(e) = result {
        panic!("fuzz {name}: {e}");
    }
}

// --------------------------------------------------- checking a loading ----

/// Loads `path` guarded and checks the result; `Ok(accepted)`.
fn check_load(path: &Path, stats: &Stats) -> Result<Duration, String> {
    check_load_for(path, stats, deadline())
}

fn check_load_for(path: &Path, stats: &Stats, limit: Duration) -> Result<Duration, String> {
    let owned = path.to_path_buf();
    let (verdict, took) = guarded_for("stack::load", limit, move || match stack::load(&owned) {
        Ok(stack) => accepted_invariants(&stack).map(|()| true),
        Err(diags) => located(&owned, &diags).map(|()| false),
    })?;
    let accepted = verdict?;
    stats.record(accepted, took);
    Ok(took)
}

/// A rejection: at least one error, each with a file and a span inside it,
/// and the rendering names `file:line:col` of each.
fn located(file: &Path, diags: &Diagnostics) -> Result<(), String> {
    if diags.items.is_empty() {
        return Err("rejected without any diagnostic".into());
    }
    let rendered = diags.render(false);
    let _ = diags.render(true);
    if !rendered.contains("nothing was sent to AWS") {
        return Err(format!("the rendering has no closing line:\n{rendered}"));
    }
    // What is shown: in file and position order, at most `MAX_SHOWN` of each.
    let shown = |items: &[Diagnostic]| -> Vec<Diagnostic> {
        let mut items = items.to_vec();
        items.sort_by_key(|d| (d.file.clone(), d.span.as_ref().map(|s| s.start)));
        items.dedup();
        items.truncate(MAX_SHOWN);
        items
    };
    for item in shown(&diags.items).iter().chain(&shown(&diags.warnings)) {
        let Some(span) = &item.span else {
            return Err(format!("no location for `{}`", item.message));
        };
        let Some(source) = diags.sources.get(&item.file) else {
            return Err(format!(
                "`{}` points into {}, whose source is not kept",
                item.message,
                item.file.display()
            ));
        };
        if span.start > span.end || span.start > source.len() {
            return Err(format!(
                "`{}` has span {span:?} outside its {}-byte source",
                item.message,
                source.len()
            ));
        }
        let (line, col) = line_col(source, span.start);
        let location = format!("{}:{line}:{col}", item.file.display());
        if !rendered.contains(&location) {
            return Err(format!(
                "`{}`: the rendering does not name {location}:\n{rendered}",
                item.message
            ));
        }
    }
    if diags.items.iter().any(|d| d.file == file) || diags.sources.contains_key(file) {
        Ok(())
    } else {
        Err(format!("the errors do not name {}", file.display()))
    }
}

/// Stand-ins for values only AWS knows.
struct Offline;

impl Lookup for Offline {
    fn value(&self, r: &Reference) -> Option<String> {
        match r {
            Reference::AwsAccountId => Some("123456789012".into()),
            Reference::AwsRegion => Some("us-east-1".into()),
            _ => None,
        }
    }
}

/// An accepted stack: the step graph is closed and acyclic, every resource
/// is a step, and every resource and step resolves offline.
fn accepted_invariants(stack: &Stack) -> Result<(), String> {
    if !stack.sources.sources.contains_key(&stack.file) {
        return Err("the stack's own source is not kept".into());
    }
    if let Some(w) = stack.sources.warnings.iter().find(|w| w.span.is_none()) {
        return Err(format!("warning without a location: {}", w.message));
    }
    let _ = stack.sources.render_warnings(false);
    for (step, deps) in &stack.steps {
        for dep in deps {
            if !stack.steps.contains_key(dep) {
                return Err(format!("`{step}` depends on `{dep}`, which is no step"));
            }
            if dep == step {
                return Err(format!("`{step}` depends on itself"));
            }
        }
        if !stack.resources.contains_key(&step.resource()) {
            return Err(format!("step `{step}` belongs to no resource"));
        }
        stack
            .physical_name(step, &Offline)
            .map_err(|e| format!("`{step}` has no physical name: {e}"))?;
    }
    // Kahn's algorithm: every step can be ordered.
    let mut waiting: BTreeMap<&Address, usize> =
        stack.steps.iter().map(|(a, d)| (a, d.len())).collect();
    let mut needed_by: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for (step, deps) in &stack.steps {
        for dep in deps {
            needed_by.entry(dep).or_default().push(step);
        }
    }
    let mut ready: Vec<&Address> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(a, _)| *a)
        .collect();
    let mut done = BTreeSet::new();
    while let Some(step) = ready.pop() {
        done.insert(step);
        for other in needed_by.get(step).into_iter().flatten() {
            let n = waiting.get_mut(other).expect("step");
            *n -= 1;
            if *n == 0 {
                ready.push(other);
            }
        }
    }
    if done.len() != stack.steps.len() {
        let stuck: Vec<String> = stack
            .steps
            .keys()
            .filter(|a| !done.contains(a))
            .map(|a| a.to_string())
            .collect();
        return Err(format!("accepted with a cycle among {}", stuck.join(", ")));
    }
    for (address, decl) in &stack.resources {
        if stack.steps.get(address) != Some(&decl.depends_on) {
            return Err(format!("`{address}`: depends_on differs from its step"));
        }
        stack
            .resolve_spec(address, &Offline)
            .map_err(|e| format!("`{address}` does not resolve: {e}"))?;
    }
    Ok(())
}

// ------------------------------------------------------------ mutations ----

/// Text that means something to TOML, to the references, or to the loader.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "${",
    "}",
    "$${",
    "{",
    ".",
    "\n",
    "\r\n",
    "\r",
    ",",
    "#",
    "\\",
    "\\u",
    "\\U0010FFFF",
    "\\uD800",
    "\t",
    " ",
    "\0",
    "\u{7f}",
    "é",
    "📷",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "\u{1}",
    "-",
    "_",
    ":",
    "+",
    "99999999999999999999999",
    "-9223372036854775809",
    "9223372036854775807",
    "1e999",
    "-0.0",
    "nan",
    "-inf",
    "0x",
    "0o777",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "true",
    "[]",
    "{}",
    "${table.notes.arn}",
    "${aws.region}",
    "${aws.account_id}",
    "${stack.name}",
    "${cognito-identity.amazonaws.com:sub}",
    "${bucket.uploads.arn}",
    "${role.mobile_client.arn}",
    "${identity_pool.app.id}",
    "${user_pool.users.id}",
    "${table.notes.arn",
    "${}",
    "$",
    "\n[stack]\n",
    "\n[stack]\nname = \"dup\"\n",
    "\n[bucket.uploads]\n",
    "\n[table.notes]\n",
    "\n[role.r]\ntrust = { service = \"lambda.amazonaws.com\" }\n",
    "\nname = \"x\"\n",
    "\n[[bucket.uploads.cors]]\n",
    "\ntags = { a = \"${bucket.uploads.arn}\" }\n",
    "table",
    "bucket",
    "user_pool",
    "identity_pool",
    "search",
    "api",
    "role",
    "stack",
    "name",
    "tags",
    "clients",
    "groups",
    "routes",
    "fields",
    "trust",
    "policies",
    "providers",
    "policies = [\"../policies/fuzz-worker.json\"]",
    "\"../policies/mobile-client.json\"",
    "../../",
    "custom:",
    "arn:",
    "users.ios",
];

/// How a long run of one thing is written.
const LONG: &[&str] = &[
    "a", "é", "[", "{", "$", ".", " ", "\"", "a.", "{ a = ", "[a.", "${", "\\",
];

#[derive(Debug, Clone)]
enum Insertion {
    Token(Index),
    /// `LONG[index]` repeated.
    Long(Index, usize),
    Text(String),
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: Index,
        bit: u8,
    },
    Insert {
        at: Index,
        what: Insertion,
    },
    Delete {
        at: Index,
        len: usize,
    },
    /// Copies a chunk (a line, a table) after itself `times` times.
    Repeat {
        at: Index,
        len: usize,
        times: usize,
    },
    DuplicateLine {
        at: Index,
    },
    SwapLines {
        a: Index,
        b: Index,
    },
}

fn insertion() -> impl Strategy<Value = Insertion> {
    prop_oneof![
        6 => any::<Index>().prop_map(Insertion::Token),
        1 => (any::<Index>(), prop_oneof![Just(100usize), Just(1000), Just(10_000), Just(100_000)])
            .prop_map(|(i, n)| Insertion::Long(i, n)),
        2 => "\\PC{0,12}".prop_map(Insertion::Text),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        6 => (any::<Index>(), insertion()).prop_map(|(at, what)| Mutation::Insert { at, what }),
        3 => (any::<Index>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (any::<Index>(), 1usize..80, 1usize..50)
            .prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        2 => any::<Index>().prop_map(|at| Mutation::DuplicateLine { at }),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

/// The nearest char boundary at or before `i`, when `bytes` is UTF-8.
fn boundary(bytes: &[u8], mut i: usize) -> usize {
    i = i.min(bytes.len());
    if let Ok(s) = std::str::from_utf8(bytes) {
        while i > 0 && !s.is_char_boundary(i) {
            i -= 1;
        }
    }
    i
}

/// Byte ranges of the lines (with their `\n`).
fn lines(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push(start..bytes.len());
    }
    out
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::FlipBit { at, bit } => {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
        }
        Mutation::Insert { at, what } => {
            let text = match what {
                Insertion::Token(i) => TOKENS[i.index(TOKENS.len())].to_string(),
                Insertion::Long(i, n) => LONG[i.index(LONG.len())].repeat(*n),
                Insertion::Text(t) => t.clone(),
            };
            let i = boundary(bytes, at.index(bytes.len() + 1));
            bytes.splice(i..i, text.into_bytes());
        }
        Mutation::Delete { at, len } => {
            if !bytes.is_empty() {
                let start = boundary(bytes, at.index(bytes.len()));
                let end = boundary(bytes, start + len);
                bytes.drain(start..end);
            }
        }
        Mutation::Repeat { at, len, times } => {
            if !bytes.is_empty() {
                let start = boundary(bytes, at.index(bytes.len()));
                let end = boundary(bytes, start + len);
                let chunk = bytes[start..end].to_vec();
                let copies: Vec<u8> = chunk.repeat(*times);
                bytes.splice(end..end, copies);
            }
        }
        Mutation::DuplicateLine { at } => {
            let ls = lines(bytes);
            if !ls.is_empty() {
                let l = ls[at.index(ls.len())].clone();
                let mut line = bytes[l.clone()].to_vec();
                if line.last() != Some(&b'\n') {
                    line.insert(0, b'\n');
                }
                bytes.splice(l.end..l.end, line);
            }
        }
        Mutation::SwapLines { a, b } => {
            let ls = lines(bytes);
            if ls.len() >= 2 {
                let (mut x, mut y) = (a.index(ls.len()), b.index(ls.len()));
                if x > y {
                    std::mem::swap(&mut x, &mut y);
                }
                if x != y {
                    let (lx, ly) = (ls[x].clone(), ls[y].clone());
                    let mut out = bytes[..lx.start].to_vec();
                    out.extend_from_slice(&bytes[ly.clone()]);
                    out.extend_from_slice(&bytes[lx.end..ly.start]);
                    out.extend_from_slice(&bytes[lx.clone()]);
                    out.extend_from_slice(&bytes[ly.end..]);
                    *bytes = out;
                }
            }
        }
    }
}

/// Input bytes, shown as text (with the bad bytes replaced) when a case fails.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "(not UTF-8) {:?}", String::from_utf8_lossy(&self.0)),
        }
    }
}

/// A corpus stack with 1 to 8 mutations applied (mostly one).
fn mutated_stack() -> impl Strategy<Value = Bytes> {
    let count = prop_oneof![4 => 1usize..2, 2 => 2usize..4, 1 => 4usize..9];
    let mutations = count.prop_flat_map(|n| prop::collection::vec(mutation(), n));
    (any::<Index>(), mutations).prop_map(|(which, mutations)| {
        let stacks = &corpus().stacks;
        let mut bytes = stacks[which.index(stacks.len())].1.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        Bytes(bytes)
    })
}

// -------------------------------------------------------------- grammar ----

const KINDS: &[&str] = &[
    "identity_pool",
    "user_pool",
    "table",
    "bucket",
    "search",
    "api",
    "role",
];

const KEYS: &[&str] = &["a", "b", "app", "users", "notes", "r"];

fn all_attributes() -> Vec<&'static str> {
    let mut out: Vec<&str> = Kind::ALL
        .iter()
        .flat_map(|k| k.attributes())
        .copied()
        .collect();
    out.extend(["nope", "id", "roles", ""]);
    out.sort();
    out.dedup();
    out
}

/// Basic-string escaping, so any generated text stays one TOML string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `${...}` (or something that looks like one) among `declared`.
fn reference_text(declared: Vec<(usize, usize)>) -> impl Strategy<Value = String> {
    let attributes = all_attributes();
    let to_declared = if declared.is_empty() {
        Just("${stack.name}".to_string()).boxed()
    } else {
        (prop::sample::select(declared), any::<Index>())
            .prop_map(|((k, key), attr)| {
                let kind = Kind::from_name(KINDS[k]).expect("kind");
                let attrs = kind.attributes();
                format!(
                    "${{{}.{}.{}}}",
                    KINDS[k],
                    KEYS[key],
                    attrs[attr.index(attrs.len())]
                )
            })
            .boxed()
    };
    prop_oneof![
        6 => to_declared,
        2 => (0..KINDS.len(), 0..KEYS.len(), prop::sample::select(attributes))
            .prop_map(|(k, key, attr)| format!("${{{}.{}.{attr}}}", KINDS[k], KEYS[key])),
        2 => prop::sample::select(vec![
            "${stack.name}",
            "${aws.region}",
            "${aws.account_id}",
            "${cognito-identity.amazonaws.com:sub}",
            "$${literal}",
            "${",
            "${}",
            "${stack.nam}",
            "${a.b}",
            "${tabel.a.arn}",
            "${ table . a . arn }",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_.]{0,12}".prop_map(|s| format!("${{{s}}}")),
    ]
}

/// A string value: literal text and references.
fn string_value(declared: Vec<(usize, usize)>) -> BoxedStrategy<String> {
    prop::collection::vec(
        prop_oneof![
            3 => reference_text(declared),
            3 => "[a-z0-9-]{0,8}",
            1 => "\\PC{0,4}",
        ],
        0..4,
    )
    .prop_map(|pieces| pieces.concat())
    .boxed()
}

/// Lines of one resource table: a mostly valid body for its kind, plus
/// references and the odd stray key.
fn resource_body(kind: usize, declared: Vec<(usize, usize)>) -> BoxedStrategy<Vec<String>> {
    let key = || prop::sample::select(KEYS.to_vec());
    let value = string_value(declared.clone());
    let tags = prop::collection::vec(("[a-z]{1,3}", value.clone()), 0..3).prop_map(|t| {
        if t.is_empty() {
            String::new()
        } else {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", quoted(v)))
                .collect();
            format!("tags = {{ {} }}", inner.join(", "))
        }
    });
    let name = prop::option::weighted(0.3, value.clone()).prop_map(|n| {
        n.map(|n| format!("name = {}", quoted(&n)))
            .unwrap_or_default()
    });
    let stray = prop::option::weighted(
        0.1,
        (
            "[a-z_]{1,10}",
            prop_oneof![
                Just("1".to_string()),
                Just("true".to_string()),
                Just("\"x\"".to_string()),
                Just("[]".to_string()),
                Just("{}".to_string()),
                Just("99999999999999999999".to_string()),
            ],
        ),
    )
    .prop_map(|s| s.map(|(k, v)| format!("{k} = {v}")).unwrap_or_default());
    let specific: BoxedStrategy<Vec<String>> = match KINDS[kind] {
        "table" => (
            prop::sample::select(vec!["S", "N", "B", "X"]),
            prop::option::weighted(0.3, (0i64..30, 0i64..30)),
            prop::sample::select(vec!["off", "keys_only", "new_image", "nope"]),
        )
            .prop_map(|(t, capacity, stream)| {
                let mut lines = vec![
                    format!("hash_key = {{ name = \"id\", type = \"{t}\" }}"),
                    format!("stream = \"{stream}\""),
                ];
                if let Some((r, w)) = capacity {
                    lines.push("billing = \"provisioned\"".into());
                    lines.push(format!("read_capacity = {r}"));
                    lines.push(format!("write_capacity = {w}"));
                }
                lines
            })
            .boxed(),
        "bucket" => (any::<bool>(), prop::sample::select(vec!["GET", "PUT", "BREW"]))
            .prop_map(|(versioning, method)| {
                vec![
                    format!("versioning = {versioning}"),
                    format!("cors = [{{ allowed_methods = [\"{method}\"], allowed_origins = [\"*\"] }}]"),
                ]
            })
            .boxed(),
        "user_pool" => (key(), prop::sample::select(vec!["ALLOW_USER_SRP_AUTH", "NOPE"]))
            .prop_map(|(role, flow)| {
                vec![
                    "username_attributes = [\"email\"]".to_string(),
                    format!("clients.ios = {{ auth_flows = [\"{flow}\", \"ALLOW_REFRESH_TOKEN_AUTH\"] }}"),
                    format!("groups.admins = {{ precedence = 0, role = \"{role}\" }}"),
                ]
            })
            .boxed(),
        "identity_pool" => (key(), key(), any::<bool>())
            .prop_map(|(pool, role, rules)| {
                let mut lines = vec![
                    format!("providers = [\"{pool}.ios\"]"),
                    format!("authenticated_role = \"{role}\""),
                ];
                if rules {
                    lines.push(format!("role_rules = [{{ provider = \"{pool}.ios\", claim = \"c\", match = \"equals\", value = \"v\", role = \"{role}\" }}]"));
                }
                lines
            })
            .boxed(),
        "search" => prop::sample::select(vec!["text", "literal", "int-array", "blob"])
            .prop_map(|t| vec![format!("fields = {{ title = \"{t}\" }}")])
            .boxed(),
        "api" => (
            prop::option::weighted(0.3, key()),
            prop::sample::select(vec!["GET /x", "POST /x/{id}", "BAD"]),
        )
            .prop_map(|(pool, route)| {
                let auth = match pool {
                    Some(p) => format!("authorization = \"cognito\", user_pool = \"{p}\", "),
                    None => String::new(),
                };
                vec![
                    "stage = \"prod\"".to_string(),
                    format!("routes.\"{route}\" = {{ {auth}integration = {{ lambda = \"arn:aws:lambda:${{aws.region}}:${{aws.account_id}}:function:F\" }} }}"),
                ]
            })
            .boxed(),
        _ => (
            prop_oneof![
                key().prop_map(|p| format!("trust = {{ identity_pool = \"{p}\" }}")),
                Just("trust = { service = \"lambda.amazonaws.com\" }".to_string()),
                Just("trust = { file = \"../policies/fuzz-trust.json\" }".to_string()),
            ],
            prop::option::weighted(
                0.3,
                prop::sample::select(corpus().policies.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()),
            ),
        )
            .prop_map(|(trust, policy)| {
                let mut lines = vec![trust];
                if let Some(p) = policy {
                    lines.push(format!("policies = [\"../policies/{p}\"]"));
                }
                lines
            })
            .boxed(),
    };
    (
        specific,
        name,
        tags,
        stray,
        prop::option::weighted(0.9, Just(())),
    )
        .prop_map(|(mut lines, name, tags, stray, keep)| {
            if keep.is_none() && !lines.is_empty() {
                lines.remove(0); // a required setting goes missing
            }
            lines.extend([name, tags, stray].into_iter().filter(|l| !l.is_empty()));
            lines
        })
        .boxed()
}

/// A whole stack from the grammar: `[stack]`, then resources whose strings
/// reference each other (self-references and cycles included).
fn generated_stack() -> impl Strategy<Value = String> {
    prop::collection::vec((0..KINDS.len(), 0..KEYS.len()), 0..7)
        .prop_flat_map(|declared| {
            let bodies: Vec<BoxedStrategy<Vec<String>>> = declared
                .iter()
                .map(|(k, _)| resource_body(*k, declared.clone()))
                .collect();
            (
                Just(declared.clone()),
                bodies,
                prop_oneof![
                    8 => Just("demo".to_string()),
                    1 => "[a-z][a-z0-9-]{0,45}",
                    1 => "\\PC{0,6}",
                ],
                prop::option::weighted(
                    0.3,
                    prop_oneof![Just("us-east-1".to_string()), "[a-z0-9-]{0,12}"],
                ),
                prop::option::weighted(0.3, string_value(declared)),
            )
        })
        .prop_map(|(declared, bodies, name, region, tag)| {
            let mut out = format!("[stack]\nname = {}\n", quoted(&name));
            if let Some(r) = region {
                out.push_str(&format!("region = {}\n", quoted(&r)));
            }
            if let Some(t) = tag {
                out.push_str(&format!("tags = {{ t = {} }}\n", quoted(&t)));
            }
            for ((k, key), body) in declared.iter().zip(bodies) {
                out.push_str(&format!("\n[{}.{}]\n", KINDS[*k], KEYS[*key]));
                for line in body {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
            out
        })
}

// -------------------------------------------------- reference resolving ----

/// What the reference tests declare.
struct Fixed;

impl Declared for Fixed {
    fn has(&self, address: &Address) -> bool {
        matches!(
            (address.kind.as_str(), address.key.as_str()),
            ("table", "notes") | ("bucket", "uploads") | ("role", "x")
        )
    }
    fn keys_of(&self, kind: Kind) -> Vec<String> {
        match kind.as_str() {
            "table" => vec!["notes".into()],
            "bucket" => vec!["uploads".into()],
            "role" => vec!["x".into()],
            _ => vec![],
        }
    }
}

const REFERENCE_TOKENS: &[&str] = &[
    "$",
    "$$",
    "${",
    "$${",
    "}",
    "{",
    ".",
    "..",
    ":",
    " ",
    "\t",
    "\n",
    "table",
    "notes",
    "arn",
    "bucket",
    "uploads",
    "role",
    "x",
    "stack",
    "name",
    "aws",
    "region",
    "account_id",
    "tabel",
    "stream_arn",
    "é",
    "📷",
    "\u{1}",
    "\u{0}",
    "\u{202e}",
    "cognito-identity.amazonaws.com:sub",
];

fn reference_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(REFERENCE_TOKENS.to_vec()), 0..24)
            .prop_map(|t| t.concat()),
        2 => (any::<Index>(), prop::collection::vec(mutation(), 0..4)).prop_map(|(i, ms)| {
            let lines = &corpus().references;
            let mut bytes = lines[i.index(lines.len())].clone().into_bytes();
            for m in &ms {
                apply(&mut bytes, m);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }),
        1 => "[$\\{\\}.:a-z_ é]{0,40}",
        1 => "\\PC{0,40}",
        1 => (1usize..20_000).prop_map(|n| format!("${{{}}}", "a.".repeat(n))),
    ]
}

/// The scanner's pieces put back together, escapes written as `$${`.
fn reassembled(s: &str, pieces: &[Piece<'_>]) -> Result<String, String> {
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Literal("${") => out.push_str("$${"),
            Piece::Literal(text) => {
                if text.contains("${") {
                    return Err(format!("literal {text:?} hides a `${{`"));
                }
                out.push_str(text);
            }
            Piece::PolicyVariable(text) => {
                if !(text.starts_with("${") && text.ends_with('}') && text.contains(':')) {
                    return Err(format!("policy variable {text:?} is malformed"));
                }
                out.push_str(text);
            }
            Piece::Reference { inner, range } => {
                let whole = s
                    .get(range.clone())
                    .ok_or_else(|| format!("reference range {range:?} is not in the string"))?;
                if whole.get(2..whole.len().saturating_sub(1)) != Some(*inner)
                    || !whole.starts_with("${")
                {
                    return Err(format!("reference {whole:?} does not hold {inner:?}"));
                }
                out.push_str(whole);
            }
            Piece::Unterminated(at) => {
                if i + 1 != pieces.len() {
                    return Err("an unterminated `${` is not the last piece".into());
                }
                let rest = s
                    .get(*at..)
                    .ok_or_else(|| format!("unterminated offset {at} is not in the string"))?;
                if !rest.starts_with("${") || rest.contains('}') {
                    return Err(format!("{rest:?} is not an unterminated `${{`"));
                }
                out.push_str(rest);
            }
        }
    }
    Ok(out)
}

/// Scanner, parser and interpolation on one string.
fn check_reference_string(s: &str) -> Result<(), String> {
    let pieces = reference::scan(s);
    let back = reassembled(s, &pieces)?;
    if back != s {
        return Err(format!("pieces reassemble to {back:?}"));
    }
    let mut expected = Ok(String::new());
    for piece in &pieces {
        let Ok(out) = &mut expected else { break };
        match piece {
            Piece::Literal(t) | Piece::PolicyVariable(t) => out.push_str(t),
            Piece::Reference { inner, .. } => match reference::parse(inner, &Fixed) {
                Ok(r) => {
                    let again = reference::parse(&r.to_string(), &Fixed);
                    if again.as_ref() != Ok(&r) {
                        return Err(format!("`{r}` does not parse back: {again:?}"));
                    }
                    out.push_str(&format!("<{r}>"));
                }
                Err(e) => {
                    if e.message.is_empty() {
                        return Err(format!("{inner:?}: an error without a message"));
                    }
                    expected = Err(());
                }
            },
            Piece::Unterminated(_) => expected = Err(()),
        }
    }
    let got = reference::interpolate(s, &Fixed, &|r| Some(format!("<{r}>")));
    match (expected, got) {
        (Ok(e), Ok(g)) if e == g => {}
        (Err(()), Err(_)) => {}
        (e, g) => return Err(format!("interpolation gave {g:?}, expected {e:?}")),
    }
    // Unknown values are marked, never dropped.
    if let Ok(out) = reference::interpolate(s, &Fixed, &|_| None) {
        let references = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Reference { .. }))
            .count();
        if out.matches(reference::UNKNOWN).count() < references {
            return Err(format!("{references} references but fewer unknown marks"));
        }
    }
    // Addresses: no panic, and what parses prints back the same.
    if let Ok(address) = s.parse::<Address>() {
        if address.to_string().parse::<Address>().as_ref() != Ok(&address) {
            return Err(format!("address `{address}` does not parse back"));
        }
    }
    let _ = reference::nearest(s, ["table", "bucket", s]);
    Ok(())
}

// ----------------------------------------------------------- properties ----

fn load_bytes(bytes: &[u8], stats: &Stats) -> Result<(), TestCaseError> {
    load_bytes_for(bytes, stats, deadline())
}

/// [`load_bytes`] with a deadline of its own, for the scale tests.
fn load_bytes_for(bytes: &[u8], stats: &Stats, limit: Duration) -> Result<(), TestCaseError> {
    let file = Scratch::new("stacks", "toml", bytes);
    let took = check_load_for(&file.0, stats, limit).map_err(|e| {
        let kept = keep_failure("stack", bytes);
        TestCaseError::fail(format!("{e}\n({kept})"))
    })?;
    // Slow but within the deadline: kept for a look, not a failure.
    if took > slow() {
        let kept = keep_failure("slow", bytes);
        eprintln!("fuzz: an input took {took:?}; {kept}");
    }
    Ok(())
}

#[test]
fn mutated_corpus_stacks_are_rejected_with_a_location_or_accepted_whole() {
    run(
        "mutated corpus",
        2000,
        "target/fuzz-regressions/mutated-corpus.txt",
        mutated_stack(),
        |bytes, stats| load_bytes(&bytes.0, stats),
    );
}

#[test]
fn generated_stacks_are_rejected_with_a_location_or_accepted_whole() {
    run(
        "grammar",
        1200,
        "target/fuzz-regressions/grammar.txt",
        generated_stack(),
        |source, stats| load_bytes(source.as_bytes(), stats),
    );
}

#[test]
fn mutated_policy_files_are_rejected_with_a_location_or_accepted_whole() {
    let strategy = (
        any::<Index>(),
        prop::collection::vec(mutation(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(which, mutations, as_trust)| {
            let policies = &corpus().policies;
            let mut bytes = policies[which.index(policies.len())].1.clone();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            (Bytes(bytes), as_trust)
        });
    run(
        "mutated policies",
        600,
        "target/fuzz-regressions/mutated-policies.txt",
        strategy,
        |(policy, as_trust), stats| {
            let file = Scratch::new("policies", "json", &policy.0);
            let name = file.0.file_name().unwrap().to_string_lossy().into_owned();
            let setting = if as_trust {
                format!("trust = {{ file = \"../policies/{name}\" }}")
            } else {
                format!("trust = {{ service = \"lambda.amazonaws.com\" }}\npolicies = [\"../policies/{name}\"]")
            };
            let source = format!(
                "[stack]\nname = \"fuzz\"\n\n[table.notes]\nhash_key = {{ name = \"id\", type = \"S\" }}\n\n\
                 [table.data]\nhash_key = {{ name = \"id\", type = \"S\" }}\n\n[table.t]\n\
                 hash_key = {{ name = \"id\", type = \"S\" }}\n\n[bucket.uploads]\n\n[api.notes]\n\n\
                 [identity_pool.app]\n\n[role.r]\n{setting}\n"
            );
            load_bytes(source.as_bytes(), stats).map_err(|e| {
                let kept = keep_failure("policy", &policy.0);
                TestCaseError::fail(format!("{e}\n(policy {kept})"))
            })
        },
    );
}

#[test]
fn references_scan_parse_and_interpolate_without_panics() {
    run(
        "references",
        10_000,
        "target/fuzz-regressions/references.txt",
        reference_string(),
        |s, stats| {
            let owned = s.clone();
            let (verdict, took) = guarded("references", move || check_reference_string(&owned))
                .map_err(TestCaseError::fail)?;
            verdict.map_err(|e| {
                let kept = keep_failure("reference", s.as_bytes());
                TestCaseError::fail(format!("{e}\n({kept})"))
            })?;
            stats.record(true, took);
            Ok(())
        },
    );
}

/// Every corpus stack as it is: the valid ones load and keep their
/// invariants, the bad ones are rejected with locations.
#[test]
fn every_corpus_stack_loads_or_is_rejected_with_a_location() {
    let stats = Stats::default();
    for (name, bytes) in &corpus().stacks {
        let file = Scratch::new("stacks", "toml", bytes);
        let owned = file.0.clone();
        let (result, _) = guarded("stack::load", move || stack::load(&owned).is_ok())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = check_load(&file.0, &stats) {
            panic!("{name}: {e}");
        }
        assert_eq!(
            result,
            name.starts_with("valid-"),
            "{name}: corpus files named valid-* load, the others are rejected"
        );
    }
    for line in &corpus().references {
        if let Err(e) = check_reference_string(line) {
            panic!("references.txt `{line}`: {e}");
        }
    }
}

/// A stack far larger than anyone writes: a chain of references thousands
/// long, and a cycle through all of them (20,000 links once overflowed the
/// stack). Loading is linear in the chain: a debug build alone on 2 cores
/// takes 0.8 s, 1.4 s and 2.7 s for both loads at 5,000, 10,000 and 20,000
/// links, so one load can pass the fuzzers' 2 s deadline while the other
/// fuzz tests share the cores. This test's deadline is 30 s: a quadratic
/// load would take minutes here and still fail it.
#[test]
fn a_long_chain_of_references_loads_and_a_long_cycle_is_reported() {
    let limit = deadline().max(Duration::from_secs(30));
    let n = 20_000;
    let mut source = String::from("[stack]\nname = \"chain\"\n");
    for i in 0..n {
        source.push_str(&format!(
            "[bucket.b{i}]\ntags = {{ next = \"${{bucket.b{}.arn}}\" }}\n",
            i + 1
        ));
    }
    source.push_str(&format!("[bucket.b{n}]\n"));
    let stats = Stats::default();
    load_bytes_for(source.as_bytes(), &stats, limit).unwrap_or_else(|e| panic!("chain: {e}"));
    assert_eq!(
        stats.accepted.load(Ordering::Relaxed),
        1,
        "the chain is valid"
    );
    let cycle = source.replace(
        &format!("[bucket.b{n}]\n"),
        &format!("[bucket.b{n}]\ntags = {{ back = \"${{bucket.b0.arn}}\" }}\n"),
    );
    load_bytes_for(cycle.as_bytes(), &stats, limit).unwrap_or_else(|e| panic!("cycle: {e}"));
    assert_eq!(
        stats.rejected.load(Ordering::Relaxed),
        1,
        "the cycle is an error"
    );
}

/// Names far longer than any key: suggesting the nearest valid name is
/// quadratic in their length, so it must not be tried on them.
#[test]
fn names_far_longer_than_any_key_are_rejected_quickly() {
    let long = |c: &str| c.repeat(50_000);
    let (a, b) = (long("a"), long("b"));
    let source = format!(
        "[stack]\nname = \"demo\"\n[bucket.{a}]\n[bucket.x]\ntags = {{ t = \"${{bucket.{b}.arn}}\" }}\n\
         [user_pool.{a}]\nclients.{a} = {{}}\n[identity_pool.p]\nproviders = [\"{a}.{a}\"]\n\
         role_rules = [{{ provider = \"{b}.{b}\", claim = \"c\", match = \"equals\", value = \"v\", role = \"{b}\" }}]\n\
         authenticated_role = \"{a}\"\n[{b}.x]\n"
    );
    let stats = Stats::default();
    load_bytes(source.as_bytes(), &stats).unwrap_or_else(|e| panic!("long names: {e}"));
    assert_eq!(stats.rejected.load(Ordering::Relaxed), 1);
}

// --------------------------------------------------- through the binary ----

/// A local port that records whether anything connected to it.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Tripwire(listener)
    }
    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().expect("addr"))
    }
    fn touched(&self) -> bool {
        !matches!(self.0.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// `validate --stack FILE`: exit 0 or 1, no panic, no signal, a located
/// rejection, no connection to AWS.
fn check_binary(bytes: &[u8]) -> Result<(), String> {
    let file = Scratch::new("stacks", "toml", bytes);
    let wire = Tripwire::new();
    let dir = workspace();
    let out = assert_cmd::Command::cargo_bin("mobile-backend")
        .map_err(|e| e.to_string())?
        .current_dir(dir)
        .env_remove("MOBILE_BACKEND_STACK")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", "111111111111")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .args(["validate", "--endpoint-url", &wire.url(), "--stack"])
        .arg(&file.0)
        .timeout(Duration::from_secs(30))
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = file.0.file_name().unwrap().to_string_lossy().into_owned();
    if wire.touched() {
        return Err("validate connected to AWS".into());
    }
    if stderr.contains("panicked at") {
        return Err(format!("panic:\n{stderr}"));
    }
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => {
            // `NAME:LINE:COL`, as compilers write it: in the stack file, or
            // in a policy file it names.
            let located = [name.as_str(), ".json"].iter().any(|file| {
                stderr.match_indices(file).any(|(i, _)| {
                    let rest = &stderr[i + file.len()..];
                    let mut parts = rest.splitn(3, ':');
                    parts.next() == Some("")
                        && parts
                            .next()
                            .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
                        && parts
                            .next()
                            .is_some_and(|c| c.starts_with(|ch: char| ch.is_ascii_digit()))
                })
            });
            if located {
                Ok(())
            } else {
                Err(format!("exit 1 without `{name}:LINE:COL`:\n{stderr}"))
            }
        }
        Some(code) => Err(format!("exit code {code}:\n{stderr}")),
        None => Err(format!("killed by a signal (or timed out):\n{stderr}")),
    }
}

#[test]
fn the_binary_exits_0_or_1_with_a_location_and_never_calls_aws() {
    let cases = long_run().map(|n| (n / 20).max(96)).unwrap_or(96);
    let strategy = prop_oneof![
        2 => mutated_stack(),
        1 => generated_stack().prop_map(|s| Bytes(s.into_bytes())),
    ];
    let stats = Stats::default();
    let started = Instant::now();
    let mut runner = TestRunner::new(config(cases, "target/fuzz-regressions/binary.txt"));
    let result = runner.run(&strategy, |bytes| {
        let t0 = Instant::now();
        check_binary(&bytes.0).map_err(|e| {
            let kept = keep_failure("binary", &bytes.0);
            TestCaseError::fail(format!("{e}\n({kept})"))
        })?;
        stats.record(true, t0.elapsed());
        Ok(())
    });
    eprintln!(
        "fuzz binary: {} runs of `validate` in {:.1} s, slowest {:.1} ms",
        stats.inputs.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
        stats.slowest_us.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    if let Err(e) = result {
        panic!("fuzz binary: {e}");
    }
}
