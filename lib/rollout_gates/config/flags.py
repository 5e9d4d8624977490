"""The runbook's flag matrix (params/flags.yaml): the commands of a phase, and env files checked
against it with the application's own parsing (spec/telemetry.md, "Feature flags")."""

import re
from dataclasses import dataclass
from pathlib import Path

from ..core import layout
from ..core.errors import UsageError
from .ledger import MAX_PARALLEL, SHADOW, V3
from .params import read_yaml

BOOLEAN_FLAGS = (V3, SHADOW)
# The application reads MAX_PARALLEL as an integer 1-50 and clamps it to 20; unset, it uses 3
# (spec/telemetry.md, "Feature flags"). What it does with any other value is not documented.
MAX_PARALLEL_ACCEPTED = (1, 50)
MAX_PARALLEL_CLAMP = 20
DEFAULTS = {V3: "false", SHADOW: "false", MAX_PARALLEL: "3"}


def load_flag_matrix() -> dict:
    return read_yaml(layout.params_dir() / "flags.yaml")


def phases() -> list[str]:
    matrix = load_flag_matrix()
    return sorted({p for values in matrix["variables"].values() for p in values})


def expected_values(phase: str) -> dict[str, str]:
    """The runbook's value of each variable in `phase` (its Environment Variable Reference)."""
    if phase not in phases():
        raise UsageError(f"unknown phase {phase!r}; known: {', '.join(phases())}")
    matrix = load_flag_matrix()
    return {var: values[phase] for var, values in matrix["variables"].items() if phase in values}


def plan_commands(phase: str, env: str) -> list[str]:
    """The runbook's shell lines for `phase`: `vercel env add` per variable, then deploy."""
    matrix = load_flag_matrix()
    lines = set_lines(expected_values(phase), env)
    lines.append(matrix["deploy_command"])
    if phase in (matrix.get("verify") or {}):
        lines.append(f"# {matrix['verify'][phase]}")
    return lines


def plan_scale(current: int, target: int, env: str, cap: int) -> list[str]:
    """Phase 2 Step 5: one step up at a time, never past the cap (params: max_parallel_cap)."""
    if target > cap:
        raise UsageError(f"MAX_PARALLEL {target} is past the cap of {cap} (max_parallel_cap)")
    if target != current + 1:
        raise UsageError(
            f"MAX_PARALLEL goes up one step at a time: from {current} the next value is "
            f"{current + 1}, not {target}"
        )
    lines = set_lines({MAX_PARALLEL: str(target)}, env)
    lines.append(load_flag_matrix()["deploy_command"])
    lines.append(f"# Monitor for 6+ hours before the next increase (cap {cap})")
    return lines


def set_lines(values: dict[str, str], env: str) -> list[str]:
    command = load_flag_matrix()["set_command"]
    lines = []
    for variable, value in values.items():
        lines.append(command.format(variable=variable, env=env))
        lines.append(f"# When prompted, enter: {value}")
    return lines


def parse_max_parallel(raw: str) -> int | None:
    """The MAX_PARALLEL the application runs with for a set value: an integer 1-50, clamped
    to 20. None for any other value: invalid, so what the application runs with is unknown."""
    text = raw.strip()
    low, high = MAX_PARALLEL_ACCEPTED
    if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
        return None
    return min(int(text), MAX_PARALLEL_CLAMP)


def app_value(variable: str, raw: str | None) -> str | None:
    """What the application makes of a raw value: unset is its default, a boolean is exactly
    true (else false), MAX_PARALLEL is parse_max_parallel's (None: invalid, unknown)."""
    if raw is None:
        return DEFAULTS[variable]
    if variable in BOOLEAN_FLAGS:
        return raw if raw in ("true", "false") else DEFAULTS[variable]
    if variable == MAX_PARALLEL:
        value = parse_max_parallel(raw)
        return None if value is None else str(value)
    return raw


def describe_reading(value: str | None) -> str:
    """What the application makes of a value, in words (app_value's None is an invalid one)."""
    if value is None:
        low, high = MAX_PARALLEL_ACCEPTED
        return f"not an integer {low}-{high}: invalid, what the application runs with is unknown"
    return f"the application reads {value!r}"


def validate_setting(variable: str, value: str) -> str:
    """A value to record in the ledger must be one the application accepts as written."""
    if variable not in DEFAULTS:
        raise UsageError(f"unknown flag {variable!r}; known: {', '.join(DEFAULTS)}")
    reads = app_value(variable, value)
    if reads is None:
        raise UsageError(f"{variable}={value!r}: {describe_reading(reads)}")
    if reads != value:
        raise UsageError(f"{variable}={value!r}: the application would read {reads!r}")
    return value


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as `vercel env pull` writes them (quotes removed, comments skipped)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class Mismatch:
    variable: str
    expected: str
    found: str | None
    app_reads: str | None  # None: an invalid MAX_PARALLEL

    def describe(self) -> str:
        found = "missing" if self.found is None else repr(self.found)
        return (
            f"{self.variable}: expected {self.expected!r}, found {found} "
            f"({describe_reading(self.app_reads)})"
        )


def check_env_values(values: dict[str, str], phase: str) -> list[Mismatch]:
    """Each runbook variable of the phase whose value, as the application parses it, differs."""
    mismatches = []
    for variable, expected in expected_values(phase).items():
        found = values.get(variable)
        reads = app_value(variable, found)
        if reads != expected or found != expected:
            mismatches.append(Mismatch(variable, expected, found, reads))
    return mismatches


def effective_mode(values: dict[str, str]) -> str:
    """full when V3 is true (it wins over shadow), shadow, or legacy."""
    if app_value(V3, values.get(V3)) == "true":
        return "full"
    if app_value(SHADOW, values.get(SHADOW)) == "true":
        return "shadow"
    return "legacy"
