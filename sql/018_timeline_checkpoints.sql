-- Timeline checkpoints (issue 18): filled in by the change that adds them.
SELECT 1;
