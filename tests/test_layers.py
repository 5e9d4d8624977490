"""Layers: what each package may import, checked in a fresh interpreter per module.

The rules stay pure (no database, no tables, no plots), so they are tested and reused without
either; the runner and the CLI load no telemetry, so a command starts fast and a run's process
holds no database session of its own; core is the bottom layer and imports nothing above it.
"""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import rollout_gates

PACKAGE_DIR = Path(rollout_gates.__file__).parent
HEAVY = ("sqlalchemy", "pandas", "matplotlib")


def modules_of(package: str) -> list[str]:
    return [
        f"rollout_gates.{package}.{info.name}"
        for info in pkgutil.iter_modules([str(PACKAGE_DIR / package)])
    ]


def loaded_after_import(module: str) -> list[str]:
    """Every module a fresh interpreter holds once it has imported `module`."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def within(name: str, prefixes) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def banned_loaded(module: str, banned) -> list[str]:
    """The banned libraries `module` loads, by top-level name, and our banned modules in full."""
    loaded = loaded_after_import(module)
    return sorted(
        {
            name if name.startswith("rollout_gates.") else name.partition(".")[0]
            for name in loaded
            if within(name, banned)
        }
    )


@pytest.mark.parametrize("module", modules_of("rules"))
def test_rules_import_no_database_tables_or_plots(module):
    assert banned_loaded(module, HEAVY) == []


@pytest.mark.parametrize("module", modules_of("run") + modules_of("cli"))
def test_runner_and_cli_import_no_telemetry(module):
    assert banned_loaded(module, (*HEAVY, "rollout_gates.telemetry")) == []


@pytest.mark.parametrize("module", modules_of("core"))
def test_core_imports_nothing_above_it(module):
    ours = [name for name in loaded_after_import(module) if within(name, ["rollout_gates"])]
    assert [name for name in ours if not within(name, ["rollout_gates.core"])] == ["rollout_gates"]


def test_every_layer_is_checked():
    """A package renamed or emptied would leave its tests above with nothing to check."""
    assert all(modules_of(package) for package in ("rules", "run", "cli", "core"))
