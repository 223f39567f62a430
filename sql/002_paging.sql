-- 002 paging: the outbox of pages, escalation state on incidents, acknowledgement.
--
-- Lock order, to rule out deadlocks: an incident row (always FOR NO KEY UPDATE, which does not
-- block other writers' foreign-key checks), then page rows, then the timeline head (taken by
-- every event insert). No function takes an incident or page lock after inserting an event.
--
-- Why in SQL: the transaction that stores an SOS must also queue its first pages, and every
-- state change must land with its timeline event. Keeping these transitions in functions
-- makes each one a single round trip and atomic, whichever instance (or runtime) calls it.

ALTER TABLE incident_events DROP CONSTRAINT incident_events_type_check;
ALTER TABLE incident_events ADD CONSTRAINT incident_events_type_check CHECK (type IN (
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted'));

ALTER TABLE incidents
  ADD COLUMN esc_step     integer NOT NULL DEFAULT -1,   -- index of the last step started
  ADD COLUMN esc_round    integer NOT NULL DEFAULT 0,    -- repeats of the last step so far
  -- when escalation must act next (at first: at once); null when it need not
  ADD COLUMN esc_next_at  timestamptz DEFAULT date_trunc('milliseconds', now()),
  ADD COLUMN exhausted_at timestamptz,
  ADD COLUMN ack_via      text CHECK (ack_via IN ('api', 'sms', 'voice'));
CREATE INDEX incidents_due_idx ON incidents (esc_next_at) WHERE status = 'open' AND esc_next_at IS NOT NULL;

-- One page = one recipient x one channel x one step (and round of repeats) x one attempt.
CREATE TABLE pages (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id   uuid NOT NULL REFERENCES incidents (id),
  recipient_id  uuid NOT NULL REFERENCES users (id),
  phone         text NOT NULL,
  channel       text NOT NULL CHECK (channel IN ('sms', 'voice')),
  -- page: an escalation step; failover: the other channel after a failure; retry: a call
  -- again after voicemail/no answer, or a send whose outcome was unknown; repage: a step paged
  -- again out of turn (the driver asked for help, a check-in was missed); duress: the duress
  -- PIN; notice: information only (the driver cancelled); checkin: "reply SAFE or HELP".
  purpose       text NOT NULL DEFAULT 'page' CHECK (purpose IN ('page', 'failover', 'retry', 'repage', 'duress', 'notice', 'checkin')),
  -- Why a repage or notice was sent (need_help, checkin_missed, cancelled); it shapes the text.
  note          text,
  step          integer NOT NULL,
  round         integer NOT NULL DEFAULT 0,
  attempt       integer NOT NULL DEFAULT 1,
  -- queued → sending → sent → delivered; or failed / unknown / voicemail / canceled.
  status        text NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'voicemail', 'failed', 'unknown', 'canceled')),
  twilio_status text,
  twilio_rank   smallint NOT NULL DEFAULT -1,
  answered_by   text,
  keypress_at   timestamptz,
  sid           text UNIQUE,
  not_before    timestamptz NOT NULL DEFAULT now(),
  lease_until   timestamptz,
  tries         integer NOT NULL DEFAULT 0,
  error_code    text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  sent_at       timestamptz,
  delivered_at  timestamptz,
  UNIQUE (incident_id, recipient_id, channel, purpose, step, round, attempt)
);
CREATE INDEX pages_due_idx ON pages (not_before) WHERE status = 'queued';
CREATE INDEX pages_lease_idx ON pages (lease_until) WHERE status = 'sending';
CREATE INDEX pages_phone_idx ON pages (phone, created_at DESC);
CREATE INDEX pages_incident_idx ON pages (incident_id, recipient_id, channel);

-- Replies that got the help text, so two robots texting each other cannot loop.
CREATE TABLE sms_help_replies (
  phone  text NOT NULL,
  at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_help_replies_idx ON sms_help_replies (phone, at);

CREATE FUNCTION default_escalation_policy() RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT '{"steps": [
            {"afterSeconds": 0,   "notify": ["oncall"],           "channels": ["sms", "voice"]},
            {"afterSeconds": 60,  "notify": ["zone_supervisors"], "channels": ["sms", "voice"]},
            {"afterSeconds": 120, "notify": ["safety_leads"],     "channels": ["sms", "voice"]}],
          "repeatEverySeconds": 120}'::jsonb
