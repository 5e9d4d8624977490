-- The server clock (the default as-of), its version, whether the table is there, and any
-- column the gates read whose type is not the migration's (NULL when all are right).
SELECT
    now() AS server_now,
    current_setting('server_version') AS server_version,
    current_database() AS database,
    to_regclass('observability_events') IS NOT NULL AS has_events_table,
    to_regclass('rollout_gates_simulation') IS NOT NULL AS has_simulation_marker,
    (SELECT string_agg(
                format('%s is %s, expected %s', expected.name,
                       coalesce(actual.data_type, 'missing'), expected.type),
                '; ' ORDER BY expected.name)
       FROM (VALUES ('created_at', 'timestamp with time zone'), ('source', 'text'),
                    ('event_type', 'text'), ('context', 'jsonb'), ('booking_id', 'uuid'))
            AS expected (name, type)
       LEFT JOIN information_schema.columns AS actual
         ON actual.table_schema = current_schema()
        AND actual.table_name = 'observability_events'
        AND actual.column_name = expected.name
      WHERE actual.data_type IS DISTINCT FROM expected.type) AS column_problems;
