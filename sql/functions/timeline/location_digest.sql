-- The salted digest of one trail point, which a timeline event carries instead of the coordinates:
-- retention can then coarsen the point and drop its salt without breaking the chain.

CREATE OR REPLACE FUNCTION location_digest(p_lat double precision, p_lng double precision,
                                           p_acc double precision,
                                           p_captured timestamp with time zone, p_salt text)
RETURNS text
LANGUAGE sql
STABLE
AS $$
  SELECT encode(sha256(convert_to(concat_ws('|', p_lat::text, p_lng::text, coalesce(p_acc::text, ''),
         to_char(p_captured AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_salt), 'UTF8')), 'hex')
$$;