$$;

-- The people a step's `notify` list reaches in a zone at a moment (with a phone to reach).
-- Each kind of target is an indexed lookup: the step runs in the SOS's own transaction.
CREATE INDEX users_responders_idx ON users (role) WHERE role IN ('supervisor', 'safety_lead') AND phone IS NOT NULL;
CREATE FUNCTION step_recipients(p_zone uuid, p_notify jsonb, p_at timestamptz)
RETURNS TABLE (recipient_id uuid)
LANGUAGE sql STABLE AS $$
  SELECT u.id FROM users u
  WHERE p_notify ? 'oncall' AND u.id = oncall_responder(p_zone, p_at)
    AND u.role IN ('supervisor', 'safety_lead') AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM responder_zones rz JOIN users u ON u.id = rz.responder_id
  WHERE p_notify ? 'zone_supervisors' AND rz.zone_id = p_zone AND u.role = 'supervisor' AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM users u
  WHERE p_notify ? 'safety_leads' AND u.role = 'safety_lead' AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM users u
  WHERE u.id IN (SELECT t::uuid FROM jsonb_array_elements_text(p_notify) t
                 WHERE t ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
    AND u.role IN ('supervisor', 'safety_lead') AND u.phone IS NOT NULL
$$;

-- Queue pages for recipients x channels with their page.queued events. Answers how many.
CREATE FUNCTION queue_pages(p_incident uuid, p_recipients uuid[], p_channels text[], p_purpose text,
                            p_step integer, p_round integer, p_at timestamptz, p_attempt integer DEFAULT 1,
                            p_delay_seconds double precision DEFAULT 0, p_note text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  WITH ins AS (
    INSERT INTO pages (incident_id, recipient_id, phone, channel, purpose, step, round, attempt, not_before, note)
    SELECT p_incident, u.id, u.phone, ch, p_purpose, p_step, p_round, p_attempt,
           least(p_at, now()) + make_interval(secs => p_delay_seconds), p_note
    FROM users u CROSS JOIN unnest(p_channels) AS ch
    WHERE u.id = ANY (p_recipients) AND u.phone IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING id, recipient_id, channel, attempt, not_before
  ), ev AS (
    INSERT INTO incident_events (incident_id, type, actor, data)
    SELECT p_incident, 'page.queued', 'system', jsonb_build_object(
             'pageId', id, 'recipientId', recipient_id, 'channel', channel, 'purpose', p_purpose,
             'step', p_step, 'round', p_round, 'attempt', attempt, 'notBefore', not_before, 'note', p_note)
    FROM (SELECT * FROM ins ORDER BY recipient_id, channel) q
    RETURNING 1
  )
  SELECT count(*) INTO n FROM ev;
  -- No NOTIFY here: a NOTIFY takes a cluster-wide lock at commit, which would serialise every
  -- SOS. The instance that queued the pages sends them itself and tells the others after its
  -- commit (Pager.queued()).
  RETURN n;
END
$$;

-- Move an open incident's escalation forward as of p_at. The caller holds its row lock.
--  * Steps start at opened_at + afterSeconds. A step that reaches nobody does not make the
--    next one wait: it starts at once.
--  * When every step has started and none ever reached anyone, every safety lead is paged.
--  * repeatEverySeconds after the last step, escalation is exhausted: escalation.exhausted is
--    recorded once, every safety lead is paged, and the last step repeats every
--    repeatEverySeconds until someone acknowledges (the safety leads stand in for a last
--    step that reaches nobody). It never ends silently.
CREATE FUNCTION escalate(p_incident uuid, p_at timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  inc incidents%ROWTYPE;
  policy jsonb;
  steps jsonb;
  n integer;
  i integer;
  v_step jsonb;
  repeat_s integer;
  who uuid[];
  leads uuid[];
  channels text[];
  last_reached boolean;
  both_channels constant text[] := ARRAY['sms', 'voice'];
BEGIN
  SELECT * INTO inc FROM incidents WHERE id = p_incident;
  IF inc.status IS DISTINCT FROM 'open' THEN
    RETURN;
  END IF;
  SELECT z.escalation_policy INTO policy FROM zones z WHERE z.id = inc.zone_id;
  policy := coalesce(policy, default_escalation_policy());
  steps := policy -> 'steps';
  n := jsonb_array_length(steps);
  repeat_s := coalesce((policy ->> 'repeatEverySeconds')::integer, 120);

  IF inc.esc_step < n - 1 THEN
    last_reached := inc.esc_step < 0 OR EXISTS (
      SELECT 1 FROM pages WHERE incident_id = p_incident AND purpose = 'page' AND step = inc.esc_step AND round = 0);
    i := inc.esc_step + 1;
    WHILE i < n LOOP
      v_step := steps -> i;
      EXIT WHEN last_reached AND inc.opened_at + make_interval(secs => (v_step ->> 'afterSeconds')::integer) > p_at;
      SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO who FROM step_recipients(inc.zone_id, v_step -> 'notify', p_at) r;
      SELECT array_agg(c) INTO channels FROM jsonb_array_elements_text(v_step -> 'channels') c;
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
        'step', i, 'round', 0, 'notify', v_step -> 'notify', 'channels', v_step -> 'channels',
        'recipients', coalesce(to_jsonb(who), '[]'::jsonb), 'skipped', who IS NULL));
      IF who IS NOT NULL THEN
        PERFORM queue_pages(p_incident, who, channels, 'page', i, 0, p_at);
      END IF;
      last_reached := who IS NOT NULL;
      inc.esc_step := i;
      i := i + 1;
    END LOOP;

    IF i < n THEN
      UPDATE incidents SET esc_step = inc.esc_step,
             esc_next_at = inc.opened_at + make_interval(secs => (steps -> i ->> 'afterSeconds')::integer)
      WHERE id = p_incident;
      RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pages WHERE incident_id = p_incident AND purpose = 'page') THEN
      SELECT array_agg(id ORDER BY id) INTO leads FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
        'step', n - 1, 'round', 0, 'notify', '["safety_leads"]'::jsonb, 'channels', to_jsonb(both_channels),
        'recipients', coalesce(to_jsonb(leads), '[]'::jsonb), 'skipped', leads IS NULL,
        'reason', 'no step reached anyone'));
      IF leads IS NOT NULL THEN
        PERFORM queue_pages(p_incident, leads, both_channels, 'page', n - 1, 0, p_at);
      END IF;
    END IF;
    UPDATE incidents SET esc_step = n - 1, esc_next_at = p_at + make_interval(secs => repeat_s) WHERE id = p_incident;
    RETURN;
  END IF;

  -- Every step has had its time.
  IF inc.esc_next_at IS NULL OR inc.esc_next_at > p_at THEN
    RETURN;
  END IF;
  inc.esc_round := inc.esc_round + 1;
  v_step := steps -> (n - 1);
  SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO who FROM step_recipients(inc.zone_id, v_step -> 'notify', p_at) r;
  SELECT array_agg(c) INTO channels FROM jsonb_array_elements_text(v_step -> 'channels') c;
  SELECT array_agg(id ORDER BY id) INTO leads FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
  IF inc.exhausted_at IS NULL THEN
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'escalation.exhausted', 'system', jsonb_build_object(
      'steps', n, 'repeatEverySeconds', repeat_s, 'safetyLeads', coalesce(to_jsonb(leads), '[]'::jsonb),
      'nobodyReachable', who IS NULL AND leads IS NULL));
    inc.exhausted_at := now();
    IF leads IS NOT NULL THEN
      PERFORM queue_pages(p_incident, leads, both_channels, 'page', n - 1, inc.esc_round, p_at);
    END IF;
  END IF;
  IF who IS NULL THEN
    who := leads;
    channels := both_channels;
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
    'step', n - 1, 'round', inc.esc_round, 'repeat', true, 'notify', v_step -> 'notify', 'channels', to_jsonb(channels),
    'recipients', coalesce(to_jsonb(who), '[]'::jsonb), 'skipped', who IS NULL));
  IF who IS NOT NULL THEN
    PERFORM queue_pages(p_incident, who, channels, 'page', n - 1, inc.esc_round, p_at);
  END IF;
  UPDATE incidents SET esc_round = inc.esc_round, exhausted_at = inc.exhausted_at,
         esc_next_at = p_at + make_interval(secs => repeat_s)
  WHERE id = p_incident;
