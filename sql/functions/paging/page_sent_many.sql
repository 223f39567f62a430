-- Several sends Twilio took (with when each answer came), recorded in one transaction, each
-- exactly as page_sent() records it alone. The batch's page rows are locked first in id order and
-- the items taken by incident, so the lock order (page rows, then timeline heads) is the same in
-- every batch.

CREATE OR REPLACE FUNCTION page_sent_many(p_pages uuid[], p_sids text[], p_taken_at timestamp with time zone[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  r record;
BEGIN
  -- The lock order of every function: incidents first (all of the batch's, in id order), then
  -- page rows (in id order), then timeline heads (incident by incident, below). The engine's
  -- batches hold their incidents while they touch those incidents' pages and timelines, so a
  -- batch that took page rows first could wait for their timelines while they wait for its pages.
  PERFORM 1 FROM incidents WHERE id IN (SELECT incident_id FROM pages WHERE id = ANY (p_pages)) ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM pages WHERE id = ANY (p_pages) ORDER BY id FOR UPDATE;
  FOR r IN
    SELECT x.page, x.sid, p_taken_at[x.ord] AS taken_at FROM unnest(p_pages, p_sids) WITH ORDINALITY AS x(page, sid, ord)
    LEFT JOIN LATERAL (SELECT p.incident_id FROM pages p WHERE p.id = x.page LIMIT 1) p ON true
    ORDER BY p.incident_id, x.ord
  LOOP
    PERFORM page_sent(r.page, r.sid, r.taken_at);
  END LOOP;
END
$$;
