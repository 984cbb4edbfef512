//! The statements of a Lambda function's resource policy that let another
//! service of the stack invoke it: an API's routes (API Gateway) and a user
//! pool's triggers (Cognito). Each statement has a fixed id, so adding it
//! again is a no-op, and it is removed with the route, API or trigger that
//! needed it: a function's policy is capped at 20 KB (not raisable), and
//! statements left behind by deleted APIs would fill it.
//!
//! Lambda answers `ResourceConflictException` both for a statement id that
//! exists (success here) and for another update of the function in flight
//! (wait and retry): only the message tells them apart. Calls on one
//! function are also made one at a time within a run (as Terraform does), so
//! the tool's own parallel steps do not collide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::retry::{self, FUNCTION_UPDATING};
use super::Error;
use crate::aws::{error_code, error_message, Aws};

/// What a statement grants: `principal` may invoke `function` when the call
/// comes from `source_arn`.
#[derive(Debug, Clone)]
pub(crate) struct Statement<'a> {
    pub function: &'a str,
    pub id: &'a str,
    pub principal: &'a str,
    pub source_arn: &'a str,
}

/// One lock per function, for this process.
fn function_lock(function: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(Mutex::default);
    let mut locks = locks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(function.to_string()).or_default().clone()
}

/// Adds the statement; one with the same id already there is success.
/// `context` says who needs it, for error messages.
pub(crate) async fn add(aws: &Aws, s: &Statement<'_>, context: &str) -> Result<(), Error> {
    let lock = function_lock(s.function);
    let _one_at_a_time = lock.lock().await;
    let result = retry::retry(
        &format!("lambda:AddPermission on `{}`", s.function),
        &FUNCTION_UPDATING,
        || {
            aws.lambda
                .add_permission()
                .function_name(s.function)
                .statement_id(s.id)
                .action("lambda:InvokeFunction")
                .principal(s.principal)
                .source_arn(s.source_arn)
                .send()
        },
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceConflictException")
            && retry::is_already_there(error_message(&e).unwrap_or_default()) =>
        {
            Ok(())
        }
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Err(Error::Refused(
            format!("{context}: the Lambda function `{}` does not exist; create it (or fix its name or ARN), then run `up` again", s.function),
        )),
        Err(e) if error_code(&e) == Some("PolicyLengthExceededException") => Err(Error::Aws {
            operation: "lambda:AddPermission",
            code: Some("PolicyLengthExceededException".into()),
            detail: format!(
                "{context}: the resource policy of function `{}` is full (Lambda allows 20 KB, not raisable): {}. Remove statements that name APIs or pools that no longer exist (`aws lambda get-policy --function-name {}` lists them, `aws lambda remove-permission` removes one), then run `up` again",
                s.function,
                crate::aws::describe(&e),
                s.function
            ),
        }),
        Err(e) => Err(Error::Aws {
            operation: "lambda:AddPermission",
            code: error_code(&e).map(str::to_string),
            detail: format!("{context}: {}", crate::aws::describe(&e)),
        }),
    }
}

/// Removes the statement `id` from the function's policy; a function or
/// statement that is gone already is success.
pub(crate) async fn remove(
    aws: &Aws,
    function: &str,
    id: &str,
    context: &str,
) -> Result<(), Error> {
    let lock = function_lock(function);
    let _one_at_a_time = lock.lock().await;
    let result = retry::retry(
        &format!("lambda:RemovePermission on `{function}`"),
        &FUNCTION_UPDATING,
        || {
            aws.lambda
                .remove_permission()
                .function_name(function)
                .statement_id(id)
                .send()
        },
    )
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
        Err(e) => Err(Error::Aws {
            operation: "lambda:RemovePermission",
            code: error_code(&e).map(str::to_string),
            detail: format!(
                "{context}: statement `{id}` of function `{function}`: {}",
                crate::aws::describe(&e)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::operation::add_permission::{AddPermissionError, AddPermissionOutput};
    use aws_sdk_lambda::Client;
    use aws_smithy_mocks::{mock, RuleMode};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::aws::mock::mock_client;

    fn conflict(message: &'static str) -> AddPermissionError {
        AddPermissionError::generic(
            ErrorMetadata::builder()
                .code("ResourceConflictException")
                .message(message)
                .build(),
        )
    }

    const STATEMENT: Statement<'static> = Statement {
        function: "notes",
        id: "mobile-backend-a1-0123456789abcdef",
        principal: "apigateway.amazonaws.com",
        source_arn: "arn:aws:execute-api:us-east-1:123456789012:a1/*/GET/notes",
    };

    #[tokio::test(start_paused = true)]
    async fn a_concurrent_update_is_waited_out_and_the_statement_added() {
        // The same code as "already exists": read as success, the
        // permission was never added and API Gateway could not call the
        // function.
        let add = mock!(Client::add_permission)
            .sequence()
            .error(|| conflict("The function could not be updated due to a concurrent update operation."))
            .error(|| conflict("The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:notes"))
            .output(|| AddPermissionOutput::builder().build())
            .build();
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&add]),
            ..Aws::for_tests()
        };
        add_permission(&aws).await.expect("added after the update");
        assert_eq!(add.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_that_is_there_already_is_success_at_once() {
        let add = mock!(Client::add_permission).then_error(|| {
            conflict("The statement id (mobile-backend-a1-0123456789abcdef) provided already exists. Please provide a new statement id, or remove the existing statement.")
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&add]),
            ..Aws::for_tests()
        };
        add_permission(&aws).await.expect("already there");
        assert_eq!(add.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_function_that_stays_busy_is_an_error_after_a_bounded_wait() {
        let add = mock!(Client::add_permission)
            .sequence()
            .error(|| {
                conflict("The function could not be updated due to a concurrent update operation.")
            })
            .repeatedly()
            .build();
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&add]),
            ..Aws::for_tests()
        };
        let started = tokio::time::Instant::now();
        let err = add_permission(&aws).await.expect_err("gives up");
        assert_eq!(add.num_calls(), FUNCTION_UPDATING.attempts as usize);
        assert_eq!(started.elapsed(), retry::patience(&FUNCTION_UPDATING));
        assert!(err.to_string().contains("concurrent update"), "{err}");
    }

    #[tokio::test]
    async fn a_full_policy_says_how_to_make_room() {
        let add = mock!(Client::add_permission).then_error(|| {
            AddPermissionError::generic(
                ErrorMetadata::builder()
                    .code("PolicyLengthExceededException")
                    .message("The final policy size (20539) is bigger than the limit (20480).")
                    .build(),
            )
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::Sequential, [&add]),
            ..Aws::for_tests()
        };
        let err = add_permission(&aws).await.expect_err("full");
        let text = err.to_string();
        assert!(text.contains("route `GET /notes`"), "{text}");
        assert!(text.contains("remove-permission"), "{text}");
    }

    async fn add_permission(aws: &Aws) -> Result<(), Error> {
        add(aws, &STATEMENT, "route `GET /notes`").await
    }
}
