"""`reskin stylize` on real renders, with the built-in and the diffusion stylizer (tiny model
saved to disk, hub offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.cli import main
from tests.pipeline.test_build import make_tiny


def stylize(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["stylize", "ep01", "-s", str(root), *args])
    return result.exit_code, result.output


def frames(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("frame_*.png"))])


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    pytest.importorskip("diffusers")
    import torch

    from tests.render.stylize.tiny_pipeline import build_tiny_models

    torch.set_num_threads(1)
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = make_tiny(tmp_path_factory.mktemp("stylize") / "s")
    model, nets = build_tiny_models(root / "models", controls=("depth",))
    styles = root / "styles"
    styles.mkdir()
    (styles / "soft.yaml").write_text("stylizer: toon\nlevels: 2\nink: 0.3\n")
    (styles / "paint.yaml").write_text(
        f"stylizer: diffusion\nmodel: {model.relative_to(root)}\n"
        f"controlnets: [{{kind: depth, path: {nets['depth'].relative_to(root)}, scale: 1.0}}]\n"
        "prompt: watercolour\nseed: 3\nstrength: 0.5\nsteps: 2\nsize: 64\nguidance: 1.5\n")
    (styles / "broken.yaml").write_text("stylizer: diffusion\nmodel: models/nowhere\n")
    code, out = stylize(root, "--shots", "s01-medium", "--json")
    assert code == 0, out
    return root


def test_named_style_publishes_beside_the_series_output(series):
    soft = series / "out" / "styles" / "soft" / "ep01" / "s01-medium"
    code, out = stylize(series, "--style", "soft", "--shots", "s01-medium", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["episodes"][0]["shots"][0]["folder"] == str(soft)
    default = frames(series / "out" / "ep01" / "s01-medium")
    assert frames(soft).shape == default.shape == (3, 96, 54, 3)
    assert np.abs(frames(soft).astype(int) - default).mean() > 1  # a different look


def test_diffusion_style_runs_from_disk_deterministically_and_caches(series):
    code, out = stylize(series, "--style", "paint", "--shots", "s01-medium", "--json")
    assert code == 0, out
    shot = json.loads(out)["episodes"][0]["shots"][0]
    first = frames(Path(shot["folder"]))
    assert first.shape == (3, 96, 54, 3) and first.std() > 1
    code, out = stylize(series, "--style", "paint", "--shots", "s01-medium", "--json")
    again = json.loads(out)["episodes"][0]["shots"][0]
    assert again["cached"] is True
    assert np.array_equal(frames(Path(again["folder"])), first)


def test_missing_model_folder_is_one_clear_line(series):
    code, out = stylize(series, "--style", "broken", "--shots", "s01-medium")
    assert code == 2
    (line,) = out.strip().splitlines()
    assert "models/nowhere" in line and "Traceback" not in out


def test_unknown_style_and_shot(series):
    code, out = stylize(series, "--style", "nope")
    assert code == 2 and "no style 'nope' (styles: broken, paint, soft)" in out
    code, out = stylize(series, "--shots", "s09")
    assert code == 2 and "no shot 's09'" in out
