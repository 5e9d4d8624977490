"""The simulator: scenario files, deterministic event generation, loading with COPY.

Expected figures are derived by hand from the generation rules (simulate.py's docstring),
never read back from the simulator's own summary.
"""

import functools
import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from rollout_gates.config import params as config
from rollout_gates.config.ledger import MAX_PARALLEL, SHADOW, V3
from rollout_gates.core import timefmt
from rollout_gates.core.errors import UsageError
from rollout_gates.ops import admin
from rollout_gates.sim import simulate

END = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
COORDINATOR = "assignment.coordinator"
STATE_MACHINE = "assignment.state_machine"
OUTCOME_EVENTS = (
    "coordinator.confirmed",
    "coordinator.manual_review",
    "coordinator.error",
    "coordinator.retry",
    "coordinator.circuit_open",
)
NOISE_SOURCES = ("capacity", "auth", "email")
LEGACY_SOURCES = ("auto_assign", "bookings.inline_auto_assign")
ARRIVALS = "capacity.transaction"  # booking.creation.success: the ids in context only
# spec/telemetry.md, source assignment.state_machine
ALLOWED_TRANSITIONS = {
    "created": {"capacity_verified", "failed"},
    "capacity_verified": {"assignment_pending", "failed"},
    "assignment_pending": {"assignment_in_progress", "manual_review", "failed"},
    "assignment_in_progress": {"assigned", "assignment_pending", "failed", "manual_review"},
    "assigned": {"confirmed", "assignment_pending", "manual_review"},
}

BASE_SCENARIO = """\
description: test scenario
seed: 7
production: &section
  timeline:
    - {phase: legacy, start: 10h}
    - {phase: full, start: 5h}
  bookings_per_hour: 10
  outcomes: {confirmed: 0.9, retry: 0.1}
  legacy_outcomes: {succeeded: 0.9, failed: 0.1}
  noise_share: 0.5
  lock_contention_share: 0.0
  noop_share: 0.0
staging: *section
"""


def without_noise(scenario: simulate.Scenario, env: str = "production") -> simulate.Scenario:
    """The same scenario without noise rows: noise is drawn last, so bookings are unchanged."""
    section = scenario.section(env).model_copy(update={"noise_share": 0.0})
    return scenario.model_copy(update={env: section})


@functools.cache
def rows_without_noise(name: str, env: str = "production") -> tuple:
    """A scenario's rows at END without noise, generated once for the module."""
    return tuple(
        simulate.generate_events(without_noise(simulate.load_scenario(name), env), env, END)
    )


def created_id(row) -> uuid.UUID:
    """The booking a creation event made: context.bookingId (its booking_id column is NULL)."""
    return uuid.UUID(json.loads(row[5])["bookingId"])


def booking_outcomes(rows, start: datetime, end: datetime) -> Counter:
    """Bookings created in [start, end) by their latest coordinator outcome ('none' if none)."""
    created = {
        created_id(r) for r in rows if r[3] == "booking.creation.success" and start <= r[1] < end
    }
    latest = {}
    for row in sorted(rows, key=lambda r: r[1]):
        if row[7] in created and row[2] == COORDINATOR and row[3] in OUTCOME_EVENTS:
            latest[row[7]] = row[3].removeprefix("coordinator.")
    return Counter(latest.get(booking, "none") for booking in created)


def write_scenario(tmp_path, text: str, name: str = "custom"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


# --- scenario files ----------------------------------------------------------------------


def test_the_scenarios_are_listed():
    assert simulate.list_scenarios() == [
        "circuit-storm",
        "flags-disagree",
        "healthy",
        "incident",
        "invalid-transitions",
        "isolated-error",
        "low-volume",
        "low-volume-week",
        "manual-review-surge",
        "red-flag-success-dip",
        "rollback-clean",
        "rollback-stragglers",
        "scale-ready",
        "scale-too-soon",
        "shadow-clean",
        "shadow-leak",
        "shadow-no-legacy",
        "staging-too-short",
        "stuck-bookings",
        "success-dip-two-hours",
        "sustained-errors",
        "telemetry-gap",
        "v3-rollout",
    ]


_GENERATED_SECTIONS: set[tuple[str, str]] = set()


@pytest.mark.parametrize("name", simulate.list_scenarios())
def test_every_scenario_loads_tells_its_story_and_generates(name):
    scenario = simulate.load_scenario(name)
    assert scenario.name == name
    assert scenario.description
    text = (simulate.scenarios_dir() / f"{name}.yaml").read_text()
    assert text.startswith("# "), f"{name}.yaml lacks its story comment"
    for env in ("production", "staging"):
        # A section equal to one generated already (most staging sections) differs only by
        # its seed: the same code runs, so it is generated once.
        section = (env, scenario.section(env).model_dump_json())
        if section in _GENERATED_SECTIONS:
            continue
        _GENERATED_SECTIONS.add(section)
        rows = rows_without_noise(name, env)
        start = END - scenario.section(env).duration
        assert rows and all(start <= row[1] <= END for row in rows)
        assert [row[1] for row in rows] == sorted(row[1] for row in rows)
        creations = [row for row in rows if row[3] == "booking.creation.success"]
        # as the application writes it: source capacity.transaction, ids in context only
        assert all(row[2] == ARRIVALS and row[6] is None and row[7] is None for row in creations)
        assert not any(json.loads(row[5])["duplicate"] for row in creations)
        created = {created_id(row) for row in creations}
        assert len(created) == len(creations)
        # every booking of the other rows was created (a legacy `missing` one has no other row)
        assert {row[7] for row in rows if row[7] is not None} <= created
        assert len({row[0] for row in rows}) == len(rows)


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(UsageError) as error:
        simulate.load_scenario("helthy")
    message = str(error.value)
    assert "'helthy'" in message and "did you mean 'healthy'" in message
    assert "circuit-storm" in message and "telemetry-gap" in message


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    path = write_scenario(tmp_path, BASE_SCENARIO.replace("seed: 7", "seed: [7"))
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(path))
    assert f"{path}:" in str(error.value)
    assert "malformed YAML" in str(error.value)


