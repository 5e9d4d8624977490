-- Oddities in the telemetry the gates read (the coordinator's and the state machine's
-- events in the window), counted rather than crashed on: an advisory check shows them.
-- Casts are guarded by jsonb_typeof inside CASE, so no row of any shape can fail the query.
WITH window_events AS (
    SELECT created_at, source, event_type, context, booking_id,
           jsonb_typeof(context) AS context_type
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source IN (:coordinator_source, :state_machine_source)
),
transitions AS (
    SELECT
        CASE WHEN jsonb_typeof(context -> 'version') = 'number'
             THEN CAST(context -> 'version' AS numeric) END AS version,
        -- the highest version written strictly earlier for the same booking
        max(CASE WHEN jsonb_typeof(context -> 'version') = 'number'
                 THEN CAST(context -> 'version' AS numeric) END) OVER (
            PARTITION BY booking_id ORDER BY created_at
            RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP
        ) AS earlier_max_version
    FROM window_events
    WHERE source = :state_machine_source
      AND event_type = :transition_type
      AND booking_id IS NOT NULL
      AND context_type = 'object'
),
copies AS (
    SELECT count(*) - 1 AS extra
    FROM window_events
    GROUP BY created_at, source, event_type, booking_id, context
    HAVING count(*) > 1
)
SELECT
    (SELECT count(*) FROM window_events) AS events,
    (SELECT count(*) FROM window_events WHERE context IS NULL) AS null_context,
    (SELECT count(*) FROM window_events
      WHERE context IS NOT NULL AND context_type <> 'object') AS non_object_context,
    (SELECT count(*) FROM window_events
      WHERE context_type = 'object' AND context ? 'duration_ms'
        AND jsonb_typeof(context -> 'duration_ms') <> 'number') AS duration_not_number,
    (SELECT count(*) FROM window_events  -- CASE: AND does not guard a cast in SQL
      WHERE CASE WHEN jsonb_typeof(context -> 'duration_ms') = 'number'
                 THEN CAST(context -> 'duration_ms' AS numeric) < 0 END) AS duration_negative,
    (SELECT count(*) FROM window_events
      WHERE source = :coordinator_source
        AND event_type <> ALL(:coordinator_types)) AS unknown_event_type,
    (SELECT coalesce(sum(extra), 0) FROM copies) AS duplicates,
    (SELECT count(*) FROM transitions WHERE version < earlier_max_version) AS out_of_order,
    (SELECT count(*) FROM window_events WHERE booking_id IS NULL) AS null_booking_id;
