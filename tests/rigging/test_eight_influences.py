"""An 8-influence rig (`reskin rig NAME --influences 8`) exports through `reskin asset export`:
glTF as JOINTS_0/WEIGHTS_0 + JOINTS_1/WEIGHTS_1 with 0 validator errors, USD with elementSize 8,
both carrying the rig's own 8 weights per vertex."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.arrays import unpack_arrays
from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.gltf.character import split_for_export
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits
from reskin.cli import main
from reskin.core.mesh import Mesh
from reskin.pipeline.series_init import init_series

WEIGHT_TOL = 1e-6  # float32 weights, renormalised in float64 before rounding


def _run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def rigged8(tmp_path_factory):
    """(series root, the 8-influence rig's record, its mesh and rig arrays)."""
    root = init_series(tmp_path_factory.mktemp("infl") / "show")
    (root / "cast" / "ivo").mkdir()
    (root / "cast" / "ivo" / "character.yaml").write_text(
        "params:\n  voxels_per_height: 48\nauthor: tests\nlicense: CC0-1.0\n")
    with Library(root / ".reskin") as lib:
        ensure_generated(lib, load_character(root / "cast" / "ivo" / "character.yaml"))
    _run("rig", "ivo", "-s", str(root), "--influences", "8")
    with Library(root / ".reskin") as lib:
        record = lib.get("ivo")
        mesh = Mesh.from_arrays(unpack_arrays(lib.read_blob(record.blobs["mesh.npz"])))
        rig = unpack_arrays(lib.read_blob(record.blobs["rig.npz"]))
    return root, record, mesh, rig


def test_the_rig_has_eight_influences(rigged8):
    _, record, mesh, rig = rigged8
    assert record.provenance["influences"] == 8
    assert rig["skin_weights"].shape == (len(mesh.vertices), 8)
    # Some vertices really use more than four joints, so the second set carries weight.
    assert ((rig["skin_weights"] > 0).sum(axis=1) > 4).any()


def test_glb_export_writes_two_influence_sets_and_validates(rigged8, tmp_path):
    root, record, mesh, rig = rigged8
    out = tmp_path / "ivo.glb"
    _run("asset", "export", record.ref, "-o", str(out), "-s", str(root))
    data = out.read_bytes()
    report = validate_gltf_bytes(data)
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    doc = load_gltf(out, data, Limits())
    attrs = doc.json["meshes"][0]["primitives"][0]["attributes"]
    assert {"JOINTS_0", "WEIGHTS_0", "JOINTS_1", "WEIGHTS_1"} <= set(attrs)
    assert "JOINTS_2" not in attrs
    joints = np.concatenate([doc.accessors[attrs[f"JOINTS_{k}"]].astype(np.int64)
                             for k in (0, 1)], axis=1)
    weights = np.concatenate([as_float(doc, attrs[f"WEIGHTS_{k}"]) for k in (0, 1)], axis=1)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=WEIGHT_TOL)
    # Each exported vertex carries its welded vertex's 8 (joint, weight) pairs.
    src, _, _ = split_for_export(mesh)
    want_w = rig["skin_weights"][src].astype(np.float64)
    want_w /= want_w.sum(axis=1, keepdims=True)
    dense = np.zeros((len(src), len(rig["heads"])))
    want = np.zeros_like(dense)
    rows = np.arange(len(src))[:, None]
    np.add.at(dense, (rows, joints), weights)
    np.add.at(want, (rows, rig["skin_joints"][src].astype(np.int64)), want_w)
    np.testing.assert_allclose(dense, want, atol=WEIGHT_TOL)


def test_usd_export_has_element_size_eight(rigged8, tmp_path):
    from pxr import Usd, UsdGeom, UsdSkel

    root, record, mesh, rig = rigged8
    out = tmp_path / "ivo.usda"
    _run("asset", "export", record.ref, "-o", str(out), "-s", str(root))
    stage = Usd.Stage.Open(str(out))
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert len(meshes) == 1
    binding = UsdSkel.BindingAPI(meshes[0])
    indices, weights = binding.GetJointIndicesPrimvar(), binding.GetJointWeightsPrimvar()
    assert indices.GetElementSize() == 8 and weights.GetElementSize() == 8
    w = np.array(weights.Get(), np.float64).reshape(-1, 8)
    assert len(w) == len(np.array(UsdGeom.Mesh(meshes[0]).GetPointsAttr().Get()))
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=WEIGHT_TOL)
    assert ((w > 0).sum(axis=1) > 4).any()
    # UsdSkel itself accepts the binding: it skins the points with all 8 influences.
    cache = UsdSkel.Cache()
    skel_root = UsdSkel.Root(next(p for p in stage.Traverse() if p.IsA(UsdSkel.Root)))
    cache.Populate(skel_root, Usd.PrimDefaultPredicate)
    (bound,) = cache.ComputeSkelBindings(skel_root, Usd.PrimDefaultPredicate)
    query = cache.GetSkelQuery(bound.GetSkeleton())
    assert query.GetTopology().Validate()[0]
    (target,) = bound.GetSkinningTargets()
    assert target.GetNumInfluencesPerComponent() == 8
    points = UsdGeom.Mesh(target.GetPrim()).GetPointsAttr().Get()
    xforms = query.ComputeSkinningTransforms(Usd.TimeCode.Default())
    assert target.ComputeSkinnedPoints(xforms, points, Usd.TimeCode.Default())
