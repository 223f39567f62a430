-- 007 lean intake: the same SOS, pages and timeline for a fraction of the database's work.
--
-- Why: profiled (track_functions, perf on a backend), one SOS cost ~3 ms of database CPU in its
-- own transaction and ~8 ms with its pages' sends and status callbacks. The causes, and what
-- this migration does about each (behaviour, events and their data are unchanged):
--  * timeline_hash(), location_digest() and audit_log_hash() were declared IMMUTABLE but call
--    to_char(), which is only STABLE, so PostgreSQL would not inline them: every call parsed and
--    planned the function body again (once per timeline event). Declared STABLE (what they
--    are), they are inlined into the statements that call them and planned once per session.
--  * oncall_responder() (SQL with subqueries, never inlinable) was parsed and planned on every
--    call, twice per SOS. As plpgsql its plans are cached.
--  * Linking a driver's other open incidents scanned every open incident of every driver (the
--    planner picked incidents_active_idx and filtered on driver_id): the cost of an SOS grew
--    with the number of open incidents. A small partial index answers it directly.
--  * The first escalation step ran in an AFTER INSERT trigger on the incident.opened event, which
--    re-read the incident and then rewrote it (esc_step, esc_next_at: a new row version and an
--    entry in each of its indexes). sos_open() now works out the opening step before it inserts
--    the incident, inserts it with its escalation state already set, and then writes the step's
--    event and pages. The trigger is dropped.
--  * pages_incident_idx duplicated the leading columns of the pages unique key; every page and
--    every status change paid for both.
--  * page_callback() locked the page (FOR UPDATE) and then updated it once or twice per callback;
--    the common callbacks (a status moving forward that needs no other work) are now a single
--    conditional UPDATE. page_sent() only looks for a retry to cancel when there can be one.

ALTER FUNCTION timeline_hash(text, uuid, integer, text, timestamptz, text, jsonb) STABLE;
ALTER FUNCTION location_digest(double precision, double precision, double precision, timestamptz, text) STABLE;
ALTER FUNCTION audit_log_hash(text, bigint, timestamptz, text, text, jsonb) STABLE;

-- Same answer as in 001: the newest covering override, else the rotation's shift.
CREATE OR REPLACE FUNCTION oncall_responder(p_zone uuid, p_at timestamptz) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v uuid;
BEGIN
  SELECT o.responder_id INTO v FROM overrides o
  WHERE o.zone_id = p_zone AND o.from_at <= p_at AND p_at < o.to_at
  ORDER BY o.created_at DESC, o.id DESC LIMIT 1;
  IF v IS NOT NULL THEN
    RETURN v;
  END IF;
  SELECT r.responder_ids[1 + mod(mod(floor(extract(epoch FROM (p_at - r.starts_at)) / (r.shift_minutes * 60))::bigint,
                                     cardinality(r.responder_ids)) + cardinality(r.responder_ids),
                                 cardinality(r.responder_ids))::int]
  INTO v FROM rotations r WHERE r.zone_id = p_zone;
  RETURN v;
END
$$;

-- A driver's open incidents, newest first (sos_open links a new one to the newest few).
CREATE INDEX incidents_driver_open_idx ON incidents (driver_id, opened_at DESC) WHERE status <> 'resolved';

-- The unique key (incident_id, recipient_id, channel, purpose, step, round, attempt) serves
-- every lookup this index did.
DROP INDEX pages_incident_idx;

DROP TRIGGER incident_opened_escalate ON incident_events;

-- Open an incident, as in 001 and 002: one call, one round trip, one transaction. The opening
-- escalation follows escalate() exactly for an incident that has started no step: every step
-- whose time has come starts (a step that reaches nobody does not make the next wait), and if
-- every step started and none reached anyone, every safety lead is paged. The difference is
-- only in when things are written: the plan is made first, so the incident row is written once
-- with its escalation state. An SOS is still never refused: should planning or queueing fail,
-- the incident is stored due at once (step -1) and the engine retries it.
CREATE OR REPLACE FUNCTION sos_open(p_driver uuid, p_client_request uuid, p_source text, p_kind text, p_severity text,
                                    p_zone uuid, p_zone_rule text, p_lat double precision, p_lng double precision,
                                    p_acc double precision, p_captured timestamptz, p_note text, p_actor text)
