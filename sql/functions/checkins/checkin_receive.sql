-- The driver answered a check-in (app or SMS). need_help raises severity and pages the current step
-- again at once. After a duress PIN the event says underDuress, for the responders not to trust
-- it; nothing else changes for them (the duress PIN paged everyone, made the incident critical and
-- escalation goes on). When cancelling was locked, the check-ins go on after the duress PIN as after
-- the cancel PIN and an answer schedules the next one, so that the phone sees the same thing; a
-- check-in answered so is therefore never missed. p_cleaned names the free-text fields (`note`) the
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
    -- After a duress PIN the driver's own view shows the severity the real PIN would have left,
    -- raised by this answer as the real one would be (the duress already made the real one critical).
    IF inc.driver_view IS NOT NULL THEN
      UPDATE incidents SET driver_view = driver_view || jsonb_build_object('severity',
             CASE driver_view ->> 'severity' WHEN 'medium' THEN 'high' ELSE 'critical' END)
      WHERE id = p_incident
        AND severity_rank(CASE driver_view ->> 'severity' WHEN 'medium' THEN 'high' ELSE 'critical' END) > severity_rank(driver_view ->> 'severity');
    END IF;
    PERFORM repage(p_incident, inc.esc_step, 'need_help', now());
  END IF;
  RETURN inc.status;
END
$$;