END
$$;

-- The engine's tick: escalate every open incident whose deadline has passed, oldest first.
-- Each incident in its own subtransaction, so one failure cannot hold back the others.
CREATE FUNCTION escalate_due(p_at timestamptz, p_limit integer)
RETURNS TABLE (incident_id uuid, late_ms double precision, failed boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT i.id, i.esc_next_at FROM incidents i
    WHERE i.status = 'open' AND i.esc_next_at <= p_at
    ORDER BY i.esc_next_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    BEGIN
      PERFORM escalate(r.id, p_at);
      incident_id := r.id; late_ms := extract(epoch FROM (clock_timestamp() - r.esc_next_at)) * 1000; failed := false;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'escalation of % failed: %', r.id, SQLERRM;
      incident_id := r.id; late_ms := NULL; failed := true;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

-- Acknowledge an open incident. Queued pages of the incident are cancelled (pages already
-- handed to Twilio are not recalled). Answers the incident's status before the call.
CREATE FUNCTION ack_incident(p_incident uuid, p_by uuid, p_via text, p_page uuid)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
BEGIN
  SELECT status INTO v_status FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS DISTINCT FROM 'open' THEN
    RETURN coalesce(v_status, 'missing');
  END IF;
  UPDATE incidents SET status = 'acknowledged', acknowledged_at = now(), acknowledged_by = p_by, ack_via = p_via, esc_next_at = NULL
  WHERE id = p_incident;
  UPDATE pages SET status = 'canceled'
  WHERE incident_id = p_incident AND status = 'queued' AND purpose IN ('page', 'failover', 'retry');
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'incident.acknowledged', (SELECT role || ':' || id FROM users WHERE id = p_by),
          jsonb_strip_nulls(jsonb_build_object('by', p_by, 'via', p_via, 'pageId', p_page)));
  RETURN 'open';