RETURNS TABLE (incident jsonb, created boolean)
LANGUAGE plpgsql
-- Plans made once per session (see the end of this file).
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_at constant timestamptz := now();
  v_opened constant timestamptz := date_trunc('milliseconds', now());
  v_inc incidents%ROWTYPE;
  v_id uuid;
  v_loc bigint;
  v_digest text;
  v_opened_data jsonb;
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
BEGIN
  -- One driver's presses are taken one at a time, so two different emergencies opened at the
  -- same instant still see, and note, each other.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_driver::text, 0));

  BEGIN
    SELECT z.escalation_policy INTO policy FROM zones z WHERE z.id = p_zone;
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

  INSERT INTO incidents (driver_id, client_request_id, source, kind, severity, zone_id, zone_rule, note,
                         lat, lng, accuracy_m, location_at, opened_at, esc_step, esc_next_at)
  VALUES (p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule, p_note,
          p_lat, p_lng, p_acc, CASE WHEN p_lat IS NOT NULL THEN coalesce(p_captured, now()) END,
          v_opened, esc_step, esc_next)
  ON CONFLICT (driver_id, client_request_id) DO NOTHING
  RETURNING * INTO v_inc;
  v_id := v_inc.id;

  IF v_id IS NULL THEN
    SELECT i.id INTO v_id FROM incidents i WHERE i.driver_id = p_driver AND i.client_request_id = p_client_request;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (v_id, 'incident.duplicate_request', p_actor, jsonb_build_object('clientRequestId', p_client_request));
    RETURN QUERY SELECT to_jsonb(i), false FROM incidents i WHERE i.id = v_id;
    RETURN;
  END IF;

  IF p_lat IS NOT NULL THEN
    INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at)
    VALUES (v_id, p_lat, p_lng, p_acc, coalesce(p_captured, now()))
    RETURNING id, location_digest(lat, lng, accuracy_m, captured_at, salt) INTO v_loc, v_digest;
  END IF;

  v_opened_data := jsonb_strip_nulls(jsonb_build_object(
    'kind', p_kind, 'severity', p_severity, 'source', p_source, 'zoneId', p_zone, 'zoneRule', p_zone_rule,
    'clientRequestId', p_client_request, 'note', p_note,
    'location', CASE WHEN v_loc IS NOT NULL THEN jsonb_build_object('id', v_loc, 'digest', v_digest, 'accuracyM', p_acc) END));

  -- Everything else in one statement, in the order 001 and 002 wrote it: incident.opened; each
  -- started step's escalation.step event followed by its pages' page.queued events (as
  -- queue_pages() writes them: by recipient, then channel); then the links to the driver's other
  -- open incidents, the newest few only (so a runaway app pressing SOS with fresh ids cannot
  -- make every press cost more than the last), newest first, this incident's note before the
  -- other's.
  BEGIN
    WITH plan AS (
      SELECT s.ord, s.step, s.data, s.channels
      FROM unnest(plan_step, plan_data, plan_channels) WITH ORDINALITY AS s(step, data, channels, ord)
    ), ins AS (
      INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, not_before)
      SELECT v_id, u.id, u.phone, ch.c, 'page', plan.step, 0, 1, least(v_at, now())
      FROM plan
      CROSS JOIN LATERAL jsonb_array_elements_text(plan.data -> 'recipients') r(rid)
      -- One primary-key lookup per recipient (LIMIT keeps the planner from turning this into a
      -- hash join over every user, drivers included).
      CROSS JOIN LATERAL (SELECT u.id, u.phone FROM users u WHERE u.id = r.rid::uuid AND u.phone IS NOT NULL LIMIT 1) u
      CROSS JOIN LATERAL jsonb_array_elements_text(plan.channels) ch(c)
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
  EXCEPTION WHEN OTHERS THEN
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
  END;

  RETURN QUERY SELECT to_jsonb(v_inc), true;
