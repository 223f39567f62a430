-- Acknowledges an open incident; its queued pages are cancelled (pages already handed to Twilio
-- are not recalled). Answers the incident's status before the call.

CREATE OR REPLACE FUNCTION ack_incident(p_incident uuid, p_by uuid, p_via text, p_page uuid)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_status text;
BEGIN
  SELECT status INTO v_status FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS DISTINCT FROM 'open' THEN
    RETURN coalesce(v_status, 'missing');
  END IF;
  UPDATE incidents SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = p_by, ack_via = p_via, esc_next_at = NULL
  WHERE id = p_incident;
  UPDATE pages SET status = 'canceled'
  WHERE incident_id = p_incident AND status = 'queued' AND purpose IN ('page', 'failover', 'retry');
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'incident.acknowledged', (SELECT role || ':' || id FROM users WHERE id = p_by),
          jsonb_strip_nulls(jsonb_build_object('by', p_by, 'via', p_via, 'pageId', p_page)));
  RETURN 'open';
END
$$;
