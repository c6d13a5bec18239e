"""Procedural clips on the canonical humanoid skeleton, usable by every character.

The motions are written against a T-pose rest with identity joint orientations, so an axis
here is a model-space axis (x to the character's left, y up, z forward). A rig whose arms rest
elsewhere (an A-pose, as most imported characters have) gets the same motion: every arm bone is
first swung from its own rest direction onto the T-pose's, so each bone points where it would
on a T-pose character in every frame (:func:`rest_aligned`, the alignment the BVH retargeter
does too).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton
from reskin.core.transforms import quat_mul

PROCEDURAL_VERSION = "2"
_T_POSE = {f"{side}{bone}": (sign, 0.0, 0.0)
           for side, sign in (("left", 1.0), ("right", -1.0))
           for bone in ("UpperArm", "LowerArm", "Hand")}
"""Where the arm bones point in the T-pose the clips are written for: straight out sideways."""


def axis_angle(axis: tuple[float, float, float], angle: np.ndarray) -> np.ndarray:
    """(f,) angles in radians about ``axis`` -> (f, 4) quaternions (x, y, z, w)."""
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    half = np.asarray(angle, np.float64)[:, None] / 2
    return np.concatenate([np.sin(half) * a, np.cos(half)], axis=1)


class _Pose:
    def __init__(self, skeleton: Skeleton, frames: int):
        self.names = skeleton.names
        self.rot = np.zeros((frames, len(self.names), 4))
        self.rot[..., 3] = 1.0

    def turn(self, joint: str, axis: tuple[float, float, float], angle: np.ndarray) -> None:
        i = self.names.index(joint)
        self.rot[:, i] = quat_mul(axis_angle(axis, angle), self.rot[:, i])


PROCEDURAL_CLIPS = ("idle", "wave", "nod")
"""The clips :func:`make_clip` makes, by name: every rig has them without a clip asset."""


def make_clip(name: str, skeleton: Skeleton, fps: float, seconds: float = 4.0) -> Clip:
    """Build the procedural clip ``name`` ("idle", "wave" or "nod") for ``skeleton``."""
    frames = max(2, int(round(seconds * fps)) + 1)
    t = np.arange(frames) / fps
    pose = _Pose(skeleton, frames)
    breath = np.sin(2 * np.pi * t / 3.5)
    # Relaxed stance shared by all clips: arms down from the T-pose, elbows a little bent.
    pose.turn("leftUpperArm", (0, 0, 1), np.full(frames, np.radians(-72)))
    pose.turn("rightUpperArm", (0, 0, 1), np.full(frames, np.radians(72)))
    pose.turn("leftLowerArm", (0, 1, 0), np.full(frames, np.radians(-12)))
    pose.turn("rightLowerArm", (0, 1, 0), np.full(frames, np.radians(12)))
    pose.turn("chest", (1, 0, 0), np.radians(1.5) * breath)
    pose.turn("neck", (1, 0, 0), np.radians(-1.0) * breath)
    if name == "idle":
        pose.turn("head", (0, 1, 0), np.radians(12) * np.sin(2 * np.pi * t / 4.0))
        pose.turn("spine", (0, 0, 1), np.radians(2) * np.sin(2 * np.pi * t / 5.0))
    elif name == "wave":
        # Raise the right arm (model -x) overhead-ish and wave the forearm.
        raise_amt = np.clip(t / 0.6, 0, 1)
        pose.turn("rightUpperArm", (0, 0, 1), np.radians(-130) * raise_amt)
        pose.turn("rightLowerArm", (0, 0, 1),
                  raise_amt * (np.radians(-35) + np.radians(25) * np.sin(2 * np.pi * t * 1.5)))
        pose.turn("head", (0, 1, 0), np.radians(-10) * raise_amt)
    elif name == "nod":
        pose.turn("head", (1, 0, 0), np.radians(14) * np.clip(np.sin(2 * np.pi * t / 1.6), 0, 1))
        pose.turn("neck", (0, 1, 0), np.radians(8) * np.sin(2 * np.pi * t / 4.0))
    else:
        raise ValueError(f"unknown procedural clip {name!r}")
    root = np.repeat(skeleton.heads[skeleton.index("hips")][None].astype(np.float64), frames, 0)
    root[:, 1] += 0.004 * breath
    return Clip(name=name, fps=float(fps), joint_names=skeleton.names,
                rotations=rest_aligned(skeleton, pose.rot).astype(np.float32),
                root_translation=root.astype(np.float32))


def _bone_direction(skeleton: Skeleton, i: int) -> np.ndarray:
    """Rest direction of joint ``i``'s bone: to its first child, else to its tail."""
    kids = np.flatnonzero(skeleton.parents == i)
    end = skeleton.heads[kids[0]] if len(kids) else skeleton.tails[i]
    return np.asarray(end, np.float64) - skeleton.heads[i]


