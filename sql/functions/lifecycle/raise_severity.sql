-- Raises an incident's severity (never lowers it) and records incident.severity_raised with the
-- reason.

CREATE OR REPLACE FUNCTION raise_severity(p_incident uuid, p_to text, p_reason text, p_actor text)
RETURNS void
LANGUAGE plpgsql
AS $$
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
