"""A Fountain screenplay read into plain data: episodes, scenes, dialogue and action, with lines.

The subset reskin needs is small (scene headings, character cues with forced ``@``,
parentheticals, dialogue, action, ``#`` sections, ``===`` page breaks, the title page, notes
and boneyard), and every item must keep its line number so a mistake is one line naming the
file and line; the PyPI parsers (``jouvence``: no line numbers; ``screenplain``: HTML/FDX
output; ``fountain-parser``: unmaintained) do not give that, so the format is owned here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADING = re.compile(r"^(INT\.?/EXT|I/E|INT|EXT|EST)[\.\s]", re.IGNORECASE)
_TRANSITION = re.compile(r"^[A-Z\s]+TO:$")
_EXTENSION = re.compile(r"\(([^)]*)\)\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*(.*)$")


@dataclass(frozen=True)
class Note:
    """A ``[[note]]``: its words (whitespace collapsed) and the line it starts on. Notes are
    invisible in the printed script; reskin reads some as directions
    (:mod:`reskin.scenes.script_notes`)."""

    text: str
    line: int


@dataclass(frozen=True)
class Dialogue:
    cue: str
    """The character cue as written (without ``@`` and the extension), e.g. ``MIRA``."""
    text: str
    line: int
    extension: str = ""
    """``V.O.``, ``O.S.``, ``CONT'D`` ... upper-cased, without the brackets."""
    parenthetical: str = ""
    """The first parenthetical's words (``angry``, ``whispering``), lower-cased."""
    notes: tuple[Note, ...] = ()
    """The notes written in the dialogue block (on the cue, the text or lines of their own)."""


@dataclass(frozen=True)
class Action:
    text: str
    line: int


@dataclass
class Scene:
    heading: str
    line: int
    interior: bool
    location: str
    time: str
    """``DAY``, ``NIGHT``, ... upper-cased; empty when the heading names none."""
    beats: list[Dialogue | Action | Note] = field(default_factory=list)
    """In order; a note outside dialogue is a beat of its own."""


@dataclass
class EpisodeSection:
    title: str
    line: int
    scenes: list[Scene] = field(default_factory=list)


@dataclass
class Screenplay:
    title_page: dict[str, str]
    episodes: list[EpisodeSection]


def _markup(text: str) -> tuple[list[str], dict[int, list[Note]], set[int]]:
    """The lines without boneyard ``/* */`` and notes ``[[ ]]`` (their newlines kept: line
    numbers hold), the notes by the 0-based line they start on, and the lines that held
    nothing but notes (skipped as if absent, so a note on a line of its own inside a
    dialogue block does not end it)."""
    keep_lines = lambda m: "\n" * m.group(0).count("\n")  # noqa: E731
    text = re.sub(r"/\*.*?\*/", keep_lines, text, flags=re.DOTALL)
    notes: dict[int, list[Note]] = {}

    def note(m: re.Match) -> str:
        at = text.count("\n", 0, m.start())
        notes.setdefault(at, []).append(Note(" ".join(m.group(1).split()), at + 1))
        return keep_lines(m)

    bare = re.sub(r"\[\[(.*?)\]\]", note, text, flags=re.DOTALL)
    before, after = text.split("\n"), bare.split("\n")
    only = {i for i, (a, b) in enumerate(zip(before, after, strict=True))
            if a.strip() and not b.strip()}
    return after, notes, only


def _title_page(lines: list[str], skip: set[int]) -> tuple[dict[str, str], int]:
    """The title page's keys (lower-cased) and the index of the first line after it (its
    notes are dropped; ``skip``: lines that held only notes)."""
    if not lines or not _TITLE_KEY.match(lines[0]) or _HEADING.match(lines[0]):
        return {}, 0
    page: dict[str, str] = {}
    key = None
    i = 0
    while i < len(lines) and (lines[i].strip() or i in skip):
        if i in skip:
            i += 1
            continue
        m = _TITLE_KEY.match(lines[i])
        if m and not lines[i].startswith((" ", "\t")):
            key = m.group(1).strip().lower()
            page[key] = m.group(2).strip()
        elif key is not None:
            page[key] = (page[key] + "\n" + lines[i].strip()).strip()
        i += 1
    return page, i


