//! Events: the history query, the pull API (pending/ack) and the live subscription.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use super::limits;
use super::types::{PageInfo, User, actor, state};
use crate::db::events::{self, EventFilter as Filter, EventRow};
use crate::db::users;
use crate::domain::ConsumerName;
use crate::domain::access::Action;
use crate::domain::{EventType, Platform};
use crate::error::AppError;
use crate::events::{LiveEvent, subscribe};
use crate::service::events::{self as pull, cursor};

#[derive(InputObject, Default)]
#[graphql(name = "EventFilter")]
pub struct EventFilterInput {
    /// Omit to match every type.
    pub types: Option<Vec<EventType>>,
    /// Omit to match every source platform.
    pub platforms: Option<Vec<Platform>>,
    pub user_id: Option<ID>,
}

impl EventFilterInput {
    fn into_filter(mut self) -> Result<Filter, AppError> {
        if self.types.as_ref().is_some_and(Vec::is_empty)
            || self.platforms.as_ref().is_some_and(Vec::is_empty)
        {
            return Err(AppError::invalid(
                "filter lists must not be empty; omit a list to match everything",
            ));
        }
        // Each value once: a list is never longer than its enum (the filter is held, and
        // matched against every event, for a subscription's whole life).
        if self
            .types
            .as_ref()
            .is_some_and(|t| t.len() > EventType::ALL.len())
            || self
                .platforms
                .as_ref()
                .is_some_and(|p| p.len() > Platform::ALL.len())
        {
            return Err(AppError::invalid(format!(
                "filter lists name each value once: at most {} types and {} platforms",
                EventType::ALL.len(),
                Platform::ALL.len()
            )));
        }
        if let Some(types) = self.types.as_mut() {
            once_each(types);
        }
        if let Some(platforms) = self.platforms.as_mut() {
            once_each(platforms);
        }
        let user_id = self
            .user_id
            .map(|id| {
                id.parse()
                    .map_err(|_| AppError::invalid("userId is not a user id"))
            })
            .transpose()?;
        Ok(Filter {
            types: self.types,
            platforms: self.platforms,
            user_id,
        })
    }
}

/// Drops repeated values, keeping the first of each.
fn once_each<T: Copy + PartialEq>(list: &mut Vec<T>) {
    let mut seen = Vec::with_capacity(list.len());
    list.retain(|v| {
        let first = !seen.contains(v);
        seen.push(*v);
        first
    });
}

fn filter(input: Option<EventFilterInput>) -> Result<Filter, AppError> {
    input
        .map(EventFilterInput::into_filter)
        .transpose()
        .map(Option::unwrap_or_default)
}

/// One cross-platform event.
pub struct Event(pub Arc<LiveEvent>);

#[Object]
impl Event {
    /// The event's uuid.
    async fn id(&self) -> ID {
        ID(self.0.row.id.to_string())
    }
    /// Opaque; pass as `after` to resume right after this event.
    async fn cursor(&self) -> String {
        self.0.row.cursor().encode()
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> Result<EventType> {
        Ok(EventType::parse(&self.0.row.event_type)
            .ok_or_else(|| AppError::internal(format!("unknown event type {}", self.0.row.event_type)))?)
    }
    async fn source_platform(&self) -> Result<Platform> {
        Ok(Platform::parse(&self.0.row.source_platform)
            .ok_or_else(|| AppError::internal(format!("unknown platform {}", self.0.row.source_platform)))?)
    }
    async fn user_id(&self) -> ID {
        ID(self.0.row.user_id.to_string())
    }
    /// The user now (null if the account is gone). Loaded once per event for all subscribers.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let pool = &state(ctx).pool;
        let id = self.0.row.user_id;
        let row = self
            .0
            .user
            .get_or_try_init(|| async move {
                Ok::<_, AppError>(users::by_ids(pool, &[id]).await?.into_iter().next())
            })
            .await?;
        Ok(row.clone().map(User))
    }
    /// What happened. The public sees it without the caller-supplied `reason`.
    async fn data(&self, ctx: &Context<'_>) -> Json<serde_json::Value> {
        let mut data = self.0.row.data.clone();
        if actor(ctx).role().is_none()
            && let Some(fields) = data.as_object_mut()
        {
            fields.remove("reason");
        }
        Json(data)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at
    }
}

/// Wraps rows for output, loading their users in one statement when the selection asks.
async fn wrap(ctx: &Context<'_>, rows: Vec<EventRow>, user_selected: bool) -> Result<Vec<Event>> {
    let events: Vec<Event> = rows.into_iter().map(|r| Event(LiveEvent::new(r))).collect();
    if user_selected && !events.is_empty() {
        let ids: Vec<_> = events.iter().map(|e| e.0.row.user_id).collect();
        let found = users::by_ids(&state(ctx).pool, &ids).await?;
        for e in &events {
            let user = found.iter().find(|u| u.id == e.0.row.user_id).cloned();
            let _ = e.0.user.set(user);
        }
    }
    Ok(events)
}

#[derive(SimpleObject)]
pub struct EventEdge {
    pub cursor: String,
    pub node: Event,
}

pub struct EventConnection {
    pub edges: Vec<EventEdge>,
    pub page_info: PageInfo,
}

