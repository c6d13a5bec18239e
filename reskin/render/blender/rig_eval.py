"""Blender's view of a rig, for tests and benchmarks: run as a script in its own process.

    python reskin/render/blender/rig_eval.py REQUEST.json

REQUEST is a JSON object with ``op`` and ``glb`` (a rigged GLB) and ``out`` (an .npz path):

- ``pose``: evaluate the armature deformation of the mesh for ``frames`` (clip frame indices
  from 0) of the animation ``clip`` at ``fps``; ``preserve_volume`` switches Blender to
  dual-quaternion skinning. Writes ``rest`` (n, 3) and ``posed`` (f, n, 3). Optional: ``mesh``
  (the mesh object's name; default the first mesh the armature deforms) and ``shape_keys``
  ({name: value}: those shape keys are set, every other one is 0), so ``posed`` is the shape
  keys then the armature, as Blender evaluates them; ``rest`` is always the basis.
- ``auto_weights``: drop the mesh's vertex groups and parent it to the armature with
  ``ARMATURE_AUTO`` (bone heat). Writes ``rest`` (n, 3), ``local`` (n, 3) (the mesh data's own
  coordinates, converted to +Y up), ``weights`` (n, b) and ``bones`` (b,).
- ``time``: like ``pose`` but only times the per-frame depsgraph evaluation of the deformed
  mesh; writes ``seconds`` (evaluation only) and ``vertices`` (the evaluated vertex count).

All coordinates written are glTF's (+Y up): Blender's world (x, y, z) is glTF's (x, z, -y).
Only this file and the other render/blender scripts import bpy.
"""

from __future__ import annotations

import json
import sys
import time

import bpy
import numpy as np


def _import(glb: str, fps: float, merge: bool = False, mesh_name: str | None = None
            ) -> tuple[object, object]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    # The importer turns glTF seconds into frames at the scene's rate: set it first.
    scene.render.fps = int(round(fps))
    scene.render.fps_base = scene.render.fps / fps
    bpy.ops.import_scene.gltf(filepath=glb, disable_bone_shape=True, merge_vertices=merge)
    if mesh_name is not None:
        mesh = scene.objects[mesh_name]
        return mesh.find_armature(), mesh
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    mesh = next(o for o in scene.objects if o.type == "MESH" and o.find_armature() is arm)
    return arm, mesh


def _set_shape_keys(mesh: object, values: dict[str, float]) -> None:
    keys = mesh.data.shape_keys
    blocks = keys.key_blocks if keys is not None else {}
    missing = sorted(set(values) - {b.name for b in blocks})
    if missing:
        raise KeyError(f"{mesh.name} has no shape keys {missing}")
    if keys is not None and keys.animation_data is not None:
        keys.animation_data_clear()  # the values asked for, not an imported weights animation
    for block in list(blocks)[1:]:  # the first is the basis
        block.slider_min = min(block.slider_min, float(values.get(block.name, 0.0)))
        block.slider_max = max(block.slider_max, float(values.get(block.name, 0.0)))
        block.value = float(values.get(block.name, 0.0))


def _to_gltf(world: np.ndarray) -> np.ndarray:
    return np.stack([world[..., 0], world[..., 2], -world[..., 1]], axis=-1)


def _coords(mesh_data: object, matrix: np.ndarray) -> np.ndarray:
    n = len(mesh_data.vertices)
    co = np.empty(n * 3, np.float64)
    mesh_data.vertices.foreach_get("co", co)
    co = co.reshape(n, 3)
    return _to_gltf(co @ matrix[:3, :3].T + matrix[:3, 3])


def _play(arm: object, clip: str) -> float:
    """Assign the action of glTF animation ``clip``; returns the frame of clip time 0."""
    action = bpy.data.actions.get(clip) or next(
        a for a in bpy.data.actions if a.name.startswith(clip)
    )
    arm.animation_data.use_nla = False
    arm.animation_data.action = action
    return float(action.frame_range[0])


def pose(req: dict) -> None:
    arm, mesh = _import(req["glb"], req["fps"], mesh_name=req.get("mesh"))
    if "shape_keys" in req:
        _set_shape_keys(mesh, req["shape_keys"])
    armature = next(m for m in mesh.modifiers if m.type == "ARMATURE")
    armature.use_deform_preserve_volume = bool(req.get("preserve_volume", False))
    base = _play(arm, req["clip"])
    scene = bpy.context.scene
    matrix = np.array(mesh.matrix_world)
    rest = _coords(mesh.data, matrix)
    posed = []
    for frame in req["frames"]:
        scene.frame_set(int(base) + int(frame))
        dg = bpy.context.evaluated_depsgraph_get()
        ev = mesh.evaluated_get(dg)
        posed.append(_coords(ev.data, np.array(ev.matrix_world)))
    np.savez(req["out"], rest=rest, posed=np.stack(posed), base=base)


def timing(req: dict) -> None:
    arm, mesh = _import(req["glb"], req["fps"])
    armature = next(m for m in mesh.modifiers if m.type == "ARMATURE")
    armature.use_deform_preserve_volume = bool(req.get("preserve_volume", False))
    base = _play(arm, req["clip"])
    scene = bpy.context.scene
    co = None
    start = time.perf_counter()
    for frame in req["frames"]:
        scene.frame_set(int(base) + int(frame))
        ev = mesh.evaluated_get(bpy.context.evaluated_depsgraph_get())
        # Read the positions back, as reskin's LBS hands its caller an array.
        n = len(ev.data.vertices)
        co = np.empty(n * 3, np.float32) if co is None else co
        ev.data.vertices.foreach_get("co", co)
    seconds = time.perf_counter() - start
    np.savez(req["out"], seconds=seconds, vertices=len(mesh.data.vertices))


def auto_weights(req: dict) -> None:
    arm, mesh = _import(req["glb"], 1.0, merge=bool(req.get("merge", True)))
    # Rest pose, and the mesh detached from its armature with no groups left to reuse.
    arm.animation_data_clear()
    for pb in arm.pose.bones:
        pb.matrix_basis.identity()
    mesh.modifiers.clear()
    mesh.vertex_groups.clear()
    world = mesh.matrix_world.copy()
    mesh.parent = None
    mesh.matrix_world = world
    bpy.ops.object.select_all(action="DESELECT")
    mesh.select_set(True)
    arm.select_set(True)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.parent_set(type="ARMATURE_AUTO")
    bones = [g.name for g in mesh.vertex_groups]
    n = len(mesh.data.vertices)
    w = np.zeros((n, len(bones)))
    for v in mesh.data.vertices:
        for g in v.groups:
            w[v.index, g.group] = g.weight
    np.savez(req["out"], rest=_coords(mesh.data, np.array(mesh.matrix_world)), weights=w,
             bones=np.array(bones), local=_coords(mesh.data, np.eye(4)))


if __name__ == "__main__":
    request = json.loads(open(sys.argv[1]).read())
    {"pose": pose, "time": timing, "auto_weights": auto_weights}[request["op"]](request)
