//! An XP change's common case in one statement (`db::one_call`), tried before the full unit of
//! work when the process allows it; counts which path each change took.

use std::sync::atomic::Ordering;

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::XpChange;
use crate::db::one_call::{self, ActivityCall, OneCall};
use crate::domain::UserKey;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The change, done and committed in one statement; `None` when the full path must run (the
/// statement declined, having written nothing, or this process does not try it).
pub async fn attempt(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    xp: i32,
    reason: Option<&str>,
    activity: Option<ActivityCall<'_>>,
    idem: Option<&Idempotency>,
) -> AppResult<Option<XpChange>> {
    let paths = &state.one_call;
    let done = if paths.enabled {
        let call = OneCall {
            key,
            xp,
            reason,
            source: actor.source_by_key(key),
            api_key: actor.key_id(),
            activity,
            catalog: &state.unlock_thresholds,
            idempotency: idem.map(Idempotency::keyed),
        };
        one_call::change(&state.pool, &call).await?
    } else {
        None
    };
    let Some(result) = done else {
        paths.full.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    };
    paths.one_call.fetch_add(1, Ordering::Relaxed);
    state.events.committed();
    serde_json::from_value(result)
        .map(Some)
        .map_err(|e| AppError::internal(format!("a one-call change's result: {e}")))
}
