-- An ended season's final standings are its season_standings rows plus the user rows not moved
-- there yet. Counting season_standings on the season's board as well makes that board hold
-- exactly those standings (a user's move from row to standings adds and removes the same
-- score), so a final position is a sum over score_counts, as on the live boards, instead of a
-- count over the season's users.

CREATE FUNCTION season_standings_scores_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT season_id, xp, count(*) FROM new_rows GROUP BY season_id, xp;
    RETURN NULL;
END
$$;

CREATE FUNCTION season_standings_scores_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT board, score, sum(users)
    FROM (SELECT season_id, xp, -1 FROM old_rows
          UNION ALL
          SELECT season_id, xp, 1 FROM new_rows) s (board, score, users)
    GROUP BY board, score
    HAVING sum(users) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION season_standings_scores_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_changes (board, score, users)
    SELECT season_id, xp, -count(*) FROM old_rows GROUP BY season_id, xp;
    RETURN NULL;
END
$$;

CREATE TRIGGER season_standings_scores_inserted
    AFTER INSERT ON season_standings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION season_standings_scores_inserted();
CREATE TRIGGER season_standings_scores_updated
    AFTER UPDATE ON season_standings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION season_standings_scores_updated();
CREATE TRIGGER season_standings_scores_deleted
    AFTER DELETE ON season_standings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION season_standings_scores_deleted();

-- The standings already there (the triggers above hold the table's lock until this commits,
-- so no row is counted twice or missed).
INSERT INTO score_changes (board, score, users)
SELECT season_id, xp, count(*) FROM season_standings GROUP BY season_id, xp;

-- A profile reads a user's standings, and deleting a merged user cascades to them: both look
-- a user up, which the (season, user) key cannot do.
CREATE INDEX season_standings_user_idx ON season_standings (user_id);