@functools.lru_cache(maxsize=16)
def _alignment(names: tuple[str, ...], parents: bytes, heads: bytes, tails: bytes
               ) -> dict[int, np.ndarray]:
    """Joint index -> (4,) quaternion swinging its rest bone onto the T-pose direction, for
    the arm bones of a skeleton (given as bytes: cached per skeleton); empty when its arms
    already point exactly as the T-pose's."""
    from reskin.core.transforms import matrix_to_quat
    from reskin.rigging.retarget import swing

    skeleton = Skeleton(names, np.frombuffer(parents, np.int32),
                        np.frombuffer(heads, np.float32).reshape(-1, 3),
                        np.frombuffer(tails, np.float32).reshape(-1, 3))
    align = {}
    for name, target in _T_POSE.items():
        if name in names:
            i = names.index(name)
            d = _bone_direction(skeleton, i)
            if np.linalg.norm(d) > 0:
                align[i] = matrix_to_quat(swing(d, np.asarray(target)))
    if all(np.allclose(q[:3], 0.0, atol=1e-12) for q in align.values()):
        return {}
    return align


def rest_aligned(skeleton: Skeleton, rotations: np.ndarray) -> np.ndarray:
    """(f, j, 4) local rotations written for a T-pose rest -> the same motion on ``skeleton``.

    With A the rotation swinging a bone's rest direction onto its T-pose direction (identity
    for bones not in :data:`_T_POSE`), the bone's world rotation W of the T-pose motion becomes
    W A. Rest orientations are identity, so locals are L' = A_parent^T L A: only the arm bones
    and their children change, and a T-pose rig keeps the motion as written.
    """
    align = _alignment(tuple(skeleton.names),
                       np.asarray(skeleton.parents, np.int32).tobytes(),
                       np.asarray(skeleton.heads, np.float32).tobytes(),
                       np.asarray(skeleton.tails, np.float32).tobytes())
    if not align:
        return rotations
    out = np.array(rotations, np.float64)
    for i, p in enumerate(skeleton.parents):
        if p in align:  # undo the parent's alignment: conjugate (x, y, z, w) -> (-x, -y, -z, w)
            out[:, i] = quat_mul(align[p] * np.array([-1.0, -1.0, -1.0, 1.0]), out[:, i])
        if i in align:
            out[:, i] = quat_mul(out[:, i], align[i])
    return out


class ProceduralClips:
    """The procedural clips ``names`` for a skeleton at ``fps``, made only when first used.

    ``key`` identifies them without making them (they are a pure function of the names, the
    rate, :data:`PROCEDURAL_VERSION` and the skeleton, which a cache key covers through the
    rig's content hash), so a job that finds everything cached never builds them.
    """

    def __init__(self, skeleton: Skeleton, fps: float, names: Sequence[str]):
        self.skeleton, self.fps, self.names = skeleton, float(fps), tuple(names)

    @property
    def key(self) -> list:
        return ["procedural", PROCEDURAL_VERSION, list(self.names), self.fps]

    @functools.cached_property
    def clips(self) -> list[Clip]:
        return [make_clip(name, self.skeleton, self.fps) for name in self.names]


Clips = Sequence[Clip] | ProceduralClips
"""Clips as a cached job takes them: a list, or procedural clips made only if needed."""


def clip_ids(clips: Clips) -> list:
    """What identifies clips in a cache key: names, rates, lengths and the exact motion (or,
    for procedural clips, what makes them)."""
    if isinstance(clips, ProceduralClips):
        return clips.key
    return [(c.name, c.fps, c.frames, hashlib.sha256(
        np.ascontiguousarray(c.rotations).tobytes()
        + np.ascontiguousarray(c.root_translation).tobytes()).hexdigest(), list(c.joint_names))
        for c in clips]


def clip_list(clips: Clips) -> list[Clip]:
    return clips.clips if isinstance(clips, ProceduralClips) else list(clips)
