"""A director's notes on shots: ``review/notes.yaml`` in the series folder, so they travel with it.

The file is a YAML list of ``{episode, shot, note, time}`` (time: UTC, ISO 8601), oldest first.
A note is appended by reading the list, adding to it and writing the whole file to a temporary
name that is renamed into place, under a lock (a thread lock for the review server's threads, an
flock for other processes), so no note is lost and no reader sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import yaml

from reskin.core.errors import ReskinError

NOTES_FILE = Path("review") / "notes.yaml"
"""Where a series keeps its notes, relative to its folder."""
MAX_NOTE = 10_000
"""The longest note accepted, in characters."""
_LOCK = threading.Lock()


def notes_path(root: str | Path) -> Path:
    return Path(root) / NOTES_FILE


def load_notes(root: str | Path) -> list[dict]:
    """Every note of the series at ``root`` (none when the file does not exist yet)."""
    path = notes_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        raise ReskinError("not UTF-8 text", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        from reskin.core.yaml_errors import describe

        line, problem = describe(exc, text)
        raise ReskinError(problem, file=f"{path}:{line}" if line else path) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise ReskinError("expected a list of notes ({episode, shot, note, time})", file=path)
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not {"episode", "shot", "note"} <= set(entry):
            raise ReskinError("a note needs episode, shot and note", file=path, field=f"[{i}]")
    return [{k: str(v) for k, v in e.items()} for e in data]


def shot_notes(notes: list[dict], episode: str, shot: str) -> list[dict]:
    """The notes on one shot, oldest first."""
    return [n for n in notes if n["episode"] == episode and n["shot"] == shot]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(path.parent / ".notes.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def add_note(root: str | Path, episode: str, shot: str, note: str) -> dict:
    """Append a note on ``episode``/``shot`` to the series' notes file; returns the entry.

    A blank or over-long note is a ReskinError (the server answers it with a 400)."""
    from reskin.core.atomic import write_text_atomic

    text = note.strip()
    if not text:
        raise ReskinError("the note is empty", field="note")
    if len(text) > MAX_NOTE:
        raise ReskinError(f"the note is longer than {MAX_NOTE} characters", field="note")
    entry = {"episode": episode, "shot": shot, "note": text,
             "time": datetime.now(UTC).isoformat(timespec="seconds")}
    path = notes_path(root)
    with _locked(path):
        notes = load_notes(root) + [entry]
        write_text_atomic(path, yaml.safe_dump(notes, allow_unicode=True, sort_keys=False))
    return entry
