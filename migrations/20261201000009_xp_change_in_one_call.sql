-- An XP change in one call: the common case of `awardXp` and of the activity mutations
-- (`recordGame`, `recordVoiceTime`, `recordMessage`) as a single statement, so it costs one
-- round trip instead of eight or more. It takes the same steps in the same order as the
-- service's unit of work (hold the season, queue on and lock the user, answer a used
-- idempotency key, count the activity, apply the XP, write the `xp_change` event and the
-- activity's event, store the result under the key) and, inside a function, each statement
-- sees what committed before it ran, as separate statements would.
--
-- Anything else returns NULL having written nothing, and the caller takes the full path: an
-- unknown user (maybe just merged away), a used idempotency key (a replay or a conflict), a
-- change of rank, an achievement earned and not held, a boost in force on a gain, an award of
-- 0, a total past the Int range, a message clock that went backwards. Those checks may say
-- "maybe" but never miss: a NULL is always safe.
--
-- p_user_id, or p_platform with p_external, names the user. p_source NULL means the user's
-- primary platform. p_xp is the XP asked for before boosts; a message earns it only outside
-- its cooldown (p_cooldown_ms, NULL for anything but a message), measured from p_now, the
-- caller's clock, which becomes the cooldown's start when it earns. p_activity NULL is an
-- award; otherwise it names the activity's event, whose data (p_data) gets the XP applied
-- (and, for a message, whether it fell in the cooldown).
-- p_event_ids are the ids of the `xp_change` event and the activity's. The achievement
-- catalog comes as parallel arrays of code, column and threshold (a tier as the lowest rank
-- id of that tier), as the seed import passes it.
CREATE FUNCTION ttfd_xp_change(
    p_user_id uuid, p_platform text, p_external text, p_xp int, p_reason text,
    p_source text, p_api_key uuid, p_event_ids uuid[],
    p_games int, p_wins int, p_voice int, p_messages int, p_cooldown_ms bigint, p_now timestamptz,
    p_activity text, p_data jsonb,
    p_codes text[], p_columns text[], p_thresholds int[],
    p_scope text, p_key text, p_operation text, p_fingerprint text
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    u unified_users%ROWTYPE;
    earns boolean;
    gain int;
    season int;
    season_xp bigint;
    new_xp bigint;
    applied int;
    new_rank int;
    source text;
    last_event jsonb;
    result jsonb;
BEGIN
    -- The season lock of `seasons::hold` ("ttfdseas").
    PERFORM pg_advisory_xact_lock_shared(8391444587316863347);
    IF p_user_id IS NOT NULL THEN
        SELECT * INTO u FROM unified_users WHERE id = p_user_id AND ttfd_lock_user(id) FOR UPDATE;
    ELSIF p_platform = 'telegram' THEN
        SELECT * INTO u FROM unified_users WHERE telegram_id = p_external AND ttfd_lock_user(id) FOR UPDATE;
    ELSIF p_platform = 'discord' THEN
        SELECT * INTO u FROM unified_users WHERE discord_id = p_external AND ttfd_lock_user(id) FOR UPDATE;
    ELSIF p_platform = 'website' THEN
        SELECT * INTO u FROM unified_users WHERE website_email = p_external AND ttfd_lock_user(id) FOR UPDATE;
    END IF;
    IF u.id IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_key IS NOT NULL AND EXISTS (
        SELECT 1 FROM idempotency_keys WHERE scope = p_scope AND key = p_key
    ) THEN
        RETURN NULL;
    END IF;
    IF p_cooldown_ms IS NOT NULL AND u.last_message_xp_at > p_now THEN
        RETURN NULL;
    END IF;
    earns := p_cooldown_ms IS NULL OR u.last_message_xp_at IS NULL
        OR p_now - u.last_message_xp_at >= p_cooldown_ms * interval '1 millisecond';
    gain := CASE WHEN earns THEN p_xp ELSE 0 END;
    IF gain > 0 AND EXISTS (
        SELECT 1 FROM xp_boosts
        WHERE (user_id IS NULL OR user_id = u.id) AND starts_at <= now() AND ends_at > now()
    ) THEN
        RETURN NULL;
    END IF;
    new_xp := greatest(u.xp::bigint + gain, 0);
    applied := new_xp - u.xp;
    SELECT id INTO season FROM seasons WHERE ended_at IS NULL;
    season_xp := CASE WHEN u.season_id = season THEN u.current_season_xp ELSE 0 END;
    IF (p_activity IS NULL AND applied = 0) OR new_xp > 2147483647
        OR season_xp + applied > 2147483647 THEN
        RETURN NULL;
    END IF;
    SELECT max(id) INTO new_rank FROM ranks WHERE required_xp <= new_xp;
    IF new_rank IS DISTINCT FROM u.rank_id THEN
        RETURN NULL;
    END IF;
    IF EXISTS (
        SELECT 1 FROM unnest(p_codes, p_columns, p_thresholds) AS a(code, col, n)
        WHERE CASE a.col WHEN 'games_played' THEN u.games_played::bigint + p_games
                WHEN 'games_won' THEN u.games_won::bigint + p_wins
                WHEN 'total_voice_time' THEN u.total_voice_time::bigint + p_voice
                WHEN 'messages_sent' THEN u.messages_sent::bigint + p_messages
                WHEN 'daily_streak' THEN u.daily_streak WHEN 'xp' THEN new_xp WHEN 'rank_id' THEN u.rank_id
            END >= a.n
        AND NOT EXISTS (
            SELECT 1 FROM user_achievements h WHERE h.user_id = u.id AND h.achievement_code = a.code
        )
    ) THEN
        RETURN NULL;
    END IF;

    -- An ended season's XP moves into its standings before the row leaves that season.
    INSERT INTO season_standings (season_id, user_id, xp)
    SELECT u.season_id, u.id, u.current_season_xp
    WHERE u.season_id <> season AND u.current_season_xp > 0
    ON CONFLICT (season_id, user_id) DO NOTHING;
    UPDATE unified_users
    SET xp = new_xp, current_season_xp = greatest(season_xp + applied, 0), season_id = season,
        rewarded_rank_id = greatest(rewarded_rank_id, new_rank),
        games_played = games_played + p_games, games_won = games_won + p_wins,
        total_voice_time = total_voice_time + p_voice, messages_sent = messages_sent + p_messages,
        last_message_xp_at = CASE WHEN p_cooldown_ms IS NOT NULL AND earns THEN p_now
            ELSE last_message_xp_at END,
        last_active = now()
    WHERE id = u.id;
    source := coalesce(p_source, u.primary_platform);
    -- The events in the full path's order: the XP change, then the activity.
    IF applied <> 0 THEN
        INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data, api_key_id)
        VALUES (p_event_ids[1], u.id, 'xp_change', source,
            jsonb_build_object('delta', applied, 'xp', new_xp, 'previousXp', u.xp,
                'reason', p_reason, 'multiplier', '1.0'::jsonb),
            p_api_key)
        RETURNING jsonb_build_object('txid', txid, 'seq', seq) INTO last_event;
    END IF;
    IF p_activity IS NOT NULL THEN
        INSERT INTO cross_platform_events (id, user_id, event_type, source_platform, data, api_key_id)
        VALUES (p_event_ids[2], u.id, p_activity, source,
            p_data || jsonb_build_object('xp', applied)
                || CASE WHEN p_cooldown_ms IS NULL THEN '{}'::jsonb
                    ELSE jsonb_build_object('cooldown', NOT earns) END,
            p_api_key)
        RETURNING jsonb_build_object('txid', txid, 'seq', seq) INTO last_event;
    END IF;
    -- The shape of the service's `XpChange`, which a retry is answered with.
    result := jsonb_build_object('user_id', u.id, 'delta', applied, 'xp', new_xp, 'coins', u.coins,
        'old_rank_id', u.rank_id, 'new_rank_id', new_rank, 'reward_coins', 0,
        'ranks_crossed', '[]'::jsonb, 'achievements_unlocked', '[]'::jsonb,
        'event_cursor', last_event);
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response)
        VALUES (p_scope, p_key, p_operation, p_fingerprint, result);
    END IF;
    RETURN result;
END
$$;
