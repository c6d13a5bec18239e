"""USD export of an imported avatar's morph targets: UsdSkelBlendShapes with the glTF's names,
offsets and normal offsets, bound to the skinned meshes, and UsdSkel applies them as glTF does."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.export import export_asset
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.importer import import_file
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits


@pytest.mark.parametrize("suffix", [".usdc", ".usda"])
def test_avatar_morph_targets_become_blend_shapes(shared_data, libroot, tmp_path, suffix):
    from pxr import Usd, UsdGeom, UsdSkel, Vt

    src = shared_data / "avatars" / "Black_F_2_Casual.glb"
    rec, _ = import_file(libroot, src, "avatar")
    usd = tmp_path / f"avatar{suffix}"
    with Library(libroot) as lib:
        export_asset(lib, rec.ref, usd)
    doc = load_gltf(src, src.read_bytes(), Limits())
    js = doc.json
    expected = {}  # mesh node name -> (names, [(positions, normals)] per target)
    for node in js["nodes"]:
        mesh = js["meshes"][node["mesh"]] if "mesh" in node else {}
        for prim in mesh.get("primitives", [])[:1]:
            if prim.get("targets"):
                expected[node["name"]] = (mesh["extras"]["targetNames"], [
                    (as_float(doc, t["POSITION"]), as_float(doc, t["NORMAL"]))
                    for t in prim["targets"]])
    assert sum(len(n) for n, _ in expected.values()) == 65 + 31

    stage = Usd.Stage.Open(str(usd))
    found = {}
    stored = dense_size = 0
    for prim in stage.Traverse():
        if not prim.IsA(UsdGeom.Mesh) or prim.GetName() not in expected:
            continue
        names, targets = expected[prim.GetName()]
        binding = UsdSkel.BindingAPI(prim)
        assert list(binding.GetBlendShapesAttr().Get()) == names
        shapes = binding.GetBlendShapeTargetsRel().GetTargets()
        assert len(shapes) == len(names)
        n = len(UsdGeom.Mesh(prim).GetPointsAttr().Get())
        for path, (offsets, normals) in zip(shapes, targets, strict=True):
            shape = UsdSkel.BlendShape(stage.GetPrimAtPath(path))
            index = np.array(shape.GetPointIndicesAttr().Get())
            dense = np.zeros((n, 3))
            dense[index] = np.array(shape.GetOffsetsAttr().Get())
            np.testing.assert_allclose(dense, offsets, atol=1e-7)
            dense[:] = 0
            dense[index] = np.array(shape.GetNormalOffsetsAttr().Get())
            np.testing.assert_allclose(dense, normals, atol=1e-7)
            stored += len(index)
            dense_size += n
        # UsdSkel resolves the binding: one weight per shape, offsets applied to the points.
        query = UsdSkel.BlendShapeQuery(binding)
        assert query.GetNumBlendShapes() == len(names)
        weights = np.zeros(len(names), np.float32)
        weights[3] = 0.5
        result = query.ComputeSubShapeWeights(Vt.FloatArray.FromNumpy(weights))
        sub_weights, shape_indices, sub_indices = result
        points = UsdGeom.Mesh(prim).GetPointsAttr().Get()
        rest = np.array(points, np.float64)
        assert query.ComputeDeformedPoints(sub_weights, shape_indices, sub_indices,
                                           query.ComputeBlendShapePointIndices(),
                                           query.ComputeSubShapePointOffsets(), points)
        np.testing.assert_allclose(np.array(points) - rest, 0.5 * targets[3][0], atol=1e-6)
        found[prim.GetName()] = len(shapes)
    assert found == {k: len(v[0]) for k, v in expected.items()}
    assert stored < 0.3 * dense_size  # offsets kept on the points a shape moves
