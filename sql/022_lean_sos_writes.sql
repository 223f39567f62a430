-- What an SOS writes, made leaner (issue 21). incident_events_type_idx (type, incident_id) cost an
-- index entry for every timeline event, about a kilobyte of WAL an SOS, and served no query: every
-- reader of events finds them by incident first (the primary key (incident_id, seq)), the
-- response-times report included, which joins the incidents of its range.
--
-- DROP INDEX locks incident_events against every SOS until the migration commits, and would wait
-- behind a long reader (an audit export's snapshot) with the SOS queued behind it: past 5 s the
-- migration fails instead (the instance does not start, and tries again when restarted).
SET LOCAL lock_timeout = '5s';
DROP INDEX incident_events_type_idx;
