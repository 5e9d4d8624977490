-- doctor: does this database record arrivals? Creation events (:created_type of
-- :arrivals_source) over the last days, and the bookings with planner activity (by the
-- booking_id column of :activity_sources events) that stand in for them when there are none.
SELECT
    count(*) FILTER (WHERE source = :arrivals_source AND event_type = :created_type) AS created,
    count(DISTINCT booking_id) FILTER (WHERE source = ANY(:activity_sources))
        AS planner_bookings
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND (source = :arrivals_source OR source = ANY(:activity_sources));
