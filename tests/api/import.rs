//! `ttfd import`: the real binary against the test database, with small fixture files of each
//! platform and format; results read back through the API and the tables.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::{TestApp, url_of};

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Writes `text` to a file named `name` in a fresh directory and returns its path.
fn fixture(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttfd-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn import(app: &TestApp, args: &[&str], file: &std::path::Path) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.push(file.to_str().unwrap());
    ttfd_import(app, &all).await
}

/// `ttfd import ARGS` against the test database.
pub(crate) async fn ttfd_import(app: &TestApp, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
        .arg("import")
        .args(args)
        .env("DATABASE_URL", url_of(&app.db))
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every user row (but `last_active`) and the event count: what "changes nothing" compares.
async fn snapshot(app: &TestApp) -> (Vec<Value>, i64) {
    let rows: Vec<(Value,)> =
        sqlx::query_as("SELECT to_jsonb(u) - 'last_active' FROM unified_users u ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    (
        rows.into_iter().map(|r| r.0).collect(),
        app.count("cross_platform_events").await,
    )
}

const PROFILE: &str = "query($t: String!) { user(ref: {telegramId: $t}) {
    username displayName xp coins rank { id } gamesPlayed gamesWon dailyStreak platforms discordId websiteEmail createdAt } }";

const TELEGRAM_CSV: &str =
    "telegram_id,username,display_name,xp,coins,games_played,games_won,daily_streak,last_daily,created_at
1001,ann,Ann,1500,40,12,5,3,2024-03-01 08:30:00,2023-01-02
1002,bob,,90,0,1,0,0,,
";

#[tokio::test]
async fn telegram_csv_creates_accounts_with_recomputed_ranks_and_one_event_each() {
    let app = TestApp::start().await;
    let file = fixture("users.csv", TELEGRAM_CSV);
    let run = import(&app, &["telegram"], &file).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("2 rows: 2 created, 0 updated, 0 linked, 0 merged, 0 unchanged, 0 rejected (imported)"),
        "{}",
        run.stdout
    );
    let ann = app.ok(PROFILE, json!({"t": "1001"})).await["user"].clone();
    assert_eq!(ann["displayName"], "Ann");
    assert_eq!(
        (ann["xp"].as_i64(), ann["coins"].as_i64()),
        (Some(1500), Some(40)),
        "no rank reward paid"
    );
    assert_eq!(ann["rank"]["id"], 6, "E III: 1,300 <= 1,500 < 2,000");
    assert_eq!(
        (
            ann["gamesPlayed"].as_i64(),
            ann["gamesWon"].as_i64(),
            ann["dailyStreak"].as_i64()
        ),
        (Some(12), Some(5), Some(3))
    );
    assert!(ann["createdAt"].as_str().unwrap().starts_with("2023-01-02"));
    let bob = app.ok(PROFILE, json!({"t": "1002"})).await["user"].clone();
    assert_eq!(bob["displayName"], "bob", "display name defaults to the username");
    let types: Vec<String> = sqlx::query_scalar("SELECT event_type FROM cross_platform_events")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        types,
        vec!["imported", "imported"],
        "one summary event per user, no rank_up"
    );
    let event = app
        .ok("{ events(first: 5) { nodes { type data } } }", json!({}))
        .await["events"]["nodes"][0]
        .clone();
    assert_eq!(event["type"], "IMPORTED");
    assert_eq!(event["data"]["action"], "created");
}

