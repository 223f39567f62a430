-- The center created the alarm: the dispatch is active, with the alarm's id. `p_missing` lists the
-- services asked for that the center's answer lacks: that is a dispatch gone wrong too, so it is
-- also a dispatch.failed (the alarm stays active) and pages the safety leads as a failure does.
-- `p_ambiguous`: an earlier attempt may have created a second alarm, which the event says.
-- `p_location_at` is when the fix the alarm was created with was taken. Answers the dispatch's status.

CREATE OR REPLACE FUNCTION dispatch_created(p_dispatch uuid, p_alarm text, p_services text[],
                                            p_missing text[], p_ambiguous boolean, p_attempts integer,
                                            p_location_at timestamp with time zone)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
BEGIN
  d := dispatch_lock(p_dispatch);
  IF d.id IS NULL THEN
    RETURN 'missing';
  END IF;
  IF d.status <> 'requested' THEN
    RETURN d.status;
  END IF;
  UPDATE dispatches SET status = 'active', alarm_id = p_alarm, created_at = now(), location_sent_at = p_location_at WHERE id = p_dispatch;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.created', 'system', jsonb_build_object(
    'dispatchId', d.id, 'alarmId', p_alarm, 'center', d.center, 'services', to_jsonb(p_services),
    'attempts', p_attempts, 'ambiguous', p_ambiguous));
  IF cardinality(p_missing) > 0 THEN
    PERFORM dispatch_page_leads(d.id, jsonb_build_object(
      'dispatchId', d.id, 'reason', 'services_missing', 'missing', to_jsonb(p_missing), 'alarmId', p_alarm));
  END IF;
  RETURN 'active';
END
$$;
