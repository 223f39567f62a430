-- The same channel again after a delay, up to p_max attempts, while the incident needs it.

CREATE OR REPLACE FUNCTION page_retry_later(v pages, p_delay_seconds double precision,
                                            p_max integer)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
  v_purpose text := CASE WHEN v.purpose IN ('page', 'failover', 'retry') THEN 'retry' ELSE v.purpose END;
  r uuid;
BEGIN
  IF v.attempt >= p_max
     OR (v_purpose = 'retry' AND (SELECT status FROM incidents WHERE id = v.incident_id) IS DISTINCT FROM 'open')
     OR (SELECT status FROM incidents WHERE id = v.incident_id) = 'resolved' THEN
    RETURN NULL;
  END IF;
  PERFORM queue_pages(v.incident_id, ARRAY[v.recipient_id], ARRAY[v.channel], v_purpose, v.step, v.round, now(),
                      v.attempt + 1, p_delay_seconds, v.note);
  SELECT id INTO r FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = v.channel
    AND p.purpose = v_purpose AND p.step = v.step AND p.round = v.round AND p.attempt = v.attempt + 1;
  RETURN r;
END
$$;
