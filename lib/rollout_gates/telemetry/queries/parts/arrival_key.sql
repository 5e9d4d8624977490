-- arrival_key: a row's booking key, and whether it is an arrival (shared by legacy_activity,
-- planner_activity_buckets and v3_traffic, which must count bookings alike). The key is the
-- booking_id column, except on :arrivals_source, where only arrivals have one: :created_type
-- events not a replay by context at :duplicate_path, keyed by the id at :arrival_id_path
-- (their booking_id column is NULL).
CASE
    WHEN source <> :arrivals_source THEN CAST(booking_id AS text)
    WHEN event_type = :created_type
        AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
        THEN coalesce(
            CAST(booking_id AS text),
            lower(context #>> CAST(:arrival_id_path AS text[]))
        )
END AS booking_key,
source = :arrivals_source
    AND event_type = :created_type
    AND (context #>> CAST(:duplicate_path AS text[])) IS DISTINCT FROM 'true'
    AS is_arrival
