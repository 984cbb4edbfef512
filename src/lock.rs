//! The per-stack lock that keeps two runs of `up` or `destroy` from applying
//! one stack at the same time.
//!
//! One small DynamoDB table per account and region (`mobile-backend-locks`,
//! or `$MOBILE_BACKEND_LOCK_TABLE`), created on first use with on-demand
//! billing, holds one item per locked stack: who holds it, where, since when,
//! and until when. Taking the lock is one conditional `PutItem` that succeeds
//! only if no item exists or the existing one has expired; the holder renews
//! the expiry every [`HEARTBEAT`], so a lock whose holder was killed expires
//! after [`LEASE`]. Releasing is a `DeleteItem` conditional on our lock id, so
//! a run never deletes a lock someone else took over.
//!
//! A run that applied changes also leaves a [`Record`] beside the lock (key
//! `<stack>#last-apply`, never expiring): who applied the stack last, when,
//! with which command and how it ended. `mobile-backend stages` shows it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

use crate::aws::{describe, error_code, Aws};

pub const DEFAULT_TABLE: &str = "mobile-backend-locks";
const TABLE_ENV: &str = "MOBILE_BACKEND_LOCK_TABLE";
/// How long a lock lives without being renewed.
const LEASE: Duration = Duration::from_secs(60);
/// How often the holder renews it.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long to wait for a new lock table to become active.
const TABLE_TIMEOUT: Duration = Duration::from_secs(120);

const KEY: &str = "stack";
/// The key of a stack's [`Record`] is the stack's name with this suffix (`#`
/// is never part of a stack name, so it cannot be another stack's lock).
const RECORD_SUFFIX: &str = "#last-apply";

/// The lock table's name in this account and region.
pub fn table_name() -> String {
    std::env::var(TABLE_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TABLE.to_string())
}

/// `--lock-timeout`: `0`, or a number with `s`, `m` or `h` (`30s`, `5m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. 30s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "" => return Err(format!("`{text}` has no unit; write {n}s, {n}m or {n}h")),
        other => {
            return Err(format!(
                "`{text}` has the unit `{other}`; use s, m or h (e.g. 30s, 5m, 1h)"
            ))
        }
    };
    Ok(Duration::from_secs(seconds))
}

/// Which stack a lock or record is of: the name AWS sees (`<stack>-<stage>`
/// with a stage), and the stack file's name and the stage it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackId {
    pub name: String,
    pub base: String,
    pub stage: Option<String>,
}

impl StackId {
    pub fn of(stack: &crate::stack::Stack) -> StackId {
        StackId {
            name: stack.name.clone(),
            base: stack.base_name.clone(),
            stage: stack.stage.clone(),
        }
    }

    fn attributes(&self, item: &mut HashMap<String, AttributeValue>) {
        item.insert("base".into(), AttributeValue::S(self.base.clone()));
        if let Some(stage) = &self.stage {
            item.insert("stage".into(), AttributeValue::S(stage.clone()));
        }
    }

    fn from_item(name: String, item: &HashMap<String, AttributeValue>) -> StackId {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        StackId {
            base: s("base").unwrap_or_else(|| name.clone()),
            stage: s("stage"),
            name,
        }
    }
}

/// Who holds a lock, as stored in its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub stack: String,
    /// The stack file's name and stage, when the holder wrote them.
    pub id: StackId,
    pub lock_id: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub command: String,
    /// A CI job's URL, when the run is one.
    pub location: Option<String>,
    pub acquired_at: i64,
    pub expires_at: i64,
}

/// The time now, in seconds since the Unix epoch (as lock items store it).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn timestamp(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

/// This machine's name, for the lock's holder.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown host".to_string())
}

/// The CI job this run belongs to, when a known CI system says so.
fn ci_location() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    var("CI_JOB_URL")
        .or_else(|| var("BUILD_URL"))
        .or_else(|| var("CIRCLE_BUILD_URL"))
}

