-- Guards timeline_heads like the events they point at: a head is created at seq 1 from the
-- genesis hash and only ever moves forward by one event (seq + 1, its prev_hash the hash it had).
-- A superuser can still disable triggers; signed checkpoints are what detect that.

CREATE OR REPLACE FUNCTION timeline_heads_guard()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.seq <> 1 OR NEW.prev_hash <> repeat('0', 64) THEN
      RAISE EXCEPTION 'timeline_heads: a head starts at seq 1 from the genesis hash' USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSIF NEW.incident_id IS DISTINCT FROM OLD.incident_id OR NEW.seq IS DISTINCT FROM OLD.seq + 1
        OR NEW.prev_hash IS DISTINCT FROM OLD.hash THEN
    RAISE EXCEPTION 'timeline_heads: a head only moves forward by one event' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
