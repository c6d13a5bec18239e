"""Passes on demand: what each stylizer reads (checked against the stylizer itself) and the
render: settings that add passes, denoise and sample adaptively."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from reskin.core.errors import ReskinError
from reskin.render.stylize import make_stylizer
from reskin.render.stylize.synthetic import moving_shot
from reskin.scenes.passes import render_passes, stylizer_passes
from reskin.scenes.series import (
    PASS_NAMES,
    ControlNetSettings,
    RenderSettings,
    StyleSettings,
    load_series,
)


def series(tmp_path, render: str):
    (tmp_path / "series.yaml").write_text(f"name: s\nrender: {render}\n")
    return load_series(tmp_path)


def only(frames, passes):
    """``frames`` with every pass but ``passes`` removed (as a render without them)."""
    return dataclasses.replace(frames, **{p: None for p in PASS_NAMES if p not in passes})


@pytest.mark.parametrize("style", [
    StyleSettings(),
    StyleSettings(grain=0.6),
    StyleSettings(coherence="none", ink=0.5),
    StyleSettings(stylizer="none"),
], ids=["toon", "toon-grain", "toon-no-coherence", "none"])
def test_a_stylizer_given_only_its_passes_draws_the_same_frames(style):
    frames = moving_shot(frames=4, size=(48, 64))
    frames = dataclasses.replace(frames, uv=np.random.default_rng(0).random(
        (*frames.alpha.shape, 2)).astype(np.float32) * (frames.instance[..., None] > 0))
    stylizer = make_stylizer(style)
    full = stylizer.stylize(frames)
    assert np.array_equal(stylizer.stylize(only(frames, stylizer_passes(style))), full)


def test_the_toon_stylizer_without_grain_needs_no_uv_and_none_needs_nothing():
    assert stylizer_passes(StyleSettings()) == ("depth", "normal", "instance", "motion")
    assert "uv" in stylizer_passes(StyleSettings(grain=0.5))
    assert stylizer_passes(StyleSettings(stylizer="none")) == ()
    diffusion = StyleSettings(stylizer="diffusion", coherence="none", controlnets=(
        ControlNetSettings("lineart", Path("cn")),))
    assert stylizer_passes(diffusion) == ("depth", "normal", "instance", "uv")


def test_render_passes_add_what_the_series_asks_for_and_only_for_cycles():
    none = StyleSettings(stylizer="none")
    assert render_passes(RenderSettings(), none) == ()
    assert render_passes(RenderSettings(passes=("uv", "depth")), none) == ("depth", "uv")
    assert render_passes(RenderSettings(passes=("uv",)), StyleSettings()) == PASS_NAMES
    assert render_passes(RenderSettings(engine="workbench", passes=("uv",)), none) == ()


def test_render_settings_denoise_adaptive_sampling_and_passes_are_read(tmp_path):
    r = series(tmp_path, "{samples: 8}").render
    assert r.denoise is None and r.denoises() and r.noise_threshold == 0.01 and r.passes == ()
    assert not series(tmp_path, "{samples: 512}").render.denoises()  # auto: few samples only
    r = series(tmp_path, "{samples: 8, denoise: false, noise_threshold: 0, passes: [uv, depth]}"
               ).render
    assert not r.denoises() and r.noise_threshold == 0.0 and r.passes == ("depth", "uv")
    assert series(tmp_path, "{samples: 1024, denoise: true}").render.denoises()


@pytest.mark.parametrize("render, words", [
    ("{denoise: maybe}", ["render.denoise", "true, false or auto"]),
    ("{noise_threshold: 2}", ["render.noise_threshold", "0..1"]),
    ("{passes: [depth, albedo]}", ["render.passes", "'albedo'"]),
    ("{passes: depth}", ["render.passes", "list"]),
])
def test_bad_render_settings_are_one_line_errors(tmp_path, render, words):
    with pytest.raises(ReskinError) as err:
        series(tmp_path, render)
    msg = err.value.one_line()
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_the_series_reskin_init_writes_renders_1080x1920_at_3_samples_denoised(tmp_path):
    from reskin.pipeline.series_init import init_series

    s = load_series(init_series(tmp_path / "show"))
    assert (s.width, s.height) == (1080, 1920) and s.render.engine == "cycles"
    assert s.render.samples == 3 and s.render.denoises()  # bench/denoise.py --frame-1080