impl Holder {
    fn mine(id: &StackId, command: &str) -> Holder {
        let stack = id.name.as_str();
        let now = now_secs();
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let host = host_name();
        Holder {
            stack: stack.to_string(),
            id: id.clone(),
            lock_id: format!("{host}/{pid}/{now}.{nanos:09}"),
            who: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "someone".to_string()),
            host,
            pid,
            command: command.to_string(),
            location: ci_location(),
            acquired_at: now,
            expires_at: now + LEASE.as_secs() as i64,
        }
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            (KEY.to_string(), AttributeValue::S(self.stack.clone())),
            (
                "lock_id".to_string(),
                AttributeValue::S(self.lock_id.clone()),
            ),
            ("who".to_string(), AttributeValue::S(self.who.clone())),
            ("host".to_string(), AttributeValue::S(self.host.clone())),
            ("pid".to_string(), AttributeValue::N(self.pid.to_string())),
            (
                "command".to_string(),
                AttributeValue::S(self.command.clone()),
            ),
            (
                "acquired_at".to_string(),
                AttributeValue::N(self.acquired_at.to_string()),
            ),
            (
                "expires_at".to_string(),
                AttributeValue::N(self.expires_at.to_string()),
            ),
        ]);
        if let Some(l) = &self.location {
            item.insert("location".to_string(), AttributeValue::S(l.clone()));
        }
        self.id.attributes(&mut item);
        item
    }

    fn from_item(item: &HashMap<String, AttributeValue>) -> Holder {
        let s = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        Holder {
            stack: s(KEY),
            id: StackId::from_item(s(KEY), item),
            lock_id: s("lock_id"),
            who: s("who"),
            host: s("host"),
            pid: u32::try_from(n("pid")).unwrap_or(0),
            command: s("command"),
            location: item.get("location").and_then(|v| v.as_s().ok()).cloned(),
            acquired_at: n("acquired_at"),
            expires_at: n("expires_at"),
        }
    }

    /// Whether its lease ran out (its holder stopped renewing it).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at < now
    }

    /// On this machine, whether the holding process is gone; `None` when that
    /// cannot be known (another machine, or no /proc).
    pub fn process_gone(&self) -> Option<bool> {
        if self.host != host_name() || !std::path::Path::new("/proc/self").exists() {
            return None;
        }
        Some(!std::path::Path::new(&format!("/proc/{}", self.pid)).exists())
    }

    /// `held by ... since ...`, for messages.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "held by {} on {} (pid {}) for `{}` since {}",
            self.who,
            self.host,
            self.pid,
            self.command,
            timestamp(self.acquired_at)
        );
        if let Some(l) = &self.location {
            s.push_str(&format!(" ({l})"));
        }
        let now = now_secs();
        if self.expired(now) {
            s.push_str(&format!(
                "; it expired at {} (its holder stopped renewing it)",
                timestamp(self.expires_at)
            ));
        } else if self.process_gone() == Some(true) {
            s.push_str(&format!(
                "; that process no longer runs on this machine, so the lock is stale: it expires by itself at {}, or break it now with `mobile-backend unlock`",
                timestamp(self.expires_at)
            ));
        }
        s
    }
}

/// How an applying run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Succeeded, Outcome::Failed, Outcome::Interrupted]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// The last run that applied changes to a stack: kept after its lock is
/// released, so `stages` can say who applied each stage last and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: StackId,
    pub who: String,
    pub host: String,
    pub command: String,
    pub location: Option<String>,
    pub started_at: i64,
    pub finished_at: i64,
    /// `None` for an outcome this version does not know (a newer one wrote it).
    pub outcome: Option<Outcome>,
}

impl Record {
    fn of(holder: &Holder, outcome: Outcome) -> Record {
        Record {
            id: holder.id.clone(),
            who: holder.who.clone(),
            host: holder.host.clone(),
            command: holder.command.clone(),
            location: holder.location.clone(),
            started_at: holder.acquired_at,
            finished_at: now_secs(),
            outcome: Some(outcome),
        }
    }

