-- Runbook suite, "error details": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its
-- post-rollback error capture, with `created_at >= now() - INTERVAL '48 hours'` bound to the
-- gate's window, and aggregated per message (the capture's SELECT * returns every row).
-- Measures: coordinator.error rows per context.message, with first and last occurrence.
-- Caveat: rows, not bookings; a message that embeds an id splits into many groups; and
-- whether the errors are sustained (3 consecutive 10-minute buckets) is not visible here.
SELECT
  context->>'message' AS message,
  count(*) AS total,
  count(DISTINCT booking_id) AS bookings,
  min(created_at) AS first_seen,
  max(created_at) AS last_seen
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type = 'coordinator.error'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 2 DESC, 1;
