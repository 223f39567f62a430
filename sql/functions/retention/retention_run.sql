-- Coarsens up to p_limit resolved incidents older than p_days at p_at (not on legal hold, not done
-- yet): trail points, the latest fix and the driver's duress view rounded to 0.01 degree with salts
-- dropped (the timeline's digests still verify but match no precise position), the simulator's
-- copies of their messages deleted, and a location.redacted event appended. Rows are claimed with
-- SKIP LOCKED so several instances share the work; answers each incident with its point count.

CREATE OR REPLACE FUNCTION retention_run(p_days integer, p_at timestamp with time zone,
                                         p_limit integer DEFAULT 500)
RETURNS TABLE(incident_id uuid, points integer)
LANGUAGE plpgsql
AS $$
DECLARE
  r record;
  n integer;
  m integer;
BEGIN
  IF p_days IS NULL OR p_days < 0 THEN
    RAISE EXCEPTION 'retention days must be >= 0 (got %)', p_days USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR r IN
    SELECT i.id FROM incidents i
    WHERE i.status = 'resolved' AND i.coarsened_at IS NULL AND NOT i.legal_hold
      AND i.resolved_at < p_at - make_interval(days => p_days)
    ORDER BY i.resolved_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    UPDATE incident_locations l
    SET lat = round(l.lat::numeric, 2)::double precision,
        lng = round(l.lng::numeric, 2)::double precision,
        salt = NULL,
        coarsened_at = now()
    WHERE l.incident_id = r.id;
    GET DIAGNOSTICS n = ROW_COUNT;

    UPDATE incidents i
    SET lat = round(i.lat::numeric, 2)::double precision,
        lng = round(i.lng::numeric, 2)::double precision,
        driver_view = CASE
          WHEN i.driver_view IS NULL OR jsonb_typeof(i.driver_view -> 'lat') IS DISTINCT FROM 'number'
            OR jsonb_typeof(i.driver_view -> 'lng') IS DISTINCT FROM 'number' THEN i.driver_view
          ELSE i.driver_view || jsonb_build_object(
                 'lat', round((i.driver_view ->> 'lat')::numeric, 2)::double precision,
                 'lng', round((i.driver_view ->> 'lng')::numeric, 2)::double precision)
        END,
        coarsened_at = now()
    WHERE i.id = r.id;

    DELETE FROM sim_messages s WHERE s.page_id IN (SELECT p.id FROM pages p WHERE p.incident_id = r.id);
    GET DIAGNOSTICS m = ROW_COUNT;

    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (r.id, 'location.redacted', 'system', jsonb_build_object(
      'points', n, 'precisionDeg', 0.01, 'reason', 'retention', 'days', p_days, 'simulatorMessagesDeleted', m));

    incident_id := r.id;
    points := n;
    RETURN NEXT;
  END LOOP;
END
$$;
