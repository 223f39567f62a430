-- The engine's readiness work as of p_at, claimed with FOR UPDATE SKIP LOCKED so that instances
-- ticking at once share it and never do one thing twice. First, zones whose next shift start has
-- come get the check of the shift under way (the one that began last, so an engine that was down
-- asks about the current shift, not the missed ones), for whoever is on call then; the zone then
-- waits for its next shift start. Then up to p_limit checks that are due are claimed, their due_at
-- moved p_lease_seconds ahead (should the caller die before recording, they are due again then):
-- 'ask' (not asked yet: text the responder) or 'missed' (asked, not confirmed after the zone's
-- grace: page its safety leads, or with none the zone's other supervisors; also again while no page
-- got through). recipients: the people to send to, with phone and language.

CREATE OR REPLACE FUNCTION readiness_due(p_at timestamptz, p_limit integer, p_lease_seconds integer)
RETURNS TABLE(check_id uuid, action text, code integer, zone_name text, shift_start timestamptz, shift_end timestamptz,
              asked_at timestamptz, responder_name text, recipients jsonb)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  z record;
  s timestamptz;
  r uuid;
BEGIN
  FOR z IN
    SELECT rz.zone_id, rz.next_at FROM readiness_zones rz
    WHERE rz.next_at IS NOT NULL AND rz.next_at <= p_at
    ORDER BY rz.next_at LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  LOOP
    s := readiness_shift_start(z.zone_id, p_at, false);
    r := CASE WHEN s IS NULL THEN NULL ELSE oncall_responder(z.zone_id, s) END;
    -- A start before next_at was looked at already (or began before the rotation was set).
    IF s >= z.next_at AND r IS NOT NULL THEN
      INSERT INTO readiness_checks (zone_id, responder_id, reason, shift_start, shift_end, due_at)
      VALUES (z.zone_id, r,
              CASE WHEN EXISTS (SELECT 1 FROM overrides o
                                 WHERE o.zone_id = z.zone_id AND o.responder_id = r AND o.from_at <= s AND s < o.to_at)
                   THEN 'override' ELSE 'rotation' END,
              s, readiness_shift_start(z.zone_id, s, true), s)
      -- The start was checked already (an override beginning exactly then): when it puts someone
      -- else on call, the check is theirs now, asked at once, with a new code and id (so that a
      -- send to the one before, still under way, records nothing on it).
      ON CONFLICT (zone_id, shift_start) DO UPDATE
        SET id = gen_random_uuid(), responder_id = EXCLUDED.responder_id, reason = EXCLUDED.reason, shift_end = EXCLUDED.shift_end,
            code = nextval('readiness_code_seq'), created_at = now(), asked_at = NULL, asked_via = NULL,
            confirmed_at = NULL, missed_at = NULL, due_at = EXCLUDED.due_at
        WHERE readiness_checks.responder_id <> EXCLUDED.responder_id;
    END IF;
    UPDATE readiness_zones SET next_at = readiness_shift_start(z.zone_id, p_at, true) WHERE zone_id = z.zone_id;
  END LOOP;

  RETURN QUERY
  WITH due AS (
    SELECT c.id FROM readiness_checks c
    WHERE c.due_at IS NOT NULL AND c.due_at <= p_at
    ORDER BY c.due_at LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE readiness_checks c SET due_at = p_at + make_interval(secs => p_lease_seconds)
    FROM due WHERE c.id = due.id
    RETURNING c.*
  )
  SELECT c.id, CASE WHEN c.asked_at IS NULL THEN 'ask' ELSE 'missed' END, c.code, zn.name, c.shift_start, c.shift_end,
         c.asked_at, u.name,
         CASE WHEN c.asked_at IS NULL
           THEN jsonb_build_array(jsonb_build_object('id', u.id, 'phone', u.phone, 'language', u.language))
           ELSE coalesce(
             (SELECT jsonb_agg(jsonb_build_object('id', l.id, 'phone', l.phone, 'language', l.language) ORDER BY l.id)
                FROM users l WHERE l.id IN (SELECT sr.recipient_id FROM step_recipients(c.zone_id, '["safety_leads"]'::jsonb, p_at) sr)),
             (SELECT jsonb_agg(jsonb_build_object('id', l.id, 'phone', l.phone, 'language', l.language) ORDER BY l.id)
                FROM users l WHERE l.id <> c.responder_id
                  AND l.id IN (SELECT sr.recipient_id FROM step_recipients(c.zone_id, '["zone_supervisors"]'::jsonb, p_at) sr)),
             '[]'::jsonb)
         END
  FROM claimed c JOIN zones zn ON zn.id = c.zone_id JOIN users u ON u.id = c.responder_id;
END
$$;
