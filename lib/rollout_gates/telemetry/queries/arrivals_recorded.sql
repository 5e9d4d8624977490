-- Does this database record arrivals at all: any :created_type event of :arrivals_source in
-- the window (the days before the as-of)? An older deploy writes none; the gates then fall
-- back to planner activity and say so. EXISTS stops at the first row.
SELECT EXISTS (
    SELECT 1
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source = :arrivals_source
      AND event_type = :created_type
) AS recorded;
