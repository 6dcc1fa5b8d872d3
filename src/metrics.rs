//! Prometheus metrics. The recorder is process-wide; gauges that describe state (pool, sockets,
//! subscriptions, the event hub) are read when scraped.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets (seconds): histograms, so processes can be aggregated.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the recorder once per process.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("seconds".into()), BUCKETS)
            .expect("valid buckets")
            .install_recorder()
            .expect("the only metrics recorder of the process")
    })
}

/// Distinct operation names that get a label of their own; later ones count as `other`.
pub const MAX_OPERATION_LABELS: usize = 100;
/// Longest operation name kept as a label.
pub const MAX_OPERATION_LABEL_CHARS: usize = 64;

/// The label for a client-chosen operation name, from a bounded set: a name of at most 64
/// characters of `A-Za-z0-9_` among the first 100 distinct ones seen, else `other`. Labels
/// are process state that is never freed, so a client must not be able to add them at will.
fn operation_label(operation: &str) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let safe = !operation.is_empty()
        && operation.len() <= MAX_OPERATION_LABEL_CHARS
        && operation.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !safe {
        return "other".into();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen.contains(operation) || seen.len() < MAX_OPERATION_LABELS {
        seen.insert(operation.to_owned());
        operation.to_owned()
    } else {
        "other".into()
    }
}

pub fn graphql_request(operation: &str, outcome: &'static str, elapsed: Duration) {
    let labels = [
        ("operation", operation_label(operation)),
        ("outcome", outcome.to_owned()),
    ];
    metrics::counter!("ttfd_graphql_requests_total", &labels).increment(1);
    metrics::histogram!("ttfd_graphql_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
}

/// One XP change's wait for its batch: from its queueing to its batch's start, the batch's
/// gathering included.
pub fn xp_change_waited(waited: Duration) {
    metrics::histogram!("ttfd_xp_change_wait_seconds").record(waited.as_secs_f64());
}

/// One batch of XP changes: its statement and commit, from the worker's side.
pub fn xp_change_batch_ran(ran: Duration) {
    metrics::histogram!("ttfd_xp_change_batch_seconds").record(ran.as_secs_f64());
}

pub fn websocket_opened() {
    metrics::gauge!("ttfd_websocket_connections").increment(1.0);
}

pub fn websocket_closed() {
    metrics::gauge!("ttfd_websocket_connections").decrement(1.0);
}

pub fn rate_limited(by: &'static str) {
    metrics::counter!("ttfd_rate_limited_total", "by" => by).increment(1);
}

/// The exposition text, with state gauges read now.
pub fn render(app: &AppState) -> String {
    let pool = &app.pool;
    metrics::gauge!("ttfd_db_pool_connections", "state" => "open").set(f64::from(pool.size()));
    metrics::gauge!("ttfd_db_pool_connections", "state" => "idle").set(pool.num_idle() as f64);
    metrics::gauge!("ttfd_subscriptions").set(app.events.subscribers() as f64);
    let stats = &app.events.stats;
    metrics::counter!("ttfd_events_dispatched_total").absolute(stats.dispatched.load(Ordering::Relaxed));
    metrics::counter!("ttfd_events_delivered_total").absolute(stats.delivered.load(Ordering::Relaxed));
    // No event is ever dropped: a subscriber too slow for the ring catches up from the table.
    // This counts those catch-ups.
    metrics::counter!("ttfd_events_lagged_total").absolute(stats.lagged.load(Ordering::Relaxed));
    metrics::counter!("ttfd_shared_members_left_behind_total")
        .absolute(stats.left_behind.load(Ordering::Relaxed));
    metrics::counter!("ttfd_listener_reconnects_total")
        .absolute(stats.listener_reconnects.load(Ordering::Relaxed));
    let boards = &app.boards;
    metrics::gauge!("ttfd_boards_ready").set(if boards.is_ready() { 1.0 } else { 0.0 });
    metrics::gauge!("ttfd_boards_bytes").set(boards.bytes() as f64);
    metrics::gauge!("ttfd_boards_rows_held").set(boards.rows.len() as f64);
    metrics::counter!("ttfd_boards_loads_total").absolute(boards.loads());
    let paths = &app.one_call;
    for (path, count) in [("one_call", &paths.one_call), ("full", &paths.full)] {
        metrics::counter!("ttfd_xp_changes_total", "path" => path).absolute(count.load(Ordering::Relaxed));
    }
    metrics::counter!("ttfd_xp_change_batches_total").absolute(paths.batches.load(Ordering::Relaxed));
    metrics::gauge!("ttfd_listener_connected").set(if stats.listening.load(Ordering::Relaxed) {
        1.0
    } else {
        0.0
    });
    install().render()
}
