-- Emergency dispatch through Noonlight (issue 20): filled in by the dispatch work.
SELECT 1;
