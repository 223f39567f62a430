-- The shift starts of a zone (readiness_is_shift_start()) next to p_t: forward, the first strictly
-- after it (when the shift under way ends); backward, the last at or before it (when it began).
-- Null when there is none within 500 boundaries.

CREATE OR REPLACE FUNCTION readiness_shift_start(p_zone uuid, p_t timestamptz, p_forward boolean)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
  b timestamptz := CASE WHEN p_forward THEN readiness_boundary(p_zone, p_t, true) ELSE readiness_boundary(p_zone, p_t, false) END;
BEGIN
  FOR i IN 1..500 LOOP
    IF b IS NULL OR readiness_is_shift_start(p_zone, b) THEN
      RETURN b;
    END IF;
    b := CASE WHEN p_forward THEN readiness_boundary(p_zone, b, true)
              ELSE readiness_boundary(p_zone, b - interval '1 microsecond', false) END;
  END LOOP;
  RETURN NULL;
END
$$;