def test_unknown_outcome_class_is_rejected(tmp_path):
    path = write_scenario(tmp_path, BASE_SCENARIO.replace("retry: 0.1}", "retried: 0.1}"))
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(path))
    message = str(error.value)
    assert str(path) in message
    assert "production.outcomes.retried" in message
    assert "circuit_open_recovered" in message  # names the classes it accepts


def test_outcomes_not_summing_to_one_are_rejected(tmp_path):
    path = write_scenario(tmp_path, BASE_SCENARIO.replace("retry: 0.1}", "retry: 0.2}"))
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(path))
    assert str(path) in str(error.value)
    assert "production.outcomes: Value error, shares must sum to 1, got 1.1" in str(error.value)


def test_unknown_key_is_rejected_with_its_location(tmp_path):
    path = write_scenario(tmp_path, BASE_SCENARIO.replace("noop_share:", "noops_share:"))
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(path))
    assert "production.noops_share: Extra inputs are not permitted" in str(error.value)


def test_overlapping_periods_are_rejected(tmp_path):
    periods = (
        "  periods:\n"
        "    - {start: 3h, end: 1h, outcomes: {confirmed: 1.0}}\n"
        "    - {start: 2h, end: 0h, outcomes: {retry: 1.0}}\n"
    )
    text = BASE_SCENARIO.replace("staging: *section", periods + "staging: *section")
    with pytest.raises(UsageError, match="periods overlap: 3h-1h and 2h-0h"):
        simulate.load_scenario(str(write_scenario(tmp_path, text)))


def test_period_must_start_before_it_ends(tmp_path):
    periods = "  periods:\n    - {start: 1h, end: 2h, bookings_per_hour: 0}\n"
    text = BASE_SCENARIO.replace("staging: *section", periods + "staging: *section")
    with pytest.raises(UsageError, match=r"periods\[0\]: Value error, start must be further"):
        simulate.load_scenario(str(write_scenario(tmp_path, text)))


# --- the generation rules ----------------------------------------------------------------


def test_largest_remainder_apportionment_breaks_ties_in_mapping_order():
    assert simulate.apportion(40, {"confirmed": 0.85, "retry": 0.125, "manual_review": 0.025}) == {
        "confirmed": 34,
        "retry": 5,
        "manual_review": 1,
    }
    assert simulate.apportion(27, {"confirmed": 0.75, "error": 0.25}) == {
        "confirmed": 20,
        "error": 7,
    }
    assert simulate.apportion(1, {"b": 0.5, "a": 0.5}) == {"b": 1, "a": 0}
    assert simulate.apportion(0, {"a": 1.0}) == {"a": 0}


def test_smooth_round_robin_spreads_each_class_evenly():
    sequence = simulate.smooth_round_robin({"confirmed": 6, "error": 1})
    assert sequence == ["confirmed"] * 3 + ["error"] + ["confirmed"] * 3
    sequence = simulate.smooth_round_robin({"confirmed": 34, "retry": 5, "manual_review": 1})
    retries = [i for i, name in enumerate(sequence) if name == "retry"]
    assert len(sequence) == 40 and len(retries) == 5
    assert all(5 <= b - a <= 11 for a, b in zip(retries, retries[1:], strict=False))


def test_same_seed_and_end_give_identical_rows():
    healthy = without_noise(simulate.load_scenario("healthy"))
    rows = simulate.generate_events(healthy, "production", END)
    assert len(rows) > 25_000 and rows == list(rows_without_noise("healthy"))
    with_noise = simulate.load_scenario("low-volume")  # noise rows are drawn last
    first = simulate.generate_events(with_noise, "production", END)
    assert sum(row[2] in NOISE_SOURCES for row in first) > 1_000
    assert first == simulate.generate_events(with_noise, "production", END)


def test_a_different_seed_or_environment_gives_different_rows():
    scenario = simulate.load_scenario("low-volume")
    rows = simulate.generate_events(scenario, "production", END)
    reseeded = scenario.model_copy(update={"seed": scenario.seed + 1})
    other_ids = {row[0] for row in simulate.generate_events(reseeded, "production", END)}
    assert not other_ids & {row[0] for row in rows}
    staging = simulate.generate_events(
        scenario.model_copy(update={"staging": scenario.production}), "staging", END
    )
    assert {row[0] for row in staging}.isdisjoint({row[0] for row in rows})


def test_uuids_are_version_4_as_the_uuid_constructor_makes_them():
    bits = uuid.uuid4().int
    assert simulate.uuid4_from_bits(bits) == uuid.UUID(int=bits, version=4)
    rows = simulate.generate_events(simulate.load_scenario("low-volume"), "production", END)
    assert all(row[0].version == 4 for row in rows)
    assert len({row[0] for row in rows}) == len(rows)


