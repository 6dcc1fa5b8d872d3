//! Rate limits: requests per API key, and per client address for the public, shared by every
//! server process on the database. Operations started on an open websocket count too (they
//! never pass the HTTP layer again). Subscriptions held per key (or per address without a key)
//! and websocket connections per address are capped per process.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct LimitConfig {
    /// Requests (and websocket operations) per minute for one API key.
    pub per_key_per_minute: u32,
    /// The same for one client address without a key.
    pub per_address_per_minute: u32,
    /// Subscriptions one API key may hold at once, over all its connections.
    pub subscriptions_per_key: usize,
    /// The same for the callers without a key at one client address.
    pub subscriptions_per_address: usize,
    /// Websocket connections one client address may hold open at once (in this process).
    pub connections_per_address: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            per_key_per_minute: 12_000,
            per_address_per_minute: 1_200,
            subscriptions_per_key: 1_000,
            subscriptions_per_address: 100,
            connections_per_address: 50,
        }
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Caller {
    Key(Uuid),
    Address(IpAddr),
}

impl Caller {
    /// The bucket's name in the database.
    fn bucket(&self) -> String {
        match self {
            Caller::Key(id) => format!("key:{id}"),
            Caller::Address(ip) => format!("ip:{ip}"),
        }
    }
}

/// A caller's quota as a token bucket: bursts up to a tenth of a minute's allowance, refilled
/// at the per-minute rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub capacity: u32,
    pub per_second: f64,
}

impl Bucket {
    pub fn per_minute(n: u32) -> Bucket {
        let n = n.max(1);
        Bucket {
            capacity: (n / 10).max(1),
            per_second: f64::from(n) / 60.0,
        }
    }

    /// Tokens a process takes from the shared bucket at a time: a tenth of the burst, so a
    /// busy caller costs one statement per that many requests, and a caller spread over
    /// processes strands at most that many tokens in each.
    pub fn lease(&self) -> u32 {
        (self.capacity / 10).max(1)
    }
}

/// Tokens this process holds for one caller.
#[derive(Default)]
struct Lease {
    tokens: u32,
    taken: Option<Instant>,
}

/// How long unused leased tokens stay usable; older ones are dropped.
const LEASE_LIFETIME: Duration = Duration::from_secs(60);

/// Rate limits shared by all server processes on one database: each caller has one token
/// bucket in PostgreSQL, from which processes lease a few tokens at a time.
#[derive(Clone)]
pub struct Limits {
    pool: PgPool,
    leases: Arc<Mutex<HashMap<Caller, Arc<tokio::sync::Mutex<Lease>>>>>,
    subscriptions: Counts<Caller>,
    connections: Counts<IpAddr>,
    config: LimitConfig,
}

impl Limits {
    pub fn new(config: LimitConfig, pool: PgPool) -> Limits {
        let limits = Limits {
            pool,
            leases: Arc::default(),
            subscriptions: Arc::default(),
            connections: Arc::default(),
            config,
        };
        // Forget quiet callers, here and in the database, so both stay small.
        let (leases, pool) = (Arc::downgrade(&limits.leases), limits.pool.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let Some(leases) = leases.upgrade() else { return };
                leases.lock().expect("leases").retain(|_, lease| {
                    Arc::strong_count(lease) > 1
                        || lease.try_lock().is_ok_and(|l| {
                            l.tokens > 0 && l.taken.is_some_and(|t| t.elapsed() < LEASE_LIFETIME)
                        })
                });
                if let Err(e) = crate::db::rate_limits::prune(&pool).await {
                    tracing::debug!(error = ?e, "pruning rate limit buckets failed");
                }
            }
        });
        limits
    }

    fn bucket(&self, caller: &Caller) -> Bucket {
        Bucket::per_minute(match caller {
            Caller::Key(_) => self.config.per_key_per_minute,
            Caller::Address(_) => self.config.per_address_per_minute,
        })
    }

    /// Counts one request of `caller`; RATE_LIMITED (with the seconds to wait) past its quota.
    pub async fn check(&self, caller: &Caller) -> Result<(), AppError> {
        let lease = self
            .leases
            .lock()
            .expect("leases")
            .entry(*caller)
            .or_default()
            .clone();
        // Concurrent requests of one caller wait for one lease rather than each taking one.
        let mut lease = lease.lock().await;
        if lease.tokens > 0 && lease.taken.is_some_and(|t| t.elapsed() < LEASE_LIFETIME) {
            lease.tokens -= 1;
            return Ok(());
        }
        let bucket = self.bucket(caller);
        let taken = crate::db::rate_limits::take(
            &self.pool,
            &caller.bucket(),
            f64::from(bucket.capacity),
            bucket.per_second,
            bucket.lease(),
        )
        .await;
        match taken {
            Ok((granted, _)) if granted > 0 => {
                *lease = Lease {
                    tokens: granted - 1,
                    taken: Some(Instant::now()),
                };
                Ok(())
            }
            Ok((_, wait_seconds)) => {
                crate::metrics::rate_limited(match caller {
                    Caller::Key(_) => "key",
                    Caller::Address(_) => "address",
                });
                Err(AppError::RateLimited {
                    retry_after_secs: (wait_seconds.ceil() as u64).max(1),
                })
            }
            Err(e) => {
                // The request needs the database anyway; it fails there with its own error.
                tracing::warn!(error = ?e, "cannot read the rate limit; letting the request through");
                Ok(())
            }
        }
    }

    /// Takes a subscription place for `key`; the returned guard gives it back.
    /// Takes one of the caller's subscription places (a key's, or a keyless address's), held
    /// until the place is dropped; RATE_LIMITED when the caller holds them all.
    pub fn hold_subscription(&self, caller: Caller) -> Result<Place<Caller>, AppError> {
        let max = match caller {
            Caller::Key(_) => self.config.subscriptions_per_key,
            Caller::Address(_) => self.config.subscriptions_per_address,
        };
        take_place(&self.subscriptions, caller, max).ok_or(AppError::RateLimited { retry_after_secs: 1 })
    }

    /// Takes one of the address's websocket connection places; `None` when it holds them all.
    pub fn hold_connection(&self, address: IpAddr) -> Option<Place<IpAddr>> {
        take_place(&self.connections, address, self.config.connections_per_address)
    }
}

/// Places held per caller (subscriptions, connections).
type Counts<K> = Arc<Mutex<HashMap<K, usize>>>;

fn take_place<K: Copy + Eq + Hash>(counts: &Counts<K>, key: K, max: usize) -> Option<Place<K>> {
    let mut held = counts.lock().expect("place counts");
    let n = held.entry(key).or_default();
    if *n >= max {
        return None;
    }
    *n += 1;
    Some(Place {
        key,
        counts: counts.clone(),
    })
}

/// A counted place (a subscription, a connection), given back when dropped.
pub struct Place<K: Copy + Eq + Hash> {
    key: K,
    counts: Counts<K>,
}

impl<K: Copy + Eq + Hash> Drop for Place<K> {
    fn drop(&mut self) {
        let mut held = self.counts.lock().expect("place counts");
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_bursts_a_tenth_of_a_minute_and_leases_a_tenth_of_that() {
        let b = Bucket::per_minute(12_000);
        assert_eq!(b.capacity, 1_200);
        assert_eq!(b.per_second, 200.0);
        assert_eq!(b.lease(), 120);
        let small = Bucket::per_minute(60);
        assert_eq!((small.capacity, small.lease()), (6, 1));
        assert_eq!(Bucket::per_minute(0).capacity, 1);
    }
}
