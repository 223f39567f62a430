-- Records a request for emergency services, before the dispatch center is called: a crash
-- between this and dispatch_created()/dispatch_failed() stays visible as a dispatch.requested
-- with nothing after it. With a dispatch already live for the incident, nothing is recorded and
-- that one is answered. Who may ask is judged here too, in the same round trip: the admin, a
-- safety lead, a supervisor of the incident's zone or the one who acknowledged it, or anyone the
-- caller vouches was paged for it (p_paged_for: an SMS "911 <code>"); another supervisor who was
-- paged for it may see it but not ask ('forbidden'), one who was not does not see it ('missing').
-- Answers {result: 'created' | 'existing' | 'resolved' | 'missing' | 'forbidden', dispatch, alarm}
-- where alarm holds what the center needs (the driver, the newest fix, the incident), and
-- ageSeconds, how long ago the dispatch was requested (an old `requested` one was cut short).

CREATE OR REPLACE FUNCTION dispatch_request(p_incident uuid, p_services text[], p_note text,
                                            p_pin_sealed text, p_by text, p_via text, p_center text,
                                            p_role text, p_user text, p_paged_for boolean)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
  inc incidents%ROWTYPE;
  d dispatches%ROWTYPE;
  v_result text := 'existing';
BEGIN
  SELECT * INTO inc FROM incidents WHERE id = p_incident FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('result', 'missing');
  END IF;
  IF p_role = 'supervisor' AND NOT p_paged_for AND inc.acknowledged_by::text IS DISTINCT FROM p_user
     AND NOT EXISTS (SELECT 1 FROM responder_zones rz WHERE rz.responder_id::text = p_user AND rz.zone_id = inc.zone_id) THEN
    RETURN jsonb_build_object('result', CASE WHEN EXISTS (
      SELECT 1 FROM pages p WHERE p.incident_id = p_incident AND p.recipient_id::text = p_user) THEN 'forbidden' ELSE 'missing' END);
  ELSIF p_role NOT IN ('admin', 'safety_lead', 'supervisor') THEN
    RETURN jsonb_build_object('result', 'forbidden');
  END IF;
  IF inc.status = 'resolved' THEN
    RETURN jsonb_build_object('result', 'resolved');
  END IF;
  SELECT * INTO d FROM dispatches
  WHERE incident_id = p_incident AND status IN ('requested', 'active', 'psap_contacted');
  IF NOT FOUND THEN
    INSERT INTO dispatches (incident_id, center, services, note, pin_sealed, requested_by, requested_via)
    VALUES (p_incident, p_center, p_services, p_note, p_pin_sealed, p_by, p_via)
    RETURNING * INTO d;
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'dispatch.requested', p_by, jsonb_strip_nulls(jsonb_build_object(
      'dispatchId', d.id, 'services', to_jsonb(p_services), 'via', p_via, 'center', p_center, 'note', p_note)));
    v_result := 'created';
  END IF;
  RETURN jsonb_build_object(
    'result', v_result,
    'ageSeconds', extract(epoch FROM now() - d.requested_at),
    'dispatch', jsonb_build_object('id', d.id, 'status', d.status, 'services', to_jsonb(d.services)),
    'alarm', (SELECT jsonb_build_object(
                'driverName', u.name, 'driverPhone', u.phone, 'lat', inc.lat, 'lng', inc.lng,
                'accuracyM', inc.accuracy_m, 'locationAt', inc.location_at,
                'kind', inc.kind, 'code', inc.code, 'note', d.note, 'incidentNote', inc.note)
              FROM users u WHERE u.id = inc.driver_id));
END
$$;