END
$$;

-- The other channel for the same person, at once, unless one is already on its way, or the
-- other channel already failed for this step and round (a number Twilio refuses on both
-- channels would otherwise fail over back and forth, a page every few milliseconds).
CREATE FUNCTION page_failover(v pages) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  other text := CASE v.channel WHEN 'sms' THEN 'voice' ELSE 'sms' END;
  -- A duress or repage failover says what the original said.
  fo_purpose text := CASE WHEN v.purpose IN ('duress', 'repage') THEN v.purpose ELSE 'failover' END;
  inc_status text := (SELECT status FROM incidents WHERE id = v.incident_id);
  next_attempt integer;
  fo uuid;
BEGIN
  IF v.purpose NOT IN ('page', 'failover', 'retry', 'repage', 'duress')
     OR inc_status NOT IN ('open', 'acknowledged')
     OR (v.purpose IN ('page', 'failover', 'retry') AND inc_status <> 'open')
     OR EXISTS (SELECT 1 FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id
                AND p.channel = other AND p.step = v.step AND p.round = v.round
                AND (p.status IN ('queued', 'sending', 'sent', 'delivered', 'unknown')
                     OR (p.status = 'failed' AND CASE WHEN fo_purpose = 'failover' THEN p.purpose IN ('page', 'failover', 'retry')
                                                      ELSE p.purpose = fo_purpose END))) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(max(attempt), 0) + 1 INTO next_attempt FROM pages p
  WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = other
    AND p.purpose = fo_purpose AND p.step = v.step AND p.round = v.round;
  PERFORM queue_pages(v.incident_id, ARRAY[v.recipient_id], ARRAY[other], fo_purpose, v.step, v.round, now(), next_attempt, 0, v.note);
  SELECT id INTO fo FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = other
    AND p.purpose = fo_purpose AND p.step = v.step AND p.round = v.round AND p.attempt = next_attempt;
  RETURN fo;
END
$$;

-- The same channel again after a delay, up to p_max attempts, while the incident needs it.
CREATE FUNCTION page_retry_later(v pages, p_delay_seconds double precision, p_max integer) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  v_purpose text := CASE WHEN v.purpose IN ('page', 'failover', 'retry') THEN 'retry' ELSE v.purpose END;
  r uuid;
