//! The pull API: each named consumer reads the events after its acknowledged position.

use crate::db::consumers;
use crate::db::events::{self, EventFilter, EventRow};
use crate::domain::cursor::EventCursor;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const MAX_PENDING: i32 = 1000;

fn consumer_name(raw: &str) -> AppResult<&str> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(raw)
    } else {
        Err(AppError::invalid(
            "consumer must be 1 to 64 of A-Z a-z 0-9 _ . : -",
        ))
    }
}

pub fn cursor(raw: &str) -> AppResult<EventCursor> {
    EventCursor::decode(raw).ok_or_else(|| AppError::invalid("not an event cursor"))
}

pub async fn pending(state: &AppState, consumer: &str, first: i32) -> AppResult<Vec<EventRow>> {
    let consumer = consumer_name(consumer)?;
    if !(1..=MAX_PENDING).contains(&first) {
        return Err(AppError::invalid(format!(
            "first must be between 1 and {MAX_PENDING}"
        )));
    }
    let from = consumers::position(&state.pool, consumer).await?;
    events::read(&state.pool, from, None, &EventFilter::default(), i64::from(first)).await
}

/// Moves the consumer's position forward to `up_to` and returns how many events that
/// acknowledged. Acknowledging an older position changes nothing; a position past the
/// events that can be read is refused (it would skip events not delivered yet).
pub async fn ack(state: &AppState, consumer: &str, up_to: &str) -> AppResult<i32> {
    let consumer = consumer_name(consumer)?;
    let up_to = cursor(up_to)?;
    let mut tx = state.pool.begin().await?;
    let current = consumers::lock(&mut tx, consumer).await?;
    if up_to > events::stable_head(&mut *tx).await? {
        return Err(AppError::invalid(
            "upTo is past the newest event that can be read",
        ));
    }
    if up_to <= current {
        tx.commit().await?;
        return Ok(0);
    }
    let acknowledged = consumers::count_between(&mut *tx, current, up_to).await?;
    consumers::set(&mut tx, consumer, up_to).await?;
    tx.commit().await?;
    Ok(i32::try_from(acknowledged).unwrap_or(i32::MAX))
}
