-- Resolves an incident that is not resolved yet; nothing queued for it goes out afterwards. Answers
-- the status it had ('resolved' means someone else was first: nothing changed).

CREATE OR REPLACE FUNCTION resolve_incident(p_incident uuid, p_by uuid, p_disposition text,
                                            p_note text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_status text;
BEGIN
  SELECT status INTO v_status FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS NULL OR v_status = 'resolved' THEN
    RETURN coalesce(v_status, 'missing');
  END IF;
  UPDATE incidents SET status = 'resolved', resolved_at = now(), resolved_by = p_by, disposition = p_disposition,
         resolution_note = p_note, esc_next_at = NULL
  WHERE id = p_incident;
  UPDATE pages SET status = 'canceled' WHERE incident_id = p_incident AND status = 'queued';
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'incident.resolved', (SELECT role || ':' || id FROM users WHERE id = p_by),
          jsonb_strip_nulls(jsonb_build_object('by', p_by, 'disposition', p_disposition, 'note', p_note, 'from', v_status)));
  RETURN v_status;
END
$$;
