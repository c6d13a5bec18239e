"""Automatic coverage: a scene's lines cut into shots by rules (docs/coverage.md, rule by rule).

Input: the scene's lines in order (:class:`Cue`), where everyone stands at each line
(:class:`Mark`), the two principal characters and a density. Output: shots
(:class:`CoverageShot`), each holding whole lines (so every cut falls on a line boundary) or
none (establishing and reaction shots, with a duration), with a camera intent as the episode
format writes it. The 180° rule: the principals' axis runs from the left one (A) to the right
one (B); every camera is put on the audience side of it (``cross(B - A, camera - A) > 0``),
by choosing each intent's yaw from the subject's final facing, and writing the one framing the
compiler always puts on the over character's right shoulder (the reverse over-shoulder, over
B) as the explicit mirror camera.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

DENSITIES = ("sparse", "normal", "dense")
# Establishing shot length (s) per density; the first scene's is cut short for the hook.
ESTABLISH_S = {"sparse": 2.0, "normal": 1.5, "dense": 1.2}
HOOK_ESTABLISH_S = 1.0
REACTION_S = 1.0
# A line is "quick" (two-shot material) at or under this many estimated seconds.
QUICK_S = 1.6
# Lines longer than this (estimated) get a reaction shot of the listener after them.
REACTION_AFTER_S = {"sparse": math.inf, "normal": 3.0, "dense": 2.2}
# Most lines one two-shot holds.
TWO_SHOT_LINES = {"sparse": 4, "normal": 3, "dense": 2}
# Camera direction (degrees about +Y from +z) for singles: in front of the subject, towards
# the other principal, on the audience side of the axis.
SINGLE_ANGLE = 30.0
CLOSE_LENS, MEDIUM_LENS = 60.0, 65.0


@dataclass(frozen=True)
class Mark:
    """Where a character ends up in a shot: floor (x, z), facing (degrees), height (m)."""

    x: float
    z: float
    facing: float
    height: float


@dataclass(frozen=True)
class Cue:
    """One line as the coverage sees it."""

    speaker: str
    text: str
    emotional: bool = False
    """Its parenthetical is an emotion (close-up)."""
    on_screen: bool = True
    """False for V.O. / O.S. (or a speaker not in the scene): the shot goes to the listener."""
    cut_before: bool = False
    """Blocking happens before this line: a shot must start here."""

    @property
    def seconds(self) -> float:
        """Estimated speech length: 2.6 words/s, or 4.5 Hanzi/s (the build times it exactly)."""
        hanzi = len(re.findall(r"[\u3400-\u9fff]", self.text))
        words = len(re.findall(r"[A-Za-z0-9']+", self.text))
        return 0.3 + words / 2.6 + hanzi / 4.5

    @property
    def punch(self) -> bool:
        """A short punch line: at most three words (or five Hanzi)."""
        hanzi = len(re.findall(r"[\u3400-\u9fff]", self.text))
        words = len(re.findall(r"[A-Za-z0-9']+", self.text))
        return (hanzi == 0 and words <= 3) or (words == 0 and 0 < hanzi <= 5)


@dataclass
class CoverageShot:
    kind: str
    """establishing, two-shot, over-shoulder, closeup, medium or reaction."""
    camera: dict
    lines: list[int] = field(default_factory=list)
    """Indices of the scene's cues this shot holds."""
    duration: float | None = None
    """For shots without lines."""
    reason: str = ""
    """The rule that chose the shot (written as a comment beside it)."""


def _world_yaw(angle: float, facing: float) -> float:
    """The intent ``yaw`` that puts a single's camera at world ``angle`` for this facing."""
    yaw = (angle - facing + 180.0) % 360.0 - 180.0
    return round(yaw, 1)


def _group_yaw(marks: dict[str, Mark], names: list[str]) -> float:
    """``yaw`` that puts a group framing's camera straight in front (+z) of the group."""
    s = sum(math.sin(math.radians(marks[n].facing)) for n in names)
    c = sum(math.cos(math.radians(marks[n].facing)) for n in names)
    return _world_yaw(0.0, math.degrees(math.atan2(s, c)))


def single(name: str, marks: dict[str, Mark], framing: str, left: str | None) -> dict:
    """A closeup or medium of ``name``: the camera in front of it, turned towards the other
    principal's side (the left principal is seen from the right, and the other way round)."""
    angle = SINGLE_ANGLE if name == left else -SINGLE_ANGLE
    if left is None:
        angle = 0.0
    lens = CLOSE_LENS if framing == "closeup" else MEDIUM_LENS
    return {"framing": framing, "on": name, "yaw": _world_yaw(angle, marks[name].facing),
            "lens": lens}


def over_shoulder(over: str, on: str, marks: dict[str, Mark], left: str) -> dict:
    """Over ``over``'s shoulder onto ``on``. Over the left principal the compiler's own
    framing (its right shoulder) is on the audience side; over the right one that shoulder is
    across the line, so the mirror (its left shoulder) is written as location and target."""
    if over == left:
        return {"framing": "over-shoulder", "over": over, "on": on}
    a, b = marks[over], marks[on]
    away = [a.x - b.x, a.z - b.z]
    norm = math.hypot(*away) or 1.0
    away = [away[0] / norm, away[1] / norm]
    side = [-away[1], away[0]]  # to the left of `over` as it looks at `on`
    loc = [a.x + 0.7 * away[0] + 0.22 * side[0], 0.88 * a.height,
           a.z + 0.7 * away[1] + 0.22 * side[1]]
    return {"location": [round(v, 3) for v in loc],
            "target": [round(b.x, 3), round(0.85 * b.height, 3), round(b.z, 3)]}


