-- 003 simulator: the built-in phone simulator's messages and calls (used when no Twilio
-- credentials are configured), shared by every instance so any of them can list a phone.
CREATE TABLE sim_messages (
  sid         text PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('sms', 'call')),
  direction   text NOT NULL CHECK (direction IN ('to_phone', 'from_phone')),
  phone       text NOT NULL,
  body        text NOT NULL,
  page_id     uuid,
  status      text NOT NULL,
  digits      text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz
);
CREATE INDEX sim_messages_phone_idx ON sim_messages (phone, created_at);
CREATE INDEX sim_messages_live_calls_idx ON sim_messages (created_at) WHERE kind = 'call' AND status IN ('ringing', 'in-progress');
