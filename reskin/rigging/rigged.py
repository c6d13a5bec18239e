"""A rigged character in the library: rigged once (skeleton fit + skin weights + UV atlas), stored
as a new version of the generated body, loaded as read-only arrays by every later stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import reskin
from reskin.assets.arrays import pack_arrays, unpack_arrays
from reskin.assets.character_spec import CharacterSpec
from reskin.assets.characters import generated_key
from reskin.assets.library import AssetRecord, Library
from reskin.core.hashing import key_of
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton

RIG_VERSION = "2"
ATLAS_SIZE = 1024


@dataclass(frozen=True, eq=False)
class RiggedCharacter:
    """A rigged character as loaded from the library.

    joints, weights : (n, 4) uint16 / float32 skin weights on ``mesh.vertices``
    artist_nodes    : (21,) for a character from a file: the glTF node of its ``model.glb`` each
                      canonical joint sits on (-1: between others); None for a generated one
    position, part  : (s, s, 3) float16 / (s, s) int16 its UV atlas baked to rest-pose points
                      (float16: a millimetre at head height, plenty for painting patterns, and
                      half the bytes every skin job reads and hashes) and body parts (-1: none)
    """

    record: AssetRecord
    mesh: Mesh
    skeleton: Skeleton
    joints: np.ndarray
    weights: np.ndarray
    position: np.ndarray
    part: np.ndarray
    artist_nodes: np.ndarray | None = None

    @property
    def from_file(self) -> bool:
        """Whether this is a character from a file (its skins are made from its model.glb)."""
        return self.artist_nodes is not None and "model.glb" in self.record.blobs


def rig_key(base: AssetRecord) -> str:
    return key_of("rig", RIG_VERSION, base.content_hash, ATLAS_SIZE)


def find_rigged(lib: Library, spec: CharacterSpec) -> AssetRecord | None:
    """The rigged version of ``spec`` if it was already made (no work is done)."""
    base = lib.find_by_key("character", generated_key(spec))
    return lib.find_by_key("character", rig_key(base)) if base is not None else None


def ensure_rigged(lib: Library, base: AssetRecord, spec: CharacterSpec) -> tuple[AssetRecord, bool]:
    """Fit the skeleton and compute skin weights for ``base``, once; stored as a new version."""
    key = rig_key(base)
    found = lib.find_by_key("character", key)
    if found is not None:
        return found, False
    # Imported only to rig (scipy's solvers are a quarter of a second of imports that a build
    # with every rig made already need not pay).
    from reskin.assets.texture_bake import rasterize_surface
    from reskin.rigging.fit import fit_skeleton
    from reskin.rigging.weights import bind_weights

    mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(base.blobs["mesh.npz"])))
    skeleton = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton, max_influences=4)
    position, part, _ = rasterize_surface(mesh, ATLAS_SIZE)
    record = lib.add(
        spec.name, "character",
        {
            "mesh.npz": lib.read_blob(base.blobs["mesh.npz"]),
            "rig.npz": pack_arrays({**skeleton.to_arrays(), "skin_joints": joints,
                                    "skin_weights": weights}),
            "atlas.npz": atlas_blob(position, part),
        },
        meta={"stage": "rigged", "joints": len(skeleton.names), "height": base.meta["height"],
              "vertices": base.meta["vertices"]},
        provenance={"generator": "reskin.rig", "generator_version": RIG_VERSION,
                    "method": "geometric joint fit + bone heat diffusion weights",
                    "author": spec.author, "license": spec.license,
                    "reskin": reskin.__version__},
        parents=(base,),
        input_key=key,
    )
    return record, True


def atlas_blob(position: np.ndarray, part: np.ndarray) -> bytes:
    """The rig's atlas blob: (s, s, 3) positions stored as float16, (s, s) parts."""
    return pack_arrays({"position": np.asarray(position, np.float16), "part": part})


def load_rigged(lib: Library, record: AssetRecord) -> RiggedCharacter:
    """A rigged character from the library. Its arrays are read-only views of the blobs (a
    stored version never changes; a caller that needs to edit one copies it)."""
    def arrays(role: str) -> dict[str, np.ndarray]:
        return unpack_arrays(lib.read_blob(record.blobs[role]), copy=False)

    mesh = Mesh.from_arrays(arrays("mesh.npz"))
    rig = arrays("rig.npz")
    atlas = arrays("atlas.npz")
    return RiggedCharacter(
        record=record, mesh=mesh, skeleton=Skeleton.from_arrays(rig),
        joints=rig["skin_joints"], weights=rig["skin_weights"],
        position=atlas["position"], part=atlas["part"],
        artist_nodes=rig.get("artist_nodes"),
    )
