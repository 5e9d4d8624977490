-- Count of one coordinator event type per bucket, buckets aligned to :window_end.
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    count(*) AS events
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND source = :coordinator_source
  AND event_type = :event_type
GROUP BY 1
ORDER BY 1;
