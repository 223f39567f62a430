-- 001 foundation: people and their tokens, zones and on-call, incidents and their
-- append-only, hash-chained timeline.
--
-- Why the chain lives in the database: every event of an incident must get the next
-- sequence number and the previous event's hash, whichever instance writes it and however
-- many write at once. A BEFORE INSERT trigger serialises appends per incident on one row of
-- timeline_heads (the UPDATE locks it), so a writer needs a single INSERT (one round trip) and
-- can never fork the chain.

-- Everyone who holds a token: drivers, responders (supervisor, safety_lead), auditors and the
-- support lane's agents. The administrator is not a row: ADMIN_TOKEN is checked in memory.
CREATE TABLE users (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  role            text NOT NULL CHECK (role IN ('driver', 'supervisor', 'safety_lead', 'auditor', 'agent')),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  phone           text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  tier            smallint CHECK (tier BETWEEN 1 AND 3),
  cancel_pin_hash text,
  duress_pin_hash text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'agent') = (tier IS NOT NULL)),
  CHECK ((role = 'driver') = (cancel_pin_hash IS NOT NULL AND duress_pin_hash IS NOT NULL)),
  CHECK (role NOT IN ('driver', 'supervisor', 'safety_lead') OR phone IS NOT NULL)
);
-- One phone, one person: an inbound SMS must map to exactly one of them.
CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;

-- Tokens are stored only as SHA-256 hashes of 256-bit random secrets.
CREATE TABLE tokens (
  token_hash  text PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX tokens_user_idx ON tokens (user_id);

CREATE TABLE zones (
  id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  boundary                jsonb,
  is_fallback             boolean NOT NULL DEFAULT false,
  check_in_seconds        integer NOT NULL DEFAULT 300 CHECK (check_in_seconds >= 5),
  check_in_grace_seconds  integer NOT NULL DEFAULT 120 CHECK (check_in_grace_seconds >= 0),
  escalation_policy       jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  CHECK (is_fallback OR boundary IS NOT NULL)
);
-- At most one fallback zone.
CREATE UNIQUE INDEX zones_one_fallback ON zones ((true)) WHERE is_fallback;

CREATE TABLE responder_zones (
  responder_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  zone_id       uuid NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
  PRIMARY KEY (responder_id, zone_id)
);
CREATE INDEX responder_zones_zone_idx ON responder_zones (zone_id);

CREATE TABLE rotations (
  zone_id        uuid PRIMARY KEY REFERENCES zones (id) ON DELETE CASCADE,
  responder_ids  uuid[] NOT NULL CHECK (cardinality(responder_ids) >= 1),
  shift_minutes  integer NOT NULL CHECK (shift_minutes >= 1),
  starts_at      timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE overrides (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  zone_id       uuid NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
  responder_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  from_at       timestamptz NOT NULL,
  to_at         timestamptz NOT NULL CHECK (to_at > from_at),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX overrides_zone_idx ON overrides (zone_id, from_at, to_at);

-- Who is on call in a zone at a moment: the newest override covering it, else the rotation's
-- shift (shifts repeat in order of responder_ids from starts_at, also backwards before it).
CREATE FUNCTION oncall_responder(p_zone uuid, p_at timestamptz) RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT o.responder_id FROM overrides o
      WHERE o.zone_id = p_zone AND o.from_at <= p_at AND p_at < o.to_at
      ORDER BY o.created_at DESC, o.id DESC LIMIT 1),
    (SELECT r.responder_ids[1 + mod(mod(floor(extract(epoch FROM (p_at - r.starts_at)) / (r.shift_minutes * 60))::bigint,
                                        cardinality(r.responder_ids)) + cardinality(r.responder_ids),
                                    cardinality(r.responder_ids))::int]
       FROM rotations r WHERE r.zone_id = p_zone)
  )
$$;

CREATE SEQUENCE incident_code_seq START 1000;

CREATE TABLE incidents (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code               integer NOT NULL UNIQUE DEFAULT nextval('incident_code_seq'),
  driver_id          uuid NOT NULL REFERENCES users (id),
  client_request_id  uuid,
  source             text NOT NULL DEFAULT 'app' CHECK (source IN ('app', 'sms', 'support')),
  status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'cancel_requested', 'resolved')),
  kind               text NOT NULL CHECK (kind IN ('robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other')),
  severity           text NOT NULL CHECK (severity IN ('critical', 'high', 'medium')),
  zone_id            uuid REFERENCES zones (id),
  zone_rule          text NOT NULL CHECK (zone_rule IN ('inside', 'fallback', 'nearest', 'none')),
  note               text,
  opened_at          timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  -- The latest fix. Null only for an incident opened without one (an SMS SOS from a driver
  -- Mayday has never had a location for).
  lat                double precision CHECK (lat BETWEEN -90 AND 90),
  lng                double precision CHECK (lng BETWEEN -180 AND 180),
  accuracy_m         double precision CHECK (accuracy_m >= 0),
  location_at        timestamptz,
  acknowledged_at    timestamptz,
  acknowledged_by    uuid REFERENCES users (id),
  resolved_at        timestamptz,
  resolved_by        uuid REFERENCES users (id),
  disposition        text CHECK (disposition IN ('resolved_safe', 'police_dispatched', 'medical_dispatched', 'false_alarm', 'driver_cancelled', 'duplicate', 'other')),
  resolution_note    text,
  CHECK ((lat IS NULL) = (lng IS NULL) AND (lat IS NULL) = (location_at IS NULL)),
  UNIQUE (driver_id, client_request_id)
);
CREATE INDEX incidents_active_idx ON incidents (opened_at DESC) WHERE status <> 'resolved';
CREATE INDEX incidents_opened_idx ON incidents (opened_at);

