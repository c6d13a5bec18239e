"""Episode files (episodes/epNN.yaml): shots, their cast, camera, lights and dialogue.

The reference for the format is docs/episode-format.md; everything here is plain data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reskin.core.colors import parse_color
from reskin.core.fields import Fields, load_yaml
from reskin.rigging.face_names import EMOTIONS
from reskin.scenes.blocking import Blocking, clip_name_ok, read_blocking
from reskin.scenes.branches import Flow, check_episode, read_flow

FRAMINGS = ("wide", "medium", "closeup", "two-shot", "over-shoulder")
MOVES = ("static", "pan", "dolly", "orbit")
LIGHT_PRESETS = ("three-point", "day-exterior", "night-interior")
LIGHT_TYPES = ("area", "sun", "point", "spot")
EXPRESSIONS = ("neutral", *EMOTIONS)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
NARRATOR = "narrator"
"""The speaker of voice-over lines: heard and subtitled, no face (series.yaml ``narrator:``)."""

if TYPE_CHECKING:
    from reskin.scenes.dialogue import Voiced


@dataclass(frozen=True)
class CastEntry:
    character: str
    """Character name; its wardrobe for this episode is cast/<character>/<episode>.yaml."""
    clip: str = "idle"
    """The clip the character plays from the shot's first frame: procedural (idle, wave, nod,
    sit) or a library clip (walk, walk@1), checked against the library when compiled."""
    position: tuple[float, float] = (0.0, 0.0)
    """Floor position (x, z) in metres; +z is towards the default camera."""
    facing: float = 0.0
    """Turn about the vertical axis in degrees; 0 faces +z, 90 faces +x."""
    expression: str = "neutral"
    """The face held through the shot: neutral or one of the canonical emotions."""
    intensity: float = 1.0
    """How strongly the expression shows, 0..1."""
    look_at: str | tuple[float, float, float] | None = None
    """Gaze: "camera", another character of the shot, a point (x, y, z); None: straight ahead."""
    blink: bool = True
    """Automatic blinks (seeded by character and shot)."""
    blocking: Blocking = Blocking()
    """clip_speed, clip_offset, loop, actions, sit (:mod:`reskin.scenes.blocking`)."""


@dataclass(frozen=True)
class CameraSpec:
    framing: str = "medium"
    """wide, medium, closeup (on one character), two-shot (on several), over-shoulder."""
    on: tuple[str, ...] = ()
    """Who to frame; defaults to the first of the cast (two-shot: the whole cast)."""
    over: str | None = None
    """over-shoulder: whose shoulder the camera looks over."""
    yaw: float = 0.0
    """Degrees around the subject from straight in front of it."""
    lens: float = 50.0
    """Focal length in mm (24 mm sensor height)."""
    move: str = "static"
    """static, pan (turn in place), dolly (move in), orbit (circle the subject)."""
    amount: float = 0.0
    """Size of the move over the shot: degrees for pan and orbit, metres for dolly."""
    location: tuple[float, float, float] | None = None
    """An explicit camera position (x, y, z); overrides the framing."""
    target: tuple[float, float, float] | None = None
    """With ``location``: the point the camera looks at."""


@dataclass(frozen=True)
class LightSpec:
    type: str
    position: tuple[float, float, float]
    target: tuple[float, float, float] = (0.0, 1.0, 0.0)
    energy: float = 100.0
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    size: float = 1.0


@dataclass(frozen=True)
class Line:
    speaker: str
    """A cast member of the shot (its face speaks), another character of the series or
    ``narrator`` (off-screen / voice-over: heard and subtitled, no face to drive)."""
    text: str
    start: float | None = None
    """Seconds from the start of the shot; None: laid after the previous line
    (:func:`reskin.scenes.dialogue.time_shot`)."""
    duration: float | None = None
    """How long the line shows (subtitle, emotion); None: as long as its speech."""
    emotion: str | None = None
    """An emotion the speaker's face takes while the line is spoken (None: the shot's own)."""
    audio: Path | None = None
    """The studio's recording of the line (a file inside the series folder), or None: the
    speaker's built-in voice says it."""
    audio_sha256: str | None = None
    """The recording's content hash (what keys its speech: a moved file is the same line)."""
    where: str = ""
    """``file:line`` of the line in the episode, and its field path after a ``|``."""
    voiced: Voiced | None = field(default=None, compare=False, repr=False)
    """The line's speech (sound and phoneme times), set by the build's speech stage."""

    @property
    def label(self) -> str:
        """The line as errors and warnings name it: ``episodes/ep01.yaml:14 (mira: "Hi!...")``."""
        text = self.text if len(self.text) <= 30 else self.text[:27] + "..."
        return f"{self.where.split('|')[0]} ({self.speaker}: {text!r})"


