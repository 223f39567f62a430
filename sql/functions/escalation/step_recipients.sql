-- The people a step's notify list reaches in a zone at a moment ('oncall', 'zone_supervisors',
-- 'safety_leads' or user ids): supervisors and safety leads with a phone. Each kind of target is an
-- indexed lookup, because the opening step runs in the SOS's own transaction.

CREATE OR REPLACE FUNCTION step_recipients(p_zone uuid, p_notify jsonb,
                                           p_at timestamp with time zone)
RETURNS TABLE(recipient_id uuid)
LANGUAGE sql
STABLE
AS $$
  SELECT u.id FROM users u
  WHERE p_notify ? 'oncall' AND u.id = oncall_responder(p_zone, p_at)
    AND u.role IN ('supervisor', 'safety_lead') AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM responder_zones rz JOIN users u ON u.id = rz.responder_id
  WHERE p_notify ? 'zone_supervisors' AND rz.zone_id = p_zone AND u.role = 'supervisor' AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM users u
  WHERE p_notify ? 'safety_leads' AND u.role = 'safety_lead' AND u.phone IS NOT NULL
  UNION
  SELECT u.id FROM users u
  WHERE u.id IN (SELECT t::uuid FROM jsonb_array_elements_text(p_notify) t
                 WHERE t ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')
    AND u.role IN ('supervisor', 'safety_lead') AND u.phone IS NOT NULL
$$;