-- The location trail. Precise coordinates live here, not in timeline events: an event carries
-- the row id and a salted digest, so retention can coarsen coordinates without breaking the chain.
CREATE TABLE incident_locations (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id  uuid NOT NULL REFERENCES incidents (id),
  lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lng          double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
  accuracy_m   double precision CHECK (accuracy_m >= 0),
  captured_at  timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  salt         text DEFAULT replace(gen_random_uuid()::text, '-', ''),
  coarsened_at timestamptz
);
CREATE INDEX incident_locations_incident_idx ON incident_locations (incident_id, captured_at);

CREATE FUNCTION location_digest(p_lat double precision, p_lng double precision, p_acc double precision,
                                p_captured timestamptz, p_salt text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws('|', p_lat::text, p_lng::text, coalesce(p_acc::text, ''),
         to_char(p_captured AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_salt), 'UTF8')), 'hex')
$$;

-- The timeline. Types are a fixed list; later migrations extend it.
CREATE TABLE incident_events (
  incident_id  uuid NOT NULL REFERENCES incidents (id),
  seq          integer NOT NULL,
  type         text NOT NULL CHECK (type IN (
                 'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
                 'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail',
                 'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
                 'checkin.requested', 'checkin.received', 'checkin.missed',
                 'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
                 'incident.severity_raised', 'incident.resolved', 'location.redacted')),
  at           timestamptz NOT NULL,
  actor        text NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash    text NOT NULL,
  hash         text NOT NULL,
  PRIMARY KEY (incident_id, seq)
);
CREATE INDEX incident_events_type_idx ON incident_events (type, incident_id);

CREATE TABLE timeline_heads (
  incident_id  uuid PRIMARY KEY,
  seq          integer NOT NULL,
  prev_hash    text NOT NULL,
  hash         text NOT NULL
);

