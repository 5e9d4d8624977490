-- Runbook suite, "event summary": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: rows per source, event type and severity of the coordinator and the state
-- machine, with the first and last time each was seen.
-- Caveat: rows, not bookings (a normal success writes 4 coordinator rows and 5 transitions);
-- inserts are fire-and-forget, so a lost row leaves no trace here.
SELECT
  source,
  event_type,
  severity,
  count(*) AS total,
  min(created_at) AS first_seen,
  max(created_at) AS last_seen
FROM observability_events
WHERE source IN ('assignment.coordinator', 'assignment.state_machine')
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;
