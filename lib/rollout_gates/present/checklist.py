"""The runbook's checklist as Markdown, each item ticked only when rules.checklist says met."""

from ..core.verdict import Check
from ..rules.checklist import NO_DATA, NOT_CHECKED, ItemState, RunbookChecklist, judge_checklist


def item_line(state: ItemState) -> str:
    tick = "x" if state.met else " "
    if state.state == NOT_CHECKED and state.status is None:
        return f"- [ ] {state.item.text} — not checked"
    label = "no data" if state.state == NO_DATA else str(state.status)
    return f"- [{tick}] {state.item.text} — **{label}**: {state.why}"


def checklist_markdown(checklist: RunbookChecklist, checks: list[Check]) -> str:
    """The runbook's checklist as it wrote it, each item ticked only when judge_item says met."""
    return "\n".join(item_line(state) for state in judge_checklist(checklist, checks))
