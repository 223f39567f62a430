-- Emergency dispatch through Noonlight (issue 20): a supervisor, a safety lead or the admin asks
-- for police, fire or medical services; Mayday opens an alarm at the dispatch center and keeps it
-- current. Each state change is on the incident's timeline as a dispatch.* event.

-- One request for emergency services for an incident, and the alarm it opened. At most one is
-- live (requested, active or psap_contacted) per incident: a second request answers that one.
CREATE TABLE dispatches (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id       uuid NOT NULL REFERENCES incidents (id),
  -- The center's alarm id, once it answered; null while requested and when creation failed.
  alarm_id          text UNIQUE,
  -- 'noonlight' or 'simulator': which center the alarm lives at.
  center            text NOT NULL,
  -- requested: recorded, the center not yet answered; active: the alarm exists; psap_contacted:
  -- the dispatcher called the 911 centre; closed / canceled: over; failed: no alarm (a human must act).
  status            text NOT NULL DEFAULT 'requested'
                    CHECK (status IN ('requested', 'active', 'psap_contacted', 'closed', 'canceled', 'failed')),
  services          text[] NOT NULL CHECK (services <@ ARRAY['police', 'fire', 'medical'] AND cardinality(services) > 0),
  note              text,
  -- The alarm's own PIN (a cancel must give it), sealed with AES-GCM under a key only the server
  -- holds (derived from NOONLIGHT_SERVER_TOKEN): the database alone cannot reveal it. Never read
  -- by exports, timelines or any API answer.
  pin_sealed        text NOT NULL,
  -- Who asked ('admin', 'supervisor:<id>'... as the timeline writes actors) and how.
  requested_by      text NOT NULL,
  requested_via     text NOT NULL CHECK (requested_via IN ('api', 'console', 'sms')),
  requested_at      timestamptz NOT NULL DEFAULT now(),
  created_at        timestamptz,
  psap_contacted_at timestamptz,
  closed_at         timestamptz,
  canceled_at       timestamptz,
  failed_at         timestamptz,
  -- When the newest fix forwarded to the alarm was taken: a fix newer than this is still to send.
  location_sent_at  timestamptz,
  -- The driver cancelled with the cancel PIN while this dispatch was live (cancel_incident()):
  -- its alarm is to be cancelled, now or once it exists. Cleared when a cancel failed for good.
  cancel_wanted_at  timestamptz
);
CREATE UNIQUE INDEX dispatches_one_live ON dispatches (incident_id) WHERE status IN ('requested', 'active', 'psap_contacted');
CREATE INDEX dispatches_incident_idx ON dispatches (incident_id, requested_at);

-- Every webhook event taken, by the center's event_id: a delivery retried is recorded once.
CREATE TABLE dispatch_webhook_events (
  event_id    text PRIMARY KEY,
  dispatch_id uuid REFERENCES dispatches (id),
  type        text NOT NULL,
  event_time  timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- A page about a dispatch: to the safety leads when it failed ("call 911 yourself"), to the
-- acknowledging supervisor when the 911 centre was contacted. The list is otherwise as in 008.
ALTER DOMAIN page_purpose DROP CONSTRAINT page_purpose_check;
ALTER DOMAIN page_purpose ADD CONSTRAINT page_purpose_check
  CHECK (VALUE IN ('page', 'failover', 'retry', 'repage', 'duress', 'notice', 'checkin', 'dispatch'));

-- The dispatch events (dispatch.location_failed: the center refused a newer fix of the driver).
-- The list is otherwise the same as in 019.
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
  'incident.details',
  'dispatch.requested', 'dispatch.created', 'dispatch.psap_contacted', 'dispatch.closed',
  'dispatch.canceled', 'dispatch.failed', 'dispatch.location_failed'));
