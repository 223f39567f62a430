-- Before each insert into audit_log: links the entry into the audit chain as
-- incident_events_chain() does for a timeline; the head row serialises writers, so the chain cannot
-- fork.

CREATE OR REPLACE FUNCTION audit_log_chain()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  genesis constant text := repeat('0', 64);
BEGIN
  NEW.at := date_trunc('milliseconds', now());
  NEW.params := coalesce(NEW.params, '{}'::jsonb);
  INSERT INTO audit_log_head AS h (one, seq, prev_hash, hash)
  VALUES (true, 1, genesis, audit_log_hash(genesis, 1, NEW.at, NEW.actor, NEW.action, NEW.params))
  ON CONFLICT (one) DO UPDATE
    SET seq = h.seq + 1,
        prev_hash = h.hash,
        hash = audit_log_hash(h.hash, h.seq + 1, NEW.at, NEW.actor, NEW.action, NEW.params)
  RETURNING seq, prev_hash, hash INTO NEW.seq, NEW.prev_hash, NEW.hash;
  RETURN NEW;
END
$$;
