"""A booking's outcome classes (DESIGN.md, "Outcome of a booking"); pure.

The class names are params/taxonomy.yaml's `coordinator.outcomes` keys.
"""

CONFIRMED = "confirmed"
MANUAL_REVIEW = "manual_review"
FAILURES = ("error", "retry", "circuit_open")
# Outcomes that are still in flight while younger than the grace period.
PENDABLE = frozenset({"retry", "circuit_open"})
# What counts against the success rate: every decided booking that is not confirmed.
NOT_CONFIRMED = (MANUAL_REVIEW, *FAILURES)
