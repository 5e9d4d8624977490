-- is_legacy: legacy planner activity, V3's mirror events aside: the job starts and every
-- inline event (shared by legacy_activity, planner_activity_buckets and rollback_in_flight).
source = ANY(:legacy_sources)
    AND (event_type = :started_type OR source = :inline_source)
    AND (context ->> 'trigger') IS DISTINCT FROM :mirror_trigger AS is_legacy
