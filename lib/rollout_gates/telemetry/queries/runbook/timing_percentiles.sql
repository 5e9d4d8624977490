-- Runbook suite, "timing p50/p95": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: p50 and p95 of context.duration_ms per coordinator outcome event type.
-- Caveat: per call, not per booking, and only calls that report a duration (error and
-- circuit_open do not); the cast is guarded by jsonb_typeof so that one non-numeric value
-- cannot abort the suite (the runbook would have cast directly), such values are left out.
SELECT
  event_type,
  count(*) AS total,
  ROUND(percentile_cont(0.5) WITHIN GROUP (
    ORDER BY CASE WHEN jsonb_typeof(context->'duration_ms') = 'number'
      THEN (context->>'duration_ms')::float END
  )::numeric, 1) AS p50_ms,
  ROUND(percentile_cont(0.95) WITHIN GROUP (
    ORDER BY CASE WHEN jsonb_typeof(context->'duration_ms') = 'number'
      THEN (context->>'duration_ms')::float END
  )::numeric, 1) AS p95_ms
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type IN ('coordinator.confirmed', 'coordinator.manual_review', 'coordinator.retry')
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 1;
