-- The runbook's "Quick health check" (Phase 2, Step 3), as the runbook wrote it, except that
-- `created_at >= now() - INTERVAL '1 hour'` is bound to the gate's window so that a run
-- with --as-of judges the same hour. It counts rows without context.reason as successes,
-- per event type: every type reads 0% or 100% (spec/telemetry.md); shown, never gated on.
SELECT
  event_type,
  count(*) AS total,
  ROUND(
    100.0 * count(*) FILTER (WHERE context->>'reason' IS NULL) /
    NULLIF(count(*), 0),
    2
  ) AS success_rate_percent
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 1;
