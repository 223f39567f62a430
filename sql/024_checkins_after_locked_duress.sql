-- After five wrong PINs cancelling is locked, and the cancel PIN changes nothing: the check-ins go
-- on. The duress PIN answers "locked" too, so after it the check-ins must go on as well, or whoever
-- holds the phone could tell the two apart (cancel_incident(), checkins_due(), checkin_receive()).
-- The check-in indexes of sql/004 left out every incident with a duress PIN; they now hold any
-- open or acknowledged incident with a check-in scheduled. A duress PIN entered while cancelling
-- was not locked still clears both times, so such an incident has no entry in either.
--
-- Building them reads `incidents` under a lock that holds writes (SOS intake on other instances)
-- for as long as the scan; past 5 s waiting for the lock the migration fails instead.
SET LOCAL lock_timeout = '5s';
DROP INDEX incidents_checkin_next_idx;
DROP INDEX incidents_checkin_due_idx;
CREATE INDEX incidents_checkin_next_idx ON incidents (checkin_next_at)
  WHERE checkin_next_at IS NOT NULL AND status IN ('open', 'acknowledged');
CREATE INDEX incidents_checkin_due_idx ON incidents (checkin_due_at)
  WHERE checkin_due_at IS NOT NULL AND status IN ('open', 'acknowledged');
