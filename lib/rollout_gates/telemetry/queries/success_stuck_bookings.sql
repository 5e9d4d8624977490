-- Stuck bookings (DESIGN.md, "Metrics"): among bookings with a state transition in the
-- window, those whose last transition is to a non-terminal state and older than
-- :stuck_after at the as-of (:window_end). A booking's transitions are ordered by
-- context.version (rows may arrive out of order by milliseconds), then by time. A booking
-- whose latest coordinator outcome is a failure (:failure_types: error, retry, circuit_open;
-- the shipped code never reschedules a retry, and an error leaves the booking where it was)
-- is a decided failure, counted once, by the success rate: it is not also a stuck booking
-- (failed_total counts them). Stuck are the bookings no rate sees: no outcome at all, or a
-- success the state machine never reached. Each comes with its latest outcome event
-- (parts/latest_outcome.sql, :as_of being :window_end).
-- The first row always carries the counts; at most :max_listed bookings are listed,
-- oldest first (none listed: one row with a NULL booking_id).
WITH transitions AS (
    SELECT id, booking_id, created_at, context
    FROM observability_events
    WHERE created_at >= :window_start
      AND created_at < :window_end
      AND source = :state_machine_source
      AND event_type = :transition_type
      AND booking_id IS NOT NULL
),
last_transition AS (
    SELECT DISTINCT ON (booking_id)
        booking_id,
        context ->> 'from' AS from_state,
        context ->> 'to' AS last_state,
        created_at AS since
    FROM transitions
    ORDER BY
        booking_id,
        CASE WHEN context ->> 'version' ~ '^[0-9]{1,9}$'
            THEN CAST(context ->> 'version' AS integer) END DESC NULLS LAST,
        created_at DESC,
        id DESC
),
non_terminal AS (
    SELECT booking_id, from_state, last_state, since
    FROM last_transition
    WHERE (last_state IS NULL OR NOT (last_state = ANY(CAST(:terminal_states AS text[]))))
      AND since < :window_end - :stuck_after
),
-- part: latest_outcome,
latest_outcome AS (
    SELECT booking_id, event_type, created_at
    FROM latest
    WHERE booking_id IN (SELECT booking_id FROM non_terminal)
),
stuck AS (
    SELECT non_terminal.*
    FROM non_terminal
    LEFT JOIN latest_outcome USING (booking_id)
    WHERE latest_outcome.event_type IS NULL
       OR NOT (latest_outcome.event_type = ANY(CAST(:failure_types AS text[])))
),
listed AS (
    SELECT booking_id, from_state, last_state, since
    FROM stuck
    ORDER BY since, booking_id
    LIMIT :max_listed
),
counts AS (
    SELECT
        (SELECT count(*) FROM last_transition) AS bookings_observed,
        (SELECT count(*) FROM stuck) AS stuck_total,
        (SELECT count(*) FROM non_terminal) - (SELECT count(*) FROM stuck) AS failed_total
)
SELECT
    counts.bookings_observed,
    counts.stuck_total,
    counts.failed_total,
    listed.booking_id,
    listed.last_state,
    listed.from_state,
    listed.since,
    latest_outcome.event_type AS last_outcome,
    latest_outcome.created_at AS last_outcome_at
FROM counts
LEFT JOIN listed ON true
LEFT JOIN latest_outcome ON latest_outcome.booking_id = listed.booking_id
ORDER BY listed.since, listed.booking_id;
