"""FBX import through Blender's own importer: an FBX made here by Blender comes into the library
with its joints, shape key, take and texture, and its model.glb passes the glTF-Validator; a
broken or mesh-less FBX is one line and leaves the library as it was."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reskin.assets.gltf.read import load_gltf
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits
from reskin.cli import main
from reskin.core.errors import ReskinError
from reskin.pipeline.foreign import convert_foreign
from reskin.render.blender.client import BlenderWorker

MAKER = Path(__file__).with_name("make_fbx.py")


@pytest.fixture(scope="module")
def fbx_dir(tmp_path_factory) -> Path:
    """hero.fbx and bones_only.fbx, written once per module by Blender (see make_fbx.py)."""
    folder = tmp_path_factory.mktemp("fbx")
    subprocess.run([sys.executable, str(MAKER), str(folder)], check=True, capture_output=True)
    return folder


@pytest.fixture
def series(tmp_path) -> Path:
    root = tmp_path / "show"
    assert CliRunner().invoke(main, ["init", str(root)]).exit_code == 0
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_fbx_imports_with_joints_morphs_animation_and_texture(fbx_dir, series):
    fbx = fbx_dir / "hero.fbx"
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["asset", "import", str(fbx), "--name", "hero",
                                       "-s", str(series), "--json"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    print(f"FBX convert + import: {seconds:.2f} s")
    meta = json.loads(result.output)["meta"]
    assert meta["format"] == "fbx" and meta["joints"] == 3 and meta["morph_targets"] == 1
    assert meta["animations"] == ["Rig|Wave"] and meta["textures"] == 1

    with Library(series / ".reskin") as lib:
        rec = lib.get("hero")
        glb = lib.read_blob(rec.blobs["model.glb"])
    assert rec.kind == "character"
    prov = rec.provenance
    assert prov["source"] == str(fbx.resolve()) and prov["source_format"] == "fbx"
    assert prov["source_sha256"] == hashlib.sha256(fbx.read_bytes()).hexdigest()
    assert prov["converter"].startswith("Blender 5.")
    assert prov["source_files"] == []  # the texture came from inside the FBX

    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    js = load_gltf(Path("hero.glb"), glb, Limits()).json
    assert [js["nodes"][j]["name"] for j in js["skins"][0]["joints"]] == ["Hips", "Spine", "Head"]
    body = next(m for m in js["meshes"] if m.get("name") == "Body")
    assert body["extras"]["targetNames"] == ["Smile"]
    assert all(len(p["targets"]) == 1 for p in body["primitives"])
    (anim,) = js["animations"]
    paths = {c["target"]["path"] for c in anim["channels"]}
    assert {"rotation", "weights"} <= paths  # the take moves the joints and the shape key
    assert js["materials"][0]["name"] == "Skin_MAT"
    texture = js["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]["index"]
    assert js["images"][js["textures"][texture]["source"]]["mimeType"] == "image/png"


@pytest.mark.parametrize("name, why", [("broken.fbx", "cannot read it as FBX"),
                                       ("bones_only.fbx", "holds no mesh")])
def test_unreadable_fbx_is_one_line_and_library_untouched(fbx_dir, series, name, why):
    bad = fbx_dir / name
    if name == "broken.fbx":
        bad.write_bytes(bytes(range(256)) * 16)
    before = _snapshot(series)
    result = CliRunner().invoke(main, ["asset", "import", str(bad), "--name", "hero",
                                       "-s", str(series)])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and why in lines[0], result.output
    assert _snapshot(series) == before


def test_external_texture_is_recorded_and_a_missing_one_refused(fbx_dir, series):
    fbx, png = fbx_dir / "ext" / "hero_ext.fbx", fbx_dir / "ext" / "skin_tex.png"
    args = ["asset", "import", str(fbx), "--name", "hero", "-s", str(series)]
    hidden = png.with_name("elsewhere.png")
    png.rename(hidden)
    try:
        before = _snapshot(series)
        refused = CliRunner().invoke(main, args)
        assert refused.exit_code == 2 and _snapshot(series) == before
        (line,) = refused.output.strip().splitlines()
        assert str(fbx) in line and "texture file missing" in line and "skin_tex.png" in line
        kept = CliRunner().invoke(main, [*args, "--allow-missing"])
        assert kept.exit_code == 0, kept.output
        assert "warning: texture file missing" in kept.output
    finally:
        hidden.rename(png)
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["meta"]["textures"] == 1
    with Library(series / ".reskin") as lib:
        assert lib.get("hero@2").provenance["source_files"] == [str(png)]


def test_one_worker_converts_many_files_and_survives_a_refusal(fbx_dir, tmp_path):
    broken = tmp_path / "junk.fbx"
    broken.write_bytes(b"Kaydara FBX Binary  \x00" + b"\xff" * 64)  # a header, then garbage
    with BlenderWorker(tmp_path / "blender.log") as worker:
        with pytest.raises(ReskinError, match="junk.fbx"):
            convert_foreign(broken, tmp_path / "out", worker)
        assert not (tmp_path / "out" / "junk.glb").exists()
        glb = convert_foreign(fbx_dir / "hero.fbx", tmp_path / "out", worker)
    assert glb == tmp_path / "out" / "hero.glb" and glb.read_bytes()[:4] == b"glTF"
    assert sorted(p.name for p in glb.parent.iterdir()) == ["hero.glb"]  # no temp files left
