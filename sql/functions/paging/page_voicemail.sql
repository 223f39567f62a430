-- Answered by a machine, or a call that ended without the digit: not an acknowledgement.

CREATE OR REPLACE FUNCTION page_voicemail(p_page uuid, p_answered_by text,
                                          p_retry_delay double precision,
                                          p_max_attempts integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
  r uuid;
BEGIN
  UPDATE pages SET status = 'voicemail', answered_by = coalesce(p_answered_by, answered_by), lease_until = NULL
  WHERE id = p_page AND status IN ('sending', 'sent', 'delivered', 'unknown') AND keypress_at IS NULL
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r := page_retry_later(v, p_retry_delay, p_max_attempts);
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.voicemail', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'answeredBy', coalesce(p_answered_by, v.answered_by, 'unknown'), 'retryPageId', r)));
END
$$;
