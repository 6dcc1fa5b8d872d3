//! TTFD Unified: one account per person across a community's Telegram bot, Discord bot and
//! website, with XP, coins, ranks and live cross-platform events, served over GraphQL.

pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod board;
pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod service;
pub mod state;
