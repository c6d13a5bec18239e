"""A parsed screenplay staged as episode files: speakers, sets, lights, blocking, coverage.

:func:`stage_screenplay` turns :class:`reskin.scenes.fountain.Screenplay` into episode YAML
text (one per episode section) that reads as if a person wrote it: flow mappings, the
coverage rule and the screenplay's notes as comments, and what its ``[[key: value]]`` notes
direct (:mod:`reskin.scenes.script_notes`: shot ids, cameras, clips, recordings, lengths).
Everything here is pure; the files are written by :mod:`reskin.pipeline.script_import`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace

from reskin.core.errors import ReskinError
from reskin.scenes.coverage import Cue, Mark, cover_scene
from reskin.scenes.episode import EXPRESSIONS, NARRATOR
from reskin.scenes.fountain import Action, Dialogue, Note, Scene, Screenplay
from reskin.scenes.script_notes import Directions, Raw, read_notes

# Parentheticals that are an emotion (beyond the canonical names themselves).
EMOTION_WORDS = {"furious": "angry", "angrily": "angry", "shouting": "angry", "smiling": "happy",
                 "laughing": "happy", "happily": "happy", "crying": "sad", "tearful": "sad",
                 "sadly": "sad", "shocked": "surprised", "stunned": "surprised",
                 "calm": "relaxed", "calmly": "relaxed"}
# Stage marks of the two principals (left, right) and anyone else; facings towards each other.
LEFT, RIGHT, EXTRA = (-0.55, 0.0, 25.0), (0.55, 0.0, -25.0), (0.0, -0.6, 0.0)
CENTRE = (0.0, 0.0, 0.0)
"""A scene's only character: centre stage, facing front (the defaults, so nothing written)."""
OFFSTAGE_X = 3.0
# An entrance walks at this pace (m/s), and the shot's first line waits until the walker is
# at the mark (a shot timed by its line alone would cut away mid-walk).
ENTRANCE_SPEED = 1.2
ENTRANCE_AT_S = round(OFFSTAGE_X / ENTRANCE_SPEED + 0.2, 1)
SEAT_BEHIND_M = 0.35
PALETTE = [("#8c7b68", "#cdbfa6"), ("#6f7a73", "#b9c4bb"), ("#7d6b73", "#cbb8bf"),
           ("#75705f", "#d4cba8"), ("#5f6b7a", "#aab8c9")]
EXTERIOR_FLOOR = ["#7a8a62", "#8a8275", "#6b7580"]


@dataclass
class Staging:
    """What the importer knows of the series."""

    cast: dict[str, float]
    """Character name -> height in metres."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Cue (upper-cased) -> character name: the title page's ``Cast: 西奥 = theo``."""
    walk: bool = False
    """The library has a ``walk`` clip (entrances are walked)."""
    seat: str | None = None
    """A library prop to sit on (``chair``), or None (sitting stays a note)."""
    density: str = "normal"


def parse_aliases(value: str) -> dict[str, str]:
    """``西奥 = theo, LIN = mira`` (commas or lines) -> {cue: name}."""
    out = {}
    for part in re.split(r"[,\n;]", value):
        if "=" in part:
            cue, name = (p.strip() for p in part.split("=", 1))
            out[cue.lstrip("@").upper()] = name.lower()
    return out


def _speaker(d: Dialogue, staging: Staging, file: str) -> str:
    cue = d.cue.upper()
    if cue in staging.aliases:
        name = staging.aliases[cue]
    elif cue == NARRATOR.upper():
        name = NARRATOR
    else:
        name = d.cue.lower()
    if name != NARRATOR and name not in staging.cast:
        known = ", ".join(sorted(staging.cast)) or "nobody"
        example = sorted(staging.cast)[0] if staging.cast else "name"
        raise ReskinError(f"unknown speaker {d.cue!r} (the cast is: {known}; map another name "
                          f"on the title page: `Cast: {d.cue} = {example}`)",
                          file=f"{file}:{d.line}", field="speaker")
    return name


