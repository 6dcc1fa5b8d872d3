//! Unit tests of the import rules: rows to records, duplicates, and the plan for each record.

use super::*;
use crate::domain::ExternalId;
use uuid::Uuid;

fn row<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |c: &str| pairs.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
}

fn telegram(line: u64, id: &str, xp: &str) -> Record {
    record(
        Source::Telegram,
        line,
        row(&[("telegram_id", id), ("username", "ann"), ("xp", xp)]),
    )
    .unwrap()
}

fn identities(tg: Option<&str>, dc: Option<&str>, email: Option<&str>) -> Identities {
    let mut ids = Identities::default();
    for (p, raw) in Platform::ALL.into_iter().zip([tg, dc, email]) {
        if let Some(raw) = raw {
            ids.set(ExternalId::parse(p, raw).unwrap());
        }
    }
    ids
}

fn account(tg: Option<&str>, dc: Option<&str>, email: Option<&str>, xp: i32) -> Account {
    Account {
        id: Uuid::now_v7(),
        identities: identities(tg, dc, email),
        xp,
        daily_streak: 0,
        last_daily: None,
        created_at: Utc::now(),
    }
}

#[test]
fn a_row_becomes_a_record_with_defaults() {
    let r = record(
        Source::Telegram,
        2,
        row(&[
            ("telegram_id", " 42 "),
            ("username", "ann"),
            ("xp", "1500"),
            ("games_played", "10"),
            ("games_won", "4"),
            ("last_daily", "2024-03-01 08:30:00"),
            ("created_at", "2023-01-02"),
        ]),
    )
    .unwrap();
    assert_eq!(r.identity(Platform::Telegram), Some("42"));
    assert_eq!(r.counters.xp, 1500);
    assert_eq!(r.counters.coins, 0);
    assert_eq!((r.counters.games_played, r.counters.games_won), (10, 4));
    assert_eq!(r.last_daily.unwrap().to_rfc3339(), "2024-03-01T08:30:00+00:00");
    assert_eq!(r.created_at.unwrap().to_rfc3339(), "2023-01-02T00:00:00+00:00");
    assert_eq!(r.display_name, None);
}

#[test]
fn every_bad_row_class_says_why() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("username", "ann")], "telegram_id is missing"),
        (
            &[("telegram_id", "12a"), ("username", "ann")],
            "telegram_id: telegram id must be 1 to 20 decimal digits",
        ),
        (&[("telegram_id", "1")], "username is missing"),
        (
            &[("telegram_id", "1"), ("username", "a"), ("xp", "ten")],
            "xp is not a whole number (got \"ten\")",
        ),
        (
            &[("telegram_id", "1"), ("username", "a"), ("xp", "-5")],
            "xp must not be negative (got -5)",
        ),
        (
            &[("telegram_id", "1"), ("username", "a"), ("coins", "99999999999")],
            "coins is too large (got 99999999999)",
        ),
        (
            &[
                ("telegram_id", "1"),
                ("username", "a"),
                ("games_played", "1"),
                ("games_won", "2"),
            ],
            "games_won (2) is more than games_played (1)",
        ),
        (
            &[
                ("telegram_id", "1"),
                ("username", "a"),
                ("created_at", "yesterday"),
            ],
            "created_at is not a date and time (got \"yesterday\")",
        ),
    ];
    for (fields, why) in cases {
        assert_eq!(record(Source::Telegram, 3, row(fields)).unwrap_err(), *why);
    }
    let bad_email = record(
        Source::Website,
        3,
        row(&[("email", "not-an-email"), ("username", "a")]),
    );
    assert_eq!(
        bad_email.unwrap_err(),
        "email: websiteEmail must be a valid email address"
    );
}

#[test]
fn timestamps_in_the_usual_legacy_spellings() {
    for raw in [
        "2024-03-01T08:30:00Z",
        "2024-03-01 08:30:00",
        "2024-03-01T08:30:00.000",
        "1709281800",
    ] {
        assert_eq!(
            timestamp("t", Some(raw)).unwrap().unwrap().to_rfc3339(),
            "2024-03-01T08:30:00+00:00",
            "{raw}"
        );
    }
    assert_eq!(timestamp("t", Some("  ")).unwrap(), None);
}

