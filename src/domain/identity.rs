//! Platform identities as parsed types: a Telegram id, a Discord id and an email exist only in
//! their one canonical spelling, and `Identities` is the set of them one account holds.

use serde::{Deserialize, Serialize};

use super::{Invalid, Platform};

pub const MAX_EMAIL_CHARS: usize = 254;

/// The shared impls of the three identity newtypes: a private field, so `parse` (which
/// `TryFrom<String>` and so serde and the database call too) is the only way in.
macro_rules! identity_type {
    ($name:ident, $parse:expr) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                $parse(raw).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// For serde, which needs an error it can display.
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw).map_err(String::from)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

identity_type!(TelegramId, |raw| numeric_id("telegram", raw));
identity_type!(DiscordId, |raw| numeric_id("discord", raw));
identity_type!(Email, email);

/// Telegram user ids and Discord snowflakes are positive integers written in decimal.
fn numeric_id(platform: &str, raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Invalid::new(format!(
            "{platform} id must be 1 to 20 decimal digits"
        )));
    }
    // "123" and "0123" would be two accounts of one person: one spelling only.
    if s.starts_with('0') {
        return Err(Invalid::new(format!(
            "{platform} id must not start with 0 (write it as the platform does)"
        )));
    }
    Ok(s.to_owned())
}

/// A deliberately plain address check (one @, a dotted domain, no spaces), lower-cased so that
/// one address is one account.
fn email(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim().to_lowercase();
    let bad = || Err(Invalid::new("websiteEmail must be a valid email address"));
    if s.len() > MAX_EMAIL_CHARS || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
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

/// One identity on one platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternalId {
    Telegram(TelegramId),
    Discord(DiscordId),
    Website(Email),
}

impl ExternalId {
    pub fn parse(platform: Platform, raw: &str) -> Result<ExternalId, Invalid> {
        Ok(match platform {
            Platform::Telegram => ExternalId::Telegram(TelegramId::parse(raw)?),
            Platform::Discord => ExternalId::Discord(DiscordId::parse(raw)?),
            Platform::Website => ExternalId::Website(Email::parse(raw)?),
        })
    }

    pub fn platform(&self) -> Platform {
        match self {
            ExternalId::Telegram(_) => Platform::Telegram,
            ExternalId::Discord(_) => Platform::Discord,
            ExternalId::Website(_) => Platform::Website,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ExternalId::Telegram(id) => id.as_str(),
            ExternalId::Discord(id) => id.as_str(),
            ExternalId::Website(email) => email.as_str(),
        }
    }
}

/// The identities of one account (or one imported record): at most one per platform. Serde
/// names are the database's columns, which stored idempotent results use too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identities {
    #[serde(rename = "telegram_id")]
    telegram: Option<TelegramId>,
    #[serde(rename = "discord_id")]
    discord: Option<DiscordId>,
    #[serde(rename = "website_email")]
    email: Option<Email>,
}

impl Identities {
    pub fn of(id: ExternalId) -> Identities {
        let mut ids = Identities::default();
        ids.set(id);
        ids
    }

    pub fn get(&self, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Telegram => self.telegram.as_ref().map(TelegramId::as_str),
            Platform::Discord => self.discord.as_ref().map(DiscordId::as_str),
            Platform::Website => self.email.as_ref().map(Email::as_str),
        }
    }

    /// Sets (or replaces) the identity on its platform.
    pub fn set(&mut self, id: ExternalId) {
        match id {
            ExternalId::Telegram(id) => self.telegram = Some(id),
            ExternalId::Discord(id) => self.discord = Some(id),
            ExternalId::Website(email) => self.email = Some(email),
        }
    }

    /// The platforms with an identity, in `Platform::ALL` order.
    pub fn platforms(&self) -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| self.get(*p).is_some())
            .collect()
    }

    /// The values in the database's column order (telegram_id, discord_id, website_email).
    pub fn columns(&self) -> [Option<&str>; 3] {
        Platform::ALL.map(|p| self.get(p))
    }

    /// Both sets together; `Err` names the first platform on which they hold different
    /// identities (one person cannot have two).
    pub fn union(&self, other: &Identities) -> Result<Identities, Platform> {
        fn one<T: Clone + PartialEq>(
            a: &Option<T>,
            b: &Option<T>,
            p: Platform,
        ) -> Result<Option<T>, Platform> {
            match (a, b) {
                (Some(a), Some(b)) if a != b => Err(p),
                _ => Ok(a.clone().or_else(|| b.clone())),
            }
        }
        Ok(Identities {
            telegram: one(&self.telegram, &other.telegram, Platform::Telegram)?,
            discord: one(&self.discord, &other.discord, Platform::Discord)?,
            email: one(&self.email, &other.email, Platform::Website)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_have_one_spelling() {
        assert_eq!(TelegramId::parse(" 123456789 ").unwrap().as_str(), "123456789");
        for bad in ["", "12a", "-5", "1 2", &"9".repeat(21), "0", "0123", "00123"] {
            assert!(TelegramId::parse(bad).is_err(), "{bad:?}");
            assert!(DiscordId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails_are_lower_cased_and_plain() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "", "ann", "ann@", "@x.io", "a@b", "a@b@c.io", "a b@c.io", "a@-x.io", "a@x..io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(65))).is_err());
    }

    #[test]
    fn deserialising_goes_through_the_parser() {
        assert!(serde_json::from_str::<TelegramId>("\"0123\"").is_err());
        let ids: Identities =
            serde_json::from_str(r#"{"telegram_id":"5","discord_id":null,"website_email":"a@b.io"}"#)
                .unwrap();
        assert_eq!(ids.columns(), [Some("5"), None, Some("a@b.io")]);
        assert_eq!(ids.platforms(), [Platform::Telegram, Platform::Website]);
    }

    #[test]
    fn a_union_keeps_one_identity_per_platform() {
        let tg = |s| ExternalId::parse(Platform::Telegram, s).unwrap();
        let dc = ExternalId::parse(Platform::Discord, "7").unwrap();
        let a = Identities::of(tg("1"));
        let b = Identities::of(dc);
        assert_eq!(a.union(&b).unwrap().columns(), [Some("1"), Some("7"), None]);
        assert_eq!(a.union(&a).unwrap(), a);
        assert_eq!(a.union(&Identities::of(tg("2"))), Err(Platform::Telegram));
    }
}
