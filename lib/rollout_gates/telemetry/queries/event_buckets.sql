-- Coordinator events of the given types per bucket, buckets aligned to :window_end (one type:
-- errors or circuit opens; all outcome types: the denominator of the error share).
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    count(*) AS events
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND source = :coordinator_source
  AND event_type = ANY(:event_types)
GROUP BY 1
ORDER BY 1;
