-- Trigger function that escalates a new incident when its incident.opened event is written, never
-- refusing the SOS (a failure is left for the engine). No trigger uses it: sos_open() queues the
-- opening step's pages itself.

CREATE OR REPLACE FUNCTION sos_escalate_on_open()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  BEGIN
    PERFORM escalate(NEW.incident_id, now());
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'escalation of new incident % failed (the engine will retry): %', NEW.incident_id, SQLERRM;
  END;
  RETURN NULL;
END
$$;
