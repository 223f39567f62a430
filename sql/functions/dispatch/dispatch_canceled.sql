-- The driver cancelled with the cancel PIN and Mayday cancelled the alarm with the alarm's PIN
-- (p_ok), or tried to: a cancel the center did not take is a dispatch.failed of the cancel (the
-- alarm goes on; nobody is paged, since help still comes) and is not tried again. A failure
-- reported for a dispatch no longer live (another attempt cancelled it) records nothing, nor does
-- one after the duress PIN (the dispatch goes on). An alarm cancelled all the same (the duress PIN
-- came while its cancel was under way) is recorded, and the safety leads are told to request again.
-- Answers the dispatch's status.

CREATE OR REPLACE FUNCTION dispatch_canceled(p_dispatch uuid, p_actor text, p_ok boolean, p_failure jsonb)
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
  IF NOT p_ok AND EXISTS (SELECT 1 FROM incidents WHERE id = d.incident_id AND duress_at IS NOT NULL) THEN
    RETURN d.status;
  END IF;
  IF NOT p_ok THEN
    IF d.status NOT IN ('active', 'psap_contacted') THEN
      RETURN d.status;
    END IF;
    UPDATE dispatches SET cancel_wanted_at = NULL WHERE id = p_dispatch;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (d.incident_id, 'dispatch.failed', 'system', jsonb_build_object(
      'dispatchId', d.id, 'alarmId', d.alarm_id, 'reason', 'cancel') || coalesce(p_failure, '{}'::jsonb));
    RETURN d.status;
  END IF;
  IF d.status NOT IN ('active', 'psap_contacted') THEN
    RETURN d.status;
  END IF;
  UPDATE dispatches SET status = 'canceled', canceled_at = now() WHERE id = p_dispatch;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.canceled', p_actor, jsonb_build_object(
    'dispatchId', d.id, 'alarmId', d.alarm_id, 'statusBefore', d.status, 'status', 'canceled', 'by', 'driver'));
  IF EXISTS (SELECT 1 FROM incidents WHERE id = d.incident_id AND duress_at IS NOT NULL) THEN
    PERFORM dispatch_cancelled_then_duress(d.id);
  END IF;
  RETURN 'canceled';
END
$$;
