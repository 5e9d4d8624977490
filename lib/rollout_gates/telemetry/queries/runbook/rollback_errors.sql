-- The runbook's post-rollback step 1, "Capture error logs", as the runbook wrote it, except
-- that `created_at >= now() - INTERVAL '1 hour'` is bound to the hour before the rollback
-- ([rollback_at - window, rollback_at)), so that a run after the drain period, or a re-run for
-- the post-mortem, captures the errors that led to the rollback. Saved as rollback-errors.csv.
SELECT * FROM observability_events WHERE source = 'assignment.coordinator' AND event_type = 'coordinator.error' AND created_at >= :window_start AND created_at < :window_end ORDER BY created_at DESC;
