"""The runbook's checklists: each item as the runbook wrote it, and the checks that decide it.

A gate declares its own as CHECKLIST (gates/base.py); judging the items is telemetry/checklist.py's.
"""

from dataclasses import dataclass


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
