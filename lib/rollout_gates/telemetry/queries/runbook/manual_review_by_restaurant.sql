-- Runbook suite, "manual review by restaurant": a RECONSTRUCTION. The runbook's artifact
-- observability-queries.sql is not available; this is written in the style of its quick
-- health check, with `created_at >= now() - INTERVAL '48 hours'` bound to the gate's window.
-- Measures: coordinator.manual_review and coordinator.confirmed rows per restaurant, and the
-- runbook's manual review "percent".
-- Caveat: that percent divides manual reviews by confirmed rows, not by all outcomes, so it
-- reads high (and is empty for a restaurant with no confirmation); rows, not bookings. The
-- gates use manual reviews over decided bookings (DESIGN.md, "Metrics").
SELECT
  restaurant_id,
  count(*) FILTER (WHERE event_type = 'coordinator.manual_review') AS manual_review,
  count(*) FILTER (WHERE event_type = 'coordinator.confirmed') AS confirmed,
  ROUND(
    100.0 * count(*) FILTER (WHERE event_type = 'coordinator.manual_review') /
    NULLIF(count(*) FILTER (WHERE event_type = 'coordinator.confirmed'), 0),
    2
  ) AS manual_review_percent
FROM observability_events
WHERE source = 'assignment.coordinator'
  AND event_type IN ('coordinator.manual_review', 'coordinator.confirmed')
  AND created_at >= :window_start
  AND created_at < :window_end
GROUP BY 1
ORDER BY 2 DESC, 1;
