//! Rate limits: requests per API key, and per client address for the public. Operations
//! started on an open websocket count too (they never pass the HTTP layer again), and so do
//! subscriptions held per key across connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
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
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            per_key_per_minute: 12_000,
            per_address_per_minute: 1_200,
            subscriptions_per_key: 1_000,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Caller {
    Key(Uuid),
    Address(IpAddr),
}

#[derive(Clone)]
pub struct Limits {
    keys: Arc<DefaultKeyedRateLimiter<Caller>>,
    addresses: Arc<DefaultKeyedRateLimiter<Caller>>,
    subscriptions: Arc<Mutex<HashMap<Uuid, usize>>>,
    config: LimitConfig,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).expect("non-zero");
    // Bursts up to a tenth of a minute's allowance.
    Quota::per_minute(n).allow_burst(NonZeroU32::new((per_minute / 10).max(1)).expect("non-zero"))
}

impl Limits {
    pub fn new(config: LimitConfig) -> Limits {
        let limits = Limits {
            keys: Arc::new(RateLimiter::keyed(quota(config.per_key_per_minute))),
            addresses: Arc::new(RateLimiter::keyed(quota(config.per_address_per_minute))),
            subscriptions: Arc::default(),
            config,
        };
        // Forget callers that have been quiet, so the tables stay small.
        let (keys, addresses) = (Arc::downgrade(&limits.keys), Arc::downgrade(&limits.addresses));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let (Some(k), Some(a)) = (keys.upgrade(), addresses.upgrade()) else {
                    return;
                };
                k.retain_recent();
                a.retain_recent();
            }
        });
        limits
    }

    /// Counts one request of `caller`; RATE_LIMITED (with the seconds to wait) past its quota.
    pub fn check(&self, caller: &Caller) -> Result<(), AppError> {
        let limiter = match caller {
            Caller::Key(_) => &self.keys,
            Caller::Address(_) => &self.addresses,
        };
        limiter.check_key(caller).map_err(|not_until| {
            crate::metrics::rate_limited(match caller {
                Caller::Key(_) => "key",
                Caller::Address(_) => "address",
            });
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// Takes a subscription place for `key`; the returned guard gives it back.
    pub fn hold_subscription(&self, key: Uuid) -> Result<SubscriptionPlace, AppError> {
        let mut held = self.subscriptions.lock().expect("subscription counts");
        let n = held.entry(key).or_default();
        if *n >= self.config.subscriptions_per_key {
            return Err(AppError::RateLimited { retry_after_secs: 1 });
        }
        *n += 1;
        Ok(SubscriptionPlace {
            key,
            subscriptions: self.subscriptions.clone(),
        })
    }
}

pub struct SubscriptionPlace {
    key: Uuid,
    subscriptions: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Drop for SubscriptionPlace {
    fn drop(&mut self) {
        let mut held = self.subscriptions.lock().expect("subscription counts");
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}
