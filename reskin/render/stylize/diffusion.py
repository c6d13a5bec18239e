"""The diffusion stylizer: Stable Diffusion img2img + ControlNets on the render passes.

Models come from local diffusers-format folders named in the series' style (checked by
:mod:`reskin.render.stylize.model_folder`; nothing is downloaded). The denoising loop is
written out here rather than borrowed from a diffusers pipeline because coherence needs two
things the stock pipelines do not expose together: a masked latent blend at *every* step
(the warped previous frame is re-noised to the current step and kept where it is trusted) and
several ControlNets driven by control images made from exact passes.

Per frame: the init image is the warped previous output where it is trusted and the render
(over the backdrop) elsewhere; it is encoded, noised to ``strength`` and denoised with text and
ControlNet conditioning; after each step the trusted region is reset to the re-noised warp, so
diffusion only invents what is new. Runs on CUDA (float16) when present, else CPU (float32).
torch and diffusers are imported here only, on first use.
"""

from __future__ import annotations

import importlib
import inspect
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reskin.core.errors import MissingExtra, ReskinError
from reskin.render.stylize.base import FrameSet
from reskin.render.stylize.coherence import (
    BackMap,
    Painter,
    exact_backmap,
    stylize_sequence,
    to_uint8,
)
from reskin.render.stylize.controls import CONTROL_KINDS, control_images
from reskin.render.stylize.ip_adapter import IPAdapterSpec, Reference, adapter_key
from reskin.render.stylize.lora import LoraSpec, check_lora_file, fuse_loras
from reskin.render.stylize.model_folder import (
    PIPELINE_COMPONENTS,
    check_controlnet_folder,
    check_pipeline_folder,
    folder_hash,
)
from reskin.render.stylize.temporal import masked_blur
from reskin.render.stylize.warp import instance_of

DIFFUSION_VERSION = "3"  # 3: refresh follows the render's change; band-limited paint
COHERENCE_MODES = ("exact", "none")
CARRY_BAND_PX = 0.5
"""Gaussian sigma (output pixels) the painted frames are band-limited to (see painter)."""


@dataclass(frozen=True)
class ControlSpec:
    kind: str
    """Which pass-derived image drives it: depth, normal or lineart."""
    path: Path
    """Local diffusers ControlNet folder."""
    scale: float = 1.0
    """conditioning_scale: how strongly it steers."""
    where: str | None = field(default=None, compare=False)
    """file:line of its ``path`` in the style file (for errors)."""


@dataclass(frozen=True)
class DiffusionSettings:
    model: Path
    controlnets: tuple[ControlSpec, ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    strength: float = 0.5
    """How much of the render is re-imagined (0 keeps it, 1 ignores it)."""
    guidance: float = 7.5
    """Classifier-free guidance scale; <= 1 turns it off (one UNet pass per step)."""
    steps: int = 20
    """Scheduler steps for strength 1; int(steps * strength) actually run."""
    size: int = 768
    """Long side (px) to diffuse at; frames are never upscaled. Rounded to the model's grid."""
    coherence: str = "exact"
    """'exact': carry frames forward by the motion pass; 'none': every frame independent."""
    background: tuple[float, float, float] = (0.93, 0.89, 0.82)
    model_where: str | None = field(default=None, compare=False)
    """file:line of ``model`` in the style file (for errors)."""
    loras: tuple[LoraSpec, ...] = ()
    """LoRA files fused into the UNet / text encoder (per character or the series' look)."""
    refresh: int = 0
    """Every this many frames, kept pixels whose render changed since they were painted
    (lighting) take that change on; the others stay exactly as kept."""
    ip_adapter: IPAdapterSpec | None = None
    """A local IP-Adapter and its reference images (see :mod:`.ip_adapter`)."""


@dataclass
class _Loaded:
    """The modules of one pipeline folder plus its ControlNets, on one device."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    controlnets: list[Any]
    device: str
    dtype: Any
    embeds: dict[tuple[str, str], Any] = field(default_factory=dict)
    ip: Any = None
    """The loaded IP-Adapter's image encoder (:class:`.ip_adapter.LoadedAdapter`), or None."""

    @property
    def vae_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def grid(self) -> int:
        """Image sizes must be multiples of this (VAE downscale x UNet downsamplings)."""
        return self.vae_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)


_LOADED: dict[str, _Loaded] = {}


def _import_torch():
    try:
        import diffusers  # noqa: F401
        import torch
    except ImportError as exc:
        raise MissingExtra(exc.name or "torch", "ml") from None
    return torch


def _load_class(library: str, name: str):
    return getattr(importlib.import_module(library), name)


