"""Animation clips on a named skeleton: per-frame local rotations and a root path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Clip:
    """A clip sampled at a fixed rate.

    joint_names      : the joints the rotations refer to (a subset or reordering of a skeleton)
    rotations        : (f, j, 4) float32 local rotations (x, y, z, w) relative to rest
    root_translation : (f, 3) float32 root (hips) position in model space
    """

    name: str
    fps: float
    joint_names: tuple[str, ...]
    rotations: np.ndarray
    root_translation: np.ndarray

    def __post_init__(self) -> None:
        f = self.rotations.shape[0]
        if self.rotations.shape != (f, len(self.joint_names), 4):
            raise ValueError(f"rotations must be (f, {len(self.joint_names)}, 4)")
        if self.root_translation.shape != (f, 3):
            raise ValueError(f"root_translation must be ({f}, 3)")
        if self.fps <= 0:
            raise ValueError("fps must be positive")

    @property
    def frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def duration(self) -> float:
        return (self.frames - 1) / self.fps

    def for_skeleton(self, names: tuple[str, ...]) -> np.ndarray:
        """(f, len(names), 4) rotations in ``names`` order; joints the clip lacks stay at rest."""
        out = np.zeros((self.frames, len(names), 4), np.float32)
        out[..., 3] = 1.0
        index = {n: i for i, n in enumerate(self.joint_names)}
        for k, n in enumerate(names):
            if n in index:
                out[:, k] = self.rotations[:, index[n]]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "joint_names": np.array(self.joint_names),
            "rotations": self.rotations,
            "root_translation": self.root_translation,
            "fps": np.array(self.fps),
        }

    @classmethod
    def from_arrays(cls, name: str, a: dict[str, np.ndarray]) -> Clip:
        return cls(
            name=name,
            # pack_arrays stores a 0-d array as shape (1,) (np.ascontiguousarray): take either.
            fps=float(np.asarray(a["fps"]).ravel()[0]),
            joint_names=tuple(str(s) for s in a["joint_names"]),
            rotations=np.asarray(a["rotations"], np.float32),
            root_translation=np.asarray(a["root_translation"], np.float32),
        )
