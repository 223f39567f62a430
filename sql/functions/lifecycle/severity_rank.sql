-- Orders severities: medium < high < critical.

CREATE OR REPLACE FUNCTION severity_rank(p text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
AS $$ SELECT CASE p WHEN 'critical' THEN 3 WHEN 'high' THEN 2 ELSE 1 END $$;
