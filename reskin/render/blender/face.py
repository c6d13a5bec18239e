"""Play a compiled face performance on an imported character, inside the worker process.

Shape keys: each canonical channel's binds (glTF mesh key, morph target index, weight) drive
the Blender shape keys the glTF importer made of those targets, keyframed per frame in the
shape-key datablock's own action (not the body clip's shared one), made per shot and cleared
at the next. Gaze: Damped Track + Limit Rotation constraints on the eye pose bones aiming at an
empty keyframed at the gaze target; removed at the next shot. Imports bpy: only the worker
(reskin.render.blender.worker) imports this module.
"""

from __future__ import annotations

import json
import math
import re
import struct

import bpy
from mathutils import Vector

from reskin.rigging.face_names import mesh_keys

_SUFFIX = re.compile(r"\.\d{3,}$")  # Blender's ".001" for a name already taken
FACE_TAG = "reskin_face"  # names of what a shot adds, so the next one finds and removes it


def glb_json(path: str) -> dict:
    """The JSON chunk of a GLB file (the binary chunk is not read)."""
    with open(path, "rb") as fh:
        magic, _, _ = struct.unpack("<4sII", fh.read(12))
        if magic != b"glTF":
            raise ValueError(f"{path} is not a GLB file")
        length, kind = struct.unpack("<II", fh.read(8))
        if kind != 0x4E4F534A:  # "JSON"
            raise ValueError(f"{path}: the first GLB chunk is not JSON")
        return json.loads(fh.read(length))


def shape_key_meshes(js: dict, objects: list) -> dict[str, list]:
    """glTF mesh key (:func:`reskin.rigging.face_names.mesh_keys`) -> the Blender mesh objects
    of one import (``objects``) showing that glTF mesh, for the meshes with morph targets.

    Blender names an imported mesh datablock after the glTF mesh, adding ".001" when the name
    is taken (every import of the same avatar has the same names), and its shape keys after
    ``extras.targetNames``; nodes become objects, so a mesh used twice is two objects sharing
    one datablock. A glTF mesh takes the unclaimed datablock with its shape keys (names, or
    count where unnamed), preferring its own name, then the lowest ".NNN" (Blender numbers
    repeats in the order it makes them).
    """
    blender = [o for o in objects if o.type == "MESH" and o.data.shape_keys is not None]
    datablocks: dict[str, object] = {}
    for o in blender:
        datablocks.setdefault(o.data.name, o.data)
    claimed: set[str] = set()
    out: dict[str, list] = {}
    for key, m in zip(mesh_keys(js), js.get("meshes", []), strict=True):
        n = max((len(p.get("targets", [])) for p in m.get("primitives", [])), default=0)
        names = list(m.get("extras", {}).get("targetNames", []))[:n]
        if not n:
            continue

        def fits(data, n=n, names=names) -> bool:
            shapes = [k.name for k in data.shape_keys.key_blocks[1:]]
            return len(shapes) == n and (not names or shapes[:len(names)] == names)

        wanted = m.get("name")

        def order(name: str, wanted=wanted) -> tuple[bool, int, str]:
            base = _SUFFIX.sub("", name)
            number = int(name[len(base) + 1:]) if name != base else 0
            return (base != wanted, number, name)

        free = sorted((n for n, d in datablocks.items() if n not in claimed and fits(d)),
                      key=order)
        if free:
            claimed.add(free[0])
            out[key] = [o for o in blender if o.data.name == free[0]]
    return out


def clear_face(entry: dict) -> None:
    """Undo what :func:`play_face` did in the last shot: shape-key actions and values, eye
    constraints (the gaze empty is a shot object the worker removes)."""
    for key in entry.get("face_keys", []):
        if key.animation_data is not None:
            action = key.animation_data.action
            key.animation_data_clear()
            if action is not None and action.users == 0:
                bpy.data.actions.remove(action)
        for block in key.key_blocks[1:]:
            block.value = 0.0
    entry["face_keys"] = []
    for arm in entry["armatures"]:
        for bone in arm.pose.bones:
            for c in [c for c in bone.constraints if c.name.startswith(FACE_TAG)]:
                bone.constraints.remove(c)


def _channel_values(face: dict, frames: int) -> dict[tuple[str, int], list[float]]:
    """(mesh key, target index) -> per-frame shape value: each channel's weight times its
    bind weight, summed over the channels sharing a target, clamped to 0..1."""
    out: dict[tuple[str, int], list[float]] = {}
    for channel, binds in face.get("binds", {}).items():
        weights = face["weights"].get(channel)
        if not weights:
            continue
        for mesh, index, w in binds:
            acc = out.setdefault((mesh, int(index)), [0.0] * frames)
            for i in range(frames):
                acc[i] += w * weights[min(i, len(weights) - 1)]
    return {k: [min(1.0, max(0.0, v)) for v in vals] for k, vals in out.items()}


