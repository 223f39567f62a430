-- Recomputes the audit log's chain, every entry from its fields and its predecessor's hash.
-- Answers whether it holds, the entry count and the head hash.

CREATE OR REPLACE FUNCTION audit_log_verify()
RETURNS TABLE(valid boolean, entry_count bigint, head_hash text)
LANGUAGE sql
STABLE
AS $$
  WITH a AS (
    SELECT l.*, lag(l.hash) OVER (ORDER BY l.seq) AS prior_hash, row_number() OVER (ORDER BY l.seq) AS n
    FROM audit_log l
  ), agg AS (
    SELECT coalesce(bool_and(a.seq = a.n AND a.prev_hash = coalesce(a.prior_hash, repeat('0', 64))
                             AND a.hash = audit_log_hash(a.prev_hash, a.seq, a.at, a.actor, a.action, a.params)), true) AS rows_ok,
           count(*) AS n,
           (SELECT l.hash FROM audit_log l ORDER BY l.seq DESC LIMIT 1) AS last_hash
    FROM a
  )
  SELECT agg.rows_ok AND coalesce((SELECT h.seq = agg.n AND h.hash = agg.last_hash FROM audit_log_head h), agg.n = 0),
         agg.n, agg.last_hash
  FROM agg
$$;