def _emotion(paren: str) -> str | None:
    word = paren.split()[0].strip(",.;") if paren else ""
    return word if word in EXPRESSIONS else EMOTION_WORDS.get(word)


def _names_in(text: str, staging: Staging) -> list[tuple[int, str]]:
    found = []
    for cue, name in [(n.upper(), n) for n in staging.cast] + list(staging.aliases.items()):
        for m in re.finditer(rf"(?<!\w){re.escape(cue)}(?!\w)", text, re.IGNORECASE):
            found.append((m.start(), name))
    return sorted(found)


_VERBS = {"enter": r"(enters|walks in|comes in|arrives)", "sit": r"(sits|sits down)",
          "turn": r"turns(?:\s+(?:back\s+)?to(?:wards?)?\s+(\w+))?"}


def _blocking(text: str, staging: Staging, last: str | None, other) -> list[tuple[str, str, str]]:
    """Recognised blocking in an action line: [(verb, who, whom)]."""
    found = []
    names = _names_in(text, staging)
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        for verb, pattern in _VERBS.items():
            m = re.search(rf"(?<!\w)(\w+)\s+{pattern}(?!\w)", sentence, re.IGNORECASE)
            if not m:
                continue
            subject = m.group(1)
            named = [n for _, n in _names_in(subject, staging)]
            who = named[0] if named else (last if subject.lower() in ("she", "he", "they")
                                          else None)
            if who is None:
                continue
            whom = ""
            if verb == "turn" and m.lastindex and m.lastindex >= 2 and m.group(2):
                target = [n for _, n in _names_in(m.group(2), staging)]
                whom = target[0] if target else other(who)
            found.append((verb, who, whom or ""))
        last = names[-1][1] if names else last
    return found


@dataclass
class _Member:
    mark: tuple[float, float, float]
    present: bool = True
    facing: float = 0.0
    seated: bool = False
    pending: list = field(default_factory=list)
    """Actions for the next shot it is in."""
    entering_from: float | None = None


