-- doctor: events per day over the last days, days aligned to :window_end (the server's now()).
-- Bounds created_at first, so it reads the days' rows through the created_at index only.
SELECT
    date_bin(INTERVAL '1 day', created_at, :window_end) AS day_start,
    count(*) AS events
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 1;
