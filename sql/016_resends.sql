-- Which sender holds a page it is sending (its process's id, null where the runtime has none),
-- so that a sender that died is known at once from its advisory lock, not only when the lease
-- runs out.
ALTER TABLE pages ADD COLUMN lease_owner uuid;

-- Two event types: page.resent (a page whose outcome was unknown, or whose request Twilio had not
-- answered after the hedge time, sent again, with the reason) and simulator.action (something
-- done through the console's phone simulator, naming who was signed in). The list is otherwise
-- the same as before.
ALTER DOMAIN event_type DROP CONSTRAINT event_type_check;
ALTER DOMAIN event_type ADD CONSTRAINT event_type_check CHECK (VALUE IN (
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'page.resent',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted',
  'support.linked', 'notice.queued', 'simulator.action'));

-- No trigger has used it since the SOS queues its opening step's pages itself.
DROP FUNCTION sos_escalate_on_open();
