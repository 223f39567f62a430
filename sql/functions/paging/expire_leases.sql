-- Pages whose sender can no longer be sending them: its lease ran out (no heartbeat renewed it),
-- or it names an owner whose advisory lock is gone (the process died, so its connections
-- closed). Each becomes an unknown outcome, sent again after p_delay_seconds (reason
-- sender_stopped). Answers how many were settled.

CREATE OR REPLACE FUNCTION expire_leases(p_delay_seconds double precision, p_max_attempts integer,
                                         p_limit integer DEFAULT 500)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  n integer;
BEGIN
  WITH live AS (
    SELECT l.objid FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = 19801 AND l.objsubid = 2 AND l.granted
  ), due AS (
    SELECT p.id FROM pages p
    WHERE p.status = 'sending'
      AND (p.lease_until < now()
           OR (p.lease_owner IS NOT NULL AND sender_lock_key(p.lease_owner)::oid NOT IN (SELECT objid FROM live)))
    ORDER BY p.lease_until
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  )
  SELECT count(page_unknown(id, 'sender stopped while sending', p_delay_seconds, p_max_attempts, 'sender_stopped'))
  INTO n FROM due;
  RETURN n;
END
$$;