def camera_side(camera_xz: tuple[float, float], a: tuple[float, float],
                b: tuple[float, float]) -> float:
    """> 0 when a camera at ``camera_xz`` is on the audience side of the axis ``a`` -> ``b``
    (the left principal to the right one, seen from the audience); < 0 across the line."""
    return (b[0] - a[0]) * (camera_xz[1] - a[1]) - (b[1] - a[1]) * (camera_xz[0] - a[0])


def cover_scene(cues: list[Cue], marks: list[dict[str, Mark]], principals: tuple[str, ...],
                density: str = "normal", hook: bool = False,
                establishing_marks: dict[str, Mark] | None = None,
                establish: bool = True) -> list[CoverageShot]:
    """The shots of one scene.

    cues       : its lines in order
    marks      : per cue, who is on screen at that line and where each ends up in its shot
    principals : (left, right) principal characters, or one, or none
    hook       : the episode's first scene (a short establishing shot, then a close-up)
    establish  : open on an establishing shot (False: a scene without a heading, no place)
    """
    if density not in DENSITIES:
        raise ValueError(f"density must be one of {DENSITIES}")
    left = principals[0] if len(principals) == 2 else None
    first = establishing_marks or (marks[0] if marks else {})
    shots = []
    if first and establish:
        shots.append(CoverageShot(
            kind="establishing", duration=HOOK_ESTABLISH_S if hook else ESTABLISH_S[density],
            camera={"framing": "wide", "yaw": _group_yaw(first, list(first))},
            reason="establishing shot of the scene"))
    i = 0
    while i < len(cues):
        cue, here = cues[i], marks[i]
        others = [n for n in principals if n != cue.speaker and n in here] + \
            [n for n in here if n != cue.speaker and n not in principals]
        run = _quick_run(cues, marks, i, TWO_SHOT_LINES[density], density)
        if cue.on_screen and cue.speaker in here and not (hook and i == 0) and len(run) > 1:
            names = list(here)
            shots.append(CoverageShot(kind="two-shot", lines=run,
                                      camera={"framing": "two-shot",
                                              "yaw": _group_yaw(here, names)},
                                      reason="a quick exchange"))
            i = run[-1] + 1
            continue
        if not cue.on_screen or cue.speaker not in here:
            who = others[0] if others else next(iter(here))
            shots.append(CoverageShot(kind="closeup", lines=[i],
                                      camera=single(who, here, "closeup", left),
                                      reason="heard off screen: the listener"))
        elif cue.emotional or (hook and i == 0):
            shots.append(CoverageShot(kind="closeup", lines=[i],
                                      camera=single(cue.speaker, here, "closeup", left),
                                      reason="the hook" if not cue.emotional
                                      else "an emotional parenthetical"))
        elif cue.punch and density != "sparse":
            shots.append(CoverageShot(kind="closeup", lines=[i],
                                      camera=single(cue.speaker, here, "closeup", left),
                                      reason="a short punch line"))
        elif (left is not None and others and others[0] in principals
              and cue.speaker in principals and not _same_speaker(cues, i)):
            shots.append(CoverageShot(kind="over-shoulder", lines=[i],
                                      camera=over_shoulder(others[0], cue.speaker, here, left),
                                      reason=f"over {others[0]}'s shoulder onto the speaker"
                                      + ("" if others[0] == left else
                                         " (the left shoulder, as location/target: the "
                                         "180-degree line)")))
        else:
            shots.append(CoverageShot(kind="medium", lines=[i],
                                      camera=single(cue.speaker, here, "medium", left),
                                      reason="the speaker again" if _same_speaker(cues, i)
                                      else "the speaker"))
        if cue.seconds > REACTION_AFTER_S[density] and others and (
                i + 1 >= len(cues) or not cues[i + 1].cut_before):
            shots.append(CoverageShot(kind="reaction", duration=REACTION_S,
                                      camera=single(others[0], here, "closeup", left),
                                      reason="a reaction to a long line"))
        i += 1
    return shots


def _same_speaker(cues: list[Cue], i: int) -> bool:
    return i > 0 and cues[i - 1].speaker == cues[i].speaker and not cues[i].cut_before


def _quick_run(cues: list[Cue], marks: list[dict[str, Mark]], i: int, most: int,
               density: str) -> list[int]:
    """Indices from ``i`` of lines one two-shot can hold: on screen, alternating speakers,
    quick (or any length but emotional, when sparse), no blocking between them, the same
    people present."""
    run = [i]
    limit = 5.0 if density == "sparse" else QUICK_S
    if cues[i].emotional or cues[i].seconds > limit or len(marks[i]) < 2:
        return run
    for j in range(i + 1, min(len(cues), i + most)):
        c = cues[j]
        if (c.cut_before or c.emotional or not c.on_screen or c.seconds > limit
                or c.speaker == cues[j - 1].speaker or set(marks[j]) != set(marks[i])
                or c.speaker not in marks[j]):
            break
        run.append(j)
    return run
