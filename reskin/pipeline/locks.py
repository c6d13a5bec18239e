"""Locked episodes: a shot of a locked episode renders from exact skin versions, forever.

Locking records, for each character of the episode, the skin version it uses now
(``.reskin/locks/<episode>.json``) and pins it in the library, so ``asset rm`` refuses to
delete it and later edits of a wardrobe or a character leave the locked episode as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from reskin.assets.library import Library
from reskin.core.atomic import write_text_atomic
from reskin.core.errors import ReskinError


def lock_path(library_dir: Path, episode: str) -> Path:
    return library_dir / "locks" / f"{episode}.json"


def read_lock(library_dir: Path, episode: str) -> dict[str, str] | None:
    """character -> skin ref of a locked episode, or None when it is not locked."""
    path = lock_path(library_dir, episode)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return {str(k): str(v) for k, v in data["skins"].items()}
    except (ValueError, KeyError, AttributeError):
        raise ReskinError("lock file is damaged (unlock and lock the episode again)",
                          file=path) from None



def locked_skin(library_dir: Path, lock: dict[str, str] | None, episode: str,
                character: str) -> str | None:
    """The skin ref ``character`` is locked to in ``episode`` (``lock`` as :func:`read_lock`
    gives it), or None when the episode is not locked; a lock without the character is an
    error, since the build may not choose a skin for a locked episode."""
    if lock is None:
        return None
    if character not in lock:
        raise ReskinError(f"{episode} is locked without {character}; unlock it to add them",
                          file=lock_path(library_dir, episode))
    return lock[character]

def lock(lib: Library, episode: str, skins: dict[str, str]) -> Path:
    """Pin ``skins`` (character -> skin ref) for ``episode`` and write its lock file."""
    holder = f"episode:{episode}"
    for ref in skins.values():
        for rec in lib.lineage(lib.get(ref)):
            lib.pin(rec.ref, holder)
    path = lock_path(lib.root, episode)
    write_text_atomic(path, json.dumps({"episode": episode, "skins": skins}, indent=1))
    return path


def unlock(lib: Library, episode: str) -> bool:
    path = lock_path(lib.root, episode)
    lib.unpin(f"episode:{episode}")
    if path.exists():
        path.unlink()
        return True
    return False
