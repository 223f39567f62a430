-- The driver answered a check-in (app or SMS). need_help raises severity and pages the current step
-- again at once; under duress nothing the driver's phone says is taken as "safe" (the event says
-- underDuress). When cancelling was locked, the check-ins go on after the duress PIN as after the
-- cancel PIN, and the next is scheduled as for any answer, so that the phone sees the same thing;
-- the duress PIN has already paged everyone. p_cleaned names the free-text fields (`note`) the
-- caller cleaned of what PostgreSQL cannot store (recorded).

CREATE OR REPLACE FUNCTION checkin_receive(p_incident uuid, p_status text, p_via text, p_note text,
                                           p_actor text, p_cleaned text[] DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  inc incidents%ROWTYPE;
  interval_s integer;
BEGIN
  SELECT * INTO inc FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF inc.status = 'resolved' THEN
    RETURN 'resolved';
  END IF;
  SELECT check_in_seconds INTO interval_s FROM zones WHERE id = inc.zone_id;
  interval_s := coalesce(interval_s, 300);
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'checkin.received', p_actor, jsonb_strip_nulls(jsonb_build_object(
    'status', p_status, 'via', p_via, 'note', p_note, 'cleaned', to_jsonb(p_cleaned), 'seq', inc.checkin_seq,
    'answered', inc.checkin_due_at IS NOT NULL, 'underDuress', CASE WHEN inc.duress_at IS NOT NULL THEN true END)));
  IF inc.status IN ('open', 'acknowledged') AND (inc.duress_at IS NULL OR inc.cancel_locked_at IS NOT NULL) THEN
    UPDATE incidents SET checkin_due_at = NULL, checkin_next_at = now() + make_interval(secs => interval_s) WHERE id = p_incident;
  END IF;
  IF p_status = 'need_help' THEN
    PERFORM raise_severity(p_incident, CASE inc.severity WHEN 'medium' THEN 'high' ELSE 'critical' END, 'driver asked for help', p_actor);
    PERFORM repage(p_incident, inc.esc_step, 'need_help', now());
  END IF;
  RETURN inc.status;
END
$$;