    fn item(&self) -> HashMap<String, AttributeValue> {
        let s = |v: &str| AttributeValue::S(v.to_string());
        let n = |v: i64| AttributeValue::N(v.to_string());
        let mut item = HashMap::from([
            (
                KEY.to_string(),
                s(&format!("{}{RECORD_SUFFIX}", self.id.name)),
            ),
            ("who".to_string(), s(&self.who)),
            ("host".to_string(), s(&self.host)),
            ("command".to_string(), s(&self.command)),
            ("started_at".to_string(), n(self.started_at)),
            ("finished_at".to_string(), n(self.finished_at)),
            (
                "outcome".to_string(),
                s(self.outcome.map(Outcome::as_str).unwrap_or("unknown")),
            ),
        ]);
        if let Some(l) = &self.location {
            item.insert("location".to_string(), s(l));
        }
        self.id.attributes(&mut item);
        item
    }

    /// The record an item holds; `None` when the item is not a record.
    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<Record> {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let name = s(KEY)?.strip_suffix(RECORD_SUFFIX)?.to_string();
        Some(Record {
            id: StackId::from_item(name, item),
            who: s("who").unwrap_or_default(),
            host: s("host").unwrap_or_default(),
            command: s("command").unwrap_or_default(),
            location: s("location"),
            started_at: n("started_at"),
            finished_at: n("finished_at"),
            outcome: s("outcome").as_deref().and_then(Outcome::parse),
        })
    }

    /// `up by ann on laptop, succeeded, 2026-12-06T08:00:00Z (3h ago)`.
    pub fn describe(&self, now: i64) -> String {
        let mut s = format!(
            "{} by {} on {}, {} at {} ({})",
            self.command,
            self.who,
            self.host,
            self.outcome.map(Outcome::as_str).unwrap_or("ended"),
            timestamp(self.finished_at),
            ago(now - self.finished_at)
        );
        if let Some(l) = &self.location {
            s.push_str(&format!(" {l}"));
        }
        s
    }
}

/// `42s ago`, `5m ago`, `3h ago`, `2d ago`.
pub fn ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

/// Every lock and record of the stages of the stack file named `base` in
/// this account and region, and of other stacks whose names start with
/// `<base>-` (so that a stack named `notes-api` is not taken for stage `api`
/// of `notes`): one paged `Scan` of the small lock table. No lock table
/// means none.
pub async fn of_stack_file(aws: &Aws, base: &str) -> Result<(Vec<Holder>, Vec<Record>), String> {
    let table = table_name();
    let mut holders = Vec::new();
    let mut records = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let out = aws
            .lock_table
            .scan()
            .table_name(&table)
            .filter_expression("#b = :b OR begins_with(#k, :p)")
            .expression_attribute_names("#b", "base")
            .expression_attribute_names("#k", KEY)
            .expression_attribute_values(":b", AttributeValue::S(base.to_string()))
            .expression_attribute_values(":p", AttributeValue::S(format!("{base}-")))
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => break,
            Err(e) => {
                return Err(format!(
                    "cannot read the lock table (dynamodb:Scan on `{table}`): {}",
                    describe(&e)
                ))
            }
        };
        for item in out.items() {
            match Record::from_item(item) {
                Some(r) => records.push(r),
                None if item.contains_key("lock_id") => holders.push(Holder::from_item(item)),
                None => {}
            }
        }
        start = out.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
        if start.is_none() {
            break;
        }
    }
    Ok((holders, records))
}

/// A lock this run holds; renewed in the background until released.
pub struct Lock {
    client: aws_sdk_dynamodb::Client,
    table: String,
    holder: Holder,
    heartbeat: tokio::task::JoinHandle<()>,
}

enum Attempt {
    Taken(Option<Box<Holder>>),
    Held,
    NoTable,
}

