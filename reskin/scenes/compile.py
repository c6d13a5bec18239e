"""Compile an episode to a render plan: plain data every renderer consumes, with cache keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

import reskin
from reskin.core.hashing import key_of
from reskin.scenes.clip_source import ClipSource
from reskin.scenes.dialogue import time_shot
from reskin.scenes.episode import Episode, Line, ShotSpec
from reskin.scenes.motion_plan import blocking_warnings, plan_blocking
from reskin.scenes.passes import render_passes
from reskin.scenes.performance import perform
from reskin.scenes.series import SeriesConfig

# 7: blue-noise sampling under the denoiser (other pixels); 6: mouths from speech,
# conversation gaze; 5: faces (shape keys, gaze); 4: uv pass; 3: camera moves; 2: passes
# beside the beauty
RENDER_PLAN_VERSION = "7"
SENSOR_MM = 24.0
# Framing by intent: (centre height, visible height), as fractions of the subject's height.
FRAMING = {"closeup": (0.90, 0.34), "medium": (0.70, 0.64), "wide": (0.52, 1.25)}
# Framings that show several people: all the shot's cast unless ``on:`` names some.
GROUP_FRAMINGS = ("two-shot", "wide")
# (smallest visible height as a fraction of the tallest, room above the heads as a fraction of
# the visible height). Wide for one person is FRAMING["wide"] (whose headroom is 0.116).
GROUP_FRAMING = {"two-shot": (0.72, 0.07), "wide": (1.25, 0.116)}
GROUP_SIDE_MARGIN_M = 0.9


@dataclass(frozen=True)
class ModelRef:
    """What the compiler needs of a library model placed in a shot: a character's skin for this
    episode, or a set's prop (``height`` 0: props are placed at their own size)."""

    ref: str
    glb: str
    content_hash: str
    height: float
    face: dict | None = None
    """The character's canonical face (:meth:`reskin.rigging.face_names.FaceMap.to_json`) for
    the worker to drive its shape keys and eyes; None for props and faceless models."""


@dataclass(frozen=True)
class ShotPlan:
    """One shot, resolved: cameras and lights in reskin coordinates (metres, +Y up)."""

    episode: str
    shot: str
    width: int
    height: int
    fps: int
    frame_count: int
    engine: str
    samples: int
    camera: dict
    lights: list[dict]
    cast: list[dict]
    camera_path: list[dict] | None = None
    """Per-frame cameras when the camera moves; None for a static camera."""
    start_time: float = 0.0
    """Seconds from the start of the episode (for subtitles)."""
    lines: list[dict] = field(default_factory=list)
    """Dialogue: speaker, text, start and duration in seconds within the shot, whether the
    speaker is on screen, and its speech: key, method, alphabet and phonemes
    ``[symbol, start, end]`` in seconds within the shot (see :func:`plan_line`)."""
    stage: dict | None = None
    """The set: floor and wall colours, wall distance; None renders the cast alone."""
    key: str = field(default="")
    warnings: list[str] = field(default_factory=list)
    """What the director should know (blocking: collisions, someone leaving the frame)."""
    denoise: bool = False
    """Cycles: denoise the beauty (OpenImageDenoise, albedo and normal guides)."""
    denoise_prefilter: str = "fast"
    """How the denoiser's guides are prefiltered: fast or accurate."""
    noise_threshold: float = 0.0
    """Cycles adaptive sampling threshold (0: off)."""
    passes: tuple[str, ...] = ()
    """The passes written beside the beauty (:func:`reskin.scenes.passes.render_passes`)."""

    @property
    def name(self) -> str:
        return f"{self.episode}/{self.shot}"

    def to_dict(self) -> dict:
        return {
            "name": self.name, "width": self.width, "height": self.height, "fps": self.fps,
            "frame_count": self.frame_count, "engine": self.engine, "samples": self.samples,
            "camera": self.camera, "camera_path": self.camera_path, "lights": self.lights,
            "cast": self.cast, "set": self.stage, "denoise": self.denoise,
            "denoise_prefilter": self.denoise_prefilter,
            "noise_threshold": self.noise_threshold, "passes": list(self.passes),
        }


