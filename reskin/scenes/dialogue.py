"""A shot's dialogue timed by its speech: each line's sound and phonemes, laid one after another.

The build's speech stage (:mod:`reskin.pipeline.speech_stage`) gives every line a
:class:`Voiced` (the built-in voice's rendition, or the studio's recording with aligned
phonemes); :func:`time_shot` then places the lines that have no ``at:`` after the previous one
with a natural gap, gives each line without ``duration:`` the length of its speech, and a
shot without ``duration:`` the length of its lines plus a tail. An explicit shot duration too
short for its lines is a one-line error naming the shot and the line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from reskin.core.errors import ReskinError
from reskin.scenes.episode import Episode, Line, ShotSpec

LEAD_IN_S = 0.3
"""Silence before a shot's first line when it has no ``at:`` (the cut lands, then they speak)."""
GAP_S = 0.25
"""Silence between one line and the next when the next has no ``at:``."""
TAIL_S = 0.6
"""Time a shot without ``duration:`` holds after its last line ends (a beat before the cut)."""


@dataclass(frozen=True, eq=False)
class Voiced:
    """One line's speech: what is heard and what the mouth does.

    pcm        : (n,) float32 mono in -1..1 at ``sample_rate``; the line starts at its sample 0
    phonemes   : ``(symbol, start_s, end_s)`` from the start of ``pcm``, in ``alphabet``
                 (empty when ``method`` is ``energy``: the jaw follows the loudness)
    method     : ``synth`` (the built-in voice's own timings), ``dtw`` / ``pocketsphinx``
                 (the studio's recording aligned to the text) or ``energy``
    key        : the cache key of this speech (voice, text, recording hash, engine version)
    warning    : why the alignment fell back (None when it did not)
    """

    key: str
    pcm: np.ndarray
    sample_rate: int
    phonemes: tuple[tuple[str, float, float], ...]
    alphabet: str = "espeak"
    method: str = "synth"
    warning: str | None = None

    @property
    def duration(self) -> float:
        return len(self.pcm) / float(self.sample_rate)

    def track(self, fps: float, frames: int, start: float) -> np.ndarray:
        """The mouth through a shot of ``frames`` frames when the line starts ``start`` seconds
        into it: ``(frames, 16)`` over :data:`reskin.scenes.speech.visemes.TRACK_CHANNELS`
        (rest before and after the line)."""
        from reskin.scenes.speech.visemes import energy_track, viseme_track

        if self.method == "energy":
            return energy_track(self.pcm, self.sample_rate, fps, frames, -start)
        return viseme_track(list(self.phonemes), fps, frames, self.alphabet, -start)


def _where(spec_where: str) -> tuple[str | None, str | None]:
    file, _, path = spec_where.partition("|")
    return file or None, path or None


def time_shot(shot: ShotSpec) -> ShotSpec:
    """``shot`` with every line's ``start`` and ``duration`` and its own ``duration`` set.

    A line without ``at:`` starts :data:`GAP_S` after the previous line ends (the first
    :data:`LEAD_IN_S` into the shot); a line without ``duration:`` lasts as long as its speech
    (a line with no speech and no duration: to the end of an explicit shot duration). A shot
    without ``duration:`` ends :data:`TAIL_S` after its last line; one with a ``duration:``
    shorter than where a line's speech or subtitle ends raises :class:`ReskinError` naming the
    shot and the line.
    """
    lines: list[Line] = []
    cursor: float | None = None  # where the previous line's sound and subtitle end
    ends: list[float] = []
    for ln in shot.lines:
        start = ln.start
        if start is None:
            start = LEAD_IN_S if cursor is None else cursor + GAP_S
        spoken = ln.voiced.duration if ln.voiced is not None else None
        length = ln.duration
        if length is None:
            if spoken is not None:
                length = spoken
            elif shot.duration is not None and start < shot.duration:
                length = shot.duration - start
            else:
                file, path = _where(ln.where)
                raise ReskinError("the line has no speech to time it: give it at: and "
                                  "duration:", file=file, field=path)
        end = start + max(length, spoken or 0.0)
        ends.append(end)
        cursor = end
        lines.append(dataclasses.replace(ln, start=round(start, 4), duration=round(length, 4)))
    duration = shot.duration
    if duration is None:
        duration = round(max(ends) + TAIL_S, 4)
    else:
        for ln, end in zip(lines, ends, strict=True):
            if end > duration + 1e-6:
                file, path = _where(shot.where)
                raise ReskinError(
                    f"shot {shot.id!r} lasts {duration:g} s, too short for its line "
                    f"{ln.label}, which ends at {end:.2f} s (lengthen the shot, or leave "
                    "duration: out to time it by its lines)", file=file, field=path)
    return dataclasses.replace(shot, duration=duration, lines=tuple(lines))


def time_episode(episode: Episode) -> Episode:
    """``episode`` with every shot timed (:func:`time_shot`)."""
    return dataclasses.replace(episode, shots=tuple(time_shot(s) for s in episode.shots))
