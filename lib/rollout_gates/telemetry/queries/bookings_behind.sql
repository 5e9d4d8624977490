-- The bookings that count against a failing rate check: decided in [:window_start,
-- :window_end) with one of the :against_classes outcomes. A booking's outcome is its latest
-- coordinator outcome event before :as_of, as outcome_buckets.sql decides it (so a stretch
-- inside a gate's window lists what its bucket counted); a :pendable_classes outcome
-- younger than :grace at :as_of is pending and counts against nothing yet. The first
-- :max_listed by decision time, and how many there are in all.
WITH
-- part: latest_outcome,
classified AS (
    SELECT
        booking_id,
        restaurant_id,
        created_at AS decided_at,
        (CAST(:outcome_classes AS text[]))[
            array_position(CAST(:outcome_types AS text[]), event_type)
        ] AS outcome
    FROM latest
)
SELECT
    CAST(booking_id AS text) AS booking_id,
    CAST(restaurant_id AS text) AS restaurant_id,
    outcome,
    decided_at,
    count(*) OVER () AS total
FROM classified
WHERE decided_at < :window_end
  AND outcome = ANY(:against_classes)
  AND NOT (outcome = ANY(:pendable_classes) AND decided_at >= :as_of - :grace)
ORDER BY decided_at, booking_id
LIMIT :max_listed;
