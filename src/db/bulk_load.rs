//! An import's bulk load into an empty service: the per-row checks and index entries that cost
//! most are set aside while the rows go in, then rebuilt once over the whole set.
//!
//! Measured on a million seed rows, the foreign keys of the unlocks and events to their users
//! (a probe and a row lock per row: 12 s for 3 million unlocks, 5 s for a million events) and
//! the users' secondary indexes (random inserts into five B-trees) were most of the import. A
//! foreign key added to full tables is checked with one join, and an index built from the
//! whole table is one sort.
//!
//! Only when the users' table is empty: dropping a constraint locks its tables against reads
//! until the import commits. An empty service has nothing to read, and the import already
//! holds its writes back. The definitions come from the catalog and are put back as they were,
//! in the same transaction: a failed import leaves them untouched.

use sqlx::PgConnection;

use crate::error::AppResult;

/// The statements that put back what was set aside.
pub struct SetAside {
    restore: Vec<String>,
}

/// Sets aside the unlocks' and events' foreign keys and the users' secondary indexes and
/// unique constraints when the users' table is empty; `None` (nothing changed) otherwise.
/// Runs under the import's lock on `unified_users`, so the table stays empty.
pub async fn set_aside(tx: &mut PgConnection) -> AppResult<Option<SetAside>> {
    let empty: bool = sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM unified_users)")
        .fetch_one(&mut *tx)
        .await?;
    if !empty {
        return Ok(None);
    }
    sqlx::query(
        "LOCK TABLE unified_users, user_achievements, cross_platform_events IN ACCESS EXCLUSIVE MODE",
    )
    .execute(&mut *tx)
    .await?;
    // The rebuilds sort a million rows in memory.
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    let constraints: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid) \
         FROM pg_constraint c \
         WHERE (c.contype = 'f' AND c.conrelid IN ('user_achievements'::regclass, 'cross_platform_events'::regclass)) \
            OR (c.contype = 'u' AND c.conrelid = 'unified_users'::regclass) \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *tx)
    .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
         WHERE i.indrelid = 'unified_users'::regclass AND NOT i.indisprimary \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
         ORDER BY 1",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut restore = Vec::new();
    for (table, name, definition) in constraints {
        sqlx::query(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))
            .execute(&mut *tx)
            .await?;
        restore.push(format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"));
    }
    for (name, definition) in indexes {
        sqlx::query(&format!("DROP INDEX {name}"))
            .execute(&mut *tx)
            .await?;
        restore.push(definition);
    }
    Ok(Some(SetAside { restore }))
}

/// Puts back what `set_aside` took: the indexes are built and the foreign keys checked over
/// every row at once (a violation fails the import).
pub async fn restore(tx: &mut PgConnection, set: SetAside) -> AppResult<()> {
    for statement in set.restore {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    Ok(())
}
