-- Does V3 see the bookings being made? Active coordinator starts, and bookings with
-- activity from other sources (creation, state machine, legacy) versus those the
-- coordinator wrote about.
WITH window_events AS (
    SELECT source, event_type, context, booking_id
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (source = :coordinator_source OR source = ANY(:activity_sources))
),
per_booking AS (
    SELECT
        booking_id,
        bool_or(source = ANY(:activity_sources)) AS has_activity,
        bool_or(source = :coordinator_source) AS seen_by_coordinator
    FROM window_events
    WHERE booking_id IS NOT NULL
    GROUP BY booking_id
)
SELECT
    (SELECT count(*) FROM window_events
      WHERE source = :coordinator_source
        AND event_type = :start_type
        AND context ->> 'mode' = :active_mode) AS active_starts,
    count(*) FILTER (WHERE has_activity) AS bookings_with_activity,
    count(*) FILTER (WHERE has_activity AND seen_by_coordinator) AS bookings_seen_by_coordinator
FROM per_booking;
