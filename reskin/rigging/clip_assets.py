"""Clips as library assets: imported once on a canonical skeleton, retargeted at use time.

A ``clip`` asset holds two blobs:

``clip.npz``      :meth:`Clip.to_arrays` of the motion, on canonical (VRM humanoid) joint names
``skeleton.npz``  :meth:`Skeleton.to_arrays` of the rest pose those rotations are relative to

The skeleton is the *source's own* rest pose, renamed to canonical joints, turned into reskin's
frame (+X left, +Y up, +Z forward) and scaled to metres. Keeping the source's proportions (rather
than retargeting onto some template body at import) means nothing is lost at import: bone
directions are exactly the source's, so retargeting the stored clip onto a character later gives
the same result as retargeting the BVH file itself. Every character gets its own retarget at use
time (:func:`clip_for_character`), scaled to its own legs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import reskin
from reskin.assets.arrays import pack_arrays, unpack_arrays
from reskin.assets.library import AssetRecord, Library, parse_ref
from reskin.core.clip import Clip
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton
from reskin.core.transforms import quat_to_matrix
from reskin.rigging.bvh import BvhMotion, read_bvh
from reskin.rigging.names import CANONICAL, detect_convention, map_to_canonical
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS
from reskin.rigging.retarget import retarget_bvh, source_axes

CLIP_IMPORT_VERSION = "1"
# The stored rest pose is scaled so its hips stand this high above its lowest joint: about a
# 1.75 m adult. Only for readability of the stored clip; retargeting rescales to each character.
HIPS_HEIGHT_M = 0.95
_CANON_PARENT = dict(HUMANOID_JOINTS)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def source_frame(rest: np.ndarray, src: dict[str, int]) -> np.ndarray:
    """(3, 3) rows: the source's left, up and forward axes (as reskin's x, y, z).

    rest : (j, 3) source rest positions; src : canonical name -> source joint index.
    Same construction as :func:`reskin.rigging.retarget.retarget_bvh`, so both agree.
    """
    return source_axes(rest[src["leftUpperLeg"]] - rest[src["rightUpperLeg"]],
                       rest[src["head"]] - rest[src["hips"]])


def _leaf_direction(bvh: BvhMotion, rest: np.ndarray, s: int, q: np.ndarray) -> np.ndarray:
    """Rest direction (reskin frame) of source joint ``s`` with no mapped child: towards its
    first descendant not on top of it (a hand towards its fingers), else its End Site, else
    along its parent bone. Mirrors what the retargeter reads for a leaf, so the two agree."""
    eps = 1e-6 * float(np.ptp(rest, axis=0).max())
    queue = list(np.flatnonzero(bvh.parents == s))
    while queue:
        k = queue.pop(0)
        if np.linalg.norm(rest[k] - rest[s]) > eps:
            return rest[k] - rest[s]
        queue += list(np.flatnonzero(bvh.parents == k))
    if not np.isnan(bvh.end_sites[s]).any() and np.linalg.norm(bvh.end_sites[s]) > 0:
        return bvh.end_sites[s] @ q.T
    p = bvh.parents[s]
    return rest[s] - rest[p] if p >= 0 else np.array([0.0, 1.0, 0.0])


def bvh_rest_skeleton(bvh: BvhMotion, convention: str) -> tuple[Skeleton, float]:
    """The BVH's rest pose as a canonical skeleton, and the metres-per-source-unit scale.

    Only the canonical joints the convention maps are kept (parents are the nearest mapped
    canonical ancestor), in reskin's frame, hips above the origin, lowest joint at y = 0, scaled
    so the hips stand :data:`HIPS_HEIGHT_M` high. heads / tails (j, 3) float32.
    Raises ValueError when the hips, upper legs or head have no source joint.
    """
    mapping = map_to_canonical(bvh.names, convention)
    missing = [n for n in ("hips", "leftUpperLeg", "rightUpperLeg", "head") if n not in mapping]
    if missing:
        raise ValueError(f"no source joint for {', '.join(missing)}")
    src = {c: bvh.index(s) for c, s in mapping.items()}
    rest = bvh.rest_positions()
    q = source_frame(rest, src)
    rest = rest @ q.T
    names = tuple(n for n in CANONICAL if n in src)
    parents = []
    for n in names:
        p = _CANON_PARENT[n]
        while p is not None and p not in src:  # skip canonical joints the source lacks
            p = _CANON_PARENT[p]
        parents.append(names.index(p) if p is not None else -1)
    parents_arr = np.array(parents, np.int32)
    heads = np.array([rest[src[n]] for n in names], np.float64)
    hips = heads[0].copy()
    lowest = float(heads[:, 1].min())
    scale = HIPS_HEIGHT_M / max(float(hips[1]) - lowest, 1e-9)
    heads = (heads - [hips[0], lowest, hips[2]]) * scale
    tails = np.empty_like(heads)
    for i, n in enumerate(names):
        kids = np.flatnonzero(parents_arr == i)
        if len(kids):
            tails[i] = heads[kids[0]]
        else:
            d = _leaf_direction(bvh, rest, src[n], q) * scale
            # A leaf must have some length for the retargeter to read a direction from it.
            tails[i] = heads[i] + (d if np.linalg.norm(d) > 1e-6 else [0.0, 0.05, 0.0])
    skeleton = Skeleton(names=names, parents=parents_arr, heads=heads.astype(np.float32),
                        tails=tails.astype(np.float32))
    return skeleton, float(scale)


def clip_to_motion(clip: Clip, skeleton: Skeleton) -> BvhMotion:
    """A clip on ``skeleton`` as a :class:`BvhMotion` with canonical names ("vrm" convention),
    so the retargeter can carry it onto another skeleton.

    rotations (f, j, 3, 3) from the clip's quaternions; translations (f, j, 3) the rest offsets,
    the root's replaced by the clip's root path; leaves get End Sites along their tails.
    """
    names = skeleton.names
    offsets = skeleton.local_offsets
    parents = skeleton.parents.astype(np.int64)
    ends = np.full((len(names), 3), np.nan)
    for i in range(len(names)):
        if not (parents == i).any():
            ends[i] = skeleton.tails[i].astype(np.float64) - skeleton.heads[i]
    trans = np.repeat(offsets[None], clip.frames, axis=0)
    trans[:, 0] = clip.root_translation
    return BvhMotion(names=names, parents=parents, offsets=offsets, end_sites=ends,
                     fps=clip.fps, rotations=quat_to_matrix(clip.for_skeleton(names)),
                     translations=trans)


def retarget_clip(clip: Clip, source: Skeleton, target: Skeleton) -> Clip:
    """``clip`` (on ``source``) retargeted onto ``target``: rest-pose alignment per bone and
    root motion scaled by leg length, as :func:`reskin.rigging.retarget.retarget_bvh`."""
    return retarget_bvh(clip_to_motion(clip, source), target, name=clip.name, convention="vrm")


def _check_license(license_: str | None) -> None:
    # The importer's SPDX pattern, so `clip import` and `asset import` accept the same ids.
    from reskin.assets.importer import _SPDX_RE

    if license_ is not None and not _SPDX_RE.match(license_):
        raise ReskinError(f"license {license_!r} is not an SPDX identifier or expression "
                          "(e.g. CC-BY-4.0, CC0-1.0, MIT, LicenseRef-studio)", field="--license")


TPOSE_ARM_DEG = 25.0
"""An arm within this many degrees of horizontal (both arms) is held out in a T-pose."""


def tpose_frames(clip: Clip, skeleton: Skeleton) -> tuple[int, int]:
    """(leading, trailing) numbers of T-pose / calibration frames at the ends of ``clip``.

    Mocap takes often start (or end) with the actor in a T-pose for calibration, one frame
    or a few, before the motion proper: frames with both upper arms within
    :data:`TPOSE_ARM_DEG` of horizontal, in a clip whose middle frame has its arms down. The
    frames after them, while the pose is still jumping towards the motion (a joint turning
    more than 20 degrees in a frame), go too. (0, 0) for a clip that is a T-pose throughout.
    """
    from reskin.core.skeleton import forward_kinematics

    names = skeleton.names
    arms = [(names.index(f"{s}UpperArm"), names.index(f"{s}LowerArm")) for s in ("left", "right")
            if f"{s}UpperArm" in names and f"{s}LowerArm" in names]
    if len(arms) < 2 or clip.frames < 3:
        return 0, 0
    world = forward_kinematics(skeleton, clip.for_skeleton(names), clip.root_translation)
    level = np.ones(clip.frames, bool)
    for a, b in arms:
        d = world[:, b, :3, 3] - world[:, a, :3, 3]
        d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
        level &= np.abs(d[:, 1]) < np.sin(np.radians(TPOSE_ARM_DEG))
    if level[clip.frames // 2]:
        return 0, 0
    q = clip.for_skeleton(names).astype(np.float64)
    step = np.zeros(clip.frames)
    dots = np.abs((q[1:] * q[:-1]).sum(-1)).clip(0, 1)
    step[1:] = np.degrees(2 * np.arccos(dots)).max(axis=1)  # largest joint turn per frame
    lead = 0
    while lead < clip.frames // 2 and level[lead]:
        lead += 1
    while lead and lead < clip.frames // 2 and step[lead] > 20:
        lead += 1
    trail = 0
    while trail < clip.frames // 2 and level[clip.frames - 1 - trail]:
        trail += 1
    while trail and trail < clip.frames // 2 and step[clip.frames - trail] > 20:
        trail += 1
    return lead, trail


def _trimmed(clip: Clip, lead: int, trail: int) -> Clip:
    stop = clip.frames - trail
    return Clip(name=clip.name, fps=clip.fps, joint_names=clip.joint_names,
                rotations=clip.rotations[lead:stop], root_translation=clip.root_translation[
                    lead:stop])


def import_bvh_clip(lib: Library, path: str | Path, name: str, *, license: str | None = None,
                    author: str | None = None, trim_tpose: bool = True
                    ) -> tuple[AssetRecord, bool]:
    """Read a BVH file and store it as the next version of clip asset ``name``.

    ``trim_tpose``: leave out T-pose / calibration frames at the clip's ends
    (:func:`tpose_frames`; how many is in the record's meta, ``trimmed``).

    Returns (record, made_now): importing the same bytes again as ``name`` returns the latest
    version unchanged. Raises ReskinError (one line naming the file) on a malformed file or
    joint names that match no convention; the library is untouched then.
    """
    path = Path(path)
    parse_ref(name)
    if "@" in name:
        raise ReskinError(f"clip name {name!r} must not carry a version", field="--name")
    if name in PROCEDURAL_CLIPS:
        raise ReskinError(f"{name!r} is the name of a procedural clip; choose another name",
                          field="--name")
    _check_license(license)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReskinError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    sha = hashlib.sha256(data).hexdigest()
    key = key_of("clip-import", CLIP_IMPORT_VERSION, sha, license, author,
                 *(["keep-tpose"] if not trim_tpose else []))
    try:
        latest = lib.get(name)
    except ReskinError:
        latest = None
    if latest is not None and latest.kind == "clip" and latest.input_key == key:
        return latest, False
    try:
        bvh = read_bvh(path)
        convention = detect_convention(bvh.names)
        skeleton, scale = bvh_rest_skeleton(bvh, convention)
        # Unplanted: the stored clip is the source's motion as is; each character's retarget
        # plants the feet for its own legs.
        clip = retarget_bvh(bvh, skeleton, name=name, convention=convention, plant=False)
        lead, trail = tpose_frames(clip, skeleton) if trim_tpose else (0, 0)
        clip = _trimmed(clip, lead, trail)
    except ReskinError:
        raise  # read_bvh's own one line, file:line and joint or field
    except ValueError as exc:
        # read_bvh already names the file (and line); the others do not.
        msg = str(exc)
        raise (ReskinError(msg) if msg.startswith(str(path)) else
               ReskinError(msg, file=path)) from None
    record = lib.add(
        name, "clip",
        {"clip.npz": pack_arrays(clip.to_arrays()),
         "skeleton.npz": pack_arrays(skeleton.to_arrays())},
        meta={"frames": clip.frames, "fps": clip.fps, "duration": round(clip.duration, 4),
              "joints": len(skeleton.names), "convention": convention,
              "trimmed": [lead, trail]},
        provenance={k: v for k, v in {
            "source": str(path.resolve()), "source_sha256": sha, "format": "bvh",
            "fps": bvh.fps, "frames": bvh.frames, "convention": convention,
            "source_joints": len(bvh.names), "metres_per_unit": scale,
            "generator": "reskin.clip_import", "generator_version": CLIP_IMPORT_VERSION,
            "license": license, "author": author, "reskin": reskin.__version__,
        }.items() if v is not None},
        input_key=key,
    )
    return record, True


def load_clip_asset(lib: Library, ref: str) -> tuple[Clip, Skeleton, AssetRecord]:
    """The clip asset ``ref`` (NAME or NAME@V): its clip, the skeleton it is on, its record."""
    record = lib.get(ref)
    if record.kind != "clip":
        raise ReskinError(f"{record.ref} is a {record.kind}, not a clip")
    clip = Clip.from_arrays(record.name, unpack_arrays(lib.read_blob(record.blobs["clip.npz"])))
    skeleton = Skeleton.from_arrays(unpack_arrays(lib.read_blob(record.blobs["skeleton.npz"])))
    return clip, skeleton, record


def clip_for_character(lib: Library, clip: str, skeleton: Skeleton, fps: float = 30.0) -> Clip:
    """Clip ``clip`` on a character's ``skeleton``: a procedural clip (idle, wave, nod) made for
    it at ``fps``, or a clip asset (NAME, NAME@V) retargeted onto it at the asset's own rate."""
    if clip in PROCEDURAL_CLIPS:
        from reskin.rigging.procedural_clips import make_clip

        return make_clip(clip, skeleton, fps)
    try:
        motion, source, record = load_clip_asset(lib, clip)
    except ReskinError as exc:
        raise ReskinError(f"{exc.message} (procedural clips: {', '.join(PROCEDURAL_CLIPS)})",
                          field="--clip") from None
    try:
        return retarget_clip(motion, source, skeleton)
    except ValueError as exc:
        raise ReskinError(f"cannot retarget {record.ref}: {exc}") from None
