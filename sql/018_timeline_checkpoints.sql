-- Timeline checkpoints (issue 18): at least once a minute the service signs, with an Ed25519 key
-- the database never sees, every timeline head that moved since the last checkpoint. Checkpoints
-- are chained (each names the hash of the one before), so the newest signature vouches for all.
-- Anyone who can write to the database can still rewrite events and recompute their hashes, but
-- no longer without the rewrite disagreeing with a signed checkpoint. See docs/api.md.
CREATE TABLE timeline_checkpoints (
  seq           bigint PRIMARY KEY,
  -- The minute this checkpoint is for (the engine's clock): one per minute, whichever instance
  -- ticks first.
  minute        timestamptz NOT NULL UNIQUE,
  at            timestamptz NOT NULL,
  key_id        text NOT NULL,
  prev_hash     text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  heads_count   integer NOT NULL CHECK (heads_count >= 0),
  heads_digest  text NOT NULL CHECK (heads_digest ~ '^[0-9a-f]{64}$'),
  hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  signature     text NOT NULL
);
-- Verification starts at the first checkpoint taken after a range (or an incident) began.
CREATE INDEX timeline_checkpoints_at_idx ON timeline_checkpoints (at);

-- The heads one checkpoint covers: each (incident, seq) at most once, in the first checkpoint
-- taken after the head reached it.
CREATE TABLE timeline_checkpoint_heads (
  incident_id     uuid NOT NULL,
  seq             integer NOT NULL,
  hash            text NOT NULL,
  checkpoint_seq  bigint NOT NULL REFERENCES timeline_checkpoints (seq),
  PRIMARY KEY (incident_id, seq)
);
CREATE INDEX timeline_checkpoint_heads_checkpoint_idx ON timeline_checkpoint_heads (checkpoint_seq);

-- Append-only, like the events (refuse_change() is defined since 001).
CREATE TRIGGER timeline_checkpoints_append_only BEFORE UPDATE OR DELETE ON timeline_checkpoints
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER timeline_checkpoints_no_truncate BEFORE TRUNCATE ON timeline_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER timeline_checkpoint_heads_append_only BEFORE UPDATE OR DELETE ON timeline_checkpoint_heads
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER timeline_checkpoint_heads_no_truncate BEFORE TRUNCATE ON timeline_checkpoint_heads
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- timeline_heads moves only forward by one event (its DELETE and TRUNCATE are refused since 001).
-- The trigger needs its function to exist now; this stub is replaced, in the same migration run,
-- by the function's one definition, sql/functions/timeline/timeline_heads_guard.sql.
CREATE OR REPLACE FUNCTION timeline_heads_guard() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER timeline_heads_guard BEFORE INSERT OR UPDATE ON timeline_heads
  FOR EACH ROW EXECUTE FUNCTION timeline_heads_guard();
