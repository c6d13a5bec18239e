"""LoRA files (tiny, made here) fused into the tiny diffusion model, and their errors."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("diffusers")

from reskin.core.errors import ReskinError  # noqa: E402
from reskin.render.stylize.diffusion import DiffusionSettings, DiffusionStylizer  # noqa: E402
from reskin.render.stylize.lora import LoraSpec  # noqa: E402
from reskin.render.stylize.synthetic import moving_shot  # noqa: E402
from tests.render.stylize.tiny_pipeline import build_tiny_models  # noqa: E402


def make_lora(model, out_dir, seed=0, scale=0.5):
    """A rank-2 LoRA on the tiny UNet's attention projections, written as diffusers does."""
    import torch
    from diffusers import UNet2DConditionModel
    from diffusers.loaders.lora_pipeline import StableDiffusionLoraLoaderMixin

    unet = UNet2DConditionModel.from_pretrained(model / "unet")
    g = torch.Generator().manual_seed(seed)
    layers = {}
    for name, m in unet.named_modules():
        if name.endswith(("attn1.to_q", "attn1.to_v", "attn2.to_v")):
            layers[f"{name}.lora_A.weight"] = torch.randn(2, m.in_features, generator=g)
            layers[f"{name}.lora_B.weight"] = torch.randn(m.out_features, 2, generator=g) * scale
    StableDiffusionLoraLoaderMixin.save_lora_weights(str(out_dir), unet_lora_layers=layers,
                                                     safe_serialization=True)
    return out_dir / "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    torch.set_num_threads(1)
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("lora")
    model, _ = build_tiny_models(root, controls=())
    return model, make_lora(model, root / "lora")


def settings(model, **kw):
    return replace(DiffusionSettings(model=model, prompt="ink", seed=3, strength=0.6,
                                     guidance=1.0, steps=4, coherence="none"), **kw)


def test_a_lora_file_changes_the_output_and_is_recorded(tiny):
    model, lora = tiny
    shot = moving_shot(2, (32, 32))
    plain = DiffusionStylizer(settings(model)).stylize(shot)
    spec = LoraSpec(lora, 1.0, character="mira")
    with_lora = DiffusionStylizer(settings(model, loras=(spec,)))
    out = with_lora.stylize(shot)
    assert np.abs(out.astype(int) - plain).mean() > 1.0
    # The key is what the build stores as the style asset: the file's hash, scale, character.
    key = with_lora.key()
    (rec,) = key["loras"]
    assert rec["character"] == "mira" and rec["scale"] == 1.0 and len(rec["file"]) == 64
    assert DiffusionStylizer(settings(model)).key()["loras"] == []
    # Scale 0 adds nothing: the change really comes from the LoRA's weights.
    zero = DiffusionStylizer(settings(model, loras=(replace(spec, scale=0.0),))).stylize(shot)
    assert np.abs(zero.astype(int) - plain).max() <= 1


def test_missing_lora_file_is_one_line_naming_the_path(tiny, tmp_path):
    model, _ = tiny
    missing = tmp_path / "loras" / "mira.safetensors"
    st = DiffusionStylizer(settings(model, loras=(LoraSpec(missing, where="styles/x.yaml:4"),)))
    with pytest.raises(ReskinError) as exc:
        st.key()
    text = exc.value.one_line()
    assert "\n" not in text and str(missing) in text and "does not exist" in text
    assert "styles/x.yaml:4" in text
