-- timeline_heads_guard() checks each head after it is written instead of before (issue 21). For a
-- BEFORE UPDATE row trigger PostgreSQL first locks the row, which is a WAL record of its own, and
-- every timeline event moves its head: about nine row locks (0.5 kB of WAL) per SOS. An AFTER
-- trigger sees the same old and new rows and refuses by raising, which undoes the statement; it
-- can no longer clear `covered` itself, so the one writer of moves, incident_events_chain(),
-- clears it, and the guard refuses a move that leaves it set.
SET LOCAL lock_timeout = '5s';
DROP TRIGGER timeline_heads_guard ON timeline_heads;
CREATE TRIGGER timeline_heads_guard AFTER INSERT OR UPDATE ON timeline_heads
  FOR EACH ROW EXECUTE FUNCTION timeline_heads_guard();
