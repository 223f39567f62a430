-- 011 the SOS and the claim of its first pages in one transaction, not two.
--
-- Why: sos_open_and_claim() (009) committed the SOS, then claimed its pages in a second
-- transaction. Every commit waits for its WAL to reach the disk, and under load that wait (the
-- WAL write lock, then the sync) was most of the time the database spent on an SOS: the 201, and
-- the first page behind it, waited for two flushes. Now they wait for one.
--
-- What a crash does is unchanged in kind. Before, a caller that died between the two commits
-- left queued pages (the next sweep of any instance sent them), and one that died after the
-- second left claimed pages (their lease ran out, their outcome unknown, a new attempt). Now
-- only the second case exists: the SOS, its timeline and its claimed pages commit together or
-- not at all. A claim that fails still leaves the SOS stored with its pages queued: the claim
-- runs in a block of its own (a subtransaction), and the caller wakes its sender when it gets
-- no pages back.
--
-- The claim itself is now one function, claim_incident_pages(), as claimPages()
-- (src/paging/store.ts) claims, for one incident's due pages only.
--
-- What 009 and 010 say of a COMMIT inside these procedures (no SET clause because of it; not
-- callable inside a transaction block) no longer holds: neither commits now. They stay
-- procedures, so that their callers need no change.

CREATE FUNCTION claim_incident_pages(p_incident uuid, p_lease_seconds integer, p_claim_max integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_pages jsonb;
BEGIN
  WITH c AS (
    SELECT p.id FROM pages p
    WHERE p.incident_id = p_incident AND p.status = 'queued' AND p.not_before <= now()
    ORDER BY p.not_before, p.step, p.recipient_id, p.channel
    LIMIT p_claim_max
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE pages p SET status = 'sending', tries = p.tries + 1, lease_until = now() + make_interval(secs => p_lease_seconds)
    FROM c WHERE p.id = c.id
    RETURNING p.*
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', claimed.id, 'incident_id', claimed.incident_id, 'recipient_id', claimed.recipient_id, 'phone', claimed.phone,
           'channel', claimed.channel, 'purpose', claimed.purpose, 'note', claimed.note, 'step', claimed.step,
           'round', claimed.round, 'attempt', claimed.attempt, 'tries', claimed.tries,
           'code', i.code, 'kind', i.kind, 'severity', i.severity, 'incident_status', i.status,
           'lat', i.lat, 'lng', i.lng, 'accuracy_m', i.accuracy_m, 'location_at', i.location_at,
           'driver_name', d.name, 'zone_name', z.name, 'recipient_name', r.name)
         ORDER BY claimed.step, claimed.recipient_id, claimed.channel), '[]')
  INTO v_pages
  FROM claimed
  JOIN incidents i ON i.id = claimed.incident_id
  JOIN users d ON d.id = i.driver_id
  JOIN users r ON r.id = claimed.recipient_id
  LEFT JOIN zones z ON z.id = i.zone_id;
  RETURN v_pages;
END
$$;

CREATE OR REPLACE PROCEDURE sos_open_and_claim(p_driver uuid, p_client_request uuid, p_source text, p_kind text, p_severity text,
                                               p_zone uuid, p_zone_rule text, p_lat double precision, p_lng double precision,
                                               p_acc double precision, p_captured timestamptz, p_note text, p_actor text,
                                               p_lease_seconds integer, p_claim_max integer,
                                               INOUT o_incident jsonb DEFAULT NULL, INOUT o_created boolean DEFAULT NULL,
                                               INOUT o_pages jsonb DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
BEGIN
  SELECT s.incident, s.created INTO o_incident, o_created
  FROM sos_open(p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule,
                p_lat, p_lng, p_acc, p_captured, p_note, p_actor) s;
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
