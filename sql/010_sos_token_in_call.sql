-- 010 the SOS checks its own token: the bearer token's lookup and the SOS in one round trip.
--
-- Why: a driver presses SOS rarely, so the token of almost every real SOS is not in the
-- instance's token cache (5 s; a Worker keeps none), and its lookup was a round trip of its own,
-- on the shared pool, before the SOS could start: one more network round trip to the database
-- on the path of every real SOS. On this project's loopback benchmark a round trip is cheap, and
-- six alternating runs each gave SOS → 201 p50 10.8 ms against 11.9 ms (means), the p99 within
-- the runs' noise; the saving is one database round trip wherever the database is not local.
--
-- sos_open_by_token() finds the live token's user (as findPrincipalByTokenHash() does) and
-- answers it in o_user; only for a driver does it go on, as sos_open_and_claim() with that
-- driver (the actor is the driver, as actorOf() writes it). An unknown or revoked token leaves
-- o_user NULL, another role leaves o_incident NULL: nothing is stored, and the caller answers
-- 401 or 403 as the middleware would have. The token is judged in the transaction that stores
-- the SOS, so a token revoked a moment before no longer opens one.
--
-- No SET clause, for the same reason as sos_open_and_claim(): it COMMITs (through it).

CREATE PROCEDURE sos_open_by_token(p_token_hash text, p_client_request uuid, p_source text, p_kind text, p_severity text,
                                   p_zone uuid, p_zone_rule text, p_lat double precision, p_lng double precision,
                                   p_acc double precision, p_captured timestamptz, p_note text,
                                   p_lease_seconds integer, p_claim_max integer,
                                   INOUT o_user jsonb DEFAULT NULL, INOUT o_incident jsonb DEFAULT NULL,
                                   INOUT o_created boolean DEFAULT NULL, INOUT o_pages jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
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
                          p_lease_seconds, p_claim_max, o_incident, o_created, o_pages);
END
$$;
