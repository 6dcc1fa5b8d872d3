//! `Event` and its connection: one cross-platform event as clients read it.

use std::sync::Arc;

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{PageInfo, User};
use crate::db::events::EventRow;
use crate::db::users;
use crate::domain::{EventType, Platform};
use crate::error::AppError;
use crate::events::LiveEvent;
use crate::graphql::context::{actor, state};

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
pub async fn wrap(ctx: &Context<'_>, rows: Vec<EventRow>, user_selected: bool) -> Result<Vec<Event>> {
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
