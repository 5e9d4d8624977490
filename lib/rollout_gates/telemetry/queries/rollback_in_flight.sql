-- Bookings in flight at the rollback, one row a booking: coordinator activity in
-- [:window_start, :rollback_at) (the hour before the rollback) whose latest coordinator
-- outcome before :rollback_at is missing or not decided (:decided_types: confirmed,
-- manual_review, error; a retry is never rescheduled, so it is left in flight), and every
-- booking with coordinator events in [:rollback_at, :window_end) (the as-of). Shows whether
-- the legacy planner has picked each one up since, and its last state transition.
WITH events AS (
    SELECT
        booking_id,
        source,
        event_type,
        created_at,
        context,
        source = ANY(:legacy_sources)
            AND (event_type = :started_type OR source = :inline_source)
            AND (context ->> 'trigger') IS DISTINCT FROM :mirror_trigger AS is_legacy
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND booking_id IS NOT NULL
      AND (source = ANY(:v3_sources) OR source = ANY(:legacy_sources))
),
per_booking AS (
    SELECT
        booking_id,
        min(created_at) FILTER (
            WHERE source = :coordinator_source AND created_at < :rollback_at
        ) AS first_coordinator_event,
        (array_agg(event_type ORDER BY created_at DESC) FILTER (
            WHERE source = :coordinator_source
              AND event_type = ANY(:outcome_types)
              AND created_at < :rollback_at
        ))[1] AS outcome_before_rollback,
        count(*) FILTER (
            WHERE source = :coordinator_source AND created_at >= :rollback_at
        ) AS coordinator_events_after,
        max(created_at) FILTER (
            WHERE source = :coordinator_source AND created_at >= :rollback_at
        ) AS last_coordinator_event,
        count(*) FILTER (WHERE is_legacy AND created_at >= :rollback_at) AS legacy_events_after,
        (array_agg(context ->> 'to' ORDER BY created_at DESC) FILTER (
            WHERE source = :state_machine_source
        ))[1] AS last_state
    FROM events
    GROUP BY booking_id
)
SELECT
    booking_id,
    first_coordinator_event,
    outcome_before_rollback,
    coordinator_events_after,
    last_coordinator_event,
    legacy_events_after,
    last_state
FROM per_booking
WHERE (
        first_coordinator_event IS NOT NULL
        AND (outcome_before_rollback IS NULL
             OR outcome_before_rollback <> ALL(:decided_types))
    )
   OR coordinator_events_after > 0
ORDER BY coalesce(first_coordinator_event, last_coordinator_event), booking_id;
