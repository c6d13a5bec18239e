"""The one rule for every file a series names: inside the series folder, or a library ref.

Textures, masks, decal images, garment meshes, character models, music and ambience, fonts,
screenplays, line recordings, style models: each is written in a YAML file as a path relative
to the series folder, and must resolve (symlinks followed) to a file inside it, or be an
``asset:NAME@V`` reference to an exact library version where the field takes one. Anything
else (``/etc/passwd``, ``../../x``, a symlink out of the folder, a NUL byte) is refused in one
line naming the YAML file, line and field, so a series never reads, or keys its cache on, a
file it does not ship.
"""

from __future__ import annotations

import re
from pathlib import Path

from reskin.core.fields import Fields

ASSET_PREFIX = "asset:"
_ASSET_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*@[0-9]+$")


def is_asset_ref(text: str) -> bool:
    """Whether ``text`` is written as a library reference (``asset:...``)."""
    return text.startswith(ASSET_PREFIX)


def series_path(root: str | Path, text: object, *, fields: Fields, key: str,
                what: str = "file", kind: str = "file", must_exist: bool = True,
                allow_asset: bool = False, allow_absolute: bool = False) -> Path | str:
    """The file (or folder) ``text`` names, resolved inside the series folder ``root``.

    fields, key : the YAML mapping and field it was read from (errors name them)
    what        : what the file is, for messages ("garment mesh", "music file")
    kind        : "file" or "folder" (what must exist there)
    allow_asset : accept ``asset:NAME@V`` (returned as the text, unresolved)
    allow_absolute : accept an absolute path outside the series (style model folders, which
                     are gigabytes and keyed by their content hash, may live in a shared store)
    Returns the resolved absolute Path (or the asset ref text). Raises a one-line ReskinError.
    """
    if not isinstance(text, str) or not text.strip():
        fields.error(f"{what} must be a path relative to the series folder", key)
    if is_asset_ref(text):
        if not allow_asset:
            fields.error(f"{what} must be a file in the series folder, not a library asset", key)
        if not _ASSET_REF.match(text[len(ASSET_PREFIX):]):
            name = text[len(ASSET_PREFIX):].partition("@")[0] or "name"
            fields.error(f"pin the asset version ({ASSET_PREFIX}{name}@1): reference an exact "
                         "library version", key)
        return text
    if "\x00" in text:
        fields.error(f"{what} path holds a NUL byte", key)
    base = Path(root).resolve()
    given = Path(text).expanduser() if allow_absolute else Path(text)
    try:
        path = (base / given).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable component
        fields.error(f"{what} {text!r} cannot be resolved", key)
    outside = not path.is_relative_to(base)
    if outside and not (allow_absolute and given.is_absolute()):
        fields.error(f"{what} {text!r} is outside the series folder {base} (paths are relative "
                     "to it; symlinks must stay inside)", key)
    if must_exist:
        exists = path.is_dir() if kind == "folder" else path.is_file()
        if not exists:
            fields.error(f"{what} not found: {text} (paths are relative to the series folder "
                         f"{base})", key)
    return path
