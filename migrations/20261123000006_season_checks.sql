-- A user's season must exist. A foreign key checks that with a lookup per inserted user (6 of
-- a million-user import's seconds). Seasons are never deleted (guarded below) and their ids
-- are identities that cannot be changed, so it is enough to check inserted users once per
-- statement and a season that changes on its row.
ALTER TABLE unified_users DROP CONSTRAINT unified_users_season_id_fkey;

CREATE FUNCTION unified_users_seasons_exist() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT EXISTS (SELECT 1 FROM seasons s WHERE s.id = n.season_id)) THEN
        RAISE EXCEPTION 'a user names a season that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'unified_users';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER unified_users_seasons_inserted
    AFTER INSERT ON unified_users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION unified_users_seasons_exist();

CREATE FUNCTION unified_users_season_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM seasons WHERE id = NEW.season_id) THEN
        RAISE EXCEPTION 'a user names a season that does not exist'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'unified_users';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER unified_users_season_changed
    BEFORE UPDATE ON unified_users
    FOR EACH ROW WHEN (OLD.season_id IS DISTINCT FROM NEW.season_id)
    EXECUTE FUNCTION unified_users_season_exists();

CREATE FUNCTION seasons_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'seasons are never deleted' USING ERRCODE = 'foreign_key_violation';
END
$$;
CREATE TRIGGER seasons_not_deleted
    BEFORE DELETE OR TRUNCATE ON seasons
    FOR EACH STATEMENT EXECUTE FUNCTION seasons_kept();
