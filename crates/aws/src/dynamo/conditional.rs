//! Conditional writes and service failures, as the stores' [`StoreError`].

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use vidpipe_core::ports::StoreError;

/// A failed call as [`StoreError::Unavailable`], with the SDK error as its cause.
pub(crate) fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::Unavailable(Box::new(err))
}

/// Whether a conditional write applied: `false` when its condition failed (another writer won the race).
pub(crate) fn applied<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ConditionalCheck + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(ConditionalCheck::failed) => Ok(false),
        Err(e) => Err(unavailable(e)),
    }
}

/// A conditional write's outcome: a failed condition is a [`StoreError::Conflict`] saying `conflict`.
pub(crate) fn conditional<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    conflict: &'static str,
) -> Result<(), StoreError>
where
    E: ConditionalCheck + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if applied(result)? {
        Ok(())
    } else {
        Err(StoreError::Conflict(conflict))
    }
}

/// Operation errors that can say "the condition failed".
pub(crate) trait ConditionalCheck {
    /// Whether this is `ConditionalCheckFailedException`.
    fn failed(&self) -> bool;
}

impl ConditionalCheck for PutItemError {
    fn failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalCheck for DeleteItemError {
    fn failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}

impl ConditionalCheck for UpdateItemError {
    fn failed(&self) -> bool {
        self.is_conditional_check_failed_exception()
    }
}
