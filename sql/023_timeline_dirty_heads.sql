-- The minute's checkpoint reads only the heads that moved since the last one (issue 21), not every
-- head ever written: `covered` says a signed checkpoint covers the head as it stands (its incident,
-- seq and hash are in timeline_checkpoint_heads). timeline_heads_guard() clears it on every move
-- and lets it be set only when a checkpoint covers the head, so whoever can update timeline_heads
-- cannot hide a moved head from the next checkpoint without disabling triggers or forging a
-- timeline_checkpoint_heads row (which breaks that checkpoint's signed digest of its heads).
--
-- The partial index holds only the uncovered heads. Its key (incident_id) never changes, so an
-- append that leaves `covered` false stays a HOT update; only the marking and the first move after
-- it are not (the checkpoint marks a head once it rests: src/timeline/store.ts, writeCheckpoint).

-- Existing heads get true without a rewrite (a constant default is stored once, not per row),
-- then the ones no checkpoint covers as they stand are cleared; new heads start uncovered.
-- Past 5 s waiting for a lock on timeline_heads (which every SOS writes) the migration fails
-- rather than hold the SOS behind a long reader.
SET LOCAL lock_timeout = '5s';
ALTER TABLE timeline_heads ADD COLUMN covered boolean NOT NULL DEFAULT true;
ALTER TABLE timeline_heads ALTER COLUMN covered SET DEFAULT false;

-- The guard of 018 refuses any update that is not a move; this one is a fact computed from the
-- checkpoints, under the lock ADD COLUMN already holds.
ALTER TABLE timeline_heads DISABLE TRIGGER timeline_heads_guard;
UPDATE timeline_heads h SET covered = false
WHERE NOT EXISTS (SELECT 1 FROM timeline_checkpoint_heads c WHERE c.incident_id = h.incident_id AND c.seq = h.seq AND c.hash = h.hash);
ALTER TABLE timeline_heads ENABLE TRIGGER timeline_heads_guard;

CREATE INDEX timeline_heads_uncovered_idx ON timeline_heads (incident_id) WHERE NOT covered;
-- The planner needs to know how few heads are uncovered to use the index from the first minute.
ANALYZE timeline_heads;
