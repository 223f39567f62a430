-- Pages out of turn: the acknowledging responder (if any) and the recipients of escalation step
-- p_step (clamped to the policy), by SMS and voice, with a note saying why.

CREATE OR REPLACE FUNCTION repage(p_incident uuid, p_step integer, p_note text,
                                  p_at timestamp with time zone)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  inc incidents%ROWTYPE;
  policy jsonb;
  n integer;
  who uuid[];
BEGIN
  UPDATE incidents SET repage_seq = repage_seq + 1 WHERE id = p_incident RETURNING * INTO inc;
  SELECT z.escalation_policy INTO policy FROM zones z WHERE z.id = inc.zone_id;
  policy := coalesce(policy, default_escalation_policy());
  n := jsonb_array_length(policy -> 'steps');
  SELECT array_agg(DISTINCT x) INTO who FROM (
    SELECT inc.acknowledged_by AS x WHERE inc.acknowledged_by IS NOT NULL
    UNION SELECT r.recipient_id FROM step_recipients(inc.zone_id, policy -> 'steps' -> greatest(0, least(p_step, n - 1)) -> 'notify', p_at) r
  ) q;
  IF who IS NULL THEN
    SELECT array_agg(id) INTO who FROM users WHERE role = 'safety_lead' AND phone IS NOT NULL;
  END IF;
  IF who IS NULL THEN
    RETURN 0;
  END IF;
  RETURN queue_pages(p_incident, who, ARRAY['sms', 'voice'], 'repage', greatest(0, least(p_step, n - 1)), inc.repage_seq, p_at, 1, 0, p_note);
END
$$;
