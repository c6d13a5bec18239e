"""Shared fixtures: the sample data folder and small series built in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Stay on one core per process: the CI machine has two, and Blender runs beside pytest.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"sample data folder {SHARED_DATA} is not present on this machine")
    return SHARED_DATA

# Under CI=true a skip fails the run (see tests/strict_ci.py).
pytest_plugins = ["tests.strict_ci"]
