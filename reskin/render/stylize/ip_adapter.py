"""IP-Adapter from local files: reference images steer the diffusion stylizer.

Plain IP-Adapter only (a CLIP image encoder and a linear image projection; commercially safe,
unlike the InsightFace-based FaceID variants, which this module does not load). The adapter's
weights are read by diffusers' own ``load_ip_adapter`` (``folder/subfolder/weight_name``, the
``h94/IP-Adapter`` layout), on a pipeline shell around the modules the stylizer already holds;
the image encoder (``CLIPVisionModelWithProjection``) is loaded here with
``local_files_only``. Nothing is downloaded: a missing folder, weight file or encoder is one
line naming the path.

References are :class:`Reference` images, each optionally tied to an instance id: then its
tokens only act inside that cast member's pixels (``ip_adapter_masks``, made from the
instance pass per frame), so two characters in one shot each get their own references.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reskin.core.errors import ReskinError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class IPAdapterSpec:
    folder: Path
    """Local folder holding the adapter (``subfolder/weight_name`` inside it)."""
    weight_name: str = "ip-adapter_sd15.safetensors"
    subfolder: str = "models"
    image_encoder: Path | None = None
    """Local CLIPVisionModelWithProjection folder; None: ``folder/subfolder/image_encoder``."""
    scale: float = 0.6
    """How strongly the reference images steer (0: not at all)."""
    references: Path | None = None
    """A local folder of reference images (applied to the whole frame); None with
    ``continuity``: the characters' continuity renders, given per shot."""
    continuity: bool = False
    """``references: continuity``: each character's reskin-made reference renders, masked to
    it by the instance pass."""
    where: str | None = field(default=None, compare=False)
    """file:line of ``ip_adapter`` in the style file (for errors)."""


@dataclass(frozen=True)
class Reference:
    """One reference image: (h, w, 3) uint8 RGB, its content digest, and the instance id it
    is masked to (None: the whole frame)."""

    digest: str
    image: np.ndarray = field(compare=False, repr=False)
    instance: int | None = None
    label: str = ""


def _fail(path: Path, what: str, spec: IPAdapterSpec, fld: str) -> ReskinError:
    return ReskinError(f"IP-Adapter {path}: {what} (nothing is downloaded)", file=spec.where,
                       field=f"style.ip_adapter.{fld}")


def weight_file(spec: IPAdapterSpec) -> Path:
    return Path(spec.folder) / spec.subfolder / spec.weight_name


def encoder_folder(spec: IPAdapterSpec) -> Path:
    if spec.image_encoder is not None:
        return Path(spec.image_encoder)
    return Path(spec.folder) / spec.subfolder / "image_encoder"


def check_ip_adapter(spec: IPAdapterSpec) -> None:
    """Raise the one-line error for a missing adapter folder, weight file or image encoder."""
    from reskin.render.stylize.model_folder import _has_weights

    folder = Path(spec.folder)
    if not folder.is_dir():
        raise _fail(folder, "folder does not exist", spec, "path")
    wf = weight_file(spec)
    if not wf.is_file():
        raise _fail(wf, "weight file does not exist", spec, "weight_name")
    if wf.suffix not in (".safetensors", ".bin"):
        raise _fail(wf, "not a .safetensors or .bin file", spec, "weight_name")
    enc = encoder_folder(spec)
    if not (enc / "config.json").is_file() or not _has_weights(enc):
        raise _fail(enc, "image encoder folder is missing or has no config.json and weights",
                    spec, "image_encoder")
    if spec.references is not None and not Path(spec.references).is_dir():
        raise _fail(Path(spec.references), "reference image folder does not exist", spec,
                    "references")


def check_plain(spec: IPAdapterSpec) -> None:
    """Refuse anything but a plain IP-Adapter (``image_proj.proj`` + ``to_k_ip/to_v_ip``):
    FaceID adapters need InsightFace embeddings, whose weights forbid commercial use."""
    wf = weight_file(spec)
    if wf.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(wf), framework="pt") as f:
            keys = list(f.keys())
    else:
        import torch

        state = torch.load(wf, map_location="cpu", weights_only=True)
        keys = [f"{group}.{k}" for group, sub in state.items() for k in sub]
    if "image_proj.proj.weight" not in keys or any("lora" in k for k in keys):
        raise _fail(wf, "not a plain IP-Adapter (image_proj.proj + ip_adapter.*.to_k_ip); "
                        "FaceID and other variants are not supported", spec, "weight_name")


