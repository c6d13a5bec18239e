"""The implicit AI-content label: the AIGC metadata GB 45438-2025 asks every file to carry.

The standard's metadata is one JSON object under the field name ``AIGC``::

    {"Label": "1", "ContentProducer": ..., "ProduceID": ..., "ReservedCode1": ...,
     "ContentPropagator": ..., "PropagateID": ..., "ReservedCode2": ...}

Label 1 says the content *is* AI-generated (2: may be, 3: suspected); ContentProducer names the
producer (its name or service-provider code), ProduceID is the content's id; the Propagator
fields are the distributing platform's to fill. Where it goes:

- MP4: a QuickTime metadata item ``AIGC`` (moov/udta/meta, ``keys`` + ``ilst``, written by
  ffmpeg with ``-movflags use_metadata_tags``), read back with ``ffmpeg -f ffmetadata``.
- PNG: an ``iTXt`` chunk keyed ``AIGC`` (UTF-8: producer names may be Chinese) and an XMP packet
  (``XML:com.adobe.xmp``) with the TC260 namespace's ``TC260:AIGC`` property, as the TC260
  practice guide writes images. Chunks are inserted after IHDR without re-encoding the image.
"""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

from reskin.core.atomic import write_bytes_atomic
from reskin.core.errors import ReskinError

FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
          "PropagateID", "ReservedCode2")
KEY = "AIGC"
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_XMP_KEY = b"XML:com.adobe.xmp"


def aigc_label(producer: str, produce_id: str, *, label: str = "1",
               reserved1: str = "", propagator: str = "", propagate_id: str = "",
               reserved2: str = "") -> dict[str, str]:
    """The standard's AIGC object, fields in its order."""
    values = (label, producer, produce_id, reserved1, propagator, propagate_id, reserved2)
    return dict(zip(FIELDS, values, strict=True))


def aigc_json(aigc: dict[str, str]) -> str:
    return json.dumps(aigc, ensure_ascii=False, separators=(",", ":"))


# PNG ----------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _itxt(key: bytes, text: str) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, empty translated key
    return _chunk(b"iTXt", key + b"\0\0\0\0\0" + text.encode("utf-8"))


def _xmp(aigc: dict[str, str]) -> str:
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:TC260="{TC260_NS}" '
            f'TC260:AIGC={quoteattr(aigc_json(aigc))}/></rdf:RDF></x:xmpmeta>'
            '<?xpacket end="w"?>')


def _chunks(data: bytes, path: Path) -> list[tuple[bytes, bytes, bytes]]:
    """(type, payload, raw bytes) of each chunk of PNG ``data``."""
    if not data.startswith(_PNG_SIG):
        raise ReskinError("not a PNG file", file=path)
    out, pos = [], len(_PNG_SIG)
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        out.append((kind, data[pos + 8:pos + 8 + n], data[pos:pos + 12 + n]))
        pos += 12 + n
        if kind == b"IEND":
            break
    return out


def _ours(kind: bytes, payload: bytes) -> bool:
    return kind in (b"iTXt", b"tEXt") and payload.split(b"\0", 1)[0] in (KEY.encode(), _XMP_KEY)


def png_with_aigc(data: bytes, aigc: dict[str, str], path: Path | None = None) -> bytes:
    """PNG ``data`` with the AIGC iTXt and XMP chunks (any earlier ones replaced)."""
    chunks = _chunks(data, path or Path("<png>"))
    body = [raw for kind, payload, raw in chunks if not _ours(kind, payload)]
    extra = _itxt(KEY.encode(), aigc_json(aigc)) + _itxt(_XMP_KEY, _xmp(aigc))
    return _PNG_SIG + body[0] + extra + b"".join(body[1:])  # body[0] is IHDR


def write_png_aigc(src: Path, dst: Path, aigc: dict[str, str]) -> None:
    """Write ``src`` (a PNG) to ``dst`` with the AIGC metadata, atomically; ``dst`` may be
    ``src``."""
    write_bytes_atomic(Path(dst), png_with_aigc(Path(src).read_bytes(), aigc, Path(src)))


def read_png_aigc(path: Path) -> dict | None:
    """The AIGC object of a PNG (its iTXt/tEXt ``AIGC``, else its XMP), or None."""
    xmp = None
    for kind, payload, _ in _chunks(Path(path).read_bytes(), Path(path)):
        if kind not in (b"iTXt", b"tEXt"):
            continue
        key, _, rest = payload.partition(b"\0")
        text = rest[4:].split(b"\0", 2)[-1] if kind == b"iTXt" else rest
        if key == KEY.encode():
            return _parse(text.decode("utf-8", "replace"), path)
        if key == _XMP_KEY:
            xmp = text.decode("utf-8", "replace")
    if xmp is not None:
        import xml.etree.ElementTree as ET

        root = ET.fromstring(xmp.split("?>", 1)[-1].rsplit("<?xpacket", 1)[0])
        for el in root.iter():
            value = el.attrib.get(f"{{{TC260_NS}}}{KEY}")
            if value is not None:
                return _parse(value, path)
    return None


# MP4 ----------------------------------------------------------------------------------------
def mp4_tags(aigc: dict[str, str]) -> dict[str, str]:
    """The container tags :func:`reskin.render.outputs.write_mp4` writes for ``aigc``."""
    return {KEY: aigc_json(aigc)}


def read_mp4_tags(path: Path) -> dict[str, str]:
    """The container-level metadata of a video, as ffmpeg (imageio-ffmpeg's) reads it."""
    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path),
                           "-f", "ffmetadata", "-"], capture_output=True, timeout=120)
    if done.returncode:
        raise ReskinError(f"ffmpeg cannot read it: {done.stderr.decode(errors='replace')[-200:]}",
                          file=path)
    tags: dict[str, str] = {}
    key, buf, esc = None, [], False
    # ffmetadata escapes '=', ';', '#', '\\' and newlines with a backslash
    for ch in done.stdout.decode("utf-8", "replace") + "\n":
        if esc:
            buf.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == "=" and key is None:
            key, buf = "".join(buf), []
        elif ch == "\n":
            if key is not None and not key.startswith((";", "[")):
                tags[key] = "".join(buf)
            key, buf = None, []
        else:
            buf.append(ch)
    return tags


def read_mp4_aigc(path: Path) -> dict | None:
    value = read_mp4_tags(path).get(KEY)
    return None if value is None else _parse(value, path)


def read_aigc(path: Path) -> dict | None:
    """The AIGC object a published PNG or MP4 carries, or None when it has none."""
    path = Path(path)
    if not path.is_file():
        raise ReskinError("no such file", file=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    return read_png_aigc(path) if head == _PNG_SIG else read_mp4_aigc(path)


def _parse(text: str, path: Path) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        raise ReskinError("its AIGC metadata is not JSON", file=path) from None
    if isinstance(value, dict) and isinstance(value.get(KEY), dict):
        value = value[KEY]  # the {"AIGC": {...}} spelling some tools write
    if not isinstance(value, dict):
        raise ReskinError("its AIGC metadata is not a JSON object", file=path)
    return value
