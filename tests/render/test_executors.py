"""Local and Ray executors render the same pixels; Ray survives losing a worker mid-shot."""

from __future__ import annotations

import os
import shutil
import signal

import numpy as np
import pytest
from PIL import Image

from reskin.pipeline.build import build
from reskin.render.executors import LocalExecutor, RayExecutor
from tests.render.series import sample_cast_series

SERIES = """\
name: farm
resolution: [36, 64]
fps: 8
render: {engine: cycles, samples: 2}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: a
    duration: 0.5
    cast: [{character: mira, clip: wave}]
  - id: b
    duration: 0.5
    cast: [{character: mira, clip: nod}]
    camera: {framing: closeup}
"""


def frames(root) -> dict[str, np.ndarray]:
    out = {}
    for p in sorted((root / ".reskin" / "cache" / "render").glob("*/beauty_*.png")):
        out[f"{p.parent.name}/{p.name}"] = np.asarray(Image.open(p))
    return out


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    root = sample_cast_series(tmp_path_factory.mktemp("farm") / "s", SERIES, EPISODE)
    build(root, executor=LocalExecutor(root / "out" / "logs", jobs=2))
    return root, frames(root)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_two_local_workers_render_every_frame(local):
    _, rendered = local
    assert len(rendered) == 8  # 2 shots x 4 frames


def test_ray_renders_the_same_pixels_and_survives_a_killed_worker(local, ray_cluster, tmp_path):
    import psutil

    root, expected = local
    copy = tmp_path / "ray"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / ".reskin" / "cache" / "render")
    killed = []

    class KillOnce(RayExecutor):
        """Kill one Blender actor's process after the first chunk lands: a lost farm node."""

        def run(self, jobs, progress=None):
            def hook(name, n):
                if not killed:
                    for proc in psutil.process_iter(["cmdline"]):
                        if any("BlenderActor" in part for part in proc.info["cmdline"] or []):
                            os.kill(proc.pid, signal.SIGKILL)
                            killed.append(proc.pid)
                            break
                if progress:
                    progress(name, n)
            return super().run(jobs, progress=hook)

    build(copy, executor=KillOnce(copy / "out" / "logs", workers=2, chunk_frames=1))
    assert killed, "no Blender actor was found to kill"
    got = frames(copy)
    assert got.keys() == expected.keys()
    for name in expected:
        diff = np.abs(got[name].astype(int) - expected[name].astype(int))
        assert diff.max() <= 2, f"{name} differs by {diff.max()}"
