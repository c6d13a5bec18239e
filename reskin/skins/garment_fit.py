"""Fitting garments to a rig: skin weights and the penetration check, once per garment and rig.

How a garment is bound (its weights, transferred from the body or fixed to a joint) and how
deep it sinks into the body through the clips depend on its geometry, how it is bound, the rig
and the clips: not on its colour, the episode or what else is worn. So a garment fitted for one
episode is not fitted again for the next one that wears it: the fit is kept in memory and in the
library's derived-data cache (:mod:`reskin.assets.derived`, kind ``garment-fit``), keyed by
all of those inputs. Only a garment's first appearance on a rig pays for the fitting.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from reskin.assets import derived
from reskin.assets.arrays import pack_arrays, unpack_arrays
from reskin.assets.library import Library
from reskin.core.hashing import key_of
from reskin.rigging.procedural_clips import Clips, clip_ids, clip_list
from reskin.rigging.rigged import RiggedCharacter
from reskin.skins.garments import Garment, bind_garment
from reskin.skins.wardrobe import WardrobeSpec

FIT_VERSION = "1"
KIND = "garment-fit"
PENETRATION_FRAMES = 4
"""Frames per clip the penetration check poses (evenly spaced, plus the rest pose)."""
_MEMORY: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
_MEMORY_SIZE = 64


def clear_memory() -> None:
    """Forget the fits held in memory (as a fresh process would)."""
    _MEMORY.clear()


def fit_key(garment: Garment, rigged: RiggedCharacter, clips: Clips,
            frames_per_clip: int) -> str:
    from reskin.skins import penetration, weight_transfer

    geometry = hashlib.sha256(
        np.ascontiguousarray(garment.vertices, np.float32).tobytes()
        + np.ascontiguousarray(garment.faces, np.int64).tobytes()).hexdigest()
    method = (weight_transfer.CANDIDATE_FACES, penetration.NEAR, penetration.CLOSE,
              penetration.CANDIDATES, penetration.FAR_CANDIDATES, penetration.BIND_CANDIDATES)
    return key_of(KIND, FIT_VERSION, method, rigged.record.content_hash, geometry,
                  garment.spec.bind, garment.spec.joint, clip_ids(clips),
                  frames_per_clip)


def _fit(garment: Garment, rigged: RiggedCharacter, poses: np.ndarray) -> dict[str, np.ndarray]:
    """Bind ``garment`` and measure its penetration in ``poses`` (:func:`sample_poses`).

    Both look for each garment vertex's nearest body faces in the bind pose: the search is
    done once (the penetration check's ``BIND_CANDIDATES`` nearest; the weight transfer's
    ``CANDIDATE_FACES`` are the first of them), the same faces either would have found."""
    from reskin.skins.penetration import bind_candidates, garment_penetration

    mesh = rigged.mesh
    near = bind_candidates(garment.vertices, mesh.vertices, mesh.faces)
    bound = bind_garment(garment, mesh, rigged.skeleton, rigged.joints, rigged.weights,
                         candidates=near)
    depth = garment_penetration(mesh.vertices, mesh.faces, rigged.joints, rigged.weights,
                                rigged.skeleton, [bound], (), poses=poses,
                                candidates=[near])[garment.spec.name]
    return {"joints": bound.joints, "weights": bound.weights, "matched": bound.matched,
            "depth": np.array([depth], np.float64)}


def _poses(lib: Library, rigged: RiggedCharacter, clips: Clips, frames_per_clip: int
           ) -> np.ndarray:
    """(p, j, 4, 4) the clips' test poses (:func:`~reskin.skins.penetration.sample_poses`),
    kept in the derived-data cache beside the fits: a rig's later first fittings (another
    garment, another episode) need not make the clips to pose them."""
    from reskin.skins.penetration import sample_poses

    owner = rigged.record.content_hash
    key = key_of(KIND, FIT_VERSION, "poses", owner, clip_ids(clips), frames_per_clip)
    data = derived.read(lib, KIND, owner, key)
    if data is not None:
        try:
            poses = unpack_arrays(data).get("poses")
        except (ValueError, OSError, KeyError):
            poses = None
        j = len(rigged.skeleton.names)
        if poses is not None and poses.ndim == 4 and poses.shape[1:] == (j, 4, 4):
            return poses
    poses = sample_poses(rigged.skeleton, clip_list(clips), frames_per_clip)
    derived.write(lib, KIND, owner, key, pack_arrays({"poses": poses}))
    return poses


def _load(lib: Library, owner: str, key: str, n: int) -> dict[str, np.ndarray] | None:
    data = derived.read(lib, KIND, owner, key)
    if data is None:
        return None
    try:
        fit = unpack_arrays(data)
    except (ValueError, OSError, KeyError):
        return None
    if any(fit.get(k) is None or len(fit[k]) != n for k in ("joints", "weights", "matched")):
        return None
    return fit


def fit_garments(lib: Library, garments: Sequence[Garment], rigged: RiggedCharacter,
                 clips: Clips, frames_per_clip: int
                 ) -> tuple[list[Garment], dict[str, float], int]:
    """Bind ``garments`` to ``rigged`` and measure their penetration through ``clips``.

    Returns (bound garments, garment name -> deepest penetration in metres, how many were
    fitted now rather than found in the cache).
    """
    bound, depth, fitted = [], {}, 0
    owner = rigged.record.content_hash
    poses = None  # the clips' test poses, posed once for every garment that needs fitting
    for g in garments:
        key = fit_key(g, rigged, clips, frames_per_clip)
        fit = _MEMORY.get(key)
        if fit is None:
            fit = _load(lib, owner, key, len(g.vertices))
            if fit is None:
                if poses is None:
                    poses = _poses(lib, rigged, clips, frames_per_clip)
                fit = _fit(g, rigged, poses)
                fitted += 1
                derived.write(lib, KIND, owner, key, pack_arrays(fit))
            _MEMORY[key] = fit
            while len(_MEMORY) > _MEMORY_SIZE:
                _MEMORY.popitem(last=False)
        elif not derived.exists(lib, KIND, owner, key):  # another library with the same rig
            derived.write(lib, KIND, owner, key, pack_arrays(fit))
        _MEMORY.move_to_end(key)
        bound.append(replace(g, joints=fit["joints"], weights=fit["weights"],
                             matched=fit["matched"]))
        depth[g.spec.name] = float(fit["depth"][0])
    return bound, depth, fitted


def wardrobe_garments(lib: Library, rigged: RiggedCharacter, wardrobe: WardrobeSpec,
                      clips: Clips, images: dict, log, who: str
                      ) -> tuple[list[Garment], dict[str, float]]:
    """A wardrobe's garments built, bound to ``rigged`` and painted, with their penetration
    depth in ``clips`` (a warning is logged past :data:`~reskin.skins.penetration.WARN_DEPTH`).

    images : every texture the spec names, decoded; who : the character, for the warning.
    """
    from reskin.skins.garment_paint import paint_garment
    from reskin.skins.garments import build_garment, read_ref
    from reskin.skins.penetration import WARN_DEPTH

    garments, depth, _ = fit_garments(
        lib, [build_garment(g, rigged.mesh, rigged.skeleton, lambda r: read_ref(lib, r))
              for g in wardrobe.garments], rigged, clips, PENETRATION_FRAMES)
    garments = [paint_garment(g, images) for g in garments]  # after binding: see garment_paint
    for name, d in depth.items():
        if d > WARN_DEPTH:
            log(f"warning: {who}.{wardrobe.episode}: garment {name!r} sinks "
                f"{d * 100:.1f} cm into the body in the clips (threshold "
                f"{WARN_DEPTH * 100:.0f} cm)")
    return garments, depth
