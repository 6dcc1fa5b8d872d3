//! Seasons and XP boosts (admin operations).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Actor;
use super::idempotency::Idempotency;
use super::unit;
use super::users::not_found;
use crate::db::boosts::{self, BoostRow};
use crate::db::events::{self, NewEvent};
use crate::db::seasons::{self, SeasonRow};
use crate::db::users;
use crate::domain::{EventType, IdempotencyKey, Name, Platform, Reason, UserKey};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Ends the current season and starts `name` in one short transaction, whatever the number of
/// users: the ended season's XP stays readable as its final standings, everyone's season XP
/// reads 0, and `season_started` is written (attributed to the ended season's champion; with
/// nobody scored there is no one to attribute it to, and none is written).
pub async fn start(
    state: &AppState,
    actor: &Actor,
    name: &Name,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<SeasonRow> {
    let idem = Idempotency::requested(actor, idempotency_key, "startSeason", name.as_str().to_owned());
    unit::keyed(state, idem, async |tx| {
        let (ended, started, champion) = seasons::start(tx, name).await?;
        if let Some(champion) = champion {
            let event = NewEvent {
                user_id: champion,
                event_type: EventType::SeasonStarted,
                source: actor
                    .role()
                    .and_then(|r| r.platform())
                    .unwrap_or(Platform::Website),
                data: json!({
                    "seasonId": started.id, "season": started.name,
                    "previousSeasonId": ended.id, "previousSeason": ended.name, "champion": champion,
                }),
            };
            events::append(tx, actor.key_id(), &[event]).await?;
        }
        Ok(started)
    })
    .await
}

/// What a boost is: its multiplier, window, user and reason.
pub struct BoostInput<'a> {
    pub user: Option<&'a UserKey>,
    pub multiplier: f64,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<&'a Reason>,
}

pub async fn create_boost(
    state: &AppState,
    actor: &Actor,
    input: BoostInput<'_>,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<BoostRow> {
    let BoostInput {
        user,
        multiplier,
        starts_at,
        ends_at,
        reason,
    } = input;
    if !(multiplier > 0.0 && multiplier <= 100.0) {
        return Err(AppError::invalid("multiplier must be above 0 and at most 100"));
    }
    let starts_at = starts_at.unwrap_or_else(Utc::now);
    if ends_at <= starts_at {
        return Err(AppError::invalid("endsAt must come after startsAt"));
    }
    let user_text = user.map(ToString::to_string).unwrap_or_default();
    let fingerprint = format!(
        "{user_text}|{multiplier}|{ends_at}|{}",
        reason.map_or("", Reason::as_str)
    );
    let idem = Idempotency::requested(actor, idempotency_key, "createXpBoost", fingerprint);
    unit::keyed(state, idem, async |tx| {
        let user_id = match user {
            Some(key) => Some(users::find(&mut *tx, key).await?.ok_or_else(not_found)?.id),
            None => None,
        };
        boosts::create(&mut *tx, user_id, multiplier, starts_at, ends_at, reason).await
    })
    .await
}
