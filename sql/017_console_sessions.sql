-- Console sessions (issue 18): the console's cookie holds a random session id, never the API
-- token it was opened with, and only the SHA-256 of that id is stored here. A session ends when
-- it is deleted (sign-out), after an idle time, or at an absolute age (both checked on every
-- request from created_at and last_seen_at, so changing the settings applies at once).
-- token_hash names the token signed in with: revoking it ends its sessions too. user_id is null
-- for the administrator, who has no row in users.
CREATE TABLE console_sessions (
  id_hash      text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
  token_hash   text NOT NULL,
  user_id      uuid REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
-- Expired sessions are deleted at each sign-in: by age of last use.
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);
