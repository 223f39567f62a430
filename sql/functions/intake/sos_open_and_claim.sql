-- sos_open() with the new incident's first pages claimed for the caller's sender (up to
-- p_claim_max, stored already claimed), so that the SOS and its first pages commit once; o_pages
-- answers them. Should storing them claimed fail, they are stored queued for the sender (o_pages
-- empty); should that fail too, the SOS is stored all the same, due at once for the engine.

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
BEGIN
  SELECT s.incident, s.created, s.pages INTO o_incident, o_created, o_pages
  FROM sos_open(p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule,
                p_lat, p_lng, p_acc, p_captured, p_note, p_actor, p_cleaned,
                p_lease_seconds, p_claim_max) s;
END
$$;
