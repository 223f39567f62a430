-- The hash of one timeline event: sha256 hex of prev_hash, incident id, seq, type, at, actor and
-- data, one per line. `at` is ISO 8601 UTC with milliseconds (as JavaScript's toISOString writes it)
-- and `data` is jsonb's text form, so an exported timeline can be checked outside the database.

CREATE OR REPLACE FUNCTION timeline_hash(p_prev text, p_incident uuid, p_seq integer, p_type text,
                                         p_at timestamp with time zone, p_actor text, p_data jsonb)
RETURNS text
LANGUAGE sql
STABLE
AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n', p_prev, p_incident::text, p_seq::text, p_type,
         to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_actor, p_data::text), 'UTF8')), 'hex')
$$;