#[test]
fn headers_report_unknown_and_missing_columns() {
    let header: Vec<String> = ["telegram_id", "xp", "level"].map(String::from).to_vec();
    assert_eq!(
        Source::Telegram.unknown_columns(&header),
        vec!["level".to_owned()]
    );
    assert_eq!(Source::Telegram.missing_columns(&header), vec!["username"]);
}

#[test]
fn later_duplicates_are_rejected_with_the_first_line() {
    let (kept, rejected) = without_duplicates(vec![
        telegram(2, "1", "5"),
        telegram(3, "2", "5"),
        telegram(4, "1", "9"),
    ]);
    assert_eq!(kept.len(), 2);
    assert_eq!(
        rejected,
        vec![Rejected {
            line: 4,
            reason: "duplicate telegram id 1 (first on line 2)".into()
        }]
    );
}

#[test]
fn new_identities_create_and_known_ones_update() {
    let r = telegram(2, "1", "100");
    assert_eq!(plan(&r, &[], None, XpPolicy::Sum).unwrap(), Action::Create);
    let a = account(Some("1"), None, None, 40);
    let Action::Update { delta, links, .. } =
        plan(&r, std::slice::from_ref(&a), None, XpPolicy::Sum).unwrap()
    else {
        panic!("an update");
    };
    assert_eq!((delta.xp, links.len()), (100, 0));
    // Max keeps the larger: 100 over 40 adds 60; over 400 adds nothing.
    let Action::Update { delta, .. } = plan(&r, &[a], None, XpPolicy::Max).unwrap() else {
        panic!("an update");
    };
    assert_eq!(delta.xp, 60);
    let rich = account(Some("1"), None, None, 400);
    let Action::Update { delta, .. } = plan(&r, &[rich], None, XpPolicy::Max).unwrap() else {
        panic!("an update");
    };
    assert_eq!(delta.xp, 0);
}

#[test]
fn importing_the_same_record_again_changes_nothing() {
    let r = telegram(2, "1", "100");
    let a = account(Some("1"), None, None, 100);
    assert_eq!(
        plan(&r, std::slice::from_ref(&a), Some(&r.counters), XpPolicy::Sum).unwrap(),
        Action::Unchanged { user: a.id }
    );
    // A corrected file applies only the difference.
    let corrected = telegram(2, "1", "130");
    let Action::Update { delta, .. } = plan(&corrected, &[a], Some(&r.counters), XpPolicy::Sum).unwrap()
    else {
        panic!("an update");
    };
    assert_eq!(delta.xp, 30);
}

#[test]
fn a_website_row_links_and_merges_accounts_of_one_person() {
    let web = record(
        Source::Website,
        2,
        row(&[
            ("email", "Ann@Example.com"),
            ("username", "ann"),
            ("discord_id", "7"),
            ("telegram_id", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(web.identity(Platform::Website), Some("ann@example.com"));
    let tg = account(Some("1"), None, None, 10);
    let Action::Update { links, .. } = plan(&web, std::slice::from_ref(&tg), None, XpPolicy::Sum).unwrap()
    else {
        panic!("an update");
    };
    assert_eq!(links, vec![Platform::Discord, Platform::Website]);
    let mut dc = account(None, Some("7"), None, 20);
    dc.created_at = tg.created_at - chrono::Duration::days(1);
    let Action::Merge { into, from, .. } =
        plan(&web, &[tg.clone(), dc.clone()], None, XpPolicy::Sum).unwrap()
    else {
        panic!("a merge");
    };
    assert_eq!((into, from), (dc.id, vec![tg.id]), "the oldest account survives");
    // Two accounts that already hold different Telegram ids cannot become one.
    let other = account(Some("2"), Some("7"), None, 0);
    assert!(
        plan(&web, &[tg, other], None, XpPolicy::Sum)
            .unwrap_err()
            .contains("conflicting telegram ids")
    );
}
