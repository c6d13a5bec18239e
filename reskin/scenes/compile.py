"""Compile an episode to a render plan: plain data every renderer consumes, with cache keys."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import reskin
from reskin.hashing import key_of
from reskin.scenes.episode import Episode, ShotSpec
from reskin.scenes.series import SeriesConfig

RENDER_PLAN_VERSION = "2"  # 2: passes (depth, normal, instance, motion) beside beauty
SENSOR_MM = 24.0
# Framing by intent: (centre height, visible height), as fractions of the subject's height.
FRAMING = {"closeup": (0.90, 0.34), "medium": (0.70, 0.64), "wide": (0.52, 1.25)}


@dataclass(frozen=True)
class SkinRef:
    """What the compiler needs of a character's skin for this episode."""

    ref: str
    glb: str
    content_hash: str
    height: float


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
    key: str = field(default="")

    @property
    def name(self) -> str:
        return f"{self.episode}/{self.shot}"

    def to_dict(self) -> dict:
        return {
            "name": self.name, "width": self.width, "height": self.height, "fps": self.fps,
            "frame_count": self.frame_count, "engine": self.engine, "samples": self.samples,
            "camera": self.camera, "lights": self.lights, "cast": self.cast,
        }


def frame_camera(spec: ShotSpec, subject: dict, subject_height: float) -> dict:
    """Place the camera for the shot's framing intent on ``subject`` (a compiled cast entry)."""
    centre, visible = FRAMING[spec.camera.framing]
    lens = spec.camera.lens
    distance = (visible * subject_height / 2) * lens / (SENSOR_MM / 2)
    angle = math.radians(subject["facing_deg"] + spec.camera.yaw)
    x, _, z = subject["position"]
    target = [x, centre * subject_height, z]
    location = [x + math.sin(angle) * distance, target[1], z + math.cos(angle) * distance]
    return {"location": location, "target": target, "lens_mm": lens, "sensor_mm": SENSOR_MM}


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


def compile_episode(
    series: SeriesConfig, episode: Episode, skins: dict[str, SkinRef]
) -> list[ShotPlan]:
    """Resolve every shot of ``episode``; ``skins`` maps character name -> its skin."""
    plans = []
    for spec in episode.shots:
        cast = []
        for entry in spec.cast:
            skin = skins[entry.character]
            cast.append({
                "key": skin.ref, "glb": skin.glb, "clip": entry.clip,
                "position": [entry.position[0], 0.0, entry.position[1]],
                "facing_deg": entry.facing,
            })
        subject_name = spec.camera.on or spec.cast[0].character
        subject = next(c for c, e in zip(cast, spec.cast, strict=True)
                       if e.character == subject_name)
        camera = frame_camera(spec, subject, skins[subject_name].height)
        distance = math.dist(camera["location"], camera["target"])
        plan = ShotPlan(
            episode=episode.id, shot=spec.id, width=series.width, height=series.height,
            fps=series.fps, frame_count=max(1, round(spec.duration * series.fps)),
            engine=series.render.engine, samples=series.render.samples, camera=camera,
            lights=light_rig(spec.lights, camera["target"], max(distance, 2.0)), cast=cast,
        )
        # The key covers what the pixels depend on: not file paths, but the skins' content.
        hashed = {**plan.to_dict(), "cast": [
            {k: v for k, v in c.items() if k != "glb"}
            | {"content": skins[e.character].content_hash}
            for c, e in zip(cast, spec.cast, strict=True)
        ]}
        key = key_of("render", RENDER_PLAN_VERSION, reskin.__version__, hashed)
        plans.append(ShotPlan(**{**plan.__dict__, "key": key}))
    return plans
