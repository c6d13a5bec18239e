"""The Blender worker process: the only place that imports bpy.

Run as ``python -m reskin.render.blender.worker``. It reads one JSON request per line on stdin
and answers one JSON object per line on its *original* stdout; Blender's own chatter (which C
code prints to fd 1) is sent to stderr, so it can never corrupt the protocol. bpy is imported
once per process and every character is imported once per process and reused across shots.

Coordinates in requests are reskin's (metres, +Y up, characters face +Z); they are converted to
Blender's +Z-up frame here, as the glTF importer does for the characters themselves.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from contextlib import contextmanager


def _take_stdout() -> object:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


PROTO = _take_stdout()

import bpy  # noqa: E402  (stdout must be redirected before bpy starts printing)
from mathutils import Vector  # noqa: E402

from reskin.render.blender.convert import Refused, convert_to_glb  # noqa: E402
from reskin.render.blender.cycles_setup import (  # noqa: E402
    apply_cycles,
    apply_device,
    list_devices,
)
from reskin.render.blender.face import clear_face, play_face  # noqa: E402
from reskin.render.blender.finish import FrameFinisher, finish_frame  # noqa: E402
from reskin.render.devices import choose_device  # noqa: E402
from reskin.render.exr import PASS_CHANNELS  # noqa: E402

ALL_PASSES = tuple(PASS_CHANNELS)
"""Passes written for a plan that does not list its own (plans made before ``passes``)."""


class CyclesClock:
    """When Cycles reaches the stages of one ``bpy.ops.render.render()`` call, from its status
    lines: the render phase split into ``sync`` (scene and depsgraph sync, kernels: the start
    of the call to the first sample), ``trace`` (path tracing and denoising: first sample to
    "Finished") and ``after`` (the render result handed back), in seconds."""

    def __init__(self) -> None:
        self.split: dict[str, float] = {}
        self._start = self._first = self._done = None

    def start(self) -> None:
        self._start, self._first, self._done = time.perf_counter(), None, None

    def status(self, text: str) -> None:
        stage = text.rsplit("|", 1)[-1].strip()
        now = time.perf_counter()
        if self._first is None and stage.startswith("Sample"):
            self._first = now
        elif stage.startswith("Finished"):
            self._done = now

    def stop(self) -> None:
        """Add this render's stages to ``split`` (a render Cycles did not report adds none)."""
        end = time.perf_counter()
        if self._start is None or self._first is None or self._done is None:
            return
        for name, seconds in (("sync", self._first - self._start),
                              ("trace", self._done - self._first), ("after", end - self._done)):
            self.split[name] = self.split.get(name, 0.0) + seconds


CLOCK = CyclesClock()


@bpy.app.handlers.persistent  # kept across read_factory_settings (Worker.reset)
def _render_status(text, *_args) -> None:  # noqa: ANN001
    CLOCK.status(str(text))


bpy.app.handlers.render_stats.append(_render_status)


def to_blender(p: list[float]) -> Vector:
    """reskin (x, y-up, z-front) -> Blender (x, -z, y)."""
    return Vector((p[0], -p[2], p[1]))


def srgb_to_linear(color: list[float]) -> tuple[float, ...]:
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in color)


