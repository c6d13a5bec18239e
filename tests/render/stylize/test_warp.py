"""Exact-motion warping, occlusion masks, control images and the coherence loop (no torch)."""

from __future__ import annotations

import numpy as np

from reskin.render.stylize import FrameSet
from reskin.render.stylize.coherence import exact_backmap, stylize_sequence, warp_error
from reskin.render.stylize.controls import control_images
from reskin.render.stylize.synthetic import moving_shot
from reskin.render.stylize.toon import ToonStylizer
from reskin.render.stylize.warp import backward_map, sample, warp_image


def test_translation_warps_exactly_and_flags_the_revealed_strip():
    """A textured square sliding 3 px right: the warp reproduces the next frame exactly, and
    only the strip it uncovered (and its own new leading edge) fails the checks."""
    h, w, n = 24, 32, 2
    rng = np.random.default_rng(0)
    tex = rng.random((h, w, 3)).astype(np.float32)
    inst = np.zeros((n, h, w), np.int16)
    inst[0, 6:18, 4:16] = 1
    inst[1, 6:18, 7:19] = 1
    beauty = np.zeros((n, h, w, 3), np.float32)
    beauty[0][inst[0] == 1] = tex[6:18, 4:16].reshape(-1, 3)
    beauty[1][inst[1] == 1] = tex[6:18, 4:16].reshape(-1, 3)
    motion = np.zeros((n, h, w, 2), np.float32)
    motion[0][inst[0] == 1] = (3.0, 0.0)
    depth = np.where(inst > 0, 2.0, np.inf).astype(np.float32)
    frames = FrameSet(beauty=beauty, alpha=(inst > 0).astype(np.float32), depth=depth,
                      instance=inst, motion=motion)
    src, valid = backward_map(frames, 0)
    warped, ok = warp_image(beauty[0], src, valid, frames, 0)
    assert ok[inst[1] == 1].all()
    np.testing.assert_allclose(warped[ok], beauty[1][ok], atol=1e-6)
    # The background the square left is valid background (static); the 3 columns behind it
    # were covered in frame 0 and are not.
    assert not ok[6:18, 4:7].any()
    assert ok[0:6].all()


def test_synthetic_shot_warps_beauty_closely_and_masks_occlusions():
    frames = moving_shot(6, (48, 48))
    # Shading is view-fixed while texture spins, so beauty is not exactly motion-invariant.
    assert warp_error(frames.beauty, frames) < 3.0
    src, valid = backward_map(frames, 4)
    cast = frames.instance[5] > 0
    assert valid[cast].mean() > 0.85
    # Never take colour from another cast member: where an instance changes, it is masked.
    sx = np.clip(np.rint(src[..., 0]), 0, 47).astype(int)
    sy = np.clip(np.rint(src[..., 1]), 0, 47).astype(int)
    assert (frames.instance[4][sy, sx] == frames.instance[5])[valid].all()


def test_sample_keeps_colour_inside_its_instance():
    img = np.zeros((4, 4, 3), np.float32)
    img[:, 2:] = 1.0
    inst = np.zeros((4, 4), np.int16)
    inst[:, 2:] = 1
    xy = np.array([[[1.5, 1.0]]], np.float32)  # halfway across the border
    plain, _ = sample(img, xy)
    aware, ok = sample(img, xy, inst, np.array([[1]]))
    assert plain[0, 0, 0] == 0.5 and aware[0, 0, 0] == 1.0 and ok.all()


def test_controls_come_from_the_passes_and_degrade_without_them():
    frames = moving_shot(3, (32, 32))
    c = control_images(frames, ("depth", "normal", "lineart"))
    for img in c.values():
        assert img.shape == (3, 32, 32, 3) and img.dtype == np.float32
        assert 0 <= img.min() and img.max() <= 1
    cast = frames.instance > 0
    assert (c["depth"][~cast] == 0).all() and (c["depth"][cast] >= 0.1).all()
    # The small ball is nearer: brighter in the depth control.
    assert c["depth"][0][frames.instance[0] == 2].mean() > c["depth"][0][
        frames.instance[0] == 1].mean()
    assert c["lineart"][..., 0].sum() > 0
    bare = FrameSet(beauty=frames.beauty, alpha=frames.alpha)
    c2 = control_images(bare, ("depth", "normal", "lineart"))
    assert all(v.shape == (3, 32, 32, 3) for v in c2.values())


def test_coherence_loop_beats_per_frame_for_a_flickering_painter():
    """A painter that invents new noise every frame (like diffusion from screen-space noise)
    flickers per frame; carried forward by exact motion it barely does."""
    frames = moving_shot(6, (48, 48))
    toon = ToonStylizer()
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.15, (len(frames), 48, 48, 3)).astype(np.float32)

    def paint(t, known, keep):
        base = toon.stylize(FrameSet(beauty=frames.beauty[t:t + 1], alpha=frames.alpha[t:t + 1]))
        return np.clip(base[0] / 255.0 + noise[t], 0, 1)

    per_frame = stylize_sequence(len(frames), paint, None)
    coherent = stylize_sequence(len(frames), paint, exact_backmap(frames), frames.instance)
    e_pf, e_co = warp_error(per_frame, frames), warp_error(coherent, frames)
    assert e_co < 0.5 * e_pf, (e_co, e_pf)
    assert np.array_equal(per_frame[0], coherent[0])


def test_without_motion_the_loop_is_per_frame():
    frames = moving_shot(3, (32, 32))
    assert exact_backmap(FrameSet(beauty=frames.beauty, alpha=frames.alpha)) is None
