-- When did the coordinator's current active stretch begin? The soak-time clock of the
-- prerequisites and full-extended gates when there is no flag ledger.
-- Over a lookback [:lookback_start, :window_end): the first, and the last, coordinator.start
-- with mode=active; the last legacy-planner activity (the background job starting, or any
-- inline_auto_assign event, except the mirror events the job writes for V3 outcomes, which
-- carry trigger = :coordinator_trigger); and the first active start after that legacy
-- activity, which is when V3 took over for good. Bounds created_at first in both parts.
WITH legacy AS (
    SELECT max(created_at) AS last_legacy_activity
    FROM observability_events
    WHERE created_at >= :lookback_start
      AND created_at < :window_end
      AND source = ANY(:legacy_sources)
      AND (event_type = :legacy_started OR source = :inline_source)
      AND coalesce(context ->> 'trigger', '') <> :coordinator_trigger
)
SELECT
    min(starts.created_at) AS first_active_start,
    min(starts.created_at) FILTER (
        WHERE legacy.last_legacy_activity IS NULL
           OR starts.created_at > legacy.last_legacy_activity
    ) AS active_since,
    max(starts.created_at) AS last_active_start,
    legacy.last_legacy_activity,
    count(starts.created_at) AS active_starts
FROM legacy
LEFT JOIN observability_events AS starts
  ON starts.created_at >= :lookback_start
 AND starts.created_at < :window_end
 AND starts.source = :coordinator_source
 AND starts.event_type = :start_type
 AND starts.context ->> 'mode' = :active_mode
GROUP BY legacy.last_legacy_activity;
