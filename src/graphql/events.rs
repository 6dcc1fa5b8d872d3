//! Event resolvers: the history query, the pull API (pending/ack, consumers) and the live
//! subscription.

use std::sync::{Arc, Mutex};

use async_graphql::{Context, Object, Result, Subscription};
use futures_util::{Stream, StreamExt};

use super::context::{actor, state};
use super::limits;
use super::types::{self, Consumer, Event, EventConnection, EventEdge, EventFilterInput, PageInfo, wrap};
use crate::db::events;
use crate::domain::ConsumerName;
use crate::domain::access::Action;
use crate::domain::cursor::EventCursor;
use crate::error::AppError;
use crate::events::subscribe;
use crate::service::events::{self as pull, cursor};

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The event history, oldest first.
    #[graphql(complexity = "limits::LIMITS.history.cost(last.or(first)) * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilterInput>,
        #[graphql(default_with = "Some(limits::LIMITS.history.default)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(
            desc = "The newest `last` events instead (still oldest first); pass the page's endCursor as `after` to a subscription to follow on from them."
        )]
        last: Option<i32>,
    ) -> Result<EventConnection> {
        let which = if last.is_some() { "last" } else { "first" };
        let size = limits::LIMITS.history.take(which, last.or(first))? as i32;
        let filter = types::filter(filter)?;
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
    #[graphql(complexity = "limits::LIMITS.consumers.cost(first) * child_complexity")]
    async fn consumers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(limits::LIMITS.consumers.default)")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Vec<Consumer>> {
        actor(ctx).authorize(&Action::Administer)?;
        let first = limits::LIMITS.consumers.take("first", first)?;
        let rows = pull::list(state(ctx), after.as_deref(), first).await?;
        Ok(rows.into_iter().map(Consumer).collect())
    }

    /// Events after the consumer's acknowledged position, oldest first. A consumer that never
    /// acknowledged starts at the oldest retained event.
    #[graphql(complexity = "limits::LIMITS.pending_events.cost(first) * child_complexity")]
    async fn pending_events(
        &self,
        ctx: &Context<'_>,
        consumer: String,
        #[graphql(default_with = "Some(limits::LIMITS.pending_events.default)")] first: Option<i32>,
    ) -> Result<Vec<Event>> {
        actor(ctx).authorize(&Action::PullEvents)?;
        let first = limits::LIMITS.pending_events.take("first", first)?;
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

/// Where a subscription without `after` starts instead of now: set by the websocket transport
/// for a subscriber that leaves a shared group to catch up alone.
pub struct ResumeAfter(pub EventCursor);

/// Where the subscription notes the cursor of each event it hands out, for the transport
/// that shares its results (`http/ws/shared.rs`).
#[derive(Clone, Default)]
pub struct DeliveredCursor(pub Arc<Mutex<Option<EventCursor>>>);

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
        let filter = types::filter(filter)?;
        let after = match after.as_deref().map(cursor).transpose()? {
            Some(after) => Some(after),
            None => ctx.data_opt::<ResumeAfter>().map(|r| r.0),
        };
        let delivered = ctx.data_opt::<DeliveredCursor>().cloned();
        let hub = state(ctx).events.clone();
        // A shared group's members count themselves.
        let subscribed = delivered.is_none().then(|| hub.subscribed());
        Ok(subscribe(hub, filter, after).map(move |item| {
            let _counted = &subscribed;
            let event = item?;
            if let Some(DeliveredCursor(slot)) = &delivered {
                *slot.lock().expect("delivered cursor") = Some(event.row.cursor());
            }
            Ok(Event(event))
        }))
    }
}
