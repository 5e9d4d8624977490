-- p50 and p95 of context.duration_ms per bucket, over the coordinator's outcome events that
-- carry one (confirmed, manual_review, retry; error and circuit_open have none). Buckets are
-- aligned to :window_end. A value that is not a plain number from 0 to a day (a JSON string
-- of digits is accepted) is counted as unreadable and left out: one malformed row cannot
-- abort the query (nested CASE, because AND does not fix an evaluation order).
-- Bounds created_at first.
WITH durations AS (
    SELECT
        date_bin(:bucket, created_at, :window_end) AS bucket_start,
        CASE jsonb_typeof(context -> 'duration_ms')
            WHEN 'number' THEN
                CASE
                    WHEN CAST(context -> 'duration_ms' AS numeric) BETWEEN 0 AND 86400000
                        THEN CAST(CAST(context -> 'duration_ms' AS numeric) AS double precision)
                END
            WHEN 'string' THEN
                CASE
                    WHEN context ->> 'duration_ms' ~ '^\s*[0-9]{1,8}(\.[0-9]+)?\s*$'
                        THEN CAST(btrim(context ->> 'duration_ms') AS double precision)
                END
        END AS duration_ms
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source = :coordinator_source
      AND event_type = ANY(:outcome_types)
      AND context ? 'duration_ms'
)
SELECT
    bucket_start,
    count(duration_ms) AS calls,
    count(*) - count(duration_ms) AS unreadable,
    round(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS numeric), 1) AS p50_ms,
    round(CAST(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS numeric), 1) AS p95_ms
FROM durations
GROUP BY bucket_start
ORDER BY bucket_start;