def test_no_event_is_written_after_end():
    scenario = without_noise(simulate.load_scenario("circuit-storm"))
    # An end in the middle of a booking's events: the ones after it are left out.
    end = END + timedelta(seconds=0.5)
    rows = simulate.generate_events(scenario, "production", end)
    assert max(row[1] for row in rows) <= end
    assert min(row[1] for row in rows) >= end - timedelta(hours=80)
    assert all(row[1].tzinfo is not None for row in rows)


@pytest.mark.parametrize(
    ("name", "start", "end", "expected"),
    [
        ("red-flag-success-dip", "4h", "3h", {"confirmed": 24, "retry": 15, "manual_review": 1}),
        ("manual-review-surge", "1h", None, {"confirmed": 32, "manual_review": 8}),
        ("sustained-errors", "50m", "10m", {"confirmed": 20, "error": 7}),
        ("isolated-error", "35m", "25m", {"confirmed": 6, "error": 1}),
        # circuit_open_recovered: its latest outcome is the confirmation 120 s later
        ("circuit-storm", "55m", "10m", {"confirmed": 30}),
        ("telemetry-gap", "2h", None, {"none": 80}),
        ("healthy", "50h", None, {"confirmed": 1970, "retry": 20, "manual_review": 10}),
    ],
)
def test_period_outcomes_are_exact_quotas(name, start, end, expected):
    rows = rows_without_noise(name)
    window_start = END - timefmt.parse_duration(start)
    window_end = END - timefmt.parse_duration(end) if end else END
    assert booking_outcomes(rows, window_start, window_end) == Counter(expected)


def test_circuit_storm_opens_the_circuit_twelve_times_in_an_hour():
    rows = rows_without_noise("circuit-storm")
    opens = sorted(row[1] for row in rows if row[3] == "coordinator.circuit_open")
    assert len(opens) == 12
    assert opens[-1] - opens[0] < timedelta(hours=1)
    for booking in {row[7] for row in rows if row[3] == "coordinator.circuit_open"}:
        events = [row for row in rows if row[7] == booking and row[2] == COORDINATOR]
        opened = next(row[1] for row in events if row[3] == "coordinator.circuit_open")
        restart = [row[1] for row in events if row[3] == "coordinator.start"][1]
        assert abs(restart - opened - timedelta(seconds=120)) < timedelta(milliseconds=1)
        assert events[-1][3] == "coordinator.confirmed"


def test_low_volume_makes_the_real_platforms_27_bookings_a_day():
    rows = rows_without_noise("low-volume")
    created = [row for row in rows if row[3] == "booking.creation.success"]
    # 50h of full mode at 1.125/h: round(56.25) = 56; 24h: exactly 27
    full = [row for row in created if row[1] >= END - timedelta(hours=50)]
    last_day = [row for row in created if row[1] >= END - timedelta(hours=24)]
    assert len(full) == 56
    assert len(last_day) == 27


def test_a_segment_with_no_bookings_writes_nothing(tmp_path):
    periods = "  periods:\n    - {start: 3h, end: 1h, bookings_per_hour: 0}\n"
    text = BASE_SCENARIO.replace("staging: *section", periods + "staging: *section")
    scenario = without_noise(simulate.load_scenario(str(write_scenario(tmp_path, text))))
    rows = simulate.generate_events(scenario, "production", END)
    quiet = [row for row in rows if END - timedelta(hours=3) <= row[1] < END - timedelta(hours=1)]
    # at most the last events of a booking made just before the quiet period
    assert {row[7] for row in quiet} <= {
        row[7] for row in rows if row[1] < END - timedelta(hours=3)
    }
    assert not [row for row in quiet if row[3] == "booking.creation.success"]
    created = [row for row in rows if row[3] == "booking.creation.success"]
    assert len(created) == 100 - 20  # 10h at 10/h, less the 2h without bookings


def test_extra_calls_follow_the_shares_and_decide_nothing():
    rows = rows_without_noise("healthy")
    counts = Counter(row[3] for row in rows if row[2] == COORDINATOR)
    # 2,000 V3 bookings: 2% get a lock_contention call; 1% of the 1,980 terminal ones a noop
    assert counts["coordinator.lock_contention"] == 40
    assert counts["coordinator.noop"] == 19
    assert counts["coordinator.start"] == 2000 + 40 + 19
    noop_contexts = [row[5] for row in rows if row[3] == "coordinator.noop"]
    assert all('"reason":"terminal_state"' in context for context in noop_contexts)


def test_legacy_events_use_the_taxonomy_sources_and_exclude_the_coordinator_trigger():
    taxonomy = config.load_taxonomy()
    rows = rows_without_noise("healthy")
    full_start = END - timedelta(hours=50)
    legacy = [row for row in rows if row[1] < full_start and row[2] != ARRIVALS]
    assert {row[2] for row in legacy} == set(taxonomy["legacy"]["sources"])
    assert sum(row[3] == taxonomy["legacy"]["started"] for row in legacy) == 60 + 342
    mirrors = [row for row in rows if row[1] >= full_start and row[2] == "auto_assign"]
    assert mirrors and all('"trigger":"coordinator"' in row[5] for row in mirrors)


# --- loading into a real database ---------------------------------------------------------


