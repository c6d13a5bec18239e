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
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reskin.core.atomic import write_bytes_atomic
from reskin.core.errors import ReskinError

KINDS = ("character", "skin", "prop", "set", "clip", "texture", "style", "reference")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")

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
CREATE INDEX IF NOT EXISTS parents_parent ON parents (parent_id);
CREATE TABLE IF NOT EXISTS tags (
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (asset_id, tag)
);
CREATE TABLE IF NOT EXISTS pins (
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    holder TEXT NOT NULL,
    PRIMARY KEY (asset_id, holder)
);
CREATE TABLE IF NOT EXISTS tombstones (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    removed TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (name, version)
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
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def content_hash(self) -> str:
        """A hash of everything this version is made of (its blobs and metadata)."""
        doc = json.dumps({"blobs": self.blobs, "meta": self.meta}, sort_keys=True)
        return sha256_bytes(doc.encode())


def check_tag(tag: str) -> str:
    if not _TAG_RE.match(tag):
        raise ReskinError(f"bad tag {tag!r}: use letters, digits, '_', '.', ':', '-' (max 64)")
    return tag


def now_utc() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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
        try:
            # A blob we reuse is touched, so `gc` (which spares recent files) cannot delete it
            # between this write and the catalog transaction that will reference it.
            os.utime(path)
        except FileNotFoundError:
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
        tags: tuple[str, ...] = (),
    ) -> AssetRecord:
        """Add a new version of ``name``: blobs first, then one catalog transaction."""
        parse_ref(name)
        if "@" in name:
            raise ReskinError(f"asset name {name!r} must not carry a version")
        tags = tuple(check_tag(t) for t in tags)
        if kind not in KINDS:
            raise ReskinError(f"unknown asset kind {kind!r}; expected one of {', '.join(KINDS)}")
        self._check_kind(name, kind)  # before any blob is written, so a refusal changes nothing
        shas = {role: self.put_blob(data) for role, data in blobs.items()}
        sizes = {role: len(data) for role, data in blobs.items()}
        prov = dict(provenance or {})
        prov.setdefault("parents", [p.ref for p in parents])
        created = now_utc()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._check_kind(name, kind)
            # Versions of removed assets are never reused: "lin@3" always means one thing.
            row = db.execute(
                "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM assets WHERE name = ?"
                " UNION ALL SELECT MAX(version) FROM tombstones WHERE name = ?)", (name, name)
            ).fetchone()
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
            db.executemany("INSERT OR IGNORE INTO tags (asset_id, tag) VALUES (?, ?)",
                           [(asset_id, t) for t in tags])
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
            gone = self._db.execute(
                "SELECT removed FROM tombstones WHERE name = ? AND version = ?", (name, version)
            ).fetchone() if version is not None else None
            if gone:
                raise ReskinError(f"asset {ref!r} was removed on {gone[0]}")
            raise ReskinError(f"no asset {ref!r} in the library")
        return self._record(row[0])

    def find_by_key(self, kind: str, input_key: str) -> AssetRecord | None:
        """The newest asset of ``kind`` that was derived from exactly ``input_key``, if any."""
        row = self._db.execute(
            "SELECT id FROM assets WHERE kind = ? AND input_key = ? ORDER BY id DESC LIMIT 1",
            (kind, input_key),
        ).fetchone()
        return self._record(row[0]) if row else None

    def list(self, kind: str | None = None, tag: str | None = None) -> list[AssetRecord]:
        """Every asset version, by name and version; only ``kind`` / only tagged ``tag``."""
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if tag:
            where.append("id IN (SELECT asset_id FROM tags WHERE tag = ?)")
            args.append(tag)
        sql = "SELECT id FROM assets" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._db.execute(sql + " ORDER BY name, version", args).fetchall()
        return [self._record(r[0]) for r in rows]

    def history(self, name: str) -> list[AssetRecord]:
        """Every version of ``name``, oldest first."""
        parse_ref(name)
        rows = self._db.execute(
            "SELECT id FROM assets WHERE name = ? ORDER BY version", (name,)).fetchall()
        if not rows:
            raise ReskinError(f"no asset {name!r} in the library")
        return [self._record(r[0]) for r in rows]

    def tag(self, ref: str, *tags: str) -> AssetRecord:
        """Label the version ``ref`` with ``tags`` (labels, not content: assets stay immutable)."""
        tags = tuple(check_tag(t) for t in tags)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rec = self.get(ref)
            db.executemany("INSERT OR IGNORE INTO tags (asset_id, tag) VALUES (?, ?)",
                           [(rec.id, t) for t in tags])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self._record(rec.id)

    def untag(self, ref: str, *tags: str) -> AssetRecord:
        rec = self.get(ref)
        self._db.executemany("DELETE FROM tags WHERE asset_id = ? AND tag = ?",
                             [(rec.id, t) for t in tags])
        return self._record(rec.id)

    def search(self, text: str) -> list[AssetRecord]:
        """Assets whose name, tag, kind, license, author or prompt contains ``text`` (any case)."""
        like = f"%{text.lower()}%"
        rows = self._db.execute(
            "SELECT id FROM assets WHERE lower(name) LIKE ?1 OR lower(kind) LIKE ?1"
            " OR lower(coalesce(json_extract(provenance, '$.license'), '')) LIKE ?1"
            " OR lower(coalesce(json_extract(provenance, '$.author'), '')) LIKE ?1"
            " OR lower(coalesce(json_extract(provenance, '$.prompt'), '')) LIKE ?1"
            " OR id IN (SELECT asset_id FROM tags WHERE lower(tag) LIKE ?1)"
            " ORDER BY name, version", (like,)).fetchall()
        return [self._record(r[0]) for r in rows]

    def pin(self, ref: str, holder: str) -> None:
        """Record that ``holder`` (e.g. a locked episode "ep01") depends on ``ref``."""
        rec = self.get(ref)
        self._db.execute("INSERT OR IGNORE INTO pins (asset_id, holder) VALUES (?, ?)",
                         (rec.id, holder))

    def unpin(self, holder: str) -> None:
        self._db.execute("DELETE FROM pins WHERE holder = ?", (holder,))

    def dependents(self, record: AssetRecord) -> tuple[list[str], list[str]]:
        """(assets whose parents include ``record``, holders pinning it)."""
        children = [f"{n}@{v}" for n, v in self._db.execute(
            "SELECT a.name, a.version FROM parents p JOIN assets a ON a.id = p.asset_id"
            " WHERE p.parent_id = ? ORDER BY a.name, a.version", (record.id,)).fetchall()]
        holders = [h for (h,) in self._db.execute(
            "SELECT holder FROM pins WHERE asset_id = ? ORDER BY holder", (record.id,))]
        return children, holders

    def remove(self, ref: str) -> AssetRecord:
        """Delete the version ``ref`` from the catalog; refuses if anything depends on it.

        Its blobs stay until ``gc``; its version number is never reused (a tombstone keeps it).
        """
        name, version = parse_ref(ref)
        if version is None:
            raise ReskinError(f"say which version to remove ({name}@N); see `asset history`")
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rec = self.get(ref)
            children, holders = self.dependents(rec)
            if children or holders:
                who = ", ".join(children + [f"pinned by {h}" for h in holders])
                raise ReskinError(f"cannot remove {rec.ref}: depended on by {who}")
            db.execute("INSERT INTO tombstones (name, version, kind, removed, content_hash)"
                       " VALUES (?, ?, ?, ?, ?)",
                       (rec.name, rec.version, rec.kind, now_utc(), rec.content_hash))
            for table, col in (("tags", "asset_id"), ("blobs", "asset_id"),
                               ("parents", "asset_id"), ("assets", "id")):
                db.execute(f"DELETE FROM {table} WHERE {col} = ?", (rec.id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return rec

    def blob_refs(self) -> dict[str, list[str]]:
        """sha256 -> the "name@version:role" entries referencing it, over the whole catalog."""
        out: dict[str, list[str]] = {}
        for sha, n, v, role in self._db.execute(
                "SELECT b.sha256, a.name, a.version, b.role FROM blobs b"
                " JOIN assets a ON a.id = b.asset_id ORDER BY a.name, a.version, b.role"):
            out.setdefault(sha, []).append(f"{n}@{v}:{role}")
        return out

    def blob_sizes(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT sha256, MAX(size) FROM blobs GROUP BY sha256"))

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
        tags = tuple(t for (t,) in db.execute(
            "SELECT tag FROM tags WHERE asset_id = ? ORDER BY tag", (asset_id,)))
        return AssetRecord(
            id=row[0], name=row[1], version=row[2], kind=row[3], created=row[4],
            input_key=row[5], meta=json.loads(row[6]), provenance=json.loads(row[7]),
            blobs=blobs, parents=parents, tags=tags,
        )
