//! One simulated client: a seeded stream of every state-changing operation through the public
//! API, with idempotency keys, deliberate retries and timed-out requests retried by key.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::world::{Claim, Entry, Outcome, World};

const XP_CHANGE: &str = "delta xp rankUp rewardCoins oldRank { id } newRank { id }";

/// Runs `ops` operations chosen by `rng`, as client `client`.
pub async fn run(world: Arc<World>, client: usize, mut rng: fastrand::Rng, ops: usize) {
    for n in 0..ops {
        let op = Op {
            world: &world,
            client,
            n,
        };
        let what = rng.u32(0..100);
        let (desc, outcome) = match what {
            0..10 => op.upsert(&mut rng).await,
            10..34 => op.award(&mut rng).await,
            34..42 => op.coins(&mut rng).await,
            42..48 => op.game(&mut rng).await,
            48..52 => op.voice(&mut rng).await,
            52..57 => op.message(&mut rng).await,
            57..61 => op.daily(&mut rng).await,
            61..66 => op.link(&mut rng).await,
            66..70 => op.merge(&mut rng).await,
            70..80 => op.revert(&mut rng).await,
            80..83 => op.grant(&mut rng).await,
            83..85 => op.boost(&mut rng).await,
            85..88 => op.season(&mut rng).await,
            88..90 => op.time_zone(&mut rng).await,
            _ => op.award(&mut rng).await,
        };
        world.record(Entry {
            client,
            n,
            op: desc,
            outcome,
        });
        world.done.fetch_add(1, Ordering::Relaxed);
    }
}

struct Op<'a> {
    world: &'a World,
    client: usize,
    n: usize,
}

