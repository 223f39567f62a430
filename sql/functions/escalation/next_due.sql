-- When the engine next has something to do: for one incident, or for every incident when
-- p_incident is null. That is the earliest of: its next escalation step, while nobody has
-- acknowledged; its next check-in request or check-in deadline, until it is resolved and never
-- after a duress PIN (unless cancelling was locked: then the check-ins go on, as after the cancel
-- PIN); a page waiting to be sent (a retry after backoff, voicemail or an unknown outcome); a
-- sender's lease running out; and, for all only, on-call readiness: a zone's next shift
-- start, and a readiness check's next step (ask, or page the safety leads after its grace). A
-- page just queued and due at once is being sent by whoever queued it, so it counts only 5 s
-- after it was queued. The engine's tick(asOf) is what
-- acts on each: escalate_due_and_claim(), checkins_due(), readiness_due(), and the sender's lease
-- recovery (expire_leases()) and claim.
--
-- Cost: the escalation, check-in, readiness and lease terms are each one index lookup (the
-- readiness ones on partial indexes of the rows that have a next step). The page terms read
-- the queued pages that are due (or nearly) in not_before order, and stop at the first that is
-- not in its grace: at most the pages the next tick sends anyway. Plans are made for each call
-- (force_custom_plan), so that one incident's call uses its pages' key and the global one the
-- partial indexes.
CREATE OR REPLACE FUNCTION next_due(p_incident uuid DEFAULT NULL) RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET plan_cache_mode TO 'force_custom_plan'
AS $$
BEGIN
  RETURN least(
    (SELECT min(esc_next_at) FROM incidents
      WHERE status = 'open' AND esc_next_at IS NOT NULL AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(checkin_next_at) FROM incidents
      WHERE checkin_next_at IS NOT NULL AND status IN ('open', 'acknowledged') AND (duress_at IS NULL OR cancel_locked_at IS NOT NULL)
        AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(checkin_due_at) FROM incidents
      WHERE checkin_due_at IS NOT NULL AND status IN ('open', 'acknowledged') AND (duress_at IS NULL OR cancel_locked_at IS NOT NULL)
        AND (p_incident IS NULL OR id = p_incident)),
    (SELECT min(next_at) FROM readiness_zones WHERE next_at IS NOT NULL AND p_incident IS NULL),
    (SELECT min(due_at) FROM readiness_checks WHERE due_at IS NOT NULL AND p_incident IS NULL),
    (SELECT min(lease_until) FROM pages
      WHERE status = 'sending' AND (p_incident IS NULL OR incident_id = p_incident)),
    -- The first queued page not in its grace, in the order the sender claims them.
    (SELECT not_before FROM pages
      WHERE status = 'queued' AND (p_incident IS NULL OR incident_id = p_incident)
        AND NOT (tries = 0 AND not_before <= created_at + interval '1 second'
                 AND created_at > now() - interval '5 seconds')
      ORDER BY not_before LIMIT 1),
    -- Pages in their grace: due 5 s after they were queued. Their not_before is at most 1 s
    -- after now, which bounds the scan to the pages that are due.
    (SELECT min(created_at) + interval '5 seconds' FROM pages
      WHERE status = 'queued' AND (p_incident IS NULL OR incident_id = p_incident)
        AND not_before <= now() + interval '1 second'
        AND tries = 0 AND not_before <= created_at + interval '1 second'
        AND created_at > now() - interval '5 seconds'));
END
$$;
