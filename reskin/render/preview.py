"""The preview renderer: the same render plan, drawn with pyrender (OpenGL, offscreen).

Characters are posed on the CPU with reskin's own skinning (pyrender has none) from the same
rig and clips the Blender render uses, and seen through the same camera, so a draft matches
the final framing at interactive speed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.rigging.morphs import MorphTargets, apply_morphs
from reskin.rigging.procedural_clips import make_clip
from reskin.rigging.rigged import RiggedCharacter
from reskin.rigging.skinning import lbs


@dataclass
class PreviewCharacter:
    """What the preview needs of one skin: the rig, its texture and its clips.

    morphs : its morph targets on the rig's vertices (a face that acts), or None; a cast member
             of a shot then may carry ``morph_weights``, (k,) or (f, k) over them
    """

    rig: RiggedCharacter
    texture: np.ndarray  # (s, s, 3) uint8
    clips: dict[str, Clip]
    morphs: MorphTargets | None = None

    @classmethod
    def from_rig(cls, rig: RiggedCharacter, texture: np.ndarray, fps: int,
                 clip_names: tuple[str, ...]) -> PreviewCharacter:
        return cls(rig, texture, {n: make_clip(n, rig.skeleton, fps) for n in clip_names})


def look_at(location: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(4, 4) OpenGL camera-to-world pose: looks down -z, +y up."""
    back = location - target
    back = back / np.linalg.norm(back)
    right = np.cross([0.0, 1.0, 0.0], back)
    right = right / max(np.linalg.norm(right), 1e-9)
    up = np.cross(back, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, back, location
    return pose


def placement(position: list[float], facing_deg: float) -> np.ndarray:
    """(4, 4) model-to-world transform of a cast member."""
    a = math.radians(facing_deg)
    m = np.eye(4)
    m[:3, :3] = [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]]
    m[:3, 3] = position
    return m


