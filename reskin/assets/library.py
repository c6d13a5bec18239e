"""The asset library: a SQLite catalog of immutable, versioned assets over content-addressed blobs.

Layout inside a series' ``.reskin/``::

    catalog.sqlite        assets, their blobs by role, parents (lineage), provenance
    objects/ab/cdef...    blob bytes, named by their SHA-256

Blobs are written (temp name, fsync, rename) before the catalog transaction that references
them commits, so a crash leaves at worst an unreferenced blob, never a dangling reference.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reskin.errors import ReskinError
from reskin.fsutil import write_bytes_atomic

KINDS = ("character", "skin", "prop", "set", "clip", "texture", "style")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created TEXT NOT NULL,
    input_key TEXT,
    meta TEXT NOT NULL,
    provenance TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS assets_key ON assets (kind, input_key);
CREATE TABLE IF NOT EXISTS blobs (
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    role TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (asset_id, role)
);
CREATE TABLE IF NOT EXISTS parents (
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    parent_id INTEGER NOT NULL REFERENCES assets (id),
    PRIMARY KEY (asset_id, parent_id)
);
"""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class AssetRecord:
    """One immutable asset version as the catalog holds it."""

    id: int
    name: str
    version: int
    kind: str
    created: str
    input_key: str | None
    meta: dict
    provenance: dict
    blobs: dict[str, str] = field(default_factory=dict)  # role -> sha256
    parents: tuple[str, ...] = ()  # "name@version"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def content_hash(self) -> str:
        """A hash of everything this version is made of (its blobs and metadata)."""
        doc = json.dumps({"blobs": self.blobs, "meta": self.meta}, sort_keys=True)
        return sha256_bytes(doc.encode())


def parse_ref(ref: str) -> tuple[str, int | None]:
    """Split ``"lin@3"`` into ("lin", 3); ``"lin"`` and ``"lin@latest"`` give ("lin", None)."""
    name, _, version = ref.partition("@")
    if not _NAME_RE.match(name):
        raise ReskinError(
            f"bad asset name {name!r}: use lower-case letters, digits, '_', '-', '.' (max 64)"
        )
    if version in ("", "latest"):
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise ReskinError(f"bad version in {ref!r}: expected a positive number or 'latest'")
    return name, int(version)


