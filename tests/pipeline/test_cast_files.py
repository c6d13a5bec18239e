"""Cast members from files: character.yaml `source:`, imported once, rigged once (own or auto)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from reskin.assets.character_spec import load_character
from reskin.assets.gltf.repair import flatten
from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.assets.library import Library
from reskin.core.errors import ReskinError
from reskin.pipeline.cast import ensure_cast_rig, find_cast_rig
from reskin.pipeline.series_init import init_series
from reskin.rigging.file_rig import read_model
from reskin.rigging.rigged import load_rigged
from tests.conftest import SHARED_DATA
from tests.rigging.strip_rig import strip_rig


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> Path:
    shared_data = SHARED_DATA
    root = init_series(tmp_path_factory.mktemp("cast") / "show")
    (root / "models").mkdir()
    shutil.copy(shared_data / "avatars" / "Asian_F_1_Casual.glb", root / "models" / "hana.glb")
    strip_rig(shared_data / "avatars" / "White_M_1_Busi.glb", root / "models" / "ken.glb")
    for name, text in {"hana": "source: models/hana.glb\n",
                       "ken": "source: models/ken.glb\nauthor: Tiffany Do\nlicense: MIT\n"}.items():
        (root / "cast" / name).mkdir(parents=True)
        (root / "cast" / name / "character.yaml").write_text(text)
    return root


@pytest.fixture(scope="module")
def rigs(series):
    out = {}
    with Library(series / ".reskin") as lib:
        for name in ("hana", "ken"):
            spec = load_character(series / "cast" / name / "character.yaml")
            assert find_cast_rig(lib, spec) is None
            rig, made = ensure_cast_rig(lib, spec)
            assert [what for _, what in made] == ["imported", "rigged"]
            again, made_again = ensure_cast_rig(lib, spec)  # the second build reuses both
            assert again.ref == rig.ref and made_again == []
            assert find_cast_rig(lib, spec).ref == rig.ref
            base = lib.get(f"{name}@1")
            out[name] = (rig, base, lib.read_blob(rig.blobs["model.glb"]),
                         lib.read_blob(base.blobs["model.glb"]), load_rigged(lib, rig))
    return out


def test_rigged_file_keeps_the_artist_rig_as_is(rigs):
    rig, base, model, imported, rc = rigs["hana"]
    assert rig.meta["rig"] == "own" and rig.meta["joints"] == 114
    assert model == imported  # skeleton, weights, morph targets, textures: the file's bytes
    doc = read_model(model)
    names = {n.get("name") for n in doc.json["nodes"]}
    # The canonical joints sit on the artist's joints the name map names.
    hips = next(n for n in doc.json["nodes"] if n.get("name") == "Hips")
    assert hips is not None and {"Hips", "LeftHand", "Head"} <= names
    assert rig.meta["humanoid"]["leftHand"] == "LeftHand"
    sk = rc.skeleton
    height = rig.meta["height"]
    assert 0.5 < sk.heads[sk.index("hips")][1] / height < 0.62
    assert sk.heads[sk.index("leftHand")][0] > 0.3 * height  # the character's left is +x
    # Canonical weights come from the artist's: the hand's vertices move with the hand.
    hand = sk.index("leftHand")
    beyond = rc.mesh.vertices[:, 0] > sk.heads[hand][0] + 0.04  # past the wrist: the hand
    assert beyond.sum() > 100
    assert (rc.joints[beyond, 0] == hand).mean() > 0.95


def test_static_file_gets_a_fitted_skin_and_keeps_its_look(rigs):
    rig, base, model, imported, rc = rigs["ken"]
    assert rig.meta["rig"] == "auto" and rig.meta["joints"] == 21
    assert rig.provenance["license"] == "MIT" and rig.provenance["author"] == "Tiffany Do"
    report = validate_gltf_bytes(model)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
    src, doc = read_model(imported), read_model(model)
    assert doc.json["materials"] == src.json["materials"]
    assert [d for d, _ in doc.images.values()] == [d for d, _ in src.images.values()]
    assert len(doc.json["skins"]) >= 1
    # In the bind pose the skinned file is exactly the static one.
    before = np.concatenate([p.positions for p in flatten(src)])
    after = np.concatenate([p.positions for p in flatten(doc)])
    assert np.abs(after - before).max() < 1e-5


@pytest.mark.parametrize("text, message", [
    ("source: models/hana.glb\nparams: {height: 1.7}\n", "not both"),
    ("skin_tone: '#a07050'\n", "say how the character is made"),
    ("source: ../outside.glb\n", "outside the series folder"),
    ("source: models/nobody.glb\n", "file not found"),
    ("source: models/hana.txt\n", "unsupported model file"),
    ("source: asset:hero\n", "pin the asset version"),
    ("source: models/hana.glb\nrig: manual\n", "is not one of own, auto"),
])
def test_character_source_errors_are_one_line(series, text, message):
    path = series / "cast" / "bad" / "character.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    (series.parent / "outside.glb").write_bytes(b"glTF")
    with pytest.raises(ReskinError) as err:
        load_character(path)
    line = err.value.one_line()
    assert message in line and str(path) in line and "\n" not in line


def test_own_rig_on_a_static_file_is_one_line(series, rigs):
    path = series / "cast" / "stiff" / "character.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("source: models/ken.glb\nrig: own\n")
    with Library(series / ".reskin") as lib, pytest.raises(ReskinError) as err:
        ensure_cast_rig(lib, load_character(path))
    line = err.value.one_line()
    assert "no skeleton" in line and "rig: auto" in line and str(path) in line


def test_mesh_npz_and_model_agree_on_every_vertex(rigs):
    for name in ("hana", "ken"):
        rig, _, model, _, rc = rigs[name]
        doc = read_model(model)
        pts = np.concatenate([p.positions for p in flatten(doc)])
        d, _ = cKDTree(rc.mesh.vertices).query(pts)
        assert d.max() < 1e-5, name


def test_a_broken_source_file_is_one_line_and_leaves_the_library(tmp_path):
    from click.testing import CliRunner

    from reskin.cli import main

    series = init_series(tmp_path / "show")
    (series / "models").mkdir()
    good = (SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb").read_bytes()
    (series / "models" / "broken.glb").write_bytes(good[: len(good) // 3])  # truncated
    (series / "cast" / "cracked").mkdir(parents=True)
    (series / "cast" / "cracked" / "character.yaml").write_text("source: models/broken.glb\n")
    (series / "cast" / "cracked" / "ep01.yaml").write_text("regions:\n  top: {color: '#336699'}\n")
    (series / "episodes").mkdir(exist_ok=True)
    (series / "episodes" / "ep01.yaml").write_text(
        "shots:\n  - id: s\n    duration: 0.25\n    cast: [{character: cracked}]\n")
    lib = series / ".reskin"
    before = {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()}
    result = CliRunner().invoke(main, ["build", str(series)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "broken.glb" in lines[0] and "Traceback" not in result.output
    assert {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()} == before


def test_hide_drops_a_regions_triangles_and_the_identity_lock_holds(series, rigs):
    from reskin.skins.file_skin import identity_digest
    from reskin.skins.identity import IdentityLockError
    from reskin.skins.make import ensure_skin
    from reskin.skins.wardrobe import load_wardrobe

    folder = series / "cast" / "ken"
    (folder / "ep07.yaml").write_text("regions:\n  top: {color: '#aa3355'}\nhide: [shoes]\n")
    (folder / "ep08.yaml").write_text("regions:\n  top: {color: '#aa3355'}\n"
                                      "padding: {top: 0.01}\n")
    (folder / "ep09.yaml").write_text("regions:\n  top: {color: '#aa3355'}\n"
                                      "garments:\n  - {mesh: 'procedural:cap', bind: joint, "
                                      "joint: head}\n")
    spec = load_character(folder / "character.yaml")
    rig, _, model, _, _ = rigs["ken"]
    with Library(series / ".reskin") as lib:
        rc = load_rigged(lib, rig)
        skin, made = ensure_skin(lib, rc, spec, load_wardrobe(folder / "ep07.yaml", "ken", "ep07"),
                                 8)
        glb = lib.read_blob(skin.blobs["skin.glb"])
        before = len(lib.list())
        for ep, what in (("ep08", "padding"), ("ep09", "procedural:cap")):
            with pytest.raises(ReskinError) as err:
                ensure_skin(lib, rc, spec, load_wardrobe(folder / f"{ep}.yaml", "ken", ep), 8)
            line = err.value.one_line()
            assert what in line and f"{ep}.yaml" in line and "\n" not in line
            if what == "padding":
                assert isinstance(err.value, IdentityLockError)
        assert len(lib.list()) == before  # nothing stored for a refused spec
    assert made and skin.meta["hidden"] == ["shoes"] and skin.meta["hidden_triangles"] > 100
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:3]
    # Every vertex, weight, joint and bind matrix of the person is the rig's, bit for bit.
    written, source = identity_digest(read_model(glb)), identity_digest(read_model(model))
    assert all(written[k] == v for k, v in source.items())
    tris = sum(len(read_model(glb).accessors[p["indices"]]) for m in read_model(glb).json[
        "meshes"][:1] for p in m["primitives"])
    src_tris = sum(len(read_model(model).accessors[p["indices"]])
                   for m in read_model(model).json["meshes"][:1] for p in m["primitives"])
    assert tris < src_tris
