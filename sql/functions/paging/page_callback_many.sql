-- Several status callbacks recorded in one transaction, each as page_callback() records it alone,
-- with page_sent_many()'s lock order. A report that would only move a page's rank forward and is
-- followed in the batch by a higher one of the same page and sid is left out ('superseded').

CREATE OR REPLACE FUNCTION page_callback_many(p_pages uuid[], p_sids text[], p_statuses text[],
                                              p_answered_by text[], p_error_codes text[],
                                              p_retry_delay double precision,
                                              p_max_attempts integer DEFAULT 3)
RETURNS text[]
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  r record;
  results text[] := array_fill(NULL::text, ARRAY[cardinality(p_pages)]);
BEGIN
  -- The lock order of every function: incidents first (all of the batch's, in id order), then
  -- page rows (in id order), then timeline heads (incident by incident, below). The engine's
  -- batches hold their incidents while they touch those incidents' pages and timelines, so a
  -- batch that took page rows first could wait for their timelines while they wait for its pages.
  PERFORM 1 FROM incidents WHERE id IN (SELECT incident_id FROM pages WHERE id = ANY (p_pages)) ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM pages WHERE id = ANY (p_pages) ORDER BY id FOR UPDATE;
  FOR r IN
    SELECT x.page, x.sid, x.status, x.answered_by, x.error_code, x.ord,
           x.answered_by IS NULL
             AND x.status NOT IN ('delivered', 'in-progress', 'answered', 'undelivered', 'failed', 'canceled', 'busy', 'no-answer', 'completed')
             AND EXISTS (SELECT 1 FROM unnest(p_pages, p_sids, p_statuses) WITH ORDINALITY AS y(page, sid, status, ord)
                         WHERE y.page = x.page AND y.ord > x.ord AND y.sid IS NOT DISTINCT FROM x.sid
                           AND page_status_rank(p.channel, y.status) > page_status_rank(p.channel, x.status)) AS superseded
    FROM unnest(p_pages, p_sids, p_statuses, p_answered_by, p_error_codes) WITH ORDINALITY AS x(page, sid, status, answered_by, error_code, ord)
    LEFT JOIN LATERAL (SELECT p.incident_id, p.channel FROM pages p WHERE p.id = x.page LIMIT 1) p ON true
    ORDER BY p.incident_id, x.ord
  LOOP
    IF r.superseded THEN
      results[r.ord] := 'superseded';
    ELSE
      results[r.ord] := page_callback(r.page, r.sid, r.status, r.answered_by, r.error_code, p_retry_delay, p_max_attempts);
    END IF;
  END LOOP;
  RETURN results;
END
$$;
