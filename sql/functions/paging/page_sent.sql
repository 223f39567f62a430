-- Twilio took the page: its sid and page.sent are recorded; the retry queued after an unknown
-- outcome, if any, is cancelled. p_taken_at is when Twilio's answer came (the record may follow
-- it by up to a few hundred ms under load, in a batch that gave way to SOS intake): it is the
-- page's sent_at and the event's `takenAt`, kept between the page's creation and now.

CREATE OR REPLACE FUNCTION page_sent(p_page uuid, p_sid text, p_taken_at timestamp with time zone DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v pages%ROWTYPE;
BEGIN
  UPDATE pages SET sid = p_sid, sent_at = coalesce(sent_at, least(now(), greatest(created_at, coalesce(p_taken_at, now())))), lease_until = NULL,
         status = CASE WHEN status IN ('sending', 'unknown') THEN 'sent' ELSE status END
  WHERE id = p_page AND sid IS NULL
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v.error = 'outcome unknown' THEN
    -- A retry queued because this page's outcome was unknown is not needed after all.
    UPDATE pages p SET status = 'canceled'
    WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = v.channel
      AND p.step = v.step AND p.round = v.round AND p.attempt > v.attempt AND p.purpose = 'retry' AND p.status = 'queued';
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.sent', 'system', jsonb_build_object(
    'pageId', v.id, 'sid', p_sid, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'takenAt', v.sent_at));
END
$$;
