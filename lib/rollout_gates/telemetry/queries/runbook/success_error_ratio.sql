-- Runbook suite, "success/error ratio": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator rows without context.reason ("successes") and coordinator.error rows,
-- each as a percent of all coordinator rows.
-- Caveat: it counts rows, not bookings, and a row without context.reason is a "success":
-- start, lock_acquired, rate_permit_acquired, circuit_open and error rows all count as
-- successes, while every retry, manual_review and noop counts as a failure. The gates use the
-- outcome-based success rate (DESIGN.md, "Metrics") instead.
SELECT
  count(*) AS total,
  count(*) FILTER (WHERE context->>'reason' IS NULL) AS success,
  count(*) FILTER (WHERE event_type = 'coordinator.error') AS errors,
  ROUND(
    100.0 * count(*) FILTER (WHERE context->>'reason' IS NULL) /
    NULLIF(count(*), 0),
    2
  ) AS success_rate_percent,
  ROUND(
    100.0 * count(*) FILTER (WHERE event_type = 'coordinator.error') /
    NULLIF(count(*), 0),
    2
  ) AS error_rate_percent
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND created_at >= :window_start
  AND created_at < :window_end;
