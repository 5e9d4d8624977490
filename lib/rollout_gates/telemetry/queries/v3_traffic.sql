-- Does V3 see the bookings being made? Active coordinator starts; bookings created (arrivals:
-- :created_type events of :arrivals_source, not a replay by context at :duplicate_path, keyed
-- by the id at :arrival_id_path since their booking_id column is NULL) and bookings with
-- activity (arrivals, and bookings with a :activity_sources event: state machine, legacy),
-- each with how many of them the coordinator wrote about.
WITH window_events AS (
    SELECT
        source,
        event_type,
        context,
        CASE
            WHEN source <> :arrivals_source THEN CAST(booking_id AS text)
            WHEN event_type = :created_type
                AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
                THEN coalesce(
                    CAST(booking_id AS text),
                    lower(context #>> CAST(:arrival_id_path AS text[]))
                )
        END AS booking_key
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (
          source = :coordinator_source
          OR source = ANY(:activity_sources)
          OR source = :arrivals_source
      )
),
per_booking AS (
    SELECT
        booking_key,
        bool_or(source = :arrivals_source) AS created,
        bool_or(source = ANY(:activity_sources) OR source = :arrivals_source) AS has_activity,
        bool_or(source = :coordinator_source) AS seen_by_coordinator
    FROM window_events
    WHERE booking_key IS NOT NULL
    GROUP BY booking_key
)
SELECT
    (SELECT count(*) FROM window_events
      WHERE source = :coordinator_source
        AND event_type = :start_type
        AND context ->> 'mode' = :active_mode) AS active_starts,
    count(*) FILTER (WHERE has_activity) AS bookings_with_activity,
    count(*) FILTER (WHERE has_activity AND seen_by_coordinator) AS bookings_seen_by_coordinator,
    count(*) FILTER (WHERE created) AS bookings_created,
    count(*) FILTER (WHERE created AND seen_by_coordinator) AS bookings_created_seen
FROM per_booking;
