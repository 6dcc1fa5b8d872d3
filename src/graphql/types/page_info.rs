//! `PageInfo`: where a connection's page ends.

use async_graphql::SimpleObject;

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}
