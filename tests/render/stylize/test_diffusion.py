"""The diffusion stylizer on a tiny random-weight pipeline saved to disk, hub offline."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from reskin.core.errors import ReskinError  # noqa: E402
from reskin.render.stylize import FrameSet, make_stylizer  # noqa: E402
from reskin.render.stylize.coherence import warp_error  # noqa: E402
from reskin.render.stylize.diffusion import (  # noqa: E402
    ControlSpec,
    DiffusionSettings,
    DiffusionStylizer,
)
from reskin.render.stylize.synthetic import moving_shot  # noqa: E402
from reskin.scenes.series import load_series  # noqa: E402
from tests.render.stylize.tiny_pipeline import build_tiny_models  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield build_tiny_models(tmp_path_factory.mktemp("tiny"), controls=("depth", "lineart"))
    finally:
        if old is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old


@pytest.fixture(scope="module")
def shot():
    return moving_shot(4, (32, 32))


def settings(tiny, **kw) -> DiffusionSettings:
    model, nets = tiny
    base = DiffusionSettings(
        model=model, controlnets=(ControlSpec("depth", nets["depth"], 1.0),
                                  ControlSpec("lineart", nets["lineart"], 0.8)),
        prompt="ink and watercolour", negative_prompt="blurry", seed=7, strength=0.5,
        guidance=2.0, steps=4)
    return replace(base, **kw)


def test_deterministic_for_a_fixed_seed_and_seed_matters(tiny, shot):
    a = DiffusionStylizer(settings(tiny)).stylize(shot)
    b = DiffusionStylizer(settings(tiny)).stylize(shot)
    assert a.shape == (4, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    c = DiffusionStylizer(settings(tiny, seed=8)).stylize(shot)
    assert np.abs(a.astype(int) - c).mean() > 1.0


def test_controlnet_conditioning_changes_the_output(tiny, shot):
    with_cn = DiffusionStylizer(settings(tiny, coherence="none")).stylize(shot)
    none = DiffusionStylizer(settings(tiny, controlnets=(), coherence="none")).stylize(shot)
    zero = settings(tiny, coherence="none")
    zero = replace(zero, controlnets=tuple(replace(c, scale=0.0) for c in zero.controlnets))
    zero_scale = DiffusionStylizer(zero).stylize(shot)
    assert np.abs(with_cn.astype(int) - none).mean() > 2.0
    # Scale 0 is the same as no ControlNet: the difference really comes from the control.
    assert np.abs(zero_scale.astype(int) - none).max() <= 1


def test_exact_motion_coherence_reduces_warp_error(tiny):
    frames = moving_shot(5, (32, 32))
    per_frame = DiffusionStylizer(settings(tiny, coherence="none")).stylize(frames)
    coherent = DiffusionStylizer(settings(tiny)).stylize(frames)
    e_pf, e_co = warp_error(per_frame, frames), warp_error(coherent, frames)
    assert e_co < 0.5 * e_pf, (e_co, e_pf)
    # Without a motion pass it degrades to per-frame, it does not fail.
    bare = FrameSet(beauty=frames.beauty, alpha=frames.alpha)
    out = DiffusionStylizer(settings(tiny)).stylize(bare)
    assert np.array_equal(out, DiffusionStylizer(settings(tiny, coherence="none")).stylize(bare))


def test_key_tracks_weights_and_settings_not_paths(tiny, tmp_path):
    model, nets = tiny
    k = DiffusionStylizer(settings(tiny)).key()
    assert k == DiffusionStylizer(settings(tiny)).key()
    assert k != DiffusionStylizer(settings(tiny, strength=0.6)).key()
    assert k != DiffusionStylizer(settings(tiny, prompt="oil")).key()
    moved = shutil.copytree(model, tmp_path / "moved")
    assert DiffusionStylizer(settings(tiny, model=moved)).key()["model"] == k["model"]
    unet = moved / "unet" / "diffusion_pytorch_model.safetensors"
    unet.write_bytes(unet.read_bytes()[:-4] + b"\0\0\0\0")
    assert DiffusionStylizer(settings(tiny, model=moved)).key()["model"] != k["model"]


def test_series_style_loads_the_model_from_disk(tiny, tmp_path, shot):
    model, nets = tiny
    (tmp_path / "series.yaml").write_text(f"""
name: tiny
style:
  stylizer: diffusion
  model: {model}
  controlnets:
    - {{kind: depth, path: {nets['depth']}, scale: 1.0}}
  prompt: ink and watercolour
  seed: 7
  strength: 0.5
  guidance: 2.0
  steps: 4
""")
    style = load_series(tmp_path).style
    stylizer = make_stylizer(style)
    assert stylizer.name == "diffusion"
    out = stylizer.stylize(shot)
    assert out.shape == (4, 32, 32, 3)


def test_missing_or_incomplete_model_folder_is_one_clear_line(tiny, tmp_path, shot):
    model, _ = tiny
    st = DiffusionStylizer(settings(tiny, model=tmp_path / "absent"))
    with pytest.raises(ReskinError) as exc:
        st.stylize(shot)
    text = str(exc.value)
    assert "\n" not in text and str(tmp_path / "absent") in text and "does not exist" in text
    broken = shutil.copytree(model, tmp_path / "broken")
    shutil.rmtree(broken / "text_encoder")
    with pytest.raises(ReskinError, match=r"broken: text_encoder/ is missing$"):
        DiffusionStylizer(settings(tiny, model=broken)).key()
    (tmp_path / "series.yaml").write_text("name: x\nstyle:\n  stylizer: diffusion\n")
    with pytest.raises(ReskinError, match="style.model: required when stylizer is 'diffusion'"):
        load_series(tmp_path)
