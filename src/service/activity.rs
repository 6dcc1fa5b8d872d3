//! Activity from the platforms: games, voice time, messages. Each updates its counters and
//! lastActive, earns XP by the rules (or the XP the caller names), writes its event, and
//! unlocks what it earned, in one transaction.

use chrono::Utc;
use serde_json::json;

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::{Note, XpChange, gain_xp};
use super::unit;
use crate::db::events::{self, NewEvent};
use crate::db::users::{self, Activity};
use crate::domain::{EventType, IdempotencyKey, Name, UserKey, activity};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Most XP one activity may name.
pub const MAX_ACTIVITY_XP: i32 = 100_000;

pub enum Kind {
    Game { game_type: Name, won: bool },
    Voice { seconds: i32 },
    Message,
}

impl Kind {
    fn operation(&self) -> &'static str {
        match self {
            Kind::Game { .. } => "recordGame",
            Kind::Voice { .. } => "recordVoiceTime",
            Kind::Message => "recordMessage",
        }
    }

    fn fingerprint(&self) -> String {
        match self {
            Kind::Game { game_type, won } => format!("{}|{won}", game_type.as_str()),
            Kind::Voice { seconds } => seconds.to_string(),
            Kind::Message => String::new(),
        }
    }
}

pub async fn record(
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    kind: Kind,
    xp: Option<i32>,
    idempotency_key: Option<IdempotencyKey>,
) -> AppResult<XpChange> {
    if let Kind::Voice { seconds } = kind {
        activity::check_voice_seconds(&state.rules, seconds).map_err(AppError::InvalidInput)?;
    }
    if xp.is_some_and(|x| !(0..=MAX_ACTIVITY_XP).contains(&x)) {
        return Err(AppError::invalid(format!(
            "xp must be between 0 and {MAX_ACTIVITY_XP}"
        )));
    }
    let fingerprint = format!("{key}|{}|{xp:?}", kind.fingerprint());
    let idem = Idempotency::requested(actor, idempotency_key, kind.operation(), fingerprint);
    unit::for_user(state, key, idem, async |tx, user| {
        counted(tx, state, actor, key, &kind, xp, user).await
    })
    .await
}

/// Counts the activity for the locked user, earns its XP and unlocks what it earned.
async fn counted(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    kind: &Kind,
    xp: Option<i32>,
    user: crate::db::users::UserRow,
) -> AppResult<XpChange> {
    let rules = &state.rules;
    let now = Utc::now();
    let (counted, base_xp, event_type, mut data) = match kind {
        Kind::Game { game_type, won } => (
            Activity {
                games: 1,
                wins: i32::from(*won),
                voice_seconds: 0,
                messages: 0,
                message_xp_at: None,
            },
            xp.unwrap_or_else(|| activity::game_xp(rules, *won)),
            EventType::GamePlayed,
            json!({ "gameType": game_type.as_str(), "won": won }),
        ),
        Kind::Voice { seconds } => (
            Activity {
                games: 0,
                wins: 0,
                voice_seconds: *seconds,
                messages: 0,
                message_xp_at: None,
            },
            xp.unwrap_or_else(|| activity::voice_xp(rules, *seconds)),
            EventType::VoiceTime,
            json!({ "seconds": seconds }),
        ),
        Kind::Message => {
            // Inside the cooldown a message counts but earns nothing. The row lock makes
            // concurrent messages see each other's cooldown.
            let earns = activity::message_earns(rules, user.last_message_xp_at, now);
            let earned = if earns {
                xp.unwrap_or(rules.messages.xp_per_message)
            } else {
                0
            };
            (
                Activity {
                    games: 0,
                    wins: 0,
                    voice_seconds: 0,
                    messages: 1,
                    message_xp_at: earns.then_some(now),
                },
                earned,
                EventType::MessageSent,
                json!({ "cooldown": !earns }),
            )
        }
    };
    let counted_user = users::add_activity(tx, user.id, &counted).await?;
    let source = actor.source(key, &user);
    let applied = gain_xp(tx, state, actor, source, &counted_user, base_xp, Note::default()).await?;
    let change = applied.change;
    data["xp"] = json!(change.delta);
    let event = NewEvent {
        user_id: user.id,
        event_type,
        source,
        data,
    };
    events::append(tx, actor.key_id(), &[event]).await?;
    let unlocks = super::achievements::unlock_earned(tx, state, actor, source, applied.user).await?;
    Ok(change.with_unlocks(unlocks))
}
