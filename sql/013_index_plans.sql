-- 013 plans made once are index lookups, however small the tables were when they were made.
--
-- Why: the functions below run with plan_cache_mode = force_generic_plan (sql/007, sql/012), so
-- each statement in them is planned once per connection, at its first call, and kept. On a new
-- database that first call finds the tables empty, and an empty table is cheapest to read from
-- end to end: the locks that page_sent_many() and page_callback_many() take on their incidents
-- (every incident read, hashed against every page read) and sos_open()'s look for the driver's
-- other open incidents were planned as sequential scans and kept as the tables grew. The plans
-- are only made again when ANALYZE invalidates them (autovacuum, after at least a minute on a
-- new database). Seen with auto_explain during bench:intake on a new database: a scan of every
-- incident and every page for each batch of send records and status callbacks.
--
-- With enable_seqscan off (for the call only), a table is read end to end only where no index
-- can answer, which for these statements is never.

ALTER FUNCTION sos_open(uuid, uuid, text, text, text, uuid, text, double precision, double precision, double precision, timestamptz, text, text) SET enable_seqscan = off;
ALTER FUNCTION escalate_due(timestamptz, integer) SET enable_seqscan = off;
ALTER FUNCTION escalate_due_and_claim(timestamptz, integer, integer, integer) SET enable_seqscan = off;
ALTER FUNCTION checkins_due(timestamptz, integer) SET enable_seqscan = off;
ALTER FUNCTION page_sent(uuid, text) SET enable_seqscan = off;
ALTER FUNCTION page_callback(uuid, text, text, text, text, double precision, integer) SET enable_seqscan = off;
ALTER FUNCTION page_sent_many(uuid[], text[]) SET enable_seqscan = off;
ALTER FUNCTION page_callback_many(uuid[], text[], text[], text[], text[], double precision, integer) SET enable_seqscan = off;
ALTER FUNCTION page_failed(uuid, text, text, double precision, integer) SET enable_seqscan = off;
ALTER FUNCTION page_unknown(uuid, text, double precision, integer) SET enable_seqscan = off;
ALTER FUNCTION page_voicemail(uuid, text, double precision, integer) SET enable_seqscan = off;
ALTER FUNCTION claim_incident_pages(uuid, integer, integer) SET enable_seqscan = off;
