"""verification.md from what is on disk: the ledger, every recorded verdict, the latest figures.

The runbook ends with "update verification.md with production metrics"; this writes it,
idempotently: the same evidence gives the same file, byte for byte.
"""

import base64
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ..config.ledger import MAX_PARALLEL, FlagChange, phase_at, read_ledger
from ..core import layout
from ..core.verdict import GateResult, Status
from ..gates import CHECKPOINT_PHASE, gate_checklist, gate_ids, gate_spec
from ..present.display import ICONS, format_value, status_badge
from ..run.evidence import recorded_verdicts
from ..telemetry.checklist import checklist_markdown
from ..telemetry.planner import PhaseClock, in_checkpoint_phase, last_rollback, rollout_clock

KEY_CHECKS = ("success_rate", "manual_review_rate", "sustained_errors", "circuit_opens")


@dataclass(frozen=True)
class PhaseRow:
    phase: str
    start: datetime | None
    end: datetime | None

    @property
    def duration(self) -> timedelta | None:
        return self.end - self.start if self.start and self.end else None


def timeline(
    changes: list[FlagChange],
    verdicts: dict[str, list[GateResult]],
    preparation_start: datetime | None = None,
) -> list[PhaseRow]:
    """The runbook's phases from the ledger's switches, with scaling steps and cleanup.

    Preparation runs from `preparation_start` (staging's switch to full mode) to the
    first production switch.
    """
    phases: list[list] = [["preparation", preparation_start]]
    steps: list[list] = []
    previous, attempts = "legacy", 0
    for moment in sorted({change.at for change in changes}):
        phase = phase_at(changes, moment)
        if phase != previous:
            if phase == "full":
                attempts += 1
                label = "full" if attempts == 1 else f"full (attempt {attempts})"
            else:
                label = "rollback" if previous == "full" else phase
            phases.append([label, moment])
            previous = phase
        for change in changes:
            if (
                change.at == moment
                and change.variable == MAX_PARALLEL
                and phase == "full"
                and change.old not in (None, change.new)
            ):
                steps.append([f"scaling: MAX_PARALLEL {change.old} → {change.new}", moment])
    cleanup = [r.as_of for r in verdicts.get("cleanup", []) if r.status == "PASS" and r.as_of]
    if cleanup:
        phases.append(["cleanup", cleanup[0]])
    rows = [
        PhaseRow(label, start, phases[k + 1][1] if k + 1 < len(phases) else None)
        for k, (label, start) in enumerate(phases)
        if start is not None
        and (k + 1 >= len(phases) or phases[k + 1][1] is None or start <= phases[k + 1][1])
    ]
    for label, start in steps:
        later = [s for _, s in phases if s and s > start] + [s for _, s in steps if s > start]
        rows.append(PhaseRow(label, start, min(later) if later else None))
    return sorted(rows, key=lambda row: (row.start, row.phase))


def render_markdown(root: Path, env: str, report_path: Path) -> str:
    """The whole report; links are relative to where the report is written."""
    ledgers = {
        e: read_ledger(layout.ledger_path(root, e)) for e in {env, *(e for _, e in gates_of(env))}
    }
    verdicts = {
        gate: [
            with_phase(run, ledgers[gate_env]) for run in recorded_verdicts(root, gate_env, gate)
        ]
        for gate, gate_env in gates_of(env)
    }
    verdicts = {gate: runs for gate, runs in verdicts.items() if runs}
    changes = ledgers[env]
    staging = read_ledger(layout.ledger_path(root, "staging"))
    preparation = next((c.at for c in staging if phase_at(staging, c.at) == "full"), None)
    base = report_path.parent

    def link(path: Path) -> str:
        return Path(os.path.relpath(path, base)).as_posix()

    parts = [f"# Verification: Assignment Pipeline V3 rollout, {env}"]
    simulated = sorted(
        {r.scenario or "?" for runs in verdicts.values() for r in runs if r.simulated}
    )
    if simulated:
        parts.append(
            f"> ⚠️ **SIMULATED DATA**: verdicts below come from simulated scenarios "
            f"({', '.join(simulated)}). This is not production evidence."
        )
    parts.append(standing_line(verdicts, changes, env))
    parts.append(
        "Written by `rollout-gates report` from the flag ledger and the recorded verdicts under "
        f"`{root}`. Figures are outcome-based (DESIGN.md, *Metrics*)."
    )
    parts.append("## Timeline\n\n" + timeline_table(timeline(changes, verdicts, preparation)))
    parts.append("## Checkpoints\n\n" + checkpoint_table(verdicts, env, link))
    parts.append("## Latest verdict of every gate\n\n" + latest_table(verdicts, env, link))
    parts.extend(checklist_sections(verdicts, env))
    parts.append("## What the data can and cannot show\n\n" + evidence_table(verdicts, env))
    figures = latest_figures(verdicts.get("full-extended", []))
    if figures:
        parts.append(
            "## Trends of the latest full-extended run\n\n"
            + "\n\n".join(f"![{f.stem}]({link(f)})" for f in figures)
        )
    parts.append("## History of every gate\n\n" + history_tables(verdicts, link))
    return "\n\n".join(parts) + "\n"


