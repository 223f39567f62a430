-- What an SOS writes, made leaner (issue 21). incident_events_type_idx (type, incident_id) cost an
-- index entry for every timeline event, about a kilobyte of WAL an SOS, and served no query: every
-- reader of events finds them by incident first (the primary key (incident_id, seq)), the
-- response-times report included, which joins the incidents of its range.
DROP INDEX incident_events_type_idx;
