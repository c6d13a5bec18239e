from __future__ import annotations

import hashlib
import sqlite3

import pytest

from reskin.assets.library import Library, parse_ref
from reskin.core.errors import ReskinError


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / ".reskin", create=True) as library:
        yield library


def snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and not p.name.startswith("catalog.sqlite")}


def test_versions_are_immutable_and_numbered(lib):
    a = lib.add("lin", "character", {"mesh": b"one"}, provenance={"author": "me"})
    b = lib.add("lin", "character", {"mesh": b"two"}, parents=(a,))
    assert (a.version, b.version) == (1, 2)
    assert lib.get("lin").ref == "lin@2"
    assert lib.get("lin@latest").ref == "lin@2"
    assert lib.get("lin@1").blobs == a.blobs
    assert lib.read_blob(lib.get("lin@1").blobs["mesh"]) == b"one"
    assert b.parents == ("lin@1",)
    assert [r.ref for r in lib.lineage(b)] == ["lin@2", "lin@1"]
    assert lib.get("lin@2").provenance["parents"] == ["lin@1"]


def test_identical_content_is_stored_once(lib, tmp_path):
    lib.add("a", "texture", {"png": b"same bytes"})
    lib.add("b", "texture", {"png": b"same bytes"})
    blobs = [p for p in (tmp_path / ".reskin" / "objects").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    assert blobs[0].parent.name + blobs[0].name == hashlib.sha256(b"same bytes").hexdigest()


def test_find_by_key_returns_the_derived_asset(lib):
    assert lib.find_by_key("skin", "k1") is None
    rec = lib.add("mira.ep01", "skin", {"glb": b"x"}, input_key="k1")
    assert lib.find_by_key("skin", "k1").ref == rec.ref
    assert lib.find_by_key("character", "k1") is None


@pytest.mark.parametrize("name", ["../escape", "/abs", "UPPER", "a b", "", "x" * 65, "a/b"])
def test_names_that_could_escape_or_confuse_are_refused(lib, name):
    with pytest.raises(ReskinError, match="bad asset name"):
        lib.add(name, "prop", {"b": b"1"})


def test_refused_add_leaves_library_unchanged(lib, tmp_path):
    lib.add("lin", "character", {"mesh": b"one"})
    before = snapshot(tmp_path / ".reskin")
    with pytest.raises(ReskinError, match="is a character, not a skin"):
        lib.add("lin", "skin", {"glb": b"new blob that must not be written"})
    with pytest.raises(ReskinError, match="unknown asset kind"):
        lib.add("other", "sofa", {"glb": b"neither this"})
    assert snapshot(tmp_path / ".reskin") == before
    assert [r.ref for r in lib.list()] == ["lin@1"]


def test_corrupt_blob_is_detected(lib):
    rec = lib.add("t", "texture", {"png": b"pixels"})
    path = lib.blob_path(rec.blobs["png"])
    path.write_bytes(b"tampered")
    with pytest.raises(ReskinError, match="corrupt"):
        lib.read_blob(rec.blobs["png"])


def test_catalog_uses_wal_and_foreign_keys(lib, tmp_path):
    lib.add("t", "texture", {"png": b"p"})
    db = sqlite3.connect(tmp_path / ".reskin" / "catalog.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("INSERT INTO parents (asset_id, parent_id) VALUES (1, 999)")


def test_parse_ref():
    assert parse_ref("lin") == ("lin", None)
    assert parse_ref("lin@3") == ("lin", 3)
    with pytest.raises(ReskinError, match="bad version"):
        parse_ref("lin@0")


def test_missing_library_is_a_clear_error(tmp_path):
    with pytest.raises(ReskinError, match="no reskin library here"):
        Library(tmp_path / "nowhere")
