"""Import: every sample file succeeds or is refused in one line; hostile files read nothing
outside their folder; repairs and the normalisation are recorded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.assets.arrays import unpack_arrays
from reskin.assets.gltf.read import load_gltf
from reskin.assets.importer import ImportOptions, import_file
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits
from reskin.cli import main
from reskin.core.errors import ReskinError

from .conftest import binary_stl, box_obj, snapshot, triangle_gltf, write_gltf

SUFFIXES = {".glb", ".gltf", ".obj", ".ply", ".stl"}


def sample_files(shared: Path) -> list[Path]:
    return sorted(p for folder in ("gltf", "meshes") for p in (shared / folder).rglob("*")
                  if p.suffix.lower() in SUFFIXES)


def test_every_sample_file_imports_or_is_refused_cleanly(shared_data, libroot):
    files = sample_files(shared_data)
    assert len(files) >= 20
    imported, refused = [], []
    for i, path in enumerate(files):
        before = snapshot(libroot)
        try:
            rec, _ = import_file(libroot, path, f"sample{i}")
        except ReskinError as exc:
            line = exc.one_line()
            assert "\n" not in line and str(path) in line
            assert snapshot(libroot) == before, f"refusal of {path.name} changed the library"
            refused.append(path.name)
            continue
        imported.append(path.name)
        assert rec.meta["faces"] > 0
    # The files that are broken on purpose are refused; the characters all come in.
    assert {"BoxWithInfinites.glb", "IndexOutOfRange.gltf", "AllIndicesOutOfRange.gltf"} <= set(
        refused)
    assert {"CesiumMan.glb", "Fox.glb", "greenman.glb", "RiggedSimple.glb", "RiggedFigure.glb",
            "makehuman_base_hm08.obj", "soup.stl", "cycloidal_nonmanifold.ply"} <= set(imported)


def test_cli_refusal_is_one_line_with_exit_code_2(shared_data, tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path / "s")]).exit_code == 0
    bad = shared_data / "gltf" / "tricky" / "BoxWithInfinites.glb"
    result = runner.invoke(main, ["asset", "import", str(bad), "--name", "box", "-s",
                                  str(tmp_path / "s")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "BoxWithInfinites.glb" in lines[0] and "NaN/Inf" in lines[0]


def test_skinned_character_keeps_skin_and_animations(shared_data, libroot):
    rec, _ = import_file(libroot, shared_data / "gltf" / "Fox.glb", "fox",
                         ImportOptions(license="CC0-1.0", author="PixelMannen"))
    assert rec.kind == "character"
    assert rec.meta["joints"] == 24 and len(rec.meta["animations"]) == 3
    assert rec.provenance["license"] == "CC0-1.0"
    assert len(rec.provenance["source_sha256"]) == 64
    with Library(libroot) as lib:
        glb = lib.read_blob(rec.blobs["model.glb"])
        mesh = unpack_arrays(lib.read_blob(rec.blobs["mesh.npz"]))
    doc = load_gltf(Path("x.glb"), glb, Limits())
    assert len(doc.json["skins"][0]["joints"]) == 24 and len(doc.json["animations"]) == 3
    assert len(doc.images) == 1
    v = mesh["vertices"]
    assert abs(v[:, 1].min()) < 1e-5  # feet on the ground
    assert abs(v[:, 0].min() + v[:, 0].max()) < 1e-3  # centred


def _audit_opens() -> list[str]:
    opened: list[str] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)  # cannot be removed; it only appends to a list
    return opened


@pytest.mark.parametrize("uri", ["../../etc/passwd", "/etc/passwd", "../secret.png",
                                 "sub/../../secret.png", "%2E%2E/secret.png",
                                 "file:///etc/passwd", "http://example.com/x.png"])
def test_hostile_image_uri_is_refused_without_reading_outside(tmp_path, libroot, uri):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(secret)
    gltf = write_gltf(tmp_path / "model" / "evil.gltf", triangle_gltf(image_uri=uri))
    before = snapshot(libroot)
    opened = _audit_opens()
    with pytest.raises(ReskinError) as err:
        import_file(libroot, gltf, "evil")
    assert "evil.gltf" in err.value.one_line() and "images[0]" in err.value.one_line()
    model_dir = str(gltf.parent.resolve())
    outside = [p for p in opened if ("secret" in p or "passwd" in p)
               and not p.startswith(model_dir)]
    assert outside == []
    assert snapshot(libroot) == before


def test_symlink_out_of_the_folder_is_refused(tmp_path, libroot):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(secret)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tex.png").symlink_to(secret)
    gltf = write_gltf(folder / "a.gltf", triangle_gltf(image_uri="tex.png"))
    with pytest.raises(ReskinError, match="outside the file's folder"):
        import_file(libroot, gltf, "a")


def test_texture_beside_the_file_is_embedded(tmp_path, libroot):
    folder = tmp_path / "model"
    folder.mkdir()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(folder / "tex.png")
    gltf = write_gltf(folder / "a.gltf", triangle_gltf(image_uri="tex.png"))
    rec, _ = import_file(libroot, gltf, "a")
    assert rec.meta["textures"] == 1 and rec.provenance["source_files"] == ["tex.png"]


def test_missing_texture_refused_unless_allowed(tmp_path, libroot):
    gltf = write_gltf(tmp_path / "m" / "a.gltf", triangle_gltf(image_uri="gone.png"))
    with pytest.raises(ReskinError, match="missing texture 'gone.png'"):
        import_file(libroot, gltf, "a")
    rec, _ = import_file(libroot, gltf, "a", ImportOptions(allow_missing=True))
    codes = {(f["code"], f["severity"]) for f in rec.provenance["validation"]}
    assert ("missing_texture", "repaired") in codes


def test_data_uri_over_the_limit_is_refused(tmp_path, libroot):
    gltf = write_gltf(tmp_path / "a.gltf", triangle_gltf())
    with pytest.raises(ReskinError, match="over the 16-byte limit"):
        import_file(libroot, gltf, "a", ImportOptions(limits=Limits(max_data_uri_bytes=16)))


@pytest.mark.parametrize("cut", [10, 100, 0.5, -8])
def test_truncated_glb_is_refused(shared_data, tmp_path, libroot, cut):
    data = (shared_data / "gltf" / "CesiumMan.glb").read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else cut
    bad = tmp_path / "cut.glb"
    bad.write_bytes(data[:n])
    with pytest.raises(ReskinError, match="cut.glb"):
        import_file(libroot, bad, "cut")


def test_malformed_gltf_json_is_refused(tmp_path, libroot):
    doc = triangle_gltf()
    doc["nodes"] = [{"mesh": 7}]
    with pytest.raises(ReskinError, match="malformed|does not exist|index"):
        import_file(libroot, write_gltf(tmp_path / "a.gltf", doc), "a")
    (tmp_path / "b.gltf").write_text("{not json")
    with pytest.raises(ReskinError, match="JSON is malformed"):
        import_file(libroot, tmp_path / "b.gltf", "b")


def test_obj_mtllib_cannot_escape(tmp_path, libroot):
    obj = box_obj(tmp_path / "m" / "box.obj", extra="mtllib ../../etc/passwd")
    with pytest.raises(ReskinError, match="leaves the file's folder"):
        import_file(libroot, obj, "box")


def test_obj_with_material_texture_and_groups(tmp_path, libroot):
    folder = tmp_path / "m"
    folder.mkdir()
    Image.new("RGB", (4, 4), (0, 255, 0)).save(folder / "skin.png")
    (folder / "box.mtl").write_text("newmtl skin\nKd 0.5 0.5 0.5\nmap_Kd skin.png\n")
    obj = box_obj(folder / "box.obj", extra="mtllib box.mtl\ng body\nusemtl skin")
    rec, _ = import_file(libroot, obj, "box")
    assert rec.meta["textures"] == 1 and rec.meta["parts"] == ["body"]
    assert sorted(rec.provenance["source_files"]) == ["box.mtl", "skin.png"]


def test_repairs_are_recorded(shared_data, libroot):
    rec, _ = import_file(libroot, shared_data / "meshes" / "pathological" /
                         "joined_tetrahedra_dupface.obj", "tet")
    assert {"code": "duplicate_faces", "severity": "repaired", "message":
            "removed 1 duplicate faces", "where": ""} in rec.provenance["validation"]
    rec, _ = import_file(libroot, shared_data / "meshes" / "pathological" / "nancolor.obj", "nc")
    assert any(f["code"] == "non_finite" and f["severity"] == "repaired"
               for f in rec.provenance["validation"])


def test_z_up_millimetre_stl_is_normalised(tmp_path, libroot):
    # A 300 x 200 x 1800 mm box standing on Z, far from the origin.
    v = np.array([[x, y, z] for x in (0, 300) for y in (0, 200) for z in (0, 1800)], float)
    v += [5000, 7000, 100]
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    stl = binary_stl(tmp_path / "tall.stl", v, f)
    rec, _ = import_file(libroot, stl, "tall")
    norm = rec.provenance["normalization"]
    assert (norm["unit"], norm["up"], norm["unit_guessed"]) == ("mm", "z", True)
    np.testing.assert_allclose(rec.meta["size_m"], [0.3, 1.8, 0.2], atol=1e-6)
    assert rec.meta["height"] == pytest.approx(1.8, abs=1e-5)
    rec2, _ = import_file(libroot, stl, "tall", ImportOptions(unit="cm", up="y"))
    assert rec2.version == 2 and rec2.meta["size_m"][1] == pytest.approx(2.0)


def test_absurd_scale_is_refused(tmp_path, libroot):
    huge = box_obj(tmp_path / "huge.obj", size=(20000, 1, 1))
    with pytest.raises(ReskinError, match="across after unit conversion; pass --unit"):
        import_file(libroot, huge, "huge", ImportOptions(unit="m"))
    tiny = box_obj(tmp_path / "tiny.obj", size=(1e-5, 1e-5, 1e-5))
    with pytest.raises(ReskinError, match="across after unit conversion"):
        import_file(libroot, tiny, "tiny", ImportOptions(unit="mm"))


def test_bad_names_and_options_are_refused_before_reading(tmp_path, libroot):
    obj = box_obj(tmp_path / "b.obj")
    for name in ("../x", "Up", "a@2"):
        with pytest.raises(ReskinError):
            import_file(libroot, obj, name)
    with pytest.raises(ReskinError, match="SPDX"):
        import_file(libroot, obj, "b", ImportOptions(license="not a license!"))
    with pytest.raises(ReskinError, match="unsupported file type"):
        import_file(libroot, tmp_path / "b.fbx", "b")


def test_import_json_output(shared_data, tmp_path):
    runner = CliRunner()
    runner.invoke(main, ["init", str(tmp_path / "s")])
    result = runner.invoke(main, ["asset", "import", str(shared_data / "gltf" /
                                                          "RiggedSimple.glb"),
                                  "--name", "rs", "--json", "-s", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ref"] == "rs@1" and out["meta"]["joints"] == 2
