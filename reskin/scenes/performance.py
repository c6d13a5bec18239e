"""The face's performance in a shot: canonical face weights and gaze per frame, from the episode.

Per cast member and frame: the shot's ``expression`` (at its ``intensity``), the emotions of the
lines it speaks (eased in and out around each line), the mouth of those lines (the visemes and
``jawOpen`` of each line's speech, at rest between lines), automatic blinks (seeded by character
and shot, so a re-render is identical) and the gaze: a world target point and the eye yaw /
pitch relative to the character's head, clamped to natural ranges, plus ``look*`` shape weights
for faces that look with shapes rather than eye joints. Without a ``look_at`` a cast member
looks at whoever of the shot is speaking, and the speaker at the one listening (the last other
speaker, else the first other cast member). Pure numpy; the Blender worker plays it.

Angles: yaw > 0 turns the eyes to the character's own left, pitch > 0 up (degrees).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from reskin.rigging.face_names import EMOTIONS, GAZE
from reskin.scenes.episode import CastEntry, ShotSpec

HEAD_HEIGHT = 0.93
"""Eye / head height as a fraction of a character's height (what others look at)."""
EYE_YAW_LIMIT = 30.0
EYE_PITCH_LIMIT = 20.0
"""Natural eye rotation limits in degrees (the eyes go no further however far the target)."""
BLINK_INTERVAL_S = (2.0, 6.0)
"""Seconds between blinks (uniform): 10-30 a minute, as people blink in conversation."""
BLINK_FIRST_S = (0.25, 3.0)
"""When the first blink of a shot comes: a shot starts in the middle of someone's rhythm."""
BLINK_CLOSE_S, BLINK_HOLD_S, BLINK_OPEN_S = 0.06, 0.03, 0.12
"""A blink: the lids close fast, stay shut a moment, open slower (~0.2 s in all)."""
STRESS_EMOTIONS = ("angry", "surprised", "sad")
STRESS_BLINK_RATE = 1.6
"""Under stress people blink more often: intervals shrink by this factor."""
EMOTION_RAMP_S = 0.25
"""A line's emotion eases in and out over this long, centred on the line's start and end."""