@pytest.fixture(scope="module")
def red_flag_db(pg_server_url):
    """red-flag-success-dip's production section, loaded once for the module."""
    database = f"rgt_red_flag_{uuid.uuid4().hex[:8]}"
    url = admin.create_database(pg_server_url, database, replace=True)
    summary = simulate.simulate(url, "red-flag-success-dip", "production", END)
    with psycopg.connect(url) as connection:
        yield connection, summary
    admin.drop_database(pg_server_url, database)


def fetch(connection, query, params=None):
    return connection.execute(query, params).fetchall()


@pytest.mark.db
def test_period_quotas_are_exact_in_the_database(red_flag_db):
    connection, _ = red_flag_db
    rows = fetch(
        connection,
        """
        WITH created AS (
            SELECT CAST(context ->> 'bookingId' AS uuid) AS booking_id FROM observability_events
            WHERE event_type = 'booking.creation.success'
              AND created_at >= %(end)s - interval '4 hours'
              AND created_at < %(end)s - interval '3 hours'
        ), latest AS (
            SELECT DISTINCT ON (booking_id) booking_id, event_type
            FROM observability_events
            WHERE source = 'assignment.coordinator' AND event_type = ANY(%(outcomes)s)
              AND booking_id IN (SELECT booking_id FROM created)
            ORDER BY booking_id, created_at DESC
        )
        SELECT coalesce(latest.event_type, 'none'), count(*)
        FROM created LEFT JOIN latest USING (booking_id) GROUP BY 1
        """,
        {"end": END, "outcomes": list(OUTCOME_EVENTS)},
    )
    assert dict(rows) == {
        "coordinator.confirmed": 24,
        "coordinator.retry": 15,
        "coordinator.manual_review": 1,
    }


@pytest.mark.db
def test_a_confirmed_booking_has_five_transitions_and_four_coordinator_events(red_flag_db):
    connection, _ = red_flag_db
    rows = fetch(
        connection,
        """
        WITH confirmed AS (
            SELECT booking_id FROM observability_events
            WHERE event_type = 'coordinator.confirmed'
              AND created_at < %(end)s - interval '5 minutes'
        )
        SELECT booking_id,
               count(*) FILTER (WHERE source = 'assignment.state_machine'),
               count(*) FILTER (WHERE source = 'assignment.coordinator'),
               count(*) FILTER (WHERE event_type IN ('coordinator.lock_contention',
                                                     'coordinator.noop'))
        FROM observability_events WHERE booking_id IN (SELECT booking_id FROM confirmed)
        GROUP BY booking_id
        """,
        {"end": END},
    )
    assert len(rows) > 1900
    for _booking, transitions, coordinator, extra_calls in rows:
        assert transitions == 5
        assert coordinator == 4 + 2 * extra_calls  # an extra call is a start and its event
    assert sum(1 for row in rows if row[3] == 0) > 1800


@pytest.mark.db
def test_transitions_follow_the_state_machine(red_flag_db):
    connection, _ = red_flag_db
    rows = fetch(
        connection,
        """
        SELECT booking_id, context->>'from', context->>'to', (context->>'version')::int
        FROM observability_events WHERE source = 'assignment.state_machine'
        ORDER BY booking_id, created_at
        """,
    )
    last = defaultdict(lambda: ("created", 0))
    for booking, from_state, to_state, version in rows:
        state, previous_version = last[booking]
        assert from_state == state and version == previous_version + 1
        assert to_state in ALLOWED_TRANSITIONS[from_state]
        last[booking] = (to_state, version)
    final = Counter(state for state, _ in last.values())
    # The dip hour's 15 retries (24 confirmed of its 40) plus 19 outside it stay pending.
    assert final == {"confirmed": 1955, "assignment_pending": 34, "manual_review": 11}


@pytest.mark.db
def test_no_assignment_events_in_the_legacy_and_shadow_phases(red_flag_db):
    connection, _ = red_flag_db
    (before,), (after,) = fetch(
        connection,
        """
        SELECT count(*) FILTER (WHERE source LIKE 'assignment.%%') FROM observability_events
        WHERE created_at < %(end)s - interval '50 hours'
        UNION ALL
        SELECT count(*) FILTER (WHERE source LIKE 'assignment.%%') FROM observability_events
        WHERE created_at >= %(end)s - interval '50 hours'
        """,
        {"end": END},
    )
    assert before == 0
    # 1,955 confirmed x (4 coordinator + 5 transitions), 11 manual reviews and 34 retries x (4 + 4),
    # 40 lock_contention and 19 noop calls (2% of 2,000 bookings, 1% of 1,976 terminal) x 2
    assert after == 1955 * 9 + 11 * 8 + 34 * 8 + 40 * 2 + 19 * 2
    shadow_legacy = fetch(
        connection,
        """
        SELECT count(DISTINCT booking_id) FROM observability_events
        WHERE created_at >= %(end)s - interval '76 hours'
          AND created_at < %(end)s - interval '50 hours'
          AND event_type IN ('auto_assign.started', 'inline_auto_assign.quote_result')
        """,
        {"end": END},
    )
    assert shadow_legacy == [(26 * 40,)]


