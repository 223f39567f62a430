-- Claims one incident's due queued pages for the caller's sender, as the sender claims pages:
-- status 'sending', one more try, a lease of p_lease_seconds held by the sender its connection
-- names (the setting mayday.sender), SKIP LOCKED. Answers them as JSON with what their messages
-- need, in the recipient's language.

CREATE OR REPLACE FUNCTION claim_incident_pages(p_incident uuid, p_lease_seconds integer,
                                                p_claim_max integer)
RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v_pages jsonb;
BEGIN
  WITH c AS (
    SELECT p.id FROM pages p
    WHERE p.incident_id = p_incident AND p.status = 'queued' AND p.not_before <= now()
    ORDER BY p.not_before, p.step, p.recipient_id, p.channel
    LIMIT p_claim_max
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE pages p SET status = 'sending', tries = p.tries + 1, lease_until = now() + make_interval(secs => p_lease_seconds),
                       lease_owner = nullif(current_setting('mayday.sender', true), '')::uuid
    FROM c WHERE p.id = c.id
    RETURNING p.*
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', claimed.id, 'incident_id', claimed.incident_id, 'recipient_id', claimed.recipient_id, 'phone', claimed.phone,
           'channel', claimed.channel, 'purpose', claimed.purpose, 'note', claimed.note, 'step', claimed.step,
           'round', claimed.round, 'attempt', claimed.attempt, 'tries', claimed.tries,
           'code', i.code, 'kind', i.kind, 'severity', i.severity, 'incident_status', i.status,
           'lat', i.lat, 'lng', i.lng, 'accuracy_m', i.accuracy_m, 'location_at', i.location_at,
           'driver_name', d.name, 'zone_name', z.name, 'recipient_name', r.name,
           'recipient_language', r.language)
         ORDER BY claimed.step, claimed.recipient_id, claimed.channel), '[]')
  INTO v_pages
  FROM claimed
  JOIN incidents i ON i.id = claimed.incident_id
  JOIN users d ON d.id = i.driver_id
  JOIN users r ON r.id = claimed.recipient_id
  LEFT JOIN zones z ON z.id = i.zone_id;
  RETURN v_pages;
END
$$;
