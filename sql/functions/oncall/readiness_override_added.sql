-- Trigger on overrides: an override not yet over makes the engine look at the zone from its start,
-- so the responder it puts on call is asked to confirm as at any shift's start (at once when it
-- has already begun).

CREATE OR REPLACE FUNCTION readiness_override_added() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.to_at > now() THEN
    INSERT INTO readiness_zones (zone_id, next_at) VALUES (NEW.zone_id, NEW.from_at)
    ON CONFLICT (zone_id) DO UPDATE SET next_at = least(readiness_zones.next_at, EXCLUDED.next_at);
  END IF;
  RETURN NEW;
END
$$;