@pytest.mark.db
def test_every_coordinator_event_names_its_booking_and_all_but_start_the_restaurant(red_flag_db):
    connection, _ = red_flag_db
    rows = fetch(
        connection,
        """
        SELECT event_type = 'coordinator.start', count(*), count(booking_id), count(restaurant_id),
               count(*) FILTER (WHERE context ? 'trigger')
        FROM observability_events WHERE source = 'assignment.coordinator' GROUP BY 1
        """,
    )
    by_kind = {is_start: counts for is_start, *counts in rows}
    total, with_booking, with_restaurant, with_trigger = by_kind[True]
    assert total == with_booking == with_trigger and with_restaurant == 0
    total, with_booking, with_restaurant, with_trigger = by_kind[False]
    assert total == with_booking == with_restaurant == with_trigger


@pytest.mark.db
def test_noise_is_88_percent_of_rows(red_flag_db):
    connection, summary = red_flag_db
    ((total, noise, noise_with_booking),) = fetch(
        connection,
        """
        SELECT count(*), count(*) FILTER (WHERE source = ANY(%(sources)s)),
               count(booking_id) FILTER (WHERE source = ANY(%(sources)s))
        FROM observability_events
        """,
        {"sources": list(NOISE_SOURCES)},
    )
    assert total == summary.rows
    assert 0.87 <= noise / total <= 0.89
    assert noise_with_booking == 0


@pytest.mark.db
def test_the_load_is_recorded_and_nothing_follows_end(red_flag_db):
    connection, summary = red_flag_db
    ((latest, earliest, count),) = fetch(
        connection, "SELECT max(created_at), min(created_at), count(*) FROM observability_events"
    )
    assert latest <= END and earliest >= END - timedelta(hours=80)
    marker = fetch(
        connection, "SELECT scenario, env, seed, end_at, events FROM rollout_gates_simulation"
    )
    assert marker == [("red-flag-success-dip", "production", 20261130, END, count)]
    assert (summary.scenario, summary.env, summary.start, summary.end) == (
        "red-flag-success-dip",
        "production",
        END - timedelta(hours=80),
        END,
    )
    assert summary.bookings["confirmed"] == 1955 and summary.bookings["succeeded"] == 1140


@pytest.mark.db
def test_same_seed_and_end_load_identical_tables(make_database):
    digests = []
    for name in ("first", "second"):
        url = make_database(name)
        simulate.simulate(url, "low-volume", "staging", END)
        with psycopg.connect(url) as connection:
            digests.append(
                fetch(
                    connection,
                    "SELECT md5(string_agg(t::text, ',' ORDER BY id)), count(*)"
                    " FROM observability_events t",
                )
            )
    assert digests[0] == digests[1]


@pytest.mark.db
def test_end_defaults_to_the_servers_now_to_the_second(make_database):
    url = make_database("default_end")
    lines = []
    summary = simulate.simulate(url, "low-volume", progress=lines.append)
    with psycopg.connect(url) as connection:
        ((now, end_at, latest),) = fetch(
            connection,
            "SELECT now(), (SELECT end_at FROM rollout_gates_simulation),"
            " (SELECT max(created_at) FROM observability_events)",
        )
    assert summary.end == end_at and end_at.microsecond == 0
    assert timedelta(0) <= now - end_at < timedelta(minutes=1)
    assert latest <= end_at
    assert lines and all(line.startswith("production: ") for line in lines)


@pytest.mark.db
def test_creates_the_table_when_missing(make_database):
    url = make_database("no_schema")
    with psycopg.connect(url) as connection:
        connection.execute("DROP TABLE observability_events")
    summary = simulate.simulate(url, "low-volume", "production", END)
    with psycopg.connect(url) as connection:
        assert fetch(connection, "SELECT count(*) FROM observability_events") == [(summary.rows,)]


@pytest.mark.db
def test_refuses_to_overwrite_real_telemetry(make_database):
    url = make_database("real_telemetry")
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO observability_events (source, event_type) VALUES"
            " ('assignment.coordinator', 'coordinator.start'),"
            " ('capacity', 'capacity.rpc.conflict')"
        )
    with pytest.raises(UsageError, match="holds 2 events that were not written by the simulator"):
        simulate.simulate(url, "low-volume", "production", END)
    with psycopg.connect(url) as connection:
        assert fetch(connection, "SELECT count(*) FROM observability_events") == [(2,)]
        assert fetch(connection, "SELECT to_regclass('rollout_gates_simulation')") == [(None,)]

    forced = simulate.simulate(url, "low-volume", "production", END, force=True)
    # a simulated table may be reloaded without force, by any scenario
    again = simulate.simulate(url, "low-volume", "staging", END - timedelta(days=1))
    with psycopg.connect(url) as connection:
        assert fetch(connection, "SELECT count(*) FROM observability_events") == [(again.rows,)]
        assert fetch(connection, "SELECT scenario, env FROM rollout_gates_simulation") == [
            ("low-volume", "staging")
        ]
    assert forced.env == "production" and forced.rows > 0


def test_rollback_returns_to_the_legacy_planner_and_recovered_errors_confirm(tmp_path):
    text = BASE_SCENARIO.replace(
        "    - {phase: full, start: 5h}\n",
        "    - {phase: full, start: 5h}\n    - {phase: rollback, start: 1h}\n",
    ).replace(
        "staging: *section",
        "  periods:\n"
        "    - {start: 3h, end: 2h, outcomes: {error_recovered: 1.0}}\n"
        "staging: *section",
    )
    scenario = without_noise(simulate.load_scenario(str(write_scenario(tmp_path, text))))
    rows = simulate.generate_events(scenario, "production", END)
    rollback = END - timedelta(hours=1)
    assert not [row for row in rows if row[1] >= rollback and row[2].startswith("assignment.")]
    assert sum(row[3] == "auto_assign.started" for row in rows if row[1] >= rollback) >= 1
    outcomes = booking_outcomes(rows, END - timedelta(hours=3), END - timedelta(hours=2))
    assert outcomes == {"confirmed": 10}
    errors = {row[7] for row in rows if row[3] == "coordinator.error"}
    assert len(errors) == 10
    states = [
        json.loads(row[5])["to"]
        for row in rows
        if row[7] == min(errors) and row[2] == STATE_MACHINE
    ]
    assert states == [
        "capacity_verified",
        "assignment_pending",
        "assignment_in_progress",
        "assigned",
        "confirmed",
    ]


