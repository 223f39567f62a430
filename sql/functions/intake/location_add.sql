-- Adds a fix to an incident's trail. It replaces the incident's location only when it is at least
-- as new as the current one. Answers 'current', 'older' or 'resolved' (nothing stored).

CREATE OR REPLACE FUNCTION location_add(p_incident uuid, p_lat double precision,
                                        p_lng double precision, p_acc double precision,
                                        p_captured timestamp with time zone, p_actor text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  v_status text;
  v_current_at timestamptz;
  v_at timestamptz := coalesce(p_captured, now());
  v_loc bigint;
  v_digest text;
  v_is_current boolean;
BEGIN
  -- NO KEY UPDATE: it does not block the foreign-key checks of other writers' events.
  SELECT status, location_at INTO v_status, v_current_at FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS NULL OR v_status = 'resolved' THEN
    RETURN 'resolved';
  END IF;
  v_is_current := v_current_at IS NULL OR v_at >= v_current_at;
  INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at)
  VALUES (p_incident, p_lat, p_lng, p_acc, v_at)
  RETURNING id, location_digest(lat, lng, accuracy_m, captured_at, salt) INTO v_loc, v_digest;
  IF v_is_current THEN
    UPDATE incidents SET lat = p_lat, lng = p_lng, accuracy_m = p_acc, location_at = v_at WHERE id = p_incident;
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'location.updated', p_actor, jsonb_strip_nulls(jsonb_build_object(
    'location', jsonb_build_object('id', v_loc, 'digest', v_digest, 'accuracyM', p_acc, 'capturedAt', v_at),
    'current', v_is_current)));
  RETURN CASE WHEN v_is_current THEN 'current' ELSE 'older' END;
END
$$;
