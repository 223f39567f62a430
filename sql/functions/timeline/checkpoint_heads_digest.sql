-- The digest of the heads one checkpoint covers: sha256 hex of "incident_id seq hash" lines in
-- incident id order, joined by newlines (the empty string for none).

CREATE OR REPLACE FUNCTION checkpoint_heads_digest(p_checkpoint bigint)
RETURNS text
LANGUAGE sql
STABLE
AS $$
  SELECT encode(sha256(convert_to(coalesce(string_agg(h.incident_id::text || ' ' || h.seq::text || ' ' || h.hash, E'\n' ORDER BY h.incident_id), ''), 'UTF8')), 'hex')
  FROM timeline_checkpoint_heads h WHERE h.checkpoint_seq = p_checkpoint
$$;