# --- the flag ledger and the demo's checkpoints -------------------------------------------


def test_flag_changes_follow_the_v3_rollout_timeline():
    scenario = simulate.load_scenario("v3-rollout")
    changes = simulate.flag_changes(scenario, "production", END)
    hours = timedelta(hours=1)
    assert [(END - c.at, c.variable, c.old, c.new) for c in changes] == [
        (223.5 * hours, V3, None, "false"),
        (223.5 * hours, SHADOW, None, "true"),
        (223.5 * hours, MAX_PARALLEL, None, "3"),  # the max_parallel entry at 223.5h: no change
        (197.5 * hours, V3, "false", "true"),  # full: MAX_PARALLEL stays 3, not recorded
        (197.5 * hours, SHADOW, "true", "false"),
        (194 * hours, V3, "true", "false"),  # rollback
        (194 * hours, SHADOW, "false", "false"),
        (192 * hours, V3, "false", "true"),  # second attempt
        (192 * hours, SHADOW, "false", "false"),
        (120 * hours, MAX_PARALLEL, "3", "4"),
    ]
    assert {c.by for c in changes} == {"simulator"}
    staging = simulate.flag_changes(scenario, "staging", END)
    assert [(END - c.at, c.variable, c.old, c.new) for c in staging] == [
        (257.5 * hours, V3, None, "true"),  # no shadow phase: straight from legacy to full
        (257.5 * hours, SHADOW, None, "false"),
        (257.5 * hours, MAX_PARALLEL, None, "3"),
    ]


def test_a_legacy_timeline_records_no_flag_and_max_parallel_changes_only_when_they_change():
    scenario = simulate.load_scenario("scale-too-soon")
    changes = simulate.flag_changes(scenario, "production", END)
    parallel = [(END - c.at, c.old, c.new) for c in changes if c.variable == MAX_PARALLEL]
    assert parallel == [(timedelta(hours=76), None, "3"), (timedelta(hours=3), "3", "4")]
    legacy_only = scenario.production.model_copy(
        update={"timeline": [scenario.production.timeline[0]]}
    )
    legacy_only = legacy_only.model_copy(update={"max_parallel": []})
    assert (
        simulate.flag_changes(
            scenario.model_copy(update={"production": legacy_only}), "production", END
        )
        == []
    )


CHECKPOINTS = """\
checkpoints:
  - {gate: prerequisites, at: 198.5h, env: staging}
  - gate: preflight
    at: 2h
    set: {attest.oncall: "Ana Ortiz (on-call)"}
    note: before the flip
  - {gate: cleanup, at: 0h}
"""


def test_checkpoints_are_parsed_with_offsets_and_defaults(tmp_path):
    path = write_scenario(tmp_path, BASE_SCENARIO.replace("seed: 7", "seed: 7\n" + CHECKPOINTS))
    path.write_text(path.read_text().replace("start: 10h}", "start: 200h}"))
    first, second, third = simulate.load_scenario(str(path)).checkpoints
    assert (first.gate, first.at, first.env, first.set, first.note) == (
        "prerequisites",
        timedelta(hours=198, minutes=30),
        "staging",
        {},
        None,
    )
    assert (second.at, second.env, second.set, second.note) == (
        timedelta(hours=2),
        None,  # the gate's own environment, decided by whoever runs it
        {"attest.oncall": "Ana Ortiz (on-call)"},
        "before the flip",
    )
    assert (third.gate, third.at) == ("cleanup", timedelta(0))
    demo = simulate.load_scenario("v3-rollout").checkpoints
    assert [(c.gate, c.at.total_seconds() / 3600) for c in demo] == [
        ("prerequisites", 198.5),
        ("shadow", 198.5),
        ("preflight", 198),
        ("full-health", 194.5),
        ("rollback", 193.25),
        ("full-health", 190),
        ("full-extended", 144),
        ("scale", 142),
        ("success", 96),
        ("cleanup", 0),
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("env: staging}", "env: staging, whn: 2h}", "checkpoints[0].whn: Extra inputs are not"),
        ("gate: prerequisites", "gate: prerequisite", "did you mean 'prerequisites'?"),
        ("at: 198.5h", "at: 198.0001h", "is not a whole number of seconds before `end`"),
        ("env: staging}", "env: prod}", "checkpoints[0].env: Input should be 'staging' or"),
        ("at: 198.5h", "at: 216h", "checkpoints[0] (prerequisites): at 9d is before the timeline"),
    ],
    ids=["unknown-key", "unknown-gate", "fraction-of-a-second", "unknown-env", "too-early"],
)
def test_invalid_checkpoints_are_rejected(tmp_path, old, new, message):
    text = BASE_SCENARIO.replace("seed: 7", "seed: 7\n" + CHECKPOINTS.replace(old, new, 1))
    text = text.replace("start: 10h}", "start: 200h}")
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(write_scenario(tmp_path, text)))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("timeline", "periods", "message"),
    [
        (
            "    - {phase: full, start: 5h, stragglers: 10m, straggler_share: 0.5}\n",
            "",
            "stragglers and straggler_share apply to a rollback, not to a full phase",
        ),
        (
            "    - {phase: full, start: 5h}\n    - {phase: rollback, start: 2h, stragglers: 10m}\n",
            "",
            "stragglers and straggler_share go together",
        ),
        (
            "    - {phase: full, start: 5h}\n"
            "    - {phase: rollback, start: 2h, stragglers: 90m, straggler_share: 0.5}\n"
            "    - {phase: full, start: 1h}\n",
            "",
            "the rollback at 2h has stragglers 90m, past the next phase at 1h",
        ),
        (
            "    - {phase: shadow, start: 5h}\n",
            "    - {start: 6h, end: 4h, v3_share: 0.1}\n",
            "period 6h-4h: v3_share applies outside full mode, but overlaps the full phase",
        ),
    ],
    ids=["not-a-rollback", "share-missing", "past-next-phase", "leak-in-full-mode"],
)
def test_invalid_stragglers_and_leaks_are_rejected(tmp_path, timeline, periods, message):
    text = BASE_SCENARIO.replace("    - {phase: full, start: 5h}\n", timeline)
    if periods:
        text = text.replace("staging: *section", "  periods:\n" + periods + "staging: *section")
        text = text.replace(
            "    - {phase: shadow, start: 5h}\n",
            "    - {phase: shadow, start: 8h}\n    - {phase: full, start: 5h}\n",
        )
    with pytest.raises(UsageError) as error:
        simulate.load_scenario(str(write_scenario(tmp_path, text)))
    assert message in str(error.value)


