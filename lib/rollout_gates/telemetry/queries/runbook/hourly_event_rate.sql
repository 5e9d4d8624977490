-- Runbook suite, "hourly event rate": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator rows per clock hour and event type.
-- Caveat: rows, not bookings (each booking writes several); clock hours (date_trunc), so the
-- first and last hours are partial; an hour with no row is missing, not shown as zero.
SELECT
  date_trunc('hour', created_at) AS hour,
  event_type,
  count(*) AS total
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1, 2
ORDER BY 1, 2;
