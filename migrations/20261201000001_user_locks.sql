-- Each user's change queue. Every transaction that writes a user's events takes this lock
-- before the user's row lock. A row lock that has to wait is given a transaction id before
-- it waits, so two writers queued on one row could get their ids (the event log's order) in
-- the opposite order to the one they change the user in. Advisory locks take no transaction
-- id: queued here, writers get their ids in the order the lock grants them.
CREATE FUNCTION ttfd_lock_user(id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1, hashtext(id::text));
    RETURN true;
END
$$;
