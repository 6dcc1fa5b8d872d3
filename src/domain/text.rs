//! Parsed free-text values a caller sends: names, reasons, idempotency keys, consumer names,
//! achievement codes and link codes. Each constructor is the only way in, so a value that exists is valid.

use super::Invalid;

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_REASON_CHARS: usize = 200;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
pub const MAX_CONSUMER_NAME_CHARS: usize = 64;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A username, display name, season name or game type: trimmed, 1..=64 characters, no
/// control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// `field` names the argument in the error.
    pub fn parse(field: &str, raw: &str) -> Result<Name, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Invalid::new(format!("{field} must not be empty")));
        }
        if s.chars().count() > MAX_NAME_CHARS {
            return Err(Invalid::new(format!(
                "{field} must be at most {MAX_NAME_CHARS} characters"
            )));
        }
        if has_control(s) {
            return Err(Invalid::new(format!(
                "{field} must not contain control characters"
            )));
        }
        Ok(Name(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a change was made, as the caller wrote it: trimmed, at most 200 characters. Blank is
/// no reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: Option<&str>) -> Result<Option<Reason>, Invalid> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) if s.chars().count() > MAX_REASON_CHARS => Err(Invalid::new(format!(
                "reason must be at most {MAX_REASON_CHARS} characters"
            ))),
            Some(s) if has_control(s) => Err(Invalid::new("reason must not contain control characters")),
            Some(s) => Ok(Some(Reason(s.to_owned()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client's `idempotencyKey`, taken exactly as sent (not trimmed: it is the client's
/// identifier): 1..=128 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: Option<&str>) -> Result<Option<IdempotencyKey>, Invalid> {
        match raw {
            None => Ok(None),
            Some(s) if s.is_empty() || s.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS => Err(Invalid::new(
                format!("idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
            )),
            Some(s) if has_control(s) => {
                Err(Invalid::new("idempotencyKey must not contain control characters"))
            }
            Some(s) => Ok(Some(IdempotencyKey(s.to_owned()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of a pull consumer (`pendingEvents`): 1..=64 of `A-Z a-z 0-9 _ . : -`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerName(String);

/// `raw` when it is 1 to `max` bytes, each one `allowed` accepts.
fn made_of(raw: &str, max: usize, allowed: impl Fn(u8) -> bool, error: &str) -> Result<String, Invalid> {
    if (1..=max).contains(&raw.len()) && raw.bytes().all(allowed) {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(error))
    }
}

impl ConsumerName {
    pub fn parse(raw: &str) -> Result<ConsumerName, Invalid> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-');
        let error = "consumer must be 1 to 64 of A-Z a-z 0-9 _ . : -";
        made_of(raw, MAX_CONSUMER_NAME_CHARS, allowed, error).map(ConsumerName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An achievement's code as the catalog writes them: 1..=64 of `a-z 0-9 _`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AchievementCode(String);

impl AchievementCode {
    pub fn parse(raw: &str) -> Result<AchievementCode, Invalid> {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        made_of(raw, 64, allowed, "code must be 1 to 64 of a-z 0-9 _").map(AchievementCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A one-time link code as the service makes them: 8 of an alphabet without look-alikes (no
/// 0/O, 1/I/L, U), so 30^8, about 2^39 codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCode(String);

impl LinkCode {
    pub const ALPHABET: &'static [u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
    pub const LEN: usize = 8;

    /// Codes are read back by people: case, spaces and dashes do not matter.
    pub fn parse(raw: &str) -> Result<LinkCode, Invalid> {
        let code: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .flat_map(char::to_uppercase)
            .collect();
        if code.len() == Self::LEN && code.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(LinkCode(code))
        } else {
            Err(Invalid::new("a link code is 8 letters and digits"))
        }
    }

    /// A code from `LEN` random bytes. 256 is not a multiple of 30; the bias (under 1 %) does
    /// not matter for a 10-minute code.
    pub fn from_random(bytes: [u8; Self::LEN]) -> LinkCode {
        LinkCode(
            bytes
                .iter()
                .map(|b| Self::ALPHABET[*b as usize % Self::ALPHABET.len()] as char)
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("username", "  ann ").unwrap().as_str(), "ann");
        assert!(Name::parse("username", "   ").is_err());
        assert!(Name::parse("username", &"x".repeat(65)).is_err());
        assert!(Name::parse("username", &"я".repeat(64)).is_ok());
        assert!(Name::parse("username", "a\u{0}b").is_err());
    }

    #[test]
    fn reasons_and_keys() {
        assert_eq!(Reason::parse(Some("  ")).unwrap(), None);
        assert!(Reason::parse(Some(&"r".repeat(201))).is_err());
        assert!(IdempotencyKey::parse(Some("")).is_err());
        assert!(IdempotencyKey::parse(Some(&"k".repeat(129))).is_err());
        let key = IdempotencyKey::parse(Some(" k-1")).unwrap().unwrap();
        assert_eq!(key.as_str(), " k-1", "a key is the client's, to the letter");
    }

    #[test]
    fn achievement_codes() {
        assert!(AchievementCode::parse("first_win").is_ok());
        for bad in ["", "First", "a-b", &"c".repeat(65)] {
            assert!(AchievementCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn consumer_names() {
        assert!(ConsumerName::parse("telegram-bot:main_1.0").is_ok());
        for bad in ["", "a b", "ä", &"c".repeat(65)] {
            assert!(ConsumerName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codes_are_unambiguous_and_forgiving_to_type() {
        let code = LinkCode::from_random([0, 1, 29, 30, 255, 7, 8, 9]);
        assert_eq!(LinkCode::parse(code.as_str()).unwrap(), code);
        let s = code.as_str();
        let spaced = format!("{}-{} ", s[..4].to_lowercase(), &s[4..]);
        assert_eq!(LinkCode::parse(&spaced).unwrap(), code);
        assert!(LinkCode::parse("ABC").is_err());
        assert!(LinkCode::parse("ABCDEFG0").is_err(), "0 is not in the alphabet");
    }
}
