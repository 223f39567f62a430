-- The escalation policy of a zone without one of its own: the on-call responder at once, every zone
-- supervisor at 60 s, every safety lead at 120 s, then the last step again every 120 s.

CREATE OR REPLACE FUNCTION default_escalation_policy()
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
AS $$
  SELECT '{"steps": [
            {"afterSeconds": 0,   "notify": ["oncall"],           "channels": ["sms", "voice"]},
            {"afterSeconds": 60,  "notify": ["zone_supervisors"], "channels": ["sms", "voice"]},
            {"afterSeconds": 120, "notify": ["safety_leads"],     "channels": ["sms", "voice"]}],
          "repeatEverySeconds": 120}'::jsonb
$$;
