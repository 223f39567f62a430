-- A dispatch gone wrong: its dispatch.failed event (with `p_data`) and a page to every safety
-- lead with a phone, SMS and voice at once, "call 911 yourself" with the driver's location.
-- Never silence: with no safety lead, the one who acknowledged, the one who asked (a responder),
-- the zone's supervisors and its on-call are paged instead (`fallback` on the event). `paged` is
-- empty only when nobody at all has a phone (the caller logs that as an error).
-- Each dispatch of an incident pages in a round of its own. The caller holds the incident's lock.

CREATE OR REPLACE FUNCTION dispatch_page_leads(p_dispatch uuid, p_data jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  d dispatches%ROWTYPE;
  inc incidents%ROWTYPE;
  leads uuid[];
  v_fallback boolean := false;
  v_round integer;
BEGIN
  SELECT * INTO d FROM dispatches WHERE id = p_dispatch;
  SELECT * INTO inc FROM incidents WHERE id = d.incident_id;
  SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO leads
  FROM step_recipients(inc.zone_id, '["safety_leads"]'::jsonb, now()) r;
  IF leads IS NULL THEN
    v_fallback := true;
    SELECT array_agg(u.id ORDER BY u.id) INTO leads FROM users u
    WHERE u.phone IS NOT NULL AND u.role IN ('supervisor', 'safety_lead')
      AND (u.id = inc.acknowledged_by
           OR u.id::text = split_part(d.requested_by, ':', 2)
           OR u.id IN (SELECT r.recipient_id FROM step_recipients(inc.zone_id, '["zone_supervisors", "oncall"]'::jsonb, now()) r));
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (d.incident_id, 'dispatch.failed', 'system', p_data || jsonb_build_object('paged', coalesce(to_jsonb(leads), '[]'::jsonb))
          || CASE WHEN v_fallback THEN jsonb_build_object('fallback', true) ELSE '{}'::jsonb END);
  IF leads IS NOT NULL THEN
    SELECT count(*) INTO v_round FROM dispatches WHERE incident_id = d.incident_id AND requested_at <= d.requested_at;
    PERFORM queue_pages(d.incident_id, leads, ARRAY['sms', 'voice'], 'dispatch', 0, v_round, now(), 1, 0, 'failed');
  END IF;
END
$$;
