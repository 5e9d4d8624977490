-- doctor: observability_events' indexes, each with its key columns in order and whether it is
-- valid (a failed CREATE INDEX CONCURRENTLY leaves an invalid index the planner never uses).
SELECT
    index_class.relname AS index_name,
    ARRAY(
        SELECT attname
        FROM unnest(pg_index.indkey) WITH ORDINALITY AS key (attnum, position)
        JOIN pg_attribute
          ON pg_attribute.attrelid = pg_index.indrelid AND pg_attribute.attnum = key.attnum
        ORDER BY key.position
    ) AS key_columns,
    pg_index.indisvalid AS valid,
    pg_get_indexdef(pg_index.indexrelid) AS definition
FROM pg_index
JOIN pg_class AS index_class ON index_class.oid = pg_index.indexrelid
WHERE pg_index.indrelid = to_regclass('observability_events')
ORDER BY index_class.relname;