def evidence_table(verdicts: dict[str, list[GateResult]], env: str) -> str:
    """Each rate check of each gate's latest verdict: how many decided bookings it saw, its
    bounds, whether they certify it, and what more data would decide it (docs/statistics.md).

    At about one booking an hour a 48h window holds some 54 decided bookings: enough for a
    point estimate, rarely for certainty. The table says so in numbers, not adjectives.
    """
    rows = []
    for gate, gate_env in gates_of(env):
        runs = verdicts.get(gate, [])
        if not runs:
            continue
        latest = runs[-1]
        for check in latest.checks:
            seen = check.evidence
            if seen is None:
                continue
            bounds = f"{seen.low:.1%}-{seen.high:.1%}" if seen.decided else "–"
            rate = f"{seen.rate:.1%} ({seen.count}/{seen.decided})" if seen.decided else "none"
            if seen.certified:
                more = "certified"
            elif seen.bookings_to_decide:
                at = f", about {when(seen.decidable_at)} UTC" if seen.decidable_at else ""
                more = f"{seen.bookings_to_decide} more decided bookings{at}"
            else:
                more = "–"
            rows.append(
                f"| {gate} ({gate_env}) | {check.id} | {seen.window} | {rate} | {bounds} | "
                f"{ICONS.get(check.status, '')} {check.status} | {more} |"
            )
    if not rows:
        return "No rate check recorded yet."
    confidence = next(
        (c.evidence.confidence for runs in verdicts.values() for c in runs[-1].checks
         if c.evidence is not None),
        0.95,
    )  # fmt: skip
    header = [
        f"Rates are judged with exact {confidence:.0%} bounds that stay valid however often a "
        "gate is run (docs/statistics.md): a red flag FAILs only when the whole bound is "
        "beyond its limit, a criterion PASSes on its point estimate and is *certified* when "
        "its bound meets the limit too. The last column is what would settle a check that is "
        "not settled: more decided bookings at the current rate, and about when at the current "
        "volume.",
        "",
        "| gate | check | window | rate | bounds | status | to decide or certify |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + rows)


def gates_of(env: str) -> list[tuple[str, str]]:
    """(gate, env it runs on): production's report also shows staging's prerequisites."""
    return [
        (gate, gate_spec(gate).env)
        for gate in gate_ids()
        if gate_spec(gate).env == env or env == "production"
    ]


def timeline_table(rows: list[PhaseRow]) -> str:
    lines = ["| phase | start (UTC) | end (UTC) | duration |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.phase} | {when(row.start)} | {when(row.end)} | {duration(row.duration)} |"
        )
    if len(lines) == 2:
        lines.append("| (no flag ledger and no verdicts yet) | | | |")
    return "\n".join(lines)


def latest_table(verdicts: dict[str, list[GateResult]], env: str, link) -> str:
    lines = [
        "| gate | runbook step | status | as of (UTC) | success rate | manual review | "
        "errors | circuit opens | evidence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for gate, _ in gates_of(env):
        runs = verdicts.get(gate)
        if not runs:
            lines.append(f"| {gate} | {gate_spec(gate).runbook_step} | not run | | | | | | |")
            continue
        latest = runs[-1]
        figures = [figure(latest, check_id) for check_id in KEY_CHECKS]
        lines.append(
            f"| {gate} | {latest.runbook_step} | {status_cell(latest)} | "
            f"{when(latest.as_of)} | {' | '.join(figures)} | {evidence_links(latest, link)} |"
        )
    return "\n".join(lines)


def with_phase(run: GateResult, changes: list[FlagChange]) -> GateResult:
    """The run with its rollout phase: as recorded, else from the ledger at its as-of."""
    if run.phase is not None or run.as_of is None:
        return run
    clock = rollout_clock(changes, run.as_of)
    return run.model_copy(
        update={
            "phase": clock.phase,
            "phase_since": clock.started,
            "phase_source": clock.source,
            "in_phase": in_checkpoint_phase(run.gate, clock),
        }
    )


def decisive(runs: list[GateResult]) -> GateResult | None:
    """The run a checkpoint's decision rested on: the last one taken in the phase it checks."""
    in_phase = [run for run in runs if run.in_phase is not False and run.as_of is not None]
    return in_phase[-1] if in_phase else None


def status_cell(run: GateResult) -> str:
    label = f" · {run.out_of_phase}" if run.out_of_phase else ""
    return f"{ICONS[run.status]} {run.status}{label}"


def checkpoint_table(verdicts: dict[str, list[GateResult]], env: str, link) -> str:
    """Each checkpoint's decisive verdict (last run in its phase) beside its latest run."""
    lines = [
        "| checkpoint | phase it checks | decisive verdict (last run in its phase) | latest run |",
        "|---|---|---|---|",
    ]
    for gate, _ in gates_of(env):
        runs = verdicts.get(gate, [])
        decided = decisive(runs)

        def cell(run: GateResult | None) -> str:
            if run is None:
                return "none"
            links = evidence_links(run, link)
            return f"{status_cell(run)} as of {when(run.as_of)}" + (f" ({links})" if links else "")

        latest = runs[-1] if runs else None
        same = latest is not None and latest is decided
        lines.append(
            f"| {gate} | {CHECKPOINT_PHASE.get(gate, '–')} | {cell(decided)} | "
            f"{'same' if same else cell(latest)} |"
        )
    return "\n".join(lines)


CAN_PASS = re.compile(r"can pass at (\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? UTC)")


def decidable_from(run: GateResult | None) -> str:
    """ ", decidable from <time>" when a soak check of the run says when it can pass."""
    for check in run.checks if run else []:
        found = CAN_PASS.search(check.detail)
        if found:
            return f", decidable from {found[1]}"
    return ""


def standing_line(verdicts: dict[str, list[GateResult]], changes: list[FlagChange], env: str):
    """One line: the phase the rollout is in, checkpoints passed at their time, what is next."""
    moments = [r.as_of for runs in verdicts.values() for r in runs if r.as_of]
    moments += [c.at for c in changes]
    if not moments:
        return "**Where the rollout stands:** no flag ledger and no verdict yet; next: " + (
            "prerequisites (`rollout-gates run prerequisites --env staging`)."
        )
    now = max(moments)
    clock = rollout_clock(changes, now)
    if clock.phase is None:
        own = [r for gate, e in gates_of(env) if e == env for r in verdicts.get(gate, [])]
        latest = max(own, key=lambda r: r.as_of, default=None) if own else None
        if latest is not None and latest.phase:
            clock = PhaseClock(latest.phase, latest.phase_since, latest.phase_source)
    since = f" since {when(clock.started)} UTC" if clock.started else ""
    where = f"{clock.phase} mode{since}" if clock.phase else "phase unknown"
    rolled_back = last_rollback(changes, now) is not None
    applicable = [
        gate
        for gate, _ in gates_of(env)
        if (gate != "rollback" or rolled_back) and (gate != "scale" or gate in verdicts)
    ]
    decided = {gate: decisive(verdicts.get(gate, [])) for gate in applicable}
    passed = [g for g, run in decided.items() if run is not None and run.status == "PASS"]
    tally = f"{len(passed)} of {len(applicable)} checkpoints passed at their time"
    success = decided.get("success")
    if success is not None and success.status == "PASS":
        cleanup = decided.get("cleanup")
        ready = (
            f"the cleanup gate says ready as of {when(cleanup.as_of)} UTC"
            if cleanup is not None and cleanup.status == "PASS"
            else f"check readiness with `rollout-gates run cleanup --env {env}`"
        )
        nxt = (
            f"the rollout succeeded (success criteria met as of {when(success.as_of)} UTC); "
            f"next: the legacy cleanup ({ready})"
        )
        return f"**Where the rollout stands:** {where}; {tally}; {nxt}."
    current = [
        g for g in applicable if CHECKPOINT_PHASE.get(g) == clock.phase and gate_spec(g).env == env
    ] or applicable
    pending = [g for g in current if g not in passed and g != "scale"]
    if not pending:
        nxt = "every checkpoint of this phase passed"
    else:
        gate = pending[0]
        runs = verdicts.get(gate, [])
        step = gate_spec(gate).runbook_step.split(":")[0]
        nxt = f"{gate} ({step}){decidable_from(runs[-1] if runs else None)}"
    return f"**Where the rollout stands:** {where}; {tally}; next: {nxt}."


def figure(result: GateResult, check_id: str) -> str:
    check = next((c for c in result.checks if c.id == check_id), None)
    if check is None:
        return "–"
    if check.interval and isinstance(check.observed, float):
        low, high = check.interval
        return f"{check.observed:.1%} (n={check.sample_size}, {low:.1%}–{high:.1%})"
    return f"{format_value(check.observed)} ({check.status})"


def evidence_links(result: GateResult, link) -> str:
    if not result.run_dir:
        return ""
    run_dir = Path(result.run_dir)
    names = [
        (f"{result.gate}.ipynb", "notebook"),
        (f"{result.gate}.html", "HTML"),
        (layout.TABLES, "tables"),
    ]
    return " · ".join(
        f"[{label}]({link(run_dir / name)})" for name, label in names if (run_dir / name).exists()
    )


def checklist_sections(verdicts: dict[str, list[GateResult]], env: str) -> list[str]:
    """One section per gate that decides runbook items, ticked from its latest verdict.

    The items and their checks are the gate module's CHECKLIST; an item is ticked only
    when its checks passed on data (checklist.judge_item).
    """
    sections = []
    for gate, _ in gates_of(env):
        checklist = gate_checklist(gate)
        if checklist is None:
            continue
        runs = verdicts.get(gate, [])
        title = f"## Runbook, {checklist.section} (`{gate}`)"
        if not runs:
            lines = [f"The `{gate}` gate has not run yet: every item is still open.", ""]
            lines += [f"- [ ] {item.text} — not checked" for item in checklist.items]
        else:
            latest = runs[-1]
            lines = [
                f"From the latest `{gate}` verdict, as of {when(latest.as_of)} ({latest.status}):",
                "",
                checklist_markdown(checklist, latest.checks),
            ]
        sections.append(title + "\n\n" + "\n".join(lines))
    return sections


def latest_figures(runs: list[GateResult]) -> list[Path]:
    if not runs or not runs[-1].run_dir:
        return []
    return sorted(layout.figures_dir(Path(runs[-1].run_dir)).glob("*.png"))


def history_tables(verdicts: dict[str, list[GateResult]], link) -> str:
    sections = []
    for gate, runs in verdicts.items():
        lines = [
            f"### {gate}",
            "",
            "| as of (UTC) | status | failing or open checks | evidence |",
            "|---|---|---|---|",
        ]
        for run in runs:
            open_checks = ", ".join(c.id for c in run.checks if c.status not in ("PASS", "WARN"))
            detail = run.error or open_checks or "–"
            lines.append(
                f"| {when(run.as_of)} | {status_cell(run)} | {detail} | "
                f"{evidence_links(run, link)} |"
            )
        sections.append("\n".join(lines))
    return "\n\n".join(sections) or "No gate has run yet."


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def duration(span: timedelta | None) -> str:
    if span is None:
        return ""
    hours, minutes = divmod(int(span.total_seconds()) // 60, 60)
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m"


def write_report(root: Path, env: str, output: Path | None = None, fmt: str = "md") -> Path:
    """Write verification.md (or .html, self-contained) and return its path."""
    root = root.resolve()  # links are relative to real folders, not through `latest`
    path = output or layout.report_path(root, env, fmt)
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(root, env, path)
    text = markdown if fmt == "md" else to_html(markdown, path.parent, env)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def to_html(markdown: str, base: Path, env: str) -> str:
    """One self-contained page: the Markdown rendered, every local image inlined."""
    import mistune

    body = mistune.create_markdown(plugins=["table"], escape=False)(markdown)

    def inline(match: re.Match) -> str:
        source = base / match[1]
        if not source.exists():
            return match[0]
        data = base64.b64encode(source.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([^"]+\.png)"', inline, body)
    for status in Status:  # a word in its colour, for readers without an emoji font
        body = body.replace(f"{ICONS[status]} {status}", status_badge(status))
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>Verification: V3 rollout, {env}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;"
        "padding:0 1em}table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid "
        "#ccc;padding:.3em .5em}blockquote{background:#fff3cd;padding:.5em 1em;margin:0}"
        "img{max-width:100%}</style></head><body>\n" + body + "</body></html>\n"
    )
