-- Runbook suite, "state transitions": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: booking.assignment_state_transition rows per (from, to).
-- Caveat: it counts transitions but does not compare them with the allowed table
-- (spec/telemetry.md), so an invalid transition is just one more row, and a booking stuck in
-- a non-terminal state does not show at all.
SELECT
  context->>'from' AS from_state,
  context->>'to' AS to_state,
  count(*) AS total
FROM observability_events
WHERE source = 'assignment.state_machine'
  AND event_type = 'booking.assignment_state_transition'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2;
