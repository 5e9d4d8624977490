-- latest_outcome: each booking's outcome, its latest coordinator outcome event in
-- [:window_start, :as_of), ties broken by id (DESIGN.md, "Outcome of a booking"; shared by
-- outcome_buckets, bookings_behind and success_stuck_bookings, which must decide it alike).
outcome_events AS (
    SELECT id, booking_id, restaurant_id, event_type, created_at
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :as_of
      AND source = :coordinator_source
      AND event_type = ANY(:outcome_types)
      AND booking_id IS NOT NULL
),
latest AS (
    SELECT DISTINCT ON (booking_id) booking_id, restaurant_id, event_type, created_at
    FROM outcome_events
    ORDER BY booking_id, created_at DESC, id DESC
)
