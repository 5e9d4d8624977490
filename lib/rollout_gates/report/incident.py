"""`rollout-gates incident`: the runbook's "file incident report referencing captured data".

A Markdown draft (what failed and when, the failing checks with their numbers and bounds,
the rollback and whether it was verified, the captured tables, the flag ledger around it)
and a zip of exactly the evidence it cites, each link relative to the draft, inside the
zip too. Secrets (the database password, the webhook URL) are scrubbed from both.
"""

import csv
import os
import shutil
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from ..config.ledger import read_ledger
from ..core import layout
from ..core.errors import UsageError
from ..core.verdict import BEHIND_LISTED, BEHIND_TABLE, GateResult, Status
from ..gates import gate_ids, gate_spec
from ..present.display import ICONS, format_value
from ..run.evidence import recorded_verdicts
from ..telemetry import db
from ..telemetry.planner import last_rollback

# What a cited run contributes to the bundle (no notebook: its code is not evidence).
CITED = ("{gate}.html", layout.VERDICT, layout.TABLES, layout.FIGURES)
AROUND = timedelta(hours=6)  # flag ledger entries shown either side of the failure
ROWS_SHOWN = 20  # rows of a captured table shown in the draft (all are in the zip)


def incident_secrets() -> tuple[str, ...]:
    """The secrets of this process's environment: database passwords and the webhook URL."""
    found = []
    for name in ("ROLLOUT_DB_URL", "SUPABASE_DB_URL"):
        if os.environ.get(name):
            found += db.secrets_of(os.environ[name])
    webhook = os.environ.get(db.WEBHOOK_ENV)
    if webhook:
        found += [webhook, webhook.rstrip("/").rsplit("/", 1)[-1]]
    return tuple(s for s in found if s)


def failing_run(root: Path, env: str, at: datetime | None) -> GateResult:
    """The latest FAIL of the env's gates at or before `at`, taken in the phase it checks.

    A gate run out of its phase (shadow in full mode) is no incident: report.with_phase.
    """
    from .verification import with_phase

    changes = read_ledger(layout.ledger_path(root, env))
    fails = [
        run
        for gate in gate_ids()
        if gate_spec(gate).env == env
        for run in (with_phase(r, changes) for r in recorded_verdicts(root, env, gate))
        if run.status is Status.FAIL
        and run.as_of
        and run.in_phase is not False
        and (at is None or run.as_of <= at)
    ]
    if not fails:
        raise UsageError(f"no FAIL verdict recorded for {env} under {root}: no incident to file")
    return max(fails, key=lambda run: run.as_of)


def rollback_after(root: Path, env: str, failed: GateResult):
    """The flag change that rolled V3 back after the failure, and the rollback gate's verdict."""
    changes = read_ledger(layout.ledger_path(root, env))
    later = [c.at for c in changes if c.at >= failed.as_of]
    rollback = last_rollback(changes, max(later)) if later else None
    if rollback is not None and rollback.at < failed.as_of - AROUND:
        rollback = None
    verdict = None
    if rollback is not None:
        runs = [r for r in recorded_verdicts(root, env, "rollback") if r.as_of]
        after = [r for r in runs if r.as_of >= rollback.at]
        verdict = after[0] if after else None
    return changes, rollback, verdict


def write_incident(
    root: Path, env: str, at: datetime | None = None, output: Path | None = None
) -> tuple[Path, Path]:
    """Write incident.md and incident.zip; returns their paths."""
    root = root.resolve()
    failed = failing_run(root, env, at)
    changes, rollback, verified = rollback_after(root, env, failed)
    folder = (output or layout.incident_dir(root, env, failed.as_of)).resolve()
    if folder.exists():
        shutil.rmtree(folder)
    evidence = folder / "evidence"
    cited = [run for run in (failed, verified) if run is not None]
    links = {id(run): copy_run(run, evidence) for run in cited}
    draft = folder / "incident.md"
    draft.write_text(render(env, failed, rollback, verified, changes, links, folder))
    secrets = incident_secrets()
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".json", ".csv", ".html", ".txt"):
            text = path.read_text(errors="replace")
            cleaned = db.redact_text(text, secrets)
            if cleaned != text:
                path.write_text(cleaned)
    bundle = folder / "incident.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path != bundle:
                archive.write(path, path.relative_to(folder).as_posix())
    return draft, bundle


def copy_run(run: GateResult, evidence: Path) -> Path | None:
    """Copy the cited parts of a run folder under evidence/<gate>/<run>/; None without one."""
    if not run.run_dir or not Path(run.run_dir).exists():
        return None
    source = Path(run.run_dir)
    target = evidence / run.gate / source.name
    target.mkdir(parents=True, exist_ok=True)
    for pattern in CITED:
        item = source / pattern.format(gate=run.gate)
        if item.is_dir():
            shutil.copytree(item, target / item.name)
        elif item.is_file():
            shutil.copy2(item, target / item.name)
    return target


