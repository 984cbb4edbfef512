//! A function's stream triggers, the function kind's second file: event
//! source mappings from DynamoDB streams to the function, as its attribute
//! `triggers`.
//!
//! There is no state file, so a mapping is found again by its function and
//! its source (the stream's ARN): Lambda allows one mapping per function and
//! stream. The read is one `ListEventSourceMappings` by function name. A
//! change is reconciled mapping by mapping: the same source with another
//! batch size or `enabled` is updated in place (`UpdateEventSourceMapping`);
//! another starting position deletes the mapping and makes it again (Lambda
//! cannot change it, as in Terraform, where it forces a new mapping); a
//! source no longer wanted is deleted; a new one is made. Mappings move
//! through `Creating`, `Enabling`, `Disabling`, `Updating` and `Deleting`:
//! each change waits for `Enabled`/`Disabled` (or for the mapping to be
//! gone) before the next one, as Terraform's waiters do. Only mappings from
//! DynamoDB streams are this attribute's; any other event source of the
//! function is left alone while it lives, and deleted with it.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use aws_sdk_lambda::types::{EventSourceMappingConfiguration, EventSourcePosition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::function::{FunctionSpec, StartingPosition, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE};
use super::table::StreamView;
use super::{retry, wait_for, DesiredContext, Error, Kind};
use crate::aws::{error_code, Aws};
use crate::stack::{Address, Finding, Stack};

/// One stream trigger as the plan compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Trigger {
    /// The stream's ARN (its table's `stream_arn`).
    pub source: String,
    /// `latest` or `trim_horizon` (`at_timestamp` for a mapping made elsewhere).
    pub starting_position: String,
    pub batch_size: i64,
    pub enabled: bool,
}

/// How long a mapping may take to settle after a create or an update
/// (Terraform waits 10 minutes), and to go after a delete (5 minutes).
const SETTLE: Duration = Duration::from_secs(10 * 60);
const GONE: Duration = Duration::from_secs(5 * 60);

/// What a role needs to let Lambda read a DynamoDB stream for a function
/// (Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB":
/// execution role permissions).
pub(crate) const STREAM_READ_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

/// AWS managed policies that grant [`STREAM_READ_ACTIONS`] on every stream.
const GRANTING_MANAGED_POLICIES: &[&str] = &[
    "AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaInvocation-DynamoDB",
    "AmazonDynamoDBFullAccess",
    "AdministratorAccess",
];

/// The table a trigger's `stream = "table.<key>"` names.
pub(crate) fn table_of(stream: &str) -> Option<Address> {
    let key = stream.strip_prefix("table.")?;
    (!key.is_empty() && !key.contains('.') && !key.contains("${"))
        .then(|| Address::new(Kind::Table, key))
}

/// Whether an event source is a DynamoDB stream
/// (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
fn is_stream(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && parts[2] == "dynamodb" && parts[5].contains("/stream/")
}

// ------------------------------------------------------------ checks ----

/// The offline checks of a function's `triggers`: each names a table of the
/// stack (a link: the table is made first), once, with a batch size Lambda
/// takes.
pub(crate) fn check(spec: &FunctionSpec, c: &mut crate::stack::Checks<'_, '_>) {
    let address = c.address().clone();
    let mut seen = BTreeSet::new();
    for (i, t) in spec.triggers.iter().enumerate() {
        let span = c
            .span_index("triggers", i)
            .unwrap_or_else(|| c.span(&["triggers"]));
        match table_of(&t.stream) {
            None => c.error(
                span.clone(),
                format!(
                    "`{address}`: trigger `stream = \"{}\"` does not name a table's stream",
                    t.stream
                ),
                Some("write `stream = \"table.<key>\"` with the key of a `[table.<key>]` of this stack that declares `stream`".into()),
            ),
            Some(table) => {
                if !seen.insert(table.clone()) {
                    c.error(
                        span.clone(),
                        format!("`{address}`: two triggers read the stream of `{table}`; Lambda allows one mapping per function and stream"),
                        Some("keep one trigger per table".into()),
                    );
                }
                c.link(address.clone(), table, span.clone(), "a trigger's `stream`", true);
            }
        }
        if !(1..=MAX_BATCH_SIZE).contains(&t.batch_size) {
            c.error(
                span,
                format!(
                    "`{address}`: trigger of `{}`: `batch_size = {}`; Lambda takes 1 to {MAX_BATCH_SIZE} records from a DynamoDB stream",
                    t.stream, t.batch_size
                ),
                None,
            );
        }
    }
}

