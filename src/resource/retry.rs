//! Named, bounded retries for answers that AWS documents (or is known) to
//! pass by themselves: eventual consistency right after a create, a
//! dependency being detached, another update of the same thing in flight.
//!
//! The SDK's standard retry already covers throttling, 5xx and dropped
//! connections. These are 4xx answers that mean "not yet", never a wrong
//! order of calls (terraform-provider-aws, docs/retries-and-waiters.md):
//! each is named after what it waits out, and gives up after about as long
//! as Terraform waits for the same answer, with the last error.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

use super::Error;

/// One kind of "not yet": what it waits out, and for how long.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transient {
    /// What is waited out, for the line printed on the first retry.
    pub waiting_for: &'static str,
    /// Whether an answer (its AWS error code and message) is this "not yet".
    pub matches: fn(code: &str, message: &str) -> bool,
    /// Calls in all (the first one included).
    pub attempts: u32,
    /// The first wait; each later one doubles, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

/// S3 may answer `NoSuchBucket` for a moment to calls on a bucket it has
/// just created (terraform-provider-aws retries it for 2 minutes:
/// `bucketPropagationTimeout`, issues #10863 and #12418).
pub(crate) const NEW_BUCKET: Transient = Transient {
    waiting_for: "the new bucket to be visible to S3 (eventual consistency)",
    matches: |code, _| code == "NoSuchBucket",
    attempts: 16,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// S3 answers `OperationAborted` (HTTP 409, "a conflicting conditional
/// operation is currently in progress against this resource") when
/// configuration calls on one bucket overlap, as the ones after
/// `CreateBucket` do: about 3 s in all.
pub(crate) const BUCKET_CALLS_OVERLAPPING: Transient = Transient {
    waiting_for: "the bucket's other configuration calls",
    matches: |code, _| code == "OperationAborted",
    attempts: 6,
    first_delay: Duration::from_millis(100),
    max_delay: Duration::MAX,
};

/// IAM answers `DeleteConflict` to `DeleteRole` while the detaching and
/// deleting of its policies propagates (Terraform retries it for its
/// 2-minute `propagationTimeout`).
pub(crate) const ROLE_POLICIES_DETACHING: Transient = Transient {
    waiting_for: "IAM to see the role's policies removed",
    matches: |code, _| code == "DeleteConflict",
    attempts: 16,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// Lambda answers `ResourceConflictException` when another update of the
/// same function is in flight ("The function could not be updated due to a
/// concurrent update operation", "An update is in progress for resource").
/// The same code with "already exists" means the statement is there, which
/// is not this.
pub(crate) const FUNCTION_UPDATING: Transient = Transient {
    waiting_for: "another update of the function to finish",
    matches: |code, message| code == "ResourceConflictException" && !is_already_there(message),
    attempts: 12,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// Lambda answers `InvalidParameterValueException` "The role defined for
/// the function cannot be assumed by Lambda" (or "The provided execution
/// role does not have permissions to call ...") to `CreateFunction` and
/// `UpdateFunctionConfiguration` while a role made or changed a moment ago
/// is not yet visible to Lambda: IAM is eventually consistent.
/// terraform-provider-aws retries these for its 2-minute
/// `iamPropagationTimeout`; a role that never trusts Lambda gives the same
/// answer, so the wait is bounded and the last error is kept.
pub(crate) const ROLE_NOT_YET_ASSUMABLE: Transient = Transient {
    waiting_for: "IAM to make the new role usable by Lambda",
    matches: |code, message| {
        code == "InvalidParameterValueException"
            && (message.contains("cannot be assumed by Lambda")
                || message.contains("execution role does not have permissions"))
    },
    attempts: 16,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// Lambda answers `InvalidParameterValueException` to
/// `CreateEventSourceMapping` while the function's role, made or changed a
/// moment ago, cannot yet read the stream ("Please ensure the role can
/// perform the GetRecords, GetShardIterator, DescribeStream, and
/// ListStreams Actions on your stream") or be assumed: IAM is eventually
/// consistent. terraform-provider-aws retries these messages for the
/// mapping too; a role that never gets the actions gives the same answer,
/// so the wait is bounded (about 2 minutes) and the last error is kept.
pub(crate) const STREAM_NOT_YET_READABLE: Transient = Transient {
    waiting_for: "IAM to let the function's role read the stream",
    matches: |code, message| {
        code == "InvalidParameterValueException"
            && (message.contains("cannot be assumed by Lambda")
                || message.contains("execution role does not have permissions")
                || message.contains("ensure the role can perform"))
    },
    attempts: 16,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// Lambda answers `ResourceInUseException` to an update or a delete of an
/// event source mapping that is still `Creating`, `Updating` or otherwise
/// changing (Lambda API reference, `UpdateEventSourceMapping`,
/// `DeleteEventSourceMapping`); terraform-provider-aws retries the delete
/// for 5 minutes.
pub(crate) const MAPPING_CHANGING: Transient = Transient {
    waiting_for: "the trigger's change in progress to finish",
    matches: |code, _| code == "ResourceInUseException",
    attempts: 36,
    first_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

/// Whether a Lambda `ResourceConflictException` says the statement id is
/// already in the function's policy ("The statement id (...) provided
/// already exists").
pub(crate) fn is_already_there(message: &str) -> bool {
    message.contains("already exists")
}

/// OpenSearch Service answers `ValidationException` "A change/update is in
/// progress" to a configuration change while the domain still processes
/// the previous one (terraform-provider-aws #38136, retried since #36592).
pub(crate) const DOMAIN_CHANGING: Transient = Transient {
    waiting_for: "the domain's previous change to finish",
    matches: |code, message| code == "ValidationException" && message.contains("in progress"),
    attempts: 12,
    first_delay: Duration::from_secs(2),
    max_delay: Duration::from_secs(30),
};

/// Makes the call, and again after a growing wait while AWS answers
/// `transient`; any other answer (or the last one) is returned as it is.
pub(crate) async fn retry<T, E, R, F, Fut>(
    what: &str,
    transient: &Transient,
    mut call: F,
) -> Result<T, SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata,
{
    let mut delay = transient.first_delay;
    let mut attempt = 1;
    loop {
        let err = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let is_transient = match &err {
            SdkError::ServiceError(e) => (transient.matches)(
                e.err().code().unwrap_or_default(),
                e.err().message().unwrap_or_default(),
            ),
            _ => false,
        };
        if !is_transient || attempt >= transient.attempts {
            return Err(err);
        }
        if attempt == 1 {
            crate::progress::state(
                &format!("  {what}: waiting for {}, retrying", transient.waiting_for),
                "retrying",
            );
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(transient.max_delay);
        attempt += 1;
    }
}

/// [`retry`] for a call whose AWS errors are already [`Error`]s, and for
/// several "not yet"s at once, each with its own count and waits. Quiet:
/// for calls that go out together (one line each would say the same).
pub(crate) async fn retry_errors<T, F, Fut>(
    transients: &[&Transient],
    mut call: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    // Per transient: tries made, and the next wait.
    let mut made: Vec<(u32, Duration)> = transients.iter().map(|t| (1, t.first_delay)).collect();
    loop {
        let result = call().await;
        let Err(Error::Aws {
            code: Some(code),
            detail,
            ..
        }) = &result
        else {
            return result;
        };
        let Some(i) = transients.iter().position(|t| (t.matches)(code, detail)) else {
            return result;
        };
        let (attempt, delay) = &mut made[i];
        if *attempt >= transients[i].attempts {
            return result;
        }
        tokio::time::sleep(*delay).await;
        *delay = (*delay * 2).min(transients[i].max_delay);
        *attempt += 1;
    }
}

/// How long `retry` waits in all before it gives up on `transient`.
pub(crate) fn patience(transient: &Transient) -> Duration {
    let mut delay = transient.first_delay;
    let mut total = Duration::ZERO;
    for _ in 1..transient.attempts {
        total += delay;
        delay = (delay * 2).min(transient.max_delay);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_retry_waits_about_as_long_as_terraform_does() {
        // Terraform: 2 minutes for buckets and roles; Lambda and OpenSearch
        // are bounded too (a minute or more, never forever); overlapping
        // bucket calls, seconds.
        for (t, at_least, at_most) in [
            (BUCKET_CALLS_OVERLAPPING, 3, 4),
            (NEW_BUCKET, 100, 150),
            (ROLE_POLICIES_DETACHING, 100, 150),
            (FUNCTION_UPDATING, 60, 120),
            (ROLE_NOT_YET_ASSUMABLE, 100, 150),
            (STREAM_NOT_YET_READABLE, 100, 150),
            (MAPPING_CHANGING, 280, 330),
            (DOMAIN_CHANGING, 240, 330),
        ] {
            let p = patience(&t).as_secs();
            assert!(
                (at_least..=at_most).contains(&p),
                "{}: {p} s",
                t.waiting_for
            );
        }
    }

    #[test]
    fn a_statement_that_exists_is_not_a_concurrent_update() {
        let m = FUNCTION_UPDATING.matches;
        assert!(!m(
            "ResourceConflictException",
            "The statement id (sid) provided already exists. Please provide a new statement id, or remove the existing statement."
        ));
        assert!(m(
            "ResourceConflictException",
            "The function could not be updated due to a concurrent update operation."
        ));
        assert!(m(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:1:function:f"
        ));
        assert!(!m("ResourceNotFoundException", "Function not found"));
    }
}
