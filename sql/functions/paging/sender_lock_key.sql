-- The advisory lock a live sender holds for as long as its process runs (class 19801, this key):
-- pages it leases name it in lease_owner, and a page whose owner's lock is gone belongs to a
-- sender that died (see expire_leases()).

CREATE OR REPLACE FUNCTION sender_lock_key(p_owner uuid) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT hashtext(p_owner::text) $$;