@dataclass(frozen=True)
class PropSpec:
    asset: str
    """A library asset with a model (imported with `reskin asset import`): "lamp" or "lamp@2"."""
    position: tuple[float, float] = (0.0, 0.0)
    facing: float = 0.0
    scale: float = 1.0
    where: str = ""
    """file:line and field, for errors found when the asset is looked up."""


@dataclass(frozen=True)
class SetSpec:
    """A simple stage: a floor and a backdrop wall behind the cast, and props on it."""

    floor: tuple[float, float, float] = (0.55, 0.5, 0.45)
    wall: tuple[float, float, float] | None = (0.85, 0.8, 0.72)
    """None: no wall, only the floor."""
    wall_distance: float = 2.5
    """Metres behind the cast (along -z)."""
    props: tuple[PropSpec, ...] = ()


@dataclass(frozen=True)
class ShotSpec:
    id: str
    duration: float | None
    """Seconds; None: as long as its lines plus a tail (set when the lines are timed)."""
    cast: tuple[CastEntry, ...]
    camera: CameraSpec
    lights: str | tuple[LightSpec, ...] = "three-point"
    lines: tuple[Line, ...] = ()
    set: SetSpec | None = None
    where: str = ""
    """``file:line`` of the shot's ``duration`` (or of the shot), and ``|`` its field path."""
    flow: Flow = Flow()
    """How the shot ends: a viewer's ``choice``, a ``goto``, or on to the next shot
    (:mod:`reskin.scenes.branches`)."""

    @property
    def timed(self) -> bool:
        """Whether the shot and every line have their times (explicit, or from speech)."""
        return self.duration is not None and all(
            ln.start is not None and ln.duration is not None for ln in self.lines)


@dataclass(frozen=True)
class Episode:
    id: str
    title: str
    shots: tuple[ShotSpec, ...]
    file: str

    @property
    def duration(self) -> float:
        """Seconds (the shots must be timed)."""
        return sum(s.duration for s in self.shots)


def _names(f: Fields, key: str, allowed: list[str]) -> tuple[str, ...]:
    """A name or a list of names, each one of ``allowed`` (the shot's cast)."""
    if not f.has(key):
        return ()
    value = f.items[key].value
    names = [value] if isinstance(value, str) else None
    if isinstance(value, list) and all(isinstance(v.value, str) for v in value):
        names = [v.value for v in value]
    if names is None:
        f.error("expected a character name or a list of names", key)
    f.get(key, (str, list))
    for n in names:
        if n not in allowed:
            f.error(f"camera targets {n!r}, who is not in this shot ({', '.join(allowed)})", key)
    return tuple(names)


def _camera(cam: Fields, cast: list[CastEntry]) -> CameraSpec:
    names = [c.character for c in cast]
    framing = cam.get("framing", str, "medium", choices=FRAMINGS)
    on = _names(cam, "on", names)
    over = cam.get("over", str, None)
    if framing == "over-shoulder":
        if over is None:
            cam.error("over-shoulder needs `over:` (whose shoulder)", "framing")
        if over not in names:
            cam.error(f"{over!r} is not in this shot ({', '.join(names)})", "over")
        if not on:
            others = [n for n in names if n != over]
            if not others:
                cam.error("over-shoulder needs a second character to look at", "over")
            on = (others[0],)
    elif over is not None:
        cam.error("`over` only applies to framing: over-shoulder", "over")
    if framing not in ("two-shot", "wide") and len(on) > 1:
        cam.error(f"{framing} frames one character; use framing: two-shot or wide for several",
                  "on")
    location = cam.numbers("location", 3, default=None)
    target = cam.numbers("target", 3, default=None)
    if (location is None) != (target is None):
        cam.error("give both location and target, or neither", "location")
    spec = CameraSpec(
        framing=framing, on=on, over=over,
        yaw=cam.get("yaw", float, 0.0),
        lens=cam.get("lens", float, 50.0,
                     check=lambda v: None if 8 <= v <= 300 else "must be 8..300 mm"),
        move=cam.get("move", str, "static", choices=MOVES),
        amount=cam.get("amount", float, 0.0,
                       check=lambda v: None if abs(v) <= 360 else "must be within ±360"),
        location=location, target=target,
    )
    cam.done()
    return spec