#[tokio::test]
async fn json_lines_and_mee6_exports_import_discord_members() {
    let app = TestApp::start().await;
    let lines = fixture(
        "members.jsonl",
        "{\"discord_id\": \"80351110224678912\", \"username\": \"ann\", \"xp\": 700, \"voice_seconds\": 3600, \"messages_sent\": 42}\n\
         {\"discord_id\": 80351110224678913, \"username\": \"cid\", \"xp\": \"10\"}\n",
    );
    let run = import(&app, &["discord"], &lines).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let mee6 = fixture(
        "leaderboard.json",
        r#"{"page": 0, "players": [
            {"id": "80351110224678914", "username": "dan", "xp": 2500, "message_count": 900, "level": 12, "avatar": "x"},
            {"id": "80351110224678912", "username": "ann", "xp": 650, "message_count": 40}]}"#,
    );
    let run = import(&app, &["mee6"], &mee6).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("1 created, 1 updated"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("unknown columns"),
        "MEE6's own keys are expected: {}",
        run.stdout
    );
    let q = "query($d: String!) { user(ref: {discordId: $d}) { xp messagesSent totalVoiceTime } }";
    // MEE6 and the bot's export are two sources: by default their XP adds up.
    let ann = app.ok(q, json!({"d": "80351110224678912"})).await["user"].clone();
    assert_eq!(
        ann,
        json!({"xp": 1350, "messagesSent": 82, "totalVoiceTime": 3600})
    );
    let dan = app.ok(q, json!({"d": "80351110224678914"})).await["user"].clone();
    assert_eq!(dan["xp"], 2500);
}

#[tokio::test]
async fn website_rows_link_and_merge_accounts_across_files_and_a_rerun_changes_nothing() {
    let app = TestApp::start().await;
    let telegram = fixture("tg.csv", TELEGRAM_CSV);
    assert_eq!(import(&app, &["telegram"], &telegram).await.code, 0);
    let discord = fixture(
        "dc.csv",
        "discord_id,username,xp,voice_seconds\n80351110224678912,ann_dc,700,3600\n80351110224678913,cid,10,0\n",
    );
    assert_eq!(import(&app, &["discord"], &discord).await.code, 0);
    let website = fixture(
        "web.jsonl",
        "{\"email\": \"Ann@Example.com\", \"username\": \"ann\", \"telegram_id\": \"1001\", \"discord_id\": \"80351110224678912\", \"coins\": 5, \"created_at\": \"2022-12-01\"}\n\
         {\"email\": \"cid@example.com\", \"username\": \"cid\", \"discord_id\": \"80351110224678913\"}\n\
         {\"email\": \"dan@example.com\", \"username\": \"dan\"}\n",
    );
    let dry = import(&app, &["website", "--dry-run"], &website).await;
    assert_eq!(dry.code, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.contains("3 rows: 1 created, 0 updated, 1 linked, 1 merged, 0 unchanged, 0 rejected (dry run, nothing written)"),
        "{}",
        dry.stdout
    );
    let before = snapshot(&app).await;
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(app.count("unified_users").await, 4, "the dry run wrote nothing");

    let run = import(&app, &["website"], &website).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let ann = app.ok(PROFILE, json!({"t": "1001"})).await["user"].clone();
    assert_eq!(ann["platforms"], json!(["TELEGRAM", "DISCORD", "WEBSITE"]));
    assert_eq!(ann["websiteEmail"], "ann@example.com");
    assert_eq!(ann["xp"], 1500 + 700);
    assert_eq!(
        ann["coins"],
        40 + 5,
        "joining imported accounts pays no rank reward"
    );
    assert!(
        ann["createdAt"].as_str().unwrap().starts_with("2022-12-01"),
        "the earliest creation is kept"
    );
    assert_eq!(
        app.count("unified_users").await,
        4,
        "ann's two accounts became one, dan is new"
    );
    let cid: Value = app
        .ok(
            "{ user(ref: {websiteEmail: \"cid@example.com\"}) { discordId } }",
            json!({}),
        )
        .await;
    assert_eq!(cid["user"]["discordId"], "80351110224678913", "linked");

    // Every file again: nothing changes.
    let settled = snapshot(&app).await;
    for (source, file) in [
        ("telegram", &telegram),
        ("discord", &discord),
        ("website", &website),
    ] {
        let again = import(&app, &[source], file).await;
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
        assert!(
            again.stdout.contains(" 0 created, 0 updated, 0 linked, 0 merged"),
            "{source}: {}",
            again.stdout
        );
    }
    assert_eq!(snapshot(&app).await, settled);

    // A corrected file applies only the difference.
    let corrected = fixture(
        "tg.csv",
        &TELEGRAM_CSV.replace("1001,ann,Ann,1500", "1001,ann,Ann,1600"),
    );
    assert_eq!(import(&app, &["telegram"], &corrected).await.code, 0);
    assert_eq!(app.ok(PROFILE, json!({"t": "1001"})).await["user"]["xp"], 2300);
}

