-- Guards timeline_heads like the events they point at: a head is created at seq 1 from the
-- genesis hash and only ever moves forward by one event (seq + 1, its prev_hash the hash it had).
-- Every move clears `covered`; the only other change allowed is the checkpoint's setting it, and
-- only when a checkpoint covers the head as it stands, so the next checkpoint sees every head
-- that moved. A superuser can still disable triggers; signed checkpoints are what detect that.

CREATE OR REPLACE FUNCTION timeline_heads_guard()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.seq <> 1 OR NEW.prev_hash <> repeat('0', 64) OR NEW.covered THEN
      RAISE EXCEPTION 'timeline_heads: a head starts at seq 1 from the genesis hash, not yet checkpointed' USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSIF NEW.incident_id IS DISTINCT FROM OLD.incident_id THEN
    RAISE EXCEPTION 'timeline_heads: a head only moves forward by one event' USING ERRCODE = 'insufficient_privilege';
  ELSIF NEW.seq IS DISTINCT FROM OLD.seq THEN
    IF NEW.seq IS DISTINCT FROM OLD.seq + 1 OR NEW.prev_hash IS DISTINCT FROM OLD.hash THEN
      RAISE EXCEPTION 'timeline_heads: a head only moves forward by one event' USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.covered := false;
  ELSIF NEW.prev_hash IS DISTINCT FROM OLD.prev_hash OR NEW.hash IS DISTINCT FROM OLD.hash
        OR OLD.covered OR NEW.covered IS NOT TRUE THEN
    RAISE EXCEPTION 'timeline_heads: a head only moves forward by one event, or is marked covered by a checkpoint' USING ERRCODE = 'insufficient_privilege';
  ELSIF NOT EXISTS (SELECT 1 FROM timeline_checkpoint_heads c WHERE c.incident_id = NEW.incident_id AND c.seq = NEW.seq AND c.hash = NEW.hash) THEN
    RAISE EXCEPTION 'timeline_heads: no checkpoint covers this head' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
