-- Escalates every open incident whose deadline has passed, oldest first, each in its own
-- subtransaction so that one failure cannot hold back the others.

CREATE OR REPLACE FUNCTION escalate_due(p_at timestamp with time zone, p_limit integer)
RETURNS TABLE(incident_id uuid, late_ms double precision, failed boolean)
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT i.id, i.esc_next_at FROM incidents i
    WHERE i.status = 'open' AND i.esc_next_at <= p_at
    ORDER BY i.esc_next_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    BEGIN
      PERFORM escalate(r.id, p_at);
      incident_id := r.id; late_ms := extract(epoch FROM (clock_timestamp() - r.esc_next_at)) * 1000; failed := false;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'escalation of % failed: %', r.id, SQLERRM;
      incident_id := r.id; late_ms := NULL; failed := true;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;