#[tokio::test]
async fn max_policy_keeps_the_larger_xp() {
    let app = TestApp::start().await;
    assert_eq!(
        import(&app, &["telegram"], &fixture("a.csv", TELEGRAM_CSV))
            .await
            .code,
        0
    );
    let web = fixture(
        "w.csv",
        "email,username,telegram_id,xp\nann@example.com,ann,1001,900\nbob@example.com,bob,1002,400\n",
    );
    let run = import(&app, &["website", "--xp", "max"], &web).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(app.ok(PROFILE, json!({"t": "1001"})).await["user"]["xp"], 1500);
    assert_eq!(app.ok(PROFILE, json!({"t": "1002"})).await["user"]["xp"], 400);
}

#[tokio::test]
async fn bad_rows_are_listed_with_their_lines_and_stop_the_import_unless_skipped() {
    let app = TestApp::start().await;
    let file = fixture(
        "bad.csv",
        "telegram_id,username,xp,coins,level\n\
         1,ann,10,0,3\n\
         ,nobody,5,0,1\n\
         2,bob,ten,0,1\n\
         3,cid,-5,0,1\n\
         1,ann_again,1,0,1\n\
         4,dan,5,0,1\n",
    );
    let run = import(&app, &["telegram"], &file).await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for expected in [
        "unknown columns (not imported): level",
        "rejected line 3: telegram_id is missing",
        "rejected line 4: xp is not a whole number (got \"ten\")",
        "rejected line 5: xp must not be negative (got -5)",
        "rejected line 6: duplicate telegram id 1 (first on line 2)",
    ] {
        assert!(
            run.stdout.contains(expected),
            "missing {expected:?} in {}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("nothing was imported"), "{}", run.stderr);
    assert_eq!(app.count("unified_users").await, 0);
    assert_eq!(app.count("import_sources").await, 0);

    let web = fixture(
        "bad.jsonl",
        "{\"email\": \"not an email\", \"username\": \"x\"}\n{\"email\": \"ok@example.com\", \"username\": \"ok\"}\n",
    );
    let run = import(&app, &["website"], &web).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stdout
            .contains("rejected line 1: email: websiteEmail must be a valid email address"),
        "{}",
        run.stdout
    );

    let run = import(&app, &["telegram", "--skip-invalid"], &file).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("6 rows: 2 created, 0 updated, 0 linked, 0 merged, 0 unchanged, 4 rejected (imported)"),
        "{}",
        run.stdout
    );
    assert_eq!(app.count("unified_users").await, 2);
}

