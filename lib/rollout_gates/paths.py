"""Where the project's folders are: the package runs from a checkout (editable install)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def params_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_PARAMS_DIR", PROJECT_ROOT / "params"))


def notebooks_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_NOTEBOOKS_DIR", PROJECT_ROOT / "notebooks"))


def outputs_dir() -> Path:
    return Path(os.environ.get("ROLLOUT_OUTPUT_DIR", PROJECT_ROOT / "outputs"))
