import shutil

import pytest

from rollout_gates.config.params import Attestations, load_params, parse_overrides
from rollout_gates.core import layout
from rollout_gates.core.errors import UsageError
from rollout_gates.core.timefmt import parse_duration
from rollout_gates.gates.full_health import FullHealthParams


def full_health(env="production", **overrides):
    return load_params(FullHealthParams, "full-health", env, overrides)


def test_defaults_load_with_typed_values():
    params = full_health()
    assert params.window.total_seconds() == 3600
    assert params.success_rate_min == 0.90
    assert params.statement_timeout.total_seconds() == 60


def test_set_overrides_the_default():
    assert full_health(success_rate_min="0.85").success_rate_min == 0.85
    assert full_health(window="2h").window.total_seconds() == 7200


def test_unknown_key_suggests_the_closest():
    with pytest.raises(UsageError, match="did you mean 'min_decided'"):
        full_health(min_decide="5")


def test_wrong_type_is_refused():
    with pytest.raises(UsageError, match="min_decided"):
        full_health(min_decided="ten")


@pytest.mark.parametrize("window", ["0h", "-1h", "soon"])
def test_zero_negative_or_unreadable_window_is_refused(window):
    with pytest.raises(UsageError, match="window"):
        full_health(window=window)


@pytest.mark.parametrize("rate", ["1.5", "-0.1"])
def test_threshold_outside_unit_interval_is_refused(rate):
    with pytest.raises(UsageError, match="success_rate_min"):
        full_health(success_rate_min=rate)


def test_unknown_environment_is_refused():
    with pytest.raises(UsageError, match="did you mean 'production'"):
        full_health(env="prod")


def test_malformed_yaml_names_file_and_line(tmp_path, monkeypatch):
    shutil.copytree(layout.params_dir(), tmp_path / "params")
    defaults = tmp_path / "params" / "defaults.yaml"
    defaults.write_text("common:\n  outcome_grace: 15m\n  bad: [unclosed\n")
    monkeypatch.setenv("ROLLOUT_PARAMS_DIR", str(tmp_path / "params"))
    with pytest.raises(UsageError, match=r"defaults\.yaml:3 \(key 'bad'\): expected ',' or ']'"):
        full_health()


def test_malformed_scenario_names_file_line_and_key(tmp_path):
    from rollout_gates.sim.simulate import load_scenario

    path = tmp_path / "broken.yaml"
    path.write_text("description: a story\nseed: [7\nproduction: {}\n")
    with pytest.raises(UsageError, match=rf"{path}:2 \(key 'seed'\)"):
        load_scenario(str(path))


def test_invalid_value_in_a_params_file_names_file_line_and_key(tmp_path, monkeypatch):
    shutil.copytree(layout.params_dir(), tmp_path / "params")
    defaults = tmp_path / "params" / "defaults.yaml"
    lines = defaults.read_text().splitlines()
    section = next(i for i, line in enumerate(lines) if line.startswith("  full-health:"))
    at = next(i for i in range(section, len(lines)) if lines[i].startswith("    window:"))
    lines[at] = "    window: soon"
    defaults.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("ROLLOUT_PARAMS_DIR", str(tmp_path / "params"))
    with pytest.raises(UsageError, match=rf"window: .* \(got 'soon' from {defaults}:{at + 1}\)"):
        full_health()


def test_set_needs_key_and_value():
    assert parse_overrides(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_overrides(["window"])


def test_durations_read_like_the_runbook():
    assert parse_duration("48h").total_seconds() == 48 * 3600
    assert parse_duration("7d").days == 7


class _Checklist(Attestations):
    oncall: str | None = None
    rollback_plan: str | None = None


class _AttestingParams(FullHealthParams):
    attest: _Checklist = _Checklist()


def test_attestations_are_set_with_dotted_keys():
    params = load_params(_AttestingParams, "full-health", "production", {"attest.oncall": "Ana"})
    assert params.attest.oncall == "Ana"
    assert params.attest.rollback_plan is None


def test_unknown_attestation_suggests_the_closest():
    with pytest.raises(UsageError, match="did you mean 'attest.oncall'"):
        load_params(_AttestingParams, "full-health", "production", {"attest.oncal": "Ana"})
