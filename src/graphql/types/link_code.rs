//! `LinkCode`: a one-time code that links another platform to an account.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};

/// A one-time code that links another platform to this account.
#[derive(SimpleObject)]
pub struct LinkCode {
    /// 8 characters; show it to the user, who enters it on the other platform.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}
