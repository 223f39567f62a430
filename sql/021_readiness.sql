-- On-call readiness (issue 20): when a shift begins, the responder coming on call is asked by SMS
-- (voice when the SMS is refused) to reply OK <code>; unconfirmed after the zone's grace, its
-- safety leads are paged. Readiness is not on any incident's timeline: its record is here.

-- How long the responder coming on call has to reply OK before the safety leads are paged.
ALTER TABLE zones ADD COLUMN readiness_grace_seconds integer NOT NULL DEFAULT 600
  CHECK (readiness_grace_seconds BETWEEN 5 AND 86400);

-- The numbers a responder replies with (OK 104), apart from the incidents' codes.
CREATE SEQUENCE readiness_code_seq START 100;

-- One check per shift that began: who was asked, how, and whether they confirmed or it was missed.
-- due_at is the next thing the engine does for it (ask at the shift's start, then page the safety
-- leads at the grace's end); a claim moves it a lease ahead, so a send that dies is tried again,
-- and it is null once the check is confirmed or missed.
CREATE TABLE readiness_checks (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  zone_id       uuid NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
  responder_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code          integer NOT NULL UNIQUE DEFAULT nextval('readiness_code_seq'),
  reason        text NOT NULL CHECK (reason IN ('rotation', 'override')),
  shift_start   timestamptz NOT NULL,
  -- When this responder stops being on call, as known when the check was made; null: not known.
  shift_end     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  asked_at      timestamptz,
  asked_via     text CHECK (asked_via IN ('sms', 'voice', 'none')),
  confirmed_at  timestamptz,
  missed_at     timestamptz,
  due_at        timestamptz,
  UNIQUE (zone_id, shift_start)
);
CREATE INDEX readiness_checks_due_idx ON readiness_checks (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX readiness_checks_responder_idx ON readiness_checks (responder_id, shift_start DESC);
CREATE INDEX readiness_checks_start_idx ON readiness_checks (shift_start);

-- Per zone, the earliest moment a shift may begin that has not been looked at yet: the engine
-- looks then (readiness_due()) and moves it to the next change of who is on call. Setting a
-- rotation or adding an override moves it (the triggers below).
CREATE TABLE readiness_zones (
  zone_id  uuid PRIMARY KEY REFERENCES zones (id) ON DELETE CASCADE,
  next_at  timestamptz
);
CREATE INDEX readiness_zones_next_idx ON readiness_zones (next_at) WHERE next_at IS NOT NULL;

-- Zones with a rotation today start from now: the shift under way is not asked about.
INSERT INTO readiness_zones (zone_id, next_at) SELECT zone_id, now() FROM rotations;

-- Stubs: sql/functions/oncall/ holds their real text, which replaces these in the same run.
CREATE FUNCTION readiness_rotation_set() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION readiness_override_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER readiness_rotation_set AFTER INSERT OR UPDATE ON rotations
  FOR EACH ROW EXECUTE FUNCTION readiness_rotation_set();
CREATE TRIGGER readiness_override_added AFTER INSERT ON overrides
  FOR EACH ROW EXECUTE FUNCTION readiness_override_added();
