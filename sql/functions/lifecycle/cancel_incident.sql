-- A cancel from the driver's app, after the PIN was checked against both hashes. p_outcome is
-- 'cancel', 'duress' or 'wrong'; answers what the driver may be told ('cancelled', 'wrong',
-- 'locked', 'already' or 'resolved'), and a duress PIN answers exactly what the cancel PIN would.

CREATE OR REPLACE FUNCTION cancel_incident(p_incident uuid, p_outcome text, p_actor text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  inc incidents%ROWTYPE;
  notify uuid[];
  leads_and_sups uuid[];
BEGIN
  SELECT * INTO inc FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF inc.status = 'resolved' THEN
    RETURN 'resolved';
  END IF;

  IF p_outcome = 'duress' AND inc.duress_at IS NULL THEN
    -- What the driver keeps seeing: the incident as a real cancel would have left it.
    -- After a real cancel the incident is live again (escalation resumes), whatever the driver sees.
    -- Cancelling locked, the cancel PIN changes nothing, so neither do the check-ins here.
    UPDATE incidents SET duress_at = now(),
           checkin_next_at = CASE WHEN inc.cancel_locked_at IS NULL THEN NULL ELSE inc.checkin_next_at END,
           checkin_due_at = CASE WHEN inc.cancel_locked_at IS NULL THEN NULL ELSE inc.checkin_due_at END,
           driver_view = to_jsonb(inc) || jsonb_build_object('status', 'cancel_requested', 'checkin_next_at', NULL, 'checkin_due_at', NULL),
           status = CASE WHEN inc.status = 'cancel_requested' THEN 'open' ELSE inc.status END,
           esc_next_at = CASE WHEN inc.status = 'cancel_requested' THEN now() ELSE inc.esc_next_at END
    WHERE id = p_incident;
    -- As after a real cancel, nothing more goes to the driver's phone (it may not be theirs now);
    -- but for a locked cancel, which stops nothing.
    UPDATE pages SET status = 'canceled'
    WHERE incident_id = p_incident AND status = 'queued' AND purpose = 'checkin' AND inc.cancel_locked_at IS NULL;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'duress.triggered', p_actor, jsonb_build_object(
      'statusBefore', inc.status, 'cancelLocked', inc.cancel_locked_at IS NOT NULL));
    PERFORM raise_severity(p_incident, 'critical', 'duress PIN', p_actor);
    SELECT array_agg(DISTINCT u.id) INTO leads_and_sups FROM users u
    WHERE u.phone IS NOT NULL AND (u.role = 'safety_lead'
       OR (u.role = 'supervisor' AND EXISTS (SELECT 1 FROM responder_zones rz WHERE rz.responder_id = u.id AND rz.zone_id = inc.zone_id)));
    IF leads_and_sups IS NOT NULL THEN
      PERFORM queue_pages(p_incident, leads_and_sups, ARRAY['sms', 'voice'], 'duress', 0, 0, now(), 1, 0, 'duress');
    END IF;
    -- The emergency dispatch goes on as if nothing was pressed: a cancel the real PIN asked for
    -- before (its alarm perhaps still being created) is called off.
    UPDATE dispatches SET cancel_wanted_at = NULL
    WHERE incident_id = p_incident AND status IN ('requested', 'active', 'psap_contacted');
    -- One the real PIN already cancelled cannot be: the safety leads are told to request again.
    PERFORM dispatch_cancelled_then_duress(d.id) FROM dispatches d
    WHERE d.incident_id = p_incident AND d.status = 'canceled' AND d.cancel_wanted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM dispatches l WHERE l.incident_id = p_incident AND l.requested_at > d.requested_at);
    RETURN CASE WHEN inc.cancel_locked_at IS NOT NULL THEN 'locked'
                WHEN inc.status = 'cancel_requested' THEN 'already' ELSE 'cancelled' END;
  END IF;

  -- After the duress PIN the incident answers as the real cancel left it: 'already', or 'locked'
  -- when cancelling was locked (the cancel PIN changed nothing then either).
  IF inc.status = 'cancel_requested' OR (inc.duress_at IS NOT NULL AND inc.cancel_locked_at IS NULL) THEN
    RETURN 'already';
  END IF;
  IF inc.cancel_locked_at IS NOT NULL THEN
    RETURN 'locked';
  END IF;

  IF p_outcome = 'wrong' THEN
    UPDATE incidents SET cancel_failures = cancel_failures + 1,
           cancel_locked_at = CASE WHEN cancel_failures + 1 >= 5 THEN now() END
    WHERE id = p_incident;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'cancel.rejected', p_actor, jsonb_build_object('attempt', inc.cancel_failures + 1));
    IF inc.cancel_failures + 1 >= 5 THEN
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (p_incident, 'cancel.locked', 'system', jsonb_build_object('afterAttempts', inc.cancel_failures + 1));
      RETURN 'locked';
    END IF;
    RETURN 'wrong';
  END IF;

  -- The cancel PIN: escalation and check-ins stop; whoever was paged is told; a responder resolves it.
  UPDATE incidents SET status = 'cancel_requested', esc_next_at = NULL, checkin_next_at = NULL, checkin_due_at = NULL
  WHERE id = p_incident;
  -- A live emergency dispatch is to be cancelled too (never after the duress PIN, above).
  UPDATE dispatches SET cancel_wanted_at = now()
  WHERE incident_id = p_incident AND status IN ('requested', 'active', 'psap_contacted');
  UPDATE pages SET status = 'canceled'
  WHERE incident_id = p_incident AND status = 'queued' AND purpose IN ('page', 'failover', 'retry', 'repage', 'checkin');
  SELECT array_agg(DISTINCT recipient_id) INTO notify FROM pages
  WHERE incident_id = p_incident AND purpose <> 'checkin' AND status IN ('sent', 'delivered', 'voicemail', 'unknown');
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'cancel.requested', p_actor, jsonb_build_object('statusBefore', inc.status,
          'notified', coalesce(to_jsonb(notify), '[]'::jsonb)));
  IF notify IS NOT NULL THEN
    PERFORM queue_pages(p_incident, notify, ARRAY['sms'], 'notice', 0, 0, now(), 1, 0, 'cancelled');
  END IF;
  RETURN 'cancelled';
END
$$;
