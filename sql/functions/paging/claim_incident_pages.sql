-- Claims one incident's due queued pages for the caller's sender, as the sender claims pages:
-- status 'sending', one more try, a lease of p_lease_seconds held by the sender its connection
-- names (the setting mayday.sender), SKIP LOCKED. Answers them as JSON with what their messages
-- need, in the recipient's language.

CREATE OR REPLACE FUNCTION claim_incident_pages(p_incident uuid, p_lease_seconds integer,
                                                p_claim_max integer)
RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v_pages jsonb;
  v_ids uuid[];
BEGIN
  -- The status test is on an expression so that the queue's partial index (pages_due_idx) cannot
  -- serve it and the planner takes the incident's own pages by their key: through that index it
  -- read every page due, dead entries included (a bitmap scan never marks them), so under a burst
  -- each claim cost more than the last until vacuum ran.
  WITH c AS (
    SELECT p.id FROM pages p
    WHERE p.incident_id = p_incident AND coalesce(p.status, '') = 'queued' AND p.not_before <= now()
    ORDER BY p.not_before, p.step, p.recipient_id, p.channel
    LIMIT p_claim_max
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE pages p SET status = 'sending', tries = p.tries + 1, lease_until = now() + make_interval(secs => p_lease_seconds),
                       lease_owner = nullif(current_setting('mayday.sender', true), '')::uuid
    FROM c WHERE p.id = c.id
    RETURNING p.id
  )
  SELECT array_agg(claimed.id) INTO v_ids FROM claimed;
  IF v_ids IS NULL THEN
    RETURN '[]'::jsonb;
  END IF;
  v_pages := claimed_pages(p_incident, v_ids);
  RETURN v_pages;
END
$$;