BEGIN
  IF v.attempt >= p_max
     OR (v_purpose = 'retry' AND (SELECT status FROM incidents WHERE id = v.incident_id) IS DISTINCT FROM 'open')
     OR (SELECT status FROM incidents WHERE id = v.incident_id) = 'resolved' THEN
    RETURN NULL;
  END IF;
  PERFORM queue_pages(v.incident_id, ARRAY[v.recipient_id], ARRAY[v.channel], v_purpose, v.step, v.round, now(),
                      v.attempt + 1, p_delay_seconds, v.note);
  SELECT id INTO r FROM pages p WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = v.channel
    AND p.purpose = v_purpose AND p.step = v.step AND p.round = v.round AND p.attempt = v.attempt + 1;
  RETURN r;
END
$$;

-- Twilio took the page.
CREATE FUNCTION page_sent(p_page uuid, p_sid text) RETURNS void
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
  -- A retry queued because this page's outcome was unknown is not needed after all.
  UPDATE pages p SET status = 'canceled'
  WHERE p.incident_id = v.incident_id AND p.recipient_id = v.recipient_id AND p.channel = v.channel
    AND p.step = v.step AND p.round = v.round AND p.attempt > v.attempt AND p.purpose = 'retry' AND p.status = 'queued'
    AND v.error = 'outcome unknown';
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.sent', 'system', jsonb_build_object(
    'pageId', v.id, 'sid', p_sid, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt));
END
$$;

-- Not taken, but safe to try again (Twilio 429 or 5xx): back to the queue after a delay.
CREATE FUNCTION page_requeue(p_page uuid, p_delay_ms integer, p_error text) RETURNS void
LANGUAGE sql AS $$
  UPDATE pages SET status = 'queued', lease_until = NULL, error = p_error,
         not_before = now() + make_interval(secs => p_delay_ms / 1000.0)
  WHERE id = p_page AND status = 'sending'
$$;

