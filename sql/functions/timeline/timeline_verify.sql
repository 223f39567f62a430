-- Recomputes an incident's chain, every event's hash from its own fields and its predecessor's
-- hash, and checks the head against the last event. Answers whether it holds, the event count and
-- the head hash.

CREATE OR REPLACE FUNCTION timeline_verify(p_incident uuid)
RETURNS TABLE(valid boolean, event_count integer, head_hash text)
LANGUAGE sql
STABLE
AS $$
  WITH ev AS (
    SELECT e.*, lag(e.hash) OVER (ORDER BY e.seq) AS prior_hash, row_number() OVER (ORDER BY e.seq) AS n
    FROM incident_events e WHERE e.incident_id = p_incident
  )
  SELECT coalesce(bool_and(
           ev.seq = ev.n
           AND ev.prev_hash = coalesce(ev.prior_hash, repeat('0', 64))
           AND ev.hash = timeline_hash(ev.prev_hash, ev.incident_id, ev.seq, ev.type, ev.at, ev.actor, ev.data)), true)
         AND coalesce((SELECT h.hash = (SELECT e2.hash FROM incident_events e2 WHERE e2.incident_id = p_incident ORDER BY e2.seq DESC LIMIT 1)
                         AND h.seq = (SELECT count(*) FROM incident_events e3 WHERE e3.incident_id = p_incident)
                       FROM timeline_heads h WHERE h.incident_id = p_incident), count(*) = 0),
         count(*)::int,
         (SELECT e4.hash FROM incident_events e4 WHERE e4.incident_id = p_incident ORDER BY e4.seq DESC LIMIT 1)
  FROM ev
$$;
