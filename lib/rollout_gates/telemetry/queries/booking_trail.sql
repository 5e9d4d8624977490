-- Every event of the given bookings in the window, in time order: the coordinator's, the
-- state machine's and the legacy planner's (by the booking_id column), and their creation
-- event (capacity.transaction, whose ids are only in context, at :arrival_id_path).
SELECT
    coalesce(
        CAST(booking_id AS text), lower(context #>> CAST(:arrival_id_path AS text[]))
    ) AS booking_id,
    created_at AS at,
    source,
    event_type,
    severity,
    context ->> 'from' AS from_state,
    context ->> 'to' AS to_state
FROM observability_events
WHERE created_at >= :window_start
  AND created_at < :window_end
  AND (
      booking_id = ANY(CAST(:booking_ids AS uuid[]))
      OR (
          source = :arrivals_source
          AND event_type = :created_type
          AND lower(context #>> CAST(:arrival_id_path AS text[]))
              = ANY(CAST(:booking_ids AS text[]))
      )
  )
ORDER BY 1, created_at, id;
