-- Coordinator outcome events (confirmed, manual_review, error, retry, circuit_open) per bucket,
-- buckets aligned to :window_end: the denominator of the error share that decides whether a
-- bucket's coordinator.error counts towards "sustained" (rules.assess_sustained_errors).
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    count(*) AS events
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND source = :coordinator_source
  AND event_type = ANY(:outcome_types)
GROUP BY 1
ORDER BY 1;
