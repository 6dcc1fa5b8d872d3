//! Opaque cursors: base64url of a tagged, colon-separated tuple. Clients must not parse them;
//! the tag makes a cursor from one list useless in another.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

/// A position in the event log: the writing transaction and the row's place inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct EventCursor {
    pub txid: i64,
    pub seq: i64,
}

/// A position in a leaderboard ordered by (score desc, id asc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaderboardCursor {
    pub score: i32,
    pub id: Uuid,
}

fn encode(text: String) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn decode<'a>(raw: &str, tag: &str, buf: &'a mut String) -> Option<Vec<&'a str>> {
    *buf = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let mut parts = buf.split(':');
    (parts.next()? == tag).then(|| parts.collect())
}

impl EventCursor {
    pub fn encode(self) -> String {
        encode(format!("ev1:{}:{}", self.txid, self.seq))
    }

    pub fn decode(raw: &str) -> Option<EventCursor> {
        let mut buf = String::new();
        match decode(raw, "ev1", &mut buf)?.as_slice() {
            [txid, seq] => Some(EventCursor {
                txid: txid.parse().ok()?,
                seq: seq.parse().ok()?,
            }),
            _ => None,
        }
    }
}

impl LeaderboardCursor {
    /// `scope` is the board's name, so a season cursor cannot page the all-time board.
    pub fn encode(self, scope: &str) -> String {
        encode(format!("lb1-{scope}:{}:{}", self.score, self.id))
    }

    pub fn decode(raw: &str, scope: &str) -> Option<LeaderboardCursor> {
        let mut buf = String::new();
        let tag = format!("lb1-{scope}");
        match decode(raw, &tag, &mut buf)?.as_slice() {
            [score, id] => Some(LeaderboardCursor {
                score: score.parse().ok()?,
                id: id.parse().ok()?,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_cursor_round_trips_and_rejects_garbage() {
        let c = EventCursor {
            txid: 123_456,
            seq: 7,
        };
        assert_eq!(EventCursor::decode(&c.encode()), Some(c));
        assert_eq!(EventCursor::decode("not base64!"), None);
        assert_eq!(EventCursor::decode(&URL_SAFE_NO_PAD.encode("ev1:1")), None);
        assert_eq!(EventCursor::decode(&URL_SAFE_NO_PAD.encode("ev1:a:b")), None);
        assert!(EventCursor { txid: 1, seq: 9 } < EventCursor { txid: 2, seq: 1 });
    }

    #[test]
    fn leaderboard_cursor_is_bound_to_its_scope() {
        let c = LeaderboardCursor {
            score: 42,
            id: Uuid::now_v7(),
        };
        let s = c.encode("all");
        assert_eq!(LeaderboardCursor::decode(&s, "all"), Some(c));
        assert_eq!(LeaderboardCursor::decode(&s, "season"), None);
        assert_eq!(
            LeaderboardCursor::decode(&EventCursor { txid: 1, seq: 1 }.encode(), "all"),
            None
        );
    }
}
