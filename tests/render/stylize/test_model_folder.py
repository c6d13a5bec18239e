"""Model folder checks: one clear line naming the path and what is missing (no torch needed)."""

from __future__ import annotations

import json

import pytest

from reskin.core.errors import ReskinError
from reskin.render.stylize.model_folder import (
    check_controlnet_folder,
    check_pipeline_folder,
    folder_hash,
)


def fake_pipeline(root):
    index = {"_class_name": "StableDiffusionImg2ImgPipeline",
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
             "text_encoder": ["transformers", "CLIPTextModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"],
             "scheduler": ["diffusers", "DDIMScheduler"]}
    root.mkdir()
    (root / "model_index.json").write_text(json.dumps(index))
    for name in ("unet", "vae", "text_encoder"):
        (root / name).mkdir()
        (root / name / "config.json").write_text("{}")
        (root / name / "diffusion_pytorch_model.safetensors").write_bytes(name.encode())
    (root / "tokenizer").mkdir()
    (root / "tokenizer" / "vocab.json").write_text("{}")
    (root / "scheduler").mkdir()
    (root / "scheduler" / "scheduler_config.json").write_text("{}")
    return root


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(ReskinError) as exc:
        check_pipeline_folder(tmp_path / "nope")
    text = one_line(exc)
    assert str(tmp_path / "nope") in text and "does not exist" in text
    assert text.startswith("style.model: ")


def test_incomplete_folder_says_what_is_missing(tmp_path):
    root = fake_pipeline(tmp_path / "m")
    check_pipeline_folder(root)
    (root / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(ReskinError) as exc:
        check_pipeline_folder(root)
    assert "unet/ has no weights" in one_line(exc)
    (root / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"w")
    (root / "vae" / "config.json").unlink()
    with pytest.raises(ReskinError, match=r"vae/config.json is missing"):
        check_pipeline_folder(root)
    (root / "model_index.json").unlink()
    with pytest.raises(ReskinError, match="model_index.json is missing"):
        check_pipeline_folder(root)


def test_controlnet_folder(tmp_path):
    with pytest.raises(ReskinError, match="does not exist"):
        check_controlnet_folder(tmp_path / "cn")
    (tmp_path / "cn").mkdir()
    (tmp_path / "cn" / "config.json").write_text("{}")
    with pytest.raises(ReskinError, match="has no weights"):
        check_controlnet_folder(tmp_path / "cn")


def test_hash_follows_content_not_location(tmp_path):
    a = fake_pipeline(tmp_path / "a")
    b = fake_pipeline(tmp_path / "b")
    assert folder_hash(a) == folder_hash(b)
    (b / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"retrained")
    assert folder_hash(a) != folder_hash(b)


def test_a_missing_folder_named_in_series_yaml_names_its_line(tmp_path):
    from reskin.render.stylize import make_stylizer
    from reskin.scenes.series import load_series

    (tmp_path / "series.yaml").write_text(
        "name: x\nstyle:\n  stylizer: diffusion\n  model: models/sd15\n"
        "  controlnets:\n    - {kind: depth, path: models/depth}\n")
    stylizer = make_stylizer(load_series(tmp_path).style)
    with pytest.raises(ReskinError) as exc:
        stylizer.check()
    assert one_line(exc) == (
        f"{tmp_path / 'series.yaml'}:4: style.model: model folder {tmp_path / 'models/sd15'}: "
        "does not exist (expected a local diffusers-format folder; nothing is downloaded)")
    (tmp_path / "models").mkdir()
    fake_pipeline(tmp_path / "models" / "sd15")
    with pytest.raises(ReskinError) as exc:
        stylizer.check()
    assert one_line(exc).startswith(f"{tmp_path / 'series.yaml'}:6: style.controlnets[0].path: "
                                    f"model folder {tmp_path / 'models/depth'}: does not exist")
