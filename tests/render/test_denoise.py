"""Denoising and adaptive sampling through real Blender: closer to a many-sample reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from reskin.pipeline.build import build
from reskin.render.blender.client import BlenderWorker
from tests.render.series import sample_cast_series

SERIES = """\
name: denoise
resolution: [64, 112]
fps: 8
render: {engine: cycles, samples: 4}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: wave
    duration: 0.125
    cast: [{character: mira, clip: wave}]
    camera: {framing: medium}
"""


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """name -> (h, w, 3) float64 display image over grey, rendered from the built shot's plan."""
    tmp = tmp_path_factory.mktemp("denoise")
    root = sample_cast_series(tmp / "s", SERIES, EPISODE)
    build(root)
    (render,) = [p for p in (root / ".reskin" / "cache" / "render").iterdir()]
    plan = json.loads((render / "done.json").read_text())["plan"]
    assert plan["denoise"] and plan["passes"] == []  # auto at 4 samples; none reads passes
    settings = {"reference": dict(samples=256, denoise=False, noise_threshold=0.0),
                "noisy": dict(samples=4, denoise=False, noise_threshold=0.0),
                "denoised": dict(samples=4, denoise=True, noise_threshold=0.0),
                "adaptive": dict(samples=64, denoise=False, noise_threshold=0.05),
                "adaptive_off": dict(samples=64, denoise=False, noise_threshold=0.0)}
    out = {}
    with BlenderWorker(tmp / "w.log") as worker:
        for name, s in settings.items():
            worker.render_shot(plan | s | {"out_dir": str(tmp / name), "frames": [0]})
            rgba = np.asarray(Image.open(tmp / name / "beauty_0000.png"), np.float64) / 255
            out[name] = rgba[..., :3] * rgba[..., 3:] + 0.5 * (1 - rgba[..., 3:])
    return out


def error(img: np.ndarray, ref: np.ndarray) -> float:
    return float(np.sqrt(np.mean((img - ref) ** 2)))


def test_the_denoised_frame_is_closer_to_the_reference_than_the_noisy_one(frames):
    ref = frames["reference"]
    noisy, denoised = error(frames["noisy"], ref), error(frames["denoised"], ref)
    print(f"RMS error against 256 samples: noisy {noisy:.4f}, denoised {denoised:.4f}")
    assert denoised < 0.8 * noisy, (noisy, denoised)


def test_adaptive_sampling_stays_close_to_sampling_every_pixel_fully(frames):
    ref = frames["reference"]
    adaptive, full = error(frames["adaptive"], ref), error(frames["adaptive_off"], ref)
    print(f"RMS error against 256 samples: 64 adaptive {adaptive:.4f}, 64 everywhere {full:.4f}")
    assert adaptive < 1.5 * full + 0.005, (adaptive, full)
    assert adaptive < error(frames["noisy"], ref)
