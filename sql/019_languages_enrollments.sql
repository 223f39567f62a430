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
