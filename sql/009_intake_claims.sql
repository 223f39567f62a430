-- 009 intake claims its pages: the SOS and the claim of its first pages in one round trip.
--
-- Why: after the SOS committed, the instance that took it woke its sender, which claimed the
-- new pages (claimPages()) in a query of its own on the shared pool, queued behind status
-- callbacks and sends, before the first Twilio request could start: a second round trip, and a
-- wait for a connection, on the path of every SOS's first page.
--
-- sos_open_and_claim() is a procedure: it runs sos_open() exactly as before and COMMITs (the
-- incident, its timeline and its pages, queued, are then durable and visible to every sender),
-- then claims, in a second transaction, up to p_claim_max of the new incident's due pages for
-- the caller, as claimPages() would claim them (status 'sending', one more try, a lease of
-- p_lease_seconds), and returns them with what their messages need. Nothing about a crash
-- changes: should the caller die between the two commits, the pages are queued and the next
-- sweep of any instance sends them; after the second, they are claimed pages like any other
-- (their lease runs out, their outcome is unknown, a new attempt follows). Two transactions as
-- before, one round trip instead of two.
--
-- A procedure, not a function, because only a procedure may COMMIT; it carries no SET clause
-- for the same reason (sos_open() keeps its own). It cannot run inside a transaction block: a
-- support request promoted in its own transaction calls sos_open() and leaves its pages queued.

CREATE PROCEDURE sos_open_and_claim(p_driver uuid, p_client_request uuid, p_source text, p_kind text, p_severity text,
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
  COMMIT;

  -- The SOS is stored: whatever happens to the claim now, the caller must hear so. A claim that
  -- fails leaves the pages queued (the caller's sender then looks for them).
  BEGIN
    v_id := (o_incident ->> 'id')::uuid;
    -- As claimPages() (src/paging/store.ts), for this incident's pages only.
    WITH c AS (
      SELECT p.id FROM pages p
      WHERE p.incident_id = v_id AND p.status = 'queued' AND p.not_before <= now()
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
    INTO o_pages
    FROM claimed
    JOIN incidents i ON i.id = claimed.incident_id
    JOIN users d ON d.id = i.driver_id
    JOIN users r ON r.id = claimed.recipient_id
    LEFT JOIN zones z ON z.id = i.zone_id;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'claim of the first pages of incident % failed (they stay queued): %', v_id, SQLERRM;
    o_pages := '[]';
  END;
END
$$;
