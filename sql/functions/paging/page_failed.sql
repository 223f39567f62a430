-- Failed for good (an invalid or opted-out number, a failed or undelivered status): the other
-- channel at once; with p_retry_delay (a call not answered), the same channel later too.

CREATE OR REPLACE FUNCTION page_failed(p_page uuid, p_code text, p_error text,
                                       p_retry_delay double precision DEFAULT NULL::double precision,
                                       p_max_attempts integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
  fo uuid;
  r uuid;
BEGIN
  UPDATE pages SET status = 'failed', error_code = p_code, error = p_error, lease_until = NULL
  WHERE id = p_page AND status IN ('queued', 'sending', 'sent', 'delivered', 'unknown')
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  fo := page_failover(v);
  IF p_retry_delay IS NOT NULL THEN
    r := page_retry_later(v, p_retry_delay, p_max_attempts);
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.failed', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'errorCode', p_code, 'error', p_error, 'failoverPageId', fo, 'retryPageId', r)));
END
$$;
