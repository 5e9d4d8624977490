-- One region of benchmark events, generated server-side: [:region_start, :region_end) holds
-- :events rows, 88% noise (capacity.rpc.conflict) and 12% bookings. A booking in V3 full mode
-- writes 11 rows (creation, start, lock, permit, outcome, 5 state transitions, the legacy job's
-- mirror event); before :v3_since a booking goes through the legacy planner (10 rows).
-- Pseudo-random choices hash the booking number with :seed, so a region is the same rows
-- (ids aside) whatever else the table holds: the gates' windows compare across table sizes.
-- psql variables: region_start, region_end, v3_since (quoted timestamps), events, seed.
WITH params AS (
    SELECT
        CAST(:'region_start' AS timestamptz) AS region_start,
        CAST(:'region_end' AS timestamptz) AS region_end,
        CAST(:'v3_since' AS timestamptz) AS v3_since,
        CAST(:events AS bigint) AS events
),
counts AS (
    SELECT
        region_start,
        region_end,
        v3_since,
        extract(epoch FROM region_end - region_start) AS span_s,
        CAST(round(events * 0.12 / 11) AS bigint) AS bookings,
        events - 11 * CAST(round(events * 0.12 / 11) AS bigint) AS noise
    FROM params
),
bookings AS (
    SELECT
        b,
        region_start + make_interval(secs => span_s * (b + 0.5) / bookings) AS at,
        region_start + make_interval(secs => span_s * (b + 0.5) / bookings) >= v3_since AS v3,
        CAST(md5(:seed || '/booking/' || b) AS uuid) AS booking_id,
        CAST(md5(:seed || '/restaurant/' || (b % 40)) AS uuid) AS restaurant_id,
        abs(hashint8extended(b, :seed)) / 9223372036854775807.0 AS u,
        200 + abs(hashint8extended(b, :seed + 1)) % 1800 AS duration_ms
    FROM counts, generate_series(0, bookings - 1) AS b
),
booking_events AS (
    SELECT
        bookings.at + make_interval(secs => e.offset_s) AS created_at,
        e.source,
        e.event_type,
        e.severity,
        e.context,
        -- the creation event carries the ids in context only (spec/telemetry.md)
        CASE WHEN e.source <> 'capacity.transaction' THEN bookings.restaurant_id END
            AS restaurant_id,
        CASE WHEN e.source <> 'capacity.transaction' THEN bookings.booking_id END AS booking_id
    FROM bookings
    CROSS JOIN LATERAL (
        SELECT
            CASE
                WHEN u < 0.990 THEN 'confirmed'
                WHEN u < 0.995 THEN 'manual_review'
                WHEN u < 0.998 THEN 'retry'
                ELSE 'error'
            END AS outcome
    ) AS o
    CROSS JOIN LATERAL (
        VALUES
            (0.0, 'capacity.transaction', 'booking.creation.success', 'info',
             jsonb_build_object('restaurantId', restaurant_id, 'bookingId', booking_id,
                                'duplicate', false), true),
            (0.1, 'assignment.state_machine', 'booking.assignment_state_transition', 'info',
             jsonb_build_object('from', 'created', 'to', 'capacity_verified', 'version', 1), true),
            (0.2, 'assignment.state_machine', 'booking.assignment_state_transition', 'info',
             jsonb_build_object('from', 'capacity_verified', 'to', 'assignment_pending',
                                'version', 2), true),
            (0.3, 'assignment.coordinator', 'coordinator.start', 'info',
             jsonb_build_object('mode', 'active', 'trigger', 'inline_creation'), v3),
            (0.4, 'assignment.coordinator', 'coordinator.lock_acquired', 'info',
             jsonb_build_object('ttl_ms', 30000), v3),
            (0.5, 'assignment.coordinator', 'coordinator.rate_permit_acquired', 'info', NULL, v3),
            (0.6, 'assignment.state_machine', 'booking.assignment_state_transition', 'info',
             jsonb_build_object('from', 'assignment_pending', 'to', 'assignment_in_progress',
                                'version', 3), true),
            (0.5 + duration_ms / 1000.0, 'assignment.coordinator', 'coordinator.' || outcome,
             CASE outcome WHEN 'error' THEN 'error' WHEN 'retry' THEN 'warning' ELSE 'info' END,
             CASE outcome
                 WHEN 'confirmed' THEN jsonb_build_object(
                     'strategy', 'optimal', 'attempts', 1, 'duration_ms', duration_ms,
                     'trigger', 'inline_creation')
                 WHEN 'manual_review' THEN jsonb_build_object(
                     'reason', 'no_capacity', 'attempts', 3, 'duration_ms', duration_ms,
                     'trigger', 'inline_creation')
                 WHEN 'retry' THEN jsonb_build_object(
                     'reason', 'rate_limited', 'delay_ms', 5000, 'duration_ms', duration_ms,
                     'trigger', 'inline_creation')
                 ELSE jsonb_build_object('message', 'unexpected', 'trigger', 'inline_creation')
             END, v3),
            (0.6 + duration_ms / 1000.0, 'assignment.state_machine',
             'booking.assignment_state_transition', 'info',
             jsonb_build_object('from', 'assignment_in_progress', 'to',
                                CASE outcome WHEN 'manual_review' THEN 'manual_review'
                                             WHEN 'confirmed' THEN 'assigned'
                                             ELSE 'assignment_pending' END,
                                'version', 4), true),
            (0.7 + duration_ms / 1000.0, 'assignment.state_machine',
             'booking.assignment_state_transition', 'info',
             jsonb_build_object('from', 'assigned', 'to', 'confirmed', 'version', 5), true),
            (0.8 + duration_ms / 1000.0, 'auto_assign', 'auto_assign.succeeded', 'info',
             jsonb_build_object('trigger', 'coordinator', 'durationMs', duration_ms), v3),
            (0.3, 'bookings.inline_auto_assign', 'inline_auto_assign.quote_result', 'info',
             jsonb_build_object('status', 'ok'), NOT v3),
            (1.0, 'auto_assign', 'auto_assign.started', 'info',
             jsonb_build_object('status', 'pending', 'trigger', 'creation'), NOT v3),
            (1.0 + duration_ms / 1000.0, 'auto_assign', 'auto_assign.succeeded', 'info',
             jsonb_build_object('attempt_index', 1, 'durationMs', duration_ms), NOT v3),
            (1.1 + duration_ms / 1000.0, 'auto_assign', 'auto_assign.summary', 'info',
             jsonb_build_object('result', 'succeeded'), NOT v3)
    ) AS e (offset_s, source, event_type, severity, context, written)
    WHERE e.written
),
noise_events AS (
    SELECT
        region_start + make_interval(secs => span_s * (n + 0.5) / noise) AS created_at,
        'capacity' AS source,
        'capacity.rpc.conflict' AS event_type,
        'warning' AS severity,
        jsonb_build_object('rpc', 'hold_tables', 'attempt', 1 + n % 3) AS context,
        CAST(md5(:seed || '/restaurant/' || (n % 40)) AS uuid) AS restaurant_id,
        CAST(NULL AS uuid) AS booking_id
    FROM counts, generate_series(0, noise - 1) AS n
)
INSERT INTO observability_events
    (created_at, source, event_type, severity, context, restaurant_id, booking_id)
SELECT created_at, source, event_type, severity, context, restaurant_id, booking_id
FROM booking_events
WHERE created_at < (SELECT region_end FROM params)
UNION ALL
SELECT created_at, source, event_type, severity, context, restaurant_id, booking_id
FROM noise_events;
