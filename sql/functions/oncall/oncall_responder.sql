-- Who is on call in a zone at a moment: the newest override covering it, else the rotation's shift
-- (shifts repeat in the order of responder_ids from starts_at, also backwards before it).

CREATE OR REPLACE FUNCTION oncall_responder(p_zone uuid, p_at timestamp with time zone)
RETURNS uuid
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
  v uuid;
BEGIN
  SELECT o.responder_id INTO v FROM overrides o
  WHERE o.zone_id = p_zone AND o.from_at <= p_at AND p_at < o.to_at
  ORDER BY o.created_at DESC, o.id DESC LIMIT 1;
  IF v IS NOT NULL THEN
    RETURN v;
  END IF;
  SELECT r.responder_ids[1 + mod(mod(floor(extract(epoch FROM (p_at - r.starts_at)) / (r.shift_minutes * 60))::bigint,
                                     cardinality(r.responder_ids)) + cardinality(r.responder_ids),
                                 cardinality(r.responder_ids))::int]
  INTO v FROM rotations r WHERE r.zone_id = p_zone;
  RETURN v;
END
$$;