class Library:
    """A series' asset library. Open with ``Library(root / ".reskin")``; ``close()`` when done."""

    def __init__(self, root: str | Path, *, create: bool = False):
        self.root = Path(root)
        if not (self.root / "catalog.sqlite").exists() and not create:
            raise ReskinError("no reskin library here (run `reskin init`)", file=self.root)
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.root / "catalog.sqlite", timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # blobs -------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise ReskinError(f"not a blob hash: {sha!r}")
        return self.objects / sha[:2] / sha[2:]

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` once under its SHA-256 and return the hash."""
        sha = sha256_bytes(data)
        path = self.blob_path(sha)
        if not path.exists():
            write_bytes_atomic(path, data, fsync=True)
        return sha

    def read_blob(self, sha: str) -> bytes:
        path = self.blob_path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ReskinError("blob missing from the library (run `reskin asset fsck`)",
                              file=path) from None
        if sha256_bytes(data) != sha:
            raise ReskinError("blob is corrupt: its hash does not match its name", file=path)
        return data

    # assets ------------------------------------------------------------------------------
    def add(
        self,
        name: str,
        kind: str,
        blobs: dict[str, bytes],
        *,
        meta: dict | None = None,
        provenance: dict | None = None,
        parents: tuple[AssetRecord, ...] = (),
        input_key: str | None = None,
    ) -> AssetRecord:
        """Add a new version of ``name``: blobs first, then one catalog transaction."""
        parse_ref(name)
        if kind not in KINDS:
            raise ReskinError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
        self._check_kind(name, kind)  # before any blob is written, so a refusal changes nothing
        shas = {role: self.put_blob(data) for role, data in blobs.items()}
        sizes = {role: len(data) for role, data in blobs.items()}
        prov = dict(provenance or {})
        prov.setdefault("parents", [p.ref for p in parents])
        created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT MAX(version) FROM assets WHERE name = ?", (name,)).fetchone()
            self._check_kind(name, kind)
            version = (row[0] or 0) + 1
            cur = db.execute(
                "INSERT INTO assets (name, version, kind, created, input_key, meta, provenance)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, version, kind, created, input_key,
                 json.dumps(meta or {}, sort_keys=True), json.dumps(prov, sort_keys=True)),
            )
            asset_id = cur.lastrowid
            db.executemany(
                "INSERT INTO blobs (asset_id, role, sha256, size) VALUES (?, ?, ?, ?)",
                [(asset_id, r, s, sizes[r]) for r, s in sorted(shas.items())],
            )
            db.executemany(
                "INSERT INTO parents (asset_id, parent_id) VALUES (?, ?)",
                [(asset_id, p.id) for p in parents],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self._record(asset_id)

    def _check_kind(self, name: str, kind: str) -> None:
        row = self._db.execute("SELECT kind FROM assets WHERE name = ? LIMIT 1", (name,)).fetchone()
        if row and row[0] != kind:
            raise ReskinError(f"asset {name!r} is a {row[0]}, not a {kind}")

    def get(self, ref: str) -> AssetRecord:
        """The asset version ``ref`` names ("lin", "lin@latest", "lin@3")."""
        name, version = parse_ref(ref)
        if version is None:
            row = self._db.execute(
                "SELECT id FROM assets WHERE name = ? ORDER BY version DESC LIMIT 1", (name,)
            ).fetchone()
        else:
            row = self._db.execute(
                "SELECT id FROM assets WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
        if row is None:
            raise ReskinError(f"no asset {ref!r} in the library")
        return self._record(row[0])

    def find_by_key(self, kind: str, input_key: str) -> AssetRecord | None:
        """The newest asset of ``kind`` that was derived from exactly ``input_key``, if any."""
        row = self._db.execute(
            "SELECT id FROM assets WHERE kind = ? AND input_key = ? ORDER BY id DESC LIMIT 1",
            (kind, input_key),
        ).fetchone()
        return self._record(row[0]) if row else None

    def list(self, kind: str | None = None) -> list[AssetRecord]:
        where = " WHERE kind = ?" if kind else ""
        sql = f"SELECT id FROM assets{where} ORDER BY name, version"
        rows = self._db.execute(sql, (kind,) if kind else ()).fetchall()
        return [self._record(r[0]) for r in rows]

    def lineage(self, record: AssetRecord) -> list[AssetRecord]:
        """``record`` and every ancestor, depth first, each once."""
        seen: dict[str, AssetRecord] = {}
        stack = [record]
        while stack:
            rec = stack.pop()
            if rec.ref in seen:
                continue
            seen[rec.ref] = rec
            stack.extend(self.get(p) for p in reversed(rec.parents))
        return list(seen.values())

    def _record(self, asset_id: int) -> AssetRecord:
        db = self._db
        row = db.execute(
            "SELECT id, name, version, kind, created, input_key, meta, provenance"
            " FROM assets WHERE id = ?", (asset_id,)
        ).fetchone()
        blobs = dict(db.execute(
            "SELECT role, sha256 FROM blobs WHERE asset_id = ? ORDER BY role", (asset_id,)
        ).fetchall())
        parents = tuple(
            f"{n}@{v}" for n, v in db.execute(
                "SELECT a.name, a.version FROM parents p JOIN assets a ON a.id = p.parent_id"
                " WHERE p.asset_id = ? ORDER BY a.id", (asset_id,)
            ).fetchall()
        )
        return AssetRecord(
            id=row[0], name=row[1], version=row[2], kind=row[3], created=row[4],
            input_key=row[5], meta=json.loads(row[6]), provenance=json.loads(row[7]),
            blobs=blobs, parents=parents,
        )
