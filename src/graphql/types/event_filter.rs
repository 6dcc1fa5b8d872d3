//! `EventFilter`: which events a subscription or history read wants, checked and bounded.

use async_graphql::{ID, InputObject, Result};

use crate::db::events::EventFilter as Filter;
use crate::domain::{EventType, Platform};
use crate::error::AppError;

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

pub fn filter(input: Option<EventFilterInput>) -> Result<Filter, AppError> {
    input
        .map(EventFilterInput::into_filter)
        .transpose()
        .map(Option::unwrap_or_default)
}
