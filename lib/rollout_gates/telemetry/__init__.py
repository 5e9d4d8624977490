"""SQL meets Python here: read-only sessions, the queries, and the metrics they give."""
