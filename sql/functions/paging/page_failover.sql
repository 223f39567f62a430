-- The other channel for the same person, at once, unless one is already on its way or the other
-- channel already failed for this step and round (a number refused on both channels would otherwise
-- fail over back and forth, a page every few milliseconds).

CREATE OR REPLACE FUNCTION page_failover(v pages)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
  other text := CASE v.channel WHEN 'sms' THEN 'voice' ELSE 'sms' END;
  -- A duress or repage failover says what the original said.
  fo_purpose text := CASE WHEN v.purpose IN ('duress', 'repage') THEN v.purpose ELSE 'failover' END;
  inc_status text := (SELECT status FROM incidents WHERE id = v.incident_id);
  next_attempt integer;
  fo uuid;
BEGIN
  IF v.purpose NOT IN ('page', 'failover', 'retry', 'repage', 'duress')
     OR inc_status NOT IN ('open', 'acknowledged')
     OR (v.purpose IN ('page', 'failover', 'retry') AND inc_status <> 'open')
     OR EXISTS (SELECT 1 FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id
                AND p.channel = other AND p.step = v.step AND p.round = v.round
                AND (p.status IN ('queued', 'sending', 'sent', 'delivered', 'unknown')
                     OR (p.status = 'failed' AND CASE WHEN fo_purpose = 'failover' THEN p.purpose IN ('page', 'failover', 'retry')
                                                      ELSE p.purpose = fo_purpose END))) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(max(attempt), 0) + 1 INTO next_attempt FROM pages p
  WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = other
    AND p.purpose = fo_purpose AND p.step = v.step AND p.round = v.round;
  PERFORM queue_pages(v.incident_id, ARRAY[v.recipient_id], ARRAY[other], fo_purpose, v.step, v.round, now(), next_attempt, 0, v.note);
  SELECT id INTO fo FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = other
    AND p.purpose = fo_purpose AND p.step = v.step AND p.round = v.round AND p.attempt = next_attempt;
  RETURN fo;
END
$$;
