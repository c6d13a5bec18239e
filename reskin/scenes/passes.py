"""Which render passes a series needs: those its stylizer reads, plus those the user asks for.

Every pass costs render time and cache bytes (at 1080x1920 a float pass is 4-16 MB a frame
before compression), so the renderer writes only these. The stylizers' needs are listed here,
beside the settings that change them, because the render plan (this layer) is compiled before
any stylizer exists; tests/scenes/test_passes.py checks each list against the stylizer itself
(its output with only these passes equals its output with all of them).
"""

from __future__ import annotations

from reskin.scenes.series import PASS_NAMES, RenderSettings, StyleSettings

CONTROL_PASSES = {"depth": ("depth",), "normal": ("normal",),
                  "lineart": ("depth", "normal", "instance")}
"""What each ControlNet's control image is drawn from (reskin.render.stylize.controls)."""


def stylizer_passes(style: StyleSettings) -> tuple[str, ...]:
    """The passes ``style``'s stylizer reads, in :data:`PASS_NAMES` order.

    toon: depth and normal (ink lines, tone), instance (per-character blur and bands), motion
    and depth (``coherence: exact`` warps the previous frame), uv only for ``grain``.
    diffusion: its ControlNets' sources, instance, uv (texture-anchored noise), motion and
    depth for ``coherence: exact``. none: nothing.
    """
    need: set[str] = set()
    exact = style.coherence == "exact"
    if style.stylizer == "toon":
        need |= {"depth", "normal", "instance"}
        if style.grain > 0:
            need.add("uv")
    elif style.stylizer == "diffusion":
        need |= {"instance", "uv"}
        for c in style.controlnets:
            need |= set(CONTROL_PASSES[c.kind])
    else:
        return ()
    if exact:
        need |= {"motion", "depth"}
    return tuple(p for p in PASS_NAMES if p in need)


def render_passes(render: RenderSettings, style: StyleSettings) -> tuple[str, ...]:
    """The passes the renderer writes: the stylizer's and ``render.passes``; none but for
    Cycles (Workbench and Eevee write only the beauty)."""
    if render.engine != "cycles":
        return ()
    need = set(stylizer_passes(style)) | set(render.passes)
    return tuple(p for p in PASS_NAMES if p in need)
