-- Platform ids are canonical decimals: "123" and "0123" are one person, so a leading zero is
-- refused. NOT VALID: rows written before this rule are not re-checked (nothing rewrites
-- them), every new or changed row is.
ALTER TABLE unified_users
    ADD CONSTRAINT unified_users_canonical_ids
    CHECK (telegram_id !~ '^0' AND discord_id !~ '^0') NOT VALID;
