-- The SOS in one round trip with its bearer token: finds the live token's user (o_user) and, for a
-- driver only, runs sos_open_and_claim() as that driver. An unknown or revoked token leaves o_user
-- NULL and another role leaves o_incident NULL: nothing is stored, and the caller answers 401 or 403.

CREATE OR REPLACE PROCEDURE sos_open_by_token(IN p_token_hash text, IN p_client_request uuid,
                                              IN p_source text, IN p_kind text, IN p_severity text,
                                              IN p_zone uuid, IN p_zone_rule text,
                                              IN p_lat double precision, IN p_lng double precision,
                                              IN p_acc double precision,
                                              IN p_captured timestamp with time zone,
                                              IN p_note text, IN p_lease_seconds integer,
                                              IN p_claim_max integer,
                                              INOUT o_user jsonb DEFAULT NULL::jsonb,
                                              INOUT o_incident jsonb DEFAULT NULL::jsonb,
                                              INOUT o_created boolean DEFAULT NULL::boolean,
                                              INOUT o_pages jsonb DEFAULT NULL::jsonb,
                                              IN p_cleaned text[] DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
  v_id uuid;
  v_role text;
BEGIN
  SELECT u.id, u.role, jsonb_build_object('id', u.id, 'role', u.role, 'name', u.name)
  INTO v_id, v_role, o_user
  FROM tokens t JOIN users u ON u.id = t.user_id
  WHERE t.token_hash = p_token_hash AND t.revoked_at IS NULL;
  IF v_id IS NULL OR v_role <> 'driver' THEN
    RETURN;
  END IF;
  CALL sos_open_and_claim(v_id, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule,
                          p_lat, p_lng, p_acc, p_captured, p_note, 'driver:' || v_id,
                          p_lease_seconds, p_claim_max, o_incident, o_created, o_pages, p_cleaned);
END
$$;
