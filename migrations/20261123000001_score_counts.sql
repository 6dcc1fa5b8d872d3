-- Leaderboard positions without counting rows. A position is 1 + the number of users who
-- score strictly more, and counting them over the score index is O(users above): 1M index
-- entries for the last of a million users. Instead, users per score are kept at four levels
-- (the exact score, score >> 6, score >> 12, score >> 18), so "how many score more than s"
-- sums at most 63 rows per level below the top one, whatever the number of users.
--
-- Writers never touch the counts directly: every change to a user's score appends to
-- score_changes (insert-only, so concurrent awards never wait on a shared counter row), and
-- a background compactor folds those rows into score_counts. Readers add both tables in one
-- statement (src/db/scores.rs), so a position always matches the snapshot it is read in.
--
-- A board is 0 for all-time XP, else the season id of current_season_xp. Score 0 is never
-- counted: nobody is below it.

CREATE TABLE score_counts (
    board  integer  NOT NULL,
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    bucket integer  NOT NULL CHECK (bucket >= 0),  -- score >> (6 * level)
    users  bigint   NOT NULL,
    PRIMARY KEY (board, level, bucket)
);

CREATE TABLE score_changes (
    board integer NOT NULL,
    score integer NOT NULL CHECK (score > 0),
    users integer NOT NULL
);
CREATE INDEX score_changes_board_score_idx ON score_changes (board, score);
-- A queue emptied several times a second, which the compactor vacuums itself: never give
-- back its pages (that needs an exclusive lock, and they fill again at once).
ALTER TABLE score_changes SET (vacuum_truncate = false);

CREATE FUNCTION score_changes_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT board, score, count(*)
    FROM (SELECT 0, xp FROM new_rows WHERE xp > 0
          UNION ALL
          SELECT season_id, current_season_xp FROM new_rows WHERE current_season_xp > 0) s (board, score)
    GROUP BY board, score;
    RETURN NULL;
END
$$;

CREATE FUNCTION score_changes_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT board, score, sum(users)
    FROM (SELECT 0, xp, -1 FROM old_rows WHERE xp > 0
          UNION ALL
          SELECT 0, xp, 1 FROM new_rows WHERE xp > 0
          UNION ALL
          SELECT season_id, current_season_xp, -1 FROM old_rows WHERE current_season_xp > 0
          UNION ALL
          SELECT season_id, current_season_xp, 1 FROM new_rows WHERE current_season_xp > 0) s (board, score, users)
    GROUP BY board, score
    HAVING sum(users) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION score_changes_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT board, score, -count(*)
    FROM (SELECT 0, xp FROM old_rows WHERE xp > 0
          UNION ALL
          SELECT season_id, current_season_xp FROM old_rows WHERE current_season_xp > 0) s (board, score)
    GROUP BY board, score;
    RETURN NULL;
END
$$;

-- Statement-level with transition tables: a bulk statement (an import) writes one row per
-- distinct score, not one per user.
CREATE TRIGGER unified_users_scores_inserted
    AFTER INSERT ON unified_users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION score_changes_inserted();
CREATE TRIGGER unified_users_scores_updated
    AFTER UPDATE ON unified_users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION score_changes_updated();
CREATE TRIGGER unified_users_scores_deleted
    AFTER DELETE ON unified_users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION score_changes_deleted();

-- The users already there.
INSERT INTO score_counts (board, level, bucket, users)
SELECT board, l.level, s.score >> (6 * l.level), count(*)
FROM (SELECT 0, xp FROM unified_users WHERE xp > 0
      UNION ALL
      SELECT season_id, current_season_xp FROM unified_users WHERE current_season_xp > 0) s (board, score),
     (VALUES (0), (1), (2), (3)) l (level)
GROUP BY 1, 2, 3;
