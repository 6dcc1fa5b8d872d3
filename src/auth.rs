//! API keys: secrets, verification and the per-process cache. A key change in the database
//! (revocation) reaches every server through NOTIFY and drops the cached entry at once; open
//! websockets follow key changes through `changes()`. The cache counts changes, so a lookup
//! that was under way when a key changed does not cache what it read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::api_keys::{self, ApiKey};
use crate::error::{AppError, AppResult};

const PREFIX: &str = "ttfd_";

/// A new secret: 256 random bits. Shown once; only its hash is stored.
pub fn new_secret() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A key change: one key, or every key (after the listener missed notifications).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyChange {
    One(Uuid),
    All,
}

/// The cache and the number of key changes it has seen: a lookup that started before a change
/// must not put what it read into the cache after that change dropped it.
#[derive(Default)]
struct Cache {
    keys: HashMap<[u8; 32], ApiKey>,
    generation: u64,
}

#[derive(Clone)]
pub struct Keys {
    pool: PgPool,
    cache: Arc<Mutex<Cache>>,
    changes: broadcast::Sender<KeyChange>,
}

impl Keys {
    pub fn new(pool: PgPool) -> Keys {
        Keys {
            pool,
            cache: Arc::default(),
            changes: broadcast::channel(64).0,
        }
    }

    /// The live key for a presented secret; UNAUTHENTICATED for anything else.
    pub async fn verify(&self, secret: &str) -> AppResult<ApiKey> {
        let refused = || AppError::Unauthenticated("unknown or revoked API key".into());
        if !secret.starts_with(PREFIX) || secret.len() > 128 {
            return Err(refused());
        }
        let digest = hash(secret);
        let generation = {
            let cache = self.cache.lock().expect("key cache");
            if let Some(key) = cache.keys.get(&digest) {
                return Ok(key.clone());
            }
            cache.generation
        };
        let row = api_keys::find_live(&self.pool, &digest)
            .await?
            .ok_or_else(refused)?;
        let key = row.key()?;
        self.remember(digest, key.clone(), generation);
        Ok(key)
    }

    /// The number of key changes seen so far.
    pub fn generation(&self) -> u64 {
        self.cache.lock().expect("key cache").generation
    }

    /// Caches a key read from the database while the cache was at `generation`, unless a key
    /// changed since: then the read may predate a revocation, and the next request reads again.
    pub fn remember(&self, digest: [u8; 32], key: ApiKey, generation: u64) -> bool {
        let mut cache = self.cache.lock().expect("key cache");
        let current = cache.generation == generation;
        if current {
            cache.keys.insert(digest, key);
        }
        current
    }

    /// Whether the key is still live (asked by open websockets after a change).
    pub async fn is_live(&self, id: Uuid) -> AppResult<bool> {
        api_keys::is_live(&self.pool, id).await
    }

    /// Called by the listener: drop cached entries and tell open connections.
    pub fn changed(&self, change: KeyChange) {
        let mut cache = self.cache.lock().expect("key cache");
        cache.generation += 1;
        match change {
            KeyChange::One(id) => cache.keys.retain(|_, k| k.id != id),
            KeyChange::All => cache.keys.clear(),
        }
        let _ = self.changes.send(change);
    }

    pub fn changes(&self) -> broadcast::Receiver<KeyChange> {
        self.changes.subscribe()
    }
}

/// The secret in an `Authorization` value: `Bearer <secret>` (the scheme is case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, secret) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer("Bearer ttfd_x"), Some("ttfd_x"));
        assert_eq!(bearer("bearer  ttfd_x "), Some("ttfd_x"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("ttfd_x"), None);
    }
}
