"""The per-frame passes EXR: only the channels of the passes asked for, half float, lossless.

Blender names a multilayer EXR's channels ``ViewLayer.<pass>.<channel>``; the file keeps those
names (reskin.render.passes reads them) but drops what nobody reads: the combined colour (the
beauty PNG holds it), the vector pass's backward half (X, Y: reskin uses the forward Z, W) and
the UV pass's alpha. Half float (11 significant bits) is far inside what its readers tolerate:
depth 0.05 % relative (warps accept 8 %), motion 1/16 px at 128 px (they accept 0.75 px),
UV 1/2048 (half a texel of a 1024 texture); the object index is exact up to 2048.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PASS_CHANNELS = {
    "depth": ("ViewLayer.Depth.Z",),
    "normal": ("ViewLayer.Normal.X", "ViewLayer.Normal.Y", "ViewLayer.Normal.Z"),
    "instance": ("ViewLayer.Object Index.X",),
    "motion": ("ViewLayer.Vector.Z", "ViewLayer.Vector.W"),
    "uv": ("ViewLayer.UV.U", "ViewLayer.UV.V"),
}
"""Each pass's channels, as Blender names them in a multilayer EXR."""


def write_passes_exr(src: str | Path, dst: str | Path, passes: list[str] | tuple[str, ...]
                     ) -> int:
    """Copy ``passes``' channels of Blender's multilayer EXR ``src`` to ``dst`` (half float,
    ZIP); returns the bytes written. A pass missing from ``src`` raises KeyError."""
    import OpenEXR

    names = [c for p in passes for c in PASS_CHANNELS[p]]
    with OpenEXR.File(str(src), separate_channels=True) as exr:
        found = {n: ch.pixels for part in exr.parts for n, ch in part.channels.items()}
    missing = [n for n in names if n not in found]
    if missing:
        raise KeyError(f"{src}: no channels {missing}")
    channels = {}
    for n in names:
        px = np.asarray(found[n], np.float32)
        # Blender's background depth is ~1e10: beyond half's range, it becomes inf, which is
        # what reskin.render.passes makes of it anyway.
        with np.errstate(over="ignore"):
            channels[n] = px.astype(np.float16)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as out:
        out.write(str(dst))
    return Path(dst).stat().st_size
