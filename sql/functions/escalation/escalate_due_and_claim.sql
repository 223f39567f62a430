-- escalate_due() and, in the same transaction, the claim of the escalated incidents' due pages for
-- the caller's sender (up to p_claim_max, under a lease), so a step's pages go out as fast as an
-- SOS's. The claims share one subtransaction, to stay within PostgreSQL's cache of 64 per snapshot;
-- `unclaimed` says pages of the incident may still be queued, for the sender to look.

CREATE OR REPLACE FUNCTION escalate_due_and_claim(p_at timestamp with time zone, p_limit integer,
                                                  p_lease_seconds integer, p_claim_max integer)
RETURNS TABLE(incident_id uuid, late_ms double precision, failed boolean, pages jsonb,
              unclaimed boolean)
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
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
