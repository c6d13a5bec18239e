"""Reading the files an imported asset refers to, without ever leaving the asset's own folder.

Every external reference in an imported file (a glTF buffer or image URI, an OBJ ``mtllib`` or
texture map) goes through :func:`resolve_reference` before anything is opened, so a hostile file
cannot make reskin read ``/etc/passwd``, follow ``../`` out of its folder, chase a symlink out of
it, or fetch a URL. Sizes are checked with ``stat`` before reading, so a reference to a huge file
(or a device) is refused without reading it.
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reskin.core.errors import ReskinError

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DRIVE_RE = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass(frozen=True)
class Limits:
    """Size limits for one import; a file over any of them is refused, not truncated."""

    max_file_bytes: int = 2 << 30  # the imported file itself
    max_json_bytes: int = 64 << 20  # a glTF JSON document or GLB JSON chunk
    max_data_uri_bytes: int = 64 << 20  # one decoded ``data:`` URI
    max_external_bytes: int = 1 << 30  # all external buffers and images together
    max_image_pixels: int = 16384 * 16384
    max_elements: int = 200_000_000  # accessor elements in total (a guard on decoded memory)


def read_limited(path: Path, limit: int, *, what: str = "file") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ReskinError(f"{what} not found", file=path) from None
    except OSError as exc:
        raise ReskinError(f"cannot read {what}: {exc.strerror}", file=path) from None
    if not stat.S_ISREG(st.st_mode):
        raise ReskinError(f"{what} is not a regular file", file=path)
    if st.st_size > limit:
        raise ReskinError(f"{what} is {st.st_size} bytes, over the {limit}-byte limit", file=path)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while we read it
        raise ReskinError(f"{what} is over the {limit}-byte limit", file=path)
    return data


def decode_data_uri(uri: str, limit: int, *, where: str) -> tuple[bytes, str]:
    """(payload, mime type) of a base64 ``data:`` URI, refusing payloads over ``limit`` bytes."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.endswith(";base64"):
        raise ReskinError("data: URI is not base64-encoded", field=where)
    if len(payload) * 3 // 4 > limit:  # checked before decoding, so nothing big is allocated
        raise ReskinError(f"data: URI is over the {limit}-byte limit", field=where)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ReskinError("data: URI has invalid base64", field=where) from None
    return data, head[5:-7]


def resolve_reference(folder: Path, uri: str, *, where: str) -> Path:
    """The file a relative reference ``uri`` names inside ``folder``; refuses anything else.

    Refused: URLs and other schemes, absolute paths (POSIX, Windows drive or UNC), any ``..``
    component, NUL bytes, and paths that a symlink takes out of ``folder``. Nothing is opened.
    """
    if _SCHEME_RE.match(uri) and not _DRIVE_RE.match(uri):
        raise ReskinError(f"external URL {uri[:60]!r} refused: only files beside it are read",
                          field=where)
    rel = urllib.parse.unquote(uri).replace("\\", "/")
    if "\x00" in rel or not rel:
        raise ReskinError("empty or invalid file reference", field=where)
    if rel.startswith("/") or _DRIVE_RE.match(rel):
        raise ReskinError(f"absolute path {uri[:60]!r} refused: only files beside it are read",
                          field=where)
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        raise ReskinError(f"path {uri[:60]!r} leaves the file's folder (..); refused",
                          field=where)
    base = folder.resolve()
    target = base.joinpath(*parts)
    # resolve() follows symlinks: a link inside the folder that points out of it is refused too.
    real = target.resolve()
    if not real.is_relative_to(base):
        raise ReskinError(f"path {uri[:60]!r} resolves outside the file's folder; refused",
                          field=where)
    return real


class ExternalReader:
    """Reads the external references of one imported file, keeping a running byte budget."""

    def __init__(self, folder: Path, limits: Limits):
        self.folder = folder
        self.limits = limits
        self.used = 0
        self.read_files: list[str] = []  # relative names, recorded in provenance

    def read(self, uri: str, *, where: str, what: str) -> bytes:
        path = resolve_reference(self.folder, uri, where=where)
        budget = self.limits.max_external_bytes - self.used
        data = read_limited(path, budget, what=what)
        self.used += len(data)
        self.read_files.append(path.relative_to(self.folder.resolve()).as_posix())
        return data

    def exists(self, uri: str, *, where: str) -> bool:
        return resolve_reference(self.folder, uri, where=where).is_file()


def sniff_image(data: bytes) -> str | None:
    """The MIME type of PNG or JPEG bytes (the two glTF core formats) or WebP
    (``EXT_texture_webp``), else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return None


def check_image(data: bytes, limits: Limits, *, where: str) -> str:
    """MIME type of an image after checking its header is readable and its size sane.

    Only the header is parsed (Pillow's ``open`` is lazy), so a decompression bomb is refused
    by its declared size before any pixel is decoded.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    mime = sniff_image(data)
    if mime is None:
        raise ReskinError("image is neither PNG, JPEG nor WebP", field=where)
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ReskinError("image is truncated or unreadable", field=where) from None
    if w * h > limits.max_image_pixels:
        raise ReskinError(f"image is {w}x{h}, over the {limits.max_image_pixels}-pixel limit",
                          field=where)
    return mime
