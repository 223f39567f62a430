-- The hash of one timeline checkpoint: sha256 hex of the text that is signed (see
-- src/timeline/checkpoints.ts, checkpointMessage), so the chain of checkpoints can be recomputed
-- in the database and outside it.

CREATE OR REPLACE FUNCTION checkpoint_hash(p_seq bigint, p_at timestamp with time zone, p_key_id text,
                                          p_prev text, p_count integer, p_digest text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n', 'mayday-timeline-checkpoint/1', p_seq::text,
         to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_key_id, p_prev, p_count::text, p_digest), 'UTF8')), 'hex')
$$;
