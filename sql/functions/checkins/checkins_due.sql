-- The engine's check-in work: asks the driver when a check-in is due; records a missed one and
-- escalates again (the acknowledging responder and the next step, with the last known location).
-- None after a duress PIN, as after the cancel PIN; but when cancelling was locked, the cancel PIN
-- stops nothing, so the check-ins go on after either (a reply then is recorded underDuress).

CREATE OR REPLACE FUNCTION checkins_due(p_at timestamp with time zone, p_limit integer)
RETURNS TABLE(incident_id uuid, requested boolean, missed boolean)
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  inc incidents%ROWTYPE;
  grace_s integer;
  interval_s integer;
  driver uuid;
BEGIN
  FOR inc IN
    SELECT i.* FROM incidents i
    WHERE i.status IN ('open', 'acknowledged') AND (i.duress_at IS NULL OR i.cancel_locked_at IS NOT NULL)
      AND (i.checkin_next_at <= p_at OR i.checkin_due_at <= p_at)
    ORDER BY least(i.checkin_next_at, i.checkin_due_at)
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    SELECT coalesce(z.check_in_seconds, 300), coalesce(z.check_in_grace_seconds, 120) INTO interval_s, grace_s
    FROM (SELECT 1) one LEFT JOIN zones z ON z.id = inc.zone_id;
    incident_id := inc.id; requested := false; missed := false;
    IF inc.checkin_due_at <= p_at THEN
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (inc.id, 'checkin.missed', 'system', jsonb_build_object('seq', inc.checkin_seq, 'dueAt', inc.checkin_due_at));
      PERFORM repage(inc.id, inc.esc_step + 1, 'checkin_missed', p_at);
      UPDATE incidents SET checkin_due_at = NULL, checkin_next_at = p_at + make_interval(secs => interval_s) WHERE id = inc.id;
      missed := true;
    ELSIF inc.checkin_next_at <= p_at THEN
      driver := inc.driver_id;
      UPDATE incidents SET checkin_seq = checkin_seq + 1, checkin_next_at = NULL,
             checkin_due_at = p_at + make_interval(secs => grace_s)
      WHERE id = inc.id;
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (inc.id, 'checkin.requested', 'system', jsonb_build_object(
        'seq', inc.checkin_seq + 1, 'dueAt', p_at + make_interval(secs => grace_s), 'channels', '["sms", "app"]'::jsonb));
      PERFORM queue_pages(inc.id, ARRAY[driver], ARRAY['sms'], 'checkin', inc.checkin_seq + 1, 0, p_at);
      requested := true;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;
