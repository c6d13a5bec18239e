"""`reskin rig` on characters from files keeps what the artist made: skeleton (names,
hierarchy, bind pose), animations, materials and textures; --recompute-weights changes the
weights only, so the artist's and reskin's can be compared joint by joint."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.assets.library import Library
from reskin.cli import main
from reskin.pipeline.series_init import init_series
from reskin.rigging.file_rig import read_model
from tests.conftest import SHARED_DATA

RIGGED = ("RiggedSimple.glb", "RiggedFigure.glb", "CesiumMan.glb", "Fox.glb", "SimpleSkin.gltf",
          "greenman.glb")


def _skin_joint_names(doc) -> list[str]:
    nodes = doc.json["nodes"]
    return sorted({nodes[j].get("name", "") for s in doc.json["skins"] for j in s["joints"]})


def _influences(doc) -> list[np.ndarray]:
    out = []
    for mesh in doc.json["meshes"]:
        for prim in mesh["primitives"]:
            a = prim["attributes"]
            if "WEIGHTS_0" in a:
                out.append(np.asarray(doc.accessors[a["WEIGHTS_0"]], np.float64))
    return out


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return init_series(tmp_path_factory.mktemp("rigfile") / "show")


@pytest.mark.parametrize("name", RIGGED)
def test_recompute_weights_keeps_joints_animations_and_textures(series, name):
    runner = CliRunner()
    asset = name.split(".")[0].lower()
    r = runner.invoke(main, ["asset", "import", str(SHARED_DATA / "gltf" / name), "--name",
                             asset, "-s", str(series)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["rig", asset, "--recompute-weights", "-s", str(series)])
    assert r.exit_code == 0, r.output
    with Library(series / ".reskin") as lib:
        new, old = lib.get(asset), lib.get(f"{asset}@1")
        assert new.version == 2 and new.meta["stage"] == "rigged"
        before = read_model(lib.read_blob(old.blobs["model.glb"]))
        glb = lib.read_blob(new.blobs["model.glb"])
    after = read_model(glb)
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:3]
    assert _skin_joint_names(after) == _skin_joint_names(before)
    assert [a.get("name") for a in after.json.get("animations", [])] == \
        [a.get("name") for a in before.json.get("animations", [])]
    assert after.json.get("materials") == before.json.get("materials")
    images = sorted(d for d, _ in after.images.values())
    assert images == sorted(d for d, _ in before.images.values())
    # Joint rest poses are the file's, bit for bit.
    for j in {j for s in before.json["skins"] for j in s["joints"]}:
        for key in ("translation", "rotation", "scale", "matrix"):
            assert before.json["nodes"][j].get(key) == after.json["nodes"][j].get(key)
    # Only the weights changed: reskin's are its own, not a copy of the artist's.
    w_before, w_after = _influences(before), _influences(after)
    assert len(w_before) == len(w_after)
    assert any(a.shape != b.shape or not np.allclose(a, b, atol=1e-3)
               for a, b in zip(w_before, w_after, strict=True))