def _lights(sf: Fields) -> str | tuple[LightSpec, ...]:
    if not sf.has("lights") or isinstance(sf.items["lights"].value, str):
        return sf.get("lights", str, "three-point", choices=LIGHT_PRESETS)
    lights = []
    for lf in sf.list_of_fields("lights"):
        color = lf.get("color", str, None)
        lights.append(LightSpec(
            type=lf.get("type", str, choices=LIGHT_TYPES),
            position=lf.numbers("position", 3),
            target=lf.numbers("target", 3, default=(0.0, 1.0, 0.0)),
            energy=lf.get("energy", float, 100.0,
                          check=lambda v: None if 0 <= v <= 1e6 else "must be 0..1e6"),
            color=parse_color(color, lf, "color") if color else (1.0, 1.0, 1.0),
            size=lf.get("size", float, 1.0, check=lambda v: None if v > 0 else "must be > 0"),
        ))
        lf.done()
    return tuple(lights)


def _lines(sf: Fields, cast: list[CastEntry], duration: float | None,
           characters: set[str] | None, root: Path | None) -> tuple[Line, ...]:
    """The shot's ``lines``. ``at``/``duration`` are optional (timed by speech later); given,
    they must fit an explicit shot ``duration``. A speaker outside the shot must be one of the
    series' ``characters`` or ``narrator``: heard, not seen."""
    names = {c.character for c in cast}
    heard = names | (characters or set()) | {NARRATOR}
    limit = duration if duration is not None else float("inf")
    lines = []
    for lf in sf.list_of_fields("lines", []):
        speaker = lf.get("speaker", str)
        if speaker not in heard:
            known = ", ".join(sorted(heard - {NARRATOR})) or "nobody"
            lf.error(f"{speaker!r} speaks but is neither in this shot nor in the series' cast "
                     f"({known}; or {NARRATOR} for a voice-over)", "speaker")
        text = lf.get("text", str, check=lambda v: None if v.strip() else
                      "the line's text is empty (say something, or remove the line)")
        start = lf.get("at", float, None,
                       check=lambda v: None if 0 <= v < limit else
                       f"must be within the shot (0..{duration} s)")
        length = lf.get("duration", float, None,
                        check=lambda v, s=start: None if 0 < v <= limit - (s or 0.0) + 1e-9
                        else "the line must end within the shot")
        audio, digest = _audio(lf, root)
        lines.append(Line(
            speaker=speaker, text=text, start=start, duration=length,
            emotion=lf.get("emotion", str, None, choices=EXPRESSIONS),
            audio=audio, audio_sha256=digest,
            where=f"{lf.file}:{lf.line}|{lf.path}",
        ))
        lf.done()
    return tuple(lines)