def _unstaged(found: list, staging: Staging) -> str:
    """Why a recognised piece of blocking stays a note (the library lacks what it needs)."""
    if any(v == "enter" for v, _, _ in found) and not staging.walk:
        return " (a cut: no walk clip in the library; `reskin clip import walk.bvh --name walk`)"
    if any(v == "sit" for v, _, _ in found) and not staging.seat:
        return " (stays standing: no chair, stool, bench, sofa or seat prop in the library)"
    return ""


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back as the same string."""
    plain = re.fullmatch(r"[A-Za-z][\w .,'!?-]*", text) and not text.endswith(" ")
    return text if plain and text.lower() not in ("yes", "no", "on", "off", "null") else _q(text)


def _flow(d: dict) -> str:
    parts = []
    for k, v in d.items():
        if isinstance(v, Raw):
            pass  # a number as the screenplay typed it
        elif isinstance(v, str):
            v = v if re.fullmatch(r"[A-Za-z][\w@./-]*", v) and v not in ("yes", "no", "on",
                                                                          "off", "null") else _q(v)
        elif isinstance(v, dict):
            v = _flow(v)
        elif isinstance(v, list):
            v = "[" + ", ".join(_flow(x) if isinstance(x, dict) else _q(x) if isinstance(x, str)
                                else f"{x:g}" if isinstance(x, float) else str(x)
                                for x in v) + "]"
        elif isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, float):
            v = f"{v:g}"
        parts.append(f"{k}: {v}")
    return "{" + ", ".join(parts) + "}"


def _scene_set(scene: Scene, index: int, seat_prop: dict | None) -> tuple[dict, str]:
    """The scene's ``set`` (empty: none written, the series' default stage, for a scene
    without a heading: nothing says where it is) and its lights preset."""
    night = "NIGHT" in scene.time or "EVENING" in scene.time
    lights = "night-interior" if night else ("three-point" if scene.interior else "day-exterior")
    h = sum(map(ord, scene.location or str(index)))
    if not scene.heading:
        stage = {}
    elif scene.interior:
        floor, wall = PALETTE[h % len(PALETTE)]
        stage = {"floor": floor, "wall": wall, "wall_distance": 2.0}
    else:
        stage = {"floor": EXTERIOR_FLOOR[h % len(EXTERIOR_FLOOR)], "wall": "none"}
    if seat_prop:
        stage["props"] = [seat_prop]
    return stage, lights


def stage_screenplay(play: Screenplay, staging: Staging, *, file: str, first_id: str,
                     ids: list[str] | None = None) -> list[tuple[str, str]]:
    """[(episode id, YAML text)] for every episode section of ``play``. ``first_id``: the id
    of the first (``ep05``); the next ones count up from it (``ids`` overrides them)."""
    m = re.fullmatch(r"(.*?)(\d+)", first_id)
    prefix, number, width = (m.group(1), int(m.group(2)), len(m.group(2))) if m else \
        (first_id + "-", 1, 1)
    out = []
    for k, section in enumerate(play.episodes):
        eid = ids[k] if ids and k < len(ids) else (first_id if k == 0 else
                                                    f"{prefix}{number + k:0{width}d}")
        title = section.title or play.title_page.get("title", "") or eid
        title = re.sub(r"^episode\s+\d+\s*[:.-]?\s*", "", title, flags=re.IGNORECASE) or title
        # where it came from on the title's line: a file's own lines keep their numbers
        text = [f"title: {_scalar(title)}    # imported from {file}; a re-import keeps your "
                "edits (or --force)", "shots:"]
        for n, scene in enumerate(section.scenes, 1):
            text += _stage_scene(scene, n, staging, file, hook=n == 1)
        out.append((eid, "\n".join(text) + "\n"))
    return out


def _stage_scene(scene: Scene, n: int, staging: Staging, file: str, hook: bool) -> list[str]:
    dialogue = [b for b in scene.beats if isinstance(b, Dialogue)]
    speakers = [_speaker(d, staging, file) for d in dialogue]
    order: list[str] = []
    for b in scene.beats:  # who is in the scene, in order of appearance
        names = ([speakers[dialogue.index(b)]] if isinstance(b, Dialogue) and
                 b.extension not in ("V.O.", "O.S.", "O.C.") else
                 [nm for _, nm in _names_in(b.text, staging)] if isinstance(b, Action) else [])
        order += [x for x in names if x not in order and x != NARRATOR]
    counts = {x: speakers.count(x) for x in order}
    principals = tuple(sorted(sorted(order, key=lambda x: -counts[x])[:2], key=order.index))
    members: dict[str, _Member] = {}
    for x in order:
        mark = CENTRE if len(order) == 1 else LEFT if x == principals[0] else \
            RIGHT if len(principals) > 1 and x == principals[1] else EXTRA
        members[x] = _Member(mark=mark, facing=mark[2])
    cast_names = set(staging.cast)

    def other(who: str) -> str:
        rest = [p for p in principals if p != who]
        return rest[0] if rest else who

    # Walk the beats: blocking, notes and directions attach to the next line.
    items = []  # (dialogue, speaker, notes, actions: [(verb, who, whom)], directions)
    notes: list[str] = []
    acts: list = []
    direct = Directions()
    last = None
    entered: set[str] = set()
    for b in scene.beats:
        if isinstance(b, Note):
            read_notes([b], file, cast_names, into=direct)
            notes += direct.comments  # in order among the action lines
            direct.comments = []
        elif isinstance(b, Action):
            found = _blocking(b.text, staging, last, other)
            acts += found
            for verb, who, _ in found:
                if verb == "enter" and who not in entered:
                    entered.add(who)
            notes.append(b.text + _unstaged(found, staging))
            named = _names_in(b.text, staging)
            last = named[-1][1] if named else last
        else:
            spk = speakers[dialogue.index(b)]
            items.append((b, spk, notes, acts, read_notes(b.notes, file, cast_names,
                                                          into=direct)))
            notes, acts, last, direct = [], [], spk, Directions()
    for who in entered:  # absent until they enter, if the entrance is their first appearance
        first_line = next((i for i, it in enumerate(items) if it[1] == who), len(items))
        first_act = next((i for i, it in enumerate(items)
                          if any(v == "enter" and w == who for v, w, _ in it[3])), None)
        if first_act is not None and first_act <= first_line:
            members[who].present = False
    seat_for = next((w for it in items for v, w, _ in it[3] if v == "sit"), None)
    seat_prop = None
    if staging.seat and seat_for:
        mx, mz, f = members[seat_for].mark
        seat_prop = {"asset": staging.seat,
                     "position": [round(mx - SEAT_BEHIND_M * math.sin(math.radians(f)), 3),
                                  round(mz - SEAT_BEHIND_M * math.cos(math.radians(f)), 3)],
                     "facing": f}
    stage, lights = _scene_set(scene, n, seat_prop)
    start_marks = _marks(members, staging)
    # per line: apply its blocking, then note who is where at its end
    cues, marks, blocking = [], [], []
    for d, spk, _, acts, said in items:
        shot_actions: dict[str, list] = {}
        for verb, who, whom in acts:
            mem = members.get(who)
            if mem is None:
                continue
            if verb == "enter" and staging.walk:
                side = -1 if mem.mark[0] <= 0 else 1
                mem.present, mem.entering_from = True, side * OFFSTAGE_X
                shot_actions.setdefault(who, []).append(
                    {"do": "walk", "to": [mem.mark[0], mem.mark[1]],
                     "speed": ENTRANCE_SPEED})
                mem.facing = -90.0 * side
            elif verb == "enter":
                mem.present = True
            elif verb == "sit" and staging.seat and not mem.seated:
                shot_actions.setdefault(who, []).append({"do": "sit", "on": staging.seat})
                mem.seated = True
            elif verb == "turn" and whom and whom in members and members[whom].present:
                shot_actions.setdefault(who, []).append({"do": "turn", "face": whom})
                dx = members[whom].mark[0] - mem.mark[0]
                mem.facing = 90.0 if dx > 0 else -90.0
        here = _marks(members, staging)
        on_screen = d.extension not in ("V.O.", "O.S.", "O.C.") and spk in here
        cues.append(Cue(speaker=spk, text=d.text, emotional=_emotion(d.parenthetical) is not None,
                        on_screen=on_screen, cut_before=bool(shot_actions) or said.cuts))
        marks.append(here)
        blocking.append(shot_actions)
        for who in list(shot_actions):  # after an entrance walk they stand at their mark
            if any(a["do"] == "walk" for a in shot_actions[who]):
                members[who].entering_from = None
                members[who].facing = members[who].mark[2]
    shots = cover_scene(cues, marks, principals, staging.density, hook=hook,
                        establishing_marks=start_marks or (marks[0] if marks else None),
                        establish=bool(scene.heading))
    out = [f"  # --- scene {n}: {scene.heading} ({file}:{scene.line})"] if scene.heading else []
    for k, shot in enumerate(shots, 1):
        holds = shot.lines[0] if shot.lines else None
        # the last line whose blocking has happened when the shot starts (its own included)
        upto = holds if holds is not None else _prev_line(shots, k)
        ref = marks[holds] if holds is not None else (start_marks if k == 1 else
                                                      marks[max(0, upto)])
        said = items[holds][4] if holds is not None else Directions()
        shot = _directed(shot, said)
        out += _shot_yaml(said.shot or f"sc{n:02d}-{k:02d}-{shot.kind}", shot, ref, members,
                          blocking, items, stage, lights, upto)
    return out


def _directed(shot, said: Directions):
    """The rule's shot as the screenplay's notes direct it: a camera naming a framing
    replaces the rule's (no rule to name then), other camera items adjust it."""
    if "framing" in said.camera:
        shot = replace(shot, camera=dict(said.camera), reason="")
    elif said.camera:
        shot = replace(shot, camera=shot.camera | said.camera)
    return replace(shot, duration=said.duration) if said.duration is not None else shot