fn key(stack: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(KEY.to_string(), AttributeValue::S(stack.to_string()))])
}

async fn try_take(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    holder: &Holder,
) -> Result<Attempt, String> {
    let now = now_secs();
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(holder.item()))
        .condition_expression("attribute_not_exists(#k) OR expires_at < :now")
        .expression_attribute_names("#k", KEY)
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    match result {
        Ok(out) => Ok(Attempt::Taken(
            out.attributes()
                .filter(|a| !a.is_empty())
                .map(|a| Box::new(Holder::from_item(a))),
        )),
        Err(e) => match error_code(&e) {
            Some("ConditionalCheckFailedException") => Ok(Attempt::Held),
            Some("ResourceNotFoundException") => Ok(Attempt::NoTable),
            _ => Err(format!(
                "cannot take the stack lock (dynamodb:PutItem on the lock table `{table}`): {}",
                describe(&e)
            )),
        },
    }
}

/// The lock's current holder, read consistently; `None` when not locked.
pub async fn holder(aws: &Aws, stack: &str) -> Result<Option<Holder>, String> {
    let table = table_name();
    let out = aws
        .lock_table
        .get_item()
        .table_name(&table)
        .set_key(Some(key(stack)))
        .consistent_read(true)
        .send()
        .await;
    match out {
        Ok(o) => Ok(o.item().map(Holder::from_item)),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(format!(
            "cannot read the stack lock (dynamodb:GetItem on the lock table `{table}`): {}",
            describe(&e)
        )),
    }
}