/// How a function's triggers fit the rest of the stack: each table must
/// declare a stream (an error), and a role of this stack should let Lambda
/// read it (a warning naming the missing actions).
pub(crate) fn check_across(spec: &FunctionSpec, address: &Address, stack: &Stack) -> Vec<Finding> {
    let mut found = Vec::new();
    for t in &spec.triggers {
        let Some(table_address) = table_of(&t.stream) else {
            continue;
        };
        // An undeclared table is reported by the link.
        let Some(crate::stack::Spec::Table(table)) =
            stack.resources.get(&table_address).map(|r| &r.spec)
        else {
            continue;
        };
        if table.stream == StreamView::Off {
            found.push(Finding::error(
                format!("`{address}`: its trigger reads the stream of `{table_address}`, which declares no stream"),
                Some(format!("add `stream = \"new_image\"` to `[{table_address}]` (or `keys_only`, `old_image`, `new_and_old_images`: what each record holds)")),
            ));
            continue;
        }
        let table_name = match &table.name {
            Some(name) if name.contains("${") => continue,
            Some(name) => name.clone(),
            None => Kind::Table.default_name(&stack.name, &table_address.key),
        };
        let role_address = Address::new(Kind::Role, spec.role.as_str());
        let missing = missing_stream_read(&role_address, &table_address, &table_name, stack);
        if !missing.is_empty() {
            found.push(Finding::warning(
                format!(
                    "`{address}`: its role `{role_address}` does not let Lambda read the stream of `{table_address}`: it grants no {}",
                    missing.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                ),
                Some(format!(
                    "Lambda refuses the trigger without them: allow them on `${{{table_address}.stream_arn}}` in a policy file of `[{role_address}]`, or add `arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole` to its `managed_policies`"
                )),
            ));
        }
    }
    found
}

/// Which of [`STREAM_READ_ACTIONS`] the stack's role at `role_address`
/// does not allow on the stream of the table named `table_name`. Nothing
/// when the role is not this stack's (an ARN: not known offline) or when it
/// has a managed policy whose content is not known offline (a customer
/// managed one). Statements with `NotAction` or `NotResource` grant
/// nothing here; conditions are not looked at.
fn missing_stream_read(
    role_address: &Address,
    table_address: &Address,
    table_name: &str,
    stack: &Stack,
) -> Vec<&'static str> {
    let Some(crate::stack::Spec::Role(role)) = stack.resources.get(role_address).map(|r| &r.spec)
    else {
        return Vec::new();
    };
    for arn in &role.managed_policies {
        let Some(name) = arn.split(":policy/").nth(1) else {
            return Vec::new();
        };
        if !arn.contains(":iam::aws:policy/") {
            return Vec::new(); // customer managed: its content is not known offline
        }
        let name = name.rsplit('/').next().unwrap_or(name);
        if GRANTING_MANAGED_POLICIES.contains(&name) {
            return Vec::new();
        }
    }
    let dir = stack.file.parent().unwrap_or(Path::new("."));
    let documents: Vec<Value> = role
        .policies
        .iter()
        .filter_map(|file| std::fs::read_to_string(dir.join(file)).ok())
        .filter_map(|text| serde_json::from_str(&text).ok())
        .collect();
    let reference = format!("${{{table_address}.");
    let stream = format!("table/{table_name}/stream/2024-01-01T00:00:00.000");
    STREAM_READ_ACTIONS
        .iter()
        .copied()
        .filter(|action| {
            !documents
                .iter()
                .any(|doc| allows(doc, action, &reference, &stream))
        })
        .collect()
}

/// Whether a policy document has an `Allow` statement for `action` on a
/// resource that is the stream: `*`, a reference to the table
/// (`${table.notes.stream_arn}`, `${table.notes.arn}/stream/*`), or a
/// DynamoDB ARN pattern matching `stream` (`table/<name>/stream/<label>`).
fn allows(doc: &Value, action: &str, reference: &str, stream: &str) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(all) => all.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let strings = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(all) => all
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && strings(&st["Action"])
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && strings(&st["Resource"])
                .iter()
                .any(|r| resource_is_stream(r, reference, stream))
    })
}

fn resource_is_stream(resource: &str, reference: &str, stream: &str) -> bool {
    if resource == "*" || resource.contains(reference) {
        return true;
    }
    // Other references stand for any value.
    let mut pattern = String::new();
    let mut rest = resource;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&rest[..start]);
        pattern.push('*');
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    pattern.push_str(rest);
    let parts: Vec<&str> = pattern.splitn(6, ':').collect();
    parts.len() == 6 && glob(parts[2], "dynamodb") && glob(parts[5], stream)
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

