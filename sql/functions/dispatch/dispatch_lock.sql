-- One dispatch, locked in the order every writer of a dispatch and its timeline takes: its incident
-- (FOR NO KEY UPDATE), then the dispatch itself (FOR UPDATE); answered as it stands once locked.
-- NULL (every column) when there is no such dispatch.

CREATE OR REPLACE FUNCTION dispatch_lock(p_dispatch uuid)
RETURNS dispatches
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
BEGIN
  SELECT * INTO d FROM dispatches WHERE id = p_dispatch;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM incidents WHERE id = d.incident_id FOR NO KEY UPDATE;
  SELECT * INTO d FROM dispatches WHERE id = p_dispatch FOR UPDATE;
  RETURN d;
END
$$;
