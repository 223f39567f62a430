-- Trigger function that refuses UPDATE, DELETE and TRUNCATE on the append-only tables (timelines,
-- the audit log and their heads): the database itself keeps them append-only.

CREATE OR REPLACE FUNCTION refuse_change()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