class Worker:
    """Holds the Blender session: the scene, the imported characters, the render settings."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """An empty session: no scene objects, no characters loaded."""
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self.characters: dict[str, dict] = {}  # key -> {"root", "armatures", "objects", "clips"}
        self.shot_objects: list = []
        self.shot_actions: list = []  # this shot's motion actions, removed at the next
        self.rigs: dict[str, object] = {}  # skin GLB path -> its SkinRig
        self.phases: dict[str, float] = {}  # seconds per phase of the current request
        self.device = None  # the DeviceChoice applied, once per process
        if not hasattr(self, "finisher"):  # its thread outlives a reset
            self.finisher = FrameFinisher()

    @contextmanager
    def phase(self, name: str):
        """Time a phase of the request (reported in the reply as ``phases``)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t

    # characters ---------------------------------------------------------------------------
    def load_asset(self, key: str, glb: str) -> dict:
        """Import a GLB (a skin or a prop) once per worker; later shots reuse the objects."""
        # The importer turns clip times into frames at the scene's rate: key by fps too.
        cache_key = f"{key}@{self.scene.render.fps}fps"
        if cache_key in self.characters:
            return self.characters[cache_key]
        before = set(bpy.data.objects)
        actions_before = set(bpy.data.actions)
        bpy.ops.import_scene.gltf(filepath=glb, disable_bone_shape=True)
        new = [o for o in bpy.data.objects if o not in before]
        # Every skin carries clips of the same names; keep each character's own by renaming
        # them now, before the next import would get "wave.001".
        clips = {}
        for action in [a for a in bpy.data.actions if a not in actions_before]:
            clips[action.name] = action
            action.name = f"{cache_key}|{action.name}"
        tops = [o for o in new if o.parent is None]
        root = bpy.data.objects.new(f"place:{key}", None)
        self.scene.collection.objects.link(root)
        for o in tops:
            o.parent = root
        # A character made of several skinned meshes may import as several armatures (one per
        # glTF skin): every one of them plays the shot's clip.
        armatures = [o for o in new if o.type == "ARMATURE"]
        for arm in armatures:
            if arm.animation_data is not None:
                # Only the action we assign per shot plays; the importer's NLA tracks are silent.
                arm.animation_data.use_nla = False
        entry = {"root": root, "armatures": armatures, "objects": new, "clips": clips,
                 "glb": glb}
        self.characters[cache_key] = entry
        return entry

    def _show(self, entry: dict, visible: bool) -> None:
        for o in [entry["root"], *entry["objects"]]:
            o.hide_render = not visible
            o.hide_viewport = not visible

    # shot set-up -----------------------------------------------------------------------------
    def setup_shot(self, shot: dict) -> list[tuple[dict, float]]:
        scene = self.scene
        for o in self.shot_objects:
            action = o.animation_data.action if o.animation_data else None
            bpy.data.objects.remove(o, do_unlink=True)
            if action is not None and action.users == 0:  # the camera's or gaze's keys
                bpy.data.actions.remove(action)
        self.shot_objects = []
        for entry in self.characters.values():
            for arm in entry["armatures"]:
                if arm.animation_data is not None:
                    arm.animation_data.action = None
        for action in self.shot_actions:
            bpy.data.actions.remove(action)
        self.shot_actions = []
        for entry in self.characters.values():
            self._show(entry, False)
            clear_face(entry)  # last shot's shape-key actions and eye constraints

        scene.render.fps = shot["fps"]
        placed = []
        for k, member in enumerate(shot["cast"]):
            entry = self.load_asset(member["key"], member["glb"])
            self._show(entry, True)
            for o in entry["objects"]:
                o.pass_index = k + 1  # the instance pass: k-th cast member of this shot
            root = entry["root"]
            root.location = to_blender(member["position"])
            root.rotation_euler = (0.0, 0.0, math.radians(member["facing_deg"]))
            base = 0.0
            if entry["armatures"] and member.get("motion"):
                # The pose track is in the world: the placement empty stays at the origin.
                root.location = (0.0, 0.0, 0.0)
                root.rotation_euler = (0.0, 0.0, 0.0)
                action = self._motion_action(member, entry, shot["name"])
                self._assign(entry, action)
                base = action.frame_range[0]
            elif entry["armatures"] and member.get("clip"):
                action = entry["clips"].get(member["clip"])
                if action is None:
                    raise KeyError(f"character {member['key']} has no clip {member['clip']!r}")
                for arm in entry["armatures"]:
                    arm.animation_data_create()
                    arm.animation_data.use_nla = False
                    arm.animation_data.action = action
                base = action.frame_range[0]
            placed.append((entry, base))

        cam_spec = shot["camera"]
        cam_data = bpy.data.cameras.new("cam")
        cam_data.lens = cam_spec["lens_mm"]
        cam_data.sensor_fit = "VERTICAL"
        cam_data.sensor_height = cam_spec.get("sensor_mm", 24.0)
        cam = bpy.data.objects.new("cam", cam_data)
        scene.collection.objects.link(cam)
        base = int(min((b for _, b in placed), default=0.0))
        for member, (entry, _) in zip(shot["cast"], placed, strict=True):
            self.shot_objects += play_face(entry, member.get("face"), shot["frame_count"], base,
                                           shot["name"], to_blender, scene)
        path = shot.get("camera_path") or [cam_spec]
        for i, step in enumerate(path):
            loc, target = to_blender(step["location"]), to_blender(step["target"])
            cam.location = loc
            cam.rotation_euler = (target - loc).to_track_quat("-Z", "Y").to_euler()
            if len(path) > 1:
                # Keyframes, not per-frame assignment: motion vectors see the camera move too.
                cam.keyframe_insert("location", frame=base + i)
                cam.keyframe_insert("rotation_euler", frame=base + i)
        scene.camera = cam
        self.shot_objects.append(cam)

        for i, light in enumerate(shot["lights"]):
            data = bpy.data.lights.new(f"light{i}", light["type"])
            data.energy = light["energy"]
            data.color = light.get("color", (1.0, 1.0, 1.0))
            if light["type"] == "AREA":
                data.size = light.get("size", 1.0)
            obj = bpy.data.objects.new(f"light{i}", data)
            scene.collection.objects.link(obj)
            obj.location = to_blender(light["location"])
            aim = to_blender(light.get("target", [0.0, 1.0, 0.0]))
            obj.rotation_euler = (aim - obj.location).to_track_quat("-Z", "Y").to_euler()
            self.shot_objects.append(obj)

        if shot.get("set"):
            self._build_set(shot["set"])
        world = scene.world or bpy.data.worlds.new("world")
        scene.world = world
        world.color = shot.get("ambient", (0.05, 0.05, 0.05))
        self._render_settings(shot)
        return placed

    def _motion_action(self, member: dict, entry: dict, shot: str):
        """The member's pose track as an action for its armature: written as a motion GLB
        (:mod:`reskin.rigging.motion_glb`: the skin's own bones and rest), imported, its
        action kept and the temporary armature and mesh deleted."""
        import tempfile

        import numpy as np

        from reskin.rigging.motion_glb import motion_glb, read_json, skin_rig

        glb = entry["glb"]
        if glb not in self.rigs:
            self.rigs[glb] = skin_rig(read_json(glb))
        rig = self.rigs[glb]
        motion = member["motion"]
        if list(motion["joints"]) != list(rig.skeleton.names):
            raise ValueError(f"{member['key']}: the motion's joints are not its skeleton's")
        name = f"motion|{shot}|{member['name']}"
        with open(glb, "rb") as fh:
            skin_bytes = fh.read()
        data = motion_glb(skin_bytes, rig, np.array(motion["rotations"]),
                          np.array(motion["root"]), motion["fps"], name)
        before = set(bpy.data.objects)
        actions_before = set(bpy.data.actions)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "motion.glb")
            with open(path, "wb") as fh:
                fh.write(data)
            bpy.ops.import_scene.gltf(filepath=path, disable_bone_shape=True)
        new_actions = [a for a in bpy.data.actions if a not in actions_before]
        for o in [o for o in bpy.data.objects if o not in before]:
            data_block = o.data
            bpy.data.objects.remove(o, do_unlink=True)
            if data_block is not None and data_block.users == 0:
                if isinstance(data_block, bpy.types.Mesh):
                    bpy.data.meshes.remove(data_block)
                elif isinstance(data_block, bpy.types.Armature):
                    bpy.data.armatures.remove(data_block)
        if len(new_actions) != 1:
            raise ValueError(f"the motion GLB of {member['key']} made {len(new_actions)} actions")
        action = new_actions[0]
        action.name = name
        self.shot_actions.append(action)
        return action

    @staticmethod
    def _assign(entry: dict, action) -> None:
        for arm in entry["armatures"]:
            arm.animation_data_create()
            arm.animation_data.use_nla = False
            arm.animation_data.action = action
            slots = getattr(action, "slots", None)
            if slots and getattr(arm.animation_data, "action_slot", True) is None:
                # An action imported for another object: play its (only) slot here too.
                arm.animation_data.action_slot = slots[0]

    def _build_set(self, stage: dict) -> None:
        """A floor, a backdrop wall and the props; pass index 0, so they never count as cast."""
        for prop in stage.get("props", []):
            entry = self.load_asset(prop["key"], prop["glb"])  # imported once per worker
            self._show(entry, True)
            for o in entry["objects"]:
                o.pass_index = 0
            root = entry["root"]
            root.location = to_blender(prop["position"])
            root.rotation_euler = (0.0, 0.0, math.radians(prop["facing_deg"]))
            root.scale = (prop["scale"],) * 3
        parts = [("floor", stage["floor"], (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))]
        if stage.get("wall"):
            # reskin z -> Blender -y; the wall stands upright facing the cast.
            parts.append(("wall", stage["wall"], (0.0, -stage["wall_z"], 5.0),
                          (math.radians(90), 0.0, 0.0)))
        for name, color, location, rotation in parts:
            mesh = bpy.data.meshes.new(name)
            s = 20.0
            mesh.from_pydata([(-s, -s, 0), (s, -s, 0), (s, s, 0), (-s, s, 0)], [],
                             [(0, 1, 2, 3)])
            color = srgb_to_linear(color)  # episode files give display colours
            mat = bpy.data.materials.new(name)
            mat.diffuse_color = (*color, 1.0)
            mat.use_nodes = True
            bsdf = mat.node_tree.nodes.get("Principled BSDF")
            if bsdf is not None:
                bsdf.inputs["Base Color"].default_value = (*color, 1.0)
                bsdf.inputs["Roughness"].default_value = 0.9
            mesh.materials.append(mat)
            obj = bpy.data.objects.new(name, mesh)
            obj.location, obj.rotation_euler = location, rotation
            self.scene.collection.objects.link(obj)
            self.shot_objects.append(obj)

    def _render_settings(self, shot: dict) -> None:
        r = self.scene.render
        r.resolution_x, r.resolution_y = shot["width"], shot["height"]
        r.resolution_percentage = 100
        border = shot.get("border")  # [x0, y0, x1, y1], fractions, y from the top: a crop
        r.use_border = r.use_crop_to_border = border is not None
        if border is not None:
            r.border_min_x, r.border_max_x = border[0], border[2]
            r.border_min_y, r.border_max_y = 1.0 - border[3], 1.0 - border[1]
        r.fps = shot["fps"]
        r.film_transparent = True
        self.scene.view_settings.view_transform = "Standard"
        engine = shot["engine"]
        r.use_motion_blur = False  # motion vectors need it off; it would also smear the passes
        layer = self.scene.view_layers[0]
        want = set(shot_passes(shot))
        layer.use_pass_z = "depth" in want
        layer.use_pass_normal = "normal" in want
        layer.use_pass_vector = "motion" in want
        layer.use_pass_object_index = "instance" in want
        layer.use_pass_uv = "uv" in want
        if engine == "cycles":
            r.engine = "CYCLES"
            apply_cycles(self.scene, shot, self._device())
        elif engine == "workbench":
            r.engine = "BLENDER_WORKBENCH"
            shading = self.scene.display.shading
            shading.light = "STUDIO"
            shading.color_type = "TEXTURE"
        elif engine == "eevee":
            r.engine = "BLENDER_EEVEE"
        else:
            raise ValueError(f"unknown engine {engine!r}")

    def _device(self):
        """The Cycles device (a GPU when one is present), chosen and enabled once."""
        if self.device is None:
            choice = choose_device(list_devices(), os.environ.get("RESKIN_CYCLES_DEVICE", "auto"))
            apply_device(choice)
            print(f"reskin worker: Cycles on {choice.cycles_device} ({choice.compute_type})",
                  file=sys.stderr)
            self.device = choice
        return self.device

    def devices(self) -> dict:
        """The devices listed and the one chosen (the ``devices`` request)."""
        choice = self._device()
        return {"listed": list_devices(), "compute_type": choice.compute_type,
                "device_ids": list(choice.device_ids), "cycles_device": choice.cycles_device}

    # conversion ------------------------------------------------------------------------------
    def convert(self, src: str, out: str) -> dict:
        """Convert ``src`` (FBX) to the GLB ``out``; the session is emptied before and after."""
        try:
            return convert_to_glb(src, out)
        finally:
            self.reset()  # the conversion replaced the scene the shots were set up in

    # rendering -------------------------------------------------------------------------------
    def render_shot(self, shot: dict) -> dict:
        self.phases = {}
        CLOCK.split = {}
        with self.phase("setup"):
            placed = self.setup_shot(shot)
        out_dir = shot["out_dir"]
        os.makedirs(out_dir, exist_ok=True)
        done = []
        todo = shot["frames"]
        passes = tuple(shot_passes(shot))
        settings = self.scene.render.image_settings
        settings.media_type = "IMAGE"  # Blender 5: the format list depends on the media type
        settings.file_format, settings.color_mode, settings.color_depth = "PNG", "RGBA", "8"
        settings.compression = 15  # PNG level: the default 15 %, written once per shot
        # Clips start at the action's first frame (0 for glTF imports); the shot's frame k
        # shows every character at its clip's frame k.
        base = min((b for _, b in placed), default=0.0)

        def report(frames: list[int]) -> None:
            for frame in frames:
                done.append(frame)
                send({"progress": len(done), "of": len(todo), "frame": frame})

        try:
            for frame in todo:
                with self.phase("frame_set"):
                    # The render evaluates its own depsgraph at the scene's frame: frame_set's
                    # evaluation of the view layer (every rig and mesh again) is not needed.
                    self.scene.frame_current = int(base) + frame
                with self.phase("render"):
                    CLOCK.start()
                    render_operator()
                    CLOCK.stop()
                result = bpy.data.images["Render Result"]
                tmp = os.path.join(out_dir, f".beauty_{frame:04d}.tmp.png")
                with self.phase("png"):
                    result.save_render(tmp, scene=self.scene)
                files: dict = {}
                if passes:
                    # The passes go beside the beauty as one multi-layer EXR (only their
                    # channels, compressed): Blender's scratch EXR now, the rest on the
                    # finisher's thread while the next frame renders.
                    with self.phase("exr"):
                        files = self._save_scratch(result, out_dir, frame, passes)
                self.finisher.submit(frame, finish_frame, tmp,
                                     os.path.join(out_dir, f"beauty_{frame:04d}.png"),
                                     **files)
                report(self.finisher.finished())
            with self.phase("finish"):  # the last frame's files, written after its render
                report(self.finisher.finished(block=True))
        finally:
            self.finisher.abandon()  # a failed request: its frames' jobs end before the next
        # render_split: where the render phase went (Cycles only; no part of ``phases``, whose
        # sum is the request's time)
        return {"frames": done, "phases": {k: round(v, 4) for k, v in self.phases.items()},
                "render_split": {k: round(v, 4) for k, v in CLOCK.split.items()}}

    def _save_scratch(self, result, out_dir: str, frame: int, passes: tuple[str, ...]) -> dict:
        """Blender's multilayer EXR of ``result`` as an uncompressed float scratch file in
        memory-backed storage; returns :func:`finish_frame`'s arguments that make
        ``passes_<frame>.exr`` of it (only the asked passes' channels: reskin.render.exr).

        Blender's own writer always adds the combined colour (the PNG has it), the noisy
        image and the unused half of the vector pass, and keeps data passes at full float:
        its file would be four times the size."""
        settings = self.scene.render.image_settings
        scratch = os.path.join(_scratch_dir(), f"reskin-{os.getpid()}-{frame}.exr")
        settings.media_type = "MULTI_LAYER_IMAGE"
        settings.file_format, settings.color_depth = "OPEN_EXR_MULTILAYER", "32"
        settings.exr_codec = "NONE"
        try:
            result.save_render(scratch, scene=self.scene)
        finally:
            settings.media_type = "IMAGE"
            settings.file_format, settings.color_mode, settings.color_depth = "PNG", "RGBA", "8"
        return {"scratch": scratch, "passes": passes,
                "exr_tmp": os.path.join(out_dir, f".passes_{frame:04d}.tmp.exr"),
                "exr": os.path.join(out_dir, f"passes_{frame:04d}.exr")}


