-- A status callback on a sent page (sent → delivered, a call's progress) is a HOT update: no new
-- entry in any of the pages' indexes. Before, the queue's and the lease's partial indexes named
-- `status` in their predicates, and PostgreSQL treats a column in any index's predicate as
-- indexed, so every change of status wrote a new entry in all six indexes (issue 21: 0.67 kB of
-- WAL an SOS with one callback a page, bench:wal; more under load, where a call reports its
-- progress several times).
--
-- `queue_state` is `status` while the page is queued or sending and NULL after, computed by the
-- database so it cannot disagree with `status`; the two indexes' predicates name it instead.
-- Callbacks only ever move a page between states after sending, where it stays NULL.
--
-- Adding a stored generated column rewrites `pages` and its indexes under an exclusive lock
-- (0.9 s per 100,000 pages on the 2-core machine of docs/benchmarks.md, indexes included): SOS
-- intake on other instances waits for it. Past 5 s waiting for the lock itself the migration
-- fails rather than hold SOS behind a long reader.
SET LOCAL lock_timeout = '5s';
-- sql/024 to 026 lock three tables every SOS writes, and hold them until all commit together.
-- They are taken here, in the order an SOS and the engine's batches take them (incidents, pages,
-- then timeline_heads), so that one already under way finishes first rather than deadlocking
-- with the migration (which would abort one of the two).
LOCK TABLE incidents, pages, timeline_heads IN ACCESS EXCLUSIVE MODE;
-- Room on each heap page for a row's next versions, so that a HOT update finds it there (set
-- first, so the rewrite below leaves it on the existing pages too).
ALTER TABLE pages SET (fillfactor = 85);
ALTER TABLE pages
  ADD COLUMN queue_state text GENERATED ALWAYS AS (CASE WHEN status IN ('queued', 'sending') THEN status END) STORED;
DROP INDEX pages_due_idx;
DROP INDEX pages_lease_idx;
CREATE INDEX pages_due_idx ON pages (not_before) WHERE queue_state = 'queued';
CREATE INDEX pages_lease_idx ON pages (lease_until) WHERE queue_state = 'sending';
