"""Import a GLB twice in Blender and print which objects :func:`shape_key_meshes` finds for
each glTF mesh key (run by test_blender_face.py in a subprocess: bpy 5)."""

import json
import os
import sys

import bpy

from reskin.render.blender.face import glb_json, shape_key_meshes

path = sys.argv[1]
bpy.ops.wm.read_factory_settings(use_empty=True)
out = []
for _ in range(2):
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=path)
    new = [o for o in bpy.data.objects if o not in before]
    found = shape_key_meshes(glb_json(path), new)
    out.append({key: [{"object": o.name, "data": o.data.name,
                       "x": sum(v.co.x for v in o.data.vertices) / len(o.data.vertices),
                       "shapes": [k.name for k in o.data.shape_keys.key_blocks[1:]]}
                      for o in objs] for key, objs in found.items()})
with open(os.environ["PROBE_OUT"], "w") as fh:
    json.dump(out, fh)
