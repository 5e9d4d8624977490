-- Active coordinator starts inside given time intervals (those when the flag ledger says V3
-- was off), for the "flags and telemetry disagree" check. Bounded by the window first.
SELECT
    count(*) AS active_starts,
    min(e.created_at) AS first_at,
    max(e.created_at) AS last_at
FROM observability_events AS e
JOIN unnest(
    CAST(:interval_starts AS timestamptz[]), CAST(:interval_ends AS timestamptz[])
) AS off (starts_at, ends_at)
    ON e.created_at >= off.starts_at AND e.created_at < off.ends_at
WHERE e.created_at >= :window_start
  AND e.created_at < :window_end
  AND e.source = :coordinator_source
  AND e.event_type = :start_type
  AND e.context ->> 'mode' = :active_mode;