def _prev_line(shots, k: int) -> int:
    """The last line held before the ``k``-th shot (1-based), or -1."""
    for shot in reversed(shots[:k - 1]):
        if shot.lines:
            return shot.lines[-1]
    return -1


def _marks(members: dict[str, _Member], staging: Staging) -> dict[str, Mark]:
    return {x: Mark(m.mark[0], m.mark[1], m.facing, staging.cast.get(x, 1.75))
            for x, m in members.items() if m.present}


def _shot_yaml(sid: str, shot, marks: dict[str, Mark], members, blocking, items, stage,
               lights, upto: int) -> list[str]:
    out = [f"  - id: {sid}    # {shot.reason}" if shot.reason else f"  - id: {sid}"]
    for i in shot.lines:
        for note in items[i][2]:
            out.append(f"    # {note}")
    if shot.duration is not None:
        d = shot.duration
        out.append(f"    duration: {d if isinstance(d, Raw) else format(d, 'g')}")
    out.append("    cast:")
    acts = blocking[shot.lines[0]] if shot.lines else {}
    clips = {who or items[i][1]: clip for i in shot.lines
             for who, clip in items[i][4].clips.items()}  # None: the line's speaker
    for name, mk in marks.items():
        mem = members[name]
        entry = {"character": name}
        if name in clips:
            entry["clip"] = clips[name]
        walk = [a for a in acts.get(name, []) if a["do"] == "walk"]
        if walk:
            entry["position"] = [mem.mark[0] + (-OFFSTAGE_X if mem.mark[0] <= 0 else OFFSTAGE_X),
                                 mem.mark[1]]
            entry["facing"] = 90.0 if mem.mark[0] <= 0 else -90.0
        else:
            entry["position"] = [mem.mark[0], mem.mark[1]]
            entry["facing"] = mk.facing if not acts.get(name) else _facing_before(mk, acts[name],
                                                                                  mem)
            if entry["position"] == [0.0, 0.0] and entry["facing"] == 0.0:
                del entry["position"], entry["facing"]  # the defaults: centre, facing front
        if mem.seated and not any(a["do"] == "sit" for a in acts.get(name, [])) and \
                _seated_before(name, upto, blocking):
            entry["sit"] = {"on": stage["props"][0]["asset"]}
        if acts.get(name):
            entry["actions"] = acts[name]
        out.append(f"      - {_flow(entry)}")
    out.append(f"    camera: {_flow(shot.camera)}")
    out.append(f"    lights: {lights}")
    if stage:
        out.append(f"    set: {_flow(stage)}")
    if shot.lines:
        out.append("    lines:")
        for i in shot.lines:
            d, spk, said = items[i][0], items[i][1], items[i][4]
            out += [f"      # {c}" for c in said.comments]
            line = {"speaker": spk, "text": d.text}
            if i == shot.lines[0] and any(a["do"] == "walk" for a in sum(acts.values(), [])):
                line["at"] = ENTRANCE_AT_S  # once the entrance has reached its mark
            emotion = _emotion(d.parenthetical)
            if emotion:
                line["emotion"] = emotion
            if said.audio:
                line["audio"] = said.audio
            note = f"    # ({d.parenthetical})" if d.parenthetical and not emotion else ""
            out.append(f"      - {_flow(line)}{note}")
    return out


def _facing_before(mk: Mark, acts: list, mem) -> float:
    """A member that turns in this shot starts at its staging facing."""
    return mem.mark[2] if any(a["do"] == "turn" for a in acts) else mk.facing


def _seated_before(name: str, upto: int, blocking) -> bool:
    """Whether ``name`` sat down at one of the lines up to index ``upto`` (-1: none yet)."""
    return any(any(a["do"] == "sit" for a in b.get(name, [])) for b in blocking[:upto + 1])