def _keyframes(datablock, data_path: str, base: int, values: list[float],
               action_name: str, index: int = 0) -> None:
    """Key ``datablock.<data_path>[index]`` to ``values`` at frames base, base+1, ...; in the
    datablock's own action (made on first use)."""
    ad = datablock.animation_data or datablock.animation_data_create()
    if ad.action is None:
        ad.action = bpy.data.actions.new(action_name)
    fcurve = ad.action.fcurve_ensure_for_datablock(datablock, data_path, index=index)
    fcurve.keyframe_points.clear()
    fcurve.keyframe_points.add(len(values))
    co = [c for i, v in enumerate(values) for c in (float(base + i), float(v))]
    fcurve.keyframe_points.foreach_set("co", co)
    for kp in fcurve.keyframe_points:
        kp.interpolation = "LINEAR"  # every frame is keyed; nothing to overshoot between
    fcurve.update()


def play_face(entry: dict, face: dict | None, frames: int, base: int, shot: str,
              to_blender, scene) -> list:
    """Drive ``entry``'s shape keys and eyes through ``face`` (the plan's cast member "face")
    from frame ``base``; returns the objects it added to the scene (removed with the shot)."""
    clear_face(entry)
    if not face:
        return []
    if "face_meshes" not in entry:
        entry["face_meshes"] = shape_key_meshes(glb_json(entry["glb"]), entry["objects"])
    keys = []
    for (mesh, index), values in _channel_values(face, frames).items():
        for obj in entry["face_meshes"].get(mesh, [])[:1]:  # shared datablocks: key once
            key = obj.data.shape_keys
            if index + 1 >= len(key.key_blocks):
                continue
            if key not in keys:
                keys.append(key)
            # By index (0 is the basis): target names may hold characters a path would quote.
            _keyframes(key, f"key_blocks[{index + 1}].value", base, values,
                       f"{FACE_TAG}:{shot}:{key.name}")
    entry["face_keys"] = keys
    added = []
    if face.get("gaze") and face.get("eye_joints"):
        added.append(_aim_eyes(entry, face, base, shot, to_blender, scene))
    return added


def _forward_axis(arm, bone_name: str) -> tuple[str, str, str]:
    """(track axis, up axis, side axis) of an eye bone: the bone axis nearest the character's
    forward at rest (for Damped Track) and the ones nearest up and to the side (for limits).

    The character faces glTF +Z, Blender -Y in the armature's frame; importers orient eye
    bones every which way (the avatars' point +X forward), so the axis is found, not assumed.
    """
    rest = arm.data.bones[bone_name].matrix_local.to_3x3()
    axes = {n: rest @ Vector(v) for n, v in (("X", (1, 0, 0)), ("Y", (0, 1, 0)),
                                             ("Z", (0, 0, 1)))}

    def nearest(direction: Vector) -> tuple[str, float]:
        name = max(axes, key=lambda n: abs(axes[n].dot(direction)))
        return name, axes[name].dot(direction)

    fwd, sign = nearest(Vector((0, -1, 0)))
    up, _ = nearest(Vector((0, 0, 1)))
    side = next(n for n in "XYZ" if n not in (fwd, up))
    track = f"TRACK_{'' if sign > 0 else 'NEGATIVE_'}{fwd}"
    return track, up, side


def _aim_eyes(entry: dict, face: dict, base: int, shot: str, to_blender, scene):
    """An empty keyframed at the gaze target; each eye bone tracks it, clamped."""
    from reskin.scenes.performance import EYE_PITCH_LIMIT, EYE_YAW_LIMIT

    target = bpy.data.objects.new(f"{FACE_TAG}:gaze:{shot}", None)
    scene.collection.objects.link(target)
    gaze = face["gaze"]
    for axis in range(3):
        _keyframes(target, "location", base, [float(to_blender(p)[axis]) for p in gaze],
                   f"{FACE_TAG}:{shot}:gaze", index=axis)
    for arm in entry["armatures"]:
        for name in face["eye_joints"]:
            bone = arm.pose.bones.get(name)
            if bone is None:
                continue
            track, up, side = _forward_axis(arm, name)
            aim = bone.constraints.new("DAMPED_TRACK")
            aim.name, aim.target, aim.track_axis = f"{FACE_TAG}:aim", target, track
            limit = bone.constraints.new("LIMIT_ROTATION")
            limit.name, limit.owner_space = f"{FACE_TAG}:limit", "LOCAL"
            for axis, degrees in ((up, EYE_YAW_LIMIT), (side, EYE_PITCH_LIMIT)):
                setattr(limit, f"use_limit_{axis.lower()}", True)
                setattr(limit, f"min_{axis.lower()}", -math.radians(degrees))
                setattr(limit, f"max_{axis.lower()}", math.radians(degrees))
    return target

