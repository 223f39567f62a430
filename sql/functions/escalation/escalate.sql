-- Moves an open incident's escalation forward as of p_at (the caller holds its row lock). Steps
-- start at opened_at + afterSeconds, and a step that reaches nobody does not make the next one wait;
-- when no step reached anyone every safety lead is paged, and repeatEverySeconds after the last step
-- escalation is exhausted: recorded once, safety leads paged, the last step repeated until someone
-- acknowledges. It never ends silently.

CREATE OR REPLACE FUNCTION escalate(p_incident uuid, p_at timestamp with time zone)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  inc incidents%ROWTYPE;
  policy jsonb;
  steps jsonb;
  n integer;
  i integer;
  v_step jsonb;
  repeat_s integer;
  who uuid[];
  leads uuid[];
  channels text[];
  last_reached boolean;
  both_channels constant text[] := ARRAY['sms', 'voice'];
BEGIN
  SELECT * INTO inc FROM incidents WHERE id = p_incident;
  IF inc.status IS DISTINCT FROM 'open' THEN
    RETURN;
  END IF;
  SELECT z.escalation_policy INTO policy FROM zones z WHERE z.id = inc.zone_id;
  policy := coalesce(policy, default_escalation_policy());
  steps := policy -> 'steps';
  n := jsonb_array_length(steps);
  repeat_s := coalesce((policy ->> 'repeatEverySeconds')::integer, 120);

  IF inc.esc_step < n - 1 THEN
    last_reached := inc.esc_step < 0 OR EXISTS (
      SELECT 1 FROM pages WHERE incident_id = p_incident AND purpose = 'page' AND step = inc.esc_step AND round = 0);
    i := inc.esc_step + 1;
    WHILE i < n LOOP
      v_step := steps -> i;
      EXIT WHEN last_reached AND inc.opened_at + make_interval(secs => (v_step ->> 'afterSeconds')::integer) > p_at;
      SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO who FROM step_recipients(inc.zone_id, v_step -> 'notify', p_at) r;
      SELECT array_agg(c) INTO channels FROM jsonb_array_elements_text(v_step -> 'channels') c;
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
        'step', i, 'round', 0, 'notify', v_step -> 'notify', 'channels', v_step -> 'channels',
        'recipients', coalesce(to_jsonb(who), '[]'::jsonb), 'skipped', who IS NULL));
      IF who IS NOT NULL THEN
        PERFORM queue_pages(p_incident, who, channels, 'page', i, 0, p_at);
      END IF;
      last_reached := who IS NOT NULL;
      inc.esc_step := i;
      i := i + 1;
    END LOOP;

    IF i < n THEN
      UPDATE incidents SET esc_step = inc.esc_step,
             esc_next_at = inc.opened_at + make_interval(secs => (steps -> i ->> 'afterSeconds')::integer)
      WHERE id = p_incident;
      RETURN;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pages WHERE incident_id = p_incident AND purpose = 'page') THEN
      SELECT array_agg(id ORDER BY id) INTO leads FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
      INSERT INTO incident_events (incident_id, type, actor, data)
      VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
        'step', n - 1, 'round', 0, 'notify', '["safety_leads"]'::jsonb, 'channels', to_jsonb(both_channels),
        'recipients', coalesce(to_jsonb(leads), '[]'::jsonb), 'skipped', leads IS NULL,
        'reason', 'no step reached anyone'));
      IF leads IS NOT NULL THEN
        PERFORM queue_pages(p_incident, leads, both_channels, 'page', n - 1, 0, p_at);
      END IF;
    END IF;
    UPDATE incidents SET esc_step = n - 1, esc_next_at = p_at + make_interval(secs => repeat_s) WHERE id = p_incident;
    RETURN;
  END IF;

  -- Every step has had its time.
  IF inc.esc_next_at IS NULL OR inc.esc_next_at > p_at THEN
    RETURN;
  END IF;
  inc.esc_round := inc.esc_round + 1;
  v_step := steps -> (n - 1);
  SELECT array_agg(r.recipient_id ORDER BY r.recipient_id) INTO who FROM step_recipients(inc.zone_id, v_step -> 'notify', p_at) r;
  SELECT array_agg(c) INTO channels FROM jsonb_array_elements_text(v_step -> 'channels') c;
  SELECT array_agg(id ORDER BY id) INTO leads FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
  IF inc.exhausted_at IS NULL THEN
    INSERT INTO incident_events (incident_id, type, actor, data)
    VALUES (p_incident, 'escalation.exhausted', 'system', jsonb_build_object(
      'steps', n, 'repeatEverySeconds', repeat_s, 'safetyLeads', coalesce(to_jsonb(leads), '[]'::jsonb),
      'nobodyReachable', who IS NULL AND leads IS NULL));
    inc.exhausted_at := now();
    IF leads IS NOT NULL THEN
      PERFORM queue_pages(p_incident, leads, both_channels, 'page', n - 1, inc.esc_round, p_at);
    END IF;
  END IF;
  IF who IS NULL THEN
    who := leads;
    channels := both_channels;
  END IF;
  INSERT INTO incident_events (incident_id, type, actor, data)
  VALUES (p_incident, 'escalation.step', 'system', jsonb_build_object(
    'step', n - 1, 'round', inc.esc_round, 'repeat', true, 'notify', v_step -> 'notify', 'channels', to_jsonb(channels),
    'recipients', coalesce(to_jsonb(who), '[]'::jsonb), 'skipped', who IS NULL));
  IF who IS NOT NULL THEN
    PERFORM queue_pages(p_incident, who, channels, 'page', n - 1, inc.esc_round, p_at);
  END IF;
  UPDATE incidents SET esc_round = inc.esc_round, exhausted_at = inc.exhausted_at,
         esc_next_at = p_at + make_interval(secs => repeat_s)
  WHERE id = p_incident;
END
$$;
