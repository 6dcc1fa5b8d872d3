//! Progression resolvers: activity, daily claims, achievements, boosts and seasons.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::context::{actor, progress_change, state};
use super::limits;
use super::types::{DailyClaim, Season, SeasonStanding, User, UserRef, XpBoost, XpChange};
use crate::db::boosts;
use crate::db::seasons::{self, StandingRow};
use crate::domain::access::Action;
use crate::domain::leaderboard::positions_from_head;
use crate::domain::{AchievementCode, IdempotencyKey, Name, Reason};
use crate::error::AppError;
use crate::service::activity::{self, Kind};
use crate::service::{achievements, daily, seasons as season_service};

#[derive(Default)]
pub struct ProgressionQuery;

#[Object]
impl ProgressionQuery {
    /// Seasons, oldest first (the current one last): `first` (at most 500) after the season
    /// with id `after`.
    #[graphql(complexity = "limits::LIMITS.seasons.cost(first) * child_complexity")]
    async fn seasons(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(limits::LIMITS.seasons.default)")] first: Option<i32>,
        after: Option<i32>,
    ) -> Result<Vec<Season>> {
        let first = limits::LIMITS.seasons.take("first", first)?;
        Ok(seasons::list(&state(ctx).pool, after.unwrap_or(0), first)
            .await?
            .into_iter()
            .map(Season::from)
            .collect())
    }

    /// The frozen final standings of an ended season, best first (at most `first`, 100).
    #[graphql(complexity = "limits::LIMITS.season_standings.cost(first) * child_complexity")]
    async fn season_standings(
        &self,
        ctx: &Context<'_>,
        season: i32,
        #[graphql(default_with = "Some(limits::LIMITS.season_standings.default)")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<SeasonStanding>> {
        let first = limits::LIMITS.season_standings.take("first", first)?;
        let after = after
            .map(|a| {
                let (xp, id) = a.split_once(':')?;
                Some((xp.parse().ok()?, id.parse().ok()?))
            })
            .map(|parsed| parsed.ok_or_else(|| AppError::invalid("after is not a standings cursor")))
            .transpose()?;
        let pool = &state(ctx).pool;
        let found = seasons::find(pool, season)
            .await?
            .ok_or_else(|| AppError::NotFound("no such season".into()))?;
        if found.ended_at.is_none() {
            return Err(
                AppError::invalid("this season has not ended: see leaderboard(scope: SEASON)").into(),
            );
        }
        let page = seasons::standings(pool, season, after, first).await?;
        let xps: Vec<i32> = page.rows.iter().map(|(_, xp)| *xp).collect();
        let positions = positions_from_head(page.above, page.holding_first, &xps);
        Ok(page
            .rows
            .into_iter()
            .zip(positions)
            .map(|((user_id, xp), position)| {
                SeasonStanding(StandingRow {
                    season_id: season,
                    user_id,
                    xp,
                    position,
                })
            })
            .collect())
    }

    /// Admin: boosts in force or still to come, soonest first (at most `first`, 500).
    #[graphql(complexity = "limits::LIMITS.boosts.cost(first) * child_complexity")]
    async fn xp_boosts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(limits::LIMITS.boosts.default)")] first: Option<i32>,
    ) -> Result<Vec<XpBoost>> {
        actor(ctx).authorize(&Action::Administer)?;
        let first = limits::LIMITS.boosts.take("first", first)?;
        Ok(boosts::current(&state(ctx).pool, first)
            .await?
            .into_iter()
            .map(XpBoost)
            .collect())
    }
}

#[derive(Default)]
pub struct ProgressionMutation;

