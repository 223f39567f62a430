-- The driver's cancel PIN cancelled the incident's alarm, and then the duress PIN was entered:
-- the police were called off under threat. The safety leads (or, with none, whoever
-- dispatch_page_leads() would page) get an SMS to request dispatch again, and the timeline
-- records a dispatch.failed (reason canceled_then_duress). The caller holds the incident's lock.

CREATE OR REPLACE FUNCTION dispatch_cancelled_then_duress(p_dispatch uuid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
  inc incidents%ROWTYPE;
  leads uuid[];
  v_round integer;
BEGIN
  SELECT * INTO d FROM dispatches WHERE id = p_dispatch;
  SELECT * INTO inc FROM incidents WHERE id = d.incident_id;
  SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO leads
  FROM step_recipients(inc.zone_id, '["safety_leads"]'::jsonb, now()) r;
  IF leads IS NULL THEN
    SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO leads
    FROM step_recipients(inc.zone_id, '["zone_supervisors", "oncall"]'::jsonb, now()) r;
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.failed', 'system', jsonb_build_object(
    'dispatchId', d.id, 'alarmId', d.alarm_id, 'reason', 'canceled_then_duress',
    'message', 'the cancel PIN cancelled the alarm, then the duress PIN was entered: request dispatch again', 'paged', coalesce(to_jsonb(leads), '[]'::jsonb)));
  IF leads IS NOT NULL THEN
    SELECT count(*) INTO v_round FROM dispatches WHERE incident_id = d.incident_id AND requested_at <= d.requested_at;
    PERFORM queue_pages(d.incident_id, leads, ARRAY['sms'], 'dispatch', 2, v_round, now(), 1, 0, 'canceled_then_duress');
  END IF;
END
$$;
