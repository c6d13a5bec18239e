"""Episode files (episodes/epNN.yaml): shots, their cast, camera and lights, as plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from reskin.scenes.fields import load_yaml

FRAMINGS = ("wide", "medium", "closeup")
LIGHT_PRESETS = ("three-point", "day-exterior", "night-interior")
CLIPS = ("idle", "wave", "nod")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CastEntry:
    character: str
    """Character name; its wardrobe for this episode is cast/<character>/<episode>.yaml."""
    clip: str = "idle"
    """Procedural clip the character plays from the shot's first frame."""
    position: tuple[float, float] = (0.0, 0.0)
    """Floor position (x, z) in metres; the camera looks along -z."""
    facing: float = 0.0
    """Turn about the vertical axis in degrees; 0 faces the camera's default side (+z)."""


@dataclass(frozen=True)
class CameraSpec:
    framing: str = "medium"
    """wide (full body), medium (waist up) or closeup (head and shoulders)."""
    on: str | None = None
    """The character to frame; defaults to the first of the cast."""
    yaw: float = 0.0
    """Degrees around the subject from straight in front."""
    lens: float = 50.0
    """Focal length in mm (24 mm sensor height)."""


@dataclass(frozen=True)
class ShotSpec:
    id: str
    duration: float
    cast: tuple[CastEntry, ...]
    camera: CameraSpec
    lights: str = "three-point"


@dataclass(frozen=True)
class Episode:
    id: str
    title: str
    shots: tuple[ShotSpec, ...]
    file: str


def load_episode(path: str | Path, characters: set[str] | None = None) -> Episode:
    """Validate an episode file. ``characters``: the series' cast, to catch unknown names."""
    path = Path(path)
    f = load_yaml(path)
    title = f.get("title", str, path.stem)
    shots = []
    seen: set[str] = set()
    shot_fields = f.list_of_fields("shots")
    if not shot_fields:
        f.error("an episode needs at least one shot", "shots")
    for sf in shot_fields:
        sid = sf.get("id", str, check=lambda v: None if _ID_RE.match(v) else
                     "use letters, digits, '_' or '-' (max 40)")
        if sid in seen:
            sf.error(f"shot id {sid!r} is used twice", "id")
        seen.add(sid)
        duration = sf.get("duration", float,
                          check=lambda v: None if 0 < v <= 600 else "must be > 0 and <= 600 s")
        cast = []
        for cf in sf.list_of_fields("cast"):
            name = cf.get("character", str)
            if characters is not None and name not in characters:
                known = ", ".join(sorted(characters)) or "none"
                cf.error(f"unknown character {name!r} (the cast is: {known})", "character")
            cast.append(CastEntry(
                character=name,
                clip=cf.get("clip", str, "idle", choices=CLIPS),
                position=cf.numbers("position", 2, default=(0.0, 0.0)),
                facing=cf.get("facing", float, 0.0),
            ))
            cf.done()
        if not cast:
            sf.error("a shot needs at least one cast member", "cast")
        camera = CameraSpec()
        if (cam := sf.sub("camera", None)) is not None:
            names = [c.character for c in cast]
            camera = CameraSpec(
                framing=cam.get("framing", str, "medium", choices=FRAMINGS),
                on=cam.get("on", str, None, check=lambda v, names=names: None if v in names else
                           f"camera targets {v!r}, who is not in this shot ({', '.join(names)})"),
                yaw=cam.get("yaw", float, 0.0),
                lens=cam.get("lens", float, 50.0,
                             check=lambda v: None if 8 <= v <= 300 else "must be 8..300 mm"),
            )
            cam.done()
        lights = sf.get("lights", str, "three-point", choices=LIGHT_PRESETS)
        sf.done()
        shots.append(ShotSpec(id=sid, duration=duration, cast=tuple(cast), camera=camera,
                              lights=lights))
    f.done()
    return Episode(id=path.stem, title=title, shots=tuple(shots), file=str(path))