class PreviewRenderer:
    """An offscreen OpenGL context; ``close()`` it (or use ``with``) to free it."""

    def __init__(self, width: int, height: int, platform: str | None = None):
        # Chosen here, not at import of the package: only this backend needs a GL platform.
        os.environ.setdefault("PYOPENGL_PLATFORM", platform or "egl")
        import pyrender

        self._pyrender = pyrender
        self.width, self.height = width, height
        self._renderer = pyrender.OffscreenRenderer(width, height)
        self._props: dict = {}  # prop key -> pyrender.Mesh, loaded once per renderer

    def __enter__(self) -> PreviewRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._renderer.delete()

    def render_shot(self, shot: dict, characters: dict[str, PreviewCharacter],
                    frames: list[int] | None = None) -> np.ndarray:
        """Draw ``shot`` (a ShotPlan dict). Returns (f, h, w, 4) uint8 RGBA (alpha = cast)."""
        import trimesh

        pr = self._pyrender
        frames = list(range(shot["frame_count"])) if frames is None else frames
        path = shot.get("camera_path") or [shot["camera"]] * shot["frame_count"]
        lens = shot["camera"]["lens_mm"]
        yfov = 2 * math.atan(shot["camera"].get("sensor_mm", 24.0) / 2 / lens)
        prepared = []
        for member in shot["cast"]:
            ch = characters[member["key"]]
            src, uv, faces = ch.rig.mesh.split_for_export()
            motion = member.get("motion")
            if motion:  # blocking: the shot's own track, its root in the world
                names = list(motion["joints"])
                order = [names.index(n) for n in ch.rig.skeleton.names]
                rot = np.asarray(motion["rotations"], np.float64)[:, order]
                root = np.asarray(motion["root"], np.float64)
            else:
                clip = ch.clips[member["clip"]]
                rot = clip.for_skeleton(ch.rig.skeleton.names)
                root = clip.root_translation
            mats = skinning_matrices(ch.rig.skeleton, forward_kinematics(
                ch.rig.skeleton, rot, root))
            material = pr.MetallicRoughnessMaterial(
                baseColorTexture=pr.Texture(source=ch.texture, source_channels="RGB"),
                metallicFactor=0.0, roughnessFactor=0.7)
            weights = member.get("morph_weights")
            rest = ch.rig.mesh.vertices
            if weights is not None and ch.morphs is not None:
                rest = apply_morphs(rest.astype(np.float64), ch.morphs,
                                    np.asarray(weights, np.float64))
            place = (np.eye(4) if motion
                     else placement(member["position"], member["facing_deg"]))
            prepared.append((ch, src, uv, faces, mats, material, place, rest))
        out = np.empty((len(frames), self.height, self.width, 4), np.uint8)
        for n, f in enumerate(frames):
            scene = pr.Scene(bg_color=[0, 0, 0, 0], ambient_light=[0.25, 0.25, 0.25])
            for ch, src, uv, faces, mats, material, place, rest in prepared:
                verts = rest if rest.ndim == 2 else rest[min(f, len(rest) - 1)]
                posed = lbs(verts, ch.rig.joints, ch.rig.weights, mats[min(f, len(mats) - 1)])
                tm = trimesh.Trimesh(posed[src], faces, process=False)
                prim = pr.Primitive(positions=tm.vertices, normals=tm.vertex_normals,
                                    texcoord_0=uv, indices=faces, material=material)
                scene.add(pr.Mesh([prim]), pose=place)
            if shot.get("set"):
                self._add_set(scene, shot["set"])
            cam = path[min(f, len(path) - 1)]
            pose = look_at(np.asarray(cam["location"], float), np.asarray(cam["target"], float))
            scene.add(pr.PerspectiveCamera(yfov=yfov, aspectRatio=self.width / self.height),
                      pose=pose)
            for light in shot["lights"]:
                d = np.asarray(light["location"], float) - np.asarray(
                    light.get("target", cam["target"]), float)
                energy = 3.0 if light["type"] == "SUN" else 2.0
                scene.add(pr.DirectionalLight(color=light.get("color", [1, 1, 1]),
                                              intensity=energy),
                          pose=look_at(d, np.zeros(3)))
            color, _ = self._renderer.render(scene, flags=pr.RenderFlags.RGBA)
            out[n] = color
        return out

    def _prop(self, key: str, glb: str):  # noqa: ANN202 - a pyrender.Mesh
        """A prop's GLB as one pyrender mesh (its node transforms applied), loaded once."""
        if key not in self._props:
            import trimesh

            loaded = trimesh.load(glb, file_type="glb", force="scene")
            self._props[key] = self._pyrender.Mesh.from_trimesh(
                loaded.dump(concatenate=False), smooth=False)
        return self._props[key]

    def _add_set(self, scene, stage: dict) -> None:
        """The floor (y = 0), the backdrop wall (z = wall_z) and the props, placed as the
        Blender worker places them (position on the floor, turned about +Y, scaled)."""
        for prop in stage.get("props", []):
            pose = placement(prop["position"], prop["facing_deg"])
            pose[:3, :3] *= prop["scale"]
            scene.add(self._prop(prop["key"], prop["glb"]), pose=pose)
        pr, s = self._pyrender, 20.0
        quads = [(stage["floor"], [[-s, 0, -s], [-s, 0, s], [s, 0, s], [s, 0, -s]])]
        if stage.get("wall"):
            z = stage["wall_z"]
            quads.append((stage["wall"], [[-s, -1, z], [s, -1, z], [s, 2 * s, z], [-s, 2 * s, z]]))
        for color, corners in quads:
            linear = [c ** 2.2 for c in color]
            material = pr.MetallicRoughnessMaterial(baseColorFactor=[*linear, 1.0],
                                                    metallicFactor=0.0, roughnessFactor=0.9)
            prim = pr.Primitive(positions=np.array(corners, np.float32),
                                indices=np.array([[0, 1, 2], [0, 2, 3]]), material=material)
            scene.add(pr.Mesh([prim]))


def write_frames(
    rgba: np.ndarray, folder: Path, background: tuple[float, float, float]
) -> list[Path]:
    """Composite ``rgba`` (f, h, w, 4) over ``background`` and write PNGs atomically."""
    from PIL import Image

    from reskin.core.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    a = rgba[..., 3:4].astype(np.float32) / 255
    rgb = rgba[..., :3] * a + np.asarray(background) * 255 * (1 - a)
    paths = []
    for i, img in enumerate(rgb.round().astype(np.uint8)):
        path = folder / f"preview_{i:04d}.png"
        with atomic_path(path) as tmp:
            Image.fromarray(img).save(tmp, format="PNG")
        paths.append(path)
    return paths
