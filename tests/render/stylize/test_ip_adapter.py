"""A tiny random-weight IP-Adapter (made here, loaded by diffusers' loader) steering the tiny
diffusion model with reference images; its errors and what the style key records."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("diffusers")

from reskin.core.errors import ReskinError  # noqa: E402
from reskin.render.stylize.diffusion import DiffusionSettings, DiffusionStylizer  # noqa: E402
from reskin.render.stylize.ip_adapter import IPAdapterSpec, Reference  # noqa: E402
from reskin.render.stylize.synthetic import moving_shot  # noqa: E402
from tests.render.stylize.tiny_pipeline import (  # noqa: E402
    build_tiny_ip_adapter,
    build_tiny_models,
)


def _image(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((24, 24, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    root = tmp_path_factory.mktemp("ipa")
    model, _ = build_tiny_models(root, controls=())
    adapter = build_tiny_ip_adapter(root / "ip-adapter", model)
    for name, seed in (("a", 1), ("b", 2)):
        (root / f"refs-{name}").mkdir()
        Image.fromarray(_image(seed)).save(root / f"refs-{name}" / "ref.png")
    yield model, adapter, root
    if old is None:
        os.environ.pop("HF_HUB_OFFLINE", None)
    else:
        os.environ["HF_HUB_OFFLINE"] = old


def settings(model, **kw):
    return replace(DiffusionSettings(model=model, prompt="ink", seed=3, strength=0.6,
                                     guidance=2.0, steps=4, coherence="none"), **kw)


def test_reference_images_change_the_output_and_are_recorded(tiny):
    model, adapter, root = tiny
    shot = moving_shot(2, (32, 32))
    plain = DiffusionStylizer(settings(model)).stylize(shot)
    spec = IPAdapterSpec(adapter, scale=1.0, references=root / "refs-a")
    st_a = DiffusionStylizer(settings(model, ip_adapter=spec))
    out_a = st_a.stylize(shot)
    out_b = DiffusionStylizer(settings(model, ip_adapter=replace(
        spec, references=root / "refs-b"))).stylize(shot)
    assert np.abs(out_a.astype(int) - plain).mean() > 1.0
    assert np.abs(out_a.astype(int) - out_b).mean() > 0.5  # which image matters
    # Scale 0: the adapter adds nothing, so the change comes from the references.
    zero = DiffusionStylizer(settings(model, ip_adapter=replace(spec, scale=0.0))).stylize(shot)
    assert np.abs(zero.astype(int) - plain).max() <= 1
    # The key (stored as the style asset) holds the file hash, scale and image digests...
    rec = st_a.key()["ip_adapter"]
    assert len(rec["weights"]) == 64 and len(rec["image_encoder"]) == 64
    assert rec["scale"] == 1.0 and rec["references"] == "folder"
    (img,) = rec["images"]
    assert len(img["digest"]) == 64 and img["instance"] is None
    # ...so the same style re-stylizes identically, and another reference is another key.
    again = DiffusionStylizer(settings(model, ip_adapter=spec))
    assert again.key() == st_a.key()
    assert np.array_equal(again.stylize(shot), out_a)
    other = DiffusionStylizer(settings(model, ip_adapter=replace(spec, references=root /
                                                                  "refs-b")))
    assert other.key()["ip_adapter"]["images"] != rec["images"]


def test_continuity_references_act_only_inside_their_character(tiny):
    model, adapter, _ = tiny
    shot = moving_shot(2, (32, 32))
    spec = IPAdapterSpec(adapter, scale=1.0, continuity=True)
    base = DiffusionStylizer(settings(model, ip_adapter=spec))
    none = base.stylize(shot)  # no references given: nothing steers
    plain = DiffusionStylizer(settings(model)).stylize(shot)
    assert np.abs(none.astype(int) - plain).max() <= 1
    ids = [int(i) for i in np.unique(shot.instance) if i > 0]
    first = ids[0]
    ref = Reference("d" * 64, _image(5), instance=first)
    masked = base.with_references((ref,))
    out = masked.stylize(shot)
    assert masked.key()["ip_adapter"]["images"] == [{"digest": "d" * 64, "instance": first}]
    assert masked.key()["ip_adapter"]["references"] == "continuity"
    diff = np.abs(out.astype(int) - plain).mean(-1)
    inside = shot.instance == first
    # The mask is applied inside the UNet (at latent resolution, then decoded), so a little
    # change bleeds over the edge; most of it lies on the character.
    assert diff[inside].mean() > 2.0 * diff[~inside].mean()


def test_missing_adapter_folder_weight_or_encoder_is_one_line_naming_the_path(tiny, tmp_path):
    model, adapter, _ = tiny
    cases = []
    missing = tmp_path / "nope"
    cases.append((IPAdapterSpec(missing, where="styles/x.yaml:7"), missing))
    cases.append((IPAdapterSpec(adapter, weight_name="other.safetensors"),
                  adapter / "models" / "other.safetensors"))
    enc = tmp_path / "encoder"
    cases.append((IPAdapterSpec(adapter, image_encoder=enc), enc))
    copy = tmp_path / "no-encoder"
    shutil.copytree(adapter, copy)
    shutil.rmtree(copy / "models" / "image_encoder")
    cases.append((IPAdapterSpec(copy), copy / "models" / "image_encoder"))
    for spec, path in cases:
        with pytest.raises(ReskinError) as exc:
            DiffusionStylizer(settings(model, ip_adapter=spec)).key()
        text = exc.value.one_line()
        assert "\n" not in text and str(path) in text, text
    with pytest.raises(ReskinError) as exc:
        DiffusionStylizer(settings(model, ip_adapter=cases[0][0])).key()
    assert "styles/x.yaml:7" in exc.value.one_line()


def test_style_yaml_names_the_adapter_and_its_references(tiny, tmp_path):
    from reskin.render.stylize import make_stylizer
    from reskin.scenes.series import load_series

    model, adapter, root = tiny
    (tmp_path / "series.yaml").write_text(f"""