# --- the new scenarios in a real database -------------------------------------------------


def events(url, query, **params):
    with psycopg.connect(url) as connection:
        return connection.execute(query, params).fetchall()


@pytest.mark.db
def test_shadow_leak_sends_exactly_four_bookings_to_the_coordinator(scenario_db, scenario_end):
    url = scenario_db("shadow-leak")
    rows = events(
        url,
        """
        SELECT event_type, count(*), count(DISTINCT booking_id),
               min(created_at) >= %(end)s - interval '5 hours',
               max(created_at) < %(end)s - interval '4 hours',
               count(*) FILTER (WHERE context->>'mode' = 'active')
        FROM observability_events WHERE source LIKE 'assignment.%%' GROUP BY 1 ORDER BY 1
        """,
        end=scenario_end,
    )
    assert rows == [
        ("booking.assignment_state_transition", 20, 4, True, True, 0),
        ("coordinator.confirmed", 4, 4, True, True, 0),
        ("coordinator.lock_acquired", 4, 4, True, True, 0),
        ("coordinator.rate_permit_acquired", 4, 4, True, True, 0),
        ("coordinator.start", 4, 4, True, True, 4),
    ]
    ((created, legacy),) = events(
        url,
        """
        SELECT count(*) FILTER (WHERE event_type = 'booking.creation.success'),
               count(DISTINCT booking_id)
                   FILTER (WHERE event_type = 'inline_auto_assign.quote_result')
        FROM observability_events
        WHERE created_at >= %(end)s - interval '5 hours'
          AND created_at < %(end)s - interval '4 hours'
        """,
        end=scenario_end,
    )
    assert (created, legacy) == (40, 36)  # the other 36 bookings of the hour: legacy planner


@pytest.mark.db
def test_legacy_missing_bookings_leave_no_planner_or_transition_event(scenario_db, scenario_end):
    url = scenario_db("shadow-no-legacy")
    ((created, legacy, transitions, others),) = events(
        url,
        """
        SELECT count(*) FILTER (WHERE event_type = 'booking.creation.success'),
               count(*) FILTER (WHERE source = ANY(%(legacy)s)),
               count(*) FILTER (WHERE source = 'assignment.state_machine'),
               count(*) FILTER (WHERE booking_id IS NOT NULL
                                  AND event_type <> 'booking.creation.success')
        FROM observability_events WHERE created_at >= %(end)s - interval '24 hours'
        """,
        end=scenario_end,
        legacy=list(LEGACY_SOURCES),
    )
    assert (created, legacy, transitions, others) == (960, 0, 0, 0)
    (before,) = events(
        url,
        "SELECT count(*) FROM observability_events WHERE event_type = 'auto_assign.started'"
        " AND created_at < %(end)s - interval '24 hours'",
        end=scenario_end,
    )
    assert before[0] > 0  # the planner ran before


LAST_STATES = """
    WITH last AS (
        SELECT DISTINCT ON (booking_id) booking_id, context->>'to' AS state, created_at
        FROM observability_events WHERE source = 'assignment.state_machine'
        ORDER BY booking_id, created_at DESC
    )
"""


