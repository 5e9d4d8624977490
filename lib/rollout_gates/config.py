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

from . import paths
from .errors import UsageError

ENVIRONMENTS = ("staging", "production")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """'15m', '1h', '48h', '7d' (or a timedelta) to a positive timedelta."""
    if isinstance(value, timedelta):
        duration = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration like 30s, 15m, 1h or 7d")
        duration = timedelta(seconds=float(match[1]) * _UNIT_SECONDS[match[2]])
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
    red_flag_min_decided: Count
    error_bucket: Duration
    sustained_error_buckets: Annotated[int, Field(ge=1)]
    circuit_open_max_per_hour: Count
    ledger_drain: Duration
    window: Duration
    min_decided: Count

    def digest(self) -> str:
        """A short hash of the effective parameters, recorded with each verdict."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"malformed YAML in {where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a mapping of keys to values")
    return data


def load_taxonomy() -> dict:
    return read_yaml(paths.params_dir() / "taxonomy.yaml")


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
    """defaults.yaml, then params/<env>.yaml, then --set; validated by the gate's model."""
    check_env(env)
    defaults_path = paths.params_dir() / "defaults.yaml"
    env_path = paths.params_dir() / f"{env}.yaml"
    defaults = read_yaml(defaults_path)
    env_file = read_yaml(env_path).get("overrides") or {}
    layers = [
        (defaults_path, defaults.get("common") or {}),
        (defaults_path, (defaults.get("gates") or {}).get(gate) or {}),
        (env_path, env_file.get("common") or {}),
        (env_path, (env_file.get("gates") or {}).get(gate) or {}),
    ]
    merged: dict[str, Any] = {}
    known = known_keys(model)
    for source, layer in layers:
        for key in layer:
            if key not in known:
                raise UsageError(
                    f"{source}: unknown parameter {key!r} for gate {gate}{_suggest(key, known)}"
                )
        merged.update(layer)
    for key in overrides or {}:
        if key not in known:
            raise UsageError(
                f"--set: unknown parameter {key!r} for gate {gate}{_suggest(key, known)}"
            )
    for key, value in nest(dict(overrides or {})).items():
        if isinstance(value, dict):
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'params'}: {err['msg']}"
            f" (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise UsageError(f"invalid parameters for gate {gate}: {problems}") from None


def _suggest(word: str, choices) -> str:
    prefixed = [c for c in sorted(choices) if c.startswith(word)]
    close = prefixed[:1] or difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(choices))}"
