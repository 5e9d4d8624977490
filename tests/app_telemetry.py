"""Telemetry as the application writes it (spec/telemetry.md), built by hand for tests.

Rows for observability_events: a booking's creation (`capacity.transaction`, ids only in
context), the V3 coordinator and state machine (booking_id column set), the legacy planner.
"""

import json
import uuid
from datetime import timedelta

import psycopg

H = timedelta(hours=1)
S = timedelta(seconds=1)

Row = tuple


class Telemetry:
    """Rows as the application writes them, to insert into observability_events."""

    def __init__(self):
        self.rows: list[Row] = []
        self.restaurant = uuid.uuid4()

    def add(self, at, source, event_type, context, booking=None, restaurant=None, severity="info"):
        row = (uuid.uuid4(), at, source, event_type, severity, json.dumps(context))
        self.rows.append((*row, restaurant, booking))

    def created(self, at, duplicate=False, booking=None) -> uuid.UUID:
        """booking.creation.success: the ids in context only, the columns NULL."""
        booking = booking or uuid.uuid4()
        context = {
            "restaurantId": str(self.restaurant),
            "bookingId": str(booking),
            "duplicate": duplicate,
            "utilizationPercent": 40,
        }
        self.add(at, "capacity.transaction", "booking.creation.success", context)
        return booking

    def v3(self, at, booking) -> None:
        """One processBooking call that confirms, with its transitions (spec: 4 + 5 events)."""
        coordinator, trigger = "assignment.coordinator", {"trigger": "creation"}
        self.add(at, coordinator, "coordinator.start", {"mode": "active", **trigger}, booking)
        lock = {"ttl_ms": 30000, **trigger}
        self.add(at + 0.05 * S, coordinator, "coordinator.lock_acquired", lock, booking)
        permit = "coordinator.rate_permit_acquired"
        self.add(at + 0.1 * S, coordinator, permit, trigger, booking, self.restaurant)
        confirmed = {"strategy": "optimal", "attempts": 1, "duration_ms": 400, **trigger}
        self.add(at + S, coordinator, "coordinator.confirmed", confirmed, booking, self.restaurant)
        states = ["created", "capacity_verified", "assignment_pending"]
        states += ["assignment_in_progress", "assigned", "confirmed"]
        self.transitions(at + 1.1 * S, booking, states)

    def v3_booking(self, at) -> uuid.UUID:
        booking = self.created(at)
        self.v3(at + 0.5 * S, booking)
        return booking

    def job(self, at, booking) -> None:
        """The legacy planner's background job (auto_assign.started, then its outcome)."""
        started = {"status": "pending", "trigger": "creation"}
        self.add(at, "auto_assign", "auto_assign.started", started, booking, self.restaurant)
        done = {"attempt_index": 0, "durationMs": 700}
        self.add(at + S, "auto_assign", "auto_assign.succeeded", done, booking, self.restaurant)

    def inline(self, at, booking) -> None:
        """The legacy planner's inline path only (no background job)."""
        source = "bookings.inline_auto_assign"
        quote = {"hasHold": True, "durationMs": 300}
        self.add(at, source, "inline_auto_assign.quote_result", quote, booking, self.restaurant)
        done = {"durationMs": 300}
        self.add(at + S, source, "inline_auto_assign.succeeded", done, booking, self.restaurant)

    def every(self, start, end, per_hour):
        """Times of bookings at `per_hour` from `start`, the first half a slot in."""
        slot = H / per_hour
        at = start + slot / 2
        while at < end:
            yield at
            at += slot

    def insert(self, url: str) -> None:
        with psycopg.connect(url) as connection, connection.cursor() as cursor:
            columns = "id, created_at, source, event_type, severity, context, restaurant_id, "
            with cursor.copy(f"COPY observability_events ({columns}booking_id) FROM STDIN") as copy:
                for row in self.rows:
                    copy.write_row(row)

    def transitions(self, at, booking, states) -> None:
        """The state machine's transitions through `states`, 10 ms apart from `at`."""
        for version, (old, new) in enumerate(zip(states, states[1:], strict=False), start=1):
            context = {"from": old, "to": new, "version": version, "metadata": {}}
            self.add(
                at + version * 0.01 * S,
                "assignment.state_machine",
                "booking.assignment_state_transition",
                context,
                booking,
                self.restaurant,
            )

    def v3_outcome(self, at, booking, outcome: str) -> None:
        """One processBooking call that ends in `outcome` (error, retry, manual_review...)."""
        coordinator, trigger = "assignment.coordinator", {"trigger": "creation"}
        self.add(at, coordinator, "coordinator.start", {"mode": "active", **trigger}, booking)
        self.add(at + S, coordinator, f"coordinator.{outcome}", trigger, booking, self.restaurant)
        states = ["created", "capacity_verified", "assignment_pending"]
        ends = {"manual_review": ["manual_review"], "error": ["failed"]}
        self.transitions(at + 1.1 * S, booking, states + ends.get(outcome, []))
