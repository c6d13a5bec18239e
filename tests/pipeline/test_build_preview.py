"""``reskin build --preview``: a draft of every shot by the preview renderer, cached apart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reskin.cli import main
from tests.pipeline.test_build import make_tiny


def reskin(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("draft") / "tiny")
    return root, json.loads(reskin("build", str(root), "--preview", "--json"))


def test_a_draft_renders_every_shot_into_its_own_cache(drafted):
    root, report = drafted
    shots = [s for e in report["episodes"] for s in e["shots"]]
    assert shots and not any(s["cached"] for s in shots)
    assert all(Path(s["video"]).exists() for s in shots)
    cache = root / ".reskin" / "cache"
    frames = sorted((cache / "preview").glob("*/beauty_*.png"))
    assert len(frames) == sum(s["frames"] for s in shots)
    assert not (cache / "render").exists()  # nothing passes for Blender's renders


def test_a_draft_is_cached_for_drafts_only(drafted, tmp_path):
    root, _ = drafted
    copy = tmp_path / "again"
    shutil.copytree(root, copy)
    dry = reskin("build", str(copy), "--preview", "--dry-run")
    assert dry.count("cached ") == 4 and "render " not in dry
    blender = reskin("build", str(copy), "--dry-run")  # Blender would render every shot
    assert blender.count("render ") == 4 and "cached " not in blender
    again = json.loads(reskin("build", str(copy), "--preview", "--json"))
    assert again["assets_made"] == []
    assert all(s["cached"] for e in again["episodes"] for s in e["shots"])


def test_editing_a_shot_redrafts_only_it(drafted, tmp_path):
    root, _ = drafted
    copy = tmp_path / "edit"
    shutil.copytree(root, copy)
    ep2 = copy / "episodes" / "ep02.yaml"
    ep2.write_text(ep2.read_text().replace("yaw: 20, lens: 55", "yaw: 40, lens: 55"))
    dry = reskin("build", str(copy), "--preview", "--dry-run")
    assert "render  ep02/s02-closeup" in dry and "changed: camera" in dry
    assert dry.count("cached ") == 3


def test_a_draft_is_drawn_here_only():
    result = CliRunner().invoke(main, ["build", ".", "--preview", "--jobs", "2"])
    assert result.exit_code != 0
    assert "--preview draws every shot here" in result.output
    assert len(result.output.strip().splitlines()) == 1
