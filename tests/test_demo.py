"""`rollout-gates demo`: the v3-rollout story, verdict by verdict, and the report it leaves.

Every expectation is worked out by hand from params/scenarios/v3-rollout.yaml's header (times
are offsets before the timeline's end) and DESIGN.md's rules (criteria PASS on their point
estimate with `min_decided`; a red flag FAILs only when confidently beyond its limit, WARNs on
the point estimate alone), never read back from the tool. One test: the demo runs ~20 gates.
"""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.db, pytest.mark.slow]

H = timedelta(hours=1)

# (gate, env, offset before the end, verdict): the story's checkpoints in time order.
CHECKPOINTS = [
    # staging in full mode 59h; 48h: 955/960 confirmed (99.48% >= 97%), 5 manual (0.52% < 1%),
    # no hour above 5% (at most 1 of 20), no error at all.
    ("prerequisites", "staging", 198.5 * H, "PASS"),
    # shadow 25h >= 24h; 480 bookings all with legacy activity, no assignment.* event.
    ("shadow", "production", 198.5 * H, "PASS"),
    # both verdicts above PASS and fresh (30 min old), all four attestations given.
    ("preflight", "production", 198 * H, "PASS"),
    # the incident hour: success 10/19 = 52.6%, confidently below 90%.
    ("full-health", "production", 194.5 * H, "FAIL"),
    # 45 min after the rollback: stragglers stopped at +8m54s, within the 30 min drain;
    # legacy resumed at +4m45s.
    ("rollback", "production", 193.25 * H, "PASS"),
    # second attempt 2h in: 20/20 confirmed in the last hour.
    ("full-health", "production", 190 * H, "PASS"),
    # 48h in: 955/960 (99.48%), 5 manual (0.52%).
    ("full-extended", "production", 144 * H, "PASS"),
    # 50h in, same 48h rates; MAX_PARALLEL 3 < 5, unchanged since 223.5h (>= 6h).
    ("scale", "production", 142 * H, "PASS"),
    # 96h in: 956/960 (99.58%), 4 manual (0.42% < 1%), nothing stuck, attestations given.
    ("success", "production", 96 * H, "PASS"),
    # 192h in (>= 7d), a success PASS recorded, no legacy event in 7 days.
    ("cleanup", "production", 0 * H, "PASS"),
]


def verdicts_of(evidence: Path) -> list[dict]:
    """Every recorded verdict, each gate's in the order they ran (folders named by UTC time)."""
    return [json.loads(p.read_text()) for p in sorted(evidence.glob("*/*/*/verdict.json"))]


def at(verdict: dict) -> datetime:
    return datetime.fromisoformat(verdict["as_of"])


