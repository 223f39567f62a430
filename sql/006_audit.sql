-- 006 audit: what the safety team needs to account for incidents after the fact.
--
--  * audit_log: who exported, verified, reported on or held what, and every retention run (an
--    audit of the audit). Append-only like the timeline, and hash-chained on one head row, so
--    an entry removed or altered behind the service's back shows (audit_log_verify()).
--  * Legal holds on incidents: an incident on hold keeps its precise coordinates.
--  * Retention: retention_run() coarsens the precise coordinates of incidents resolved long
--    ago to about 1 km. Timeline events never held coordinates (only a location row's id and a
--    salted digest, see 001), so no event changes and every chain still verifies; the salt is
--    destroyed, so the digests can no longer confirm a guessed precise position, and the
--    redaction is itself appended to the timeline as a `location.redacted` event.
--  * retention_runs: one row per UTC day, so the daily run happens once whichever instance
--    ticks first.

CREATE TABLE audit_log (
  seq        bigint PRIMARY KEY,  -- 1, 2, 3... set by the chain trigger below
  at         timestamptz NOT NULL,
  -- "admin", "<role>:<id>" as in timeline events, or "system" (the engine), "script" (npm run retention)
  actor      text NOT NULL,
  action     text NOT NULL CHECK (action IN ('export', 'verify', 'report', 'legal_hold', 'legal_hold_release', 'retention')),
  params     jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash  text NOT NULL,
  hash       text NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- The one head of the audit log's chain (a single row: `one` is always true).
CREATE TABLE audit_log_head (
  one        boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq        bigint NOT NULL,
  prev_hash  text NOT NULL,
  hash       text NOT NULL
);

-- hash = sha256_hex(prev_hash \n seq \n at \n actor \n action \n params), `at` and `params` written
-- as in timeline_hash().
CREATE FUNCTION audit_log_hash(p_prev text, p_seq bigint, p_at timestamptz, p_actor text, p_action text, p_params jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(E'\n', p_prev, p_seq::text,
         to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), p_actor, p_action, p_params::text), 'UTF8')), 'hex')
$$;

-- Like incident_events_chain(): the head row serialises writers, so the chain cannot fork.
CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  genesis constant text := repeat('0', 64);
BEGIN
  NEW.at := date_trunc('milliseconds', now());
  NEW.params := coalesce(NEW.params, '{}'::jsonb);
  INSERT INTO audit_log_head AS h (one, seq, prev_hash, hash)
  VALUES (true, 1, genesis, audit_log_hash(genesis, 1, NEW.at, NEW.actor, NEW.action, NEW.params))
  ON CONFLICT (one) DO UPDATE
    SET seq = h.seq + 1,
        prev_hash = h.hash,
        hash = audit_log_hash(h.hash, h.seq + 1, NEW.at, NEW.actor, NEW.action, NEW.params)
  RETURNING seq, prev_hash, hash INTO NEW.seq, NEW.prev_hash, NEW.hash;
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Recompute the audit log's chain: every row from its fields and its predecessor's hash.
CREATE FUNCTION audit_log_verify() RETURNS TABLE (valid boolean, entry_count bigint, head_hash text)
LANGUAGE sql STABLE AS $$
  WITH a AS (
    SELECT l.*, lag(l.hash) OVER (ORDER BY l.seq) AS prior_hash, row_number() OVER (ORDER BY l.seq) AS n
    FROM audit_log l
  ), agg AS (
    SELECT coalesce(bool_and(a.seq = a.n AND a.prev_hash = coalesce(a.prior_hash, repeat('0', 64))
                             AND a.hash = audit_log_hash(a.prev_hash, a.seq, a.at, a.actor, a.action, a.params)), true) AS rows_ok,
           count(*) AS n,
           (SELECT l.hash FROM audit_log l ORDER BY l.seq DESC LIMIT 1) AS last_hash
    FROM a
  )
  SELECT agg.rows_ok AND coalesce((SELECT h.seq = agg.n AND h.hash = agg.last_hash FROM audit_log_head h), agg.n = 0),
         agg.n, agg.last_hash
  FROM agg
$$;

