-- Not taken, but safe to try again (Twilio 429 or 5xx): back to the queue after a delay.

CREATE OR REPLACE FUNCTION page_requeue(p_page uuid, p_delay_ms integer, p_error text)
RETURNS void
LANGUAGE sql
AS $$
  UPDATE pages SET status = 'queued', lease_until = NULL, error = p_error,
         not_before = now() + make_interval(secs => p_delay_ms / 1000.0)
  WHERE id = p_page AND status = 'sending'
$$;
