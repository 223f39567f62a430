-- 004 lifecycle: check-ins, cancel with PIN and duress, SMS SOS, support requests linked to
-- incidents.

ALTER TABLE incident_events DROP CONSTRAINT incident_events_type_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_type_check CHECK (type IN (
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted',
  'support.linked', 'notice.queued'));

ALTER TABLE incidents
  -- Check-ins: the next request to the driver (the first soon after the SOS), and the deadline
  -- of the one outstanding. Both null once the incident is cancelled or resolved.
  ADD COLUMN checkin_next_at  timestamptz DEFAULT date_trunc('milliseconds', now()) + interval '30 seconds',
  ADD COLUMN checkin_due_at   timestamptz,
  ADD COLUMN checkin_seq      integer NOT NULL DEFAULT 0,
  ADD COLUMN repage_seq       integer NOT NULL DEFAULT 0,
  ADD COLUMN cancel_failures  integer NOT NULL DEFAULT 0,
  ADD COLUMN cancel_locked_at timestamptz,
  -- Duress: when it was triggered, and the incident as the driver must keep seeing it (cancelled).
  ADD COLUMN duress_at        timestamptz,
  ADD COLUMN driver_view      jsonb;
CREATE INDEX incidents_checkin_next_idx ON incidents (checkin_next_at)
  WHERE checkin_next_at IS NOT NULL AND status IN ('open', 'acknowledged') AND duress_at IS NULL;
CREATE INDEX incidents_checkin_due_idx ON incidents (checkin_due_at)
  WHERE checkin_due_at IS NOT NULL AND status IN ('open', 'acknowledged') AND duress_at IS NULL;

-- medium < high < critical
CREATE FUNCTION severity_rank(p text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE p WHEN 'critical' THEN 3 WHEN 'high' THEN 2 ELSE 1 END $$;

CREATE FUNCTION raise_severity(p_incident uuid, p_to text, p_reason text, p_actor text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_from text;
BEGIN
  SELECT severity INTO v_from FROM incidents WHERE id = p_incident;
  IF severity_rank(p_to) > severity_rank(v_from) THEN
    UPDATE incidents SET severity = p_to WHERE id = p_incident;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'incident.severity_raised', p_actor, jsonb_build_object('from', v_from, 'to', p_to, 'reason', p_reason));
  END IF;
END
$$;

-- Page out of turn: the acknowledging responder (if any) and the recipients of escalation step
-- p_step (clamped to the policy), by SMS and voice, with a note saying why.
CREATE FUNCTION repage(p_incident uuid, p_step integer, p_note text, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  inc incidents%ROWTYPE;
  policy jsonb;
  n integer;
  who uuid[];
BEGIN
  UPDATE incidents SET repage_seq = repage_seq + 1 WHERE id = p_incident RETURNING * INTO inc;
  SELECT z.escalation_policy INTO policy FROM zones z WHERE z.id = inc.zone_id;
  policy := coalesce(policy, default_escalation_policy());
  n := jsonb_array_length(policy -> 'steps');
  SELECT array_agg(DISTINCT x) INTO who FROM (
    SELECT inc.acknowledged_by AS x WHERE inc.acknowledged_by IS NOT NULL
    UNION SELECT r.recipient_id FROM step_recipients(inc.zone_id, policy -> 'steps' -> greatest(0, least(p_step, n - 1)) -> 'notify', p_at) r
  ) q;
  IF who IS NULL THEN
    SELECT array_agg(id) INTO who FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
  END IF;
  IF who IS NULL THEN
    RETURN 0;
  END IF;
  RETURN queue_pages(p_incident, who, ARRAY['sms', 'voice'], 'repage', greatest(0, least(p_step, n - 1)), inc.repage_seq, p_at, 1, 0, p_note);
END
$$;

-- The driver answered a check-in (app or SMS). need_help raises severity and pages the current
-- step again at once. Under duress nothing the driver's phone says is taken as "safe".
CREATE FUNCTION checkin_receive(p_incident uuid, p_status text, p_via text, p_note text, p_actor text)
RETURNS text
LANGUAGE plpgsql AS $$
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
    'status', p_status, 'via', p_via, 'note', p_note, 'seq', inc.checkin_seq,
    'answered', inc.checkin_due_at IS NOT NULL, 'underDuress', CASE WHEN inc.duress_at IS NOT NULL THEN true END)));
  IF inc.status IN ('open', 'acknowledged') AND inc.duress_at IS NULL THEN
    UPDATE incidents SET checkin_due_at = NULL, checkin_next_at = now() + make_interval(secs => interval_s) WHERE id = p_incident;
  END IF;
  IF p_status = 'need_help' THEN
    PERFORM raise_severity(p_incident, CASE inc.severity WHEN 'medium' THEN 'high' ELSE 'critical' END, 'driver asked for help', p_actor);
    PERFORM repage(p_incident, inc.esc_step, 'need_help', now());
  END IF;
  RETURN inc.status;
END
$$;

-- The engine's check-in work: ask the driver when a check-in is due; record a missed one and
-- re-escalate (the acknowledging responder and the next step, with the last known location).
CREATE FUNCTION checkins_due(p_at timestamptz, p_limit integer)
RETURNS TABLE (incident_id uuid, requested boolean, missed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  inc incidents%ROWTYPE;
  grace_s integer;
  interval_s integer;
  driver uuid;
BEGIN
  FOR inc IN
    SELECT i.* FROM incidents i
    WHERE i.status IN ('open', 'acknowledged') AND i.duress_at IS NULL
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

-- A cancel from the driver's app, after the PIN was checked against both hashes (always both,
-- so the time taken says nothing). p_outcome: 'cancel' (the cancel PIN), 'duress' (the duress
-- PIN) or 'wrong'. Answers what the DRIVER may be told: 'cancelled', 'wrong', 'locked',
-- 'already' or 'resolved'. A duress PIN answers exactly what the cancel PIN would have.
CREATE FUNCTION cancel_incident(p_incident uuid, p_outcome text, p_actor text) RETURNS text
LANGUAGE plpgsql AS $$
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
    UPDATE incidents SET duress_at = now(), checkin_next_at = NULL, checkin_due_at = NULL,
           driver_view = to_jsonb(inc) || jsonb_build_object('status', 'cancel_requested', 'checkin_next_at', NULL, 'checkin_due_at', NULL),
           status = CASE WHEN inc.status = 'cancel_requested' THEN 'open' ELSE inc.status END,
           esc_next_at = CASE WHEN inc.status = 'cancel_requested' THEN now() ELSE inc.esc_next_at END
    WHERE id = p_incident;
    -- As after a real cancel, nothing more goes to the driver's phone (it may not be theirs now).
    UPDATE pages SET status = 'canceled' WHERE incident_id = p_incident AND status = 'queued' AND purpose = 'checkin';
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
    RETURN CASE WHEN inc.cancel_locked_at IS NOT NULL THEN 'locked'
                WHEN inc.status = 'cancel_requested' THEN 'already' ELSE 'cancelled' END;
  END IF;

  IF inc.status = 'cancel_requested' OR inc.duress_at IS NOT NULL THEN
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