-- hash = sha256_hex(prev_hash \n incident_id \n seq \n type \n at \n actor \n data)
-- `at` is ISO 8601 UTC with milliseconds (as JavaScript's toISOString writes it) and `data` is
-- PostgreSQL's jsonb text form (keys in jsonb order, ", " and ": " separators).
CREATE FUNCTION timeline_hash(p_prev text, p_incident uuid, p_seq integer, p_type text,
                              p_at timestamptz, p_actor text, p_data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n', p_prev, p_incident::text, p_seq::text, p_type,
         to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_actor, p_data::text), 'UTF8')), 'hex')
$$;

CREATE FUNCTION incident_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  genesis constant text := repeat('0', 64);
BEGIN
  NEW.at := date_trunc('milliseconds', now());
  NEW.data := coalesce(NEW.data, '{}'::jsonb);
  UPDATE timeline_heads h
  SET seq = h.seq + 1,
      prev_hash = h.hash,
      hash = timeline_hash(h.hash, NEW.incident_id, h.seq + 1, NEW.type, NEW.at, NEW.actor, NEW.data)
  WHERE h.incident_id = NEW.incident_id
  RETURNING h.seq, h.prev_hash, h.hash INTO NEW.seq, NEW.prev_hash, NEW.hash;
  IF NOT FOUND THEN
    -- The first event of an incident, written in the transaction that creates the incident:
    -- nobody else can append to it yet.
    NEW.seq := 1;
    NEW.prev_hash := genesis;
    NEW.hash := timeline_hash(genesis, NEW.incident_id, 1, NEW.type, NEW.at, NEW.actor, NEW.data);
    INSERT INTO timeline_heads (incident_id, seq, prev_hash, hash) VALUES (NEW.incident_id, 1, genesis, NEW.hash);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER incident_events_chain BEFORE INSERT ON incident_events
  FOR EACH ROW EXECUTE FUNCTION incident_events_chain();

-- Append-only, enforced by the database itself.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER incident_events_no_truncate BEFORE TRUNCATE ON incident_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER timeline_heads_no_delete BEFORE DELETE ON timeline_heads
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER timeline_heads_no_truncate BEFORE TRUNCATE ON timeline_heads
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Recompute a chain: every row's hash from its own fields and its predecessor's hash.
CREATE FUNCTION timeline_verify(p_incident uuid)
RETURNS TABLE (valid boolean, event_count integer, head_hash text)
LANGUAGE sql STABLE AS $$
  WITH ev AS (
    SELECT e.*, lag(e.hash) OVER (ORDER BY e.seq) AS prior_hash, row_number() OVER (ORDER BY e.seq) AS n
    FROM incident_events e WHERE e.incident_id = p_incident
  )
  SELECT coalesce(bool_and(
           ev.seq = ev.n
           AND ev.prev_hash = coalesce(ev.prior_hash, repeat('0', 64))
           AND ev.hash = timeline_hash(ev.prev_hash, ev.incident_id, ev.seq, ev.type, ev.at, ev.actor, ev.data)), true)
         AND coalesce((SELECT h.hash = (SELECT e2.hash FROM incident_events e2 WHERE e2.incident_id = p_incident ORDER BY e2.seq DESC LIMIT 1)
                         AND h.seq = (SELECT count(*) FROM incident_events e3 WHERE e3.incident_id = p_incident)
                       FROM timeline_heads h WHERE h.incident_id = p_incident), count(*) = 0),
         count(*)::int,
         (SELECT e4.hash FROM incident_events e4 WHERE e4.incident_id = p_incident ORDER BY e4.seq DESC LIMIT 1)
  FROM ev
$$;

-- Open an incident (or return the one this driver already opened with this clientRequestId).
-- One call, one round trip: the incident, its first trail point, its incident.opened event,
-- a note on each of the driver's other open incidents, or the duplicate_request event.
-- (From 002 on, the incident.opened event also starts escalation in the same transaction.)
CREATE FUNCTION sos_open(p_driver uuid, p_client_request uuid, p_source text, p_kind text, p_severity text,
                         p_zone uuid, p_zone_rule text, p_lat double precision, p_lng double precision,
                         p_acc double precision, p_captured timestamptz, p_note text, p_actor text)
