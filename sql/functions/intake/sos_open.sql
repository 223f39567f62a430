-- Opens an incident, or returns the one this driver already opened with this clientRequestId, in
-- one call and one transaction: the incident with its escalation state, its first trail point, its
-- events, the opening step's pages and the links to the driver's other open incidents. An SOS is
-- never refused: should planning or queueing its pages fail, it is stored due at once and the
-- engine's next tick escalates it. p_cleaned names the free-text fields (`note`) from which the
-- caller replaced what PostgreSQL cannot store; incident.opened records them as `cleaned`.
-- With p_claim_max > 0 the first p_claim_max pages (in the sender's order) are stored already
-- claimed for the caller's sender (status 'sending', a lease of p_lease_seconds, as
-- claim_incident_pages() would leave them) and answered in `pages`: a page born claimed is written
-- once instead of inserted and then updated, and never enters the queue's index.
CREATE OR REPLACE FUNCTION sos_open(p_driver uuid, p_client_request uuid, p_source text,
                                    p_kind text, p_severity text, p_zone uuid, p_zone_rule text,
                                    p_lat double precision, p_lng double precision,
                                    p_acc double precision, p_captured timestamp with time zone,
                                    p_note text, p_actor text, p_cleaned text[] DEFAULT NULL,
                                    p_lease_seconds integer DEFAULT NULL, p_claim_max integer DEFAULT NULL)
RETURNS TABLE(incident jsonb, created boolean, pages jsonb)
LANGUAGE plpgsql
SET plan_cache_mode TO 'force_generic_plan'
SET enable_seqscan TO 'off'
AS $$
DECLARE
  v_at constant timestamptz := now();
  v_opened constant timestamptz := date_trunc('milliseconds', now());
  v_inc incidents%ROWTYPE;
  v_id uuid;
  v_loc bigint;
  v_digest text;
  v_opened_data jsonb;
  v_checkin_s integer;            -- the zone's check-in interval
  -- the opening escalation
  policy jsonb;
  steps jsonb;
  n integer;
  si integer;
  v_step jsonb;
  who uuid[];
  leads uuid[];
  last_reached boolean := true;
  reached_any boolean := false;
  plan_data jsonb[] := '{}';      -- escalation.step event data, in order
  plan_step integer[] := '{}';
  plan_channels jsonb[] := '{}';
  esc_step integer := -1;
  esc_next timestamptz := v_opened;
  both_channels constant text[] := ARRAY['sms', 'voice'];
  v_claim integer := greatest(coalesce(p_claim_max, 0), 0);
  v_lease constant timestamptz := now() + make_interval(secs => coalesce(p_lease_seconds, 0));
  v_sender uuid;
  v_pages jsonb := '[]';
