//! One subscriber's stream: replay from the table up to the ring's head, then follow the
//! ring, catching up from the table when it falls behind.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::hub::{EventHub, LiveEvent};
use crate::db::events::{self, EventFilter};
use crate::domain::cursor::EventCursor;
use crate::error::AppError;

const REPLAY_PAGE: i64 = 500;

/// Every matching event after `after` (or, without it, from now on), in log order, each once.
/// Ends with an error (naming the cursor to resume from) only when the log cannot be read.
pub fn subscribe(
    hub: EventHub,
    filter: EventFilter,
    after: Option<EventCursor>,
) -> impl Stream<Item = Result<Arc<LiveEvent>, AppError>> + Send {
    events_after(hub, filter, after, true)
}

/// Every event after `after`, as `subscribe` gives them, for the process's own follower (the
/// boards in memory): not a subscriber, so its events are not counted as delivered (its
/// catch-ups are counted as lagged).
pub fn follow(
    hub: EventHub,
    after: EventCursor,
) -> impl Stream<Item = Result<Arc<LiveEvent>, AppError>> + Send {
    events_after(hub, EventFilter::default(), Some(after), false)
}

fn events_after(
    hub: EventHub,
    filter: EventFilter,
    after: Option<EventCursor>,
    delivers: bool,
) -> impl Stream<Item = Result<Arc<LiveEvent>, AppError>> + Send {
    let delivered = move |hub: &EventHub| {
        if delivers {
            hub.stats.delivered.fetch_add(1, Ordering::Relaxed);
        }
    };
    // On the ring before the stream is first polled: whoever holds the stream holds a
    // subscription that hears every event from now on.
    let (rx, head) = hub.subscribe();
    async_stream::stream! {
        let mut rx = rx;
        let mut last = after.unwrap_or(head);
        let mut until = head;
        loop {
            // Replay (last, until] from the table.
            while last < until {
                match events::read(&hub.pool, last, Some(until), &filter, REPLAY_PAGE).await {
                    Ok(rows) => {
                        let done = (rows.len() as i64) < REPLAY_PAGE;
                        for row in rows {
                            last = row.cursor();
                            delivered(&hub);
                            yield Ok(LiveEvent::new(row));
                        }
                        if done {
                            last = until;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = ?e, "event replay failed");
                        yield Err(resume_error(last));
                        return;
                    }
                }
            }
            // Then live from the ring, skipping what the replay already covered.
            loop {
                match rx.recv().await {
                    Ok(event) => {
                        let cursor = event.row.cursor();
                        if cursor <= last {
                            continue;
                        }
                        last = cursor;
                        if filter.matches(&event.row) {
                            delivered(&hub);
                            yield Ok(event);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // Too slow for the ring: catch up from the table.
                        hub.stats.lagged.fetch_add(1, Ordering::Relaxed);
                        let (fresh, head) = hub.subscribe();
                        rx = fresh;
                        until = head;
                        break;
                    }
                    Err(RecvError::Closed) => {
                        yield Err(resume_error(last));
                        return;
                    }
                }
            }
        }
    }
}

fn resume_error(last: EventCursor) -> AppError {
    AppError::internal(format!(
        "the event stream was interrupted; subscribe again with after: \"{}\"",
        last.encode()
    ))
}