def render_operator() -> None:
    """``bpy.ops.render.render()`` without the view layer updates bpy.ops wraps every operator
    in: in background mode that is every scene's view layer, evaluated before and after (every
    visible rig and mesh, twice a frame). The render evaluates its own depsgraph, which the
    shot's changes tag as they tag every depsgraph."""
    # _bpy: bpy's C module, which ``import bpy`` registers; its ops.call is what bpy.ops calls
    call = getattr(getattr(sys.modules.get("_bpy"), "ops", None), "call", None)
    if call is None:  # a Blender whose operator module differs: the public way
        bpy.ops.render.render()
    else:
        call("render.render", {})


def shot_passes(shot: dict) -> list[str]:
    """The passes ``shot`` asks for; every one for a Cycles plan made before plans listed them."""
    if shot["engine"] != "cycles":
        return []
    return list(shot.get("passes", ALL_PASSES))


def _scratch_dir() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else (
        os.environ.get("TMPDIR", "/tmp"))


def send(obj: dict) -> None:
    PROTO.write(json.dumps(obj) + "\n")
    PROTO.flush()


def main() -> None:
    profile_to = os.environ.get("RESKIN_WORKER_PROFILE")  # a .prof path: cProfile every request
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            _serve()
        finally:
            profiler.disable()
            profiler.dump_stats(profile_to)
    else:
        _serve()
    # Every file is in place and every reply sent: leave without Blender's teardown (freeing
    # each datablock, Cycles' session and kernels: some 0.15 s that only the client waits for).
    sys.stderr.flush()
    os._exit(0)


def _serve() -> None:
    worker = Worker()
    send({"ready": True, "blender": bpy.app.version_string, "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        started = time.perf_counter()
        try:
            if op == "render_shot":
                result = worker.render_shot(request["shot"])
            elif op == "convert":
                result = worker.convert(request["src"], request["out"])
            elif op == "devices":
                result = worker.devices()
            elif op == "ping":
                result = {}
            elif op == "quit":
                send({"ok": True})
                return
            else:
                raise ValueError(f"unknown op {op!r}")
            send({"ok": True, "seconds": time.perf_counter() - started, **result})
        except Exception as exc:  # report to the client; the worker stays usable
            traceback.print_exc()
            refused = isinstance(exc, Refused)  # the file's fault, not the worker's
            send({"ok": False, "refused": refused,
                  "error": str(exc) if refused else f"{type(exc).__name__}: {exc}"})


if __name__ == "__main__":
    main()