def _audio(lf: Fields, root: Path | None) -> tuple[Path | None, str | None]:
    """A line's ``audio:``: a file inside the series folder (``root``), hashed; a missing one is
    one line naming the episode's line."""
    rel = lf.get("audio", str, None)
    if rel is None:
        return None, None
    from reskin.core.paths import series_path

    base = root if root is not None else Path(lf.file).resolve().parents[1]
    path = series_path(base, rel, fields=lf, key="audio", what="audio file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return path, digest


def _look_at(cf: Fields) -> str | tuple[float, float, float] | None:
    """``look_at``: "camera", a character's name (checked against the shot later) or a point."""
    if not cf.has("look_at"):
        cf.get("look_at", str, None)
        return None
    if isinstance(cf.items["look_at"].value, list):
        return cf.numbers("look_at", 3)
    return cf.get("look_at", str)


def _check_gaze(fields: list[Fields], cast: list[CastEntry]) -> None:
    """Every ``look_at`` naming a character names another one of this shot."""
    names = [c.character for c in cast]
    for cf, entry in zip(fields, cast, strict=True):
        target = entry.look_at
        if not isinstance(target, str) or target == "camera":
            continue
        if target == entry.character:
            cf.error(f"{target!r} cannot look at themself (camera, another character of the "
                     "shot, or a point [x, y, z])", "look_at")
        if target not in names:
            near = _closest_name(target, ["camera", *names])
            hint = f"; did you mean {near!r}?" if near else ""
            cf.error(f"looks at {target!r}, who is not in this shot (camera, "
                     f"{', '.join(n for n in names if n != entry.character) or 'nobody else'}"
                     f", or a point [x, y, z]{hint})", "look_at")


def _closest_name(word: str, options: list[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


def _cast_entry(cf: Fields, name: str, duration: float = 600.0) -> CastEntry:
    entry = CastEntry(
        character=name,
        clip=cf.get("clip", str, "idle", check=clip_name_ok),
        position=cf.numbers("position", 2, default=(0.0, 0.0)),
        facing=cf.get("facing", float, 0.0),
        expression=cf.get("expression", str, "neutral", choices=EXPRESSIONS),
        intensity=cf.get("intensity", float, 1.0,
                         check=lambda v: None if 0 <= v <= 1 else "must be 0..1"),
        look_at=_look_at(cf),
        blink=cf.get("blink", bool, True),
        blocking=read_blocking(cf, duration),
    )
    cf.done()
    return entry


def _check_blocking(cast: list[CastEntry], stage: SetSpec | None) -> None:
    """Blocking checks that need the whole shot (turn targets, marks on the floor, seats)."""
    from reskin.scenes.blocking import check_blocking, wall_z

    spec = ShotSpec(id="", duration=1.0, cast=tuple(cast), camera=CameraSpec(), set=stage)
    check_blocking(cast, [p.asset for p in stage.props] if stage else [],
                   wall_z(spec, [c.position for c in cast]))


def _prop(f: Fields) -> PropSpec:
    spec = PropSpec(
        asset=f.get("asset", str),
        position=f.numbers("position", 2, default=(0.0, 0.0)),
        facing=f.get("facing", float, 0.0),
        scale=f.get("scale", float, 1.0,
                    check=lambda v: None if 0.001 <= v <= 1000 else "must be 0.001..1000"),
        where=f"{f.file}:{f.items['asset'].line}|{f.path}.asset",
    )
    f.done()
    return spec


def _set(f: Fields | None) -> SetSpec | None:
    if f is None:
        return None
    floor = f.get("floor", str, None)
    wall = f.get("wall", str, None)
    spec = SetSpec(
        floor=parse_color(floor, f, "floor") if floor else SetSpec.floor,
        wall=(None if wall == "none" else parse_color(wall, f, "wall")) if wall
        else SetSpec.wall,
        wall_distance=f.get("wall_distance", float, 2.5,
                            check=lambda v: None if 0.5 <= v <= 50 else "must be 0.5..50 m"),
        props=tuple(_prop(pf) for pf in f.list_of_fields("props", [])),
    )
    f.done()
    return spec


def load_episode(path: str | Path, characters: set[str] | None = None, *,
                 root: str | Path | None = None) -> Episode:
    """Validate an episode file. ``characters``: the series' cast, to catch unknown names (and
    to let one speak off-screen); ``root``: the series folder lines' ``audio`` is relative to
    (default: the folder above ``episodes/``)."""
    path = Path(path)
    root = Path(root) if root is not None else None
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
        duration = sf.get("duration", float, None,
                          check=lambda v: None if 0 < v <= 600 else "must be > 0 and <= 600 s")
        where = f"{sf.file}:{sf.items['duration'].line if sf.has('duration') else sf.line}"
        cast: list[CastEntry] = []
        cast_fields = sf.list_of_fields("cast")
        for cf in cast_fields:
            name = cf.get("character", str)
            if characters is not None and name not in characters:
                known = ", ".join(sorted(characters)) or "none"
                cf.error(f"unknown character {name!r} (the cast is: {known})", "character")
            if any(c.character == name for c in cast):
                cf.error(f"{name!r} is already in this shot", "character")
            # a shot timed by its lines is checked against the longest shot there may be
            cast.append(_cast_entry(cf, name, duration if duration is not None else 600.0))
        if not cast:
            sf.error("a shot needs at least one cast member", "cast")
        _check_gaze(cast_fields, cast)
        cam = sf.sub("camera", None)
        camera = _camera(cam, cast) if cam is not None else CameraSpec()
        lights = _lights(sf)
        lines = _lines(sf, cast, duration, characters, root)
        stage = _set(sf.sub("set", None))
        _check_blocking(cast, stage)
        flow = read_flow(sf)
        sf.done()
        if duration is None and not lines:
            sf.error("a shot without lines needs a duration (seconds)", "duration")
        shots.append(ShotSpec(id=sid, duration=duration, cast=tuple(cast), camera=camera,
                              lights=lights, lines=lines, set=stage,
                              where=f"{where}|{sf.path}.duration", flow=flow))
    f.done()
    episode = Episode(id=path.stem, title=title, shots=tuple(shots), file=str(path))
    check_episode(episode)  # targets exist, no loop without a choice (warnings: graph_json)
    return episode
