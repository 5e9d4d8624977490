-- Bookings created in the window ("arrivals"): :created_type events of :arrivals_source whose
-- context at :duplicate_path is not true (a replay returns an existing booking), one per
-- booking by the id at :arrival_id_path (the row's booking_id column is NULL on them; an
-- event without an id still counts once). Also the replays, and the bookings with a
-- :activity_sources event (by the booking_id column): what stands in for arrivals when a
-- database has no creation event at all. Gives the rate that silence is judged against.
WITH window_events AS (
    SELECT
        source,
        booking_id,
        source = :arrivals_source
            AND event_type = :created_type
            AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
            AS is_arrival,
        CASE WHEN source = :arrivals_source AND event_type = :created_type
             THEN coalesce(
                 CAST(booking_id AS text),
                 lower(context #>> CAST(:arrival_id_path AS text[]))
             )
        END AS arrival_key
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (source = :arrivals_source OR source = ANY(:activity_sources))
)
SELECT
    count(DISTINCT arrival_key) FILTER (WHERE is_arrival)
        + count(*) FILTER (WHERE is_arrival AND arrival_key IS NULL) AS created,
    count(*) FILTER (
        WHERE source = :arrivals_source AND arrival_key IS NOT NULL AND NOT is_arrival
    ) AS duplicates,
    count(DISTINCT booking_id) FILTER (WHERE source = ANY(:activity_sources))
        AS planner_bookings
FROM window_events;
