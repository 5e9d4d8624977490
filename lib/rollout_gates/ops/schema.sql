-- observability_events as created by the application's migration (spec/telemetry.md).
-- The live production dump has only the primary key and the created_at index;
-- the gates' queries must stay fast with a created_at range alone.
CREATE TABLE IF NOT EXISTS observability_events (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    source        text        NOT NULL,
    event_type    text        NOT NULL,
    severity      text        NOT NULL DEFAULT 'info'
                  CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    context       jsonb,
    restaurant_id uuid,
    booking_id    uuid
);

CREATE INDEX IF NOT EXISTS observability_events_created_at_idx
    ON observability_events (created_at DESC);
CREATE INDEX IF NOT EXISTS observability_events_source_idx
    ON observability_events (source);
CREATE INDEX IF NOT EXISTS observability_events_booking_id_idx
    ON observability_events (booking_id);
