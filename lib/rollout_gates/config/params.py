"""Gate parameters from params/*.yaml, validated, with --set overrides applied last."""

import difflib
import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

from ..core import layout
from ..core.errors import UsageError
from ..core.timefmt import format_duration, parse_duration

ENVIRONMENTS = ("staging", "production")

Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]


class GateParams(BaseModel):
    """Parameters every gate shares (params/defaults.yaml, `common`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement_timeout: Duration
    outcome_grace: Duration
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)]
    red_flag_min_decided: Count
    error_bucket: Duration
    sustained_error_buckets: Annotated[int, Field(ge=1)]
    sustained_error_share: Rate
    circuit_open_max_per_hour: Count
    ledger_drain: Duration
    window: Duration
    min_decided: Count

    def digest(self) -> str:
        """A short hash of the effective parameters, recorded with each verdict."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# The parameters several gates share, each with the one meaning it has in all of them.


class SoakParams(GateParams):
    """A gate whose phase must have been on for `soak` before the as-of (rules/soak.py)."""

    soak: Duration


class SuccessRateParams(SoakParams):
    """... and whose success rate over the window must be at least `success_rate_min`, a
    criterion (rules/rates.py): the runbook's "48+ hours of stable operation with success
    rate >= 97%"."""

    success_rate_min: Rate


class SuccessCriteriaParams(SuccessRateParams):
    """... with the manual review rate over the window strictly below
    `manual_review_rate_max`, and no stretch of the window's buckets confidently below
    `red_flag_success_rate_min` (full-health's red flag): the runbook's success criteria, as
    `success` and the stability gates judge them."""

    manual_review_rate_max: Rate
    red_flag_success_rate_min: Rate


class Attestations(BaseModel):
    """Human items the data cannot show, given as `--set attest.NAME="who"`; each field a name."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def known_keys(model: type[BaseModel]) -> set[str]:
    """Parameter names, with `field.sub` for nested models such as attestations."""
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.update(f"{name}.{sub}" for sub in annotation.model_fields)
    return keys


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{'attest.oncall': 'Ana'} -> {'attest': {'oncall': 'Ana'}}."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        head, dot, tail = key.partition(".")
        if dot:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[key] = value
    return nested


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping; a syntax error names the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"malformed YAML in {yaml_error_place(path, text, exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a mapping of keys to values")
    return data


_KEY_AT_LINE_START = re.compile(r"^\s*(?:-\s+)?([^\s:#][^:#]*?)\s*:(?:\s|$)")


def yaml_error_place(path: Path, text: str, exc: yaml.YAMLError) -> str:
    """'file:line (key 'k'): problem', the key being the one whose value could not be read.

    The construct that failed (a list left open, say) starts at the context mark, where
    its key is; without one, the problem mark's line is the place.
    """
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    lines = text.splitlines()
    for mark in (getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)):
        if mark is None or mark.line >= len(lines):
            continue
        key = _KEY_AT_LINE_START.match(lines[mark.line])
        if key:
            return f"{path}:{mark.line + 1} (key {key[1]!r}): {problem}"
    mark = getattr(exc, "problem_mark", None)
    return f"{path}:{mark.line + 1}: {problem}" if mark else f"{path}: {problem}"


def key_line(path: Path, keys: tuple[str, ...]) -> int | None:
    """The line of a nested key in a YAML file that read_yaml has already parsed."""
    node = yaml.compose(path.read_text())
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        pairs = [(k, v) for k, v in node.value if k.value == key]
        if not pairs:
            return None
        line, node = pairs[0][0].start_mark.line + 1, pairs[0][1]
    return line


def load_taxonomy() -> dict:
    return read_yaml(layout.params_dir() / "taxonomy.yaml")


def check_env(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {env!r}{_suggest(env, ENVIRONMENTS)}")
    return env


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """['key=value', ...] from --set to a dict, refusing malformed pairs."""
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = value.strip()
    return overrides


def load_params(
    model: type[GateParams], gate: str, env: str, overrides: dict[str, Any] | None = None
) -> GateParams:
    """defaults.yaml, then the extra gates folder's params.yaml (if there is one), then
    params/<env>.yaml, then --set; validated by the gate's model."""
    check_env(env)
    defaults_path = layout.params_dir() / "defaults.yaml"
    env_path = layout.params_dir() / f"{env}.yaml"
    defaults = read_yaml(defaults_path)
    env_file = read_yaml(env_path).get("overrides") or {}
    layers = [
        (defaults_path, ("common",), defaults.get("common") or {}),
        (defaults_path, ("gates", gate), (defaults.get("gates") or {}).get(gate) or {}),
        *extra_gate_layers(gate),
        (env_path, ("overrides", "common"), env_file.get("common") or {}),
        (env_path, ("overrides", "gates", gate), (env_file.get("gates") or {}).get(gate) or {}),
    ]
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}  # where each value came from, for error messages
    known = known_keys(model)
    for source, section, layer in layers:
        for key in layer:
            if key not in known:
                raise UsageError(
                    f"{source}: unknown parameter {key!r} for gate {gate}{_suggest(key, known)}"
                )
            origin[key] = f"{source}:{key_line(source, (*section, key))}"
        merged.update(layer)
    for key in overrides or {}:
        if key not in known:
            raise UsageError(
                f"--set: unknown parameter {key!r} for gate {gate}{_suggest(key, known)}"
            )
    for key, value in nest(dict(overrides or {})).items():
        origin[key] = "--set"
        if isinstance(value, dict):
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(describe_invalid(err, origin) for err in exc.errors())
        raise UsageError(f"invalid parameters for gate {gate}: {problems}") from None


def extra_gate_layers(gate: str) -> list[tuple[Path, tuple[str, ...], dict]]:
    """The gate's section of the extra gates folder's params.yaml, shaped like defaults.yaml."""
    folder = layout.extra_gates_dir()
    path = folder / "params.yaml" if folder else None
    if path is None or not path.exists():
        return []
    return [(path, ("gates", gate), (read_yaml(path).get("gates") or {}).get(gate) or {})]


def describe_invalid(err: dict, origin: dict[str, str]) -> str:
    """'key: problem (got value from file:line)', the origin being a params file or --set."""
    loc = err["loc"]
    key = ".".join(str(part) for part in loc) or "params"
    where = f" from {origin[loc[0]]}" if loc and loc[0] in origin else ""
    return f"{key}: {err['msg']} (got {err.get('input')!r}{where})"


def _suggest(word: str, choices) -> str:
    prefixed = [c for c in sorted(choices) if c.startswith(word)]
    close = prefixed[:1] or difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(choices))}"
