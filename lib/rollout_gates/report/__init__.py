"""verification.md and its HTML, and the incident bundle, from the evidence on disk."""
