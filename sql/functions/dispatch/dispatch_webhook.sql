-- One event from the dispatch center's webhook (or the simulator), kept once by its event_id.
-- p_type is psap_contacted, closed, canceled or other (p_center_type is the center's own name).
-- Events may come out of order: a dispatch closed or canceled stays so (a late psap_contacted is
-- recorded, never reopens it). The first psap_contacted of a live dispatch texts the supervisor
-- who acknowledged the incident. Answers 'recorded', 'duplicate', 'unknown_alarm' or 'ignored'.
-- An unknown alarm's event is not kept: its alarm may be one whose creation has not committed
-- yet, and the center's redelivery must then be taken, not dropped as a duplicate.

CREATE OR REPLACE FUNCTION dispatch_webhook(p_event_id text, p_type text, p_center_type text,
                                            p_at timestamp with time zone, p_alarm text, p_actor text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
  inc incidents%ROWTYPE;
  v_before text;
  v_after text;
  v_first boolean;
  v_round integer;
BEGIN
  SELECT * INTO d FROM dispatches WHERE alarm_id = p_alarm;
  IF NOT FOUND THEN
    RETURN 'unknown_alarm';
  END IF;
  -- Lock order: the incident, then the dispatch, then the timeline.
  SELECT * INTO inc FROM incidents WHERE id = d.incident_id FOR NO KEY UPDATE;
  SELECT * INTO d FROM dispatches WHERE id = d.id FOR UPDATE;
  INSERT INTO dispatch_webhook_events (event_id, dispatch_id, type, event_time) VALUES (p_event_id, d.id, p_center_type, p_at)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN 'duplicate';
  END IF;
  IF p_type NOT IN ('psap_contacted', 'closed', 'canceled') THEN
    RETURN 'ignored';
  END IF;
  v_before := d.status;
  v_after := CASE
    WHEN d.status NOT IN ('active', 'psap_contacted', 'requested') THEN d.status
    WHEN p_type = 'psap_contacted' THEN 'psap_contacted'
    ELSE p_type END;
  v_first := p_type = 'psap_contacted' AND d.psap_contacted_at IS NULL;
  UPDATE dispatches SET status = v_after,
         psap_contacted_at = CASE WHEN p_type = 'psap_contacted' THEN coalesce(psap_contacted_at, p_at) ELSE psap_contacted_at END,
         closed_at = CASE WHEN p_type = 'closed' AND v_after = 'closed' THEN p_at ELSE closed_at END,
         canceled_at = CASE WHEN p_type = 'canceled' AND v_after = 'canceled' THEN p_at ELSE canceled_at END
  WHERE id = d.id;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.' || p_type, p_actor, jsonb_build_object(
    'dispatchId', d.id, 'alarmId', p_alarm, 'eventId', p_event_id, 'at', p_at,
    'statusBefore', v_before, 'status', v_after, 'repeat', p_type = 'psap_contacted' AND NOT v_first)
    || CASE WHEN p_type = 'canceled' THEN jsonb_build_object('by', 'person') ELSE '{}'::jsonb END);
  IF v_first AND v_after = 'psap_contacted' AND inc.acknowledged_by IS NOT NULL AND inc.status <> 'resolved' THEN
    SELECT count(*) INTO v_round FROM dispatches WHERE incident_id = d.incident_id AND requested_at <= d.requested_at;
    PERFORM queue_pages(d.incident_id, ARRAY[inc.acknowledged_by], ARRAY['sms'], 'dispatch', 1, v_round, now(), 1, 0, 'psap_contacted');
  END IF;
  RETURN 'recorded';
END
$$;
