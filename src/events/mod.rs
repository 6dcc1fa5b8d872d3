//! Live cross-platform events. The table is the truth; PostgreSQL NOTIFY is only a doorbell,
//! rung by the writing process after its commit (never inside the transaction).
//!
//! Each process holds ONE listening connection. On every doorbell (and on a timer, and after
//! the connection is re-established) the dispatcher reads the stable events after the last one
//! it dispatched and publishes them on a bounded broadcast ring shared by all subscribers of
//! the process. A subscriber replays from the table up to the ring's head, then follows the
//! ring; one that falls behind the ring catches up from the table again. Memory is bounded by
//! the ring, whatever the number or speed of subscribers.

mod hub;
mod retention;
mod stream;

pub use hub::{CHANNEL, EventHub, HubConfig, LiveEvent, PROFILES_CHANNEL, ProfileChange};
pub use retention::{RetentionConfig, spawn_retention};
pub use stream::{follow, subscribe};
