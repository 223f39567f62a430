-- The hash of one audit log entry: sha256 hex of prev_hash, seq, at, actor, action and params, one
-- per line, with `at` and `params` written as timeline_hash() writes them.

CREATE OR REPLACE FUNCTION audit_log_hash(p_prev text, p_seq bigint, p_at timestamp with time zone,
                                          p_actor text, p_action text, p_params jsonb)
RETURNS text
LANGUAGE sql
STABLE
AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n', p_prev, p_seq::text,
         to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_actor, p_action, p_params::text), 'UTF8')), 'hex')
$$;
