-- Runbook suite, "circuit breaker trips": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator.circuit_open rows per clock hour.
-- Caveat: there is no trip or reset event: circuit_open fires once per booking the open
-- breaker rejects, in each process's own breaker, so this counts rejections, not trips;
-- clock hours (date_trunc), the first and last partial. The gates count opens in any rolling
-- hour and any open at all over 48h.
SELECT
  date_trunc('hour', created_at) AS hour,
  count(*) AS circuit_open,
  count(DISTINCT booking_id) AS bookings
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type = 'coordinator.circuit_open'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 1;
