-- State machine transitions in the window, one row per observed (from, to): how many,
-- of how many bookings, first and last time. The gate checks each pair against
-- params/taxonomy.yaml `state_machine.allowed`.
SELECT
    context ->> 'from' AS from_state,
    context ->> 'to' AS to_state,
    count(*) AS transitions,
    count(DISTINCT booking_id) AS bookings,
    min(created_at) AS first_at,
    max(created_at) AS last_at
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND source = :state_machine_source
  AND event_type = :transition_type
GROUP BY 1, 2
ORDER BY 1, 2;
