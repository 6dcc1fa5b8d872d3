-- Rank changes in batches: `ttfd_xp_changes` (migration xp_changes_in_batches) applies a
-- change of rank too, as the full path does, instead of declining it: a gain that crosses
-- thresholds writes `rank_up` (every rank crossed, with the reward each paid: 0 for a rank whose
-- reward was paid before) and, when it pays, a `coins_change` with reason `rank_reward`; a loss
-- that lowers the rank writes `rank_down`. Under the award benchmark 1.6-2.5 % of awards crossed
-- a rank and took the full path after a declined call: the slowest requests.
--
-- It still declines an achievement earned and not held (now with the rank the change reaches)
-- and coins past the Int range. The events' ids come as one array, four per item, for the four
-- events an item may write, in the order written: `xp_change`, the rank's event, the reward's
-- `coins_change`, the activity's event. Everything else is as in xp_changes_in_batches, whose
-- comment says what each parameter is.
DROP FUNCTION ttfd_xp_changes(uuid[], text[], text[], text[], int[], text[], text[], uuid[],
    uuid[], uuid[], int[], int[], int[], int[], bigint[], timestamptz[], text[], jsonb[],
    text[], text[], text[], text[], text[], text[], int[]);

CREATE FUNCTION ttfd_xp_changes(
    p_ids uuid[], p_telegram text[], p_discord text[], p_email text[],
    p_xp int[], p_reasons text[], p_sources text[], p_api_keys uuid[],
    p_event_ids uuid[],
    p_games int[], p_wins int[], p_voice int[], p_messages int[], p_cooldown_ms bigint[],
    p_now timestamptz[], p_activities text[], p_data jsonb[],
    p_scopes text[], p_keys text[], p_operations text[], p_fingerprints text[],
    p_codes text[], p_columns text[], p_thresholds int[]
) RETURNS jsonb[]
LANGUAGE plpgsql VOLATILE
-- Plan each statement once per connection: a custom plan per call (the default for the first
-- calls, and kept while it looks cheaper) re-plans the batch statement every time, which cost
-- more than running it (pgbench, batches of 1: 700 calls/s against 1,300).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    queued uuid[];
    found_items bigint[];
    found_users unified_users[];
    results jsonb[];