// ----------------------------------------------------------- desired ----

/// The triggers the stack wants, sources resolved to the tables' stream
/// ARNs (unknown until a table and its stream exist), sorted by source.
pub(crate) fn desired(
    spec: &FunctionSpec,
    ctx: &DesiredContext<'_>,
) -> Result<Vec<Trigger>, String> {
    let mut out = Vec::new();
    for t in &spec.triggers {
        let table = table_of(&t.stream).ok_or_else(|| {
            format!(
                "trigger `stream = \"{}\"` does not name a table's stream (`table.<key>`)",
                t.stream
            )
        })?;
        out.push(Trigger {
            source: ctx.output(&table, "stream_arn"),
            starting_position: t.starting_position.as_str().to_string(),
            batch_size: t.batch_size,
            enabled: t.enabled,
        });
    }
    out.sort();
    Ok(out)
}

// -------------------------------------------------------------- read ----

/// A mapping of the function as Lambda lists it.
#[derive(Debug, Clone)]
struct Mapping {
    uuid: String,
    source: String,
    state: String,
    trigger: Trigger,
}

fn position_of(p: Option<&EventSourcePosition>) -> String {
    match p {
        Some(EventSourcePosition::Latest) => StartingPosition::Latest.as_str().to_string(),
        Some(EventSourcePosition::TrimHorizon) => {
            StartingPosition::TrimHorizon.as_str().to_string()
        }
        Some(other) => other.as_str().to_ascii_lowercase(),
        None => String::new(),
    }
}

fn mapping_of(m: &EventSourceMappingConfiguration) -> Mapping {
    let source = m.event_source_arn().unwrap_or_default().to_string();
    let state = m.state().unwrap_or_default().to_string();
    Mapping {
        uuid: m.uuid().unwrap_or_default().to_string(),
        trigger: Trigger {
            source: source.clone(),
            starting_position: position_of(m.starting_position()),
            batch_size: m.batch_size().map(i64::from).unwrap_or(DEFAULT_BATCH_SIZE),
            // Terraform reads `Enabling` as enabled and `Disabling` as
            // disabled; a mapping being made or updated keeps what it was
            // asked for, which only `Disabled`/`Disabling` say is off.
            enabled: !matches!(state.as_str(), "Disabled" | "Disabling"),
        },
        source,
        state,
    }
}

/// Every event source mapping of the function (all pages); none when the
/// function is gone.
async fn list(aws: &Aws, function: &str) -> Result<Vec<Mapping>, Error> {
    let listed = super::all_pages(|marker| async move {
        let out = match aws
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                return Ok((Vec::new(), None))
            }
            Err(e) => return Err(Error::aws("lambda:ListEventSourceMappings", &e)),
        };
        Ok((
            out.event_source_mappings()
                .iter()
                .map(mapping_of)
                .collect::<Vec<_>>(),
            out.next_marker()
                .filter(|m| !m.is_empty())
                .map(str::to_string),
        ))
    })
    .await?;
    Ok(listed)
}

/// The function's stream triggers as they are: its mappings from DynamoDB
/// streams, but those being deleted, sorted by source.
pub(crate) async fn read(aws: &Aws, function: &str) -> Result<Vec<Trigger>, Error> {
    let mut out: Vec<Trigger> = list(aws, function)
        .await?
        .into_iter()
        .filter(|m| is_stream(&m.source) && m.state != "Deleting")
        .map(|m| m.trigger)
        .collect();
    out.sort();
    Ok(out)
}

// ------------------------------------------------- create, update, delete ----

/// Brings the function's stream mappings to `want`, reading them afresh.
pub(crate) async fn reconcile(aws: &Aws, function: &str, want: &[Trigger]) -> Result<(), Error> {
    let have = list(aws, function).await?;
    let mut kept = BTreeSet::new();
    for m in have.iter().filter(|m| is_stream(&m.source)) {
        if m.state == "Deleting" {
            // Going already; a new mapping from the same stream waits for it.
            if want.iter().any(|w| w.source == m.source) {
                wait_gone(aws, &m.uuid, function, &m.source).await?;
            }
            continue;
        }
        match want.iter().find(|w| w.source == m.source) {
            Some(w) if w.starting_position == m.trigger.starting_position => {
                if w.batch_size != m.trigger.batch_size || w.enabled != m.trigger.enabled {
                    update_mapping(aws, function, &m.uuid, w).await?;
                }
                kept.insert(m.source.clone());
            }
            // Not wanted, or wanted from another starting position (which
            // Lambda cannot change): deleted, and made again below.
            _ => delete_mapping(aws, function, &m.uuid, &m.source).await?,
        }
    }
    for w in want.iter().filter(|w| !kept.contains(&w.source)) {
        create_mapping(aws, function, w).await?;
    }
    Ok(())
}