name: tiny
style:
  stylizer: diffusion
  model: {model}
  steps: 2
  ip_adapter:
    path: {adapter}
    subfolder: models
    weight_name: ip-adapter_sd15.safetensors
    scale: 0.8
    references: {root / 'refs-a'}
""")
    stylizer = make_stylizer(load_series(tmp_path).style)
    rec = stylizer.key()["ip_adapter"]
    assert rec["scale"] == 0.8 and len(rec["images"]) == 1
    (tmp_path / "series.yaml").write_text(f"""
name: tiny
style:
  stylizer: diffusion
  model: {model}
  ip_adapter: {{path: {adapter}, references: continuity}}
""")
    style = load_series(tmp_path).style
    assert style.ip_adapter.continuity and style.ip_adapter.references is None
    (tmp_path / "series.yaml").write_text(f"""
name: tiny
style:
  stylizer: diffusion
  model: {model}
  ip_adapter: {{path: {adapter}}}
""")
    with pytest.raises(ReskinError, match="style.ip_adapter.references: required"):
        load_series(tmp_path)


def test_only_a_plain_ip_adapter_loads(tiny, tmp_path):
    """A FaceID-style file (no image_proj.proj, LoRA keys) is refused in one line."""
    import torch
    from safetensors.torch import save_file

    model, adapter, root = tiny
    copy = shutil.copytree(adapter, tmp_path / "faceid")
    save_file({"image_proj.norm.weight": torch.ones(32),
               "ip_adapter.1.to_k_lora.down.weight": torch.zeros(2, 32)},
              str(copy / "models" / "ip-adapter_sd15.safetensors"))
    st = DiffusionStylizer(settings(model, ip_adapter=IPAdapterSpec(copy, references=root /
                                                                     "refs-a")))
    with pytest.raises(ReskinError, match="not a plain IP-Adapter") as exc:
        st.stylize(moving_shot(1, (32, 32)))
    assert "\n" not in exc.value.one_line()
