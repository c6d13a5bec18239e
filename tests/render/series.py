"""Small series for render tests: the sample cast with a test's own settings and episode."""

from __future__ import annotations

import shutil
from pathlib import Path

from reskin.pipeline.series_init import create_demo


def sample_cast_series(root: Path, series_yaml: str, episode_yaml: str) -> Path:
    """The built-in sample's cast and wardrobes, with ``series_yaml`` and one episode (ep01)."""
    root = create_demo(root)
    (root / "series.yaml").write_text(series_yaml)
    shutil.rmtree(root / "episodes")
    (root / "episodes").mkdir()
    (root / "episodes" / "ep01.yaml").write_text(episode_yaml)
    return root