ALTER TABLE incidents
  ADD COLUMN legal_hold         boolean NOT NULL DEFAULT false,
  ADD COLUMN legal_hold_at      timestamptz,
  ADD COLUMN legal_hold_by      text,
  ADD COLUMN legal_hold_reason  text CHECK (length(legal_hold_reason) <= 500),
  -- When retention coarsened this incident's coordinates (null: precise, or never had any).
  ADD COLUMN coarsened_at       timestamptz;
-- Retention's candidates: resolved, not coarsened yet, oldest first.
CREATE INDEX incidents_retention_idx ON incidents (resolved_at) WHERE status = 'resolved' AND coarsened_at IS NULL;

-- Coarsen up to p_limit resolved incidents whose resolution is older than p_days days at p_at,
-- that are not on legal hold and not coarsened yet. For each, in this one transaction:
--   * every trail point (incident_locations) is rounded to 0.01 degree (~1.1 km of latitude)
--     and its salt is set to NULL: the digest recorded in the timeline stays as it was (so the
--     chain verifies) but can no longer be matched against any precise position;
--   * the incident's latest fix, and the copy of it kept for the driver after a duress PIN
--     (driver_view), are rounded the same way;
--   * the phone simulator's copies of the SMS and calls for its pages (they quote the fix)
--     are deleted: they are a stand-in for Twilio's own logs, not part of the record;
--   * a `location.redacted` event is appended to the timeline, and coarsened_at is set.
-- Rows are claimed with SKIP LOCKED, so runs on several instances share the work. Answers the
-- incidents coarsened, with the number of trail points each had.
CREATE FUNCTION retention_run(p_days integer, p_at timestamptz, p_limit integer DEFAULT 500)
RETURNS TABLE (incident_id uuid, points integer)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n integer;
  m integer;
BEGIN
  IF p_days IS NULL OR p_days < 0 THEN
    RAISE EXCEPTION 'retention days must be >= 0 (got %)', p_days USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR r IN
    SELECT i.id FROM incidents i
    WHERE i.status = 'resolved' AND i.coarsened_at IS NULL AND NOT i.legal_hold
      AND i.resolved_at < p_at - make_interval(days => p_days)
    ORDER BY i.resolved_at
    LIMIT p_limit
    FOR NO KEY UPDATE SKIP LOCKED
  LOOP
    UPDATE incident_locations l
    SET lat = round(l.lat::numeric, 2)::double precision,
        lng = round(l.lng::numeric, 2)::double precision,
        salt = NULL,
        coarsened_at = now()
    WHERE l.incident_id = r.id;
    GET DIAGNOSTICS n = ROW_COUNT;

    UPDATE incidents i
    SET lat = round(i.lat::numeric, 2)::double precision,
        lng = round(i.lng::numeric, 2)::double precision,
        driver_view = CASE
          WHEN i.driver_view IS NULL OR jsonb_typeof(i.driver_view -> 'lat') IS DISTINCT FROM 'number'
            OR jsonb_typeof(i.driver_view -> 'lng') IS DISTINCT FROM 'number' THEN i.driver_view
          ELSE i.driver_view || jsonb_build_object(
                 'lat', round((i.driver_view ->> 'lat')::numeric, 2)::double precision,
                 'lng', round((i.driver_view ->> 'lng')::numeric, 2)::double precision)
        END,
        coarsened_at = now()
    WHERE i.id = r.id;

    DELETE FROM sim_messages s WHERE s.page_id IN (SELECT p.id FROM pages p WHERE p.incident_id = r.id);
    GET DIAGNOSTICS m = ROW_COUNT;

    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (r.id, 'location.redacted', 'system', jsonb_build_object(
      'points', n, 'precisionDeg', 0.01, 'reason', 'retention', 'days', p_days, 'simulatorMessagesDeleted', m));

    incident_id := r.id;
    points := n;
    RETURN NEXT;
  END LOOP;
END
$$;

-- One row per UTC day on which the daily retention run was claimed (by whichever instance
-- ticked first), with its outcome.
CREATE TABLE retention_runs (
  day          date PRIMARY KEY,
  days         integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  incidents    integer,
  points       integer,
  error        text
);
