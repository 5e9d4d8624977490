"""Verdicts as Markdown: the banner at the top of an output notebook and in its last cell."""

from ..core.verdict import Check, GateResult, Status
from ..gates import CHECKPOINT_PHASE

ICONS = {
    Status.PASS: "✅",
    Status.WARN: "⚠️",
    Status.INCONCLUSIVE: "⏳",
    Status.ERROR: "🛑",
    Status.FAIL: "❌",
}
# Text colours readable on white: where no emoji font is installed the icons are empty
# boxes, so the status also shows as a coloured word.
COLOURS = {
    Status.PASS: "#1a7f37",
    Status.WARN: "#9a6700",
    Status.INCONCLUSIVE: "#57606a",
    Status.ERROR: "#bc4c00",
    Status.FAIL: "#cf222e",
}


def status_badge(status: Status) -> str:
    """The status as its icon and its word in its colour (inline HTML, kept by Markdown)."""
    style = f"color:{COLOURS[status]};font-weight:bold;white-space:nowrap"
    return f'<span style="{style}">{ICONS[status]} {status}</span>'


def format_value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:g}"
    return str(value)


def checks_markdown(checks: list[Check]) -> str:
    rows = ["| check | rule | status | observed | n | detail |", "|---|---|---|---|---|---|"]
    for check in checks:
        detail = check.detail.replace("|", "\\|")
        rows.append(
            f"| {check.id} | {check.rule} | {status_badge(check.status)} | "
            f"{format_value(check.observed)} | {format_value(check.sample_size)} | {detail} |"
        )
    return "\n".join(rows)


def verdict_markdown(result: GateResult) -> str:
    """Status first, then why, then what to do."""
    parts = [f"# {status_badge(result.status)}: {result.gate} on {result.env}"]
    if result.simulated:
        parts.append(
            f"> **Simulated data** (scenario `{result.scenario}`): this is not production evidence."
        )
    when = f"as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC" if result.as_of else "as-of unknown"
    parts.append(f"*{result.runbook_step}* · {when}")
    if result.out_of_phase:
        label = result.out_of_phase
        parts.append(
            f"> **{label[0].upper()}{label[1:]}**: this gate checks the "
            f"{CHECKPOINT_PHASE.get(result.gate, '?')} phase. Its status stands, but the "
            "checkpoint was decided by the last run of that phase."
        )
    if result.error:
        parts.append(f"**Error:** {result.error}")
    if result.checks:
        parts.append(checks_markdown(result.checks))
    checklist = runbook_checklist(result)
    if checklist:
        parts.append(checklist)
    if result.actions:
        parts.append("**What to do now:**\n\n```bash\n" + "\n".join(result.actions) + "\n```")
    return "\n\n".join(parts)


def runbook_checklist(result: GateResult, heading: str = "**Runbook, {section}:**") -> str:
    """The runbook items the gate decides, ticked from its checks; empty if it declares none."""
    from ..core.errors import UsageError
    from ..gates import gate_checklist
    from ..telemetry.checklist import checklist_markdown

    try:
        checklist = gate_checklist(result.gate)
    except UsageError:  # an unknown gate (an old verdict): no checklist to show
        return ""
    if checklist is None:
        return ""
    title = heading.format(section=checklist.section)
    return f"{title}\n\n{checklist_markdown(checklist, result.checks)}"