@dataclass(frozen=True)
class FacePerformance:
    """One cast member's face through a shot of ``f`` frames.

    weights : canonical channel -> (f,) float64 in 0..1 (only channels that move)
    gaze    : (f, 3) world target point (reskin coordinates) or None (eyes at rest)
    eyes    : (f, 2) eye (yaw, pitch) in degrees, clamped; None with no gaze
    """

    weights: dict[str, np.ndarray]
    gaze: np.ndarray | None
    eyes: np.ndarray | None

    def to_plan(self) -> dict:
        """JSON-able: {"weights": {channel: [f floats]}, "gaze": [[x, y, z]] | None,
        "eyes": [[yaw, pitch]] | None}, rounded so plans hash stably."""
        return {
            "weights": {c: [round(float(x), 5) for x in w] for c, w in self.weights.items()},
            "gaze": None if self.gaze is None else np.round(self.gaze, 5).tolist(),
            "eyes": None if self.eyes is None else np.round(self.eyes, 4).tolist(),
        }


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def blink_seed(character: str, shot: str) -> int:
    """A stable 64-bit seed for ``character``'s blinks in ``shot`` (not Python's salted hash)."""
    digest = hashlib.sha256(f"blink|{character}|{shot}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def blink_times(seed: int, duration: float, fps: float, rate: float = 1.0) -> np.ndarray:
    """(k,) times in seconds at which the lids are fully shut, within ``duration``.

    Each is snapped to a frame time: a blink lasts ~0.2 s, less than a frame apart at low frame
    rates, and a blink that falls between two frames would never be seen. ``rate`` > 1 blinks
    more often.
    """
    rng = np.random.default_rng(seed)
    times = []
    t = float(rng.uniform(*BLINK_FIRST_S)) / rate
    last = math.ceil(duration * fps - 1e-9) - 1  # the shot's last frame
    while t < duration:
        times.append(min(round(t * fps), last) / fps)
        t += float(rng.uniform(*BLINK_INTERVAL_S)) / rate
    return np.array(sorted(set(times)), dtype=np.float64)


def blink_curve(times: np.ndarray, shut: np.ndarray) -> np.ndarray:
    """(f,) lid closure 0..1 at frame ``times`` (f,) seconds for blinks fully shut at ``shut``."""
    out = np.zeros(len(times))
    for tc in shut:
        d = times - tc
        closing = _smoothstep((d + BLINK_HOLD_S / 2 + BLINK_CLOSE_S) / BLINK_CLOSE_S)
        opening = _smoothstep((BLINK_HOLD_S / 2 + BLINK_OPEN_S - d) / BLINK_OPEN_S)
        out = np.maximum(out, np.where(d < 0, closing, opening))
    return out


def emotion_weights(times: np.ndarray, expression: str, intensity: float,
                    lines: list[tuple[float, float, str]]) -> dict[str, np.ndarray]:
    """Emotion channel -> (f,) weights at ``times``: the shot's ``expression`` at ``intensity``
    from the first frame (a cut lands on a face already set), cross-faded into each line's
    emotion (``lines``: (start, duration, emotion) in seconds) while it is spoken."""
    out = {e: np.zeros(len(times)) for e in EMOTIONS}
    spoken = np.zeros(len(times))
    for start, duration, emotion in lines:
        rise = _smoothstep((times - start + EMOTION_RAMP_S / 2) / EMOTION_RAMP_S)
        fall = _smoothstep((start + duration + EMOTION_RAMP_S / 2 - times) / EMOTION_RAMP_S)
        env = np.minimum(rise, fall)
        spoken = np.maximum(spoken, env)
        if emotion in out:  # "neutral" lines only ease the expression away
            out[emotion] = np.maximum(out[emotion], env)
    if expression in out:
        out[expression] = np.maximum(out[expression], intensity * (1.0 - spoken))
    return {e: w for e, w in out.items() if w.any()}


def gaze_angles(head: np.ndarray, facing_deg: float, targets: np.ndarray) -> np.ndarray:
    """(f, 2) eye (yaw, pitch) in degrees towards ``targets`` (f, 3) from ``head`` (3,) of a
    character turned ``facing_deg`` about +Y (0 faces +Z), clamped to the eye limits."""
    a = math.radians(facing_deg)
    forward = np.array([math.sin(a), 0.0, math.cos(a)])
    left = np.array([math.cos(a), 0.0, -math.sin(a)])  # +X is the character's left at facing 0
    d = np.asarray(targets, np.float64) - head
    ahead, side = d @ forward, d @ left
    yaw = np.degrees(np.arctan2(side, ahead))
    pitch = np.degrees(np.arctan2(d[:, 1], np.hypot(side, ahead)))
    return np.stack([np.clip(yaw, -EYE_YAW_LIMIT, EYE_YAW_LIMIT),
                     np.clip(pitch, -EYE_PITCH_LIMIT, EYE_PITCH_LIMIT)], axis=1)


def look_weights(eyes: np.ndarray) -> dict[str, np.ndarray]:
    """The gaze shapes (lookLeft/Right/Up/Down) for eye angles (f, 2): angle / limit."""
    yaw, pitch = eyes[:, 0] / EYE_YAW_LIMIT, eyes[:, 1] / EYE_PITCH_LIMIT
    return {"lookLeft": np.clip(yaw, 0, 1), "lookRight": np.clip(-yaw, 0, 1),
            "lookUp": np.clip(pitch, 0, 1), "lookDown": np.clip(-pitch, 0, 1)}


def head_point(member: dict, height: float) -> np.ndarray:
    """(3,) where a compiled cast member's eyes are, about: over its position, 0.93 of its
    height up."""
    return np.asarray(member["position"], np.float64) + [0.0, HEAD_HEIGHT * height, 0.0]


def gaze_targets(entry: CastEntry, cast: list[dict], heights: dict[str, float],
                 cameras: list[dict]) -> np.ndarray | None:
    """(f, 3) world point ``entry`` looks at per frame (``cameras``: the shot's per-frame
    camera dicts), or None when it has no ``look_at``."""
    frames = len(cameras)
    target = entry.look_at
    if target is None:
        return None
    if target == "camera":
        return np.array([c["location"] for c in cameras], np.float64)
    if isinstance(target, str):
        other = next(c for c in cast if c["name"] == target)
        return np.tile(head_point(other, heights[target]), (frames, 1))
    return np.tile(np.asarray(target, np.float64), (frames, 1))


def mouth_weights(spec: ShotSpec, speaker: str, fps: float, frames: int
                  ) -> dict[str, np.ndarray]:
    """The mouth of ``speaker`` through the shot: channel -> (frames,) weights of the visemes
    (``sil``, the rest pose, left out) and ``jawOpen``, from every line it speaks that has
    speech (``Line.voiced``). Between and outside its lines the mouth rests (all zero)."""
    from reskin.scenes.speech.visemes import TRACK_CHANNELS

    tracks = [ln.voiced.track(fps, frames, ln.start) for ln in spec.lines
              if ln.speaker == speaker and ln.voiced is not None]
    if not tracks:
        return {}
    # One speaker's lines do not overlap: the most open of them drives each channel.
    mouth = np.max(np.stack(tracks), axis=0).astype(np.float64)
    return {c: mouth[:, i] for i, c in enumerate(TRACK_CHANNELS)
            if c != "sil" and mouth[:, i].any()}


def default_gaze(spec: ShotSpec, name: str, times: np.ndarray) -> list[str | None]:
    """Who ``name`` looks at at each of ``times`` (s) when its entry sets no ``look_at``:
    the shot's cast member speaking (the last one who spoke between lines, the first to speak
    before any line), and while ``name`` speaks, the one listening (the last other speaker, else
    the first other cast member). None: nobody on screen to look at (eyes ahead)."""
    in_shot = [c.character for c in spec.cast]
    others = [n for n in in_shot if n != name]
    spoken = sorted((ln.start, ln.speaker) for ln in spec.lines
                    if ln.speaker in in_shot and ln.start is not None)
    if not spoken or not others:
        return [None] * len(times)
    out: list[str | None] = []
    for t in times:
        before = [s for s in spoken if s[0] <= t + 1e-9] or spoken[:1]
        current = before[-1][1]
        if current != name:
            out.append(current)
            continue
        previous = [sp for _, sp in before if sp != name]
        out.append(previous[-1] if previous else others[0])
    return out


def perform(spec: ShotSpec, cast: list[dict], heights: dict[str, float],
            faces: dict[str, dict | None], cameras: list[dict], fps: float
            ) -> dict[str, FacePerformance]:
    """Every cast member's :class:`FacePerformance` in shot ``spec`` (timed: every line has
    its start and duration, see :func:`reskin.scenes.dialogue.time_shot`).

    ``cast``: the compiled cast (dicts with "name", "position", "facing_deg"); ``faces``: each
    character's face map JSON (:meth:`FaceMap.to_json`, None when faceless); ``cameras``: one
    camera dict per frame. Lines whose speaker is not in the shot drive no face.
    """
    times = np.arange(len(cameras)) / fps
    out = {}
    for entry, member in zip(spec.cast, cast, strict=True):
        name = entry.character
        lines = [(ln.start, ln.duration, ln.emotion) for ln in spec.lines
                 if ln.speaker == name and ln.emotion is not None]
        weights = emotion_weights(times, entry.expression, entry.intensity, lines)
        weights.update(mouth_weights(spec, name, fps, len(cameras)))
        if entry.blink:
            stressed = entry.expression in STRESS_EMOTIONS and entry.intensity > 0.5
            shut = blink_times(blink_seed(name, spec.id), spec.duration, fps,
                               STRESS_BLINK_RATE if stressed else 1.0)
            closure = blink_curve(times, shut)
            if closure.any():
                weights["blinkLeft"] = weights["blinkRight"] = closure
        gaze = gaze_targets(entry, cast, heights, cameras)
        if gaze is None and entry.look_at is None:
            gaze = _conversation_gaze(spec, name, cast, heights, times)
        eyes = None
        if gaze is not None:
            eyes = gaze_angles(head_point(member, heights[name]), member["facing_deg"], gaze)
            face = faces.get(name) or {}
            shapes = face.get("channels", {})
            if not face.get("eye_joints") and any(shapes.get(g, {}).get("binds") for g in GAZE):
                weights.update({c: w for c, w in look_weights(eyes).items() if w.any()})
        out[name] = FacePerformance(weights=weights, gaze=gaze, eyes=eyes)
    return out


def _conversation_gaze(spec: ShotSpec, name: str, cast: list[dict],
                       heights: dict[str, float], times: np.ndarray) -> np.ndarray | None:
    """(f, 3) the heads :func:`default_gaze` picks, or None when it picks nobody."""
    who = default_gaze(spec, name, times)
    if all(w is None for w in who):
        return None
    by_name = {c["name"]: c for c in cast}
    ahead = head_point(by_name[name], heights[name])
    a = np.radians(by_name[name]["facing_deg"])
    ahead = ahead + 2.0 * np.array([np.sin(a), 0.0, np.cos(a)])  # straight ahead, 2 m out
    return np.array([head_point(by_name[w], heights[w]) if w is not None else ahead
                     for w in who], np.float64)


def performance_json(plan_cast: list[dict], fps: float, lines: list[dict] | None = None
                     ) -> dict:
    """The ``performance.json`` written beside a shot's frames: per character, per frame, the
    canonical weights (the visemes and ``jawOpen`` among them) and the gaze target (from the
    compiled plan's cast), and the shot's ``lines`` with their times, speech method and
    phonemes (seconds from the shot's start), so a tool can find the frames of a sound."""
    out = {"fps": fps, "characters": {}, "lines": list(lines or [])}
    for member in plan_cast:
        face = member.get("face") or {}
        out["characters"][member["name"]] = {
            "weights": face.get("weights", {}), "gaze": face.get("gaze"),
            "eyes": face.get("eyes")}
    return out
