-- What an incident's row says that its own timeline does not: the names of the columns whose value
-- differs from what the events imply (an empty array when all agree). The timeline is what the
-- hash chain and the signed checkpoints protect; this carries that protection to the row.
--   kind: the last incident.details that names one (the driver refined it), else incident.opened;
--   source, zone_id, zone_rule, note, client_request_id, opened_at: the incident.opened event;
--   driver_id: its actor, when a driver opened it; severity: the last incident.severity_raised;
--   status: the last event that sets it (opened, acknowledged, cancel.requested, resolved, and a
--   duress PIN after a cancel, which reopens); acknowledged_*: the last incident.acknowledged;
--   resolved_*, disposition, resolution_note: incident.resolved; duress_at: duress.triggered;
--   coarsened_at: location.redacted. Times are compared to the millisecond, as events keep them.

CREATE OR REPLACE FUNCTION incident_row_disagreements(p_incident uuid)
RETURNS text[]
LANGUAGE sql
STABLE
AS $$
  WITH e AS (
    SELECT seq, type, at, actor, data FROM incident_events WHERE incident_id = p_incident
  ), opened AS (
    SELECT * FROM e WHERE type = 'incident.opened' ORDER BY seq LIMIT 1
  ), ack AS (
    SELECT * FROM e WHERE type = 'incident.acknowledged' ORDER BY seq DESC LIMIT 1
  ), res AS (
    SELECT * FROM e WHERE type = 'incident.resolved' ORDER BY seq DESC LIMIT 1
  ), x AS (
    SELECT
      (SELECT CASE type WHEN 'incident.resolved' THEN 'resolved' WHEN 'incident.acknowledged' THEN 'acknowledged'
                        WHEN 'cancel.requested' THEN 'cancel_requested' ELSE 'open' END
       FROM e WHERE type IN ('incident.opened', 'incident.acknowledged', 'cancel.requested', 'incident.resolved')
                 OR (type = 'duress.triggered' AND data ->> 'statusBefore' = 'cancel_requested')
       ORDER BY seq DESC LIMIT 1) AS status,
      coalesce((SELECT data ->> 'to' FROM e WHERE type = 'incident.severity_raised' ORDER BY seq DESC LIMIT 1),
               (SELECT data ->> 'severity' FROM opened)) AS severity,
      coalesce((SELECT data ->> 'kind' FROM e WHERE type = 'incident.details' AND data ->> 'kind' IS NOT NULL ORDER BY seq DESC LIMIT 1),
               (SELECT data ->> 'kind' FROM opened)) AS kind,
      (SELECT min(at) FROM e WHERE type = 'duress.triggered') AS duress_at,
      (SELECT min(at) FROM e WHERE type = 'location.redacted') AS coarsened_at
  ), ms AS (
    SELECT i.*, date_trunc('milliseconds', i.opened_at) AS opened_ms,
           date_trunc('milliseconds', i.acknowledged_at) AS acknowledged_ms,
           date_trunc('milliseconds', i.resolved_at) AS resolved_ms,
           date_trunc('milliseconds', i.duress_at) AS duress_ms,
           date_trunc('milliseconds', i.coarsened_at) AS coarsened_ms
    FROM incidents i WHERE i.id = p_incident
  )
  SELECT array_remove(ARRAY[
    CASE WHEN o.seq IS NULL THEN 'opened' END,
    CASE WHEN o.seq IS NOT NULL AND i.kind IS DISTINCT FROM x.kind THEN 'kind' END,
    CASE WHEN o.seq IS NOT NULL AND i.source IS DISTINCT FROM o.data ->> 'source' THEN 'source' END,
    CASE WHEN o.seq IS NOT NULL AND i.zone_id::text IS DISTINCT FROM o.data ->> 'zoneId' THEN 'zone_id' END,
    CASE WHEN o.seq IS NOT NULL AND i.zone_rule IS DISTINCT FROM o.data ->> 'zoneRule' THEN 'zone_rule' END,
    CASE WHEN o.seq IS NOT NULL AND i.note IS DISTINCT FROM o.data ->> 'note' THEN 'note' END,
    CASE WHEN o.seq IS NOT NULL AND i.client_request_id::text IS DISTINCT FROM o.data ->> 'clientRequestId' THEN 'client_request_id' END,
    CASE WHEN o.seq IS NOT NULL AND i.opened_ms IS DISTINCT FROM o.at THEN 'opened_at' END,
    CASE WHEN o.actor LIKE 'driver:%' AND i.driver_id::text IS DISTINCT FROM substr(o.actor, 8) THEN 'driver_id' END,
    CASE WHEN i.severity IS DISTINCT FROM x.severity THEN 'severity' END,
    CASE WHEN i.status IS DISTINCT FROM x.status THEN 'status' END,
    CASE WHEN i.acknowledged_by::text IS DISTINCT FROM a.data ->> 'by' THEN 'acknowledged_by' END,
    CASE WHEN i.acknowledged_ms IS DISTINCT FROM a.at THEN 'acknowledged_at' END,
    CASE WHEN i.ack_via IS DISTINCT FROM a.data ->> 'via' THEN 'ack_via' END,
    CASE WHEN i.resolved_by::text IS DISTINCT FROM r.data ->> 'by' THEN 'resolved_by' END,
    CASE WHEN i.resolved_ms IS DISTINCT FROM r.at THEN 'resolved_at' END,
    CASE WHEN i.disposition IS DISTINCT FROM r.data ->> 'disposition' THEN 'disposition' END,
    CASE WHEN i.resolution_note IS DISTINCT FROM r.data ->> 'note' THEN 'resolution_note' END,
    CASE WHEN i.duress_ms IS DISTINCT FROM x.duress_at THEN 'duress_at' END,
    CASE WHEN i.coarsened_ms IS DISTINCT FROM x.coarsened_at THEN 'coarsened_at' END
  ]::text[], NULL)
  FROM ms i CROSS JOIN x LEFT JOIN opened o ON true LEFT JOIN ack a ON true LEFT JOIN res r ON true
$$;
