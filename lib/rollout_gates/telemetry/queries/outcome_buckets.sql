-- Decided and pending bookings per bucket and outcome (DESIGN.md, "Outcome of a booking").
-- A booking's outcome is its latest coordinator outcome event in the window (parts/
-- latest_outcome.sql; :as_of is :window_end); buckets are aligned to :window_end so the last
-- bucket ends at the as-of time. `pending` marks events younger than :grace (only retry and
-- circuit_open can be pending; metrics.py decides).
-- Bounds created_at first, so only the window's rows are read.
WITH
-- part: latest_outcome
SELECT
    date_bin(:bucket, created_at, :window_end) AS bucket_start,
    (CAST(:outcome_classes AS text[]))[array_position(CAST(:outcome_types AS text[]), event_type)]
        AS outcome,
    created_at >= :window_end - :grace AS pending,
    count(*) AS bookings
FROM latest
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