@contextmanager
def _quiet():
    """Silence loader chatter (progress bars, 'install accelerate') during a load only."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    levels = dlog.get_verbosity(), tlog.get_verbosity()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        dlog.set_verbosity(levels[0])
        tlog.set_verbosity(levels[1])
        tlog.enable_progress_bar()


def _device() -> str:
    torch = _import_torch()
    return "cuda" if torch.cuda.is_available() else "cpu"


class DiffusionStylizer:
    """img2img + ControlNet stylization with exact-motion coherence (see the module docstring)."""

    name = "diffusion"

    def __init__(self, settings: DiffusionSettings, device: str | None = None,
                 references: tuple[Reference, ...] | None = None):
        for spec in settings.controlnets:
            if spec.kind not in CONTROL_KINDS:
                raise ReskinError(f"unknown control kind {spec.kind!r} "
                                  f"(one of {', '.join(CONTROL_KINDS)})", field="style.controlnets")
        if settings.coherence not in COHERENCE_MODES:
            raise ReskinError(f"unknown coherence {settings.coherence!r}", field="style.coherence")
        self.settings = settings
        self._device = device
        self._key: dict | None = None
        self._refs = references

    def with_references(self, refs: tuple[Reference, ...]) -> DiffusionStylizer:
        """This stylizer with the IP-Adapter references of one shot (``references:
        continuity``: the characters' reference renders, tied to their instance ids)."""
        return DiffusionStylizer(self.settings, self._device, tuple(refs))

    def references(self) -> tuple[Reference, ...]:
        """The reference images the adapter sees (the style's folder, or those given)."""
        spec = self.settings.ip_adapter
        if self._refs is None:
            from reskin.render.stylize.ip_adapter import folder_references

            self._refs = folder_references(spec.references) if spec and spec.references \
                else ()
        return self._refs

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = _device()
        return self._device

    def check(self) -> None:
        """Raise the one-line error for a missing or incomplete model folder."""
        check_pipeline_folder(self.settings.model, where=self.settings.model_where)
        for i, spec in enumerate(self.settings.controlnets):
            check_controlnet_folder(spec.path, field=f"style.controlnets[{i}].path",
                                    where=spec.where)
        for i, lora in enumerate(self.settings.loras):
            check_lora_file(lora, i)
        if self.settings.ip_adapter is not None:
            from reskin.render.stylize.ip_adapter import check_ip_adapter

            check_ip_adapter(self.settings.ip_adapter)

    def key(self) -> dict:
        if self._key is None:
            self.check()
            s = self.settings
            self._key = {
                "name": self.name, "version": DIFFUSION_VERSION,
                # Content hashes, not paths: moving the folder keeps the cache, new weights don't.
                "model": folder_hash(s.model, PIPELINE_COMPONENTS),
                "controlnets": [{"kind": c.kind, "scale": c.scale, "weights": folder_hash(c.path)}
                                for c in s.controlnets],
                "prompt": s.prompt, "negative_prompt": s.negative_prompt, "seed": s.seed,
                "strength": s.strength, "guidance": s.guidance, "steps": s.steps,
                "size": s.size, "coherence": s.coherence, "background": s.background,
                "refresh": s.refresh,
                "loras": [{"file": folder_hash_file(x.path), "scale": x.scale,
                           "character": x.character} for x in s.loras],
                "ip_adapter": None if s.ip_adapter is None else adapter_key(
                    s.ip_adapter, self.references()),
                # float16 on CUDA and float32 on CPU give different pixels.
                "device": "cuda" if self.device.startswith("cuda") else "cpu",
            }
        return self._key

    # -- loading -------------------------------------------------------------------------

    def _load(self) -> _Loaded:
        from reskin.core.hashing import key_of

        k = self.key()
        ip = k["ip_adapter"]
        cache_key = key_of(k["model"], [c["weights"] for c in k["controlnets"]], k["device"],
                           k["loras"], ip and [ip["weights"], ip["image_encoder"]])
        if cache_key in _LOADED:
            return _LOADED[cache_key]
        torch = _import_torch()
        index = check_pipeline_folder(self.settings.model)
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        with _quiet():
            parts, nets = self._load_parts(index, dtype)
        if self.settings.loras:
            fuse_loras({"unet": parts["unet"], "text_encoder": parts["text_encoder"]},
                       self.settings.loras)
        adapter = None
        if self.settings.ip_adapter is not None:
            from reskin.render.stylize.ip_adapter import load_ip_adapter

            with _quiet():
                adapter = load_ip_adapter(parts, self.settings.ip_adapter, dtype)
            adapter.image_encoder.to(self.device)
        for m in [parts["unet"], parts["vae"], parts["text_encoder"], *nets]:
            m.to(self.device).eval().requires_grad_(False)
        loaded = _Loaded(controlnets=nets, device=self.device, dtype=dtype, ip=adapter, **parts)
        _LOADED.clear()  # one pipeline resident at a time: they are gigabytes
        _LOADED[cache_key] = loaded
        return loaded

    def _load_parts(self, index: dict, dtype: Any) -> tuple[dict[str, Any], list[Any]]:
        parts: dict[str, Any] = {}
        for name in PIPELINE_COMPONENTS:
            library, cls_name = index[name]
            cls = _load_class(library, cls_name)
            sub = self.settings.model / name
            if name in ("scheduler", "tokenizer"):
                parts[name] = cls.from_pretrained(sub, local_files_only=True)
            else:
                parts[name] = cls.from_pretrained(sub, local_files_only=True, torch_dtype=dtype)
        from diffusers import ControlNetModel

        nets = [ControlNetModel.from_pretrained(c.path, local_files_only=True, torch_dtype=dtype)
                for c in self.settings.controlnets]
        return parts, nets

    # -- stylizing -----------------------------------------------------------------------

    def stylize(self, frames: FrameSet) -> np.ndarray:
        backmap = exact_backmap(frames) if self.settings.coherence == "exact" else None
        return self.stylize_with(frames, backmap, instance_of(frames))

    def stylize_with(
        self, frames: FrameSet, backmap: BackMap | None, labels: np.ndarray | None = None
    ) -> np.ndarray:
        """(f, h, w, 3) uint8, carrying frames forward along ``backmap`` (None: per frame)."""
        refresh = self.settings.refresh if backmap is not None else 0
        # A refresh moves kept pixels by their render's change (lighting), see
        # stylize_sequence: re-diffusing them would re-invent what held still.
        return to_uint8(stylize_sequence(len(frames), self.painter(frames), backmap, labels,
                                         refresh=refresh, reference=_over_backdrop(
                                             frames, self.settings.background)))

    def painter(self, frames: FrameSet) -> Painter:
        """The per-frame diffusion step for :func:`stylize_sequence`."""
        pipe = self._load()
        base = _over_backdrop(frames, self.settings.background)
        controls = control_images(frames, tuple(c.kind for c in self.settings.controlnets))
        conds = [(controls[c.kind], c.scale) for c in self.settings.controlnets]

        inst = instance_of(frames)

        def paint(t: int, known: np.ndarray | None, keep: np.ndarray | None) -> np.ndarray:
            uv = None if frames.uv is None else (frames.uv[t], inst[t])
            out = self._paint(pipe, base[t], [(img[t], s) for img, s in conds], known, keep,
                               uv=uv, instance=inst[t])
            # Band-limit what is painted before it is carried: detail at the pixel scale
            # cannot follow sub-pixel motion through any resampling (it aliases and crawls).
            # Within each cast member, so no colour crosses a silhouette.
            return masked_blur(out, inst[t], CARRY_BAND_PX)

        return paint

    def _embeds(self, pipe: _Loaded):
        torch = _import_torch()
        s = self.settings
        k = (s.prompt, s.negative_prompt)
        if k not in pipe.embeds:
            texts = [s.negative_prompt, s.prompt] if s.guidance > 1 else [s.prompt]
            tok = pipe.tokenizer(texts, padding="max_length", truncation=True,
                                 max_length=pipe.tokenizer.model_max_length, return_tensors="pt")
            with torch.no_grad():
                pipe.embeds[k] = pipe.text_encoder(tok.input_ids.to(pipe.device))[0]
        return pipe.embeds[k]

    def _paint(
        self,
        pipe: _Loaded,
        image: np.ndarray,
        controls: list[tuple[np.ndarray, float]],
        known: np.ndarray | None,
        keep: np.ndarray | None,
        uv: tuple[np.ndarray, np.ndarray] | None = None,
        instance: np.ndarray | None = None,
    ) -> np.ndarray:
        """One frame: image (h, w, 3) 0..1, controls [(h, w, 3) 0..1, scale], known (h, w, 3)
        and keep (h, w) or None -> (h, w, 3) float32 0..1.

        ``uv`` (the frame's UV (h, w, 2) and instance (h, w) passes) anchors the noise to the
        surfaces."""
        torch = _import_torch()
        import torch.nn.functional as F

        s = self.settings
        h, w = image.shape[:2]
        scale = min(1.0, s.size / max(h, w))
        g = pipe.grid
        ph, pw = (max(g, int(round(v * scale / g)) * g) for v in (h, w))
        dev, dt = pipe.device, pipe.dtype

        def tensor(img: np.ndarray, size: tuple[int, int]):
            x = torch.from_numpy(np.ascontiguousarray(img, np.float32))
            x = x.permute(2, 0, 1)[None] if x.ndim == 3 else x[None, None]
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
            return x.to(dev, dt)

        def encode(img: np.ndarray):
            x = tensor(img, (ph, pw)) * 2 - 1
            # The distribution's mean, not a sample: the same image always encodes the same.
            return pipe.vae.encode(x).latent_dist.mean * pipe.vae.config.scaling_factor

        strength = s.strength
        init = image if known is None else keep[..., None] * known + (1 - keep[..., None]) * image
        cfg = s.guidance > 1
        gen = torch.Generator("cpu").manual_seed(s.seed)
        sched = pipe.scheduler
        with torch.no_grad():
            z_init = encode(init)
            # Noise is drawn on the CPU so a seed means the same noise on every device.
            noise = torch.randn(z_init.shape, generator=gen, dtype=torch.float32)
            if uv is not None:
                # The same surface point gets the same noise in every frame, so what diffusion
                # invents is glued to the skin, not to the screen (background keeps the seed).
                from reskin.render.stylize.grain import uv_noise

                lh, lw = z_init.shape[-2:]
                anchored = uv_noise(_nearest(uv[0], lh, lw), _nearest(uv[1], lh, lw),
                                    z_init.shape[1], s.seed, cells=2.0 * max(lh, lw))
                on = torch.from_numpy(_nearest(uv[1], lh, lw) > 0)[None, None]
                noise = torch.where(on, torch.from_numpy(anchored)[None], noise)
            noise = noise.to(dev, dt)
            sched.set_timesteps(s.steps, device=dev)
            run = min(max(int(s.steps * strength), 1), s.steps)
            start = (s.steps - run) * sched.order
            timesteps = sched.timesteps[start:]
            if hasattr(sched, "set_begin_index"):
                sched.set_begin_index(start)
            latents = sched.add_noise(z_init, noise, timesteps[:1])
            z_known = mask = None
            if known is not None:
                z_known = encode(known)
                mask = tensor(keep.astype(np.float32), z_init.shape[-2:])
            emb = self._embeds(pipe)
            conds = [(tensor(img, (ph, pw)), sc) for img, sc in controls]
            if cfg:
                conds = [(torch.cat([c, c]), sc) for c, sc in conds]
            extra = {}
            if pipe.ip is not None:  # reference images, masked by the instance pass (h, w)
                from reskin.render.stylize.ip_adapter import unet_kwargs

                extra = unet_kwargs(pipe.unet, pipe.ip, s.ip_adapter, self.references(),
                                    None if instance is None else _nearest(instance, ph, pw),
                                    (ph, pw), cfg, dev, dt)
            step_kwargs = {}
            if "generator" in inspect.signature(sched.step).parameters:
                step_kwargs["generator"] = gen
            for i, t in enumerate(timesteps):
                x = torch.cat([latents, latents]) if cfg else latents
                x = sched.scale_model_input(x, t)
                down = mid = None
                for net, (cond, sc) in zip(pipe.controlnets, conds, strict=True):
                    d, m = net(x, t, encoder_hidden_states=emb, controlnet_cond=cond,
                               conditioning_scale=sc, return_dict=False)
                    down = d if down is None else [a + b for a, b in zip(down, d, strict=True)]
                    mid = m if mid is None else mid + m
                eps = pipe.unet(x, t, encoder_hidden_states=emb,
                                down_block_additional_residuals=down,
                                mid_block_additional_residual=mid, **extra).sample
                if cfg:
                    uncond, cond = eps.chunk(2)
                    eps = uncond + s.guidance * (cond - uncond)
                latents = sched.step(eps, t, latents, **step_kwargs).prev_sample
                if z_known is not None:
                    # Blended latent diffusion: the trusted region follows the warped frame,
                    # noised to where the next step expects to be.
                    ref = (sched.add_noise(z_known, noise, timesteps[i + 1:i + 2])
                           if i + 1 < len(timesteps) else z_known)
                    latents = mask * ref + (1 - mask) * latents
            out = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
            out = F.interpolate(((out + 1) / 2).float().cpu(), size=(h, w), mode="bilinear",
                                align_corners=False)
        return out[0].permute(1, 2, 0).clamp(0, 1).numpy().astype(np.float32)


def _over_backdrop(frames: FrameSet, background: tuple[float, float, float]) -> np.ndarray:
    """(f, h, w, 3) float32: the render over the style's backdrop, what each frame is painted
    from."""
    a = frames.alpha[..., None]
    return (frames.beauty * a + np.asarray(background, np.float32) * (1 - a)).astype(np.float32)


def _nearest(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """``img`` (H, W, ...) resampled to (h, w, ...) by nearest pixel centres (labels, UVs)."""
    ys = np.minimum(((np.arange(h) + 0.5) * img.shape[0] / h).astype(np.int64), img.shape[0] - 1)
    xs = np.minimum(((np.arange(w) + 0.5) * img.shape[1] / w).astype(np.int64), img.shape[1] - 1)
    return img[ys][:, xs]


def folder_hash_file(path: Path) -> str:
    """Content hash of one weights file (a LoRA), remembered per process."""
    from reskin.render.stylize.model_folder import _file_hash

    return _file_hash(Path(path))
