-- Send a page again, now or after p_delay_seconds, as its next attempt on the same channel:
-- its outcome is unknown (a Twilio 5xx, a timeout, a reset connection, its sender stopped), or
-- Twilio has not answered it yet (a hedge: the first request still waits). Records page.resent
-- with the reason. Answers the next attempt's page, new or already queued; null when no attempt
-- is left or the incident no longer needs it (page_retry_later()'s rules).

CREATE OR REPLACE FUNCTION page_resend(p_page uuid, p_reason text, p_delay_seconds double precision,
                                       p_max_attempts integer)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
  v pages%ROWTYPE;
  v_next uuid;
BEGIN
  SELECT * INTO v FROM pages WHERE id = p_page;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT n.id INTO v_next FROM pages n
  WHERE n.incident_id = v.incident_id AND n.recipient_id = v.recipient_id AND n.channel = v.channel
    AND n.step = v.step AND n.round = v.round AND n.attempt = v.attempt + 1;
  IF FOUND THEN
    RETURN v_next; -- sent again already (a hedge, then the first's unknown outcome)
  END IF;
  v_next := page_retry_later(v, p_delay_seconds, p_max_attempts);
  IF v_next IS NOT NULL THEN
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (v.incident_id, 'page.resent', 'system', jsonb_build_object(
      'pageId', v_next, 'resendOf', v.id, 'channel', v.channel, 'recipientId', v.recipient_id,
      'attempt', v.attempt + 1, 'reason', p_reason));
  END IF;
  RETURN v_next;
END
$$;
