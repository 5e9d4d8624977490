"""The runbook's flag matrix (params/flags.yaml) rendered as the commands of a phase."""

from . import paths
from .config import read_yaml
from .errors import UsageError


def load_flag_matrix() -> dict:
    return read_yaml(paths.params_dir() / "flags.yaml")


def plan_commands(phase: str, env: str) -> list[str]:
    """The runbook's shell lines for `phase`: `vercel env add` per variable, then deploy."""
    matrix = load_flag_matrix()
    phases = {p for values in matrix["variables"].values() for p in values}
    if phase not in phases:
        raise UsageError(f"unknown phase {phase!r}; known: {', '.join(sorted(phases))}")
    lines = []
    for variable, values in matrix["variables"].items():
        if phase in values:
            lines.append(matrix["set_command"].format(variable=variable, env=env))
            lines.append(f"# When prompted, enter: {values[phase]}")
    lines.append(matrix["deploy_command"])
    if phase in (matrix.get("verify") or {}):
        lines.append(f"# {matrix['verify'][phase]}")
    return lines