RETURNS TABLE (incident jsonb, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
  v_loc bigint;
  v_digest text;
  v_other record;
BEGIN
  -- One driver's presses are taken one at a time, so two different emergencies opened at the
  -- same instant still see, and note, each other.
  PERFORM pg_advisory_xact_lock(hashtextextended(p_driver::text, 0));
  INSERT INTO incidents (driver_id, client_request_id, source, kind, severity, zone_id, zone_rule, note,
                         lat, lng, accuracy_m, location_at)
  VALUES (p_driver, p_client_request, p_source, p_kind, p_severity, p_zone, p_zone_rule, p_note,
          p_lat, p_lng, p_acc, CASE WHEN p_lat IS NOT NULL THEN coalesce(p_captured, now()) END)
  ON CONFLICT (driver_id, client_request_id) DO NOTHING
  RETURNING id INTO v_id;

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

  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (v_id, 'incident.opened', p_actor, jsonb_strip_nulls(jsonb_build_object(
    'kind', p_kind, 'severity', p_severity, 'source', p_source, 'zoneId', p_zone, 'zoneRule', p_zone_rule,
    'clientRequestId', p_client_request, 'note', p_note,
    'location', CASE WHEN v_loc IS NOT NULL THEN jsonb_build_object('id', v_loc, 'digest', v_digest, 'accuracyM', p_acc) END)));

  -- Note the driver's other open incidents, each way: the newest few only, so a runaway app
  -- pressing SOS with fresh ids cannot make every press cost more than the last.
  FOR v_other IN
    SELECT o.id FROM incidents o WHERE o.driver_id = p_driver AND o.id <> v_id AND o.status <> 'resolved'
    ORDER BY o.opened_at DESC LIMIT 3
  LOOP
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (v_id, 'incident.linked', 'system', jsonb_build_object('otherIncidentId', v_other.id, 'reason', 'driver_has_open_incident')),
           (v_other.id, 'incident.linked', 'system', jsonb_build_object('otherIncidentId', v_id, 'reason', 'driver_opened_another'));
  END LOOP;

  RETURN QUERY SELECT to_jsonb(i), true FROM incidents i WHERE i.id = v_id;
END
$$;

-- Add a fix to an incident's trail. It replaces the incident's location only when it is at
-- least as new as the current one. Answers 'current', 'older' or 'resolved' (nothing stored).
CREATE FUNCTION location_add(p_incident uuid, p_lat double precision, p_lng double precision,
                             p_acc double precision, p_captured timestamptz, p_actor text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
  v_current_at timestamptz;
  v_at timestamptz := coalesce(p_captured, now());
  v_loc bigint;
  v_digest text;
  v_is_current boolean;
BEGIN
  -- NO KEY UPDATE: it does not block the foreign-key checks of other writers' events.
  SELECT status, location_at INTO v_status, v_current_at FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF v_status IS NULL OR v_status = 'resolved' THEN
    RETURN 'resolved';
  END IF;
  v_is_current := v_current_at IS NULL OR v_at >= v_current_at;
  INSERT INTO incident_locations (incident_id, lat, lng, accuracy_m, captured_at)
  VALUES (p_incident, p_lat, p_lng, p_acc, v_at)
  RETURNING id, location_digest(lat, lng, accuracy_m, captured_at, salt) INTO v_loc, v_digest;
  IF v_is_current THEN
    UPDATE incidents SET lat = p_lat, lng = p_lng, accuracy_m = p_acc, location_at = v_at WHERE id = p_incident;
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'location.updated', p_actor, jsonb_strip_nulls(jsonb_build_object(
    'location', jsonb_build_object('id', v_loc, 'digest', v_digest, 'accuracyM', p_acc, 'capturedAt', v_at),
    'current', v_is_current)));
  RETURN CASE WHEN v_is_current THEN 'current' ELSE 'older' END;
END
$$;