#[Object]
impl EventConnection {
    /// The page (at most `first`, or `last`).
    async fn edges(&self) -> &[EventEdge] {
        &self.edges
    }
    /// The page's events (at most `first`, or `last`).
    async fn nodes(&self) -> Vec<&Event> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
}

/// A pull consumer: its name, the role that owns it and its acknowledged position.
pub struct Consumer(pub pull::ConsumerInfo);

#[Object]
impl Consumer {
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// `bot:telegram`, `bot:discord`, `website` or `admin`; null for a consumer made before
    /// consumers had owners and not used since.
    async fn owner(&self) -> Option<&str> {
        self.0.owner.as_deref()
    }
    /// The cursor of the last acknowledged event.
    async fn position(&self) -> String {
        self.0.position.encode()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The event history, oldest first.
    #[graphql(complexity = "limits::HISTORY.cost(last.or(first)) * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilterInput>,
        #[graphql(default_with = "Some(limits::HISTORY.default)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(
            desc = "The newest `last` events instead (still oldest first); pass the page's endCursor as `after` to a subscription to follow on from them."
        )]
        last: Option<i32>,
    ) -> Result<EventConnection> {
        let which = if last.is_some() { "last" } else { "first" };
        let size = limits::HISTORY.take(which, last.or(first))? as i32;
        let filter = self::filter(filter)?;
        let (rows, has_next_page) = if last.is_some() {
            if after.is_some() {
                return Err(AppError::invalid("give either after or last, not both").into());
            }
            (
                events::latest(&state(ctx).pool, &filter, i64::from(size)).await?,
                false,
            )
        } else {
            let after = after
                .as_deref()
                .map(cursor)
                .transpose()?
                .unwrap_or(events::ORIGIN);
            let mut rows = events::read(&state(ctx).pool, after, None, &filter, i64::from(size) + 1).await?;
            let more = rows.len() > size as usize;
            rows.truncate(size as usize);
            (rows, more)
        };
        let look = ctx.look_ahead();
        let user_selected = look.field("nodes").field("user").exists()
            || look.field("edges").field("node").field("user").exists();
        let edges: Vec<EventEdge> = wrap(ctx, rows, user_selected)
            .await?
            .into_iter()
            .map(|node| EventEdge {
                cursor: node.0.row.cursor().encode(),
                node,
            })
            .collect();
        let end_cursor = edges.last().map(|e| e.cursor.clone());
        Ok(EventConnection {
            edges,
            page_info: PageInfo {
                has_next_page,
                end_cursor,
            },
        })
    }

    /// Admin: the pull consumers by name, `first` (at most 1000) after the name `after`.
    #[graphql(complexity = "limits::CONSUMERS.cost(first) * child_complexity")]
    async fn consumers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(limits::CONSUMERS.default)")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<Consumer>> {
        actor(ctx).authorize(&Action::Administer)?;
        let first = limits::CONSUMERS.take("first", first)?;
        let rows = pull::list(state(ctx), after.as_deref(), first).await?;
        Ok(rows.into_iter().map(Consumer).collect())
    }

    /// Events after the consumer's acknowledged position, oldest first. A consumer that never
    /// acknowledged starts at the oldest retained event.
    #[graphql(complexity = "limits::PENDING.cost(first) * child_complexity")]
    async fn pending_events(
        &self,
        ctx: &Context<'_>,
        consumer: String,
        #[graphql(default_with = "Some(limits::PENDING.default)")] first: Option<i32>,
    ) -> Result<Vec<Event>> {
        actor(ctx).authorize(&Action::PullEvents)?;
        let first = limits::PENDING.take("first", first)?;
        let consumer = ConsumerName::parse(&consumer)?;
        let rows = pull::pending(state(ctx), actor(ctx), &consumer, first).await?;
        let user_selected = ctx.look_ahead().field("user").exists();
        wrap(ctx, rows, user_selected).await
    }
}

#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// Moves the consumer's position to `upTo` (an event cursor); returns how many events it
    /// acknowledged. Positions only move forward.
    async fn ack_events(&self, ctx: &Context<'_>, consumer: String, up_to: String) -> Result<i32> {
        actor(ctx).authorize(&Action::PullEvents)?;
        let consumer = ConsumerName::parse(&consumer)?;
        Ok(pull::ack(state(ctx), actor(ctx), &consumer, cursor(&up_to)?).await?)
    }

    /// Admin: forgets a pull consumer: its next read starts at the oldest retained event, and
    /// the next role to acknowledge with its name owns it. False when there was none.
    async fn reset_consumer(&self, ctx: &Context<'_>, consumer: String) -> Result<bool> {
        actor(ctx).authorize(&Action::Administer)?;
        Ok(pull::reset(state(ctx), &ConsumerName::parse(&consumer)?).await?)
    }
}

pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Replays every matching event after `after` (when given), then streams new ones live,
    /// in log order, with no gap and no duplicate.
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilterInput>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<Event>> + use<>> {
        let filter = self::filter(filter)?;
        let after = after.as_deref().map(cursor).transpose()?;
        let hub = state(ctx).events.clone();
        Ok(subscribe(hub, filter, after).map(|item| item.map(Event).map_err(Into::into)))
    }
}
