-- Legacy planner activity and booking activity in the window, as one row.
-- Legacy activity: :started_type (auto_assign.started) and every event of :inline_source,
-- except mirror events whose context.trigger is :mirror_trigger (V3 outcomes). A booking is
-- "handled" when its first legacy activity in the window is older than :handled_before (the
-- window end minus the grace period, so that jobs still running are not counted as failures),
-- and "succeeded" when it also has a :succeeded_types event that is not a mirror.
-- Arrivals: :created_type events of :arrivals_source whose context at :duplicate_path is not
-- true, keyed by the id at :arrival_id_path (the row's booking_id column is NULL on them).
-- :phantom_event is the runbook's auto_assign.attempt.start, counted to show it never appears.
-- Used by the shadow gate (24h), the rollback gate (after the rollback) and cleanup (7 days).
WITH window_events AS (
    SELECT
        source,
        event_type,
        created_at,
        CASE
            WHEN source <> :arrivals_source THEN CAST(booking_id AS text)
            WHEN event_type = :created_type
                AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
                THEN coalesce(
                    CAST(booking_id AS text),
                    lower(context #>> CAST(:arrival_id_path AS text[]))
                )
        END AS booking_key,
        source = :arrivals_source
            AND event_type = :created_type
            AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
            AS is_arrival,
        source = ANY(:legacy_sources)
            AND (event_type = :started_type OR source = :inline_source)
            AND (context ->> 'trigger') IS DISTINCT FROM :mirror_trigger AS is_legacy,
        source = ANY(:legacy_sources)
            AND event_type = ANY(:succeeded_types)
            AND (context ->> 'trigger') IS DISTINCT FROM :mirror_trigger AS is_success
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (
          source = ANY(:activity_sources)
          OR source = :arrivals_source
          OR event_type = :phantom_event
      )
),
totals AS (
    SELECT
        count(*) FILTER (WHERE is_legacy) AS legacy_events,
        count(*) FILTER (WHERE is_legacy AND event_type = :started_type) AS legacy_starts,
        min(created_at) FILTER (WHERE is_legacy) AS first_legacy_at,
        max(created_at) FILTER (WHERE is_legacy) AS last_legacy_at,
        count(*) FILTER (WHERE event_type = :phantom_event) AS phantom_events,
        count(*) FILTER (
            WHERE source = :arrivals_source AND event_type = :created_type AND NOT is_arrival
        ) AS duplicate_creations
    FROM window_events
),
per_booking AS (
    SELECT
        booking_key,
        bool_or(source = ANY(:activity_sources)) AS has_planner_activity,
        bool_or(is_arrival) AS created,
        min(created_at) FILTER (WHERE is_legacy) AS first_legacy_at,
        bool_or(is_success) AS succeeded
    FROM window_events
    WHERE booking_key IS NOT NULL
    GROUP BY booking_key
),
bookings AS (
    SELECT
        count(*) AS bookings_with_activity,
        count(*) FILTER (WHERE created) AS bookings_created,
        count(*) FILTER (WHERE has_planner_activity) AS bookings_with_planner_activity,
        count(*) FILTER (WHERE first_legacy_at IS NOT NULL) AS legacy_bookings,
        count(*) FILTER (WHERE first_legacy_at < :handled_before) AS handled,
        count(*) FILTER (WHERE first_legacy_at < :handled_before AND succeeded) AS succeeded
    FROM per_booking
)
SELECT totals.*, bookings.*
FROM totals CROSS JOIN bookings;
