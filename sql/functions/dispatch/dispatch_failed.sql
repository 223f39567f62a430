-- The center refused the alarm or gave no definite answer: the dispatch failed, and the zone's
-- safety leads are paged at once, by SMS and voice, to call 911 themselves. `p_failure` is what
-- the timeline says of it ({kind, status?, message, attempts, ambiguous}). Answers the status.

CREATE OR REPLACE FUNCTION dispatch_failed(p_dispatch uuid, p_failure jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
BEGIN
  d := dispatch_lock(p_dispatch);
  IF d.id IS NULL THEN
    RETURN 'missing';
  END IF;
  IF d.status <> 'requested' THEN
    RETURN d.status;
  END IF;
  UPDATE dispatches SET status = 'failed', failed_at = now() WHERE id = p_dispatch;
  PERFORM dispatch_page_leads(d.id, jsonb_build_object('dispatchId', d.id, 'reason', 'creation') || p_failure);
  RETURN 'failed';
END
$$;
