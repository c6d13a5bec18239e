"""`reskin rig NAME`: fit (or correct) a character's skeleton, bind weights, store a new version.

The default path (a generated or imported body, no override file, 4 influences) makes exactly
what :func:`reskin.rigging.rigged.ensure_rigged` makes, under the same input key, so a build
reuses a rig made from the command line and the command reuses one a build made. Corrections
(an override file, 8 influences, recomputed weights) get their own key.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import reskin
from reskin.assets.arrays import pack_arrays, unpack_arrays
from reskin.assets.library import AssetRecord, Library
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton
from reskin.rigging.joint_edits import apply_overrides, check_bones, skeleton_from_joints
from reskin.rigging.names import CANONICAL
from reskin.rigging.rigged import ATLAS_SIZE, RIG_VERSION, atlas_blob, rig_key

RIG_JOB_VERSION = "1"
INFLUENCES = (4, 8)  # glTF's one set of 4, or two sets for engines that read 8
# An override may sit a little outside the mesh's box (a joint centre near a thin surface), but
# a point far outside is a typo or the wrong unit (centimetres for metres).
_BOUNDS_MARGIN = 0.1  # of the height


@dataclass(frozen=True)
class RigResult:
    """What :func:`rig_asset` did.

    record     : the new version, or the existing one when nothing needed doing
    made       : False when an identical rig already existed (or nothing was asked to change)
    skeleton   : "fitted", "given" (every joint in the override file) or "kept" (from rig.npz)
    weights    : "computed" or "kept"
    overridden : the joints the override file moved
    confidence : {joint: confidence in [0, 1]} of a fitted skeleton (else empty)
    warnings   : one line per joint fitted with low confidence, naming the override to give
    """

    record: AssetRecord
    made: bool
    skeleton: str
    weights: str
    overridden: tuple[str, ...] = ()
    confidence: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def load_joint_overrides(path: str | Path, names: tuple[str, ...], lo: np.ndarray,
                         hi: np.ndarray) -> dict[str, np.ndarray]:
    """Parse an override file: a YAML mapping of joint name -> [x, y, z] in model metres.

    names : the joints that may be named; lo, hi : (3,) the box a point must lie in.
    returns {joint: (3,) float64}. Raises ReskinError naming the file, line and joint on an
    unknown joint, a value that is not three numbers, or a point outside the box.
    """
    from reskin.core.fields import load_yaml

    f = load_yaml(path)
    out: dict[str, np.ndarray] = {}
    for key in f.keys(names, "joint"):
        point = np.array(f.numbers(key, 3), np.float64)
        if (point < lo).any() or (point > hi).any():
            box = ", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in zip(lo, hi, strict=True))
            f.error(f"point {point.round(3).tolist()} is outside the character "
                    f"(x, y, z within {box} metres)", key)
        out[key] = point
    if not out:
        f.error("names no joints; expected a mapping of joint name to [x, y, z]")
    return out


def rig_asset(lib: Library, ref: str, *, skeleton_file: str | Path | None = None,
              recompute_weights: bool = False, influences: int | None = None) -> RigResult:
    """Rig the character ``ref`` (NAME or NAME@V) and store the result as its next version,
    with ``ref`` as parent.

    Unrigged input: fit the canonical skeleton from the geometry (helper geometry of imported
    meshes ignored), correct it with ``skeleton_file``, or take it whole from there if the file
    gives every joint; weights by bone heat diffusion with ``influences`` (default 4) per vertex.
    Rigged input (has rig.npz): its skeleton, corrected by ``skeleton_file``; its weights kept
    unless ``recompute_weights``. Raises ReskinError (one line) on any problem.
    """
    if influences is not None and influences not in INFLUENCES:
        raise ReskinError(f"influences must be 4 or 8, got {influences}", field="--influences")
    base = lib.get(ref)
    if base.kind != "character":
        # Say the command that fixes it, with the file it came from when the library knows it.
        # A name keeps its kind, so the character needs a name of its own.
        source = base.provenance.get("source") if base.kind == "prop" else None
        if source:
            new_name = f"{base.name[:54]}-character"
            raise ReskinError(f"{base.ref} is a prop, and rig rigs characters; import the file "
                              f"again as a character under a new name: reskin asset import "
                              f"{shlex.quote(str(source))} --name {new_name} --kind character")
        raise ReskinError(f"{base.ref} is a {base.kind}; rig rigs characters: import it again "
                          "with --kind character")
    if "mesh.npz" not in base.blobs:
        raise ReskinError(f"{base.ref} is a character without a mesh; only characters with "
                          "mesh.npz (generated or imported) can be rigged")
    mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(base.blobs["mesh.npz"])))
    if "model.glb" in base.blobs:
        return _rig_file(lib, base, mesh, skeleton_file, recompute_weights, influences)
    old = unpack_arrays(lib.read_blob(base.blobs["rig.npz"])) if "rig.npz" in base.blobs else None
    old_skeleton = Skeleton.from_arrays(old) if old is not None else None
    names = old_skeleton.names if old_skeleton is not None else CANONICAL

    overrides: dict[str, np.ndarray] = {}
    source: dict = {}
    if skeleton_file is not None:
        margin = _BOUNDS_MARGIN * mesh.height
        v = mesh.vertices.astype(np.float64)
        overrides = load_joint_overrides(skeleton_file, names, v.min(axis=0) - margin,
                                         v.max(axis=0) + margin)
        data = Path(skeleton_file).read_bytes()
        source = {"skeleton_file": str(Path(skeleton_file).resolve()),
                  "skeleton_file_sha256": hashlib.sha256(data).hexdigest()}

    if old is not None:
        k_old = int(old["skin_weights"].shape[1])
        if not recompute_weights and influences not in (None, k_old):
            raise ReskinError(f"{base.ref} has {k_old} influences per vertex; add "
                              f"--recompute-weights to change to {influences}",
                              field="--influences")
        n_inf = influences or k_old
        if not overrides and not recompute_weights:
            return RigResult(base, False, "kept", "kept")
    else:
        n_inf = influences or 4

    plain = old is None and not overrides and n_inf == 4
    key = rig_key(base) if plain else key_of(
        "rig", RIG_VERSION, base.content_hash, ATLAS_SIZE, RIG_JOB_VERSION,
        {"overrides": {k: v.tolist() for k, v in sorted(overrides.items())},
         # Recomputing means nothing without weights to keep: same key either way then.
         "recompute": bool(recompute_weights) and old is not None, "influences": n_inf})
    found = lib.find_by_key("character", key)
    how_skeleton = "kept" if old is not None else (
        "given" if set(overrides) == set(CANONICAL) else "fitted")
    how_weights = "kept" if old is not None and not recompute_weights else "computed"
    if found is not None and found.name == base.name:
        conf = found.meta.get("joint_confidence", {})
        return RigResult(found, False, how_skeleton, how_weights, tuple(sorted(overrides)),
                         conf, low_confidence_warnings(conf))

    confidence: dict[str, float] = {}
    try:
        if old_skeleton is not None:
            skeleton = apply_overrides(old_skeleton, overrides)
        elif how_skeleton == "given":
            skeleton = skeleton_from_joints(overrides)
        else:
            from reskin.rigging.body import body_only
            from reskin.rigging.fit_constraints import fit_with_constraints

            # Generated bodies are fitted whole, exactly as the build does; imported ones
            # without their helper geometry (tights, marker cubes), which is not body, and with
            # the trunk convention of the rigs and clips they meet (Mixamo). Given joints are
            # constraints: the fit places the rest around them, even where it failed alone.
            generated = base.meta.get("stage") == "generated"
            report = fit_with_constraints(mesh if generated else body_only(mesh), overrides,
                                          trunk="reskin" if generated else "mixamo")
            skeleton, confidence = report.skeleton, report.confidence
            check_bones(skeleton.names, skeleton.heads, skeleton.tails, set(overrides))
    except ValueError as exc:
        hint = "" if skeleton_file is not None else (
            "; give a few joints with --skeleton FILE (e.g. leftHand, rightHand, neck: "
            "[x, y, z]) and the rest is fitted around them")
        raise ReskinError(f"cannot rig {base.ref}: {exc}{hint}") from None

    if how_weights == "kept":
        joints, weights = old["skin_joints"], old["skin_weights"]
    else:
        from reskin.rigging.weights import bind_weights

        joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton, max_influences=n_inf)
    if old is not None and "atlas.npz" in base.blobs:
        atlas = lib.read_blob(base.blobs["atlas.npz"])  # same mesh, same atlas
    else:
        from reskin.assets.texture_bake import rasterize_surface

        position, part, _ = rasterize_surface(mesh, ATLAS_SIZE)
        atlas = atlas_blob(position, part)

    prov = base.provenance
    record = lib.add(
        base.name, "character",
        # Only what a rigged character is made of: an imported model.glb stays with the parent
        # (export prefers model.glb, which would hide the new rig).
        {"mesh.npz": lib.read_blob(base.blobs["mesh.npz"]),
         "rig.npz": pack_arrays({**skeleton.to_arrays(), "skin_joints": joints,
                                 "skin_weights": weights}),
         "atlas.npz": atlas},
        meta={"stage": "rigged", "joints": len(skeleton.names),
              "height": base.meta.get("height", mesh.height),
              "vertices": base.meta.get("vertices", len(mesh.vertices)),
              **({"joint_confidence": confidence} if confidence else {})},
        provenance={k: v for k, v in {
            "generator": "reskin.rig", "generator_version": RIG_VERSION,
            "method": "geometric joint fit + bone heat diffusion weights",
            "skeleton": how_skeleton, "weights": how_weights, "influences": n_inf,
            "overrides": {k: v.round(6).tolist() for k, v in sorted(overrides.items())} or None,
            "joint_confidence": confidence or None,
            **source,
            "author": prov.get("author"), "license": prov.get("license"),
            "reskin": reskin.__version__,
        }.items() if v is not None},
        parents=(base,),
        input_key=key,
    )
    return RigResult(record, True, how_skeleton, how_weights, tuple(sorted(overrides)),
                     confidence, low_confidence_warnings(confidence))


def low_confidence_warnings(confidence: dict[str, float]) -> tuple[str, ...]:
    """One line per joint under :data:`reskin.rigging.fit_constraints.LOW_CONFIDENCE`, least
    confident first, suggesting the override that fixes it."""
    from reskin.rigging.fit_constraints import LOW_CONFIDENCE

    low = sorted((n for n, c in confidence.items() if c < LOW_CONFIDENCE),
                 key=lambda n: confidence[n])
    return tuple(f"joint {n} fitted with low confidence ({confidence[n]:.2f}): check it, or "
                 f"give it with --skeleton FILE ({n}: [x, y, z])" for n in low)


def _overrides(path: str | Path | None, names: tuple[str, ...], mesh: Mesh
               ) -> tuple[dict[str, np.ndarray], dict]:
    """The joints an override file gives (checked to lie on the character) and its provenance."""
    if path is None:
        return {}, {}
    margin = _BOUNDS_MARGIN * mesh.height
    v = mesh.vertices.astype(np.float64)
    overrides = load_joint_overrides(path, names, v.min(axis=0) - margin, v.max(axis=0) + margin)
    data = Path(path).read_bytes()
    return overrides, {"skeleton_file": str(Path(path).resolve()),
                       "skeleton_file_sha256": hashlib.sha256(data).hexdigest()}


def _rig_file(lib: Library, base: AssetRecord, mesh: Mesh, skeleton_file: str | Path | None,
              recompute: bool, influences: int | None) -> RigResult:
    """:func:`rig_asset` for a character from a file: what the file holds is kept
    (:mod:`reskin.rigging.file_rig`). Its own humanoid skin is mapped, not replaced; with
    ``recompute`` only its weights change (reskin's, on the artist's joints); a static file, or
    one given joints with ``skeleton_file``, gets the canonical skeleton fitted and added."""
    from reskin.rigging import file_rig as fr

    if base.meta.get("stage") == "rigged":  # a file rig already: work from what it was made of
        if skeleton_file is None and not recompute and influences is None:
            return RigResult(base, False, "kept", "kept")
        base = lib.get(base.parents[0])
    model = lib.read_blob(base.blobs["model.glb"])
    vrm = (base.meta.get("vrm") or {}).get("humanoid")
    overrides, source = _overrides(skeleton_file, CANONICAL, mesh)
    try:
        mode = fr.choose_mode(fr.model_outline(model), "auto" if overrides else None, vrm)
    except ReskinError as exc:
        raise ReskinError(f"cannot rig {base.ref}: {exc.message}") from None
    n_inf = influences or 4
    if mode == "auto" and recompute and not overrides and "skins" in fr.read_model(model).json:
        mode = "artist"  # not a humanoid: reskin's weights on its own joints, nothing else
    if mode in ("own", "artist"):
        if influences not in (None, 4) and not recompute:
            raise ReskinError(f"{base.ref} keeps the artist's weights; add --recompute-weights "
                              f"to make {influences} per vertex", field="--influences")
        extra = {"recompute": True} if recompute else None
        key = fr.file_rig_key(base.content_hash, mode, n_inf, extra)
        how = ("kept", "computed" if recompute else "kept")
    else:
        extra = {"overrides": {k: v.tolist() for k, v in sorted(overrides.items())}} \
            if overrides else None
        key = fr.file_rig_key(base.content_hash, "auto", n_inf, extra)
        how = ("given" if set(overrides) == set(CANONICAL) else "fitted", "computed")
    found = lib.find_by_key("character", key)
    if found is not None and found.name == base.name:
        conf = found.meta.get("joint_confidence", {})
        return RigResult(found, False, *how, tuple(sorted(overrides)), conf,
                         low_confidence_warnings(conf))
    confidence: dict[str, float] = {}
    if mode == "artist":
        record = fr.store_reweighted(lib, base, fr.recompute_own_weights(model, mesh, n_inf),
                                     key, {"skeleton": "kept", "weights": "computed",
                                           "influences": n_inf})
        return RigResult(record, True, *how)
    if mode == "own":
        if recompute:
            model = fr.recompute_own_weights(model, mesh, n_inf)
        rig = fr.rig_own(model, mesh, vrm)
    else:
        fit = fr.fit_for_file(mesh, overrides)
        confidence = fit.confidence
        rig = fr.rig_auto(model, mesh, fit.skeleton, n_inf)
    prov = {"skeleton": how[0], "weights": how[1], "influences": n_inf,
            "overrides": {k: v.round(6).tolist() for k, v in sorted(overrides.items())} or None,
            "joint_confidence": confidence or None, **source}
    record = fr.store_file_rig(lib, base, rig, key, {k: v for k, v in prov.items()
                                                     if v is not None})
    return RigResult(record, True, *how, tuple(sorted(overrides)), confidence,
                     low_confidence_warnings(confidence))