#[Object]
impl ProgressionMutation {
    /// A game played. Without `xp` the rules decide it (win or loss).
    async fn record_game(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        game_type: String,
        won: bool,
        xp: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<XpChange> {
        let (key, idem) = progress_change(ctx, &user, idempotency_key.as_deref())?;
        let game_type = Name::parse("gameType", &game_type)?;
        let kind = Kind::Game { game_type, won };
        let change = activity::record(state(ctx), actor(ctx), &key, kind, xp, idem).await?;
        Ok(XpChange(change))
    }

    /// A voice session of `seconds` (at most a day). Without `xp`: per whole minute.
    async fn record_voice_time(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        seconds: i32,
        xp: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<XpChange> {
        let (key, idem) = progress_change(ctx, &user, idempotency_key.as_deref())?;
        let kind = Kind::Voice { seconds };
        let change = activity::record(state(ctx), actor(ctx), &key, kind, xp, idem).await?;
        Ok(XpChange(change))
    }

    /// A message. It earns XP at most once per cooldown; inside it, it is counted with 0 XP.
    async fn record_message(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        xp: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<XpChange> {
        let (key, idem) = progress_change(ctx, &user, idempotency_key.as_deref())?;
        let change = activity::record(state(ctx), actor(ctx), &key, Kind::Message, xp, idem).await?;
        Ok(XpChange(change))
    }

    /// ALREADY_CLAIMED when today's claim was made (today in the user's time zone).
    async fn claim_daily(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        idempotency_key: Option<String>,
    ) -> Result<DailyClaim> {
        let (key, idem) = progress_change(ctx, &user, idempotency_key.as_deref())?;
        Ok(DailyClaim(
            daily::claim_daily(state(ctx), actor(ctx), &key, idem).await?,
        ))
    }

    /// Sets the user's IANA time zone for daily claims; null returns to the community's.
    async fn set_user_time_zone(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        time_zone: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<User> {
        let (key, idem) = progress_change(ctx, &user, idempotency_key.as_deref())?;
        let zone = time_zone.as_deref();
        Ok(User(
            daily::set_time_zone(state(ctx), actor(ctx), &key, zone, idem).await?,
        ))
    }

    /// Admin: grants an achievement (with its rewards); a no-op when the user has it.
    async fn grant_achievement(
        &self,
        ctx: &Context<'_>,
        user: UserRef,
        code: String,
        idempotency_key: Option<String>,
    ) -> Result<User> {
        actor(ctx).authorize(&Action::Administer)?;
        let key = user.key()?;
        let idempotency_key = IdempotencyKey::parse(idempotency_key.as_deref())?;
        Ok(User(
            achievements::grant(
                state(ctx),
                actor(ctx),
                &key,
                &AchievementCode::parse(&code)?,
                idempotency_key,
            )
            .await?,
        ))
    }

    /// Admin: an XP boost for everyone (no `user`) or one user, from `startsAt` (default now)
    /// until `endsAt`. Boosts in force multiply together; XP rounds down.
    // Each argument is part of the public contract (a field's arguments), not a struct to fold.
    #[allow(clippy::too_many_arguments)]
    async fn create_xp_boost(
        &self,
        ctx: &Context<'_>,
        multiplier: f64,
        starts_at: Option<DateTime<Utc>>,
        ends_at: DateTime<Utc>,
        user: Option<UserRef>,
        reason: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<XpBoost> {
        actor(ctx).authorize(&Action::Administer)?;
        let key = user.map(|u| u.key()).transpose()?;
        let reason = Reason::parse(reason.as_deref())?;
        let input = season_service::BoostInput {
            user: key.as_ref(),
            multiplier,
            starts_at,
            ends_at,
            reason: reason.as_ref(),
        };
        let boost = season_service::create_boost(
            state(ctx),
            actor(ctx),
            input,
            IdempotencyKey::parse(idempotency_key.as_deref())?,
        )
        .await?;
        Ok(XpBoost(boost))
    }

    /// Admin: ends the current season (its standings are kept) and starts a new one.
    async fn start_season(
        &self,
        ctx: &Context<'_>,
        name: String,
        idempotency_key: Option<String>,
    ) -> Result<Season> {
        actor(ctx).authorize(&Action::Administer)?;
        let name = Name::parse("name", &name)?;
        let key = IdempotencyKey::parse(idempotency_key.as_deref())?;
        Ok(season_service::start(state(ctx), actor(ctx), &name, key)
            .await?
            .into())
    }
}
