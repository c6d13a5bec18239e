"""The bind pose is the rest pose: a skinned glTF saved mid-animation imports as its bind pose."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.gltf import scene as gs
from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.bind_pose import SHEAR_TOL, decompose
from reskin.assets.gltf.glb import read_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.importer import import_file
from reskin.core.transforms import matrix_to_quat, quat_to_matrix, trs_matrix

from .gltf_edit import float_accessor, library_glb, library_mesh, load, pose_mid_animation, save


def _findings(record, code: str) -> list[dict]:
    return [f for f in record.provenance["validation"] if f["code"] == code]


def _corners(libroot, record) -> np.ndarray:
    """(m, 3, 3) triangle corners of a library mesh (welding may order vertices differently)."""
    mesh = library_mesh(libroot, record)
    return mesh["vertices"][mesh["faces"]]


def _joint_worlds(glb: bytes) -> np.ndarray:
    js, _ = read_glb(glb)
    return gs.world_matrices(js)[js["skins"][0]["joints"]]


@pytest.mark.parametrize("name", ["RiggedFigure", "CesiumMan"])
def test_a_posed_copy_imports_as_the_bind_pose(shared_data, libroot, tmp_path, name):
    source = shared_data / "gltf" / f"{name}.glb"
    js, binary = load(source)
    pose_mid_animation(js)
    posed = save(tmp_path / f"{name}_posed.glb", js, binary)

    rest, _ = import_file(libroot, source, "rest")
    moved, _ = import_file(libroot, posed, "posed")
    a, b = _corners(libroot, rest), _corners(libroot, moved)
    assert a.shape == b.shape
    assert np.abs(a - b).max() < 1e-4
    # The file as authored is in its bind pose already: nothing to reset.
    assert _findings(rest, "bind_pose_reset") == []
    [reset] = _findings(moved, "bind_pose_reset")
    assert reset["severity"] == "repaired" and "19 joints" in reset["message"]
    glb = library_glb(libroot, moved)
    assert errors_of(validate_gltf_bytes(glb)) == []
    # model.glb's node pose is the bind pose too, not only mesh.npz.
    assert np.abs(_joint_worlds(glb) - _joint_worlds(library_glb(libroot, rest))).max() < 1e-5


def _mixamo_style(js: dict, binary: bytearray) -> None:
    """Move a 0.01 scale into the root joint (children's translations and IBMs x100, as a
    centimetre rig in a metre file), store two joints as matrices and drop the animation
    (it was keyed in metres, and a matrix node cannot be animated)."""
    skin = js["skins"][0]
    joints = skin["joints"]
    nodes = js["nodes"]
    root = nodes[joints[0]]
    root["scale"] = [0.01 * x for x in root.get("scale", (1, 1, 1))]
    for j in joints[1:]:
        nodes[j]["translation"] = [100 * x for x in nodes[j].get("translation", (0, 0, 0))]
    ibm = float_accessor(js, binary, skin["inverseBindMatrices"]).reshape(-1, 4, 4)
    ibm[:, :, :3] *= 100  # column-major: [column][row]; S @ IBM scales rows 0..2
    js["accessors"][skin["inverseBindMatrices"]].pop("min", None)
    js["accessors"][skin["inverseBindMatrices"]].pop("max", None)
    for j in (joints[4], joints[8]):
        n = nodes[j]
        m = trs_matrix(*gs.node_trs(n))
        for key in ("translation", "rotation", "scale"):
            n.pop(key, None)
        n["matrix"] = [float(x) for x in m.T.reshape(-1)]
    js.pop("animations", None)


def _pose_matrices(js: dict) -> None:
    """Turn the matrix joints too (pose_mid_animation turns only TRS ones)."""
    for j in js["skins"][0]["joints"]:
        n = js["nodes"][j]
        if "matrix" in n:
            m = gs.node_local(n)
            turn = np.eye(4)
            turn[:3, :3] = quat_to_matrix(np.array([0.3, 0.1, 0.0, 0.95]))
            n["matrix"] = [float(x) for x in (m @ turn).T.reshape(-1)]


def test_scaled_rig_and_matrix_joints_reset_exactly(shared_data, libroot, tmp_path):
    source = shared_data / "gltf" / "RiggedFigure.glb"
    js, binary = load(source)
    _mixamo_style(js, binary)
    scaled = save(tmp_path / "scaled.glb", js, bytearray(binary))
    _pose_matrices(js)
    pose_mid_animation(js)
    posed = save(tmp_path / "scaled_posed.glb", js, binary)

    rest, _ = import_file(libroot, source, "rest")
    as_built, _ = import_file(libroot, scaled, "scaled")
    moved, _ = import_file(libroot, posed, "posed")
    assert _findings(as_built, "bind_pose_reset") == []
    assert _findings(moved, "bind_pose_reset")
    a = _corners(libroot, rest)
    for record in (as_built, moved):
        assert np.abs(_corners(libroot, record) - a).max() < 1e-4
    glb = library_glb(libroot, moved)
    assert errors_of(validate_gltf_bytes(glb)) == []
    out, _ = read_glb(glb)
    joints = out["skins"][0]["joints"]
    np.testing.assert_allclose(out["nodes"][joints[0]]["scale"], 0.01, rtol=1e-5)
    assert "matrix" in out["nodes"][joints[4]] and "rotation" not in out["nodes"][joints[4]]


def _second_skin(js: dict, binary: bytearray, ibm: np.ndarray | None) -> None:
    """A second skinned node (the same mesh) on a skin over the same joints; its own IBMs if
    given (j, 4, 4) row-major, else the first skin's accessor."""
    skin = dict(js["skins"][0])
    if ibm is not None:
        builder = BufferBuilder(js, binary)
        flat = np.ascontiguousarray(ibm.transpose(0, 2, 1)).reshape(-1, 16).astype(np.float32)
        skin["inverseBindMatrices"] = builder.accessor(flat)
    js["skins"].append(skin)
    mesh_node = next(i for i, n in enumerate(js["nodes"]) if "skin" in n)
    js["nodes"].append({"name": "second", "mesh": js["nodes"][mesh_node]["mesh"], "skin": 1})
    js["scenes"][js.get("scene", 0)]["nodes"].append(len(js["nodes"]) - 1)


