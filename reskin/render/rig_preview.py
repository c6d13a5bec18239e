"""`reskin rig preview`: a rigged character playing a clip, drawn by the preview rasterizer.

A front camera follows the character (a walk leaves any fixed frame) at the distance that fits
the whole body, lit like the wardrobe previews; body parts get flat colours so limbs read apart.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

from reskin.assets.arrays import unpack_arrays
from reskin.assets.library import AssetRecord, Library
from reskin.core.clip import Clip
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.rigging.rigged import RiggedCharacter

BACKGROUND = (0.86, 0.87, 0.89)
LENS_MM, SENSOR_MM = 50.0, 24.0
MAX_FPS = 30  # mocap at 120 fps is shown at 30: four times fewer frames, the same motion
# Flat colours by body-part name (generated characters' parts); anything else is clay grey.
_PART_COLOURS = (
    (("head", "neck", "hand"), (224, 176, 140)),
    (("torso", "arm"), (70, 110, 170)),
    (("pelvis", "thigh", "shin", "leg"), (60, 60, 70)),
    (("foot",), (120, 70, 40)),
)
_CLAY = (190, 185, 175)


def load_rig(lib: Library, record: AssetRecord) -> RiggedCharacter:
    """The rigged character ``record``; the UV atlas is optional here (imported rigs)."""
    if record.kind != "character" or "rig.npz" not in record.blobs:
        raise ReskinError(f"{record.ref} is not a rigged character; run `reskin rig "
                          f"{record.name}` first")
    mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(record.blobs["mesh.npz"])))
    rig = unpack_arrays(lib.read_blob(record.blobs["rig.npz"]))
    if "atlas.npz" in record.blobs:
        atlas = unpack_arrays(lib.read_blob(record.blobs["atlas.npz"]))
        position, part = atlas["position"], atlas["part"]
    else:
        position, part = np.zeros((1, 1, 3), np.float32), np.full((1, 1), -1, np.int16)
    return RiggedCharacter(record=record, mesh=mesh, skeleton=Skeleton.from_arrays(rig),
                           joints=rig["skin_joints"], weights=rig["skin_weights"],
                           position=position, part=part)


def part_texture(rig: RiggedCharacter, size: int = 256) -> np.ndarray:
    """(s, s, 3) uint8 texture over the rig's UV atlas: a flat colour per body part."""
    part = rig.part
    if part.shape[0] > size:  # a quarter-size atlas is plenty for flat colours
        part = part[:: part.shape[0] // size, :: part.shape[1] // size]
    lut = np.array([next((c for keys, c in _PART_COLOURS if any(k in name for k in keys)), _CLAY)
                    for name in rig.mesh.part_names] + [_CLAY], np.uint8)
    return lut[np.where(part >= 0, part, len(lut) - 1)]


def sample_frames(clip: Clip, frames: int | None) -> tuple[np.ndarray, int]:
    """The clip frames to draw and the video rate: at most :data:`MAX_FPS`, whole clip unless
    ``frames`` caps it. returns (n,) int64 frame indices, fps."""
    fps = max(1, min(MAX_FPS, int(round(clip.fps))))
    total = int(math.floor(clip.duration * fps + 1e-6)) + 1
    n = total if frames is None else max(1, min(frames, total))
    idx = np.round(np.arange(n) * clip.fps / fps).astype(np.int64)
    return np.minimum(idx, clip.frames - 1), fps


def follow_camera(skeleton: Skeleton, clip: Clip, height: float, aspect: float) -> list[dict]:
    """One front camera per clip frame (camera dicts as a ShotPlan holds them), following the
    hips over the floor and far enough back that the body fits with a margin.

    The distance is fixed for the clip (a zoom would read as the character changing size): the
    largest the posed joints need across it, plus room for flesh around the joints.
    """
    world = forward_kinematics(skeleton, clip.for_skeleton(skeleton.names),
                               clip.root_translation)[..., :3, 3]  # (f, j, 3)
    hips = clip.root_translation[:, [0, 2]].astype(np.float64)
    # Smooth the hips' sway out of the camera path over about half a second.
    w = max(1, int(clip.fps // 2))
    kernel = np.ones(w) / w
    padded = np.pad(hips, ((w // 2, w - 1 - w // 2), (0, 0)), mode="edge")
    track = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], 1)
    flesh = 0.12 * height
    half_w = float(np.abs(world[..., 0] - track[:, None, 0]).max()) + flesh
    top = max(float(world[..., 1].max()) + flesh, height)
    half_h = 0.55 * top
    depth = float((world[..., 2] - track[:, None, 1]).max()) + flesh
    tan_y = SENSOR_MM / 2 / LENS_MM  # tan of half the vertical field of view
    dist = max(half_h / tan_y, half_w / (tan_y * aspect)) + depth
    cy = 0.5 * top
    return [{"location": [float(x), cy, float(z) + dist], "target": [float(x), cy, float(z)],
             "lens_mm": LENS_MM, "sensor_mm": SENSOR_MM} for x, z in track]


def render_clip_preview(rig: RiggedCharacter, clip: Clip, out: str | Path, *,
                        frames: int | None = None, size: tuple[int, int] = (360, 640)) -> dict:
    """Draw ``rig`` playing ``clip`` (on ``rig.skeleton``) and write it to ``out`` as H.264 MP4.

    size : (width, height) in pixels, even numbers. returns {"frames", "fps", "path"}.
    Needs an OpenGL context (EGL by default: PreviewRenderer chooses it, only when drawing).
    """
    from reskin.render.outputs import write_mp4
    from reskin.render.preview import PreviewCharacter, PreviewRenderer, write_frames

    width, height = size
    body_h = float(rig.mesh.height)
    indices, fps = sample_frames(clip, frames)
    cameras = follow_camera(rig.skeleton, clip, body_h, width / height)
    shot = {
        "frame_count": clip.frames,
        "camera": cameras[0],
        "camera_path": cameras,
        "lights": [
            {"type": "SUN", "location": [0.6 * body_h, 1.5 * body_h, 2.0 * body_h],
             "target": [0.0, 0.55 * body_h, 0.0]},
            {"type": "AREA", "location": [-1.5 * body_h, 0.8 * body_h, 0.5 * body_h],
             "target": [0.0, 0.55 * body_h, 0.0]},
        ],
        "cast": [{"key": "c", "clip": clip.name, "position": [0.0, 0.0, 0.0],
                  "facing_deg": 0.0}],
    }
    character = PreviewCharacter(rig, part_texture(rig), {clip.name: clip})
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with PreviewRenderer(width, height) as renderer:
        rgba = renderer.render_shot(shot, {"c": character}, frames=indices.tolist())
    # Frames go through PNGs in a scratch folder, as the episode preview does, then one MP4.
    with tempfile.TemporaryDirectory(prefix="reskin-rig-preview-") as tmp:
        paths = write_frames(rgba, Path(tmp), BACKGROUND)
        write_mp4(paths, fps, out)
    return {"frames": len(indices), "fps": fps, "path": str(out)}
