-- 015 a keypress records its call's send when the send's own record never came.
--
-- Why: page_keypress() (sql/002) acknowledged and marked the page delivered, but did not know the
-- call's sid. When Mayday stopped between Twilio taking a call and recording it (a SIGKILL, with
-- the send's record still waiting for company: recordLingerMs), and the person then pressed 1,
-- the page was stored delivered with no sid and no page.sent: seen in CI as chaos:kill's
-- "delivered sid null". A status callback already records the send in that case
-- (page_callback()); a keypress now does the same with the CallSid Twilio posts with <Gather>.
-- A keypress naming another call than the one recorded is not this page's ('unknown page'), as
-- for callbacks.
--
-- It also keeps the lock order of every other function (README, "Lock order"): the incident
-- first, then the page row, then the timeline head. 002's took the page row, then the incident.
CREATE FUNCTION page_keypress(p_page uuid, p_digits text, p_sid text) RETURNS text
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
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

-- 002's two-argument form, for a caller that has no sid (kept for an instance not updated yet).
CREATE OR REPLACE FUNCTION page_keypress(p_page uuid, p_digits text) RETURNS text
LANGUAGE sql AS $$ SELECT page_keypress(p_page, p_digits, NULL::text) $$;