def table_row(markdown: str, section: str, first_cell: str) -> list[str]:
    """The cells of the row whose first cell is `first_cell`, in the section's table."""
    text = markdown[markdown.index(f"\n## {section}\n") + 1 :]
    text = text[: text.find("\n## ")]
    [row] = [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")]
    return [cell.strip() for cell in row.strip("|").split(" | ")]


def test_demo_tells_the_v3_rollout_story(tmp_path, server_folder):
    root = tmp_path / "evidence"
    completed = subprocess.run(
        [sys.executable, "-m", "rollout_gates", "demo", "--scenario", "v3-rollout",
         "--output-dir", str(root)],
        capture_output=True, text=True, timeout=1800,
        env={**os.environ, "ROLLOUT_EMBEDDED_PGDATA": str(server_folder / "data")},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    evidence = root / "v3-rollout"
    verdicts = verdicts_of(evidence)
    # The checkpoints, then `run all` at the end: every gate of each environment once more.
    assert len(verdicts) == len(CHECKPOINTS) + 9
    # The end of the timeline: the cleanup checkpoint, at 0h, is the latest as-of.
    end = max(at(v) for v in verdicts)

    def run_of(gate: str, env: str, offset: timedelta) -> dict:
        """The checkpoint's run: the first at that as-of (cleanup's, at 0h, before `run all`)."""
        runs = [v for v in verdicts if (v["gate"], v["env"], at(v)) == (gate, env, end - offset)]
        return runs[0]

    for gate, env, offset, status in CHECKPOINTS:
        run = run_of(gate, env, offset)
        assert (gate, offset / H, run["status"]) == (gate, offset / H, status)
        assert run["simulated"] and run["scenario"] == "v3-rollout"
        assert run["in_phase"] is True, f"{gate} at {offset / H}h ran in its phase"

    # The incident hour, check by check.
    incident = run_of("full-health", "production", 194.5 * H)
    checks = {c["id"]: c for c in incident["checks"]}
    success = checks["success_rate"]
    assert success["status"] == "FAIL"
    assert success["sample_size"] == 19 and success["observed"] == pytest.approx(10 / 19)
    assert success["evidence"]["high"] < 0.90, "confidently below 90%, not on the estimate"
    assert checks["manual_review_rate"]["status"] == "WARN"  # 1/19 = 5.3%, the estimate only
    assert checks["manual_review_rate"]["observed"] == pytest.approx(1 / 19)
    assert checks["sustained_errors"]["status"] == "WARN"  # buckets 1, 3, 4, 6: a run of 2
    assert checks["circuit_opens"]["status"] == "PASS"
    assert any(line.startswith("vercel env add FEATURE_ASSIGNMENT_PIPELINE_V3 ") for line in
               incident["actions"]), "a full-health FAIL gives the rollback commands"  # fmt: skip

    rollback = {c["id"]: c for c in run_of("rollback", "production", 193.25 * H)["checks"]}
    rolled_back = end - 194 * H
    assert rollback["rollback_time"]["observed"] == f"{rolled_back:%Y-%m-%dT%H:%M:%SZ}"
    assert rollback["errors_captured"]["observed"] == 2  # in the hour before the rollback
    assert rollback["stragglers_drained"]["status"] == "PASS"
    assert rollback["legacy_resumed"]["status"] == "PASS"

    scale = run_of("scale", "production", 142 * H)
    assert "# When prompted, enter: 4" in scale["actions"]
    cleanup = run_of("cleanup", "production", 0 * H)
    assert (Path(cleanup["run_dir"]) / "tables" / "cleanup-task.md").exists()

    # `run all` at the end, in full mode since the second flip: shadow and preflight keep
    # their own statuses but are out of phase.
    second_flip = end - 192 * H
    for gate in ("shadow", "preflight"):
        late = [v for v in verdicts if v["gate"] == gate and at(v) == end]
        assert [(v["in_phase"], v["phase"]) for v in late] == [(False, "full")]
        assert datetime.fromisoformat(late[0]["phase_since"]) == second_flip

    report = (evidence / "production" / "verification.md").read_text()
    [standing] = [line for line in report.splitlines() if "Where the rollout stands" in line]
    assert f"full mode since {second_flip:%Y-%m-%d %H:%M} UTC" in standing
    # Each checkpoint's decisive run (the last in its phase) passed: shadow and preflight at
    # 198.5h and 198h, rollback at 193.25h, the others in `run all` at the end, on a healthy
    # full mode (success 48h >= 97%, MAX_PARALLEL 4 < 5 and unchanged for 120h).
    assert "9 of 9 checkpoints passed at their time" in standing
    assert "the rollout succeeded" in standing
    assert "next: the legacy cleanup" in standing
    assert report.index("Where the rollout stands") < report.index("## Timeline"), "on top"

    out_of_phase = f"out of phase (full mode since {second_flip:%Y-%m-%d %H:%M} UTC)"
    for gate, offset in (("shadow", 198.5 * H), ("preflight", 198 * H)):
        _, phase, decisive, latest = table_row(report, "Checkpoints", gate)
        assert phase == "shadow"
        assert decisive.startswith(f"✅ PASS as of {end - offset:%Y-%m-%d %H:%M}"), decisive
        assert out_of_phase in latest and f"as of {end:%Y-%m-%d %H:%M}" in latest, latest
        assert out_of_phase not in decisive
