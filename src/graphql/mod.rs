//! The GraphQL schema: resolvers by area (query, mutation, events, ledger, linking,
//! progression), one file per type in `types/`, the loaders and the limits. Resolvers parse
//! arguments into domain types, check access, call `service` for every change, and shape the
//! result; reads that are one statement call `db` (or a loader) directly.

mod context;
mod events;
mod ledger;
pub mod limits;
mod linking;
pub mod loaders;
mod mutation;
pub mod phases;
mod progression;
mod query;
pub mod shown;
mod types;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

pub use events::{DeliveredCursor, ResumeAfter, Subscription};

/// Every query field: the core ones and the event ones.
#[derive(MergedObject, Default)]
pub struct Query(
    query::CoreQuery,
    events::EventQuery,
    ledger::LedgerQuery,
    progression::ProgressionQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    mutation::CoreMutation,
    events::EventMutation,
    linking::LinkMutation,
    ledger::LedgerMutation,
    progression::ProgressionMutation,
);

pub type TtfdSchema = Schema<Query, Mutation, Subscription>;

/// The schema without runtime data: enough to print the SDL.
pub fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription)
        .limit_depth(limits::LIMITS.depth)
        .limit_complexity(limits::LIMITS.complexity)
        .limit_recursive_depth(limits::LIMITS.recursive_depth)
        .limit_directives(limits::LIMITS.directives_per_field)
        .extension(phases::Phases::default())
}

pub fn build(state: crate::state::AppState) -> TtfdSchema {
    builder().data(state).finish()
}

/// The SDL that `ttfd schema` prints and `schema.graphql` holds.
pub fn sdl() -> String {
    builder().finish().sdl()
}
