"""A screenplay's ``[[notes]]`` read as reskin's directions for the shot or line they precede.

Fountain has no words for a recorded line, a gesture clip, a camera move or a fixed shot
length, and a screenplay should still print as one: so these ride in notes, which the printed
script does not show. A note ``[[key: value]]`` whose key is one of :data:`KEYS` is a
direction; any other note is a comment the importer keeps in the episode file::

    [[shot: s02-closeup]]           the id of the shot that holds the next line
    [[camera: closeup, yaw: -10]]   its camera (a framing replaces the rule's camera;
                                    without one, the items adjust it: [[camera: orbit]])
    [[duration: 2.0]]               its length in seconds (as written)
    [[clip: nod]]                   the clip the line's speaker plays ([[clip: theo nod]]: theo's)
    [[audio: voice/ep01/a.wav]]     the line's recording, a file inside the series folder

Numbers are kept as the writer typed them (``2.0`` stays ``2.0`` in the YAML).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from reskin.core.errors import ReskinError
from reskin.scenes.episode import FRAMINGS, MOVES
from reskin.scenes.fountain import Note

KEYS = ("shot", "camera", "duration", "clip", "audio")
CAMERA_KEYS = ("framing", "on", "over", "yaw", "lens", "move", "amount")
"""The camera items a note may give, in the order the episode file writes them."""
_NUMBERS = ("yaw", "lens", "amount")
_DIRECTION = re.compile(r"^([a-z]+)\s*:\s*(.*)$")


class Raw(str):
    """A value written into the YAML exactly as the screenplay typed it (a number)."""


@dataclass
class Directions:
    """What the notes before (or in) one line ask of it and of the shot that holds it."""

    shot: str | None = None
    camera: dict = field(default_factory=dict)
    duration: Raw | None = None
    clips: dict[str | None, str] = field(default_factory=dict)
    """Character (None: the line's speaker) -> clip."""
    audio: str | None = None
    comments: list[str] = field(default_factory=list)
    """The other notes, kept as comments."""

    @property
    def cuts(self) -> bool:
        """The line must open a shot of its own (it names, frames or times one)."""
        return bool(self.shot or self.camera or self.duration)


def _number(text: str, note: Note, file: str, key: str) -> Raw:
    try:
        float(text)
    except ValueError:
        raise ReskinError(f"[[{note.text}]]: {text!r} is not a number",
                          file=f"{file}:{note.line}", field=key) from None
    return Raw(text)


def _camera(value: str, note: Note, file: str, cast: set[str]) -> dict:
    """``closeup, yaw: -10, lens: 60, move: dolly, amount: 0.15``: bare words are a framing
    or a move; ``key: value`` items one of :data:`CAMERA_KEYS`."""
    cam: dict = {}
    where = f"{file}:{note.line}"
    for item in (p.strip() for p in value.split(",") if p.strip()):
        key, _, val = (s.strip() for s in item.partition(":"))
        if not val:
            val = key.lower()
            key = "framing" if val in FRAMINGS else "move" if val in MOVES else ""
            if not key:
                raise ReskinError(f"[[{note.text}]]: {val!r} is neither a framing "
                                  f"({', '.join(FRAMINGS)}) nor a move ({', '.join(MOVES)})",
                                  file=where, field="camera")
        if key not in CAMERA_KEYS:
            raise ReskinError(f"[[{note.text}]]: unknown camera item {key!r} (one of "
                              f"{', '.join(CAMERA_KEYS)})", file=where, field="camera")
        choices = {"framing": FRAMINGS, "move": MOVES, "on": cast, "over": cast}.get(key)
        if choices is not None and val.lower() not in choices:
            raise ReskinError(f"[[{note.text}]]: {key} {val!r} is not one of "
                              f"{', '.join(sorted(choices))}", file=where, field="camera")
        cam[key] = _number(val, note, file, "camera") if key in _NUMBERS else val.lower()
    return {k: cam[k] for k in CAMERA_KEYS if k in cam}


def read_notes(notes: list[Note] | tuple[Note, ...], file: str, cast: set[str],
               into: Directions | None = None) -> Directions:
    """Fold ``notes`` into ``into`` (a new :class:`Directions` by default). ``cast``: the
    characters a note may name. A note that looks like a misspelt direction (``[[camrea:
    orbit]]``) is one line naming the screenplay's line, not a silent comment."""
    out = into if into is not None else Directions()
    for note in notes:
        m = _DIRECTION.match(note.text)
        key, value = (m.group(1), m.group(2).strip()) if m else ("", "")
        if key not in KEYS:
            near = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.75) if key else []
            if near:
                raise ReskinError(f"[[{note.text}]]: unknown direction {key!r}; did you mean "
                                  f"{near[0]!r}? (directions: {', '.join(KEYS)})",
                                  file=f"{file}:{note.line}", field="note")
            out.comments.append(note.text)
            continue
        if not value:
            raise ReskinError(f"[[{note.text}]]: {key} needs a value",
                              file=f"{file}:{note.line}", field=key)
        if key == "shot":
            if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
                raise ReskinError(f"[[{note.text}]]: a shot id is letters, digits, '_' or '-'",
                                  file=f"{file}:{note.line}", field="shot")
            out.shot = value
        elif key == "camera":
            out.camera.update(_camera(value, note, file, cast))
        elif key == "duration":
            out.duration = _number(value, note, file, "duration")
        elif key == "clip":
            who, _, clip = value.rpartition(" ")
            if who and who.lower() not in cast:
                raise ReskinError(f"[[{note.text}]]: {who!r} is not in the cast "
                                  f"({', '.join(sorted(cast))})", file=f"{file}:{note.line}",
                                  field="clip")
            out.clips[who.lower() or None] = clip
        else:
            out.audio = value
    return out