@pytest.mark.db
def test_stuck_bookings_have_no_outcome_and_stay_in_assignment_in_progress(
    scenario_db, scenario_end
):
    url = scenario_db("stuck-bookings")
    assert dict(events(url, LAST_STATES + "SELECT state, count(*) FROM last GROUP BY 1")) == {
        "confirmed": 1985,
        "manual_review": 10,
        "assignment_in_progress": 5,
    }
    rows = events(
        url,
        LAST_STATES
        + """
        SELECT last.booking_id, array_agg(e.event_type ORDER BY e.created_at),
               min(e.created_at) >= %(end)s - interval '6 hours',
               max(e.created_at) < %(end)s - interval '5 hours'
        FROM observability_events e
        -- the creation event names its booking in context only
        JOIN last ON last.booking_id = coalesce(
            e.booking_id, CAST(e.context ->> 'bookingId' AS uuid)
        )
        WHERE last.state = 'assignment_in_progress' GROUP BY 1
        """,
        end=scenario_end,
    )
    assert len(rows) == 5
    transition = "booking.assignment_state_transition"
    for _booking, sequence, after_start, before_end in rows:
        assert sequence == [
            "booking.creation.success",
            transition,  # capacity_verified
            transition,  # assignment_pending
            "coordinator.start",
            "coordinator.lock_acquired",
            transition,  # assignment_in_progress
        ]
        assert after_start and before_end
    assert not set(OUTCOME_EVENTS) & {event for row in rows for event in row[1]}


@pytest.mark.db
def test_invalid_transitions_are_exactly_five_confirmed_to_assignment_pending(
    scenario_db, scenario_end
):
    url = scenario_db("invalid-transitions")
    rows = events(
        url,
        """
        SELECT context->>'from', context->>'to', created_at,
               (SELECT max(created_at) FROM observability_events c
                WHERE c.booking_id = t.booking_id AND c.context->>'to' = 'confirmed')
        FROM observability_events t WHERE source = 'assignment.state_machine'
        """,
    )
    disallowed = [row for row in rows if row[1] not in ALLOWED_TRANSITIONS.get(row[0], ())]
    assert len(disallowed) == 5
    for from_state, to_state, at, confirmed_at in disallowed:
        assert (from_state, to_state) == ("confirmed", "assignment_pending")
        assert abs(at - confirmed_at - timedelta(seconds=2)) < timedelta(milliseconds=1)
        assert scenario_end - timedelta(hours=6) <= at < scenario_end - timedelta(hours=5)
    # the coordinator confirmed them all: the 40 bookings of that hour have 40 confirmations
    (confirmed,) = events(
        url,
        "SELECT count(*) FROM observability_events WHERE event_type = 'coordinator.confirmed'"
        " AND created_at >= %(end)s - interval '6 hours'"
        " AND created_at < %(end)s - interval '5 hours'",
        end=scenario_end,
    )
    assert confirmed == (40,)


@pytest.mark.db
def test_rollback_stragglers_reach_the_coordinator_only_in_the_straggler_window(
    scenario_db, scenario_end
):
    url = scenario_db("rollback-stragglers")
    rollback = scenario_end - timedelta(hours=2)
    starts = events(
        url,
        "SELECT created_at, context->>'mode' FROM observability_events"
        " WHERE event_type = 'coordinator.start' AND created_at >= %(rollback)s ORDER BY 1",
        rollback=rollback,
    )
    minutes = [(at - rollback) / timedelta(minutes=1) for at, _ in starts]
    assert len(minutes) == 8  # 0.25 x 30 bookings = 7.5: the tie goes to the coordinator
    assert {mode for _, mode in starts} == {"active"}
    assert sum(m >= 10 for m in minutes) == 6 and sum(m >= 30 for m in minutes) == 3
    ((first, last, count, bookings),) = events(
        url,
        "SELECT min(created_at), max(created_at), count(*), count(DISTINCT booking_id)"
        " FROM observability_events"
        " WHERE source LIKE 'assignment.%%' AND created_at >= %(rollback)s",
        rollback=rollback,
    )
    assert rollback <= first and last < rollback + timedelta(minutes=45)
    assert (count, bookings) == (8 * 4 + 8 * 5, 8)  # all confirmed
    buckets = events(
        url,
        """
        SELECT floor(extract(epoch FROM created_at - %(rollback)s) / 900)::int,
               count(DISTINCT booking_id)
        FROM observability_events
        WHERE source = ANY(%(legacy)s) AND created_at >= %(rollback)s
          AND coalesce(context->>'trigger', '') <> 'coordinator'
        GROUP BY 1 ORDER BY 1
        """,
        rollback=rollback,
        legacy=list(LEGACY_SOURCES),
    )
    assert [bucket for bucket, _ in buckets] == list(
        range(8)
    )  # every quarter hour from the rollback
    assert sum(count for _, count in buckets) == 80 - 8
    (legacy_in_full,) = events(
        url,
        "SELECT count(*) FROM observability_events WHERE event_type = 'auto_assign.started'"
        " AND created_at >= %(rollback)s - interval '48 hours' AND created_at < %(rollback)s",
        rollback=rollback,
    )
    assert legacy_in_full == (0,)


def test_a_late_ledger_entry_moves_only_the_ledger():
    scenario = simulate.load_scenario("flags-disagree")
    end = datetime(2026, 11, 29, tzinfo=UTC)
    switched_on = [
        change.at
        for change in simulate.flag_changes(scenario, "production", end)
        if change.variable == V3 and change.new == "true"
    ]
    assert switched_on == [end - timedelta(hours=48)], "the ledger records the switch 2h late"
    rows = simulate.generate_events(scenario, "production", end)
    first_start = min(row[1] for row in rows if row[3] == "coordinator.start")
    assert end - timedelta(hours=50) <= first_start < end - timedelta(hours=49, minutes=58)
