-- Events only the V3 coordinator causes, per source and event type: assignment.coordinator,
-- assignment.state_machine, and the legacy job's mirror events with context.trigger =
-- 'coordinator' (V3 outcomes, spec/telemetry.md). Shadow mode runs nothing, so in shadow every
-- row is a leak; after a rollback's drain period every row is a straggler (the rollback gate
-- runs this query too). The last row (is_total) counts all of them and their bookings.
SELECT
    source,
    event_type,
    count(*) AS events,
    count(DISTINCT booking_id) AS bookings,
    min(created_at) AS first_at,
    max(created_at) AS last_at,
    GROUPING(source, event_type) <> 0 AS is_total
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND (
      source = ANY(:v3_sources)
      OR (source = ANY(:legacy_sources) AND context ->> 'trigger' = :mirror_trigger)
  )
GROUP BY GROUPING SETS ((source, event_type), ())
ORDER BY is_total, source, event_type;
