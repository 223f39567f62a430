-- 005 support: the ordinary support lane. Drivers file support requests (payment, app,
-- scheduling, account, safety, other); tier 1-3 agents claim the oldest open one of their tier,
-- resolve it or move it to a higher tier.
--
-- Why it is a table of its own, apart from incidents: the lane is a queue that may hold a large
-- backlog, and an emergency must never wait behind it. A request that reads as an emergency (the
-- category `safety`, a keyword, or an agent's call) is not queued at all: it is promoted through
-- the same intake as an SOS (sos_open), stored here already `promoted` with its incident_id, and
-- the incident's timeline gets a `support.linked` event, all in the request's one transaction.
-- Nothing here is read on the SOS path.

CREATE TABLE support_requests (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  driver_id        uuid NOT NULL REFERENCES users (id),
  category         text NOT NULL CHECK (category IN ('payment', 'app', 'scheduling', 'account', 'safety', 'other')),
  text             text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
  tier             smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 3),
  -- open: waits for an agent of its tier; claimed: an agent has it; resolved: done;
  -- promoted: it is an incident now (terminal for the lane, never in the queue).
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'resolved', 'promoted')),
  claimed_by       uuid REFERENCES users (id),
  claimed_at       timestamptz,
  incident_id      uuid REFERENCES incidents (id),
  promoted_reason  text CHECK (promoted_reason IN ('category', 'keyword', 'agent')),
  promoted_by      uuid REFERENCES users (id),
  promoted_at      timestamptz,
  resolved_by      uuid REFERENCES users (id),
  resolved_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'promoted') = (incident_id IS NOT NULL)),
  CHECK ((incident_id IS NULL) = (promoted_reason IS NULL) AND (incident_id IS NULL) = (promoted_at IS NULL)),
  CHECK (status <> 'claimed' OR (claimed_by IS NOT NULL AND claimed_at IS NOT NULL)),
  CHECK (status <> 'open' OR claimed_by IS NULL),
  CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
);

-- The queue: "the oldest open request of tier N" is the first entry of this index, whatever the
-- backlog; claimed, resolved and promoted requests are not in it.
CREATE INDEX support_requests_queue_idx ON support_requests (tier, created_at, id) WHERE status = 'open';
CREATE INDEX support_requests_driver_idx ON support_requests (driver_id, created_at);
-- One incident per promoted request, and the way back from an incident to its request.
CREATE UNIQUE INDEX support_requests_incident_key ON support_requests (incident_id) WHERE incident_id IS NOT NULL;