BEGIN
    -- The season lock of `seasons::hold` ("ttfdseas").
    PERFORM pg_advisory_xact_lock_shared(8391444587316863347);
    -- First the users' change queues (`ttfd_lock_user`), in id order. Queue locks assign no
    -- transaction id, so taking them before the first row lock keeps the event log in each
    -- user's order. Only the first is waited for; the others are tried, and an item whose
    -- queue is busy gets no user (its caller takes the full path). So a batch never waits
    -- while it holds a queue, and cannot close a cycle with a merge, or with a full-path change
    -- that still holds the queue of an account merged away while it waited.
    SELECT coalesce(array_agg(q.id) FILTER (WHERE q.held), '{}') INTO queued
    FROM (
        SELECT q.id,
            CASE WHEN row_number() OVER (ORDER BY q.id) = 1 THEN ttfd_lock_user(q.id)
                -- The same key as `ttfd_lock_user` (migration user_locks), tried.
                ELSE pg_try_advisory_xact_lock(1, hashtext(q.id::text)) END AS held
        FROM (
            SELECT r.id
            FROM unnest(p_ids, p_telegram, p_discord, p_email) AS i (id, tg, dc, em)
            CROSS JOIN LATERAL (
                SELECT u.id FROM unified_users u
                WHERE u.id = i.id OR u.telegram_id = i.tg OR u.discord_id = i.dc OR u.website_email = i.em
            ) r
            GROUP BY r.id
        ) q
    ) q;
    -- Then the rows. A merge that moved an identity to a user whose queue this batch does not
    -- hold leaves that item without a user.
    SELECT coalesce(array_agg(s.n ORDER BY s.n), '{}'), coalesce(array_agg(s.u ORDER BY s.n), '{}')
    INTO found_items, found_users
    FROM (
        SELECT i.n, l.u
        FROM unnest(p_ids, p_telegram, p_discord, p_email) WITH ORDINALITY AS i (id, tg, dc, em, n)
        CROSS JOIN LATERAL (
            SELECT u FROM unified_users u
            WHERE (u.id = i.id OR u.telegram_id = i.tg OR u.discord_id = i.dc OR u.website_email = i.em)
              AND u.id = ANY (queued)
            FOR UPDATE
        ) l
    ) s;

    WITH item AS (
        SELECT *
        FROM unnest(p_xp, p_reasons, p_sources, p_api_keys,
                    p_games, p_wins, p_voice, p_messages, p_cooldown_ms, p_now, p_activities,
                    p_data, p_scopes, p_keys, p_operations, p_fingerprints)
            WITH ORDINALITY AS i (asked_xp, reason, source, api_key,
                    games, wins, voice, messages, cooldown_ms, now_at, activity,
                    data, scope, key, operation, fingerprint, n)
    ),
    season AS (SELECT id FROM seasons WHERE ended_at IS NULL),
    counted AS (
        SELECT i.*, f.*, s.id AS season, e.earns, x.new_xp, x.new_xp - f.xp AS applied,
            CASE WHEN f.season_id = s.id THEN f.current_season_xp ELSE 0 END AS season_xp,
            row_number() OVER (PARTITION BY f.id ORDER BY i.n) AS nth_of_user,
            row_number() OVER (PARTITION BY i.scope, i.key ORDER BY i.n) AS nth_of_key
        FROM item i
        -- A composite array unnests into its columns: the user's, after the item's number.
        JOIN unnest(found_items, found_users) AS f (item_n) ON f.item_n = i.n
        CROSS JOIN season s
        CROSS JOIN LATERAL (
            SELECT i.cooldown_ms IS NULL OR f.last_message_xp_at IS NULL
                OR i.now_at - f.last_message_xp_at >= i.cooldown_ms * interval '1 millisecond'
        ) e (earns)
        CROSS JOIN LATERAL (
            SELECT greatest(f.xp::bigint + CASE WHEN e.earns THEN i.asked_xp ELSE 0 END, 0)
        ) x (new_xp)
    ),
    plan AS (
        SELECT c.*, r.new_rank, up.reward, up.crossed, up.ranks_paid
        FROM counted c
        CROSS JOIN LATERAL (SELECT max(id) AS new_rank FROM ranks WHERE required_xp <= c.new_xp) r
        -- The ranks crossed upward, lowest first: each pays its reward unless it was paid before.
        -- As the `rank_up` event names them (crossed) and as the result lists them (ranks_paid).
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(k.paid), 0) AS reward,
                coalesce(jsonb_agg(jsonb_build_object('rankId', k.id, 'rankName', k.name,
                    'rewardCoins', k.paid) ORDER BY k.id), '[]') AS crossed,
                coalesce(jsonb_agg(jsonb_build_object('rank_id', k.id, 'reward_coins', k.paid)
                    ORDER BY k.id), '[]') AS ranks_paid
            FROM (
                SELECT k.id, k.name,
                    CASE WHEN k.id > c.rewarded_rank_id THEN k.reward_coins ELSE 0 END AS paid
                FROM ranks k WHERE k.id > c.rank_id AND k.id <= r.new_rank
            ) k
        ) up
        WHERE c.nth_of_user = 1
          AND (c.key IS NULL OR c.nth_of_key = 1)
          AND (c.cooldown_ms IS NOT NULL AND c.last_message_xp_at > c.now_at) IS NOT TRUE
          AND (c.activity IS NULL AND c.applied = 0) IS NOT TRUE
          AND c.new_xp <= 2147483647 AND c.season_xp + c.applied <= 2147483647
          AND r.new_rank IS NOT NULL AND c.coins + up.reward <= 2147483647
          -- A count, not EXISTS: a generic plan may turn EXISTS into a hash of the whole table.
          AND (SELECT count(*) FROM idempotency_keys k WHERE k.scope = c.scope AND k.key = c.key) = 0
          AND NOT (c.earns AND c.asked_xp > 0 AND EXISTS (
              SELECT 1 FROM xp_boosts b
              WHERE (b.user_id IS NULL OR b.user_id = c.id) AND b.starts_at <= now() AND b.ends_at > now()))
          AND NOT EXISTS (
              SELECT 1 FROM unnest(p_codes, p_columns, p_thresholds) AS a (code, col, n)
              WHERE CASE a.col WHEN 'games_played' THEN c.games_played::bigint + c.games
                      WHEN 'games_won' THEN c.games_won::bigint + c.wins
                      WHEN 'total_voice_time' THEN c.total_voice_time::bigint + c.voice
                      WHEN 'messages_sent' THEN c.messages_sent::bigint + c.messages
                      WHEN 'daily_streak' THEN c.daily_streak WHEN 'xp' THEN c.new_xp
                      WHEN 'rank_id' THEN r.new_rank
                  END >= a.n
              AND NOT EXISTS (
                  SELECT 1 FROM user_achievements h WHERE h.user_id = c.id AND h.achievement_code = a.code))
    ),
    -- An ended season's XP moves into its standings before the row leaves that season.
    archived AS (
        INSERT INTO season_standings (season_id, user_id, xp)
        SELECT p.season_id, p.id, p.current_season_xp FROM plan p
        WHERE p.season_id <> p.season AND p.current_season_xp > 0
        ON CONFLICT (season_id, user_id) DO NOTHING
    ),
    saved AS (
        UPDATE unified_users t
        SET xp = p.new_xp, rank_id = p.new_rank, coins = p.coins + p.reward::int,
            current_season_xp = greatest(p.season_xp + p.applied, 0),
            season_id = p.season, rewarded_rank_id = greatest(t.rewarded_rank_id, p.new_rank),
            games_played = t.games_played + p.games, games_won = t.games_won + p.wins,
            total_voice_time = t.total_voice_time + p.voice,
            messages_sent = t.messages_sent + p.messages,
            last_message_xp_at = CASE WHEN p.cooldown_ms IS NOT NULL AND p.earns THEN p.now_at
                ELSE t.last_message_xp_at END,
            last_active = now()
        FROM plan p
        WHERE t.id = p.id
    ),
    -- The events in the full path's order: each user's XP change, the change of rank, its
    -- reward, then the activity. Event k of item n has id p_event_ids[4 (n - 1) + k].
    events AS (
        SELECT p.n, e.k, p_event_ids[4 * (p.n - 1) + e.k] AS id, p.id AS user_id, e.event_type,
            coalesce(p.source, p.primary_platform) AS source, e.data, p.api_key
        FROM plan p
        CROSS JOIN LATERAL (VALUES
            (1, 'xp_change', jsonb_build_object('delta', p.applied, 'xp', p.new_xp,
                'previousXp', p.xp, 'reason', p.reason, 'multiplier', '1.0'::jsonb)),
            (2, CASE WHEN p.new_rank > p.rank_id THEN 'rank_up' ELSE 'rank_down' END,
                jsonb_build_object('oldRankId', p.rank_id,
                    'oldRankName', (SELECT name FROM ranks WHERE id = p.rank_id),
                    'rankId', p.new_rank, 'rankName', (SELECT name FROM ranks WHERE id = p.new_rank),
                    'xp', p.new_xp)
                || CASE WHEN p.new_rank > p.rank_id
                    THEN jsonb_build_object('rewardCoins', p.reward, 'ranksCrossed', p.crossed)
                    ELSE '{}'::jsonb END),
            (3, 'coins_change', jsonb_build_object('delta', p.reward, 'coins', p.coins + p.reward,
                'previousCoins', p.coins, 'reason', 'rank_reward')),
            (4, p.activity, p.data || jsonb_build_object('xp', p.applied)
                || CASE WHEN p.cooldown_ms IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('cooldown', NOT p.earns) END)
        ) e (k, event_type, data)
        WHERE CASE e.k WHEN 1 THEN p.applied <> 0 WHEN 2 THEN p.new_rank <> p.rank_id
            WHEN 3 THEN p.reward > 0 ELSE p.activity IS NOT NULL END
    ),
    written AS (
        INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data, api_key_id)
        SELECT e.id, e.user_id, e.event_type, e.source, e.data, e.api_key
        FROM events e
        ORDER BY e.n, e.k
        RETURNING id, txid, seq
    ),
    -- The shape of the service's `XpChange`, which a retry is answered with.
    result AS (
        SELECT p.n, p.scope, p.key, p.operation, p.fingerprint,
            jsonb_build_object('user_id', p.id, 'delta', p.applied, 'xp', p.new_xp,
                'coins', p.coins + p.reward, 'old_rank_id', p.rank_id, 'new_rank_id', p.new_rank,
                'reward_coins', p.reward,
                'ranks_crossed', p.ranks_paid,
                'achievements_unlocked', '[]'::jsonb,
                -- The item's last event.
                'event_cursor', (
                    SELECT jsonb_build_object('txid', w.txid, 'seq', w.seq) FROM written w
                    WHERE w.id = (SELECT e.id FROM events e WHERE e.n = p.n ORDER BY e.k DESC LIMIT 1)
                )) AS change
        FROM plan p
    ),
    kept AS (
        INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response)
        SELECT r.scope, r.key, r.operation, r.fingerprint, r.change FROM result r
        WHERE r.key IS NOT NULL
    )
    SELECT array_agg(r.change ORDER BY i.n) INTO results
    FROM item i LEFT JOIN result r ON r.n = i.n;
    RETURN results;
END
$$;
