"""Parameters, the telemetry taxonomy, the flag matrix and the flag ledger."""
