-- 012 an escalation claims the pages it queues: the step and the claim of its pages in one
-- transaction, as an SOS does (sql/011).
--
-- Why: the engine's tick escalated a batch of due incidents (escalate_due()), committed, and then
-- woke its sender, whose claim (claimPages()) was a second transaction, on the shared pool,
-- queued behind status callbacks and sends, before the first Twilio request of the step could
-- start. A step's pages are as urgent as an SOS's first ones: they go out because nobody
-- answered those.
--
-- escalate_due_and_claim() escalates exactly as escalate_due() does (each incident in its own
-- subtransaction, so one failure cannot hold back the others) and then claims, for the caller's
-- sender, each escalated incident's due pages (claim_incident_pages(), sql/011), up to
-- p_claim_max in all, under a lease of p_lease_seconds. A claim that fails leaves that
-- incident's pages queued and keeps its escalation. `unclaimed` says that pages of the incident
-- may still be queued (the claim failed or ran out of room), so the caller's sender should look.
-- A crash: the escalation and its claimed pages commit together or not at all; pages claimed by
-- an instance that died before sending them are settled when their lease runs out (outcome
-- unknown, then a new attempt), as any claimed page.

CREATE FUNCTION escalate_due_and_claim(p_at timestamptz, p_limit integer, p_lease_seconds integer, p_claim_max integer)
RETURNS TABLE (incident_id uuid, late_ms double precision, failed boolean, pages jsonb, unclaimed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_room integer := greatest(coalesce(p_claim_max, 0), 0);
BEGIN
  FOR r IN
    SELECT i.id, i.esc_next_at FROM incidents i
    WHERE i.status = 'open' AND i.esc_next_at <= p_at
    ORDER BY i.esc_next_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    incident_id := r.id;
    pages := '[]';
    BEGIN
      PERFORM escalate(r.id, p_at);
      late_ms := extract(epoch FROM (clock_timestamp() - r.esc_next_at)) * 1000; failed := false;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'escalation of % failed: %', r.id, SQLERRM;
      late_ms := NULL; failed := true;
    END;
    unclaimed := NOT failed;
    IF NOT failed AND v_room > 0 THEN
      BEGIN
        pages := claim_incident_pages(r.id, p_lease_seconds, v_room);
        unclaimed := jsonb_array_length(pages) >= v_room;
        v_room := v_room - jsonb_array_length(pages);
      EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'claim of the pages of escalated incident % failed (they stay queued): %', r.id, SQLERRM;
        pages := '[]';
      END;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
-- As escalate_due() (sql/007): one plan, kept, rather than a new one for every tick's arguments.
ALTER FUNCTION escalate_due_and_claim(timestamptz, integer, integer, integer) SET plan_cache_mode = force_generic_plan;