-- Failed for good (an invalid or opted-out number, a failed/undelivered status): try the
-- other channel at once; with p_retry_delay (a call not answered), the same channel later too.
CREATE FUNCTION page_failed(p_page uuid, p_code text, p_error text, p_retry_delay double precision DEFAULT NULL,
                            p_max_attempts integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
  fo uuid;
  r uuid;
BEGIN
  UPDATE pages SET status = 'failed', error_code = p_code, error = p_error, lease_until = NULL
  WHERE id = p_page AND status IN ('queued', 'sending', 'sent', 'delivered', 'unknown')
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  fo := page_failover(v);
  IF p_retry_delay IS NOT NULL THEN
    r := page_retry_later(v, p_retry_delay, p_max_attempts);
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.failed', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'errorCode', p_code, 'error', p_error, 'failoverPageId', fo, 'retryPageId', r)));
END
$$;

-- Sent or not, nobody can tell (a timeout, a crash while sending). The attempt is not sent
-- again; a new attempt follows after a delay unless Twilio reports the first one meanwhile.
CREATE FUNCTION page_unknown(p_page uuid, p_error text, p_retry_delay double precision, p_max_attempts integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
  r uuid;
BEGIN
  UPDATE pages SET status = 'unknown', error = 'outcome unknown', lease_until = NULL
  WHERE id = p_page AND status = 'sending'
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r := page_retry_later(v, p_retry_delay, p_max_attempts);
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.unknown', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'channel', v.channel, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'error', p_error, 'retryPageId', r)));
END
$$;

-- Answered by a machine, or a call that ended without the digit: not an acknowledgement.
CREATE FUNCTION page_voicemail(p_page uuid, p_answered_by text, p_retry_delay double precision, p_max_attempts integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
  r uuid;
BEGIN
  UPDATE pages SET status = 'voicemail', answered_by = coalesce(p_answered_by, answered_by), lease_until = NULL
  WHERE id = p_page AND status IN ('sending', 'sent', 'delivered', 'unknown') AND keypress_at IS NULL
  RETURNING * INTO v;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  r := page_retry_later(v, p_retry_delay, p_max_attempts);
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v.incident_id, 'page.voicemail', 'system', jsonb_strip_nulls(jsonb_build_object(
    'pageId', v.id, 'recipientId', v.recipient_id, 'attempt', v.attempt,
    'answeredBy', coalesce(p_answered_by, v.answered_by, 'unknown'), 'retryPageId', r)));
END
$$;

-- A status callback. Twilio's statuses are ranked, and the stored one only moves forward, so a
-- callback that comes late, twice or out of order changes nothing it should not.
CREATE FUNCTION page_callback(p_page uuid, p_sid text, p_status text, p_answered_by text, p_error_code text,
                              p_retry_delay double precision, p_max_attempts integer DEFAULT 3)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
  rank smallint;
  machine boolean := p_answered_by IS NOT NULL AND (p_answered_by LIKE 'machine%' OR p_answered_by = 'fax');
BEGIN
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
  rank := CASE v.channel
    WHEN 'sms' THEN CASE p_status WHEN 'accepted' THEN 0 WHEN 'scheduled' THEN 0 WHEN 'queued' THEN 0 WHEN 'sending' THEN 1
                    WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'undelivered' THEN 3 WHEN 'failed' THEN 3
                    WHEN 'read' THEN 4 WHEN 'canceled' THEN 3 ELSE NULL END
    ELSE CASE p_status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 0 WHEN 'ringing' THEN 1 WHEN 'in-progress' THEN 2
                    WHEN 'answered' THEN 2 WHEN 'completed' THEN 3 WHEN 'busy' THEN 3 WHEN 'no-answer' THEN 3
                    WHEN 'failed' THEN 3 WHEN 'canceled' THEN 3 ELSE NULL END
  END;
  IF rank IS NULL OR rank <= v.twilio_rank THEN
    RETURN 'stale';
  END IF;
  UPDATE pages SET twilio_status = p_status, twilio_rank = rank WHERE id = p_page;

  IF p_status IN ('delivered', 'in-progress', 'answered') THEN
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

-- A digit pressed during a page call: 1 acknowledges. Answers ack_incident()'s result.
CREATE FUNCTION page_keypress(p_page uuid, p_digits text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v pages%ROWTYPE;
BEGIN
  SELECT * INTO v FROM pages WHERE id = p_page;
  IF NOT FOUND OR v.channel <> 'voice' THEN
    RETURN 'unknown page';
  END IF;
  IF p_digits IS DISTINCT FROM '1' THEN
    RETURN 'ignored';
  END IF;
  UPDATE pages SET keypress_at = coalesce(keypress_at, now()),
         status = CASE WHEN status IN ('sending', 'sent', 'unknown', 'voicemail') THEN 'delivered' ELSE status END
  WHERE id = p_page;
  RETURN ack_incident(v.incident_id, v.recipient_id, 'voice', v.id);
END
$$;

-- The SOS now queues the first step's pages in the same transaction that stores it.
-- An SOS is never refused: should escalation fail here, the incident is still stored, due at
-- once, and the engine retries it on its next tick.
CREATE FUNCTION sos_escalate_on_open() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM escalate(NEW.incident_id, now());
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'escalation of new incident % failed (the engine will retry): %', NEW.incident_id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
CREATE TRIGGER incident_opened_escalate AFTER INSERT ON incident_events
  FOR EACH ROW WHEN (NEW.type = 'incident.opened') EXECUTE FUNCTION sos_escalate_on_open();

-- Resolve an incident that is not resolved yet; nothing queued for it goes out afterwards.
-- Answers the status it had ('resolved' means someone else was first: nothing changed).
CREATE FUNCTION resolve_incident(p_incident uuid, p_by uuid, p_disposition text, p_note text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
BEGIN
  SELECT status INTO v_status FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS NULL OR v_status = 'resolved' THEN
    RETURN coalesce(v_status, 'missing');
  END IF;
  UPDATE incidents SET status = 'resolved', resolved_at = now(), resolved_by = p_by, disposition = p_disposition,
         resolution_note = p_note, esc_next_at = NULL
  WHERE id = p_incident;
  UPDATE pages SET status = 'canceled' WHERE incident_id = p_incident AND status = 'queued';
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'incident.resolved', (SELECT role || ':' || id FROM users WHERE id = p_by),
          jsonb_strip_nulls(jsonb_build_object('by', p_by, 'disposition', p_disposition, 'note', p_note, 'from', v_status)));
  RETURN v_status;
END
$$;
