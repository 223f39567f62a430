-- sos_open() and, in the same transaction, the claim of the new incident's first due pages for the
-- caller's sender (claim_incident_pages()), so that the SOS and its first pages commit once. A claim
-- that fails leaves the SOS stored with its pages queued (o_pages is then empty).

CREATE OR REPLACE PROCEDURE sos_open_and_claim(IN p_driver uuid, IN p_client_request uuid,
                                               IN p_source text, IN p_kind text, IN p_severity text,
                                               IN p_zone uuid, IN p_zone_rule text,
                                               IN p_lat double precision, IN p_lng double precision,
                                               IN p_acc double precision,
                                               IN p_captured timestamp with time zone,
                                               IN p_note text, IN p_actor text,
                                               IN p_lease_seconds integer, IN p_claim_max integer,
                                               INOUT o_incident jsonb DEFAULT NULL::jsonb,
                                               INOUT o_created boolean DEFAULT NULL::boolean,
                                               INOUT o_pages jsonb DEFAULT NULL::jsonb,
                                               IN p_cleaned text[] DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
  v_id uuid;
BEGIN
  SELECT s.incident, s.created INTO o_incident, o_created
  FROM sos_open(p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule,
                p_lat, p_lng, p_acc, p_captured, p_note, p_actor, p_cleaned) s;
  o_pages := '[]';
  IF NOT o_created OR coalesce(p_claim_max, 0) <= 0 THEN
    RETURN;
  END IF;
  BEGIN
    v_id := (o_incident ->> 'id')::uuid;
    o_pages := claim_incident_pages(v_id, p_lease_seconds, p_claim_max);
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'claim of the first pages of incident % failed (they stay queued): %', v_id, SQLERRM;
    o_pages := '[]';
  END;
END
$$;
