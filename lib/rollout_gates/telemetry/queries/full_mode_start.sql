-- When did full mode begin, read from telemetry (phase.fetch_active_stretch: every gate's
-- phase clock when the flag ledger records no V3 or shadow change). Over the lookback
-- window: the active coordinator.start events, the legacy planner's activity
-- (auto_assign.started and any inline_auto_assign.* event, except V3 mirror events whose
-- context.trigger is the coordinator's), and the first active start after the last legacy
-- activity. One row.
WITH lookback AS (
    SELECT created_at, source, event_type, context
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND (
          (source = :coordinator_source AND event_type = :start_type)
          OR (source = ANY(:legacy_sources) AND event_type = :legacy_started)
          OR source = :inline_source
      )
),
legacy AS (
    SELECT created_at
    FROM lookback
    WHERE source <> :coordinator_source
      AND coalesce(context ->> 'trigger', '') <> :coordinator_trigger
),
active AS (
    SELECT created_at
    FROM lookback
    WHERE source = :coordinator_source
      AND context ->> 'mode' = :active_mode
),
last_legacy AS (
    SELECT max(created_at) AS at, count(*) AS events FROM legacy
)
SELECT
    (SELECT count(*) FROM active) AS active_starts,
    (SELECT min(created_at) FROM active) AS first_active_at,
    (SELECT max(created_at) FROM active) AS last_active_at,
    last_legacy.events AS legacy_events,
    last_legacy.at AS last_legacy_at,
    (SELECT min(created_at) FROM active
      WHERE last_legacy.at IS NULL OR created_at > last_legacy.at) AS stretch_start
FROM last_legacy;
