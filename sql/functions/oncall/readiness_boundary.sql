-- The moments who is on call in a zone may change: its rotation's shift boundaries and its
-- overrides' starts and ends. Forward: the first strictly after p_t; backward: the last at or
-- before p_t. Null when there is none. Each term is one index lookup (overrides_zone_idx, the
-- rotations key).

CREATE OR REPLACE FUNCTION readiness_boundary(p_zone uuid, p_t timestamptz, p_forward boolean)
RETURNS timestamptz
LANGUAGE sql
STABLE
AS $$
  SELECT CASE WHEN p_forward THEN
    least(
      (SELECT r.starts_at + interval '1 minute' * (r.shift_minutes
                * (floor(extract(epoch FROM p_t - r.starts_at) / (r.shift_minutes * 60)) + 1))::float8
         FROM rotations r WHERE r.zone_id = p_zone),
      (SELECT min(o.from_at) FROM overrides o WHERE o.zone_id = p_zone AND o.from_at > p_t),
      (SELECT min(o.to_at) FROM overrides o WHERE o.zone_id = p_zone AND o.to_at > p_t))
  ELSE
    greatest(
      (SELECT r.starts_at + interval '1 minute' * (r.shift_minutes
                * floor(extract(epoch FROM p_t - r.starts_at) / (r.shift_minutes * 60)))::float8
         FROM rotations r WHERE r.zone_id = p_zone),
      (SELECT max(o.from_at) FROM overrides o WHERE o.zone_id = p_zone AND o.from_at <= p_t),
      (SELECT max(o.to_at) FROM overrides o WHERE o.zone_id = p_zone AND o.to_at <= p_t))
  END
$$;
