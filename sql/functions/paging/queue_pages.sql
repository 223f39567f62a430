-- Queues pages for recipients x channels, each with its page.queued event. Answers how many.

CREATE OR REPLACE FUNCTION queue_pages(p_incident uuid, p_recipients uuid[], p_channels text[],
                                       p_purpose text, p_step integer, p_round integer,
                                       p_at timestamp with time zone, p_attempt integer DEFAULT 1,
                                       p_delay_seconds double precision DEFAULT 0,
                                       p_note text DEFAULT NULL::text)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  n integer;
BEGIN
  WITH ins AS (
    INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, not_before, note)
    SELECT p_incident, u.id, u.phone, ch, p_purpose, p_step, p_round, p_attempt,
           least(p_at, now()) + make_interval(secs => p_delay_seconds), p_note
    FROM users u CROSS JOIN unnest(p_channels) AS ch
    WHERE u.id = ANY (p_recipients) AND u.phone IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING id, recipient_id, channel, attempt, not_before
  ), ev AS (
    INSERT INTO incident_events (incident_id, type, actor, data)
    SELECT p_incident, 'page.queued', 'system', jsonb_build_object(
             'pageId', id, 'recipientId', recipient_id, 'channel', channel, 'purpose', p_purpose,
             'step', p_step, 'round', p_round, 'attempt', attempt, 'notBefore', not_before, 'note', p_note)
    FROM (SELECT * FROM ins ORDER BY recipient_id, channel) q
    RETURNING 1
  )
  SELECT count(*) INTO n FROM ev;
  -- No NOTIFY here: a NOTIFY takes a cluster-wide lock at commit, which would serialise every
  -- SOS. The instance that queued the pages sends them itself and tells the others after its
  -- commit (Pager.queued()).
  RETURN n;
END
$$;
