-- The server clock (the default as-of), its version, and whether the table is there.
SELECT
    now() AS server_now,
    current_setting('server_version') AS server_version,
    current_database() AS database,
    to_regclass('observability_events') IS NOT NULL AS has_events_table,
    to_regclass('rollout_gates_simulation') IS NOT NULL AS has_simulation_marker;