impl Op<'_> {
    fn person(&self, rng: &mut fastrand::Rng) -> usize {
        rng.usize(0..self.world.people)
    }

    fn someone(&self, rng: &mut fastrand::Rng) -> Value {
        let person = self.person(rng);
        self.world.user_ref(person, rng.usize(0..3))
    }

    fn reason(&self) -> String {
        format!("sim:{}:{}", self.client, self.n)
    }

    async fn plain(&self, rng: &mut fastrand::Rng, query: &str, vars: Value) -> Outcome {
        self.world
            .call(
                rng.u64(..),
                &self.world.admin,
                query,
                vars,
                Duration::from_secs(10),
            )
            .await
    }

    /// A keyed mutation: sometimes first sent with a timeout too short to answer (the
    /// server may or may not apply it), then retried by key until answered; sometimes
    /// retried again on purpose, which must answer exactly the first result.
    async fn keyed(&self, rng: &mut fastrand::Rng, query: &str, mut vars: Value, field: &str) -> Outcome {
        let keyed = rng.u32(0..10) < 7;
        if keyed {
            vars["k"] = json!(format!("key:{}:{}:{}", self.world.seed, self.client, self.n));
        }
        let key = &self.world.admin;
        if keyed && rng.u32(0..10) == 0 {
            let timeout = Duration::from_millis(rng.u64(1..15));
            let first = self
                .world
                .call(rng.u64(..), key, query, vars.clone(), timeout)
                .await;
            if !first.is_unknown() {
                return first;
            }
        }
        let outcome = if keyed {
            self.world
                .call_retrying(rng.u64(..), key, query, vars.clone())
                .await
        } else {
            self.plain(rng, query, vars.clone()).await
        };
        if keyed && matches!(outcome, Outcome::Ok(_)) && rng.u32(0..10) < 3 {
            let again = self.world.call_retrying(rng.u64(..), key, query, vars).await;
            let (Outcome::Ok(a), Outcome::Ok(b)) = (&outcome, &again) else {
                self.world.violation(format!(
                    "invariant 2: client {} op {}: a retry of {field} answered {again:?}, first {outcome:?}",
                    self.client, self.n
                ));
                return outcome;
            };
            if a[field] != b[field] {
                self.world.violation(format!(
                    "invariant 2: client {} op {}: a retry of {field} answered {b}, first {a}",
                    self.client, self.n
                ));
            }
        }
        outcome
    }

    fn claim(&self, reason: String, outcome: &Outcome, field: &str) {
        let applied = match outcome {
            Outcome::Ok(data) => Some(data[field]["delta"].as_i64().unwrap_or(0) != 0),
            Outcome::Err(_) => Some(false),
            Outcome::Unknown(_) => None,
        };
        self.world.claims.lock().unwrap().push(Claim { reason, applied });
    }

    async fn upsert(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let person = self.person(rng);
        let platform = rng.usize(0..3);
        let (name, id) = match platform {
            0 => ("TELEGRAM", self.world.telegram(person)),
            1 => ("DISCORD", self.world.discord(person)),
            _ => ("WEBSITE", self.world.email(person)),
        };
        let q = "mutation($p: Platform!, $id: String!, $n: String!) { upsertUser(input: {platform: $p, externalId: $id, username: $n}) { id } }";
        let vars = json!({ "p": name, "id": id, "n": format!("person{person}") });
        (
            format!("upsertUser {name} {id}"),
            self.world
                .call_retrying(rng.u64(..), &self.world.admin, q, vars)
                .await,
        )
    }

    async fn award(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let delta = if rng.u32(0..4) == 0 {
            -rng.i64(1..400)
        } else {
            rng.i64(1..900)
        };
        let reason = self.reason();
        let q = format!(
            "mutation($u: UserRef!, $d: Int!, $r: String, $k: String) {{ awardXp(user: $u, delta: $d, reason: $r, idempotencyKey: $k) {{ {XP_CHANGE} }} }}"
        );
        let vars = json!({ "u": user, "d": delta, "r": reason });
        let outcome = self.keyed(rng, &q, vars, "awardXp").await;
        self.claim(reason.clone(), &outcome, "awardXp");
        (format!("awardXp {user} {delta} {reason}"), outcome)
    }

    async fn coins(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let delta = if rng.bool() {
            -rng.i64(1..300)
        } else {
            rng.i64(1..300)
        };
        let reason = self.reason();
        let q = "mutation($u: UserRef!, $d: Int!, $r: String, $k: String) { adjustCoins(user: $u, delta: $d, reason: $r, idempotencyKey: $k) { delta coins } }";
        let vars = json!({ "u": user, "d": delta, "r": reason });
        let outcome = self.keyed(rng, q, vars, "adjustCoins").await;
        self.claim(reason.clone(), &outcome, "adjustCoins");
        (format!("adjustCoins {user} {delta} {reason}"), outcome)
    }

    async fn game(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let won = rng.bool();
        let q = format!(
            "mutation($u: UserRef!, $w: Boolean!, $k: String) {{ recordGame(user: $u, gameType: \"quiz\", won: $w, idempotencyKey: $k) {{ {XP_CHANGE} }} }}"
        );
        let outcome = self
            .keyed(rng, &q, json!({ "u": user, "w": won }), "recordGame")
            .await;
        (format!("recordGame {user} won={won}"), outcome)
    }

    async fn voice(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let seconds = rng.i64(0..4000);
        let q = format!(
            "mutation($u: UserRef!, $s: Int!, $k: String) {{ recordVoiceTime(user: $u, seconds: $s, idempotencyKey: $k) {{ {XP_CHANGE} }} }}"
        );
        let outcome = self
            .keyed(rng, &q, json!({ "u": user, "s": seconds }), "recordVoiceTime")
            .await;
        (format!("recordVoiceTime {user} {seconds}"), outcome)
    }

    async fn message(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let q = format!(
            "mutation($u: UserRef!, $k: String) {{ recordMessage(user: $u, idempotencyKey: $k) {{ {XP_CHANGE} }} }}"
        );
        let outcome = self.keyed(rng, &q, json!({ "u": user }), "recordMessage").await;
        (format!("recordMessage {user}"), outcome)
    }

    async fn daily(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let q = "mutation($u: UserRef!, $k: String) { claimDaily(user: $u, idempotencyKey: $k) { streak rewardCoins rewardXp freezesUsed } }";
        let outcome = self.keyed(rng, q, json!({ "u": user }), "claimDaily").await;
        (format!("claimDaily {user}"), outcome)
    }

    /// A code made on one platform, redeemed on another: a join, or a merge.
    async fn link(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let person = self.person(rng);
        let from = rng.usize(0..2);
        let to = 1 - from;
        // Now and then the code is redeemed for somebody else's identity.
        let other = if rng.u32(0..4) == 0 {
            self.person(rng)
        } else {
            person
        };
        let made = self
            .plain(
                rng,
                "mutation($u: UserRef!) { createLinkCode(user: $u) { code } }",
                json!({ "u": self.world.user_ref(person, from) }),
            )
            .await;
        let Outcome::Ok(data) = &made else {
            return (format!("createLinkCode p{person}"), made);
        };
        let code = data["createLinkCode"]["code"].clone();
        let target = self.world.user_ref(other, to);
        let q = "mutation($c: String!, $u: UserRef!) { redeemLinkCode(code: $c, user: $u) { id } }";
        let outcome = self.plain(rng, q, json!({ "c": code, "u": target })).await;
        (format!("redeemLinkCode p{person} -> {target}"), outcome)
    }

    async fn merge(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let (into, from) = (self.someone(rng), self.someone(rng));
        let q = "mutation($i: UserRef!, $f: UserRef!) { mergeUsers(into: $i, from: $f) { id } }";
        let outcome = self.plain(rng, q, json!({ "i": into, "f": from })).await;
        (format!("mergeUsers {into} <- {from}"), outcome)
    }

    /// Reverts one of a user's recent XP or coin changes, sometimes twice.
    async fn revert(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let q = "query($u: UserRef!) { ledger(user: $u, first: 20) { nodes { event { id } revertOf } } }";
        let read = self.plain(rng, q, json!({ "u": user })).await;
        let Outcome::Ok(data) = &read else {
            return (format!("ledger {user}"), read);
        };
        let entries: Vec<&Value> = data["ledger"]["nodes"]
            .as_array()
            .map(|n| n.iter().filter(|e| e["revertOf"].is_null()).collect())
            .unwrap_or_default();
        if entries.is_empty() {
            return (format!("ledger {user} (nothing to revert)"), read);
        }
        let id = entries[rng.usize(0..entries.len())]["event"]["id"].clone();
        let q = "mutation($e: ID!) { revertEvent(eventId: $e) { event { id } } }";
        let first = self
            .world
            .call_retrying(rng.u64(..), &self.world.admin, q, json!({ "e": id }))
            .await;
        if rng.u32(0..3) == 0 && matches!(first, Outcome::Ok(_)) {
            let again = self
                .world
                .call_retrying(rng.u64(..), &self.world.admin, q, json!({ "e": id }))
                .await;
            if again != first {
                self.world.violation(format!(
                    "invariant 2: client {} op {}: reverting {id} again answered {again:?}, first {first:?}",
                    self.client, self.n
                ));
            }
        }
        (format!("revertEvent {id} of {user}"), first)
    }

    async fn grant(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let codes = ["first_win", "week_streak", "tier_c", "hundred_games"];
        let code = codes[rng.usize(0..codes.len())];
        let q = "mutation($u: UserRef!, $c: String!) { grantAchievement(user: $u, code: $c) { id } }";
        (
            format!("grantAchievement {user} {code}"),
            self.plain(rng, q, json!({ "u": user, "c": code })).await,
        )
    }

    async fn boost(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = if rng.bool() { Some(self.someone(rng)) } else { None };
        let ends = chrono::Utc::now() + chrono::Duration::milliseconds(rng.i64(200..3000));
        let q = "mutation($u: UserRef, $e: DateTime!) { createXpBoost(multiplier: 1.5, endsAt: $e, user: $u) { id } }";
        let outcome = self
            .plain(rng, q, json!({ "u": user, "e": ends.to_rfc3339() }))
            .await;
        (format!("createXpBoost {user:?}"), outcome)
    }

    async fn season(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let name = format!("Season {}-{}", self.client, self.n);
        let q = "mutation($n: String!) { startSeason(name: $n) { id } }";
        (
            format!("startSeason {name}"),
            self.plain(rng, q, json!({ "n": name })).await,
        )
    }

    async fn time_zone(&self, rng: &mut fastrand::Rng) -> (String, Outcome) {
        let user = self.someone(rng);
        let zone = ["Europe/Moscow", "Asia/Tokyo", "UTC"][rng.usize(0..3)];
        let q = "mutation($u: UserRef!, $z: String) { setUserTimeZone(user: $u, timeZone: $z) { id } }";
        (
            format!("setUserTimeZone {user} {zone}"),
            self.plain(rng, q, json!({ "u": user, "z": zone })).await,
        )
    }
}