BEGIN
  -- One driver's presses are taken one at a time, so two different emergencies opened at the
  -- same instant still see, and note, each other.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_driver::text, 0));

  BEGIN
    SELECT z.escalation_policy, z.check_in_seconds INTO policy, v_checkin_s FROM zones z WHERE z.id = p_zone;
    policy := coalesce(policy, default_escalation_policy());
    steps := policy -> 'steps';
    n := jsonb_array_length(steps);
    si := 0;
    WHILE si < n LOOP
      v_step := steps -> si;
      EXIT WHEN last_reached AND v_opened + make_interval(secs => (v_step ->> 'afterSeconds')::integer) > v_at;
      SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO who FROM step_recipients(p_zone, v_step -> 'notify', v_at) r;
      plan_step := plan_step || si;
      plan_channels := plan_channels || (v_step -> 'channels');
      plan_data := plan_data || jsonb_build_object(
        'step', si, 'round', 0, 'notify', v_step -> 'notify', 'channels', v_step -> 'channels',
        'recipients', coalesce(to_jsonb(who), '[]'::jsonb), 'skipped', who IS NULL);
      last_reached := who IS NOT NULL;
      reached_any := reached_any OR (who IS NOT NULL AND jsonb_array_length(v_step -> 'channels') > 0);
      esc_step := si;
      si := si + 1;
    END LOOP;
    IF si < n THEN
      esc_next := v_opened + make_interval(secs => (steps -> si ->> 'afterSeconds')::integer);
    ELSE
      IF NOT reached_any THEN
        SELECT array_agg(u.id ORDER BY u.id) INTO leads FROM users u WHERE u.role = 'safety_lead' AND u.phone IS NOT NULL;
        plan_step := plan_step || (n - 1);
        plan_channels := plan_channels || to_jsonb(both_channels);
        plan_data := plan_data || jsonb_build_object(
          'step', n - 1, 'round', 0, 'notify', '["safety_leads"]'::jsonb, 'channels', to_jsonb(both_channels),
          'recipients', coalesce(to_jsonb(leads), '[]'::jsonb), 'skipped', leads IS NULL,
          'reason', 'no step reached anyone');
      END IF;
      esc_step := n - 1;
      esc_next := v_at + make_interval(secs => coalesce((policy ->> 'repeatEverySeconds')::integer, 120));
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'escalation plan for a new incident of driver % failed (the engine will retry): %', p_driver, SQLERRM;
    plan_data := '{}';
    plan_step := '{}';
    plan_channels := '{}';
    esc_step := -1;
    esc_next := v_opened;
  END;

  -- The first check-in is due after the zone's interval or 30 s, whichever is sooner (30 s without
  -- a zone); the later ones follow the zone's interval (checkin_receive, checkins_due).
  INSERT INTO incidents (driver_id, client_request_id, source, kind, severity, zone_id, zone_rule, note,
                         lat, lng, accuracy_m, location_at, opened_at, esc_step, esc_next_at, checkin_next_at)
  VALUES (p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule, p_note,
          p_lat, p_lng, p_acc, CASE WHEN p_lat IS NOT NULL THEN coalesce(p_captured, now()) END,
          v_opened, esc_step, esc_next, v_opened + make_interval(secs => least(coalesce(v_checkin_s, 30), 30)))
  ON CONFLICT (driver_id, client_request_id) DO NOTHING
  RETURNING * INTO v_inc;
  v_id := v_inc.id;

  IF v_id IS NULL THEN
    SELECT i.id INTO v_id FROM incidents i WHERE i.driver_id = p_driver AND i.client_request_id = p_client_request;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (v_id, 'incident.duplicate_request', p_actor, jsonb_build_object('clientRequestId', p_client_request));
    RETURN QUERY SELECT to_jsonb(i), false, '[]'::jsonb FROM incidents i WHERE i.id = v_id;
    RETURN;
  END IF;

  IF p_lat IS NOT NULL THEN
    INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at)
    VALUES (v_id, p_lat, p_lng, p_acc, coalesce(p_captured, now()))
    RETURNING id, location_digest(lat, lng, accuracy_m, captured_at, salt) INTO v_loc, v_digest;
  END IF;

  v_opened_data := jsonb_strip_nulls(jsonb_build_object(
    'kind', p_kind, 'severity', p_severity, 'source', p_source, 'zoneId', p_zone, 'zoneRule', p_zone_rule,
    'clientRequestId', p_client_request, 'note', p_note, 'cleaned', to_jsonb(p_cleaned),
    'location', CASE WHEN v_loc IS NOT NULL THEN jsonb_build_object('id', v_loc, 'digest', v_digest, 'accuracyM', p_acc) END));

  -- The driver's other open incidents (the newest few) get an incident.linked event each below,
  -- newest first, and so their timeline heads would be locked in that order. Every batch that
  -- writes to several incidents locks them in id order, and their heads after them (see
  -- page_sent_many()): taken newest first, the heads could deadlock with a batch of send records
  -- or callbacks holding the same incidents. So they are locked here first, in id order, outside
  -- the block below so that its fallback holds them too.
  PERFORM 1 FROM incidents o
  WHERE o.id IN (SELECT q.id FROM incidents q WHERE q.driver_id = p_driver AND q.id <> v_id AND q.status <> 'resolved'
                 ORDER BY q.opened_at DESC LIMIT 3)
  ORDER BY o.id
  FOR NO KEY UPDATE;

  -- Everything else in one statement, in this order: incident.opened; each
  -- started step's escalation.step event followed by its pages' page.queued events (as
  -- queue_pages() writes them: by recipient, then channel); then the links to the driver's other
  -- open incidents, the newest few only (so a runaway app pressing SOS with fresh ids cannot
  -- make every press cost more than the last), newest first, this incident's note before the
  -- other's.
  -- Should storing the pages claimed fail, they are stored queued instead, for the sender to claim.
  LOOP
    BEGIN
      IF v_claim > 0 THEN
        v_sender := nullif(current_setting('mayday.sender', true), '')::uuid;
      END IF;
      WITH plan AS (
        SELECT s.ord, s.step, s.data, s.channels
        FROM unnest(plan_step, plan_data, plan_channels) WITH ORDINALITY AS s(step, data, channels, ord)
      ), want AS (
        SELECT u.id AS recipient_id, u.phone, ch.c AS channel, plan.step,
               row_number() OVER (ORDER BY plan.step, u.id, ch.c) AS n
        FROM plan
        CROSS JOIN LATERAL jsonb_array_elements_text(plan.data -> 'recipients') r(rid)
        -- One primary-key lookup per recipient (LIMIT keeps the planner from turning this into a
        -- hash join over every user, drivers included).
        CROSS JOIN LATERAL (SELECT u.id, u.phone FROM users u WHERE u.id = r.rid::uuid AND u.phone IS NOT NULL LIMIT 1) u
        CROSS JOIN LATERAL jsonb_array_elements_text(plan.channels) ch(c)
      ), ins AS (
        INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, not_before,
                           status, tries, lease_until, lease_owner)
        SELECT v_id, w.recipient_id, w.phone, w.channel, 'page', w.step, 0, 1, least(v_at, now()),
               CASE WHEN w.n <= v_claim THEN 'sending' ELSE 'queued' END,
               CASE WHEN w.n <= v_claim THEN 1 ELSE 0 END,
               CASE WHEN w.n <= v_claim THEN v_lease END,
               CASE WHEN w.n <= v_claim THEN v_sender END
        FROM want w
        ON CONFLICT DO NOTHING
        RETURNING id, recipient_id, channel, step, attempt, not_before
      ), others AS (
        SELECT o.id, o.opened_at FROM incidents o
        WHERE o.driver_id = p_driver AND o.id <> v_id AND o.status <> 'resolved'
        ORDER BY o.opened_at DESC LIMIT 3
      ), ev AS (
        SELECT v_id AS incident_id, 'incident.opened'::text AS type, p_actor AS actor, v_opened_data AS data,
               0::bigint AS k, NULL::timestamptz AS other_at, NULL::uuid AS other_id, 0 AS sub, NULL::uuid AS r, NULL::text AS c
        UNION ALL
        SELECT v_id, 'escalation.step', 'system', plan.data, plan.ord, NULL, NULL, 0, NULL, NULL FROM plan
        UNION ALL
        SELECT v_id, 'page.queued', 'system', jsonb_build_object(
                 'pageId', ins.id, 'recipientId', ins.recipient_id, 'channel', ins.channel, 'purpose', 'page',
                 'step', ins.step, 'round', 0, 'attempt', ins.attempt, 'notBefore', ins.not_before, 'note', NULL),
               (SELECT max(plan.ord) FROM plan WHERE plan.step = ins.step), NULL, NULL, 1, ins.recipient_id, ins.channel
        FROM ins
        UNION ALL
        SELECT x.incident_id, 'incident.linked', 'system', x.data, 1000000, q.opened_at, q.id, x.ord, NULL, NULL
        FROM others q CROSS JOIN LATERAL (VALUES
          (1, v_id, jsonb_build_object('otherIncidentId', q.id, 'reason', 'driver_has_open_incident')),
          (2, q.id, jsonb_build_object('otherIncidentId', v_id, 'reason', 'driver_opened_another'))) x(ord, incident_id, data)
      )
      INSERT INTO incident_events (incident_id, type, actor, data)
      SELECT ev.incident_id, ev.type, ev.actor, ev.data FROM ev
      ORDER BY ev.k, ev.other_at DESC, ev.other_id, ev.sub, ev.r, ev.c;
      EXIT;
    EXCEPTION WHEN OTHERS THEN
      IF v_claim > 0 THEN
        RAISE WARNING 'claiming the first pages of new incident % failed (they stay queued): %', v_id, SQLERRM;
        v_claim := 0;
        CONTINUE;
      END IF;
      -- Escalation failed (or the links did): the incident is stored all the same, due at once,
      -- and the engine starts its escalation on its next tick.
      RAISE WARNING 'escalation of new incident % failed (the engine will retry): %', v_id, SQLERRM;
      UPDATE incidents SET esc_step = -1, esc_next_at = v_opened WHERE id = v_id;
      INSERT INTO incident_events (incident_id, type, actor, data) VALUES (v_id, 'incident.opened', p_actor, v_opened_data);
      INSERT INTO incident_events (incident_id, type, actor, data)
      SELECT x.incident_id, 'incident.linked', 'system', x.data
      FROM (SELECT o.id, o.opened_at FROM incidents o
            WHERE o.driver_id = p_driver AND o.id <> v_id AND o.status <> 'resolved'
            ORDER BY o.opened_at DESC LIMIT 3) q
      CROSS JOIN LATERAL (VALUES
        (1, v_id, jsonb_build_object('otherIncidentId', q.id, 'reason', 'driver_has_open_incident')),
        (2, q.id, jsonb_build_object('otherIncidentId', v_id, 'reason', 'driver_opened_another'))) x(ord, incident_id, data)
      ORDER BY q.opened_at DESC, q.id, x.ord;
      EXIT;
    END;
  END LOOP;

  IF v_claim > 0 THEN
    BEGIN
      v_pages := claimed_pages(v_id, NULL);
    EXCEPTION WHEN OTHERS THEN
      -- Not answered, so not sent by the caller: back to the queue, for the sender to claim.
      RAISE WARNING 'answering the claimed pages of new incident % failed (they go back to the queue): %', v_id, SQLERRM;
      UPDATE pages SET status = 'queued', tries = 0, lease_until = NULL, lease_owner = NULL
      WHERE incident_id = v_id AND status = 'sending';
      v_pages := '[]';
    END;
  END IF;
  RETURN QUERY SELECT to_jsonb(v_inc), true, v_pages;
END
$$;
