-- On-call readiness (issue 20): filled in by the readiness work.
SELECT 1;
