"""LoRA weights from local files, per character or for a series' look, fused into a model.

The file is read by diffusers' own LoRA reader (``StableDiffusionLoraLoaderMixin.
lora_state_dict``: diffusers/PEFT and kohya/A1111 layouts) and each low-rank update
``W += scale * alpha / rank * B @ A`` is added to the UNet's and text encoder's weights.
Fusing here rather than through ``pipeline.load_lora_weights`` keeps the stylizer's own
denoising loop (see :mod:`reskin.render.stylize.diffusion`) and needs no PEFT backend; the
result is the same as diffusers' ``load_lora_weights`` followed by ``fuse_lora``.
Nothing is downloaded: a missing file is one line naming the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reskin.core.errors import ReskinError


@dataclass(frozen=True)
class LoraSpec:
    path: Path
    """A local LoRA file (.safetensors)."""
    scale: float = 1.0
    character: str | None = None
    """The character it is for; None: the series' look."""
    where: str | None = field(default=None, compare=False)
    """file:line of ``path`` in the style file (for errors)."""


def check_lora_file(spec: LoraSpec, index: int = 0) -> None:
    """Raise the one-line error for a missing or unreadable LoRA file."""
    path = Path(spec.path)
    fld = f"style.loras[{index}].path"
    if not path.is_file():
        raise ReskinError(f"LoRA file {path}: does not exist (expected a local .safetensors "
                          "file; nothing is downloaded)", file=spec.where, field=fld)
    if path.suffix not in (".safetensors", ".bin"):
        raise ReskinError(f"LoRA file {path}: not a .safetensors file", file=spec.where,
                          field=fld)


def _updates(spec: LoraSpec) -> dict[str, tuple[Any, Any, float]]:
    """{'unet.<module>' or 'text_encoder.<module>': (A (r, in), B (out, r), factor)}."""
    from diffusers.loaders.lora_pipeline import StableDiffusionLoraLoaderMixin

    path = Path(spec.path)
    state, alphas = StableDiffusionLoraLoaderMixin.lora_state_dict(
        str(path.parent), weight_name=path.name, local_files_only=True)
    alphas = alphas or {}
    out = {}
    for key, a in state.items():
        for down, up in ((".lora_A.weight", ".lora_B.weight"),
                         (".lora.down.weight", ".lora.up.weight"),
                         (".lora_linear_layer.down.weight", ".lora_linear_layer.up.weight")):
            if key.endswith(down):
                module = key[: -len(down)]
                b = state[module + up]
                rank = a.shape[0]
                alpha = alphas.get(module + ".alpha", state.get(module + ".alpha"))
                alpha = float(alpha) if alpha is not None else float(rank)
                out[module] = (a, b, spec.scale * alpha / rank)
    if not out:
        raise ReskinError(f"LoRA file {path}: holds no LoRA weights", file=spec.where,
                          field="style.loras")
    return out


def fuse_loras(models: dict[str, Any], specs: tuple[LoraSpec, ...]) -> int:
    """Add each LoRA's updates to ``models`` ({'unet': ..., 'text_encoder': ...}) in place.

    Returns how many weight matrices changed; a LoRA naming a module the model lacks is a
    one-line error (it was trained for another base model)."""
    import torch

    changed = 0
    for i, spec in enumerate(specs):
        check_lora_file(spec, i)
        for name, (a, b, factor) in _updates(spec).items():
            prefix, _, module = name.partition(".")
            model = models.get(prefix)
            try:
                layer = model.get_submodule(module) if model is not None else None
            except AttributeError:
                layer = None
            if layer is None or not hasattr(layer, "weight"):
                raise ReskinError(f"LoRA file {spec.path}: names {name!r}, which the model "
                                  "does not have (trained for another base model?)",
                                  file=spec.where, field=f"style.loras[{i}].path")
            w = layer.weight
            with torch.no_grad():
                delta = b.to(torch.float32).flatten(1) @ a.to(torch.float32).flatten(1)
                w += (factor * delta).reshape(w.shape).to(w.dtype)
            changed += 1
    return changed