/// Makes the database refuse a user named `boom`: one row failing in the middle of a bulk insert.
async fn refuse_user_named_boom(app: &TestApp) {
    sqlx::query(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.username = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_boom BEFORE INSERT ON unified_users FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_row_failing_mid_write_leaves_nothing_behind() {
    let app = TestApp::start().await;
    app.telegram_user("1", "existing").await;
    let before = snapshot(&app).await;
    refuse_user_named_boom(&app).await;
    let file = fixture(
        "mid.csv",
        "telegram_id,username,xp\n1,existing,50\n10,a,1\n11,boom,2\n12,c,3\n",
    );
    let run = import(&app, &["telegram"], &file).await;
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        snapshot(&app).await,
        before,
        "no user created or updated, no event written"
    );
    assert_eq!(app.count("import_sources").await, 0);
}

#[tokio::test]
async fn a_file_without_a_required_column_or_format_is_refused() {
    let app = TestApp::start().await;
    let run = import(&app, &["discord"], &fixture("x.csv", "discord_id,xp\n1,2\n")).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("lacks the required column(s) username"),
        "{}",
        run.stderr
    );
    let run = import(
        &app,
        &["discord"],
        &fixture("x.txt", "discord_id,username\n1,a\n"),
    )
    .await;
    assert!(run.stderr.contains("--format"), "{}", run.stderr);
    let run = import(
        &app,
        &["discord", "--format", "csv"],
        &fixture("x.txt", "discord_id,username\n1,a\n"),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// An import racing a merge loses nothing: the import locks the users against writers before
/// it matches anything, so an account merged away meanwhile is never the target of an
/// update that silently misses. The merge is done in SQL inside a transaction the test holds
/// open, so the race happens every time: the import starts while the transaction holds the
/// account, and the merge commits while the import waits.
#[tokio::test]
async fn an_import_racing_a_merge_loses_no_xp() {
    let app = TestApp::start().await;
    let from = app.telegram_user("5001", "ann").await;
    let into = app
        .ok(
            "mutation { upsertUser(input: {platform: DISCORD, externalId: \"6001\", username: \"ann\"}) { id } }",
            json!({}),
        )
        .await["upsertUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut merge = app.pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM unified_users WHERE id = $1::uuid FOR UPDATE")
        .bind(&from)
        .execute(&mut *merge)
        .await
        .unwrap();
    let file = fixture("race.csv", "telegram_id,username,xp\n5001,ann,500\n");
    let importing = {
        let app_db = url_of(&app.db);
        tokio::spawn(async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_ttfd"))
                .args(["import", "telegram"])
                .arg(&file)
                .env("DATABASE_URL", app_db)
                .env("NO_COLOR", "1")
                .output()
                .await
                .unwrap()
        })
    };
    // Wait until the import waits on this transaction.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the import never waited");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The merge: the Telegram account folds into the Discord one and is removed.
    sqlx::query("DELETE FROM unified_users WHERE id = $1::uuid")
        .bind(&from)
        .execute(&mut *merge)
        .await
        .unwrap();
    sqlx::query("UPDATE unified_users SET telegram_id = '5001' WHERE id = $1::uuid")
        .bind(&into)
        .execute(&mut *merge)
        .await
        .unwrap();
    merge.commit().await.unwrap();
    let out = importing.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let user = app.ok(PROFILE, json!({ "t": "5001" })).await["user"].clone();
    assert_eq!(
        user["xp"], 500,
        "the imported XP landed on the surviving account: {user}"
    );
    assert_eq!(user["discordId"], "6001");
}

/// Imported counters already earn achievements: the import records them in its own
/// transaction, without rewards or per-achievement events, so the first live change pays
/// no backlog.
#[tokio::test]
async fn imported_accounts_hold_the_achievements_their_rows_earn() {
    let app = TestApp::start().await;
    let file = fixture(
        "earned.csv",
        "telegram_id,username,xp,coins,games_played,games_won\n7001,vet,7000,40,120,3\n7002,new,0,0,0,0\n",
    );
    let run = import(&app, &["telegram"], &file).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let held = "query($t: String!) { user(ref: {telegramId: $t}) { xp coins achievements { achievement { code } } } }";
    let vet = app.ok(held, json!({ "t": "7001" })).await["user"].clone();
    let mut codes: Vec<&str> = vet["achievements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["achievement"]["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, ["first_win", "hundred_games", "tier_c"]);
    assert_eq!(
        (&vet["xp"], &vet["coins"]),
        (&json!(7000), &json!(40)),
        "no rewards paid"
    );
    let newcomer = app.ok(held, json!({ "t": "7002" })).await["user"].clone();
    assert_eq!(newcomer["achievements"], json!([]));
    let unlocks = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM cross_platform_events WHERE event_type = 'achievement_unlock'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(unlocks().await, 0, "no per-achievement events");
    app.award("7001", 1).await;
    assert_eq!(unlocks().await, 0, "the first live change pays no backlog");
    let after = app.ok(held, json!({ "t": "7001" })).await["user"].clone();
    assert_eq!((&after["xp"], &after["coins"]), (&json!(7001), &json!(40)));
}

/// The definitions of the users', unlocks' and events' constraints and indexes, and their
/// object ids (a rebuilt one has a new id).
async fn schema_of_the_bulk_tables(app: &TestApp) -> (Vec<String>, Vec<u32>) {
    let rows: Vec<(String, sqlx::postgres::types::Oid)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid), c.oid \
         FROM pg_constraint c \
         WHERE c.conrelid IN ('unified_users'::regclass, 'user_achievements'::regclass, 'cross_platform_events'::regclass) \
         UNION ALL SELECT pg_get_indexdef(i.indexrelid), i.indexrelid FROM pg_index i \
         WHERE i.indrelid IN ('unified_users'::regclass, 'user_achievements'::regclass, 'cross_platform_events'::regclass) \
         ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter().map(|(d, oid)| (d, oid.0)).unzip()
}

