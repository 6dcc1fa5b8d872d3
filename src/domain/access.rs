//! Who may do what. Pure rules over the caller's role; the GraphQL layer asks them.

use super::{ExternalId, Platform, UserKey};

/// The role of an API key. No key at all is the anonymous public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A platform's bot: acts only on users it addresses by its own platform's id.
    Bot(Platform),
    /// The website's server side.
    Website,
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Bot(_) => "bot",
            Role::Website => "website",
            Role::Admin => "admin",
        }
    }

    pub fn parse(role: &str, platform: Option<Platform>) -> Result<Role, String> {
        match (role, platform) {
            ("bot", Some(p)) => Ok(Role::Bot(p)),
            ("bot", None) => Err("a bot key needs --platform".into()),
            ("website", None) => Ok(Role::Website),
            ("admin", None) => Ok(Role::Admin),
            ("website" | "admin", Some(_)) => Err("only bot keys have a platform".into()),
            _ => Err(format!("unknown role {role} (bot, website or admin)")),
        }
    }

    /// Who owns what this role creates (pull consumers): a bot's platform, the website, admins.
    pub fn owner(self) -> String {
        match self {
            Role::Bot(p) => format!("bot:{}", p.as_str()),
            Role::Website => "website".into(),
            Role::Admin => "admin".into(),
        }
    }

    pub fn platform(self) -> Option<Platform> {
        match self {
            Role::Bot(p) => Some(p),
            _ => None,
        }
    }
}

