//! Activity from the platforms: games, voice time, messages. Each updates its counters and
//! lastActive, earns XP by the rules (or the XP the caller names), writes its event, and
//! unlocks what it earned, in one transaction.

use chrono::Utc;
use serde_json::json;

use super::Actor;
use super::idempotency::Idempotency;
use super::progress::{Note, XpChange, gain_xp};
use super::{one_call, unit};
use crate::db::events::{self, NewEvent};
use crate::db::one_call::ActivityCall;
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

/// What an activity counts, the XP it asks for and its event, before the user is read: a
/// message earns its XP only outside its cooldown, which the user's row decides.
struct Plan {
    counted: Activity,
    xp: i32,
    message: bool,
    event_type: EventType,
    data: serde_json::Value,
}

impl Kind {
    fn plan(&self, rules: &crate::domain::rules::Rules, xp: Option<i32>) -> Plan {
        let counted = |games, wins, voice_seconds, messages| Activity {
            games,
            wins,
            voice_seconds,
            messages,
            message_xp_at: None,
        };
        match self {
            Kind::Game { game_type, won } => Plan {
                counted: counted(1, i32::from(*won), 0, 0),
                xp: xp.unwrap_or_else(|| activity::game_xp(rules, *won)),
                message: false,
                event_type: EventType::GamePlayed,
                data: json!({ "gameType": game_type.as_str(), "won": won }),
            },
            Kind::Voice { seconds } => Plan {
                counted: counted(0, 0, *seconds, 0),
                xp: xp.unwrap_or_else(|| activity::voice_xp(rules, *seconds)),
                message: false,
                event_type: EventType::VoiceTime,
                data: json!({ "seconds": seconds }),
            },
            Kind::Message => Plan {
                counted: counted(0, 0, 0, 1),
                xp: xp.unwrap_or(rules.messages.xp_per_message),
                message: true,
                event_type: EventType::MessageSent,
                data: json!({}),
            },
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
    let plan = kind.plan(&state.rules, xp);
    let now = Utc::now();
    let call = ActivityCall {
        games: plan.counted.games,
        wins: plan.counted.wins,
        voice_seconds: plan.counted.voice_seconds,
        messages: plan.counted.messages,
        cooldown_ms: plan.message.then(|| state.rules.messages.cooldown_seconds * 1000),
        now,
        event_type: plan.event_type,
        data: plan.data.clone(),
    };
    if let Some(change) =
        one_call::attempt(state, actor, key, plan.xp, None, Some(call), idem.as_ref()).await?
    {
        return Ok(change);
    }
    unit::for_user(state, key, idem, async |tx, user| {
        counted(tx, state, actor, key, plan, now, user).await
    })
    .await
}

/// Counts the activity for the locked user, earns its XP and unlocks what it earned.
async fn counted(
    tx: &mut sqlx::PgConnection,
    state: &AppState,
    actor: &Actor,
    key: &UserKey,
    plan: Plan,
    now: chrono::DateTime<Utc>,
    user: crate::db::users::UserRow,
) -> AppResult<XpChange> {
    let Plan {
        mut counted,
        mut xp,
        message,
        event_type,
        mut data,
    } = plan;
    if message {
        // Inside the cooldown a message counts but earns nothing. The row lock makes
        // concurrent messages see each other's cooldown.
        let earns = activity::message_earns(&state.rules, user.last_message_xp_at, now);
        if !earns {
            xp = 0;
        }
        counted.message_xp_at = earns.then_some(now);
        data["cooldown"] = json!(!earns);
    }
    let counted_user = users::add_activity(tx, user.id, &counted).await?;
    let source = actor.source(key, &user);
    let applied = gain_xp(tx, state, actor, source, &counted_user, xp, Note::default()).await?;
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
    change.with_unlocks(unlocks).with_cursor(tx).await
}
