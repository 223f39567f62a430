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
-- sender, the escalated incidents' due pages (claim_incident_pages(), sql/011), in their order,
-- up to p_claim_max in all, under a lease of p_lease_seconds. The claims share one more
-- subtransaction, not one each: a transaction keeps at most 64 subtransactions in its snapshot
-- cache, past which every other session's snapshots overflow to pg_subtrans, and a full batch
-- of 50 already has 50. A claim that fails leaves the batch's pages queued and keeps the
-- escalations. `unclaimed` says that pages of the incident may still be queued (the claims
-- failed or ran out of room), so the caller's sender should look.
-- A crash: the escalation and its claimed pages commit together or not at all; pages claimed by
-- an instance that died before sending them are settled when their lease runs out (outcome
-- unknown, then a new attempt), as any claimed page.

CREATE FUNCTION escalate_due_and_claim(p_at timestamptz, p_limit integer, p_lease_seconds integer, p_claim_max integer)
RETURNS TABLE (incident_id uuid, late_ms double precision, failed boolean, pages jsonb, unclaimed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_ids uuid[] := '{}';
  v_late double precision[] := '{}';
  v_failed boolean[] := '{}';
  v_pages jsonb[];
  v_left boolean[];
  v_room integer := greatest(coalesce(p_claim_max, 0), 0);
  v_claimed jsonb;
  n integer;
BEGIN
  FOR r IN
    SELECT x.id, x.esc_next_at FROM incidents x
    WHERE x.status = 'open' AND x.esc_next_at <= p_at
    ORDER BY x.esc_next_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    BEGIN
      PERFORM escalate(r.id, p_at);
      v_late := v_late || extract(epoch FROM (clock_timestamp() - r.esc_next_at)) * 1000;
      v_failed := v_failed || false;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'escalation of % failed: %', r.id, SQLERRM;
      v_late := v_late || NULL::double precision;
      v_failed := v_failed || true;
    END;
    v_ids := v_ids || r.id;
  END LOOP;

  -- The claims, in the batch's order, in one subtransaction (see above). Until an incident's
  -- pages are claimed, they may be left queued (`unclaimed`); a failed escalation left none.
  n := cardinality(v_ids);
  v_pages := array_fill('[]'::jsonb, ARRAY[n]);
  v_left := array_fill(false, ARRAY[n]);
  FOR i IN 1 .. n LOOP
    v_left[i] := NOT v_failed[i];
  END LOOP;
  BEGIN
    FOR i IN 1 .. n LOOP
      CONTINUE WHEN v_failed[i];
      EXIT WHEN v_room <= 0;
      v_claimed := claim_incident_pages(v_ids[i], p_lease_seconds, v_room);
      v_pages[i] := v_claimed;
      v_left[i] := jsonb_array_length(v_claimed) >= v_room;
      v_room := v_room - jsonb_array_length(v_claimed);
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'claim of the pages of escalated incidents failed (they stay queued): %', SQLERRM;
    v_pages := array_fill('[]'::jsonb, ARRAY[n]);
    FOR i IN 1 .. n LOOP
      v_left[i] := NOT v_failed[i];
    END LOOP;
  END;

  RETURN QUERY
  SELECT x.id, x.late, x.failed, x.pages, x.left_over
  FROM unnest(v_ids, v_late, v_failed, v_pages, v_left) AS x(id, late, failed, pages, left_over);
END
$$;
-- As escalate_due() (sql/007): one plan, kept, rather than a new one for every tick's arguments.
ALTER FUNCTION escalate_due_and_claim(timestamptz, integer, integer, integer) SET plan_cache_mode = force_generic_plan;
