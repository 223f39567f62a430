-- Twilio's statuses ranked per channel, so that a page's stored status only moves forward; null
-- when the text is not a status of that channel.

CREATE OR REPLACE FUNCTION page_status_rank(p_channel text, p_status text)
RETURNS smallint
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT (CASE p_channel
    WHEN 'sms' THEN CASE p_status WHEN 'accepted' THEN 0 WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0 WHEN 'sending' THEN 1
                    WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'undelivered' THEN 3 WHEN 'failed' THEN 3
                    WHEN 'read' THEN 4 WHEN 'canceled' THEN 3 ELSE NULL END
    ELSE CASE p_status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 0 WHEN 'ringing' THEN 1 WHEN 'in-progress' THEN 2
                    WHEN 'answered' THEN 2 WHEN 'completed' THEN 3 WHEN 'busy' THEN 3 WHEN 'no-answer' THEN 3
                    WHEN 'failed' THEN 3 WHEN 'canceled' THEN 3 ELSE NULL END
  END)::smallint
$$;