fn position(t: &Trigger) -> EventSourcePosition {
    if t.starting_position == StartingPosition::TrimHorizon.as_str() {
        EventSourcePosition::TrimHorizon
    } else {
        EventSourcePosition::Latest
    }
}

fn i32_of(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

async fn create_mapping(aws: &Aws, function: &str, t: &Trigger) -> Result<(), Error> {
    let out = retry::retry(
        &format!(
            "lambda:CreateEventSourceMapping from `{}` to `{function}`",
            t.source
        ),
        &retry::STREAM_NOT_YET_READABLE,
        || {
            aws.lambda
                .create_event_source_mapping()
                .function_name(function)
                .event_source_arn(&t.source)
                .starting_position(position(t))
                .batch_size(i32_of(t.batch_size))
                .enabled(t.enabled)
                .send()
        },
    )
    .await;
    let out = match out {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceConflictException") => {
            return Err(Error::Refused(format!(
                "function `{function}`: a mapping from `{}` exists already (made since the plan was read?); run `plan` again",
                t.source
            )))
        }
        Err(e) if error_code(&e) == Some("InvalidParameterValueException") => {
            return Err(Error::Aws {
                operation: "lambda:CreateEventSourceMapping",
                code: Some("InvalidParameterValueException".into()),
                detail: format!(
                    "function `{function}`, stream `{}`: {}. The function's role must allow {} on the stream; add them to its policy and run `up` again",
                    t.source,
                    crate::aws::describe(&e),
                    STREAM_READ_ACTIONS.join(", ")
                ),
            })
        }
        Err(e) => return Err(Error::aws("lambda:CreateEventSourceMapping", &e)),
    };
    let uuid = out.uuid().unwrap_or_default();
    if uuid.is_empty() {
        return Err(Error::Unexpected(format!(
            "function `{function}`: lambda:CreateEventSourceMapping from `{}` answered no UUID",
            t.source
        )));
    }
    wait_settled(aws, uuid, function, &t.source).await
}

async fn update_mapping(aws: &Aws, function: &str, uuid: &str, t: &Trigger) -> Result<(), Error> {
    // A mapping still being made or changed refuses another change.
    wait_settled(aws, uuid, function, &t.source).await?;
    retry::retry(
        &format!("lambda:UpdateEventSourceMapping {uuid} of `{function}`"),
        &retry::MAPPING_CHANGING,
        || {
            aws.lambda
                .update_event_source_mapping()
                .uuid(uuid)
                .batch_size(i32_of(t.batch_size))
                .enabled(t.enabled)
                .send()
        },
    )
    .await
    .map_err(|e| Error::aws("lambda:UpdateEventSourceMapping", &e))?;
    wait_settled(aws, uuid, function, &t.source).await
}

async fn delete_mapping(aws: &Aws, function: &str, uuid: &str, source: &str) -> Result<(), Error> {
    let result = retry::retry(
        &format!("lambda:DeleteEventSourceMapping {uuid} of `{function}`"),
        &retry::MAPPING_CHANGING,
        || aws.lambda.delete_event_source_mapping().uuid(uuid).send(),
    )
    .await;
    match result {
        Ok(_) => {}
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(()),
        Err(e) => return Err(Error::aws("lambda:DeleteEventSourceMapping", &e)),
    }
    wait_gone(aws, uuid, function, source).await
}

