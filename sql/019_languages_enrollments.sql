-- Drivers' own app and languages (issue 19).

-- The language Mayday writes to a person in: SMS and voice pages, check-ins, help texts and the
-- driver app. Everyone so far was written to in English.
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'es'));

-- A single-use code that lets a driver's phone sign in to the app at /app. Only the code's hash
-- is kept; it is good for 15 minutes and for one exchange, which stamps used_at.
CREATE TABLE driver_enrollments (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  driver_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash   text NOT NULL UNIQUE,
  -- Who made it: 'admin' or a safety lead's user id, as the timeline's actors are written.
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  CHECK (expires_at > created_at)
);
CREATE INDEX driver_enrollments_driver_idx ON driver_enrollments (driver_id);

-- The device token an enrollment gave, so one phone can be signed out without the others.
ALTER TABLE tokens ADD COLUMN enrollment_id uuid UNIQUE REFERENCES driver_enrollments (id) ON DELETE SET NULL;

-- The audit log records who created an enrollment code and who signed a device out, as it
-- records legal holds: admin actions on a driver's access. The list is otherwise as in 006.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
  'export', 'verify', 'report', 'legal_hold', 'legal_hold_release', 'retention',
  'enrollment', 'device_revoked'));

-- One event type: incident.details, what the driver says from the app after the SOS (the kind
-- it refines, a note). The list is otherwise the same as in 016.
ALTER DOMAIN event_type DROP CONSTRAINT event_type_check;
ALTER DOMAIN event_type ADD CONSTRAINT event_type_check CHECK (VALUE IN (
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'page.resent',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted',
  'support.linked', 'notice.queued', 'simulator.action',
  'incident.details'));