/// Creates the lock table (on-demand billing, expired items removed by TTL)
/// and waits until it is active. Another run creating it at the same time is
/// fine.
async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), String> {
    let attribute = AttributeDefinition::builder()
        .attribute_name(KEY)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())?;
    let schema = KeySchemaElement::builder()
        .attribute_name(KEY)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| e.to_string())?;
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(attribute)
        .key_schema(schema)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    let created_here = match created {
        Ok(_) => {
            eprintln!("lock: created the DynamoDB lock table `{table}` (first use in this account and region)");
            true
        }
        Err(e) if error_code(&e) == Some("ResourceInUseException") => false,
        Err(e) => {
            return Err(format!(
                "cannot create the DynamoDB lock table `{table}` (dynamodb:CreateTable): {}. `up` and `destroy` need it to keep two runs from applying one stack at once; grant dynamodb:CreateTable on it, or create it yourself (partition key `stack`, a string)",
                describe(&e)
            ))
        }
    };
    let started = tokio::time::Instant::now();
    loop {
        let status = client.describe_table().table_name(table).send().await;
        match status {
            Ok(o) if o.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) => {
                break
            }
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
            Err(e) => {
                return Err(format!(
                    "cannot read the DynamoDB lock table `{table}` (dynamodb:DescribeTable): {}",
                    describe(&e)
                ))
            }
        }
        if started.elapsed() > TABLE_TIMEOUT {
            return Err(format!(
                "the DynamoDB lock table `{table}` did not become active within {}s; run again",
                TABLE_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if created_here {
        // Expired locks disappear by themselves; the lock works without it.
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("expires_at")
            .build();
        if let Ok(spec) = ttl {
            let _ = client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(spec)
                .send()
                .await;
        }
    }
    Ok(())
}

/// Takes the stack's lock, waiting up to `timeout` for its holder to release
/// it. Fails naming the holder when it cannot.
pub async fn acquire(
    aws: &Aws,
    id: &StackId,
    command: &str,
    timeout: Duration,
) -> Result<Lock, String> {
    let stack = id.name.as_str();
    let table = table_name();
    let client = aws.lock_table.clone();
    let started = tokio::time::Instant::now();
    let mut said_waiting = false;
    let mut created = false;
    loop {
        let mut holder = Holder::mine(id, command);
        match try_take(&client, &table, &holder).await? {
            Attempt::Taken(previous) => {
                if let Some(p) = previous {
                    eprintln!(
                        "lock: took over the expired lock of stack `{stack}` {}",
                        p.describe()
                    );
                }
                holder.expires_at = now_secs() + LEASE.as_secs() as i64;
                let heartbeat = tokio::spawn(renew(client.clone(), table.clone(), holder.clone()));
                return Ok(Lock {
                    client,
                    table,
                    holder,
                    heartbeat,
                });
            }
            Attempt::NoTable if !created => {
                create_table(&client, &table).await?;
                created = true;
            }
            Attempt::NoTable => {
                return Err(format!(
                "the DynamoDB lock table `{table}` was created but cannot be written to; run again"
            ))
            }
            Attempt::Held => {
                let current = self::holder(aws, stack).await?;
                let Some(current) = current else {
                    continue; // released between the two calls
                };
                let waited = started.elapsed();
                if waited >= timeout {
                    let what = current.describe();
                    return Err(if timeout.is_zero() {
                        format!(
                            "stack `{stack}` is locked: {what}. Another run is applying it; wait for it (pass --lock-timeout, e.g. --lock-timeout 10m), or, if that run is dead, break the lock with `mobile-backend unlock`. Nothing was changed"
                        )
                    } else {
                        format!(
                            "stack `{stack}` is still locked after waiting {}s: {what}. Nothing was changed; run again later, or break a dead run's lock with `mobile-backend unlock`",
                            waited.as_secs()
                        )
                    });
                }
                if !said_waiting {
                    eprintln!(
                        "lock: waiting up to {}s for the lock of stack `{stack}`, {}",
                        timeout.as_secs(),
                        current.describe()
                    );
                    said_waiting = true;
                }
                let left = timeout.saturating_sub(waited);
                tokio::time::sleep(left.min(Duration::from_secs(1))).await;
            }
        }
    }
}

/// Renews the lock until the task is aborted.
async fn renew(client: aws_sdk_dynamodb::Client, table: String, holder: Holder) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let expires = now_secs() + LEASE.as_secs() as i64;
        let result = client
            .update_item()
            .table_name(&table)
            .set_key(Some(key(&holder.stack)))
            .update_expression("SET expires_at = :e")
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":e", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":id", AttributeValue::S(holder.lock_id.clone()))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                eprintln!(
                    "lock: warning: the lock of stack `{}` was broken by someone else (`unlock`); this run goes on, but another run may now apply the stack too",
                    holder.stack
                );
                return;
            }
            Err(e) => eprintln!(
                "lock: warning: cannot renew the lock of stack `{}` ({}); trying again in {}s",
                holder.stack,
                describe(&e),
                HEARTBEAT.as_secs()
            ),
        }
    }
}

impl Lock {
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Stops renewing and deletes the lock if it is still ours; when the run
    /// applied changes (`outcome` given), leaves its [`Record`]. A failure is
    /// a warning: the lock expires by itself.
    pub async fn release(self, outcome: Option<Outcome>) {
        self.heartbeat.abort();
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&self.holder.stack)))
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":id", AttributeValue::S(self.holder.lock_id.clone()))
            .send();
        let record = async {
            match outcome {
                Some(o) => Some(
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(Record::of(&self.holder, o).item()))
                        .send()
                        .await,
                ),
                None => None,
            }
        };
        let (deleted, recorded) = tokio::join!(delete, record);
        match deleted {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {}
            Err(e) => eprintln!(
                "lock: warning: cannot release the lock of stack `{}` ({}); it expires by itself within {}s, or break it with `mobile-backend unlock`",
                self.holder.stack,
                describe(&e),
                LEASE.as_secs()
            ),
        }
        if let Some(Err(e)) = recorded {
            eprintln!(
                "lock: warning: cannot record who applied stack `{}` last (dynamodb:PutItem on `{}`: {}); `mobile-backend stages` will not show this run",
                self.holder.stack,
                self.table,
                describe(&e)
            );
        }
    }
}