def _heading(text: str, line: int) -> Scene:
    text = text.lstrip(".").strip()
    text = re.sub(r"\s*#[^#]*#\s*$", "", text)  # a scene number
    prefix = _HEADING.match(text + " ")
    kind = prefix.group(1).upper() if prefix else ""
    rest = text[prefix.end():].strip() if prefix else text
    location, _, time = rest.rpartition(" - ") if " - " in rest else (rest, "", "")
    return Scene(heading=text.upper(), line=line, interior=kind.startswith(("INT", "I/E")),
                 location=location.strip().upper(), time=time.strip().upper())


def _is_cue(line: str, nxt: str | None) -> bool:
    if nxt is None or not nxt.strip():
        return False
    if line.startswith("@"):
        return True
    name = _EXTENSION.sub("", line).strip()
    return (bool(re.search(r"[A-Z]", name)) and name == name.upper()
            and not _HEADING.match(line + " ") and not _TRANSITION.match(line.strip()))


def parse_fountain(text: str) -> Screenplay:
    """Parse a Fountain screenplay. Episode boundaries: a level-1 section (``# Episode 5``) or a
    page break (``===``); the text before the first boundary is the first episode. Line
    numbers are 1-based lines of ``text``. A note belongs to the dialogue block it is written
    in, else it is a beat of the scene (notes before a scene's heading go to that scene)."""
    lines, notes, only = _markup(text.replace("\r\n", "\n"))
    page, i = _title_page(lines, only)
    episodes = [EpisodeSection(title=page.get("title", ""), line=1)]
    scene: Scene | None = None
    pending: list[Note] = []  # notes waiting for the scene they come before

    def place(found: list[Note]) -> None:
        (scene.beats if scene is not None else pending).extend(found)

    def open_scene(new: Scene) -> Scene:
        new.beats.extend(pending)
        pending.clear()
        return new

    prev_blank = True
    while i < len(lines):
        if i in only:
            place(notes.get(i, []))
            i += 1
            continue
        raw = lines[i].rstrip()
        stripped = raw.strip()
        k = i + 1
        while k in only:
            k += 1
        nxt = lines[k] if k < len(lines) else None
        n = i + 1
        if not stripped:
            prev_blank = True
            i += 1
            continue
        if stripped.startswith("#") and not stripped.startswith("##"):
            episodes.append(EpisodeSection(title=stripped.lstrip("#").strip(), line=n))
            scene = None
        elif re.fullmatch(r"={3,}", stripped):
            episodes.append(EpisodeSection(title="", line=n))
            scene = None
        elif stripped.startswith(("##", "=")) or (stripped.startswith(">") and
                                                  stripped.endswith("<")):
            pass  # sub-sections, synopses and centred text carry nothing to stage
        elif prev_blank and ((stripped.startswith(".") and not stripped.startswith(".."))
                             or _HEADING.match(stripped + " ")):
            scene = open_scene(_heading(stripped, n))
            episodes[-1].scenes.append(scene)
        elif prev_blank and not stripped.startswith("!") and _is_cue(stripped, nxt):
            ext = _EXTENSION.search(stripped.lstrip("@"))
            cue = _EXTENSION.sub("", stripped.lstrip("@")).strip()
            paren, said, j = "", [], i + 1
            found = list(notes.get(i, []))
            while j < len(lines) and (lines[j].strip() or j in only):
                found += notes.get(j, [])
                part = lines[j].strip()
                if not part:
                    pass
                elif part.startswith("(") and part.endswith(")"):
                    paren = paren or part[1:-1].strip().lower()
                else:
                    said.append(part)
                j += 1
            scene = _scene_for(episodes[-1], scene, n, open_scene)
            scene.beats.append(Dialogue(cue=cue, text=" ".join(said), line=n,
                                        extension=ext.group(1).upper() if ext else "",
                                        parenthetical=paren, notes=tuple(found)))
            i, prev_blank = j, True
            continue
        elif _TRANSITION.match(stripped) or stripped.startswith(">"):
            pass  # transitions: the coverage cuts anyway
        else:
            scene = _scene_for(episodes[-1], scene, n, open_scene)
            scene.beats.append(Action(text=stripped.lstrip("!"), line=n))
        place(notes.get(i, []))
        prev_blank = False
        i += 1
    return Screenplay(title_page=page,
                      episodes=[e for e in episodes if e.scenes] or episodes[:1])


def _scene_for(episode: EpisodeSection, scene: Scene | None, line: int, open_scene) -> Scene:
    """The current scene, or an unnamed interior one (no heading) for text before any."""
    if scene is None:
        scene = open_scene(Scene(heading="", line=line, interior=True, location="", time=""))
        episode.scenes.append(scene)
    return scene