def _framed(centre_xz: np.ndarray, facing_deg: float, height: float, visible: float,
            centre: float, lens: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera (location, target) seeing ``visible`` metres of height around ``centre``."""
    distance = (visible / 2) * lens / (SENSOR_MM / 2)
    angle = math.radians(facing_deg)
    target = np.array([centre_xz[0], centre * height, centre_xz[1]])
    location = target + distance * np.array([math.sin(angle), 0.0, math.cos(angle)])
    return location, target


def frame_camera(spec: ShotSpec, cast: list[dict], heights: dict[str, float],
                 aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """The shot's first-frame camera (location, target) from its framing intent.

    ``cast``: compiled cast entries (with "name", "position", "facing_deg"); ``aspect``: w / h.
    """
    cam = spec.camera
    if cam.location is not None:
        return np.array(cam.location), np.array(cam.target)
    by_name = {c["name"]: c for c in cast}
    xz = {n: np.array([c["position"][0], c["position"][2]]) for n, c in by_name.items()}
    if cam.framing == "over-shoulder":
        a, b = by_name[cam.over], by_name[cam.on[0]]
        away = xz[cam.over] - xz[cam.on[0]]
        away /= max(np.linalg.norm(away), 1e-6)
        side = np.array([away[1], -away[0]])  # to the right of A as A looks at B
        # Behind and beside A's shoulder, a little above it, looking at B's face: A's
        # shoulder fills a lower corner of the frame in the foreground.
        loc_xz = xz[cam.over] + 0.7 * away + 0.22 * side
        location = np.array([loc_xz[0], 0.88 * heights[a["name"]], loc_xz[1]])
        target = np.array([xz[b["name"]][0], 0.85 * heights[b["name"]], xz[b["name"]][1]])
        return location, target
    group = cam.framing in GROUP_FRAMINGS
    names = list(cam.on) or ([c["name"] for c in cast] if group else [cast[0]["name"]])
    height = max(heights[n] for n in names)
    facing = math.degrees(math.atan2(
        sum(math.sin(math.radians(by_name[n]["facing_deg"])) for n in names),
        sum(math.cos(math.radians(by_name[n]["facing_deg"])) for n in names)))
    centre_xz = np.mean([xz[n] for n in names], axis=0)
    if group and (len(names) > 1 or cam.framing == "two-shot"):
        span = max(np.linalg.norm(xz[p] - xz[q]) for p in names for q in names)
        centre, visible = _group_frame(cam.framing, height, span, aspect)
        return _framed(centre_xz, facing + cam.yaw, 1.0, visible, centre, cam.lens)
    centre, visible = FRAMING[cam.framing]
    return _framed(centre_xz, facing + cam.yaw, height, visible * height, centre, cam.lens)


def _group_frame(framing: str, height: float, span: float, aspect: float
                 ) -> tuple[float, float]:
    """(centre height, visible height) in metres for a framing of several people ``span``
    metres apart (centre to centre), the tallest ``height`` tall, in a frame of ``aspect``.

    Wide enough for everyone plus half a body's width each side; the tops of the heads a fixed
    fraction of the frame below its top edge (in the upper third however tall the frame must
    be to fit them all side by side in 9:16), so the room left over goes below, not above.
    """
    base, headroom = GROUP_FRAMING[framing]
    visible = max(base * height, (span + GROUP_SIDE_MARGIN_M) / aspect)
    top = height + headroom * visible
    return top - visible / 2, visible


def camera_path(spec: ShotSpec, location: np.ndarray, target: np.ndarray,
                frames: int) -> list[dict]:
    """Per-frame camera for the shot's move (pan, dolly, orbit), as plain dicts."""
    path = []
    for i in range(frames):
        u = i / max(frames - 1, 1)
        loc, tgt = location.copy(), target.copy()
        amount = spec.camera.amount * u
        if spec.camera.move == "pan":
            tgt = loc + _turn(tgt - loc, amount)
        elif spec.camera.move == "orbit":
            loc = tgt + _turn(loc - tgt, amount)
        elif spec.camera.move == "dolly":
            ahead = (tgt - loc) / np.linalg.norm(tgt - loc)
            loc = loc + ahead * amount
        path.append({"location": loc.tolist(), "target": tgt.tolist(),
                     "lens_mm": spec.camera.lens, "sensor_mm": SENSOR_MM})
    return path


def _turn(v: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate ``v`` (3,) about +Y."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] + s * v[2], v[1], -s * v[0] + c * v[2]])


def light_rig(preset: str, target: list[float], distance: float) -> list[dict]:
    """Lights for a preset around ``target``; energies scale with distance squared."""
    tx, ty, tz = target
    s = (distance / 3.0) ** 2

    def at(yaw_deg: float, up: float, dist: float) -> list[float]:
        a = math.radians(yaw_deg)
        return [tx + math.sin(a) * dist, ty + up, tz + math.cos(a) * dist]

    if preset == "three-point":
        return [
            {"type": "AREA", "location": at(40, 1.2, distance), "target": target,
             "energy": 260 * s, "size": 1.5, "color": [1.0, 0.96, 0.9]},
            {"type": "AREA", "location": at(-50, 0.4, distance), "target": target,
             "energy": 110 * s, "size": 2.0, "color": [0.85, 0.9, 1.0]},
            {"type": "AREA", "location": at(170, 1.5, distance), "target": target,
             "energy": 300 * s, "size": 1.0, "color": [1.0, 1.0, 1.0]},
        ]
    if preset == "day-exterior":
        return [
            {"type": "SUN", "location": at(30, 5.0, 3.0), "target": target, "energy": 3.5,
             "color": [1.0, 0.97, 0.92]},
            {"type": "AREA", "location": at(-60, 0.5, distance), "target": target,
             "energy": 120 * s, "size": 3.0, "color": [0.8, 0.88, 1.0]},
        ]
    return [  # night-interior: a warm practical and a cool window rim
        {"type": "POINT", "location": at(60, 0.8, distance * 0.6), "target": target,
         "energy": 150 * s, "color": [1.0, 0.75, 0.5]},
        {"type": "AREA", "location": at(-150, 1.0, distance), "target": target,
         "energy": 250 * s, "size": 1.0, "color": [0.6, 0.7, 1.0]},
    ]


def _add_faces(spec: ShotSpec, cast: list[dict], heights: dict[str, float],
               faces: dict[str, dict | None], path: list[dict], fps: int) -> None:
    """Give each compiled cast member its ``face``: the per-frame performance and what of its
    face map the worker needs to play it (the binds of the channels that move, eye joints)."""
    performed = perform(spec, cast, heights, faces, path, fps)
    for member in cast:
        face = faces.get(member["name"]) or {}
        played = performed[member["name"]].to_plan()
        channels = face.get("channels", {})
        played["binds"] = {c: channels[c]["binds"] for c in played["weights"]
                           if channels.get(c, {}).get("binds")}
        played["eye_joints"] = face.get("eye_joints")
        member["face"] = played


def plan_line(ln: Line, on_screen: bool) -> dict:
    """A timed line as the plan (and ``performance.json``) carries it."""
    out = {"speaker": ln.speaker, "text": ln.text, "start": ln.start, "duration": ln.duration,
           "on_screen": on_screen}
    v = ln.voiced
    if v is not None:
        out |= {"speech": v.key, "method": v.method, "alphabet": v.alphabet,
                "audio_duration": round(v.duration, 4),
                "phonemes": [[sym, round(ln.start + a, 4), round(ln.start + b, 4)]
                             for sym, a, b in v.phonemes]}
    return out


def compile_episode(
    series: SeriesConfig, episode: Episode, skins: dict[str, ModelRef],
    props: dict[str, ModelRef] | None = None, clips: ClipSource | None = None,
) -> list[ShotPlan]:
    """Resolve every shot of ``episode``; ``skins`` maps character name -> its skin and
    ``props`` an episode's prop asset names ("lamp", "lamp@2") -> the exact version;
    ``clips``: where library clips come from (default: the series' library).

    Shots are timed first (:func:`reskin.scenes.dialogue.time_shot`): with their lines'
    speech (``Line.voiced``, from the build's speech stage) the mouths move and lines without
    ``at:``/``duration:`` take their times from it."""
    props = props or {}
    own_clips = clips is None
    clips = ClipSource(series.library_dir) if clips is None else clips
    try:
        return _compile(series, episode, skins, props, clips)
    finally:
        if own_clips:
            clips.close()


def _compile(series: SeriesConfig, episode: Episode, skins: dict[str, ModelRef],
             props: dict[str, ModelRef], clips: ClipSource) -> list[ShotPlan]:
    plans = []
    offset = 0.0
    for spec in episode.shots:
        spec = time_shot(spec)
        cast = [{
            "name": entry.character, "key": skins[entry.character].ref,
            "glb": skins[entry.character].glb, "clip": entry.clip,
            "position": [entry.position[0], 0.0, entry.position[1]], "facing_deg": entry.facing,
        } for entry in spec.cast]
        heights = {c["name"]: skins[c["name"]].height for c in cast}
        frames = max(1, round(spec.duration * series.fps))
        plan_blocking(spec, cast, skins, props, series.fps, frames, clips)
        location, target = frame_camera(spec, cast, heights, series.width / series.height)
        path = camera_path(spec, location, target, frames)
        _add_faces(spec, cast, heights, {c["name"]: skins[c["name"]].face for c in cast},
                   path, series.fps)
        if isinstance(spec.lights, str):
            distance = float(np.linalg.norm(location - target))
            lights = light_rig(spec.lights, target.tolist(), max(distance, 2.0))
        else:
            lights = [{"type": lt.type.upper(), "location": list(lt.position),
                       "target": list(lt.target), "energy": lt.energy, "color": list(lt.color),
                       "size": lt.size} for lt in spec.lights]
        cycles = series.render.engine == "cycles"
        plan = ShotPlan(
            episode=episode.id, shot=spec.id, width=series.width, height=series.height,
            fps=series.fps, frame_count=frames, engine=series.render.engine,
            samples=series.render.samples, denoise=cycles and series.render.denoises(),
            denoise_prefilter=series.render.denoise_prefilter,
            noise_threshold=series.render.noise_threshold if cycles else 0.0,
            passes=render_passes(series.render, series.style), camera=path[0],
            camera_path=path if spec.camera.move != "static" else None,
            lights=lights, cast=cast, start_time=offset,
            warnings=blocking_warnings(spec.id, cast, path, heights, series.width,
                                       series.height, series.fps),
            lines=[plan_line(ln, ln.speaker in heights) for ln in spec.lines],
            stage=None if spec.set is None else {
                "floor": list(spec.set.floor),
                "wall": None if spec.set.wall is None else list(spec.set.wall),
                "wall_z": float(min(c["position"][2] for c in cast) - spec.set.wall_distance),
                "props": [{"key": props[p.asset].ref, "glb": props[p.asset].glb,
                           "position": [p.position[0], 0.0, p.position[1]],
                           "facing_deg": p.facing, "scale": p.scale} for p in spec.set.props],
            },
        )
        # The key covers what the pixels depend on: not file paths, but the skins' content;
        # of the dialogue, the speech of the lines spoken on screen (it moves their mouths;
        # subtitles change no pixel).
        hashed = plan.to_dict()
        hashed["speech"] = [[ln["speech"], ln["start"]] for ln in plan.lines
                            if ln["on_screen"] and "speech" in ln]
        hashed["cast"] = [{k: v for k, v in c.items() if k not in ("glb", "motion")}
                          | {"content": skins[c["name"]].content_hash} for c in cast]
        if plan.stage is not None:
            hashed["set"] = plan.stage | {"props": [
                {k: v for k, v in placed.items() if k != "glb"}
                | {"content": props[prop.asset].content_hash}
                for placed, prop in zip(plan.stage["props"], spec.set.props, strict=True)]}
        key = key_of("render", RENDER_PLAN_VERSION, reskin.__version__, hashed)
        plans.append(replace(plan, key=key))
        offset += spec.duration
    return plans
