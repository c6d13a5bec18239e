"""Branching episodes: a shot may end with a ``choice`` (the viewer picks where the story goes)
or a ``goto`` (jump on, e.g. to where branches rejoin).

The flow of an episode is a graph over its shots: a shot with a choice leads to each option's
target, a shot with ``goto`` to that shot, any other shot to the next one in the file (the
last one ends the episode). A target is a shot id of this episode or ``ep03#s01`` (a shot of
another episode of the series). Checks: every target exists and a loop that no choice can
leave is an error; a shot no path reaches is a warning. Both name ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reskin.core.errors import ReskinError
from reskin.core.fields import Fields

if TYPE_CHECKING:
    from reskin.scenes.episode import Episode

_TARGET_RE = re.compile(r"^(?:(?P<ep>[A-Za-z0-9][A-Za-z0-9_-]{0,39})#)?"
                        r"(?P<shot>[A-Za-z0-9][A-Za-z0-9_-]{0,39})$")


@dataclass(frozen=True)
class Option:
    label: str
    """The button's text."""
    goto: str
    """A shot id of this episode, or ``epNN#shot`` of another."""
    where: str = ""
    """``file:line|field`` of the option's ``goto``."""


@dataclass(frozen=True)
class Choice:
    prompt: str
    options: tuple[Option, ...]
    timeout: float = 8.0
    """Seconds the viewer has to choose; then ``default`` is taken."""
    default: int = 0
    """Index into ``options``."""
    where: str = ""


@dataclass(frozen=True)
class Flow:
    """How a shot ends: a ``choice``, a ``goto`` or neither (on to the next shot)."""

    choice: Choice | None = None
    goto: str | None = None
    where: str = ""
    """``file:line|field`` of the ``goto`` (or the choice)."""


def _target(f: Fields, key: str) -> str:
    return f.get(key, str, check=lambda v: None if _TARGET_RE.match(v) else
                 "expected a shot id or epNN#shot-id")


def read_flow(sf: Fields) -> Flow:
    """A shot's ``choice`` and ``goto`` fields (either, not both); their targets are checked
    later against the whole episode (:func:`check_episode`)."""
    choice = None
    goto = None
    where = ""
    cf = sf.sub("choice", None)
    if cf is not None:
        if sf.has("goto"):
            sf.error("a shot ends with a choice or a goto, not both", "goto")
        options = []
        for of in cf.list_of_fields("options"):
            label = of.get("label", str, check=lambda v: None if v.strip() else
                           "the option's label is empty")
            goto_ = _target(of, "goto")
            options.append(Option(label, goto_,
                                  f"{of.file}:{of.items['goto'].line}|{of.path}.goto"))
            of.done()
        if len(options) < 2:
            cf.error("a choice needs at least two options", "options")
        n = len(options)
        choice = Choice(
            prompt=cf.get("prompt", str, ""),
            options=tuple(options),
            timeout=cf.get("timeout", float, 8.0,
                           check=lambda v: None if 0 < v <= 600 else "must be > 0 and <= 600 s"),
            default=cf.get("default", int, 0,
                           check=lambda v: None if 0 <= v < n else
                           f"must be an option's index, 0..{n - 1}"),
            where=f"{cf.file}:{cf.line}|{cf.path}",
        )
        cf.done()
        where = choice.where
    elif sf.has("goto"):
        goto = _target(sf, "goto")
        where = f"{sf.file}:{sf.items['goto'].line}|{sf.path}.goto"
    return Flow(choice=choice, goto=goto, where=where)


def successors(ep: Episode, index: int) -> list[str]:
    """The targets shot ``index`` of ``ep`` leads to (option order; [] at the end)."""
    shot = ep.shots[index]
    flow = shot.flow
    if flow.choice is not None:
        return [o.goto for o in flow.choice.options]
    if flow.goto is not None:
        return [flow.goto]
    return [ep.shots[index + 1].id] if index + 1 < len(ep.shots) else []


def _where(where: str) -> tuple[str, str | None]:
    loc, _, field = where.partition("|")
    return loc, field or None