def test_skins_sharing_joints_agree_or_the_first_wins(shared_data, libroot, tmp_path):
    source = shared_data / "gltf" / "RiggedFigure.glb"
    js, binary = load(source)
    _second_skin(js, binary, None)
    pose_mid_animation(js)
    shared, _ = import_file(libroot, save(tmp_path / "shared.glb", js, binary), "shared")
    assert _findings(shared, "bind_pose_disagrees") == []
    v = _corners(libroot, shared)
    half = len(v) // 2
    assert np.abs(v[:half] - v[half:]).max() < 1e-4  # both skins posed the mesh alike

    js, binary = load(source)
    doc_ibm = _ibms(js, binary)
    other = doc_ibm.copy()
    other[:, :3, 3] += 0.05  # every joint bound 5 cm elsewhere in the second skin
    _second_skin(js, binary, other)
    pose_mid_animation(js)
    rec, _ = import_file(libroot, save(tmp_path / "disagree.glb", js, binary), "disagree")
    [warn] = _findings(rec, "bind_pose_disagrees")
    assert warn["where"] == "skins[1]" and "skins[0]" in warn["message"]
    rest, _ = import_file(libroot, source, "rest")
    first = _corners(libroot, rest)
    d = (_corners(libroot, rec)[: len(first)] - first).reshape(-1, 3)
    assert np.abs(d - d.mean(axis=0)).max() < 1e-4  # the same shape, wherever the feet went
    assert errors_of(validate_gltf_bytes(library_glb(libroot, rec))) == []


def _ibms(js: dict, binary: bytearray) -> np.ndarray:
    flat = float_accessor(js, binary, js["skins"][0]["inverseBindMatrices"])
    return flat.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)


def test_decompose_round_trips_scale_mirror_and_flags_shear():
    rng = np.random.default_rng(3)
    for k in range(200):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        s = rng.uniform(0.005, 3, 3) * (0.01 if k % 3 == 0 else 1)
        if k % 5 == 0:
            s[rng.integers(3)] *= -1  # a mirror
        if k % 7 == 0:
            s[:] = s[0]  # uniform, as most rigs
        m = trs_matrix(rng.normal(size=3), q, s)
        t, r, scale, err = decompose(m)
        assert err < 1e-9
        np.testing.assert_allclose(trs_matrix(t, r, scale), m, atol=1e-9)
        assert abs(np.linalg.norm(r) - 1) < 1e-12
    shear = np.eye(4)
    shear[0, 1] = 0.3
    assert decompose(shear)[3] > SHEAR_TOL
    # Slightly non-orthogonal float32 data still gives the nearest rotation.
    rot = quat_to_matrix(np.array([0.2, 0.3, 0.1, 0.9]))
    noisy = np.eye(4)
    noisy[:3, :3] = (rot + 1e-7 * rng.normal(size=(3, 3))).astype(np.float32)
    _, r, _, err = decompose(noisy)
    assert err < 1e-6
    q = matrix_to_quat(rot)
    assert min(np.abs(r - q).max(), np.abs(r + q).max()) < 1e-6


def test_the_sample_characters_are_in_their_bind_pose_already(shared_data, libroot):
    """Files whose skin matrices all agree are in a bind pose already, even where that frame
    is not the armature's (RiggedSimple's turns 90 degrees about its own axis): nothing moves."""
    for name in ("Fox", "greenman", "RiggedSimple"):
        rec, _ = import_file(libroot, shared_data / "gltf" / f"{name}.glb", name.lower())
        assert _findings(rec, "bind_pose_reset") == [], name


def test_a_posed_avatar_with_quantised_skins_imports_as_its_bind_pose(shared_data, libroot,
                                                                      tmp_path):
    """The avatars' seven skins each fold their mesh's dequantisation into the IBMs, so no
    two share a frame: the pose comes back from the dequantisation's scale, and all agree."""
    source = shared_data / "avatars" / "White_M_1_Busi.glb"
    js, binary = load(source)
    pose_mid_animation(js)
    posed = save(tmp_path / "posed_avatar.glb", js, binary)
    rest, _ = import_file(libroot, source, "rest")
    moved, _ = import_file(libroot, posed, "posed")
    assert _findings(moved, "bind_pose_disagrees") == []
    assert _findings(moved, "bind_pose_reset")
    assert np.abs(_corners(libroot, rest) - _corners(libroot, moved)).max() < 1e-4
    assert errors_of(validate_gltf_bytes(library_glb(libroot, moved))) == []
