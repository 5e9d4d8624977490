"""The runbook's checklists: the items a gate decides, and when an item counts as met."""

from dataclasses import dataclass

from ..core.verdict import Check, Status, worst


@dataclass(frozen=True)
class RunbookItem:
    """One checklist item as the runbook wrote it, and the ids of the checks that decide it."""

    text: str
    checks: tuple[str, ...]


@dataclass(frozen=True)
class RunbookChecklist:
    """The runbook items a gate decides: declared once, in the gate's module, as CHECKLIST."""

    section: str  # the runbook's heading: "Success Criteria", "Pre-Flight Checklist", ...
    items: tuple[RunbookItem, ...]

    @classmethod
    def of(cls, section: str, items) -> "RunbookChecklist":
        return cls(
            section,
            tuple(
                RunbookItem(text, (ids,) if isinstance(ids, str) else tuple(ids))
                for text, ids in items
            ),
        )


MET, NOT_MET, NO_DATA, NOT_CHECKED = "met", "not met", "no data", "not checked"


@dataclass(frozen=True)
class ItemState:
    """An item judged from a verdict's checks: met only when every deciding check PASSed on data."""

    item: RunbookItem
    state: str  # MET, NOT_MET, NO_DATA or NOT_CHECKED
    status: Status | None  # the worst status of its checks; None when none was found
    why: str

    @property
    def met(self) -> bool:
        return self.state == MET


def judge_item(item: RunbookItem, checks: list[Check]) -> ItemState:
    """MET needs every deciding check present, PASS (or advisory WARN), and none without data.

    A FAIL is NOT_MET whatever else is missing; a check that saw nothing (`no_data`) makes
    the item NO_DATA, never met; a check missing from the verdict leaves it NOT_CHECKED.
    """
    by_id = {check.id: check for check in checks}
    found = [by_id[i] for i in item.checks if i in by_id]
    missing = [i for i in item.checks if i not in by_id]
    if not found:
        return ItemState(item, NOT_CHECKED, None, "not checked")
    status = worst(check.status for check in found)
    if len(found) == 1:
        why = found[0].detail.replace("\n", " ")
    else:
        why = "; ".join(
            f"{c.id} {'no data' if c.no_data else c.status}: {c.detail}".replace("\n", " ")
            for c in found
            if c.no_data or c.status not in (Status.PASS, Status.WARN)
        ) or "; ".join(f"{c.id} {c.status}" for c in found)
    if status is Status.FAIL:
        state = NOT_MET
    elif any(c.no_data for c in found):
        state = NO_DATA
    elif missing:
        return ItemState(item, NOT_CHECKED, status, f"not checked: {', '.join(missing)}")
    else:
        state = MET if status is Status.PASS else NOT_MET
    return ItemState(item, state, status, why)


def judge_checklist(checklist: RunbookChecklist, checks: list[Check]) -> list[ItemState]:
    return [judge_item(item, checks) for item in checklist.items]