def _shot_ids(path: Path) -> list[str]:
    """The shot ids of another episode file, read lightly (it is validated on its own)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return []
    shots = data.get("shots") if isinstance(data, dict) else None
    return [s["id"] for s in shots or [] if isinstance(s, dict) and isinstance(s.get("id"), str)]


def _check_target(ep: Episode, target: str, where: str, others: dict[str, list[str]]) -> None:
    ids = [s.id for s in ep.shots]
    loc, field = _where(where)
    m = _TARGET_RE.match(target)
    other, shot = m.group("ep"), m.group("shot")
    if other is None or other == ep.id:
        if shot not in ids:
            from difflib import get_close_matches

            near = get_close_matches(shot, ids, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ReskinError(f"goes to {target!r}, which is not a shot of this episode "
                              f"({', '.join(ids)}{hint})", file=loc, field=field)
        return
    path = Path(ep.file).parent / f"{other}.yaml"
    if other not in others:
        others[other] = _shot_ids(path) if path.exists() else []
    if not path.exists():
        raise ReskinError(f"goes to {target!r}, but there is no episode {other!r} ({path})",
                          file=loc, field=field)
    if shot not in others[other]:
        raise ReskinError(f"goes to {target!r}, but {other} has no shot {shot!r} "
                          f"({', '.join(others[other]) or 'no shots'})", file=loc, field=field)


def check_episode(ep: Episode) -> list[str]:
    """Check ``ep``'s flow; raise :class:`ReskinError` (``file:line``) for a target that does
    not exist or a loop no choice can leave; return warnings (``file:line: ...``) for shots
    no path from the first shot reaches."""
    others: dict[str, list[str]] = {}
    for shot in ep.shots:
        flow = shot.flow
        if flow.choice is not None:
            for opt in flow.choice.options:
                _check_target(ep, opt.goto, opt.where, others)
        elif flow.goto is not None:
            _check_target(ep, flow.goto, flow.where, others)
    index = {s.id: i for i, s in enumerate(ep.shots)}
    local = {i: [index[t] for t in successors(ep, i) if t in index]
             for i in range(len(ep.shots))}
    # Shots without a choice have at most one way on: follow each chain; meeting a shot of
    # the chain again is a loop the viewer can never leave.
    for start in range(len(ep.shots)):
        seen: list[int] = []
        i: int | None = start
        while i is not None and ep.shots[i].flow.choice is None:
            if i in seen:
                loop = seen[seen.index(i):]
                names = " -> ".join(ep.shots[j].id for j in [*loop, i])
                last = ep.shots[loop[-1]]
                loc, field = _where(last.flow.where or last.where)
                raise ReskinError(f"these shots loop for ever with no choice to leave: {names}",
                                  file=loc, field=field)
            seen.append(i)
            nxt = local[i]
            i = nxt[0] if nxt else None
    reached = {0}
    todo = [0]
    while todo:
        for j in local[todo.pop()]:
            if j not in reached:
                reached.add(j)
                todo.append(j)
    warnings = []
    for i, shot in enumerate(ep.shots):
        if i not in reached:
            loc = shot.where.split("|")[0]
            warnings.append(f"{loc}: shot {shot.id!r} is never played (no path from "
                            f"{ep.shots[0].id!r} reaches it)")
    return warnings


def is_branching(ep: Episode) -> bool:
    """Whether any shot of ``ep`` has a choice or a goto."""
    return any(s.flow.choice is not None or s.flow.goto is not None for s in ep.shots)


def graph_json(ep: Episode, warnings: Iterable[str] | None = None) -> dict[str, Any]:
    """``ep``'s flow as plain data: ``start``, ``nodes`` (id, duration, next, choice) and
    ``warnings``; what ``reskin build --json`` and the web package carry."""
    nodes = []
    for i, shot in enumerate(ep.shots):
        node: dict[str, Any] = {"id": shot.id, "duration": shot.duration,
                                "next": successors(ep, i)}
        c = shot.flow.choice
        if c is not None:
            node["choice"] = {"prompt": c.prompt, "timeout": c.timeout, "default": c.default,
                              "options": [{"label": o.label, "goto": o.goto}
                                          for o in c.options]}
        nodes.append(node)
    return {"episode": ep.id, "start": ep.shots[0].id, "nodes": nodes,
            "warnings": list(warnings if warnings is not None else check_episode(ep))}
