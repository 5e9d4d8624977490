"""The operating-characteristics benchmark judges per-tick counts with the gates' own rules
instead of replaying SQL; this shows, on one seeded scenario in Postgres, that its count path
gives the verdicts `rollout-gates replay` gives, step by step and check by check.

The scenario (SCENARIO below, written for this test): production in full mode from end-54h
at 20 bookings an hour (97.5% confirmed, 0.5% manual review, 1% retry, unresolved once 15
minutes old, 1% error), quiet at 2 an hour for its first 2 hours and at 1.125 an hour from
end-30h to end-27h, and a dip from end-5h to end-3h (60% confirmed, 30% error, 10% retry).
Every booking has exactly one outcome event (no *_recovered outcome, no circuit_open), so
per-5-minute counts of outcome events are all a window needs: read once with the package's
own queries (outcome_buckets, event_buckets), then judged at each step by the benchmark.
"""

import csv
import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from rollout_gates.config import params as config
from rollout_gates.sim.simulate import flag_changes, load_scenario
from rollout_gates.telemetry import db
from rollout_gates.telemetry.metrics import (
    Window,
    bucket_starts,
    fetch_event_buckets,
    fetch_frame,
    fetch_outcome_event_buckets,
    fetch_outcomes,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

SCENARIO_YAML = """\
description: "count path against replay: quiet hours, then a dip to 60% for two hours"
seed: 20261201
production:
  timeline:
    - {phase: legacy, start: 80h}
    - {phase: shadow, start: 76h}
    - {phase: full, start: 54h}
  bookings_per_hour: 20
  outcomes: {confirmed: 0.975, manual_review: 0.005, retry: 0.01, error: 0.01}
  legacy_outcomes: {succeeded: 0.95, failed: 0.05}
  noise_share: 0.5
  lock_contention_share: 0.02
  noop_share: 0.01
  periods:
    - {start: 54h, end: 52h, bookings_per_hour: 2}
    - {start: 30h, end: 27h, bookings_per_hour: 1.125}
    - {start: 5h, end: 3h, outcomes: {confirmed: 0.6, error: 0.3, retry: 0.1}}
  max_parallel: [{at: 54h, value: 2}]
staging:
  timeline:
    - {phase: legacy, start: 80h}
    - {phase: full, start: 60h}
  bookings_per_hour: 20
  outcomes: {confirmed: 0.985, manual_review: 0.005, retry: 0.01}
  legacy_outcomes: {succeeded: 0.95, failed: 0.05}
  noise_share: 0.5
  lock_contention_share: 0.0
  noop_share: 0.0
"""
FULL_MODE = timedelta(hours=54)
BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "operating_characteristics.py"
# Advisory checks the count path does not model (bookings with activity from other sources,
# malformed rows); WARN or PASS, they never change a gate's status.
NOT_MODELLED = {"telemetry_coverage", "telemetry_quality"}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("scenario") / "oc-equivalence.yaml"
    path.write_text(SCENARIO_YAML)
    return str(path)


def benchmark():
    spec = importlib.util.spec_from_file_location("operating_characteristics", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def counts_from_database(oc, url: str, window: Window):
    """Per-tick counts over `window` (ticks aligned to its end), through the gates' queries."""
    taxonomy = config.load_taxonomy()
    coordinator = taxonomy["coordinator"]
    events = coordinator["outcomes"]
    starts = bucket_starts(window, oc.TICK)
    index = {start: i for i, start in enumerate(starts)}
    arrays = {name: oc.np.zeros(len(starts), dtype=oc.np.int64) for name in oc.FIELDS}
    engine = db.create_readonly_engine(url, timedelta(seconds=60))
    with engine.connect() as connection:
        # No grace: every retry reads as unresolved here; the count path makes the ones younger
        # than outcome_grace at each step pending again.
        outcomes = fetch_outcomes(connection, taxonomy, window, oc.TICK, timedelta(0))
        for start, outcome, bookings in outcomes[["bucket_start", "outcome", "bookings"]].values:
            name = "unresolved" if outcome in ("retry", "circuit_open") else outcome
            arrays[name][index[start]] += int(bookings)
        arrays["outcome_events"][:] = fetch_outcome_event_buckets(
            connection, taxonomy, window, oc.TICK
        )
        for name, event_type in (
            ("error_events", events["error"]),
            ("circuit_opens", events["circuit_open"]),
            ("active_starts", coordinator["start"]),
        ):
            frame = fetch_event_buckets(connection, taxonomy, window, oc.TICK, event_type)
            arrays[name][:] = frame["events"].to_numpy()
        # Bookings created: V3 must see traffic when bookings are being made (v3_traffic). The
        # simulator writes no duplicate creation, so its events are its arrivals.
        arrivals = taxonomy["arrivals"]
        created = fetch_frame(
            connection, "event_buckets", **window.binds(), coordinator_source=arrivals["source"],
            event_types=[arrivals["created"]], bucket=oc.TICK,
        )  # fmt: skip
        for start, events in created[["bucket_start", "events"]].values:
            arrays["activity"][index[start]] = int(events)
    engine.dispose()
    assert set(outcomes["outcome"]) <= {"confirmed", "manual_review", "retry", "error"}
    return oc.Counts(window.start, arrays)


def replayed(cli, url, gate, first, last, step, output_dir) -> dict:
    """{as_of: {check id or "gate": status}} from the replay's tables/checks.csv."""
    completed = cli(
        "replay", gate, "--env", "production", "--db-url", url, "--from", first.isoformat(),
        "--to", last.isoformat(), "--step", step, "--output-dir", str(output_dir),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [run_dir] = (output_dir / "production" / "replays" / gate).iterdir()
    steps: dict = {}
    with open(run_dir / "tables" / "checks.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            as_of = pd.Timestamp(row["as_of"]).to_pydatetime()
            steps.setdefault(as_of, {})[row["check"]] = row["status"]
    return steps


def from_counts(oc, gate, counts, times, changes) -> dict:
    gates = oc.Gates(memoize=False)
    found = {}
    for as_of in times:
        judged = gates.judge(gate, counts, counts.tick_of(as_of), changes)
        found[as_of] = {"gate": judged.status, **judged.checks}
    return found


def compare(expected: dict, measured: dict) -> list[str]:
    """Every step and every modelled check; returns the differences, as text."""
    assert set(expected) == set(measured), "the same steps"
    differences = []
    for as_of in sorted(expected):
        for check, status in expected[as_of].items():
            if check in NOT_MODELLED:
                continue
            if measured[as_of].get(check) != status:
                differences.append(
                    f"{as_of:%Y-%m-%d %H:%M} {check}: replay {status}, "
                    f"counts {measured[as_of].get(check)}"
                )
    return differences


def test_count_path_gives_replays_verdicts_for_full_health(
    cli, scenario_db, scenario_end, write_ledger, scenario, tmp_path
):
    """Every 10 minutes from 10 minutes after full mode began (the full-mode window growing
    from 10 minutes to its 6h cap) to the end: the same gate status and the same status of
    each check at every step."""
    oc = benchmark()
    url = scenario_db(scenario)
    write_ledger(tmp_path, scenario)  # the phase start from the ledger, as in the benchmark
    full_start = scenario_end - FULL_MODE
    first, last = full_start + timedelta(minutes=10), scenario_end
    expected = replayed(cli, url, "full-health", first, last, "10m", tmp_path)
    counts = counts_from_database(oc, url, Window(first - timedelta(hours=7), last))
    changes = flag_changes(load_scenario(scenario), "production", scenario_end)
    measured = from_counts(oc, "full-health", counts, sorted(expected), changes)

    assert len(expected) == 54 * 6
    statuses = [steps["gate"] for steps in expected.values()]
    # What the comparison covers: v3_traffic FAIL in full mode's first minutes (shadow
    # bookings in the hour, no coordinator.start yet at 2 an hour), INCONCLUSIVE in the quiet
    # first hours (under 10 decided), PASS at 20 an hour, FAIL in the dip: at 60% the last
    # hour is confidently below 90% within its first hour.
    assert {"PASS", "FAIL", "INCONCLUSIVE"} <= set(statuses), statuses
    assert expected[first]["v3_traffic"] == "FAIL"
    dip = scenario_end - timedelta(hours=5)
    fails = sorted(t for t, steps in expected.items() if steps["gate"] == "FAIL" and t > dip)
    assert fails and fails[0] <= dip + timedelta(hours=1), "FAILs within the dip's first hour"
    assert "success_rate" in {c for t in fails for c, s in expected[t].items() if s == "FAIL"}
    assert compare(expected, measured) == []


def test_count_path_gives_replays_verdicts_for_full_extended(
    cli, scenario_db, scenario_end, write_ledger, scenario, tmp_path
):
    """The 48h stability checks (prerequisites and full-extended) every 2 hours from 6h of
    full mode to the end: soak INCONCLUSIVE until 48h, then the rates judged on 48h."""
    oc = benchmark()
    url = scenario_db(scenario)
    write_ledger(tmp_path, scenario)
    full_start = scenario_end - FULL_MODE
    first, last = full_start + timedelta(hours=6), scenario_end
    expected = replayed(cli, url, "full-extended", first, last, "2h", tmp_path)
    counts = counts_from_database(oc, url, Window(first - timedelta(hours=48), last))
    changes = flag_changes(load_scenario(scenario), "production", scenario_end)
    measured = from_counts(oc, "stability", counts, sorted(expected), changes)

    assert len(expected) == 25
    assert {steps["soak"] for steps in expected.values()} == {"INCONCLUSIVE", "PASS"}
    # The dip's errors are sustained: a FAIL from the first step that sees it.
    assert expected[scenario_end]["sustained_errors"] == "FAIL"
    assert compare(expected, measured) == []