/// Deletes every event source mapping of the function (of any source), and
/// waits until they are gone: Lambda keeps them when the function goes.
pub(crate) async fn delete_all(aws: &Aws, function: &str) -> Result<(), Error> {
    for m in list(aws, function).await? {
        if m.state == "Deleting" {
            wait_gone(aws, &m.uuid, function, &m.source).await?;
        } else {
            delete_mapping(aws, function, &m.uuid, &m.source).await?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------- waits ----

/// Waits until the mapping is `Enabled` or `Disabled`.
async fn wait_settled(aws: &Aws, uuid: &str, function: &str, source: &str) -> Result<(), Error> {
    let what = format!("the trigger of `{function}` from `{source}`");
    wait_for(&what, SETTLE, || async {
        let out = match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                return Err(Error::Wait(format!(
                    "{what}: the mapping {uuid} is gone (deleted by someone else?); run `up` again"
                )))
            }
            Err(e) => return Err(Error::aws("lambda:GetEventSourceMapping", &e)),
        };
        match out.state().unwrap_or_default() {
            "Creating" | "Enabling" | "Disabling" | "Updating" => Ok(ControlFlow::Continue(
                out.state().unwrap_or_default().to_string(),
            )),
            "Deleting" => Err(Error::Wait(format!(
                "{what}: the mapping {uuid} is being deleted (by someone else?); run `up` again"
            ))),
            _ => Ok(ControlFlow::Break(())),
        }
    })
    .await
}

/// Waits until a deleted mapping is gone (`Deleting` lasts seconds).
async fn wait_gone(aws: &Aws, uuid: &str, function: &str, source: &str) -> Result<(), Error> {
    let what = format!("the old trigger of `{function}` from `{source}`");
    wait_for(&what, GONE, || async {
        match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(out) => Ok(ControlFlow::Continue(
                out.state().unwrap_or("Deleting").to_string(),
            )),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
                Ok(ControlFlow::Break(()))
            }
            Err(e) => Err(Error::aws("lambda:GetEventSourceMapping", &e)),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::mock::mock_client;
    use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingOutput;
    use aws_sdk_lambda::operation::delete_event_source_mapping::{
        DeleteEventSourceMappingError, DeleteEventSourceMappingOutput,
    };
    use aws_sdk_lambda::operation::get_event_source_mapping::{
        GetEventSourceMappingError, GetEventSourceMappingOutput,
    };
    use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
    use aws_sdk_lambda::operation::update_event_source_mapping::{
        UpdateEventSourceMappingError, UpdateEventSourceMappingOutput,
    };
    use aws_sdk_lambda::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    fn stream(table: &str) -> String {
        format!(
            "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-12-06T04:00:00.000"
        )
    }

    fn listed(
        uuid: &str,
        source: &str,
        position: EventSourcePosition,
        batch: i32,
    ) -> EventSourceMappingConfiguration {
        EventSourceMappingConfiguration::builder()
            .uuid(uuid)
            .event_source_arn(source)
            .starting_position(position)
            .batch_size(batch)
            .state("Enabled")
            .build()
    }

    fn want(table: &str, position: &str, batch: i64) -> Trigger {
        Trigger {
            source: stream(table),
            starting_position: position.into(),
            batch_size: batch,
            enabled: true,
        }
    }

    fn not_found() -> GetEventSourceMappingError {
        GetEventSourceMappingError::generic(
            ErrorMetadata::builder()
                .code("ResourceNotFoundException")
                .message("The resource you requested does not exist.")
                .build(),
        )
    }

    fn state(s: &'static str) -> impl Fn() -> GetEventSourceMappingOutput + Send + Sync {
        move || GetEventSourceMappingOutput::builder().state(s).build()
    }

    /// Same source: updated in place; another starting position: deleted
    /// and made again; gone from the stack: deleted; new: made. Every
    /// change waits for its mapping to settle (or be gone) first.
    #[tokio::test(start_paused = true)]
    async fn a_change_of_triggers_is_reconciled_mapping_by_mapping_with_waits() {
        let list = mock!(Client::list_event_source_mappings)
            .match_requests(|r| r.function_name() == Some("demo-fn"))
            .then_output(|| {
                ListEventSourceMappingsOutput::builder()
                    .event_source_mappings(listed(
                        "kept",
                        &stream("demo-a"),
                        EventSourcePosition::Latest,
                        100,
                    ))
                    .event_source_mappings(listed(
                        "removed",
                        &stream("demo-b"),
                        EventSourcePosition::Latest,
                        100,
                    ))
                    .event_source_mappings(listed(
                        "moved",
                        &stream("demo-c"),
                        EventSourcePosition::Latest,
                        100,
                    ))
                    // Not a stream: left alone.
                    .event_source_mappings(listed(
                        "queue",
                        "arn:aws:sqs:us-east-1:123456789012:q",
                        EventSourcePosition::Latest,
                        10,
                    ))
                    .build()
            });
        let update = mock!(Client::update_event_source_mapping)
            .match_requests(|r| {
                r.uuid() == Some("kept") && r.batch_size() == Some(500) && r.enabled() == Some(true)
            })
            .sequence()
            .error(|| {
                UpdateEventSourceMappingError::generic(
                    ErrorMetadata::builder()
                        .code("ResourceInUseException")
                        .message("Cannot update the event source mapping because it is in use.")
                        .build(),
                )
            })
            .output(|| UpdateEventSourceMappingOutput::builder().build())
            .build();
        let delete = mock!(Client::delete_event_source_mapping)
            .match_requests(|r| matches!(r.uuid(), Some("removed" | "moved")))
            .then_output(|| {
                DeleteEventSourceMappingOutput::builder()
                    .state("Deleting")
                    .build()
            });
        let create = mock!(Client::create_event_source_mapping)
            .match_requests(|r| {
                r.function_name() == Some("demo-fn")
                    && r.enabled() == Some(true)
                    && ((r.event_source_arn() == Some(stream("demo-c").as_str())
                        && r.starting_position() == Some(&EventSourcePosition::TrimHorizon)
                        && r.batch_size() == Some(100))
                        || (r.event_source_arn() == Some(stream("demo-d").as_str())
                            && r.starting_position() == Some(&EventSourcePosition::Latest)
                            && r.batch_size() == Some(10)))
            })
            .then_output(|| {
                CreateEventSourceMappingOutput::builder()
                    .uuid("new")
                    .state("Creating")
                    .build()
            });
        let kept = mock!(Client::get_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("kept"))
            .sequence()
            .output(state("Enabled"))
            .output(state("Updating"))
            .output(state("Enabled"))
            .build();
        let gone = mock!(Client::get_event_source_mapping)
            .match_requests(|r| matches!(r.uuid(), Some("removed" | "moved")))
            .sequence()
            .output(state("Deleting"))
            .error(not_found)
            .output(state("Deleting"))
            .error(not_found)
            .build();
        let new = mock!(Client::get_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("new"))
            .sequence()
            .output(state("Creating"))
            .output(state("Enabled"))
            .output(state("Enabling"))
            .output(state("Enabled"))
            .build();
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&list, &update, &delete, &create, &kept, &gone, &new]
            ),
            ..Aws::for_tests()
        };
        let mut wanted = vec![
            want("demo-a", "latest", 500),
            want("demo-c", "trim_horizon", 100),
            want("demo-d", "latest", 10),
        ];
        wanted.sort();
        reconcile(&aws, "demo-fn", &wanted)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(update.num_calls(), 2, "retried once while in use");
        assert_eq!(delete.num_calls(), 2);
        assert_eq!(create.num_calls(), 2);
        assert_eq!(
            (kept.num_calls(), gone.num_calls(), new.num_calls()),
            (3, 4, 4)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_mappings_go_before_the_function_and_an_orphan_delete_is_success() {
        let list = mock!(Client::list_event_source_mappings).then_output(|| {
            ListEventSourceMappingsOutput::builder()
                .event_source_mappings(listed(
                    "one",
                    &stream("demo-a"),
                    EventSourcePosition::Latest,
                    100,
                ))
                .event_source_mappings(listed(
                    "two",
                    "arn:aws:sqs:us-east-1:123456789012:q",
                    EventSourcePosition::Latest,
                    10,
                ))
                .build()
        });
        let delete = mock!(Client::delete_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("one"))
            .then_output(|| DeleteEventSourceMappingOutput::builder().build());
        let already = mock!(Client::delete_event_source_mapping)
            .match_requests(|r| r.uuid() == Some("two"))
            .then_error(|| {
                DeleteEventSourceMappingError::generic(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("The resource you requested does not exist.")
                        .build(),
                )
            });
        let wait = mock!(Client::get_event_source_mapping)
            .sequence()
            .output(state("Deleting"))
            .error(not_found)
            .build();
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&list, &delete, &already, &wait]
            ),
            ..Aws::for_tests()
        };
        delete_all(&aws, "demo-fn")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (delete.num_calls(), already.num_calls(), wait.num_calls()),
            (1, 1, 2)
        );
    }

    #[tokio::test]
    async fn the_read_keeps_stream_mappings_not_being_deleted_sorted_by_source() {
        let list = mock!(Client::list_event_source_mappings)
            .sequence()
            .output(|| {
                ListEventSourceMappingsOutput::builder()
                    .event_source_mappings(listed(
                        "b",
                        &stream("demo-b"),
                        EventSourcePosition::TrimHorizon,
                        5,
                    ))
                    .event_source_mappings(
                        EventSourceMappingConfiguration::builder()
                            .uuid("z")
                            .event_source_arn(stream("demo-z"))
                            .state("Deleting")
                            .build(),
                    )
                    .next_marker("page-2")
                    .build()
            })
            .output(|| {
                ListEventSourceMappingsOutput::builder()
                    .event_source_mappings(
                        EventSourceMappingConfiguration::builder()
                            .uuid("a")
                            .event_source_arn(stream("demo-a"))
                            .starting_position(EventSourcePosition::Latest)
                            .batch_size(100)
                            .state("Disabled")
                            .build(),
                    )
                    .event_source_mappings(listed(
                        "q",
                        "arn:aws:sqs:us-east-1:123456789012:q",
                        EventSourcePosition::Latest,
                        10,
                    ))
                    .build()
            })
            .build();
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&list]),
            ..Aws::for_tests()
        };
        let got = read(&aws, "demo-fn")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut disabled = want("demo-a", "latest", 100);
        disabled.enabled = false;
        assert_eq!(got, vec![disabled, want("demo-b", "trim_horizon", 5)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_role_that_cannot_read_the_stream_is_waited_out_then_named_in_the_error() {
        use aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError;
        let create = mock!(Client::create_event_source_mapping).then_error(|| {
            CreateEventSourceMappingError::generic(
                ErrorMetadata::builder()
                    .code("InvalidParameterValueException")
                    .message("Cannot access stream arn:aws:dynamodb:us-east-1:123456789012:table/demo-a/stream/x. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.")
                    .build(),
            )
        });
        let list = mock!(Client::list_event_source_mappings)
            .then_output(|| ListEventSourceMappingsOutput::builder().build());
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &list]),
            ..Aws::for_tests()
        };
        let e = reconcile(&aws, "demo-fn", &[want("demo-a", "latest", 100)])
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            create.num_calls() as u32,
            retry::STREAM_NOT_YET_READABLE.attempts
        );
        assert!(
            e.contains("demo-fn") && e.contains("dynamodb:GetRecords"),
            "{e}"
        );
    }

    #[test]
    fn iam_wildcards_match_as_iam_does() {
        assert!(glob("dynamodb:*", "dynamodb:getrecords"));
        assert!(glob("*", "dynamodb:getrecords"));
        assert!(glob("dynamodb:get*", "dynamodb:getshariterator"));
        assert!(!glob("dynamodb:putitem", "dynamodb:getrecords"));
        assert!(glob(
            "table/demo-*/stream/*",
            "table/demo-notes/stream/2024"
        ));
        assert!(!glob("table/demo-notes", "table/demo-notes/stream/2024"));
        let s = "table/demo-notes/stream/2024-01-01T00:00:00.000";
        let r = "${table.notes.";
        assert!(resource_is_stream("${table.notes.stream_arn}", r, s));
        assert!(resource_is_stream("${table.notes.arn}/stream/*", r, s));
        assert!(resource_is_stream(
            "arn:aws:dynamodb:${aws.region}:${aws.account_id}:table/demo-notes/stream/*",
            r,
            s
        ));
        assert!(!resource_is_stream(
            "arn:aws:dynamodb:*:*:table/demo-notes",
            r,
            s
        ));
        assert!(!resource_is_stream("${table.other.stream_arn}", r, s));
        assert!(!resource_is_stream("arn:aws:s3:::*", r, s));
    }

    // ------------------------------------------------- the stack file ----

    /// Loads a stack with a table `notes` (with `stream`), a role `exec`
    /// (`role_extra` added to it) and a function `indexer` triggered by
    /// `trigger`; the rendered errors, or the rendered warnings.
    fn load(
        table_extra: &str,
        role_extra: &str,
        trigger: &str,
        files: &[(&str, &str)],
    ) -> Result<String, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("fn")).unwrap();
        std::fs::write(dir.path().join("fn/index.js"), "x").unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let file = dir.path().join("demo.toml");
        std::fs::write(
            &file,
            format!(
                "[stack]\nname = \"demo\"\n\
                 [table.notes]\nhash_key = {{ name = \"id\", type = \"S\" }}\n{table_extra}\n\
                 [role.exec]\ntrust = {{ service = \"lambda.amazonaws.com\" }}\n{role_extra}\n\
                 [function.indexer]\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"exec\"\n\
                 triggers = [{trigger}]\n"
            ),
        )
        .unwrap();
        crate::stack::load(&file)
            .map(|s| s.sources.render_warnings(false))
            .map_err(|d| d.render(false))
    }

    const STREAM: &str = "stream = \"new_image\"";
    const READS: &str = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], "Resource": "${table.notes.stream_arn}"}]}"#;

    #[test]
    fn a_trigger_names_a_declared_table_with_a_stream_and_a_batch_lambda_takes() {
        let policies = "policies = [\"reads.json\"]";
        let files = [("reads.json", READS)];
        assert_eq!(
            load(STREAM, policies, "{ stream = \"table.notes\" }", &files),
            Ok(String::new())
        );
        // The table is made first.
        let e = load(STREAM, policies, "{ stream = \"table.nope\" }", &files).unwrap_err();
        assert!(
            e.contains("names `table.nope`, which the stack does not declare"),
            "{e}"
        );
        assert!(e.contains("demo.toml:14"), "{e}");
        let e = load(STREAM, policies, "{ stream = \"notes\" }", &files).unwrap_err();
        assert!(
            e.contains("does not name a table's stream") && e.contains("table.<key>"),
            "{e}"
        );
        let e = load("", policies, "{ stream = \"table.notes\" }", &files).unwrap_err();
        assert!(e.contains("`function.indexer`: its trigger reads the stream of `table.notes`, which declares no stream"), "{e}");
        assert!(
            e.contains("add `stream = \"new_image\"` to `[table.notes]`"),
            "{e}"
        );
        for batch in ["0", "10001"] {
            let e = load(
                STREAM,
                policies,
                &format!("{{ stream = \"table.notes\", batch_size = {batch} }}"),
                &files,
            )
            .unwrap_err();
            assert!(
                e.contains(&format!("`batch_size = {batch}`")) && e.contains("1 to 10000"),
                "{e}"
            );
        }
        let e = load(STREAM, policies, "{ stream = \"table.notes\" }, { stream = \"table.notes\", starting_position = \"trim_horizon\" }", &files).unwrap_err();
        assert!(
            e.contains("two triggers read the stream of `table.notes`"),
            "{e}"
        );
        let e = load(
            STREAM,
            policies,
            "{ stream = \"table.notes\", starting_position = \"oldest\" }",
            &files,
        )
        .unwrap_err();
        assert!(e.contains("oldest"), "{e}");
    }

    #[test]
    fn a_role_that_grants_no_stream_read_is_a_warning_naming_the_missing_actions() {
        let t = "{ stream = \"table.notes\" }";
        let w = load(STREAM, "", t, &[]).expect("a warning, not an error");
        assert!(w.contains("`function.indexer`: its role `role.exec` does not let Lambda read the stream of `table.notes`"), "{w}");
        for a in STREAM_READ_ACTIONS {
            assert!(w.contains(a), "{a}: {w}");
        }
        assert!(w.contains("AWSLambdaDynamoDBExecutionRole"), "{w}");
        // Some granted: only the others are named.
        let some = r#"{"Statement": [{"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "${table.notes.arn}/stream/*"}]}"#;
        let w = load(
            STREAM,
            "policies = [\"some.json\"]",
            t,
            &[("some.json", some)],
        )
        .unwrap();
        assert!(
            w.contains("`dynamodb:DescribeStream`, `dynamodb:ListStreams`")
                && !w.contains("GetRecords"),
            "{w}"
        );
        // Another table's stream, or a Deny, grants nothing.
        let other = r#"{"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/demo-other/stream/*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"}]}"#;
        let w = load(
            STREAM,
            "policies = [\"other.json\"]",
            t,
            &[("other.json", other)],
        )
        .unwrap();
        assert!(
            w.contains("grants no `dynamodb:DescribeStream`, `dynamodb:GetRecords`"),
            "{w}"
        );
        // Granted: by the actions, a wildcard, a name pattern, or a managed policy.
        for (role, files) in [
            ("policies = [\"reads.json\"]", vec![("reads.json", READS)]),
            ("policies = [\"all.json\"]", vec![("all.json", r#"{"Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}"#)]),
            ("policies = [\"named.json\"]", vec![("named.json", r#"{"Statement": [{"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], "Resource": "arn:aws:dynamodb:*:*:table/demo-notes/stream/*"}]}"#)]),
            ("managed_policies = [\"arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole\"]", vec![]),
            ("managed_policies = [\"arn:aws:iam::123456789012:policy/streams\"]", vec![]),
        ] {
            assert_eq!(load(STREAM, role, t, &files), Ok(String::new()), "{role}");
        }
    }
}
