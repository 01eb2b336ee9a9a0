//! Conditional writes and service failures, as the stores' [`StoreError`].

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use vidpipe_core::ports::StoreError;

use super::item::Item;

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

/// What a conditional write that asks for the item as it was when refused
/// (`ReturnValuesOnConditionCheckFailure::AllOld`) did.
pub(crate) enum Written<T> {
    /// It wrote: the operation's output.
    Applied(T),
    /// Its condition failed: the item as it was (`None` when there was none).
    Refused(Option<Item>),
}

/// A conditional write's outcome as [`Written`]; any other failure is [`StoreError::Unavailable`].
pub(crate) fn written<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Written<T>, StoreError>
where
    E: ConditionalCheck + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Written::Applied(out)),
        Err(e) => match e.as_service_error().and_then(ConditionalCheck::refused) {
            Some(old) => Ok(Written::Refused(old.cloned())),
            None => Err(unavailable(e)),
        },
    }
}

/// Operation errors that can say "the condition failed".
pub(crate) trait ConditionalCheck {
    /// When this is `ConditionalCheckFailedException`: the item as it was, if the request asked for it and there
    /// was one.
    fn refused(&self) -> Option<Option<&Item>>;

    /// Whether this is `ConditionalCheckFailedException`.
    fn failed(&self) -> bool {
        self.refused().is_some()
    }
}

impl ConditionalCheck for PutItemError {
    fn refused(&self) -> Option<Option<&Item>> {
        match self {
            Self::ConditionalCheckFailedException(c) => Some(c.item()),
            _ => None,
        }
    }
}

impl ConditionalCheck for DeleteItemError {
    fn refused(&self) -> Option<Option<&Item>> {
        match self {
            Self::ConditionalCheckFailedException(c) => Some(c.item()),
            _ => None,
        }
    }
}

impl ConditionalCheck for UpdateItemError {
    fn refused(&self) -> Option<Option<&Item>> {
        match self {
            Self::ConditionalCheckFailedException(c) => Some(c.item()),
            _ => None,
        }
    }
}
