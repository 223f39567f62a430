-- Trigger on rotations: a rotation set or changed makes the engine look at the zone at its next
-- shift start (readiness_due()); the shift under way when it was set is not asked about.

CREATE OR REPLACE FUNCTION readiness_rotation_set() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO readiness_zones (zone_id, next_at) VALUES (NEW.zone_id, readiness_shift_start(NEW.zone_id, now(), true))
  ON CONFLICT (zone_id) DO UPDATE SET next_at = least(readiness_zones.next_at, EXCLUDED.next_at);
  RETURN NEW;
END
$$;