def folder_references(folder: Path) -> tuple[Reference, ...]:
    """Every image in ``folder`` (sorted by name), unmasked."""
    from PIL import Image

    out = []
    for p in sorted(Path(folder).iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            data = p.read_bytes()
            with Image.open(p) as im:
                img = np.asarray(im.convert("RGB"))
            out.append(Reference(hashlib.sha256(data).hexdigest(), img, None, p.name))
    return tuple(out)


def adapter_key(spec: IPAdapterSpec, refs: tuple[Reference, ...]) -> dict:
    """What the style key records: adapter and encoder content hashes, scale, references."""
    from reskin.render.stylize.model_folder import _file_hash, folder_hash

    return {"weights": _file_hash(weight_file(spec)),
            "image_encoder": folder_hash(encoder_folder(spec)), "scale": spec.scale,
            "references": "continuity" if spec.continuity else "folder",
            "images": [{"digest": r.digest, "instance": r.instance} for r in refs]}


@dataclass
class LoadedAdapter:
    image_encoder: Any
    feature_extractor: Any
    embeds: dict[tuple[str, ...], Any] = field(default_factory=dict)


def load_ip_adapter(parts: dict[str, Any], spec: IPAdapterSpec, dtype: Any) -> LoadedAdapter:
    """Load the adapter into ``parts['unet']`` (attention processors + image projection) with
    diffusers' ``load_ip_adapter``; returns the image encoder and its preprocessor."""
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPVisionModelWithProjection

    check_ip_adapter(spec)
    check_plain(spec)
    encoder = CLIPVisionModelWithProjection.from_pretrained(
        encoder_folder(spec), local_files_only=True, dtype=dtype)
    # A shell around the modules already loaded: load_ip_adapter works on a pipeline.
    shell = StableDiffusionPipeline(
        vae=parts["vae"], text_encoder=parts["text_encoder"], tokenizer=parts["tokenizer"],
        unet=parts["unet"], scheduler=parts["scheduler"], safety_checker=None,
        feature_extractor=None, image_encoder=encoder, requires_safety_checker=False)
    try:
        shell.load_ip_adapter(str(spec.folder), subfolder=spec.subfolder,
                              weight_name=spec.weight_name, image_encoder_folder=None,
                              local_files_only=True, low_cpu_mem_usage=False)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise _fail(weight_file(spec), f"not a plain IP-Adapter for this model ({exc})"[:300],
                    spec, "weight_name") from None
    return LoadedAdapter(encoder.eval().requires_grad_(False), shell.feature_extractor)


def _set_scale(unet: Any, scale: float) -> None:
    for proc in unet.attn_processors.values():
        if hasattr(proc, "scale") and hasattr(proc, "to_k_ip"):
            proc.scale = [scale] * len(proc.scale)


def unet_kwargs(unet: Any, adapter: LoadedAdapter, spec: IPAdapterSpec,
                refs: tuple[Reference, ...], instance: np.ndarray | None,
                size: tuple[int, int], cfg: bool, device: str, dtype: Any) -> dict:
    """Extra UNet call arguments for one frame: image embeds (one adapter, n images;
    zeros for the unconditional half) and, for instance-tied references, one mask per image
    made from ``instance`` (ph, pw) int, the instance pass already at the diffusion ``size``."""
    import torch

    _set_scale(unet, spec.scale)
    key = (str(cfg), *(r.digest for r in refs))
    if key not in adapter.embeds:
        if refs:
            pix = adapter.feature_extractor([r.image for r in refs], return_tensors="pt")
            with torch.no_grad():
                emb = adapter.image_encoder(
                    pix.pixel_values.to(device, dtype)).image_embeds[None]  # (1, n, d)
        else:  # nothing to show: one blank image, masked off below
            dim = adapter.image_encoder.config.projection_dim
            emb = torch.zeros(1, 1, dim, device=device, dtype=dtype)
        adapter.embeds[key] = torch.cat([torch.zeros_like(emb), emb]) if cfg else emb
    out: dict = {"added_cond_kwargs": {"image_embeds": [adapter.embeds[key]]}}
    if not refs or any(r.instance is not None for r in refs):
        ph, pw = size
        inst = np.zeros((ph, pw), np.int64) if instance is None else instance
        masks = [np.ones((ph, pw), np.float32) if r.instance is None
                 else (inst == r.instance).astype(np.float32) for r in refs]
        masks = masks or [np.zeros((ph, pw), np.float32)]
        m = torch.from_numpy(np.stack(masks))[None].to(device, dtype)  # (1, n, ph, pw)
        out["cross_attention_kwargs"] = {"ip_adapter_masks": [m]}
    return out
