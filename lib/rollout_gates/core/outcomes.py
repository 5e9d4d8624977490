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


def explain_outcome(events: list[tuple], outcome_types: dict[str, str], as_of, grace) -> list[str]:
    """DESIGN's outcome definition applied to one booking, step by step, so an analyst sees why
    it counts as it does. `events` are (at, event_type) in any order; `outcome_types` maps a
    class to its event type (taxonomy `coordinator.outcomes`)."""
    classes = {event_type: name for name, event_type in outcome_types.items()}
    seen = sorted((at, event_type) for at, event_type in events if at <= as_of)
    decisive = [(at, classes[event_type]) for at, event_type in seen if event_type in classes]
    steps = [f"{len(seen)} events at or before the as-of, {len(decisive)} of them outcomes"]
    if not decisive:
        return [*steps, "no outcome event: undecided, counted by no rate"]
    at, outcome = decisive[-1]
    steps.append(f"latest outcome event: {outcome} at {at:%Y-%m-%d %H:%M:%S}")
    if outcome == CONFIRMED:
        return [*steps, "confirmed: a success"]
    if outcome == MANUAL_REVIEW:
        return [*steps, "manual_review: a manual review, counted against the success rate"]
    if outcome not in PENDABLE:
        return [*steps, f"{outcome}: a failure"]
    age = as_of - at
    if age < grace:
        return [*steps, f"{outcome} {age} old, younger than the grace {grace}: pending"]
    return [
        *steps,
        f"{outcome} {age} old, not younger than the grace {grace}: unresolved, a failure",
    ]
