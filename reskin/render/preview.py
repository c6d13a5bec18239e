"""The preview renderer: the same render plan, drawn with OpenGL (moderngl, headless EGL).

Characters are posed from the same rig and clips the Blender render uses, by linear blend
skinning (on the CPU, :mod:`reskin.render.preview_gl`), and seen through the same
camera, so a draft matches the final framing at interactive speed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import forward_kinematics, skinning_matrices
from reskin.rigging.morphs import MorphTargets, apply_morphs
from reskin.rigging.procedural_clips import make_clip
from reskin.rigging.rigged import RiggedCharacter


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

    @functools.cached_property
    def export_split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rig mesh split at UV seams (source index, uv, faces), made once per character
        (a sort of every face corner: more than a preview frame costs)."""
        return self.rig.mesh.split_for_export()

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
    """A headless OpenGL context (moderngl, EGL); ``close()`` it (or use ``with``) to free it.

    ``platform`` names the backend moderngl's standalone context uses ("egl"); ``samples``
    the multisampling (0: none, the draft's speed; 4 smooths edges as pyrender drew them, at
    about a third of the frame rate on software GL); ``pipelined`` draws frame n+1 while
    frame n is still being rasterised (the same frames). It is off by default: on the 2-core
    shared machine, under a load average of 3-6, it measured no faster, often slower (the
    rasteriser threads already take the cores the overlap would use); a machine with idle
    cores may gain (``bench/render.py --only-preview`` reports both).
    """

    def __init__(self, width: int, height: int, platform: str | None = None,
                 samples: int = 0, pipelined: bool = False):
        from reskin.render.preview_gl import GLPreview

        self.width, self.height = width, height
        self.pipelined = pipelined
        self._gl = GLPreview(width, height, backend=platform or "egl", samples=samples)
        self._props: dict = {}  # prop key -> (positions, normals, colours, faces), prop space

    def __enter__(self) -> PreviewRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._gl.release()

    def render_shot(self, shot: dict, characters: dict[str, PreviewCharacter],
                    frames: list[int] | None = None) -> np.ndarray:
        """Draw ``shot`` (a ShotPlan dict). Returns (f, h, w, 4) uint8 RGBA (alpha = drawn).

        The shot's static buffers (meshes, influences, textures, the set) are uploaded once;
        each frame writes only skinning matrices (and rest positions where morph weights vary
        per frame) and the camera.
        """
        from reskin.render.preview_gl import perspective

        gl = self._gl
        frames = list(range(shot["frame_count"])) if frames is None else frames
        path = shot.get("camera_path") or [shot["camera"]] * shot["frame_count"]
        lens = shot["camera"]["lens_mm"]
        yfov = 2 * math.atan(shot["camera"].get("sensor_mm", 24.0) / 2 / lens)
        proj = perspective(yfov, self.width / self.height)
        drawn = [self._upload(characters[m["key"]], m) for m in shot["cast"]]
        statics = [self._set(shot["set"])] if shot.get("set") else []
        out = np.empty((len(frames), self.height, self.width, 4), np.uint8)
        def each_frame():  # noqa: ANN202 - (view_proj, characters) per frame, in order
            for f in frames:
                cam = path[min(f, len(path) - 1)]
                target = np.asarray(cam["target"], float)
                pose = look_at(np.asarray(cam["location"], float), target)
                self._lights(shot["lights"], target)
                per_frame = []
                for glc, mats, place, rests in drawn:
                    if rests is not None:  # morph weights per frame
                        glc.set_rest(rests[min(f, len(rests) - 1)])
                    per_frame.append((glc, mats[min(f, len(mats) - 1)], place))
                yield proj @ np.linalg.inv(pose), per_frame

        try:
            if self.pipelined:
                gl.draw_frames(each_frame(), statics, out)
            else:
                for n, (view_proj, per_frame) in enumerate(each_frame()):
                    gl.draw(view_proj, per_frame, statics, out[n])
        finally:
            for glc, *_ in drawn:
                glc.release()
            for vao in statics:
                vao.release()
        return out

    def _upload(self, ch: PreviewCharacter, member: dict) -> tuple:
        """One cast member's GPU buffers, its skinning matrices (f, j, 4, 4), its placement
        and, where its morph weights vary per frame, its rest positions per frame (f, s, 3)."""
        from reskin.render.preview_gl import vertex_normals

        src, uv, faces = ch.export_split
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
        mats = skinning_matrices(ch.rig.skeleton, forward_kinematics(ch.rig.skeleton, rot, root))
        weights = member.get("morph_weights")
        rest = ch.rig.mesh.vertices
        if weights is not None and ch.morphs is not None:
            rest = apply_morphs(rest.astype(np.float64), ch.morphs,
                                np.asarray(weights, np.float64))
        first = rest if rest.ndim == 2 else rest[0]
        normals = vertex_normals(first, ch.rig.mesh.faces)
        glc = self._gl.character(first[src], normals[src], uv, ch.rig.joints[src],
                                 ch.rig.weights[src], faces, ch.texture,
                                 len(ch.rig.skeleton.names))
        place = np.eye(4) if motion else placement(member["position"], member["facing_deg"])
        rests = rest[:, src] if rest.ndim == 3 else None
        return glc, mats, place, rests

    def _lights(self, lights: list[dict], target: np.ndarray) -> None:
        dirs, cols = [], []
        for light in lights:
            d = np.asarray(light["location"], float) - np.asarray(light.get("target", target),
                                                                 float)
            dirs.append(d / max(np.linalg.norm(d), 1e-9))
            energy = 3.0 if light["type"] == "SUN" else 2.0
            cols.append(np.asarray(light.get("color", [1, 1, 1]), float) * energy)
        self._gl.set_lights(0.25, np.array(dirs).reshape(-1, 3), np.array(cols).reshape(-1, 3))

    def _prop(self, key: str, glb: str) -> tuple:
        """A prop's GLB as (positions, normals, linear colours, faces), node transforms
        applied, loaded once per renderer."""
        if key not in self._props:
            import trimesh

            loaded = trimesh.load(glb, file_type="glb", force="scene")
            parts, base = [], 0
            for m in loaded.dump(concatenate=False):
                vis = m.visual.to_color() if hasattr(m.visual, "to_color") else m.visual
                colors = np.asarray(vis.vertex_colors, np.float64)[:, :3] / 255
                parts.append((np.asarray(m.vertices, np.float64),
                              np.asarray(m.vertex_normals, np.float64),
                              np.broadcast_to(colors, (len(m.vertices), 3)),
                              np.asarray(m.faces) + base))
                base += len(m.vertices)
            self._props[key] = tuple(np.concatenate([p[i] for p in parts]) for i in range(4))
        return self._props[key]

    def _set(self, stage: dict):  # noqa: ANN202 - a moderngl.VertexArray
        """The floor (y = 0), the backdrop wall (z = wall_z) and the props, placed as the
        Blender worker places them (position on the floor, turned about +Y, scaled), as one
        world-space vertex array."""
        from reskin.render.preview_gl import vertex_normals

        parts = []
        for prop in stage.get("props", []):
            pose = placement(prop["position"], prop["facing_deg"])
            pose[:3, :3] *= prop["scale"]
            v, nrm, col, faces = self._prop(prop["key"], prop["glb"])
            nrm = nrm @ np.linalg.inv(pose[:3, :3])  # normals by the inverse transpose
            nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
            parts.append((v @ pose[:3, :3].T + pose[:3, 3], nrm, col, faces))
        s = 20.0
        quads = [(stage["floor"], [[-s, 0, -s], [-s, 0, s], [s, 0, s], [s, 0, -s]])]
        if stage.get("wall"):
            z = stage["wall_z"]
            quads.append((stage["wall"], [[-s, -1, z], [s, -1, z], [s, 2 * s, z], [-s, 2 * s, z]]))
        for color, corners in quads:
            v = np.array(corners, np.float64)
            faces = np.array([[0, 1, 2], [0, 2, 3]])
            linear = np.array([c ** 2.2 for c in color])
            parts.append((v, vertex_normals(v, faces), np.tile(linear, (4, 1)), faces))
        base, cat = 0, []
        for v, nrm, col, faces in parts:
            cat.append((v, nrm, col, faces + base))
            base += len(v)
        return self._gl.static_mesh(*(np.concatenate([p[i] for p in cat]) for i in range(4)))


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
