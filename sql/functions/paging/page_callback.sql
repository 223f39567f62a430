-- A Twilio status callback. The stored status only moves forward (page_status_rank()), so a
-- callback that comes late, twice or out of order changes nothing it should not. A plain forward
-- move of a page whose send is recorded is one conditional UPDATE; anything else (an unknown page,
-- another sid, a send not recorded yet, a failure, voicemail, the end of a call) takes the full path.

CREATE OR REPLACE FUNCTION page_callback(p_page uuid, p_sid text, p_status text, p_answered_by text,
                                         p_error_code text, p_retry_delay double precision,
                                         p_max_attempts integer DEFAULT 3)
RETURNS text
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
  rank smallint;
  machine boolean := p_answered_by IS NOT NULL AND (p_answered_by LIKE 'machine%' OR p_answered_by = 'fax');
  delivers boolean := p_status IN ('delivered', 'in-progress', 'answered');
  became_delivered boolean;
BEGIN
  IF p_status IS NOT NULL AND NOT machine
     AND p_status NOT IN ('undelivered', 'failed', 'canceled', 'busy', 'no-answer', 'completed') THEN
    UPDATE pages p SET twilio_status = p_status, twilio_rank = page_status_rank(p.channel, p_status),
           answered_by = coalesce(p.answered_by, p_answered_by),
           status = CASE WHEN delivers AND p.status IN ('sending', 'sent', 'unknown') THEN 'delivered' ELSE p.status END,
           delivered_at = CASE WHEN delivers AND p.status IN ('sending', 'sent', 'unknown') THEN now() ELSE p.delivered_at END
    WHERE p.id = p_page AND p.sid IS NOT NULL AND (p_sid IS NULL OR p.sid = p_sid)
      AND page_status_rank(p.channel, p_status) > p.twilio_rank
    RETURNING p.* INTO v;
    IF FOUND THEN
      became_delivered := delivers AND v.status = 'delivered' AND v.delivered_at = now();
      IF became_delivered THEN
        INSERT INTO incident_events (incident_id, type, actor, data)
        VALUES (v.incident_id, 'page.delivered', 'twilio', jsonb_strip_nulls(jsonb_build_object(
          'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'status', p_status,
          'answeredBy', coalesce(p_answered_by, v.answered_by))));
      END IF;
      RETURN p_status;
    END IF;
  END IF;

  -- The general path.
  SELECT * INTO v FROM pages WHERE id = p_page FOR UPDATE;
  IF NOT FOUND OR (p_sid IS NOT NULL AND v.sid IS NOT NULL AND v.sid <> p_sid) THEN
    RETURN 'unknown page';
  END IF;
  IF v.sid IS NULL AND p_sid IS NOT NULL AND p_status IS NOT NULL THEN
    -- The callback beat our own record of the send (or the send's answer was lost).
    PERFORM page_sent(p_page, p_sid);
    SELECT * INTO v FROM pages WHERE id = p_page;
  END IF;
  IF p_answered_by IS NOT NULL AND v.answered_by IS NULL THEN
    UPDATE pages SET answered_by = p_answered_by WHERE id = p_page;
    IF machine THEN
      PERFORM page_voicemail(p_page, p_answered_by, p_retry_delay, p_max_attempts);
    END IF;
  END IF;
  IF p_status IS NULL THEN
    RETURN 'answered_by';
  END IF;
  rank := page_status_rank(v.channel, p_status);
  IF rank IS NULL OR rank <= v.twilio_rank THEN
    RETURN 'stale';
  END IF;
  UPDATE pages SET twilio_status = p_status, twilio_rank = rank WHERE id = p_page;

  IF delivers THEN
    UPDATE pages SET status = 'delivered', delivered_at = now() WHERE id = p_page AND status IN ('sending', 'sent', 'unknown');
    IF FOUND THEN
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (v.incident_id, 'page.delivered', 'twilio', jsonb_strip_nulls(jsonb_build_object(
        'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'status', p_status,
        'answeredBy', coalesce(p_answered_by, v.answered_by))));
    END IF;
  ELSIF p_status IN ('undelivered', 'failed', 'canceled') THEN
    PERFORM page_failed(p_page, p_error_code, p_status);
  ELSIF p_status IN ('busy', 'no-answer') THEN
    PERFORM page_failed(p_page, p_error_code, p_status, p_retry_delay, p_max_attempts);
  ELSIF p_status = 'completed' THEN
    PERFORM page_voicemail(p_page, coalesce(p_answered_by, v.answered_by), p_retry_delay, p_max_attempts);
  END IF;
  RETURN p_status;
END
$$;
