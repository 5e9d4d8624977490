-- Runbook suite, "lock contention": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator.lock_contention and coordinator.lock_acquired rows per clock hour,
-- and contention as a percent of lock attempts.
-- Caveat: clock hours (date_trunc), so the first and last hours are partial; a contention
-- means another call held the booking's lock and this call ended doing nothing: it decides
-- no booking and is not a failure.
SELECT
  date_trunc('hour', created_at) AS hour,
  count(*) FILTER (WHERE event_type = 'coordinator.lock_contention') AS contention,
  count(*) FILTER (WHERE event_type = 'coordinator.lock_acquired') AS acquired,
  ROUND(
    100.0 * count(*) FILTER (WHERE event_type = 'coordinator.lock_contention') /
    NULLIF(count(*), 0),
    2
  ) AS contention_percent
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type IN ('coordinator.lock_contention', 'coordinator.lock_acquired')
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 1;
