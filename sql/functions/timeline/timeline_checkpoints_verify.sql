-- Recomputes the chain of checkpoints from p_from to the newest: each one's heads digest and count
-- from its heads, its hash from its fields, and its link to the one before (no gap, prev_hash).
-- Answers the span and the checkpoints that do not hold. Only the signatures are left to check
-- (outside the database, which never holds the private key): the newest one's signature then
-- vouches for the whole span.

CREATE OR REPLACE FUNCTION timeline_checkpoints_verify(p_from bigint)
RETURNS TABLE(first_seq bigint, last_seq bigint, bad bigint[])
LANGUAGE sql
STABLE
AS $$
  WITH c AS (
    SELECT k.*, lag(k.seq) OVER w AS prior_seq, lag(k.hash) OVER w AS prior_hash,
           (SELECT count(*) FROM timeline_checkpoint_heads h WHERE h.checkpoint_seq = k.seq) AS n
    FROM timeline_checkpoints k WHERE k.seq >= p_from
    WINDOW w AS (ORDER BY k.seq)
  )
  SELECT min(c.seq), max(c.seq),
         array_agg(c.seq ORDER BY c.seq) FILTER (WHERE NOT (
           c.n = c.heads_count
           AND c.heads_digest = checkpoint_heads_digest(c.seq)
           AND c.hash = checkpoint_hash(c.seq, c.at, c.key_id, c.prev_hash, c.heads_count, c.heads_digest)
           AND CASE WHEN c.prior_seq IS NULL THEN c.seq <> 1 OR c.prev_hash = repeat('0', 64)
                    ELSE c.prior_seq = c.seq - 1 AND c.prior_hash = c.prev_hash END))
  FROM c
$$;