/// What an action needs.
#[derive(Clone, Debug, PartialEq)]
pub enum Action<'a> {
    /// Find a user by this reference.
    Lookup(&'a UserKey),
    /// Get-or-create a user of this platform.
    UpsertUser(Platform),
    /// XP, coins, activity, daily claims, link codes for this user.
    ChangeProgress(&'a UserKey),
    /// Add an identity of this platform to this user directly (after OAuth on the website).
    LinkPlatform(&'a UserKey, Platform),
    /// pendingEvents / ackEvents.
    PullEvents,
    /// Grants, merges, seasons, the ledger, reverts.
    Administer,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No key: the public may only read.
    NoKey,
    Forbidden(String),
}

fn is_own_platform(platform: Platform, key: &UserKey) -> bool {
    key.platform() == Some(platform)
}

pub fn authorize(role: Option<Role>, action: &Action<'_>) -> Result<(), Denied> {
    use Action::*;
    let Some(role) = role else {
        return match action {
            Lookup(UserKey::Id(_)) => Ok(()),
            Lookup(_) => Err(Denied::Forbidden(
                "the public may look users up by id only".into(),
            )),
            _ => Err(Denied::NoKey),
        };
    };
    let forbidden = |why: String| Err(Denied::Forbidden(why));
    match (role, action) {
        (Role::Admin, _) => Ok(()),
        (Role::Bot(_), Lookup(UserKey::External(ExternalId::Website(_)))) => {
            forbidden("only the website may look users up by email".into())
        }
        (_, Lookup(_)) => Ok(()),
        (Role::Bot(p), UpsertUser(q)) if p == *q => Ok(()),
        (Role::Bot(p), ChangeProgress(key)) if is_own_platform(p, key) => Ok(()),
        (Role::Bot(p), UpsertUser(_) | ChangeProgress(_)) => forbidden(format!(
            "a {0} bot acts only on users addressed by their {0} id",
            p.as_str()
        )),
        (Role::Website, UpsertUser(Platform::Website)) => Ok(()),
        (Role::Website, ChangeProgress(key)) if is_own_platform(Platform::Website, key) => Ok(()),
        (Role::Website, UpsertUser(_) | ChangeProgress(_)) => {
            forbidden("the website acts only on users addressed by their email".into())
        }
        // The website has authenticated the account behind an email, and the identity it
        // links by OAuth; any other account takes a link code.
        (Role::Website, LinkPlatform(UserKey::External(ExternalId::Website(_)), p))
            if *p != Platform::Website =>
        {
            Ok(())
        }
        (Role::Website, LinkPlatform(..)) => forbidden(
            "the website links another platform's identity to the user it addresses by email; \
             any other account takes a link code"
                .into(),
        ),
        (Role::Bot(_), LinkPlatform(..)) => forbidden("bots link accounts with link codes".into()),
        (Role::Bot(_) | Role::Website, PullEvents) => Ok(()),
        (Role::Bot(_) | Role::Website, Administer) => forbidden("this needs an admin key".into()),
    }
}

/// Emails are private to the website and admins.
pub fn sees_emails(role: Option<Role>) -> bool {
    matches!(role, Some(Role::Website | Role::Admin))
}

/// Platform ids are for key holders; the public sees profiles without them.
pub fn sees_platform_ids(role: Option<Role>) -> bool {
    role.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg() -> UserKey {
        UserKey::External(ExternalId::parse(Platform::Telegram, "1").unwrap())
    }
    fn dc() -> UserKey {
        UserKey::External(ExternalId::parse(Platform::Discord, "2").unwrap())
    }
    fn mail() -> UserKey {
        UserKey::External(ExternalId::parse(Platform::Website, "a@b.io").unwrap())
    }
    fn id() -> UserKey {
        UserKey::Id(uuid::Uuid::nil())
    }

    #[test]
    fn the_public_reads_by_id_and_changes_nothing() {
        assert_eq!(authorize(None, &Action::Lookup(&id())), Ok(()));
        assert!(matches!(
            authorize(None, &Action::Lookup(&tg())),
            Err(Denied::Forbidden(_))
        ));
        assert!(matches!(
            authorize(None, &Action::Lookup(&mail())),
            Err(Denied::Forbidden(_))
        ));
        for a in [
            Action::UpsertUser(Platform::Website),
            Action::ChangeProgress(&id()),
            Action::LinkPlatform(&mail(), Platform::Discord),
            Action::PullEvents,
            Action::Administer,
        ] {
            assert_eq!(authorize(None, &a), Err(Denied::NoKey), "{a:?}");
        }
        assert!(!sees_emails(None) && !sees_platform_ids(None));
    }

    #[test]
    fn a_bot_acts_only_as_itself() {
        let bot = Some(Role::Bot(Platform::Telegram));
        assert_eq!(authorize(bot, &Action::ChangeProgress(&tg())), Ok(()));
        assert_eq!(authorize(bot, &Action::UpsertUser(Platform::Telegram)), Ok(()));
        for a in [
            Action::ChangeProgress(&dc()),
            Action::ChangeProgress(&id()),
            Action::ChangeProgress(&mail()),
            Action::UpsertUser(Platform::Discord),
            Action::LinkPlatform(&tg(), Platform::Discord),
            Action::Administer,
            Action::Lookup(&mail()),
        ] {
            assert!(matches!(authorize(bot, &a), Err(Denied::Forbidden(_))), "{a:?}");
        }
        assert_eq!(authorize(bot, &Action::Lookup(&dc())), Ok(()));
        assert_eq!(authorize(bot, &Action::PullEvents), Ok(()));
        assert!(sees_platform_ids(bot) && !sees_emails(bot));
    }

    #[test]
    fn the_website_links_and_reads_emails_but_awards_nothing_to_others() {
        let web = Some(Role::Website);
        assert_eq!(
            authorize(web, &Action::LinkPlatform(&mail(), Platform::Discord)),
            Ok(())
        );
        // Attaching an email (its own or not) to somebody else's account would let it act
        // on that account by email afterwards.
        for (user, platform) in [
            (tg(), Platform::Website),
            (tg(), Platform::Discord),
            (id(), Platform::Discord),
            (mail(), Platform::Website),
        ] {
            assert!(
                matches!(
                    authorize(web, &Action::LinkPlatform(&user, platform)),
                    Err(Denied::Forbidden(_))
                ),
                "{user:?} {platform:?}"
            );
        }
        assert_eq!(authorize(web, &Action::Lookup(&mail())), Ok(()));
        assert_eq!(authorize(web, &Action::UpsertUser(Platform::Website)), Ok(()));
        assert!(authorize(web, &Action::ChangeProgress(&tg())).is_err());
        assert!(authorize(web, &Action::UpsertUser(Platform::Telegram)).is_err());
        assert!(authorize(web, &Action::Administer).is_err());
        assert!(sees_emails(web));
    }

    #[test]
    fn admins_do_everything() {
        for a in [
            Action::Administer,
            Action::LinkPlatform(&tg(), Platform::Website),
            Action::ChangeProgress(&id()),
            Action::Lookup(&mail()),
        ] {
            assert_eq!(authorize(Some(Role::Admin), &a), Ok(()));
        }
    }

    #[test]
    fn roles_parse_with_their_platform_rule() {
        assert_eq!(
            Role::parse("bot", Some(Platform::Discord)),
            Ok(Role::Bot(Platform::Discord))
        );
        assert!(Role::parse("bot", None).is_err());
        assert!(Role::parse("admin", Some(Platform::Discord)).is_err());
        assert!(Role::parse("root", None).is_err());
    }
}
