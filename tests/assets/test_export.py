"""Export: skinned imports keep joints, weights and animations and pass the glTF-Validator;
USD carries the same skinning (UsdSkel) as the GLB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.arrays import pack_arrays
from reskin.assets.export import export_asset
from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.importer import import_file
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh
from reskin.core.transforms import trs_matrix

CHARACTERS = ["RiggedSimple", "RiggedFigure", "CesiumMan", "Fox", "greenman"]


def _read(path: Path):
    return load_gltf(path, path.read_bytes(), Limits())


def _skin_data(doc):
    """Per skinned primitive: (JOINTS_0 as int, WEIGHTS_0 as float), the joint names, clips."""
    js = doc.json
    prims = [p for n in js["nodes"] if "skin" in n for p in js["meshes"][n["mesh"]]["primitives"]]
    data = [(doc.accessors[p["attributes"]["JOINTS_0"]].astype(int),
             as_float(doc, p["attributes"]["WEIGHTS_0"])) for p in prims]
    names = [js["nodes"][j].get("name") for s in js["skins"] for j in s["joints"]]
    clips = [(a.get("name"), len(a["channels"])) for a in js.get("animations", [])]
    return data, names, clips


@pytest.mark.parametrize("name", CHARACTERS)
def test_skinned_glb_round_trip_passes_validator(shared_data, libroot, tmp_path, name):
    src = shared_data / "gltf" / f"{name}.glb"
    rec, _ = import_file(libroot, src, name.lower())
    out = tmp_path / f"{name}.glb"
    with Library(libroot) as lib:
        export_asset(lib, rec.ref, out)
    report = validate_gltf_bytes(out.read_bytes())
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    before, after = _skin_data(_read(src)), _skin_data(_read(out))
    assert before[1] == after[1]  # joints, by name and order
    assert before[2] == after[2]  # animations and their channels
    for (j0, w0), (j1, w1) in zip(before[0], after[0], strict=True):
        np.testing.assert_array_equal(j0, j1)
        np.testing.assert_allclose(w0, w1, atol=1e-6)


def _usd_skinned_points(path: Path) -> list[np.ndarray]:
    from pxr import Usd, UsdGeom, UsdSkel

    stage = Usd.Stage.Open(str(path))
    cache = UsdSkel.Cache()
    out = []
    for prim in stage.Traverse():
        if not prim.IsA(UsdSkel.Root):
            continue
        root = UsdSkel.Root(prim)
        cache.Populate(root, Usd.PrimDefaultPredicate)
        for binding in cache.ComputeSkelBindings(root, Usd.PrimDefaultPredicate):
            query = cache.GetSkelQuery(binding.GetSkeleton())
            assert query.GetTopology().Validate()[0]
            assert query.GetAnimQuery()
            xforms = query.ComputeSkinningTransforms(Usd.TimeCode(0))
            for target in binding.GetSkinningTargets():
                points = UsdGeom.Mesh(target.GetPrim()).GetPointsAttr().Get()
                assert target.ComputeSkinnedPoints(xforms, points, Usd.TimeCode(0))
                out.append(np.array(points, np.float64))
    return out


@pytest.mark.parametrize("name", ["RiggedSimple", "Fox"])
@pytest.mark.parametrize("suffix", [".usda", ".usdc"])
def test_usd_skinning_matches_the_glb(shared_data, libroot, tmp_path, name, suffix):
    rec, _ = import_file(libroot, shared_data / "gltf" / f"{name}.glb", name.lower())
    glb, usd = tmp_path / "a.glb", tmp_path / f"a{suffix}"
    with Library(libroot) as lib:
        export_asset(lib, rec.ref, glb)
        export_asset(lib, rec.ref, usd)
    doc = _read(glb)
    js = doc.json
    # The GLB posed at the first frame of its first animation, by linear blend skinning.
    local = np.stack([gs.node_local(n) for n in js["nodes"]])
    for node, ch in gs.sample_animation(doc, js["animations"][0], np.zeros(1)).items():
        t, r, s = gs.node_trs(js["nodes"][node])
        local[node] = trs_matrix(ch.get("translation", [t])[0], ch.get("rotation", [r])[0],
                                    ch.get("scale", [s])[0])
    world = gs.world_matrices(js, local)
    node = next(n for n in js["nodes"] if "skin" in n)
    prim = js["meshes"][node["mesh"]]["primitives"][0]
    expected = gs.skinned_positions(
        as_float(doc, prim["attributes"]["POSITION"]),
        doc.accessors[prim["attributes"]["JOINTS_0"]].astype(int),
        as_float(doc, prim["attributes"]["WEIGHTS_0"]), gs.skin_matrices(doc, 0, world))
    (points,) = _usd_skinned_points(usd)
    scale = np.ptp(expected, axis=0).max()
    np.testing.assert_allclose(points, expected, atol=1e-4 * scale)


def _tiny_rigged_character(lib: Library):
    """A two-joint box character stored the way the build stores one (mesh.npz + rig.npz)."""
    from reskin.core.skeleton import Skeleton

    v = np.array([[x, y, z] for x in (-.2, .2) for y in (0, 1.6) for z in (-.1, .1)], np.float32)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]], np.int32)
    mesh = Mesh(vertices=v, faces=f, uvs=np.zeros((1, 2), np.float32),
                uv_faces=np.zeros_like(f), parts=np.zeros(len(f), np.int16),
                part_names=("body",))
    skel = Skeleton(names=("hips", "spine"), parents=np.array([-1, 0], np.int32),
                    heads=np.array([[0, .8, 0], [0, 1.2, 0]], np.float32),
                    tails=np.array([[0, 1.2, 0], [0, 1.6, 0]], np.float32))
    joints = np.zeros((8, 4), np.uint16)
    joints[:, 0] = (v[:, 1] > 1).astype(np.uint16)
    weights = np.zeros((8, 4), np.float32)
    weights[:, 0] = 1
    base = lib.add("tiny", "character", {"mesh.npz": pack_arrays(mesh.to_arrays())},
                   meta={"stage": "generated"})
    rigged = lib.add("tiny", "character", {
        "mesh.npz": pack_arrays(mesh.to_arrays()),
        "rig.npz": pack_arrays({**skel.to_arrays(), "skin_joints": joints,
                                "skin_weights": weights})}, parents=(base,))
    return base, rigged


def test_build_style_characters_export_to_glb_and_usd(libroot, tmp_path):
    from pxr import Usd, UsdSkel

    with Library(libroot) as lib:
        base, rigged = _tiny_rigged_character(lib)
        for rec in (base, rigged):
            out = tmp_path / f"{rec.version}.glb"
            export_asset(lib, rec.ref, out)
            report = validate_gltf_bytes(out.read_bytes())
            assert report["issues"]["numErrors"] == 0, errors_of(report)
        export_asset(lib, rigged.ref, tmp_path / "tiny.usda")
    stage = Usd.Stage.Open(str(tmp_path / "tiny.usda"))
    skels = [UsdSkel.Skeleton(p) for p in stage.Traverse() if p.IsA(UsdSkel.Skeleton)]
    assert len(skels) == 1
    assert list(skels[0].GetJointsAttr().Get()) == ["hips", "hips/spine"]


def test_export_refuses_unknown_format_and_missing_asset(libroot, tmp_path):
    with Library(libroot) as lib:
        _tiny_rigged_character(lib)
        with pytest.raises(ReskinError, match="cannot export"):
            export_asset(lib, "tiny", tmp_path / "x.fbx")
        with pytest.raises(ReskinError, match="no asset"):
            export_asset(lib, "nope", tmp_path / "x.glb")