/// Deletes the lock if `lock_id` still holds it. `Ok(false)` when someone
/// else holds it now (or nobody).
pub async fn break_lock(aws: &Aws, stack: &str, lock_id: &str) -> Result<bool, String> {
    let table = table_name();
    let result = aws
        .lock_table
        .delete_item()
        .table_name(&table)
        .set_key(Some(key(stack)))
        .condition_expression("lock_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(lock_id.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(format!(
            "cannot delete the stack lock (dynamodb:DeleteItem on the lock table `{table}`): {}",
            describe(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(base: &str, stage: Option<&str>) -> StackId {
        StackId {
            name: match stage {
                Some(s) => format!("{base}-{s}"),
                None => base.to_string(),
            },
            base: base.to_string(),
            stage: stage.map(str::to_string),
        }
    }

    #[test]
    fn a_record_survives_its_item_and_is_never_taken_for_a_lock() {
        let mut h = Holder::mine(&id("notes", Some("pr-7")), "up");
        h.location = Some("https://ci.example/jobs/7".into());
        let record = Record::of(&h, Outcome::Failed);
        let item = record.item();
        assert_eq!(item[KEY].as_s().unwrap(), "notes-pr-7#last-apply");
        assert_eq!(item["base"].as_s().unwrap(), "notes");
        assert_eq!(item["stage"].as_s().unwrap(), "pr-7");
        assert!(!item.contains_key("expires_at"), "a record never expires");
        assert!(!item.contains_key("lock_id"), "a record is no lock");
        assert_eq!(Record::from_item(&item), Some(record.clone()));
        // A lock item is no record; its stack file and stage come back too.
        let lock = h.item();
        assert_eq!(Record::from_item(&lock), None);
        assert_eq!(Holder::from_item(&lock).id, id("notes", Some("pr-7")));
        let d = Record {
            finished_at: 1_700_000_000,
            ..record
        }
        .describe(1_700_000_000 + 3 * 3600 + 5);
        assert!(
            d.starts_with("up by ")
                && d.contains(
                    ", failed at 2023-11-14T22:13:20Z (3h ago) https://ci.example/jobs/7"
                ),
            "{d}"
        );
    }

    #[test]
    fn a_lock_item_of_an_older_version_is_of_the_stack_it_names() {
        let mut item = Holder::mine(&id("notes", None), "up").item();
        item.remove("base");
        let h = Holder::from_item(&item);
        assert_eq!(h.id, id("notes", None));
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(ago(5), "5s ago");
        assert_eq!(ago(-3), "0s ago");
        assert_eq!(ago(125), "2m ago");
        assert_eq!(ago(7200), "2h ago");
        assert_eq!(ago(3 * 86400 + 5), "3d ago");
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("30").unwrap_err().contains("30s"));
        assert!(parse_duration("3d").unwrap_err().contains("`d`"));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn a_holder_survives_its_item() {
        let h = Holder::mine(&id("notes", None), "up");
        let back = Holder::from_item(&h.item());
        assert_eq!(back, h);
        assert!(!back.expired(now_secs()));
        assert!(back.expired(back.expires_at + 1));
        if cfg!(target_os = "linux") {
            // This process runs, on this machine.
            assert_eq!(back.process_gone(), Some(false));
        }
    }

    #[test]
    fn a_description_names_the_holder_and_when() {
        let mut h = Holder::mine(&id("notes", None), "destroy");
        h.who = "ci".into();
        h.acquired_at = 1_700_000_000;
        h.location = Some("https://ci.example/jobs/7".into());
        let d = h.describe();
        assert!(d.contains("held by ci on"), "{d}");
        assert!(
            d.contains("for `destroy` since 2023-11-14T22:13:20Z"),
            "{d}"
        );
        assert!(d.contains("(https://ci.example/jobs/7)"), "{d}");
        h.expires_at = 1;
        assert!(h.describe().contains("expired at 1970-01-01T00:00:01Z"));
    }
}
