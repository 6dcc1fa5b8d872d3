//! `Consumer`: a pull consumer as an admin sees it.

use async_graphql::Object;
use chrono::{DateTime, Utc};

use crate::service::events::{self as pull};

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
