"""Browse (history, tag, search), integrity (fsck, gc, rm) and packs."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from click.testing import CliRunner

from reskin.assets.fsck import fsck, gc
from reskin.assets.importer import ImportOptions, import_file
from reskin.assets.library import Library
from reskin.assets.packs import PackLimits, pack, read_pack, unpack
from reskin.cli import main
from reskin.core.errors import ReskinError

from .conftest import box_obj


@pytest.fixture
def lib(libroot, tmp_path):
    import_file(libroot, box_obj(tmp_path / "a.obj"), "chair",
                ImportOptions(license="CC0-1.0", author="ana", prompt="a red wooden chair",
                              tags=("furniture",)))
    import_file(libroot, box_obj(tmp_path / "b.obj", size=(1, 1, 1)), "chair")
    with Library(libroot) as library:
        yield library


def test_history_tag_search(lib):
    assert [r.ref for r in lib.history("chair")] == ["chair@1", "chair@2"]
    lib.tag("chair@2", "approved", "ep01")
    assert [r.ref for r in lib.list(tag="approved")] == ["chair@2"]
    assert [r.ref for r in lib.list(kind="prop", tag="furniture")] == ["chair@1"]
    assert [r.ref for r in lib.search("WOODEN")] == ["chair@1"]  # prompt text, any case
    assert [r.ref for r in lib.search("cc0")] == ["chair@1"]  # license
    assert [r.ref for r in lib.search("ep01")] == ["chair@2"]  # tag
    assert len(lib.search("prop")) == 2  # kind
    assert lib.untag("chair@2", "ep01").tags == ("approved",)
    with pytest.raises(ReskinError, match="bad tag"):
        lib.tag("chair", "no spaces")


def test_rm_refuses_dependencies_and_never_reuses_versions(lib):
    c1 = lib.get("chair@1")
    lib.add("chair.ep01", "prop", {"x": b"derived"}, parents=(c1,))
    with pytest.raises(ReskinError, match="depended on by chair.ep01@1"):
        lib.remove("chair@1")
    lib.pin("chair@2", "ep01")
    with pytest.raises(ReskinError, match="pinned by ep01"):
        lib.remove("chair@2")
    lib.unpin("ep01")
    lib.remove("chair@2")
    with pytest.raises(ReskinError, match="was removed"):
        lib.get("chair@2")
    again = lib.add("chair", "prop", {"x": b"new"})
    assert again.version == 3
    with pytest.raises(ReskinError, match="say which version"):
        lib.remove("chair")


def test_fsck_finds_corruption_and_repair_quarantines(lib):
    assert fsck(lib).clean
    rec = lib.get("chair@1")
    path = lib.blob_path(rec.blobs["model.glb"])
    path.write_bytes(b"bit rot")
    report = fsck(lib)
    assert not report.clean and "corrupt blob" in report.errors[0]
    report = fsck(lib, repair=True)
    assert len(report.quarantined) == 1 and not path.exists()
    report = fsck(lib)
    assert any("missing blob" in e for e in report.errors)


def test_gc_removes_only_unreferenced(lib):
    orphan = lib.put_blob(b"nobody refers to me")
    (lib.objects / "ab").mkdir(exist_ok=True)
    temp = lib.objects / "ab" / ".cdef.abc.tmp"
    temp.write_bytes(b"half")
    assert gc(lib)[0] == []  # young files are spared (an import may be about to use them)
    removed, freed = gc(lib, grace_seconds=0)
    assert set(removed) == {lib.blob_path(orphan), temp} and freed > 0
    assert fsck(lib).clean and fsck(lib).garbage == []
    assert lib.read_blob(lib.get("chair@1").blobs["model.glb"])


def test_gc_drops_the_derived_cache_of_versions_no_longer_in_the_catalog(lib):
    from reskin.assets import derived

    live = lib.get("chair@2")
    derived.write(lib, "garment-fit", live.content_hash, "k1", b"kept")
    derived.write(lib, "skin-body", "f" * 64, "k2", b"an owner long gone")
    derived.write(lib, "skin-body", live.content_hash, "k3", b"kept too")
    assert derived.read(lib, "garment-fit", live.content_hash, "k1") == b"kept"
    assert gc(lib)[0] == []  # young files are spared
    removed, freed = gc(lib, grace_seconds=0)
    assert removed == [derived.path_of(lib, "skin-body", "f" * 64, "k2")] and freed > 0
    assert derived.read(lib, "garment-fit", live.content_hash, "k1") == b"kept"
    assert derived.read(lib, "skin-body", live.content_hash, "k3") == b"kept too"
    # the catalog drops chair@2: its derived data goes at the next gc
    lib.remove("chair@2")
    removed, _ = gc(lib, grace_seconds=0, dry_run=True)
    assert derived.path_of(lib, "garment-fit", live.content_hash, "k1") in removed
    assert derived.path_of(lib, "skin-body", live.content_hash, "k3") in removed


def test_pack_round_trip_with_lineage(lib, tmp_path):
    derived = lib.add("chair.ep01", "prop", {"x": b"derived"}, parents=(lib.get("chair@1"),))
    out = tmp_path / "p.zip"
    packed = pack(lib, [derived.ref], out)
    assert [r.ref for r in packed] == ["chair@1", "chair.ep01@1"]
    with Library(tmp_path / "other" / ".reskin", create=True) as other:
        other.add("chair", "prop", {"x": b"already here"})
        mapping = dict(unpack(other, out))
        assert mapping == {"chair@1": "chair@2", "chair.ep01@1": "chair.ep01@1"}
        got = other.get("chair.ep01")
        assert got.parents == ("chair@2",)
        assert got.provenance["unpacked_from"]["ref"] == "chair.ep01@1"
        assert other.get("chair@2").provenance["license"] == "CC0-1.0"
        assert dict(unpack(other, out)) == mapping  # idempotent: same content is reused
        assert fsck(other).clean


def _zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_unpack_refuses_traversal_tampering_and_bombs(tmp_path):
    manifest = json.dumps({"format": "reskin-pack", "version": 1, "assets": []})
    with pytest.raises(ReskinError, match="not allowed"):
        read_pack(_zip(tmp_path / "a.zip", {"manifest.json": manifest, "../evil": b"x"}))
    with pytest.raises(ReskinError, match="not allowed"):
        read_pack(_zip(tmp_path / "b.zip", {"manifest.json": manifest,
                                            "objects/../../x": b"x"}))
    wrong = "objects/" + hashlib.sha256(b"one").hexdigest()
    with pytest.raises(ReskinError, match="does not match its hash"):
        read_pack(_zip(tmp_path / "c.zip", {"manifest.json": manifest, wrong: b"two"}))
    zeros = b"\0" * (4 << 20)
    bomb = {"manifest.json": manifest, "objects/" + hashlib.sha256(zeros).hexdigest(): zeros}
    with pytest.raises(ReskinError, match="decompression bomb"):
        read_pack(_zip(tmp_path / "d.zip", bomb))
    with pytest.raises(ReskinError, match="decompression bomb"):
        read_pack(_zip(tmp_path / "e.zip", bomb), PackLimits(max_ratio=1e9,
                                                             max_total_bytes=1 << 20))
    (tmp_path / "f.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ReskinError, match="not a readable pack"):
        read_pack(tmp_path / "f.zip")


def test_cli_browse_and_integrity(tmp_path):
    runner = CliRunner()
    s = str(tmp_path / "s")
    runner.invoke(main, ["init", s])
    obj = str(box_obj(tmp_path / "box.obj"))

    def run(*args):
        result = runner.invoke(main, ["asset", *args, "-s", s])
        assert result.exit_code == 0, result.output
        return result.output

    run("import", obj, "--name", "box", "--license", "MIT", "--prompt", "a grey box")
    run("import", obj, "--name", "box")
    assert "box@2" in run("tag", "box@2", "hero")
    assert json.loads(run("list", "--tag", "hero", "--json"))[0]["ref"] == "box@2"
    assert "box@1" in run("search", "grey")
    assert run("history", "box").count("box@") == 2
    assert "0 errors" in run("fsck")
    run("pack", "box@1", "-o", str(tmp_path / "p.zip"))
    run("rm", "box@1")
    assert "removed" in run("gc", "--grace", "0")
    assert "box@1 -> box@3" in run("unpack", str(tmp_path / "p.zip"))
    run("export", "box@3", "-o", str(tmp_path / "box.usda"))
    assert (tmp_path / "box.usda").read_text().startswith("#usda")
