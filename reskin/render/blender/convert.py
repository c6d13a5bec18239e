"""Convert a file only Blender reads (FBX) into a self-contained GLB, inside the worker process.

Blender's own FBX importer reads Mixamo, Character Creator and Rocketbox exports; its glTF
exporter writes them out as one GLB (skins, shape keys as named morph targets, actions as
animations, materials and their images). The library then imports that GLB like any other.
Imports bpy: only the worker (reskin.render.blender.worker) imports this module.
"""

from __future__ import annotations

import os

import bpy


class Refused(Exception):
    """Blender could not make a GLB of the file; the message is one line for the user."""


def _one_line(exc: BaseException) -> str:
    # Operator errors arrive as "Error: ...\n" with Python tracebacks folded in: keep the gist.
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return last.removeprefix("Error:").strip()[:200]


def _import_fbx(src: str) -> None:
    try:
        # automatic_bone_orientation stays off: the joints keep the file's own rest rotations,
        # so retargeting and the name maps see what the source tool wrote.
        result = bpy.ops.import_scene.fbx(filepath=src, use_anim=True,
                                          automatic_bone_orientation=False,
                                          ignore_leaf_bones=False)
    except Exception as exc:  # the importer raises whatever its parser hit on a broken file
        why = _one_line(exc).replace(f" '{src}'", "")  # the caller names the file already
        raise Refused(f"Blender cannot read it as FBX: {why}") from None
    if "FINISHED" not in result:
        raise Refused("Blender cannot read it as FBX (the importer cancelled)")


def _owner(action, owners: dict) -> tuple[object, str] | None:
    """The object or shape-key set an imported action animates, and its take (AnimStack) name.

    Blender's FBX importer names actions ``OWNER|TAKE`` (``OWNER|TAKE|LAYER`` for a layer that
    is not the take's own); owner names may hold ``|`` too, so the longest match wins.
    """
    for name in sorted(owners, key=len, reverse=True):
        if action.name.startswith(name + "|"):
            return owners[name], action.name[len(name) + 1:]
    return None


def _takes_as_tracks() -> list[str]:
    """Put every imported action on an NLA track named after its take, on what it animates.

    The importer makes one action per take and per animated thing (the armature, each mesh's
    shape keys); the glTF exporter merges same-named tracks, so each take becomes one glTF
    animation holding both its joint and its morph-weight channels. Returns the take names.
    """
    owners = {o.name: o for o in bpy.data.objects} | {k.name: k for k in bpy.data.shape_keys}
    takes = []
    for action in list(bpy.data.actions):
        found = _owner(action, owners)
        if found is None or not action.slots:
            continue
        owner, take = found
        anim = owner.animation_data or owner.animation_data_create()
        track = anim.nla_tracks.new()
        track.name = take
        strip = track.strips.new(take, int(action.frame_range[0]), action)
        strip.action_slot = action.slots[0]
        if take not in takes:
            takes.append(take)
    for owner in owners.values():
        if owner.animation_data is not None:
            owner.animation_data.action = None  # only the tracks play, one take at a time
    return takes


def convert_to_glb(src: str, out: str) -> dict:
    """Read ``src`` (.fbx) into an empty Blender session and write ``out`` as one GLB.

    The GLB is written under a temporary name and renamed, so ``out`` is either complete or
    absent. Returns what was converted: mesh, armature and take names and the image files
    Blender read from disk (for provenance). Raises :class:`Refused` on a file Blender cannot
    read or one without a mesh. Leaves the session holding the converted scene.
    """
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ext = os.path.splitext(src)[1].lower()
    if ext != ".fbx":
        raise Refused(f"cannot convert {ext!r} files; expected .fbx")
    _import_fbx(src)
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    if not meshes:
        found = sorted({o.type.lower() for o in bpy.data.objects})
        raise Refused(f"the FBX holds no mesh (only {', '.join(found) or 'nothing'})")
    images = sorted({bpy.path.abspath(i.filepath) for i in bpy.data.images
                     if i.source == "FILE" and i.packed_file is None and i.filepath})
    takes = _takes_as_tracks()
    tmp = f"{out}.tmp.glb"
    try:
        bpy.ops.export_scene.gltf(
            filepath=tmp, export_format="GLB", export_yup=True, export_apply=False,
            export_skins=True, export_morph=True, export_morph_normal=True,
            export_animations=True, export_animation_mode="NLA_TRACKS",
            export_merge_animation="NLA_TRACK",
            export_image_format="AUTO", export_materials="EXPORT", export_texcoords=True,
            export_normals=True, export_cameras=False, export_lights=False,
            export_extras=False, use_selection=False, use_visible=False,
        )
        os.replace(tmp, out)
    except Exception as exc:  # the exporter choked on what the importer made of the file
        raise Refused(f"Blender read it but could not write a GLB: {_one_line(exc)}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return {
        "out": out, "meshes": sorted(o.name for o in meshes),
        "armatures": sorted(o.name for o in bpy.data.objects if o.type == "ARMATURE"),
        "animations": takes, "images": images,
        "blender": bpy.app.version_string,
    }
