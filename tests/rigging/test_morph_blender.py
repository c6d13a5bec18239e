"""Skinning with morph targets against Blender's own evaluation (shape keys, then armature):
the procedural character with morph targets written into its GLB, posed by its wave clip, and a
shared avatar's head (65 face targets, 114 joints) posed by an animation written into its GLB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.read import as_float, load_gltf
from reskin.assets.gltf.write import write_glb
from reskin.assets.safe_io import Limits
from reskin.core.transforms import quat_mul
from reskin.rigging.blender_ref import blender_rig_eval
from reskin.rigging.gltf_rig import load_gltf_rig
from reskin.rigging.morphs import gltf_morph_targets
from reskin.rigging.procedural_clips import axis_angle
from reskin.rigging.skinning import dqs, lbs

TOLERANCE = 1e-5  # fraction of the character's height
FPS = 24.0


def _add(doc, js, data: np.ndarray, kind: str) -> int:
    index = len(js["accessors"])
    js["accessors"].append({"componentType": 5126, "type": kind})
    doc.accessors[index] = np.ascontiguousarray(data, np.float32)
    return index


def _read(path: Path):
    doc = load_gltf(path, path.read_bytes(), Limits())
    node = next(n for n in doc.json["nodes"] if "mesh" in n and "skin" in n)
    mesh = doc.json["meshes"][node["mesh"]]
    morphs = gltf_morph_targets(doc, mesh["primitives"][0], mesh["extras"]["targetNames"])
    return doc, node, morphs


def _compare(path: Path, shapes: dict[str, float], frames: list[int], clip: str,
             preserve_volume: bool, mesh: str | None = None):
    """(ours, Blender's, ours without the shapes) posed vertices, (f, n, 3) each."""
    _, _, morphs = _read(path)
    mw = np.array([shapes.get(name, 0.0) for name in morphs.names])
    ref = blender_rig_eval("pose", path, fps=FPS, clip=clip, frames=frames, mesh=mesh,
                           shape_keys=shapes, preserve_volume=preserve_volume)
    rig = load_gltf_rig(path)
    assert len(rig.vertices) == morphs.n_vertices == len(ref["rest"])
    mats = rig.skin_matrices(0, np.asarray(frames, np.float64) / FPS)
    skin = dqs if preserve_volume else lbs
    ours = skin(rig.vertices, rig.joints, rig.weights, mats, morphs=morphs, morph_weights=mw)
    return ours, ref["posed"], skin(rig.vertices, rig.joints, rig.weights, mats)


# ---- the procedural character, with three morph targets ---------------------------------


@pytest.fixture(scope="module")
def morph_character(tmp_path_factory):
    pytest.importorskip("bpy")  # only to know it is installed; it runs in a subprocess
    from reskin.assets.generator import HumanoidParams, generate_humanoid
    from reskin.assets.gltf.character import write_character_glb
    from reskin.rigging.fit import fit_skeleton
    from reskin.rigging.procedural_clips import make_clip
    from reskin.rigging.weights import bind_weights

    mesh = generate_humanoid(HumanoidParams(voxels_per_height=64))
    skeleton = fit_skeleton(mesh)
    joints, weights = bind_weights(mesh.vertices, mesh.faces, skeleton)
    clip = make_clip("wave", skeleton, FPS, 2.0)
    path = tmp_path_factory.mktemp("morph") / "character.glb"
    path.write_bytes(write_character_glb(mesh, skeleton, joints, weights, name="c", clips=[clip]))
    doc = load_gltf(path, path.read_bytes(), Limits())
    js = doc.json
    gltf_mesh = js["meshes"][next(n for n in js["nodes"] if "skin" in n)["mesh"]]
    prim = gltf_mesh["primitives"][0]
    v = as_float(doc, prim["attributes"]["POSITION"])
    h = float(np.ptp(v[:, 1]))
    # A head swelling, an arm-length stretch of the left side and a chest push, each local.
    head = np.where(v[:, 1:2] > 0.86 * h, (v - [0, 0.93 * h, 0]) * 0.15, 0.0)
    left = np.where(v[:, :1] > 0.15 * h, [[0.03 * h, 0.0, 0.0]], 0.0)
    chest = np.where((np.abs(v[:, 1:2] - 0.7 * h) < 0.05 * h) & (v[:, 2:] > 0), [[0, 0, 0.02]], 0.)
    prim["targets"] = [{"POSITION": _add(doc, js, d, "VEC3")} for d in (head, left, chest)]
    gltf_mesh["weights"] = [0.0, 0.0, 0.0]
    gltf_mesh["extras"] = {"targetNames": ["headSwell", "leftStretch", "chestPush"]}
    path.write_bytes(write_glb(doc))
    return path, h


@pytest.mark.parametrize("preserve_volume", [False, True], ids=["lbs", "dqs"])
def test_morph_skinning_agrees_with_blender(morph_character, preserve_volume):
    path, height = morph_character
    shapes = {"headSwell": 0.7, "leftStretch": 0.4, "chestPush": 1.0}
    ours, blender, unmorphed = _compare(path, shapes, [0, 7, 20, 33, 48], "wave",
                                        preserve_volume)
    error = np.abs(ours - blender).max() / height
    assert error < TOLERANCE, error
    # The shapes really move the posed mesh, so the match means something.
    assert np.abs(unmorphed - blender).max() / height > 1000 * TOLERANCE


# ---- a shared avatar's head ---------------------------------------------------------------


def _posed_avatar(src: Path, out: Path) -> tuple[Path, str]:
    """``src`` with an animation (keys at 0, 0.5, 1 s) turning the 8 joints that move its first
    skinned mesh (the head) the most."""
    doc = load_gltf(src, src.read_bytes(), Limits())
    js = doc.json
    node = next(n for n in js["nodes"] if "mesh" in n and "skin" in n)
    prim = js["meshes"][node["mesh"]]["primitives"][0]
    skin = js["skins"][node["skin"]]
    joints = doc.accessors[prim["attributes"]["JOINTS_0"]].astype(int)
    weights = as_float(doc, prim["attributes"]["WEIGHTS_0"])
    load = np.bincount(joints.ravel(), weights.ravel(), minlength=len(skin["joints"]))
    rng = np.random.default_rng(3)
    samplers, channels = [], []
    t_in = _add(doc, js, np.array([[0.0], [0.5], [1.0]]), "SCALAR")
    for j in np.argsort(-load)[:8]:
        n = int(skin["joints"][j])
        assert "matrix" not in js["nodes"][n]
        _, r0, _ = gs.node_trs(js["nodes"][n])
        angles = np.radians([0.0, 1.0, -1.0]) * rng.uniform(15, 35)
        keys = quat_mul(np.asarray(r0, np.float64)[None],
                        axis_angle(tuple(rng.normal(size=3)), angles))
        samplers.append({"input": t_in, "output": _add(doc, js, keys, "VEC4"),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": n, "path": "rotation"}})
    js["animations"] = [{"name": "face_pose", "samplers": samplers, "channels": channels}]
    out.write_bytes(write_glb(doc))
    return out, node["name"]


def _height(doc) -> float:
    """The avatar's height: all its skinned meshes at rest."""
    js = doc.json
    rest = []
    for n in js["nodes"]:
        if "skin" in n:
            a = js["meshes"][n["mesh"]]["primitives"][0]["attributes"]
            rest.append(gs.skinned_positions(
                as_float(doc, a["POSITION"]), doc.accessors[a["JOINTS_0"]].astype(int),
                as_float(doc, a["WEIGHTS_0"]), gs.skin_matrices(doc, n["skin"],
                                                                gs.world_matrices(js))))
    return float(np.ptp(np.concatenate(rest)[:, 1]))


def test_avatar_face_shapes_agree_with_blender(tmp_path):
    pytest.importorskip("bpy")
    from tests.conftest import SHARED_DATA

    path, mesh_name = _posed_avatar(SHARED_DATA / "avatars" / "White_M_1_Busi.glb",
                                    tmp_path / "avatar.glb")
    doc, _, morphs = _read(path)
    assert morphs.count == 65 and len(morphs.index) < 0.5 * morphs.n_vertices
    height = _height(doc)
    assert 1.4 < height < 2.1
    # Two visemes and the target that moves the mesh the most, at partial weights.
    sizes = np.abs(morphs.deltas).max(axis=1).toarray().ravel()
    shapes = {"h_expressions.AE_AA_h": 0.8, "h_expressions.TD_I_h": 0.35,
              morphs.names[int(np.argmax(sizes))]: 0.6}
    frames = [0, 12, 24]
    ours, blender, unmorphed = _compare(path, shapes, frames, "face_pose", False, mesh_name)
    _, blender_plain, _ = _compare(path, {}, frames, "face_pose", False, mesh_name)
    # What the shapes add to the posed head is Blender's to within a fraction of one step of
    # the file's 16-bit deltas (~2e-5 m here: Blender's importer rounds them its own way).
    shape_error = np.abs((ours - unmorphed) - (blender - blender_plain)).max() / height
    assert shape_error < TOLERANCE, shape_error
    assert np.abs(ours - unmorphed).max() / height > 1000 * TOLERANCE
    # Blender keeps this file's bind in float32 bones (its inverse binds are scaled by ~95.7,
    # not exactly uniformly), which alone leaves ~1e-5 of height on the far arm even unmorphed;
    # the vertices the shapes move stay within the tolerance.
    assert np.abs(ours - blender).max() / height < 2 * TOLERANCE
    assert np.abs(ours - blender)[:, morphs.index].max() / height < TOLERANCE
    assert np.abs(blender[-1] - blender[0]).max() / height > 0.01  # the pose moves it
