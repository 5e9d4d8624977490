-- coordinator.retry events per bucket and context.reason (free text, or rate_limited), buckets
-- aligned to :window_end: one row per bucket and reason. Bounds created_at first.
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    coalesce(context ->> 'reason', '(no reason)') AS reason,
    count(*) AS retries
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND source = :coordinator_source
  AND event_type = :retry_type
GROUP BY 1, 2
ORDER BY 1, 2;
