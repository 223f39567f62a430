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
