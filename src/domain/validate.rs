//! Boundary checks for everything a caller sends. Each returns the normalised value or a
//! message that says what is wrong.

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_REASON_CHARS: usize = 200;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
pub const MAX_EMAIL_CHARS: usize = 254;

use super::Platform;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A username or display name: trimmed, 1..=64 characters, no control characters.
pub fn name(field: &str, raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err(format!("{field} must be at most {MAX_NAME_CHARS} characters"));
    }
    if has_control(s) {
        return Err(format!("{field} must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// Telegram user ids and Discord snowflakes are positive integers written in decimal.
pub fn numeric_id(platform: &str, raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{platform} id must be 1 to 20 decimal digits"));
    }
    // "123" and "0123" would be two accounts of one person: one spelling only.
    if s.starts_with('0') {
        return Err(format!(
            "{platform} id must not start with 0 (write it as the platform does)"
        ));
    }
    Ok(s.to_owned())
}

/// A deliberately plain address check (one @, a dotted domain, no spaces), lower-cased so that
/// one address is one account.
pub fn email(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_lowercase();
    let bad = || Err("websiteEmail must be a valid email address".to_owned());
    if s.len() > MAX_EMAIL_CHARS || has_control(&s) || s.chars().any(char::is_whitespace) {
        return bad();
    }
    let Some((local, domain)) = s.split_once('@') else {
        return bad();
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return bad();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return bad();
    }
    Ok(s)
}

/// The external identity of `platform`, normalised.
pub fn external_id(platform: Platform, raw: &str) -> Result<String, String> {
    match platform {
        Platform::Telegram => numeric_id("telegram", raw),
        Platform::Discord => numeric_id("discord", raw),
        Platform::Website => email(raw),
    }
}

pub fn reason(raw: Option<&str>) -> Result<Option<String>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > MAX_REASON_CHARS => {
            Err(format!("reason must be at most {MAX_REASON_CHARS} characters"))
        }
        Some(s) if has_control(s) => Err("reason must not contain control characters".into()),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

pub fn idempotency_key(raw: Option<&str>) -> Result<Option<String>, String> {
    match raw {
        None => Ok(None),
        Some(s) if s.is_empty() || s.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS => Err(format!(
            "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"
        )),
        Some(s) if has_control(s) => Err("idempotencyKey must not contain control characters".into()),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("username", "  ann ").unwrap(), "ann");
        assert!(name("username", "   ").is_err());
        assert!(name("username", &"x".repeat(65)).is_err());
        assert!(name("username", &"я".repeat(64)).is_ok());
        assert!(name("username", "a\u{0}b").is_err());
    }

    #[test]
    fn numeric_ids() {
        assert_eq!(numeric_id("telegram", "123456789").unwrap(), "123456789");
        for bad in ["", "12a", "-5", "1 2", &"9".repeat(21), "0", "0123", "00123"] {
            assert!(numeric_id("telegram", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(email(" Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "", "ann", "ann@", "@x.io", "a@b", "a@b@c.io", "a b@c.io", "a@-x.io", "a@x..io",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
        assert!(email(&format!("{}@x.io", "a".repeat(65))).is_err());
    }

    #[test]
    fn reasons_and_keys() {
        assert_eq!(reason(Some("  ")).unwrap(), None);
        assert!(reason(Some(&"r".repeat(201))).is_err());
        assert!(idempotency_key(Some("")).is_err());
        assert!(idempotency_key(Some(&"k".repeat(129))).is_err());
        assert_eq!(idempotency_key(Some("k-1")).unwrap().as_deref(), Some("k-1"));
    }
}
