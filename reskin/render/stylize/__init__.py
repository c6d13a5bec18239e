"""Stylizers; pick one with :func:`make_stylizer` (heavy backends import on use)."""

from __future__ import annotations

from reskin.render.stylize.base import FrameSet, Stylizer
from reskin.scenes.series import StyleSettings

__all__ = ["FrameSet", "Stylizer", "make_stylizer"]


def _ip_adapter(ip):  # noqa: ANN001, ANN202
    if ip is None:
        return None
    from reskin.render.stylize.ip_adapter import IPAdapterSpec

    return IPAdapterSpec(ip.path, ip.weight_name, ip.subfolder, ip.image_encoder, ip.scale,
                         ip.references, ip.continuity, ip.where)


def make_stylizer(style: StyleSettings) -> Stylizer:
    from reskin.render.stylize.toon import PassThrough, ToonStylizer

    if style.stylizer == "diffusion":
        from reskin.render.stylize.diffusion import (
            ControlSpec,
            DiffusionSettings,
            DiffusionStylizer,
            LoraSpec,
        )

        return DiffusionStylizer(DiffusionSettings(
            model=style.model,
            controlnets=tuple(ControlSpec(c.kind, c.path, c.scale, c.where)
                              for c in style.controlnets),
            prompt=style.prompt, negative_prompt=style.negative_prompt, seed=style.seed,
            strength=style.strength, guidance=style.guidance, steps=style.steps,
            size=style.size, coherence=style.coherence, background=style.background,
            model_where=style.model_where, refresh=style.refresh,
            loras=tuple(LoraSpec(x.path, x.scale, x.character, x.where) for x in style.loras),
            ip_adapter=_ip_adapter(style.ip_adapter),
        ))
    if style.stylizer == "toon":
        return ToonStylizer(background=style.background, levels=style.levels, ink=style.ink,
                            grain=style.grain, coherence=style.coherence)
    return PassThrough(style.background)
