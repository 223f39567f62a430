-- A dispatch gone wrong: its dispatch.failed event (with `p_data`) and a page to every safety
-- lead with a phone, SMS and voice at once, "call 911 yourself" with the driver's location.
-- Each dispatch of an incident pages in a round of its own. The caller holds the incident's lock.

CREATE OR REPLACE FUNCTION dispatch_page_leads(p_dispatch uuid, p_data jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
  leads uuid[];
  v_round integer;
BEGIN
  SELECT * INTO d FROM dispatches WHERE id = p_dispatch;
  SELECT array_agg(id ORDER BY id) INTO leads FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.failed', 'system', p_data || jsonb_build_object('paged', coalesce(to_jsonb(leads), '[]'::jsonb)));
  IF leads IS NOT NULL THEN
    SELECT count(*) INTO v_round FROM dispatches WHERE incident_id = d.incident_id AND requested_at <= d.requested_at;
    PERFORM queue_pages(d.incident_id, leads, ARRAY['sms', 'voice'], 'dispatch', 0, v_round, now(), 1, 0, 'failed');
  END IF;
END
$$;