/// What an import leaves, by Telegram id: every counter, rank, unlock and event of the
/// imported accounts (ids and times aside).
async fn imported_state(app: &TestApp) -> Vec<Value> {
    sqlx::query_scalar(
        "SELECT to_jsonb(u) - 'id' - 'last_active' - 'created_at' \
             || jsonb_build_object('unlocks', (SELECT jsonb_agg(a.achievement_code ORDER BY a.achievement_code) \
                 FROM user_achievements a WHERE a.user_id = u.id), \
               'events', (SELECT jsonb_agg(jsonb_build_object('type', e.event_type, 'data', e.data) ORDER BY e.txid, e.seq) \
                 FROM cross_platform_events e WHERE e.user_id = u.id)) \
         FROM unified_users u WHERE u.telegram_id LIKE '80%' ORDER BY u.telegram_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

const BULK_CSV: &str =
    "telegram_id,username,display_name,xp,coins,games_played,games_won,daily_streak,last_daily,created_at
8001,ann,Ann,7000,40,120,3,8,2024-03-01 08:30:00,2023-01-02
8002,bob,,90,0,1,0,0,,2023-01-03
8003,cid,Cid,2500,7,5,5,0,,2023-01-04
";

/// Into an empty service the import sets the unlocks' and events' foreign keys and the users'
/// secondary indexes aside and rebuilds them: afterwards every definition is as it was (the
/// objects are new), the keys hold again, and the accounts equal those the row-by-row path
/// writes into a service that already has a user.
#[tokio::test]
async fn an_import_into_an_empty_service_rebuilds_what_it_set_aside_and_writes_what_the_usual_path_does() {
    let empty = TestApp::start().await;
    let (definitions, ids) = schema_of_the_bulk_tables(&empty).await;
    let run = import(&empty, &["telegram"], &fixture("bulk.csv", BULK_CSV)).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (after, ids_after) = schema_of_the_bulk_tables(&empty).await;
    assert_eq!(after, definitions, "every constraint and index as it was");
    assert_ne!(ids_after, ids, "the bulk path rebuilt them");
    let orphan =
        sqlx::query("INSERT INTO user_achievements (user_id, achievement_code) VALUES ($1, 'first_win')")
            .bind(uuid::Uuid::new_v4())
            .execute(&empty.pool)
            .await
            .unwrap_err();
    assert_eq!(
        orphan.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23503"),
        "the unlocks' foreign key is back"
    );

    let used = TestApp::start().await;
    used.telegram_user("1", "already here").await;
    let (_, used_ids) = schema_of_the_bulk_tables(&used).await;
    let run = import(&used, &["telegram"], &fixture("bulk.csv", BULK_CSV)).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        schema_of_the_bulk_tables(&used).await.1,
        used_ids,
        "a service with users keeps its indexes and checks row by row"
    );
    let written = imported_state(&empty).await;
    assert_eq!(written.len(), 3);
    assert_eq!(written, imported_state(&used).await);
    assert_eq!(
        written[0]["unlocks"],
        json!(["first_win", "hundred_games", "tier_c", "week_streak"])
    );
}

/// A bulk import refused in the middle of its writes leaves no row and every constraint and
/// index it had set aside, untouched (the same objects).
#[tokio::test]
async fn a_bulk_import_failing_mid_write_leaves_the_schema_and_the_data_as_they_were() {
    let app = TestApp::start().await;
    refuse_user_named_boom(&app).await;
    let before = schema_of_the_bulk_tables(&app).await;
    let file = fixture("mid.csv", "telegram_id,username,xp\n10,a,1\n11,boom,2\n12,c,3\n");
    let run = import(&app, &["telegram"], &file).await;
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(schema_of_the_bulk_tables(&app).await, before);
    assert_eq!(app.count("unified_users").await, 0);
    assert_eq!(app.count("cross_platform_events").await, 0);
    assert_eq!(app.count("import_sources").await, 0);
}
