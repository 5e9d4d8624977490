-- Runbook suite, "retry reasons": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator.retry rows per context.reason.
-- Caveat: rows, not bookings; the reason is free text, so one cause can be split over many
-- spellings; and in the shipped code a retry is never rescheduled: a retry not followed by
-- another outcome is an unresolved booking, which this table does not show.
SELECT
  context->>'reason' AS reason,
  count(*) AS total,
  count(DISTINCT booking_id) AS bookings
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type = 'coordinator.retry'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 2 DESC, 1;
