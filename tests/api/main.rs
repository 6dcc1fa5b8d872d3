//! Integration tests through the public API: HTTP GraphQL against real PostgreSQL.

mod harness;

mod access;
mod activity;
mod boards;
mod costs;
mod events;
mod http_spec;
mod import;
mod import_seed;
mod leaderboard;
mod ledger;
mod limits;
mod linking;
mod one_call;
mod operations;
mod owned_postgres;
mod progress;
mod proxy;
mod python_client;
mod races;
mod retries;
mod schema;
mod sim;
mod users;
mod web;
