"""The worker's background finishing of frames: files in place, in order, errors reported."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from reskin.render.blender.finish import FrameFinisher, finish_frame
from reskin.render.exr import PASS_CHANNELS


def scratch_exr(path, h: int = 6, w: int = 4) -> dict[str, np.ndarray]:
    """A float EXR named as Blender names its passes (and the combined colour nobody reads)."""
    import OpenEXR

    rng = np.random.default_rng(0)
    names = [c for chans in PASS_CHANNELS.values() for c in chans] + ["ViewLayer.Combined.R"]
    channels = {n: rng.random((h, w), dtype=np.float32) for n in names}
    header = {"compression": OpenEXR.NO_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, dict(channels)) as f:
        f.write(str(path))
    return channels


def test_a_finished_frame_has_its_passes_beside_its_beauty_and_no_scratch(tmp_path):
    import OpenEXR

    src = scratch_exr(tmp_path / "scratch.exr")
    (tmp_path / ".b.tmp.png").write_bytes(b"png")
    finish_frame(str(tmp_path / ".b.tmp.png"), str(tmp_path / "b.png"),
                 scratch=str(tmp_path / "scratch.exr"), exr_tmp=str(tmp_path / ".p.tmp.exr"),
                 exr=str(tmp_path / "p.exr"), passes=("depth", "motion"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png", "p.exr"]
    with OpenEXR.File(str(tmp_path / "p.exr"), separate_channels=True) as f:
        got = {n: ch.pixels for part in f.parts for n, ch in part.channels.items()}
    assert set(got) == {*PASS_CHANNELS["depth"], *PASS_CHANNELS["motion"]}
    for n, px in got.items():
        assert px.dtype == np.float16
        assert np.array_equal(px, src[n].astype(np.float16))


def test_frames_finish_in_order_and_a_failed_one_raises():
    finisher = FrameFinisher()
    gate = threading.Event()
    order = []
    finisher.submit(0, lambda: (gate.wait(5), order.append(0)))
    finisher.submit(1, order.append, 1)
    assert finisher.finished() == []  # frame 0 is not done, so frame 1 is not reported
    gate.set()
    assert finisher.finished(block=True) == [0, 1]
    assert order == [0, 1]

    def fail() -> None:
        raise OSError("disk full")

    finisher.submit(2, fail)
    finisher.submit(3, order.append, 3)
    with pytest.raises(OSError, match="disk full"):
        finisher.finished(block=True)
    finisher.abandon()  # what the worker does after a failed request
    assert finisher.finished(block=True) == []
    assert order == [0, 1, 3]
