-- Events of the legacy sources (and the runbook's never-written :phantom_event) per source and
-- event type, split into V3 mirror events (context.trigger = :mirror_trigger) and the rest;
-- legacy_activity marks the rows that count as legacy planner activity (starts and inline
-- events that are not mirrors). One row per group, with counts and first and last times.
SELECT
    source,
    event_type,
    (context ->> 'trigger') IS NOT DISTINCT FROM :mirror_trigger AS v3_mirror,
    (event_type = :started_type OR source = :inline_source)
        AND (context ->> 'trigger') IS DISTINCT FROM :mirror_trigger AS legacy_activity,
    count(*) AS events,
    count(DISTINCT booking_id) AS bookings,
    min(created_at) AS first_at,
    max(created_at) AS last_at
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND (source = ANY(:legacy_sources) OR event_type = :phantom_event)
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3;
