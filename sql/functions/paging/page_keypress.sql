-- A digit pressed during a page call: 1 acknowledges (ack_incident()) and marks the page delivered.
-- Given the call's sid, it records the send if the send's own record never came, and a keypress from
-- another call than the one recorded is 'unknown page'; the two-argument form is for callers
-- without a sid.

CREATE OR REPLACE FUNCTION page_keypress(p_page uuid, p_digits text, p_sid text)
RETURNS text
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
BEGIN
  SELECT * INTO v FROM pages WHERE id = p_page;
  IF NOT FOUND OR v.channel <> 'voice' OR (p_sid IS NOT NULL AND v.sid IS NOT NULL AND v.sid <> p_sid) THEN
    RETURN 'unknown page';
  END IF;
  IF p_digits IS DISTINCT FROM '1' THEN
    RETURN 'ignored';
  END IF;
  PERFORM 1 FROM incidents WHERE id = v.incident_id FOR NO KEY UPDATE;
  SELECT * INTO v FROM pages WHERE id = p_page FOR UPDATE;
  IF v.sid IS NULL AND p_sid IS NOT NULL THEN
    PERFORM page_sent(p_page, p_sid);
  END IF;
  UPDATE pages SET keypress_at = coalesce(keypress_at, now()),
         status = CASE WHEN status IN ('sending', 'sent', 'unknown', 'voicemail') THEN 'delivered' ELSE status END
  WHERE id = p_page;
  RETURN ack_incident(v.incident_id, v.recipient_id, 'voice', v.id);
END
$$;

CREATE OR REPLACE FUNCTION page_keypress(p_page uuid, p_digits text)
RETURNS text
LANGUAGE sql
AS $$ SELECT page_keypress(p_page, p_digits, NULL::text) $$;
