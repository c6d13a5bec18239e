"""A hand-written bpy script rendering one shot: the anchor reskin's render overhead is
measured against (bench/render.py). Usage: python handwritten_shot.py SHOT.json OUT_DIR

Like with like: the same characters and clip, camera, aimed and coloured lights, world colour,
set (floor, wall), face shape keys per frame, the same Cycles settings (samples, adaptive
sampling, denoiser, persistent data) and the same passes, written the way a script would
write them: Blender's own multilayer EXR of the render result (ZIP, half float) beside the
PNG. Not done here: the eyes' gaze constraint (two bone constraints) and props."""

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


def aim(obj, target):
    obj.rotation_euler = (v(target) - obj.location).to_track_quat("-Z", "Y").to_euler()


faces = []  # (shape key block, per-frame values)
for member in shot["cast"]:
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=member["glb"], disable_bone_shape=True)
    new = [o for o in bpy.data.objects if o not in before]
    arm = next(o for o in new if o.type == "ARMATURE")
    arm.location = v(member["position"])
    arm.rotation_euler = (0, 0, math.radians(member["facing_deg"]))
    arm.animation_data.use_nla = False
    arm.animation_data.action = next(a for a in bpy.data.actions if a.name == member["clip"])
    face = member.get("face")
    if face:
        # The face's channels -> shape key values, by the same lookup the worker uses.
        from reskin.render.blender.face import _channel_values, glb_json, shape_key_meshes

        meshes = shape_key_meshes(glb_json(member["glb"]), new)
        for (mesh, index), values in _channel_values(face, shot["frame_count"]).items():
            for obj in meshes.get(mesh, [])[:1]:
                blocks = obj.data.shape_keys.key_blocks
                if index + 1 < len(blocks):
                    faces.append((blocks[index + 1], values))
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
scene.collection.objects.link(cam)
cam.data.lens = shot["camera"]["lens_mm"]
cam.data.sensor_fit, cam.data.sensor_height = "VERTICAL", 24.0
cam.location = v(shot["camera"]["location"])
aim(cam, shot["camera"]["target"])
scene.camera = cam
for i, light in enumerate(shot["lights"]):
    data = bpy.data.lights.new(f"l{i}", light["type"])
    data.energy = light["energy"]
    data.color = light.get("color", (1.0, 1.0, 1.0))
    if light["type"] == "AREA":
        data.size = light.get("size", 1.0)
    obj = bpy.data.objects.new(f"l{i}", data)
    scene.collection.objects.link(obj)
    obj.location = v(light["location"])
    aim(obj, light.get("target", [0.0, 1.0, 0.0]))
stage = shot.get("set")
if stage:
    parts = [("floor", stage["floor"], (0, 0, 0), (0, 0, 0))]
    if stage.get("wall"):
        parts.append(("wall", stage["wall"], (0, -stage["wall_z"], 5), (math.radians(90), 0, 0)))
    for name, color, loc, rot in parts:
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata([(-20, -20, 0), (20, -20, 0), (20, 20, 0), (-20, 20, 0)], [],
                         [(0, 1, 2, 3)])
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in color]
        mat = bpy.data.materials.new(name)
        mat.use_nodes = True
        mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (*lin, 1)
        mat.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value = 0.9
        mesh.materials.append(mat)
        obj = bpy.data.objects.new(name, mesh)
        obj.location, obj.rotation_euler = loc, rot
        scene.collection.objects.link(obj)
scene.world = bpy.data.worlds.new("world")
scene.world.color = shot.get("ambient", (0.05, 0.05, 0.05))
r = scene.render
r.resolution_x, r.resolution_y, r.resolution_percentage = shot["width"], shot["height"], 100
r.film_transparent = True
r.engine = "CYCLES"
r.use_persistent_data = True
# the same settings reskin's worker uses, so only the overhead differs
scene.view_settings.view_transform = "Standard"
cyc = scene.cycles
cyc.samples, cyc.seed, cyc.max_bounces = shot["samples"], 0, 4
# The device the worker would pick (a GPU where one is present), so that only overhead differs.
from reskin.render.devices import choose_device  # noqa: E402

prefs = bpy.context.preferences.addons["cycles"].preferences
listed = {}
for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
    try:
        prefs.compute_device_type = backend
    except TypeError:
        continue
    prefs.refresh_devices()
    listed[backend] = [{"id": d.id, "type": d.type} for d in prefs.get_devices_for_type(backend)]
choice = choose_device(listed)
prefs.compute_device_type = choice.compute_type
for d in prefs.get_devices_for_type(choice.compute_type) if choice.device_ids else []:
    d.use = d.id in choice.device_ids
cyc.device = choice.cycles_device
threshold = shot.get("noise_threshold", 0.0)
cyc.use_adaptive_sampling = threshold > 0
if threshold > 0:
    cyc.adaptive_threshold, cyc.adaptive_min_samples = threshold, max(2, shot["samples"] // 4)
cyc.use_denoising = shot.get("denoise", False)
if cyc.use_denoising:
    cyc.denoiser, cyc.denoising_input_passes = "OPENIMAGEDENOISE", "RGB_ALBEDO_NORMAL"
    cyc.denoising_prefilter = shot.get("denoise_prefilter", "fast").upper()
passes = set(shot.get("passes", ["depth", "normal", "instance", "motion", "uv"]))
layer = scene.view_layers[0]
layer.use_pass_z, layer.use_pass_normal = "depth" in passes, "normal" in passes
layer.use_pass_vector, layer.use_pass_uv = "motion" in passes, "uv" in passes
layer.use_pass_object_index = "instance" in passes
for obj in bpy.data.objects:
    if obj.type == "MESH" and obj.name not in ("floor", "wall"):
        obj.pass_index = 1
fmt = r.image_settings
for f in range(shot["frame_count"]):
    scene.frame_set(f)
    for block, values in faces:
        block.value = values[f]
    fmt.media_type, fmt.file_format, fmt.color_mode = "IMAGE", "PNG", "RGBA"
    fmt.color_depth = "8"
    r.filepath = f"{out}/hand_{f:04d}.png"
    bpy.ops.render.render(write_still=True)
    if passes:
        fmt.media_type, fmt.file_format = "MULTI_LAYER_IMAGE", "OPEN_EXR_MULTILAYER"
        fmt.color_depth, fmt.exr_codec = "16", "ZIP"
        bpy.data.images["Render Result"].save_render(f"{out}/hand_{f:04d}.exr", scene=scene)
