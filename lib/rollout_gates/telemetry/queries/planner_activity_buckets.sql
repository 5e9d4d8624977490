-- Per bucket (aligned to :window_end): bookings created (arrivals: :created_type events of
-- :arrivals_source, not a replay by context at :duplicate_path, keyed by the id at
-- :arrival_id_path since their booking_id column is NULL), bookings with activity (arrivals
-- and bookings with a :activity_sources event), legacy activity (starts and inline events, V3
-- mirror events aside), V3 events (assignment.* and mirror events) and active coordinator
-- starts with the first one's time. Only buckets with events are returned; legacy.py fills
-- the others with zeros. The shadow gate draws it, the rollback gate around the rollback,
-- cleanup dates an uninterrupted full-mode stretch with it.
WITH window_events AS (
    SELECT
        date_bin(:bucket, created_at, :window_end) AS bucket_start,
        created_at,
        source,
        event_type,
        -- part: arrival_key,
        -- part: is_legacy,
        source = ANY(:v3_sources)
            OR (source = ANY(:legacy_sources) AND context ->> 'trigger' = :mirror_trigger)
            AS is_v3,
        source = :coordinator_source
            AND event_type = :start_type
            AND context ->> 'mode' = :active_mode AS is_active_start
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (
          source = ANY(:activity_sources)
          OR source = ANY(:v3_sources)
          OR source = :arrivals_source
      )
),
per_booking AS (
    -- one row per bucket and booking (rows without a key: one per bucket), so that the
    -- bookings are counted from one grouping of the window's rows, not a sort for each
    -- distinct count
    SELECT
        bucket_start,
        booking_key,
        bool_or(is_arrival) AS created,
        bool_or(is_arrival OR source = ANY(:activity_sources)) AS with_activity,
        count(*) FILTER (WHERE is_legacy) AS legacy_events,
        count(*) FILTER (WHERE is_v3) AS v3_events,
        count(*) FILTER (WHERE is_active_start) AS active_starts,
        min(created_at) FILTER (WHERE is_active_start) AS first_active_start
    FROM window_events
    GROUP BY bucket_start, booking_key
)
SELECT
    bucket_start,
    count(booking_key) FILTER (WHERE created) AS bookings_created,
    count(booking_key) FILTER (WHERE with_activity) AS bookings_with_activity,
    CAST(sum(legacy_events) AS bigint) AS legacy_events,
    count(booking_key) FILTER (WHERE legacy_events > 0) AS legacy_bookings,
    CAST(sum(v3_events) AS bigint) AS v3_events,
    CAST(sum(active_starts) AS bigint) AS active_starts,
    min(first_active_start) AS first_active_start
FROM per_booking
GROUP BY bucket_start
ORDER BY bucket_start;
