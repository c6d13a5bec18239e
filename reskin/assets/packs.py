"""Moving assets with their lineage between libraries: ``asset pack`` and ``asset unpack``.

A pack is a zip holding ``manifest.json`` and one ``objects/<sha256>`` entry per blob. Unpacking
never extracts by member name: each member is read (with its declared and actual size bounded, so
a decompression bomb is refused) and stored under the hash of its bytes, which must equal its
name. So no member can land outside the library, whatever path it claims.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from reskin import __version__
from reskin.assets.library import AssetRecord, Library, parse_ref
from reskin.core.atomic import atomic_path
from reskin.core.errors import ReskinError

PACK_FORMAT = "reskin-pack"
PACK_VERSION = 1
_MEMBER_RE = re.compile(r"^objects/([0-9a-f]{64})$")


@dataclass(frozen=True)
class PackLimits:
    max_members: int = 100_000
    max_manifest_bytes: int = 64 << 20
    max_total_bytes: int = 16 << 30  # everything, uncompressed
    max_ratio: float = 200.0  # uncompressed / compressed, per member larger than 1 MiB


def pack(lib: Library, refs: list[str], out: str | Path) -> list[AssetRecord]:
    """Write ``refs`` and all their ancestors to the zip ``out``; returns what was packed."""
    chosen: dict[str, AssetRecord] = {}
    for ref in refs:
        for rec in lib.lineage(lib.get(ref)):
            chosen.setdefault(rec.ref, rec)
    # Parents before children, so unpack can add them in manifest order.
    ordered = sorted(chosen.values(), key=lambda r: r.id)
    manifest = {
        "format": PACK_FORMAT, "version": PACK_VERSION, "reskin": __version__,
        "assets": [{"name": r.name, "version": r.version, "kind": r.kind, "created": r.created,
                    "meta": r.meta, "provenance": r.provenance, "blobs": r.blobs,
                    "parents": list(r.parents), "tags": list(r.tags),
                    "content_hash": r.content_hash} for r in ordered],
    }
    shas = sorted({s for r in ordered for s in r.blobs.values()})
    with atomic_path(out) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
            for sha in shas:
                zf.writestr(f"objects/{sha}", lib.read_blob(sha))
    return ordered


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, limits: PackLimits
                 ) -> bytes:
    if info.file_size > limit:
        raise ReskinError(f"pack member {info.filename!r} is {info.file_size} bytes uncompressed, "
                          "over the limit (decompression bomb?)")
    if info.file_size > 1 << 20 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise ReskinError(f"pack member {info.filename!r} expands {info.file_size} / "
                          f"{info.compress_size} times (decompression bomb?)")
    with zf.open(info) as fh:  # the declared size can lie: never read more than it says
        data = fh.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ReskinError(f"pack member {info.filename!r} is not the size its header says")
    return data


def read_pack(path: str | Path, limits: PackLimits | None = None
              ) -> tuple[dict, dict[str, bytes]]:
    """(manifest, sha -> blob bytes) of a pack, fully verified; nothing is written."""
    limits = limits or PackLimits()
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReskinError(f"not a readable pack ({exc})", file=path) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ReskinError(f"pack has {len(infos)} members, over the limit", file=path)
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise ReskinError("pack has duplicate member names", file=path)
        manifest_info, blobs, total = None, {}, 0
        for info in infos:
            if info.filename == "manifest.json":
                manifest_info = info
                continue
            m = _MEMBER_RE.match(info.filename)
            if m is None:
                raise ReskinError(f"pack member {info.filename!r} is not allowed (only "
                                  "manifest.json and objects/<sha256>)", file=path)
            data = _read_member(zf, info, limits.max_total_bytes - total, limits)
            total += len(data)
            if hashlib.sha256(data).hexdigest() != m.group(1):
                raise ReskinError(f"pack member {info.filename!r} does not match its hash",
                                  file=path)
            blobs[m.group(1)] = data
        if manifest_info is None:
            raise ReskinError("pack has no manifest.json", file=path)
        try:
            manifest = json.loads(_read_member(zf, manifest_info, limits.max_manifest_bytes,
                                               limits))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ReskinError("pack manifest is not valid JSON", file=path) from None
    if manifest.get("format") != PACK_FORMAT or manifest.get("version") != PACK_VERSION:
        raise ReskinError("not a reskin pack of a supported version", file=path)
    refs = set()
    for entry in manifest.get("assets", []):
        parse_ref(entry["name"])
        for sha in entry["blobs"].values():
            if sha not in blobs:
                raise ReskinError(f"pack lacks blob {sha[:12]} of {entry['name']}", file=path)
        for p in entry["parents"]:
            if p not in refs:
                raise ReskinError(f"pack lists {entry['name']} before its parent {p}", file=path)
        refs.add(f"{entry['name']}@{entry['version']}")
    return manifest, blobs


def _own_provenance(prov: dict) -> dict:
    """Provenance without what differs between libraries (parent refs, where it came from)."""
    return {k: v for k, v in prov.items() if k not in ("parents", "unpacked_from")}


def unpack(lib: Library, path: str | Path, limits: PackLimits | None = None
           ) -> list[tuple[str, str]]:
    """Add a pack's assets to ``lib``; returns (ref in the pack, ref here) for each.

    An asset already here with the same content (blobs and meta) is reused, not duplicated; the
    others become new versions (numbers may differ from the source library), parents remapped.
    The whole pack is verified before anything is written.
    """
    manifest, blobs = read_pack(path, limits)
    pack_sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    for entry in manifest["assets"]:  # refuse kind clashes before writing anything
        existing = lib.list()
        clash = [r for r in existing if r.name == entry["name"] and r.kind != entry["kind"]]
        if clash:
            raise ReskinError(f"pack asset {entry['name']!r} is a {entry['kind']} but here it "
                              f"is a {clash[0].kind}", file=path)
    mapping: dict[str, AssetRecord] = {}
    out = []
    for entry in manifest["assets"]:
        src = f"{entry['name']}@{entry['version']}"
        same = [r for r in lib.list() if r.name == entry["name"]
                and r.content_hash == entry["content_hash"]
                and _own_provenance(r.provenance) == _own_provenance(entry["provenance"])]
        if same:
            rec = same[-1]
        else:
            prov = dict(entry["provenance"])
            prov.pop("parents", None)  # lib.add records the parents as they are here
            prov["unpacked_from"] = {"pack_sha256": pack_sha, "ref": src,
                                     "created": entry["created"]}
            rec = lib.add(entry["name"], entry["kind"],
                          {role: blobs[sha] for role, sha in entry["blobs"].items()},
                          meta=entry["meta"], provenance=prov,
                          parents=tuple(mapping[p] for p in entry["parents"]),
                          tags=tuple(entry.get("tags", ())))
        mapping[src] = rec
        out.append((src, rec.ref))
    return out
