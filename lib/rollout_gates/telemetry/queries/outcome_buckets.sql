-- Decided and pending bookings per bucket and outcome (DESIGN.md, "Outcome of a booking").
-- A booking's outcome is its latest coordinator outcome event in the window; buckets are
-- aligned to :window_end so the last bucket ends at the as-of time. `pending` marks events
-- younger than :grace (only retry and circuit_open can be pending; metrics.py decides).
-- Bounds created_at first, so only the window's rows are read.
WITH outcome_events AS (
    SELECT id, booking_id, event_type, created_at
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source = :coordinator_source
      AND event_type = ANY(:outcome_types)
      AND booking_id IS NOT NULL
),
latest AS (
    SELECT DISTINCT ON (booking_id) booking_id, event_type, created_at
    FROM outcome_events
    ORDER BY booking_id, created_at DESC, id DESC
)
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    (CAST(:outcome_classes AS text[]))[array_position(CAST(:outcome_types AS text[]), event_type)]
        AS outcome,
    created_at >= :window_end - :grace AS pending,
    count(*) AS bookings
FROM latest
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
