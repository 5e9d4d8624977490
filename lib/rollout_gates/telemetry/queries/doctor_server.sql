-- doctor: the server, the session's read-only setting, and what the role may do with the table
-- (NULL privileges: the table is missing). reltuples is the planner's row estimate: -1 until
-- the table was first vacuumed or analyzed.
SELECT
    current_setting('server_version') AS server_version,
    CAST(current_setting('server_version_num') AS integer) AS server_version_num,
    current_database() AS database,
    current_user AS role,
    current_setting('transaction_read_only') AS read_only,
    now() AS server_now,
    to_regclass('observability_events') IS NOT NULL AS has_table,
    CASE WHEN to_regclass('observability_events') IS NOT NULL
        THEN has_table_privilege('observability_events', 'SELECT') END AS can_select,
    CASE WHEN to_regclass('observability_events') IS NOT NULL
        THEN has_table_privilege('observability_events', 'INSERT, UPDATE, DELETE, TRUNCATE')
    END AS can_write,
    (SELECT reltuples FROM pg_class WHERE oid = to_regclass('observability_events'))
        AS estimated_rows;
