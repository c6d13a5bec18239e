"""Reading the renderer's passes into reskin's conventions (see reskin.render.stylize.base).

Blender writes one multi-layer EXR per frame. Its conventions differ from ours and are
converted here, in one place:

- Depth.Z is the distance along the camera axis; background pixels hold ~1e10 -> ``inf``.
- Normal is in Blender's world space (+Z up), averaged over a pixel's samples -> unit normals
  in camera space (+x right, +y up, +z to camera).
- Vector.ZW is ``current - next`` in pixels with y up (measured: an object moving right by
  16 px/frame gives Z = -16) -> forward motion ``(-Z, +W)`` with y down.
- Object Index is the cast member's 1-based position in the shot (set by the worker).
- UV.UV is the texture coordinate of the surface seen (v up, as the mesh's UVs); with the
  instance id it names a surface point, the same in every frame and episode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def camera_basis(camera: dict) -> np.ndarray:
    """(3, 3) rows = camera x (right), y (up), z (towards the viewer) in reskin world space."""
    loc = np.asarray(camera["location"], np.float64)
    target = np.asarray(camera["target"], np.float64)
    back = loc - target
    back /= np.linalg.norm(back)
    right = np.cross([0.0, 1.0, 0.0], back)
    if np.linalg.norm(right) < 1e-9:  # looking straight down or up
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    return np.stack([right, up, back])


def read_passes(path: str | Path, camera: dict) -> dict[str, np.ndarray]:
    """One frame's passes from ``path``, those the file holds (the renderer writes only those
    asked for: reskin.scenes.passes): depth (h, w), normal (h, w, 3), instance (h, w) int16,
    motion (h, w, 2), uv (h, w, 2), all float32 except instance."""
    import OpenEXR

    with OpenEXR.File(str(path), separate_channels=True) as exr:
        channels = {}
        for part in exr.parts:
            for name, ch in part.channels.items():
                channels[name] = np.asarray(ch.pixels, np.float32)
    out: dict[str, np.ndarray] = {}
    if "ViewLayer.Depth.Z" in channels:
        depth = channels["ViewLayer.Depth.Z"].copy()
        depth[depth > 1e6] = np.inf
        out["depth"] = depth
    if "ViewLayer.Normal.X" in channels:
        nb = np.stack([channels[f"ViewLayer.Normal.{c}"] for c in "XYZ"], axis=-1)
        world = np.stack([nb[..., 0], nb[..., 2], -nb[..., 1]], axis=-1)  # Blender -> reskin
        normal = world @ camera_basis(camera).T
        # A pixel averages the normals its samples saw (antialiasing): renormalise them.
        length = np.linalg.norm(normal, axis=-1, keepdims=True)
        out["normal"] = np.where(length > 1e-6, normal / np.maximum(length, 1e-6),
                                 0.0).astype(np.float32)
    if "ViewLayer.Object Index.X" in channels:
        out["instance"] = np.rint(channels["ViewLayer.Object Index.X"]).astype(np.int16)
    if "ViewLayer.Vector.Z" in channels:
        out["motion"] = np.stack([-channels["ViewLayer.Vector.Z"],
                                  channels["ViewLayer.Vector.W"]], axis=-1).astype(np.float32)
    if "ViewLayer.UV.U" in channels:
        uv = np.stack([channels["ViewLayer.UV.U"], channels["ViewLayer.UV.V"]], axis=-1)
        if "instance" in out:
            uv[out["instance"] == 0] = 0.0
        out["uv"] = uv
    return out


def read_shot_passes(paths: list[Path], cameras: list[dict]) -> dict[str, np.ndarray] | None:
    """Stack the passes of a shot's frames; None when the engine wrote none (Workbench).

    ``cameras``: the camera of each frame (one entry is used for every frame).

    The renderer's vector for the last frame points at a frame that is not in the shot, so it
    is zeroed as the convention says.
    """
    if not paths or not all(p.exists() for p in paths):
        return None
    frames = [read_passes(p, cameras[min(i, len(cameras) - 1)]) for i, p in enumerate(paths)]
    out = {k: np.stack([f[k] for f in frames]) for k in frames[0]}
    if "motion" in out:
        out["motion"][-1] = 0.0
    return out
