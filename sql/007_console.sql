-- 007 console: tell listeners that an incident changed, so the web console's live board can
-- refresh within a second without polling the database.
--
-- Every change to an incident (opened, paged, acknowledged, checked in, resolved...) appends a
-- timeline event in the same transaction, so one AFTER INSERT trigger on incident_events covers
-- them all. NOTIFY is delivered only when the transaction commits (never for a rolled-back
-- change), identical payloads within one transaction are folded into one, and with no listener
-- it costs next to nothing. The payload is the incident's id; listeners decide what to reload.
CREATE FUNCTION incident_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mayday_events', NEW.incident_id::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER incident_events_notify AFTER INSERT ON incident_events
  FOR EACH ROW EXECUTE FUNCTION incident_events_notify();
