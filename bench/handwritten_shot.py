"""A hand-written bpy script rendering one shot: the anchor reskin's render overhead is
measured against (bench/render.py). Usage: python handwritten_shot.py SHOT.json OUT_DIR"""

import json
import math
import sys

import bpy
from mathutils import Vector

shot = json.load(open(sys.argv[1]))
out = sys.argv[2]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = shot["fps"]


def v(p):
    return Vector((p[0], -p[2], p[1]))


for member in shot["cast"]:
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=member["glb"], disable_bone_shape=True)
    new = [o for o in bpy.data.objects if o not in before]
    arm = next(o for o in new if o.type == "ARMATURE")
    arm.location = v(member["position"])
    arm.rotation_euler = (0, 0, math.radians(member["facing_deg"]))
    arm.animation_data.use_nla = False
    arm.animation_data.action = next(a for a in bpy.data.actions if a.name == member["clip"])
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
scene.collection.objects.link(cam)
cam.data.lens = shot["camera"]["lens_mm"]
cam.data.sensor_fit, cam.data.sensor_height = "VERTICAL", 24.0
cam.location = v(shot["camera"]["location"])
aim = v(shot["camera"]["target"]) - cam.location
cam.rotation_euler = aim.to_track_quat("-Z", "Y").to_euler()
scene.camera = cam
for i, light in enumerate(shot["lights"]):
    data = bpy.data.lights.new(f"l{i}", light["type"])
    data.energy = light["energy"]
    obj = bpy.data.objects.new(f"l{i}", data)
    scene.collection.objects.link(obj)
    obj.location = v(light["location"])
r = scene.render
r.resolution_x, r.resolution_y, r.resolution_percentage = shot["width"], shot["height"], 100
r.film_transparent = True
r.engine = "CYCLES"
# the same settings reskin's worker uses, so only the overhead differs
scene.view_settings.view_transform = "Standard"
cyc = scene.cycles
cyc.device, cyc.samples, cyc.use_denoising = "CPU", shot["samples"], False
cyc.seed, cyc.max_bounces = 0, 4
for f in range(shot["frame_count"]):
    scene.frame_set(1 + f)
    r.filepath = f"{out}/hand_{f:04d}.png"
    bpy.ops.render.render(write_still=True)