def render(env, failed, rollback, verified, changes, links, folder: Path) -> str:
    def rel(path: Path) -> str:
        return path.relative_to(folder).as_posix()

    def evidence_of(run: GateResult) -> str:
        target = links.get(id(run))
        if target is None:
            return "(no run folder recorded)"
        parts = [
            f"[{p.name}]({rel(p)})"
            for p in (target / f"{run.gate}.html", layout.verdict_path(target))
            if p.exists()
        ]
        return " · ".join(parts)

    lines = [
        f"# Incident draft: V3 rollout, {env}, {failed.as_of:%Y-%m-%d %H:%M} UTC",
        "",
        "Drafted by `rollout-gates incident` from the recorded verdicts and the flag ledger; "
        "every link points into the attached zip.",
    ]
    if failed.simulated:
        lines += ["", f"> ⚠️ **SIMULATED DATA** (scenario `{failed.scenario}`)."]
    lines += [
        "",
        "## What happened",
        "",
        f"- {failed.as_of:%Y-%m-%d %H:%M} UTC: `{failed.gate}` {ICONS[failed.status]} "
        f"{failed.status} ({failed.runbook_step}). Evidence: {evidence_of(failed)}",
    ]
    if rollback is not None:
        lines.append(
            f"- {rollback.at:%Y-%m-%d %H:%M} UTC: rolled back, {rollback.variable} "
            f"{rollback.old} → {rollback.new} (by {rollback.by})"
        )
        if verified is not None:
            lines.append(
                f"- {verified.as_of:%Y-%m-%d %H:%M} UTC: rollback gate {ICONS[verified.status]} "
                f"{verified.status}: rollback "
                f"{'verified' if verified.status is Status.PASS else 'NOT verified'}. "
                f"Evidence: {evidence_of(verified)}"
            )
        else:
            lines.append("- the rollback gate has not run since: the rollback is not verified")
    else:
        lines.append("- no rollback recorded in the flag ledger after the failure")
    lines += ["", "## Failing checks", "", "| check | rule | observed | bound | n | detail |"]
    lines.append("|---|---|---|---|---|---|")
    for check in failed.checks:
        if check.status is not Status.FAIL:
            continue
        interval = f"{check.interval[0]:.1%}–{check.interval[1]:.1%}" if check.interval else "–"
        lines.append(
            f"| {check.id} | {check.rule} | {format_value(check.observed)} | {interval} | "
            f"{format_value(check.sample_size)} | {check.detail.replace('|', '/')} |"
        )
    lines += bookings_section(links.get(id(failed)), rel)
    if verified is not None:
        lines += ["", "## The rollback, checked", ""]
        lines += [
            f"- {ICONS[c.status]} {c.id}: {c.detail}" for c in verified.checks
        ]  # stragglers and the captured errors are among these checks
    lines += ["", "## Captured tables", ""]
    for run in (failed, verified):
        target = links.get(id(run)) if run is not None else None
        for table in sorted(layout.tables_dir(target).glob("*.csv")) if target else []:
            if table.stem == BEHIND_TABLE:
                continue  # shown above, with the trails
            lines.append(f"### [{run.gate}: {table.stem}]({rel(table)})")
            lines.append("")
            lines.append(csv_markdown(table))
            lines.append("")
    for run in (failed, verified):
        target = links.get(id(run)) if run is not None else None
        for figure in sorted(layout.figures_dir(target).glob("*.png")) if target else []:
            lines += [f"![{run.gate}: {figure.stem}]({rel(figure)})", ""]
    lines += ["## Flag ledger around it", "", "| at (UTC) | variable | old | new | by |"]
    lines.append("|---|---|---|---|---|")
    for change in changes:
        if abs(change.at - failed.as_of) <= AROUND or (rollback and change.at == rollback.at):
            lines.append(
                f"| {change.at:%Y-%m-%d %H:%M} | {change.variable} | {change.old} | "
                f"{change.new} | {change.by} |"
            )
    lines += ["", "## To do (runbook, Post-Rollback Actions)", ""]
    lines += ["- [ ] Schedule the post-mortem to investigate the root cause", ""]
    return "\n".join(lines)


def bookings_section(target: Path | None, rel) -> list[str]:
    """The bookings behind the failing checks (trail.py's table), by check, with their trails."""
    table = layout.tables_dir(target) / f"{BEHIND_TABLE}.csv" if target else None
    if table is None or not table.exists():
        return []
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["", "## Bookings behind the failing checks", ""]
    lines.append(
        f"Each booking's events in time order, from [{table.name}]({rel(table)}); at most "
        f"{BEHIND_LISTED} a check."
    )
    for check in dict.fromkeys(row["check"] for row in rows):
        listed = [row for row in rows if row["check"] == check]
        lines += ["", f"### {check}: {len(listed)} of {listed[0]['of']} listed", ""]
        lines += ["| booking | restaurant | outcome | decided at (UTC) | event trail |"]
        lines.append("|---|---|---|---|---|")
        lines += [
            f"| {row['booking_id']} | {row['restaurant_id']} | {row['outcome']} | "
            f"{row['decided_at'][:19]} | {row['trail'].replace('|', '/')} |"
            for row in listed
        ]
    return lines


def csv_markdown(path: Path, limit: int = ROWS_SHOWN) -> str:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return "(empty)"
    header, body = rows[0], rows[1:]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in body[:limit]]
    if len(body) > limit:
        lines.append(f"\n{len(body) - limit} more rows in the file.")
    if not body:
        lines.append("| " + " | ".join("" for _ in header) + " |")
    return "\n".join(lines)
