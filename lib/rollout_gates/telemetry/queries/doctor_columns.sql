-- doctor: observability_events' columns and their types, in table order.
SELECT attname AS column_name, format_type(atttypid, atttypmod) AS data_type, attnotnull AS not_null
FROM pg_attribute
WHERE attrelid = to_regclass('observability_events')
  AND attnum > 0
  AND NOT attisdropped
ORDER BY attnum;
