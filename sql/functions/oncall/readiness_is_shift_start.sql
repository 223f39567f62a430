-- Whether a shift begins in a zone at p_b: who is on call changes there, or a new shift of the
-- rotation begins that no override covers (so a rotation of one person still asks every shift).

CREATE OR REPLACE FUNCTION readiness_is_shift_start(p_zone uuid, p_b timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
  SELECT oncall_responder(p_zone, p_b) IS DISTINCT FROM oncall_responder(p_zone, p_b - interval '1 microsecond')
      OR (EXISTS (SELECT 1 FROM rotations r
                   WHERE r.zone_id = p_zone AND mod(extract(epoch FROM p_b - r.starts_at), r.shift_minutes * 60) = 0)
          AND NOT EXISTS (SELECT 1 FROM overrides o WHERE o.zone_id = p_zone AND o.from_at <= p_b AND p_b < o.to_at))
$$;
