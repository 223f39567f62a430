-- When the engine next has something to do: for one incident, or for every incident when
-- p_incident is null. That is the earliest of: its next escalation step, while nobody has
-- acknowledged; its next check-in request or check-in deadline, until it is resolved and never
-- after a duress PIN; a page waiting to be sent (a retry after backoff, voicemail or an unknown
-- outcome); a sender's lease running out. A page just queued and due at once is being sent by
-- whoever queued it, so it counts only 5 s after it was queued. The engine's tick(asOf) is what
-- acts on each: escalate_due_and_claim(), checkins_due(), and the sender's lease recovery and claim.
CREATE OR REPLACE FUNCTION next_due(p_incident uuid DEFAULT NULL) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- Each minimum stays an index lookup: a filter by incident is added only when one is named.
  RETURN least(
    (SELECT min(esc_next_at) FROM incidents
      WHERE status = 'open' AND esc_next_at IS NOT NULL AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(checkin_next_at) FROM incidents
      WHERE checkin_next_at IS NOT NULL AND status IN ('open', 'acknowledged') AND duress_at IS NULL
        AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(checkin_due_at) FROM incidents
      WHERE checkin_due_at IS NOT NULL AND status IN ('open', 'acknowledged') AND duress_at IS NULL
        AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(lease_until) FROM pages
      WHERE status = 'sending' AND (p_incident IS NULL OR incident_id = p_incident)),
    (SELECT min(CASE WHEN tries = 0 AND not_before <= created_at + interval '1 second'
                          AND created_at > now() - interval '5 seconds'
                     THEN created_at + interval '5 seconds' ELSE not_before END)
       FROM pages WHERE status = 'queued' AND (p_incident IS NULL OR incident_id = p_incident)));
END
$$;
