-- Claimed pages of one incident as JSON, with what their messages need (the incident, the driver's
-- and zone's names, the recipient's name and language), in the sender's order. p_ids names the
-- pages; NULL takes every page of the incident being sent (a new incident's, just born claimed).
-- PL/pgSQL, not SQL, so that its five-way join is planned once per connection, not at every call.

CREATE OR REPLACE FUNCTION claimed_pages(p_incident uuid, p_ids uuid[])
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
  RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', p.id, 'incident_id', p.incident_id, 'recipient_id', p.recipient_id, 'phone', p.phone,
           'channel', p.channel, 'purpose', p.purpose, 'note', p.note, 'step', p.step,
           'round', p.round, 'attempt', p.attempt, 'tries', p.tries,
           'code', i.code, 'kind', i.kind, 'severity', i.severity, 'incident_status', i.status,
           'lat', i.lat, 'lng', i.lng, 'accuracy_m', i.accuracy_m, 'location_at', i.location_at,
           'driver_name', d.name, 'zone_name', z.name, 'recipient_name', r.name,
           'recipient_language', r.language)
         ORDER BY p.step, p.recipient_id, p.channel), '[]')
  FROM pages p
  JOIN incidents i ON i.id = p.incident_id
  JOIN users d ON d.id = i.driver_id
  JOIN users r ON r.id = p.recipient_id
  LEFT JOIN zones z ON z.id = i.zone_id
  WHERE p.incident_id = p_incident
    AND CASE WHEN p_ids IS NULL THEN p.status = 'sending' ELSE p.id = ANY (p_ids) END);
END
$$;
