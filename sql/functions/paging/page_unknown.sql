-- Sent or not, nobody can tell (a Twilio 5xx, a timeout, a reset connection, a crash while
-- sending). The attempt is not sent again; its next attempt follows after p_retry_delay seconds
-- (page_resend(), with p_reason), and a late status callback for this one is still recorded.

CREATE OR REPLACE FUNCTION page_unknown(p_page uuid, p_error text, p_retry_delay double precision,
                                        p_max_attempts integer DEFAULT 3, p_reason text DEFAULT 'reset')
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
  r uuid;
BEGIN
  UPDATE pages SET status = 'unknown', error = 'outcome unknown', lease_until = NULL
  WHERE id = p_page AND status = 'sending'
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r := page_resend(v.id, p_reason, p_retry_delay, p_max_attempts);
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.unknown', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'error', p_error, 'retryPageId', r)));
END
$$;
