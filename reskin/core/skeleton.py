"""Skeletons: joint names, a parent table and rest positions; forward kinematics on arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reskin.core.transforms import quat_to_matrix

# The canonical humanoid joint set (VRM humanoid names), parents listed before children.
HUMANOID_JOINTS: tuple[tuple[str, str | None], ...] = (
    ("hips", None),
    ("spine", "hips"),
    ("chest", "spine"),
    ("neck", "chest"),
    ("head", "neck"),
    ("leftShoulder", "chest"),
    ("leftUpperArm", "leftShoulder"),
    ("leftLowerArm", "leftUpperArm"),
    ("leftHand", "leftLowerArm"),
    ("rightShoulder", "chest"),
    ("rightUpperArm", "rightShoulder"),
    ("rightLowerArm", "rightUpperArm"),
    ("rightHand", "rightLowerArm"),
    ("leftUpperLeg", "hips"),
    ("leftLowerLeg", "leftUpperLeg"),
    ("leftFoot", "leftLowerLeg"),
    ("leftToes", "leftFoot"),
    ("rightUpperLeg", "hips"),
    ("rightLowerLeg", "rightUpperLeg"),
    ("rightFoot", "rightLowerLeg"),
    ("rightToes", "rightFoot"),
)


def joint_index(names: tuple[str, ...], name: str) -> int:
    """The index of joint ``name`` in ``names``; KeyError naming it when there is none."""
    try:
        return names.index(name)
    except ValueError:
        raise KeyError(f"no joint named {name!r}") from None


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A joint hierarchy in its rest pose. Rest rotations are identity (bones are not rolled).

    names   : joint names, parents before children
    parents : (j,) int32, -1 for the root
    heads   : (j, 3) float32 rest joint positions in model space (metres)
    tails   : (j, 3) float32 a point the joint points at (its child, or an end point); used for
              display and for bone-distance weighting, not for deformation
    """

    names: tuple[str, ...]
    parents: np.ndarray
    heads: np.ndarray
    tails: np.ndarray

    def __post_init__(self) -> None:
        j = len(self.names)
        if self.parents.shape != (j,) or self.heads.shape != (j, 3) or self.tails.shape != (j, 3):
            raise ValueError("skeleton arrays do not match the number of joints")
        for i, p in enumerate(self.parents):
            if p >= i:
                raise ValueError(f"joint {self.names[i]!r} listed before its parent")
        if not (np.isfinite(self.heads).all() and np.isfinite(self.tails).all()):
            raise ValueError("skeleton positions contain NaN or Inf")

    def index(self, name: str) -> int:
        return joint_index(self.names, name)

    @property
    def local_offsets(self) -> np.ndarray:
        """(j, 3) rest translation of each joint relative to its parent (root: model space)."""
        off = self.heads.astype(np.float64).copy()
        has = self.parents >= 0
        off[has] -= self.heads[self.parents[has]]
        return off

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "joint_names": np.array(self.names),
            "parents": self.parents,
            "heads": self.heads,
            "tails": self.tails,
        }

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> Skeleton:
        return cls(
            names=tuple(str(s) for s in a["joint_names"]),
            parents=np.asarray(a["parents"], np.int32),
            heads=np.asarray(a["heads"], np.float32),
            tails=np.asarray(a["tails"], np.float32),
        )


def forward_kinematics(
    skeleton: Skeleton, rotations: np.ndarray, root_translation: np.ndarray | None = None
) -> np.ndarray:
    """World transforms of every joint for a batch of poses.

    rotations        : (f, j, 4) local rotations (x, y, z, w) relative to the rest pose
    root_translation : (f, 3) root position in model space, or None to keep the rest position
    returns (f, j, 4, 4) float64 joint-to-model matrices
    """
    rotations = np.asarray(rotations, np.float64)
    f, j = rotations.shape[:2]
    local = np.zeros((f, j, 4, 4))
    local[..., :3, :3] = quat_to_matrix(rotations)
    local[..., :3, 3] = skeleton.local_offsets[None]
    local[..., 3, 3] = 1.0
    if root_translation is not None:
        local[:, 0, :3, 3] = root_translation
    world = np.empty_like(local)
    for i, p in enumerate(skeleton.parents):
        world[:, i] = local[:, i] if p < 0 else world[:, p] @ local[:, i]
    return world


def skinning_matrices(skeleton: Skeleton, world: np.ndarray) -> np.ndarray:
    """Matrices that carry rest-pose vertices to the posed pose: world @ inverse(bind).

    world : (f, j, 4, 4) from :func:`forward_kinematics`; returns (f, j, 4, 4) float64.
    Bind matrices are pure translations because rest rotations are identity.
    """
    inv_bind = np.tile(np.eye(4), (len(skeleton.names), 1, 1))
    inv_bind[:, :3, 3] = -skeleton.heads
    return world @ inv_bind[None]
