-- The most events of one type in any rolling hour of the window, and the total.
SELECT
    coalesce(max(in_following_hour), 0) AS max_in_any_hour,
    count(*) AS total
FROM (
    SELECT count(*) OVER (
        ORDER BY created_at
        RANGE BETWEEN CURRENT ROW AND INTERVAL '1 hour' FOLLOWING
    ) AS in_following_hour
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source = :coordinator_source
      AND event_type = :event_type
) AS per_event;
