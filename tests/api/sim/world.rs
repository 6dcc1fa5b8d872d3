//! What the simulator's clients share: the live server processes, the keys, the operation
//! history and the violations seen while running.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// How a request ended, as the client saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The `data` of a successful response.
    Ok(Value),
    /// The first error's `extensions.code`.
    Err(String),
    /// No answer (connection lost, timed out, server killed): it may or may not have applied.
    Unknown(String),
}

impl Outcome {
    pub fn is_unknown(&self) -> bool {
        matches!(self, Outcome::Unknown(_))
    }
}

/// One operation as a client ran it.
#[derive(Clone, Debug)]
pub struct Entry {
    pub client: usize,
    pub n: usize,
    pub op: String,
    pub outcome: Outcome,
}

pub struct World {
    pub seed: u64,
    /// Base URLs of the server processes; `None` while one is down.
    pub servers: Mutex<Vec<Option<String>>>,
    pub http: reqwest::Client,
    pub admin: String,
    pub people: usize,
    pub history: Mutex<Vec<Entry>>,
    pub violations: Mutex<Vec<String>>,
    pub done: AtomicUsize,
    pub stop: AtomicBool,
    pub faults: Mutex<Vec<String>>,
    /// Every XP or coin change a client asked for, by its unique reason.
    pub claims: Mutex<Vec<Claim>>,
}

/// A requested ledger change and what the client learnt of it.
#[derive(Clone, Debug)]
pub struct Claim {
    pub reason: String,
    /// `Some(true)`: acknowledged with a non-zero applied delta (exactly one entry must exist);
    /// `Some(false)`: refused or applied as 0 (none); `None`: unknown (at most one).
    pub applied: Option<bool>,
}

impl World {
    pub fn telegram(&self, person: usize) -> String {
        format!("{}", 700_000 + person)
    }
    pub fn discord(&self, person: usize) -> String {
        format!("{}", 900_000 + person)
    }
    pub fn email(&self, person: usize) -> String {
        format!("p{person}@sim.test")
    }

    /// A user reference for a person on a platform (0 Telegram, 1 Discord, 2 website).
    pub fn user_ref(&self, person: usize, platform: usize) -> Value {
        match platform {
            0 => json!({ "telegramId": self.telegram(person) }),
            1 => json!({ "discordId": self.discord(person) }),
            _ => json!({ "websiteEmail": self.email(person) }),
        }
    }

    pub fn live_servers(&self) -> Vec<String> {
        self.servers.lock().unwrap().iter().flatten().cloned().collect()
    }

    pub fn record(&self, entry: Entry) {
        self.history.lock().unwrap().push(entry);
    }

    pub fn violation(&self, what: String) {
        eprintln!("sim violation: {what}");
        self.violations.lock().unwrap().push(what);
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// One request to the server `pick` chooses among the live ones, as `key`.
    pub async fn call(
        &self,
        pick: u64,
        key: &str,
        query: &str,
        variables: Value,
        timeout: Duration,
    ) -> Outcome {
        let servers = self.live_servers();
        if servers.is_empty() {
            return Outcome::Unknown("no server up".into());
        }
        let base = &servers[(pick as usize) % servers.len()];
        let sent = self
            .http
            .post(format!("{base}/graphql"))
            .bearer_auth(key)
            .timeout(timeout)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let body: Value = match sent {
            Ok(response) => match response.json().await {
                Ok(body) => body,
                Err(e) => return Outcome::Unknown(format!("reading the answer: {e}")),
            },
            Err(e) => return Outcome::Unknown(format!("sending: {e}")),
        };
        match body["errors"][0]["extensions"]["code"].as_str() {
            Some(code) => Outcome::Err(code.to_owned()),
            None if body.get("errors").is_some() => Outcome::Err(format!("uncoded: {body}")),
            None => Outcome::Ok(body["data"].clone()),
        }
    }

    /// A request that is safe to repeat (it carries an idempotency key, or is naturally
    /// idempotent): repeated on another live server until it gets an answer.
    pub async fn call_retrying(&self, pick: u64, key: &str, query: &str, variables: Value) -> Outcome {
        let mut last = Outcome::Unknown("never sent".into());
        for attempt in 0..40u64 {
            last = self
                .call(
                    pick + attempt,
                    key,
                    query,
                    variables.clone(),
                    Duration::from_secs(10),
                )
                .await;
            match &last {
                Outcome::Unknown(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                Outcome::Err(code) if code == "RATE_LIMITED" => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => return last,
            }
        }
        last
    }
}
