-- A user's rank ids are checked against the ladder's fixed range instead of by foreign key.
-- The ladder is data of the first migration: ids 1 to 20, all present (ranks' own CHECK), never
-- deleted. The foreign keys cost a lookup per row and per key; on a bulk import of a million
-- users, 12 of its seconds.
ALTER TABLE unified_users
    DROP CONSTRAINT unified_users_rank_id_fkey,
    DROP CONSTRAINT unified_users_rewarded_rank_id_fkey,
    ADD CONSTRAINT unified_users_rank_id_check CHECK (rank_id BETWEEN 1 AND 20),
    ADD CONSTRAINT unified_users_rewarded_rank_id_check CHECK (rewarded_rank_id BETWEEN 1 AND 20);
