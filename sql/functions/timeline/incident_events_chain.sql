-- Before each insert into incident_events: stamps the event's time and links it into its incident's
-- hash chain through timeline_heads, whose row lock serialises writers so that a chain cannot fork.
-- An incident's first event creates its head.

CREATE OR REPLACE FUNCTION incident_events_chain()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  genesis constant text := repeat('0', 64);
BEGIN
  NEW.at := date_trunc('milliseconds', now());
  NEW.data := coalesce(NEW.data, '{}'::jsonb);
  UPDATE timeline_heads h
  SET seq = h.seq + 1,
      prev_hash = h.hash,
      hash = timeline_hash(h.hash, NEW.incident_id, h.seq + 1, NEW.type, NEW.at, NEW.actor, NEW.data)
  WHERE h.incident_id = NEW.incident_id
  RETURNING h.seq, h.prev_hash, h.hash INTO NEW.seq, NEW.prev_hash, NEW.hash;
  IF NOT FOUND THEN
    -- The first event of an incident, written in the transaction that creates the incident:
    -- nobody else can append to it yet.
    NEW.seq := 1;
    NEW.prev_hash := genesis;
    NEW.hash := timeline_hash(genesis, NEW.incident_id, 1, NEW.type, NEW.at, NEW.actor, NEW.data);
    INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash) VALUES (NEW.incident_id, 1, genesis, NEW.hash);
  END IF;
  RETURN NEW;
END
$$;
