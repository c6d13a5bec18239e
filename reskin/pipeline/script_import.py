"""`reskin script import`: a Fountain screenplay written as episode files of a series.

Each written ``episodes/<id>.yaml`` has a sidecar ``episodes/.<id>.import.json`` holding the
hash of what was written: a file whose content no longer matches it was edited by hand, and
is not overwritten without ``force``. An unchanged re-import writes nothing (the files and
their times stay as they are, so nothing re-renders).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from reskin.core.errors import ReskinError
from reskin.scenes.fountain import parse_fountain
from reskin.scenes.script_import import Staging, parse_aliases, stage_screenplay
from reskin.scenes.series import SeriesConfig, load_series  # noqa: F401

SEATS = ("chair", "stool", "bench", "sofa", "seat")
DEFAULT_HEIGHT = 1.75


@dataclass(frozen=True)
class Imported:
    episode: str
    path: Path
    status: str
    """written, unchanged or new."""
    wardrobes: tuple[str, ...] = ()
    """Wardrobe files made for the episode (copied from the character's latest one)."""


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.stem}.import.json")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _library_staging(series: SeriesConfig) -> tuple[bool, str | None]:
    """(the library has a walk clip, the name of a seat prop with a model or None)."""
    from reskin.assets.library import Library

    lib_dir = series.library_dir
    if not (Path(lib_dir) / "catalog.sqlite").exists():
        return False, None
    with Library(lib_dir) as lib:
        records = lib.list()
    names = {r.name: r for r in records}
    walk = "walk" in names and names["walk"].kind == "clip"
    seat = next((s for s in SEATS if s in names and "model.glb" in names[s].blobs), None)
    return walk, seat


def import_script(root: Path, source: Path, *, episode: str | None = None,
                  coverage: str = "normal", force: bool = False) -> list[Imported]:
    """Write the episodes of the screenplay ``source`` into the series at ``root``.

    ``episode``: the first episode's id (default: ``epNN`` from a ``# Episode N`` section,
    else ``ep01``); further sections count up from it. Raises :class:`ReskinError` for an
    unknown speaker or an episode file edited since the last import (without ``force``),
    before anything is written.
    """
    from reskin.pipeline.inputs import load_cast

    series = load_series(root)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReskinError(f"cannot read the screenplay ({exc})", file=source) from None
    play = parse_fountain(text)
    cast = load_cast(series)
    heights = {n: float(spec.params.get("height", DEFAULT_HEIGHT)) for n, spec in cast.items()}
    walk, seat = _library_staging(series)
    staging = Staging(cast=heights, aliases=parse_aliases(play.title_page.get("cast", "")),
                      walk=walk, seat=seat, density=coverage)
    first = episode or _first_id(play)
    written = stage_screenplay(play, staging, file=source.name, first_id=first)
    episodes_dir = series.root / "episodes"
    plans = []
    for eid, yaml_text in written:
        path = episodes_dir / f"{eid}.yaml"
        status = "new"
        if path.exists():
            current = path.read_text(encoding="utf-8")
            if current == yaml_text:
                status = "unchanged"
            else:
                side = _sidecar(path)
                recorded = json.loads(side.read_text())["sha256"] if side.exists() else None
                if recorded != _sha(current) and not force:
                    raise ReskinError(
                        "edited since the last import (or not written by it); keep your "
                        "edits, or overwrite them with --force", file=path)
                status = "written"
        plans.append((eid, path, yaml_text, status))
    out = []
    for eid, path, yaml_text, status in plans:
        if status != "unchanged":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml_text, encoding="utf-8")
        side = _sidecar(path)
        record = {"sha256": _sha(yaml_text), "source": str(source.name)}
        if not side.exists() or json.loads(side.read_text()) != record:
            side.write_text(json.dumps(record, indent=1) + "\n")
        out.append(Imported(eid, path, status, _wardrobes(series, eid, yaml_text, cast)))
    return out


def _first_id(play) -> str:
    import re

    m = re.search(r"(\d+)", play.episodes[0].title or "")
    return f"ep{int(m.group(1)):02d}" if m else "ep01"


def _wardrobes(series: SeriesConfig, eid: str, yaml_text: str, cast) -> tuple[str, ...]:
    """A wardrobe for every character of the episode that has none: a copy of its latest."""
    made = []
    for name in cast:
        if f"character: {name}" not in yaml_text:
            continue
        folder = series.root / "cast" / name
        target = folder / f"{eid}.yaml"
        if target.exists():
            continue
        others = sorted(p for p in folder.glob("*.yaml") if p.name != "character.yaml")
        if others:
            shutil.copyfile(others[-1], target)
            made.append(str(target.relative_to(series.root)))
    return tuple(made)