END
$$;

-- Twilio took the page (as in 002); the retry to cancel exists only after an unknown outcome.
CREATE OR REPLACE FUNCTION page_sent(p_page uuid, p_sid text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
BEGIN
  UPDATE pages SET sid = p_sid, sent_at = coalesce(sent_at, now()), lease_until = NULL,
         status = CASE WHEN status IN ('sending', 'unknown') THEN 'sent' ELSE status END
  WHERE id = p_page AND sid IS NULL
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF v.error = 'outcome unknown' THEN
    -- A retry queued because this page's outcome was unknown is not needed after all.
    UPDATE pages p SET status = 'canceled'
    WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = v.channel
      AND p.step = v.step AND p.round = v.round AND p.attempt > v.attempt AND p.purpose = 'retry' AND p.status = 'queued';
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.sent', 'system', jsonb_build_object(
    'pageId', v.id, 'sid', p_sid, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt));
END
$$;

-- Twilio's statuses ranked per channel (as in page_callback() of 002); null: not a status.
CREATE FUNCTION page_status_rank(p_channel text, p_status text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (CASE p_channel
    WHEN 'sms' THEN CASE p_status WHEN 'accepted' THEN 0 WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0 WHEN 'sending' THEN 1
                    WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'undelivered' THEN 3 WHEN 'failed' THEN 3
                    WHEN 'read' THEN 4 WHEN 'canceled' THEN 3 ELSE NULL END
    ELSE CASE p_status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 0 WHEN 'ringing' THEN 1 WHEN 'in-progress' THEN 2
                    WHEN 'answered' THEN 2 WHEN 'completed' THEN 3 WHEN 'busy' THEN 3 WHEN 'no-answer' THEN 3
                    WHEN 'failed' THEN 3 WHEN 'canceled' THEN 3 ELSE NULL END
  END)::smallint
$$;

-- A status callback, as in 002: Twilio's statuses are ranked, and the stored one only moves
-- forward. New here, the fast path: a status that moves a page whose send is already recorded
-- forward, and asks for nothing else (not a failure, not the end of a call, no answering
-- machine), is one conditional UPDATE (the row lock it takes, and its recheck of the rank,
-- serialise it against any other callback of the page). Everything else, and anything the fast
-- path does not match (an unknown page, another sid, a send not recorded yet, a stale status),
-- goes the way it always went.
CREATE OR REPLACE FUNCTION page_callback(p_page uuid, p_sid text, p_status text, p_answered_by text, p_error_code text,
                                         p_retry_delay double precision, p_max_attempts integer DEFAULT 3)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
  rank smallint;
  machine boolean := p_answered_by IS NOT NULL AND (p_answered_by LIKE 'machine%' OR p_answered_by = 'fax');
  delivers boolean := p_status IN ('delivered', 'in-progress', 'answered');
  became_delivered boolean;
BEGIN
  IF p_status IS NOT NULL AND NOT machine
     AND p_status NOT IN ('undelivered', 'failed', 'canceled', 'busy', 'no-answer', 'completed') THEN
    UPDATE pages p SET twilio_status = p_status, twilio_rank = page_status_rank(p.channel, p_status),
           answered_by = coalesce(p.answered_by, p_answered_by),
           status = CASE WHEN delivers AND p.status IN ('sending', 'sent', 'unknown') THEN 'delivered' ELSE p.status END,
           delivered_at = CASE WHEN delivers AND p.status IN ('sending', 'sent', 'unknown') THEN now() ELSE p.delivered_at END
    WHERE p.id = p_page AND p.sid IS NOT NULL AND (p_sid IS NULL OR p.sid = p_sid)
      AND page_status_rank(p.channel, p_status) > p.twilio_rank
    RETURNING p.* INTO v;
    IF FOUND THEN
      became_delivered := delivers AND v.status = 'delivered' AND v.delivered_at = now();
      IF became_delivered THEN
        INSERT INTO incident_events (incident_id, type, actor, data)
        VALUES (v.incident_id, 'page.delivered', 'twilio', jsonb_strip_nulls(jsonb_build_object(
          'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'status', p_status,
          'answeredBy', coalesce(p_answered_by, v.answered_by))));
      END IF;
      RETURN p_status;
    END IF;
  END IF;

  -- The general path (002).
  SELECT * INTO v FROM pages WHERE id = p_page FOR UPDATE;
  IF NOT FOUND OR (p_sid IS NOT NULL AND v.sid IS NOT NULL AND v.sid <> p_sid) THEN
    RETURN 'unknown page';
  END IF;
  IF v.sid IS NULL AND p_sid IS NOT NULL AND p_status IS NOT NULL THEN
    -- The callback beat our own record of the send (or the send's answer was lost).
    PERFORM page_sent(p_page, p_sid);
    SELECT * INTO v FROM pages WHERE id = p_page;
  END IF;
  IF p_answered_by IS NOT NULL AND v.answered_by IS NULL THEN
    UPDATE pages SET answered_by = p_answered_by WHERE id = p_page;
    IF machine THEN
      PERFORM page_voicemail(p_page, p_answered_by, p_retry_delay, p_max_attempts);
    END IF;
  END IF;
  IF p_status IS NULL THEN
    RETURN 'answered_by';
  END IF;
  rank := page_status_rank(v.channel, p_status);
  IF rank IS NULL OR rank <= v.twilio_rank THEN
    RETURN 'stale';
  END IF;
  UPDATE pages SET twilio_status = p_status, twilio_rank = rank WHERE id = p_page;

  IF delivers THEN
    UPDATE pages SET status = 'delivered', delivered_at = now() WHERE id = p_page AND status IN ('sending', 'sent', 'unknown');
    IF FOUND THEN
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (v.incident_id, 'page.delivered', 'twilio', jsonb_strip_nulls(jsonb_build_object(
        'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'status', p_status,
        'answeredBy', coalesce(p_answered_by, v.answered_by))));
    END IF;
  ELSIF p_status IN ('undelivered', 'failed', 'canceled') THEN
    PERFORM page_failed(p_page, p_error_code, p_status);
  ELSIF p_status IN ('busy', 'no-answer') THEN
    PERFORM page_failed(p_page, p_error_code, p_status, p_retry_delay, p_max_attempts);
  ELSIF p_status = 'completed' THEN
    PERFORM page_voicemail(p_page, coalesce(p_answered_by, v.answered_by), p_retry_delay, p_max_attempts);
  END IF;
  RETURN p_status;
END
$$;

-- Plans made once per session. Statements inside plpgsql functions are prepared; for each,
-- PostgreSQL re-plans on every call ("custom" plans) as long as it estimates that a plan made
-- for the actual values beats the generic one, and for these it always did (the array of
-- channels unnested in queue_pages(), the notify list that step_recipients() branches on): a
-- quarter of the intake's database time was planning. Their generic plans are the same index
-- lookups. The setting holds for the duration of the call, functions it calls included.
ALTER FUNCTION escalate_due(timestamptz, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION checkins_due(timestamptz, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION page_sent(uuid, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION page_callback(uuid, text, text, text, text, double precision, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION page_failed(uuid, text, text, double precision, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION page_unknown(uuid, text, double precision, integer) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION page_voicemail(uuid, text, double precision, integer) SET plan_cache_mode = force_generic_plan;

-- Several sends Twilio took, or several status callbacks, recorded in one transaction: the
-- sender and the webhooks group what arrives together (src/paging/coalesce.ts), so a burst (a
-- step paging many people, many callbacks at once) is a few commits rather than one each, and
-- one incident's pages no longer queue one commit at a time on its timeline head. Each item
-- goes through page_sent() / page_callback() exactly as alone. To keep the lock order (page
-- rows, then timeline heads) the same in every batch, all the batch's page rows are locked
-- first, in id order, and the items are then taken by incident (and in arrival order within
-- one incident).
CREATE FUNCTION page_sent_many(p_pages uuid[], p_sids text[]) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  r record;
BEGIN
  -- The lock order of every function: incidents first (all of the batch's, in id order), then
  -- page rows (in id order), then timeline heads (incident by incident, below). The engine's
  -- batches hold their incidents while they touch those incidents' pages and timelines, so a
  -- batch that took page rows first could wait for their timelines while they wait for its pages.
  PERFORM 1 FROM incidents WHERE id IN (SELECT incident_id FROM pages WHERE id = ANY (p_pages)) ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM pages WHERE id = ANY (p_pages) ORDER BY id FOR UPDATE;
  FOR r IN
    SELECT x.page, x.sid FROM unnest(p_pages, p_sids) WITH ORDINALITY AS x(page, sid, ord)
    LEFT JOIN LATERAL (SELECT p.incident_id FROM pages p WHERE p.id = x.page LIMIT 1) p ON true
    ORDER BY p.incident_id, x.ord
  LOOP
    PERFORM page_sent(r.page, r.sid);
  END LOOP;
END
$$;

--
-- page_callback_many() leaves out one kind of report: one that would only move the page's rank
-- forward (no delivery, no failure, no end of a call, no answering machine) and is followed in
-- the same batch by a higher-ranked report of the same page and sid (the phone simulator's
-- "sent" before "delivered", "initiated" and "ringing" before the answer). In the same
-- transaction it would be overwritten before anyone could see it, and a second update of one
-- page row in a transaction re-runs the row's foreign-key checks. It answers 'superseded'.
CREATE FUNCTION page_callback_many(p_pages uuid[], p_sids text[], p_statuses text[], p_answered_by text[], p_error_codes text[],
                                   p_retry_delay double precision, p_max_attempts integer DEFAULT 3)
RETURNS text[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  r record;
  results text[] := array_fill(NULL::text, ARRAY[cardinality(p_pages)]);
BEGIN
  -- The lock order of every function: incidents first (all of the batch's, in id order), then
  -- page rows (in id order), then timeline heads (incident by incident, below). The engine's
  -- batches hold their incidents while they touch those incidents' pages and timelines, so a
  -- batch that took page rows first could wait for their timelines while they wait for its pages.
  PERFORM 1 FROM incidents WHERE id IN (SELECT incident_id FROM pages WHERE id = ANY (p_pages)) ORDER BY id FOR NO KEY UPDATE;
  PERFORM 1 FROM pages WHERE id = ANY (p_pages) ORDER BY id FOR UPDATE;
  FOR r IN
    SELECT x.page, x.sid, x.status, x.answered_by, x.error_code, x.ord,
           x.answered_by IS NULL
             AND x.status NOT IN ('delivered', 'in-progress', 'answered', 'undelivered', 'failed', 'canceled', 'busy', 'no-answer', 'completed')
             AND EXISTS (SELECT 1 FROM unnest(p_pages, p_sids, p_statuses) WITH ORDINALITY AS y(page, sid, status, ord)
                         WHERE y.page = x.page AND y.ord > x.ord AND y.sid IS NOT DISTINCT FROM x.sid
                           AND page_status_rank(p.channel, y.status) > page_status_rank(p.channel, x.status)) AS superseded
    FROM unnest(p_pages, p_sids, p_statuses, p_answered_by, p_error_codes) WITH ORDINALITY AS x(page, sid, status, answered_by, error_code, ord)
    LEFT JOIN LATERAL (SELECT p.incident_id, p.channel FROM pages p WHERE p.id = x.page LIMIT 1) p ON true
    ORDER BY p.incident_id, x.ord
  LOOP
    IF r.superseded THEN
      results[r.ord] := 'superseded';
    ELSE
      results[r.ord] := page_callback(r.page, r.sid, r.status, r.answered_by, r.error_code, p_retry_delay, p_max_attempts);
    END IF;
  END LOOP;
  RETURN results;
END
$$;
