"""Write the FBX files the FBX-import tests read, with Blender (run in a subprocess, bpy 5).

``python make_fbx.py DIR`` writes DIR/hero.fbx (3 bones Hips > Spine > Head, a box skinned to
them, a shape key "Smile", a material "Skin_MAT" with an embedded PNG texture, one action
"Wave"), DIR/ext/hero_ext.fbx (the same, its texture DIR/ext/skin_tex.png beside it, not
embedded) and DIR/bones_only.fbx (the armature alone, no mesh).
"""

import os
import sys

import bpy

folder = sys.argv[1]
out = os.path.join(folder, "hero.fbx")
bpy.ops.wm.read_factory_settings(use_empty=True)
png = os.path.join(folder, "skin_tex.png")
img = bpy.data.images.new("skin_tex", 4, 4)
img.pixels = [0.8, 0.3, 0.2, 1.0] * 16
img.filepath_raw = png
img.file_format = "PNG"
img.save()

arm_data = bpy.data.armatures.new("Rig")
arm = bpy.data.objects.new("Rig", arm_data)
bpy.context.scene.collection.objects.link(arm)
bpy.context.view_layer.objects.active = arm
bpy.ops.object.mode_set(mode="EDIT")
names = ["Hips", "Spine", "Head"]
prev = None
for i, n in enumerate(names):
    b = arm_data.edit_bones.new(n)
    b.head = (0, 0, 1.0 + 0.3 * i)
    b.tail = (0, 0, 1.3 + 0.3 * i)
    if prev:
        b.parent = prev
        b.use_connect = True
    prev = b
bpy.ops.object.mode_set(mode="OBJECT")

# A column of 4 rings (a box stretched over the bones), UVs unrolled around it.
verts, faces = [], []
for k in range(4):
    z = 1.0 + 0.3 * k
    verts += [(-0.2, -0.2, z), (0.2, -0.2, z), (0.2, 0.2, z), (-0.2, 0.2, z)]
for k in range(3):
    a, b = 4 * k, 4 * (k + 1)
    for j in range(4):
        faces.append((a + j, a + (j + 1) % 4, b + (j + 1) % 4, b + j))
faces += [(3, 2, 1, 0), (12, 13, 14, 15)]
me = bpy.data.meshes.new("Body")
me.from_pydata(verts, [], faces)
me.uv_layers.new(name="UVMap")
for loop in me.loops:
    v = me.vertices[loop.vertex_index].co
    me.uv_layers[0].data[loop.index].uv = ((v.x + 0.2) / 0.4, (v.z - 1.0) / 0.9)
body = bpy.data.objects.new("Body", me)
bpy.context.scene.collection.objects.link(body)
mat = bpy.data.materials.new("Skin_MAT")
mat.use_nodes = True
nt = mat.node_tree
tex = nt.nodes.new("ShaderNodeTexImage")
tex.image = bpy.data.images.load(png)
nt.links.new(tex.outputs["Color"], nt.nodes["Principled BSDF"].inputs["Base Color"])
me.materials.append(mat)
for n in names:
    body.vertex_groups.new(name=n)
for v in me.vertices:
    k = min(int(round((v.co.z - 1.0) / 0.3)), 2)
    body.vertex_groups[names[k]].add([v.index], 1.0, "REPLACE")
body.parent = arm
mod = body.modifiers.new("Armature", "ARMATURE")
mod.object = arm
body.shape_key_add(name="Basis")
smile = body.shape_key_add(name="Smile")
for i in range(12, 16):
    smile.data[i].co.x *= 1.5

arm.animation_data_create()
bpy.context.view_layer.objects.active = arm
pb = arm.pose.bones["Spine"]
pb.rotation_mode = "XYZ"
for f, angle in ((1, 0.0), (10, 0.5), (20, 0.0)):
    pb.rotation_euler = (angle, 0, 0)
    pb.keyframe_insert("rotation_euler", frame=f)
arm.animation_data.action.name = "Wave"
bpy.ops.export_scene.fbx(filepath=out, path_mode="COPY", embed_textures=True,
                         add_leaf_bones=False, bake_anim=True)
bpy.ops.export_scene.fbx(filepath=os.path.join(folder, "bones_only.fbx"),
                         object_types={"ARMATURE"}, add_leaf_bones=False, bake_anim=False)
os.makedirs(os.path.join(folder, "ext"))
os.replace(png, os.path.join(folder, "ext", "skin_tex.png"))  # hero.fbx keeps its own copy
tex.image.filepath = os.path.join(folder, "ext", "skin_tex.png")
bpy.ops.export_scene.fbx(filepath=os.path.join(folder, "ext", "hero_ext.fbx"),
                         path_mode="RELATIVE", embed_textures=False, add_leaf_bones=False,
                         bake_anim=True)
