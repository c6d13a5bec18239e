from __future__ import annotations

import numpy as np

from reskin.render.stylize import FrameSet
from reskin.render.stylize.toon import ToonStylizer


def disc_frames(n=2, size=64):
    yy, xx = np.mgrid[:size, :size]
    alpha = (((yy - 32) ** 2 + (xx - 32) ** 2) < 20 ** 2).astype(np.float32)
    shade = np.clip(xx / size, 0, 1).astype(np.float32)  # a smooth gradient across the disc
    beauty = np.stack([shade * 0.9, shade * 0.3, shade * 0.2], -1)
    return FrameSet(beauty=np.repeat(beauty[None], n, 0), alpha=np.repeat(alpha[None], n, 0))


def test_background_shows_outside_the_cast_and_ink_on_the_silhouette():
    frames = disc_frames()
    # Line widths scale with the frame: 15 px at 640 px is 1.5 px on this 64 px frame.
    out = ToonStylizer(background=(1.0, 1.0, 1.0), levels=3, line_width=15.0).stylize(frames)
    bare = ToonStylizer(background=(1.0, 1.0, 1.0), levels=3, ink=0.0).stylize(frames)
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    assert (out[0, 2, 2] == 255).all()  # far from the disc: pure backdrop
    rim = out[0, 32, 10:15].astype(int)  # the disc's left edge at x = 12
    assert rim.min() < 60, rim  # dark ink line
    assert out[0, 32, 52:56].astype(int).min() < bare[0, 32, 52:56].astype(int).min() - 80


def test_cel_shading_quantises_a_gradient_into_bands():
    frames = disc_frames()
    out = ToonStylizer(levels=3, ink=0.0).stylize(frames)
    row = out[0, 32, 16:48, 0]
    assert len(np.unique(row)) <= 5  # a smooth 32-step gradient became a few bands
    assert len(np.unique((frames.beauty[0, 32, 16:48, 0] * 255).astype(int))) > 20


def test_deterministic_and_keyed():
    frames = disc_frames()
    a = ToonStylizer().stylize(frames)
    b = ToonStylizer().stylize(frames)
    assert np.array_equal(a, b)
    assert ToonStylizer(levels=3).key() != ToonStylizer(levels=4).key()


def test_ink_follows_depth_jumps_when_passes_exist():
    frames = disc_frames(n=1)
    depth = np.where(frames.alpha > 0, 3.0, np.inf).astype(np.float32)
    depth[:, :, 32:] = np.where(frames.alpha[:, :, 32:] > 0, 2.0, np.inf)  # a step inside
    with_depth = FrameSet(beauty=frames.beauty, alpha=frames.alpha, depth=depth,
                          instance=(frames.alpha > 0).astype(np.int16))
    out = ToonStylizer(background=(1.0, 1.0, 1.0), levels=8, line_width=10.0).stylize(with_depth)
    plain = ToonStylizer(background=(1.0, 1.0, 1.0), levels=8, line_width=10.0).stylize(frames)
    # an ink line appears along the depth step (x = 31/32), where colour alone shows nothing
    assert out[0, 25:40, 31, 0].mean() < plain[0, 25:40, 31, 0].mean() - 40
