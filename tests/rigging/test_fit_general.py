"""The joint fit on bodies it was not tuned on: artists' avatars stripped to a static mesh (as a
3D generator delivers them), other proportions and scales, a held prop; partial overrides as
constraints, and per-joint confidence."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.arrays import unpack_arrays
from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.importer import ImportOptions, import_file
from reskin.assets.library import Library
from reskin.assets.normalize import apply
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton
from reskin.rigging.fit_constraints import LOW_CONFIDENCE, fit_with_constraints, joint_confidence
from reskin.rigging.names import map_to_canonical
from reskin.rigging.quality import joint_errors
from reskin.rigging.rig_job import rig_asset
from tests.rigging.strip_rig import strip_rig

AVATARS = ("Asian_F_1_Casual", "Black_F_2_Casual", "White_M_1_Busi")


def _errors(skeleton: Skeleton, reference: dict, height: float) -> dict[str, float]:
    return joint_errors({n: skeleton.heads[i] for i, n in enumerate(skeleton.names)},
                        {k: np.asarray(v) for k, v in reference.items()}, height)


@pytest.mark.parametrize("name", AVATARS)
def test_stripped_avatar_rigs_near_the_artists_joints(shared_data, tmp_path, name):
    static = tmp_path / "static.glb"
    artist = strip_rig(shared_data / "avatars" / f"{name}.glb", static)
    if name == AVATARS[0]:
        assert errors_of(validate_gltf_bytes(static.read_bytes())) == []
    root = tmp_path / ".reskin"
    Library(root, create=True).close()
    rec, _ = import_file(root, static, "avatar", ImportOptions(kind="character"))
    assert rec.meta["skins"] == 0 and rec.meta["textures"] > 0
    assert 1.6 < rec.meta["height"] < 1.9  # upright, in metres
    with Library(root) as lib:
        result = rig_asset(lib, "avatar")  # what `reskin rig avatar` does
        skeleton = Skeleton.from_arrays(unpack_arrays(lib.read_blob(
            result.record.blobs["rig.npz"])))
    matrix = np.array(rec.provenance["normalization"]["matrix"])
    ref = {c: apply(matrix, artist[s][None])[0]
           for c, s in map_to_canonical(list(artist), "mixamo").items()}
    err = _errors(skeleton, ref, rec.meta["height"])
    assert len(err) == 21
    assert np.mean(list(err.values())) <= 0.02, err
    assert max(err.values()) <= 0.05, err
    conf = result.confidence
    assert set(conf) == set(skeleton.names) and all(0 <= c <= 1 for c in conf.values())
    assert result.record.meta["joint_confidence"] == conf
    assert result.record.provenance["joint_confidence"] == conf
    assert min(conf.values()) >= LOW_CONFIDENCE and result.warnings == ()


@pytest.mark.parametrize("params, scale", [
    (HumanoidParams(height=1.1, head_scale=1.4, leg_length=0.42, arm_length=0.37), 1.0),  # child
    (HumanoidParams(head_scale=1.6), 1.0),  # stylised big head
    (HumanoidParams(height=2.1, build=0.8), 1.0),  # tall adult
    (HumanoidParams(), 30.0),  # a file in some other unit
])
def test_other_proportions_and_scales(params, scale):
    m = generate_humanoid(params)
    mesh = Mesh(vertices=m.vertices * scale, faces=m.faces, uvs=m.uvs, uv_faces=m.uv_faces,
                parts=m.parts, part_names=m.part_names)
    report = fit_with_constraints(mesh)
    ref = {k: np.array(v) * scale for k, v in m.meta["landmarks"].items()}
    err = _errors(report.skeleton, ref, params.height * scale)
    assert report.method == "geometric"
    assert np.mean(list(err.values())) < 0.02 and max(err.values()) < 0.05, err
    assert report.low() == []


def _with_box(mesh: Mesh, lo, hi) -> Mesh:
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])], np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    box = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))], np.int32)
    faces = np.concatenate([mesh.faces, box + len(mesh.vertices)])
    verts = np.concatenate([mesh.vertices, corners])
    return Mesh(vertices=verts, faces=faces, uvs=np.zeros((len(verts), 2), np.float32),
                uv_faces=faces, parts=np.zeros(len(faces), np.int16), part_names=("body",))


def test_a_few_given_joints_rescue_a_failed_fit():
    m = generate_humanoid()
    marks = m.meta["landmarks"]
    hand = marks["rightHand"]
    # A staff held in the right hand, down to the ground: the arm has no armpit any more.
    staff = _with_box(m, (hand[0] - 0.02, 0.0, 0.05), (hand[0] + 0.02, hand[1] + 0.3, 0.09))
    with pytest.raises(ValueError, match="arms were not found"):
        fit_with_constraints(staff)
    given = {n: np.array(marks[n]) for n in ("leftHand", "rightHand", "neck")}  # as Mixamo asks
    report = fit_with_constraints(staff, given)
    assert report.method == "template" and "arms were not found" in report.fit_error
    for n, p in given.items():
        np.testing.assert_allclose(report.skeleton.heads[report.skeleton.index(n)], p, atol=1e-6)
        assert report.confidence[n] == 1.0
    err = _errors(report.skeleton, marks, 1.75)
    assert np.mean(list(err.values())) < 0.02 and max(err.values()) < 0.05, err


def test_a_given_joint_pulls_its_neighbours_on_a_good_fit():
    m = generate_humanoid()
    plain = fit_with_constraints(m).skeleton
    i = plain.index("leftHand")
    target = plain.heads[i] + np.array([0.0, 0.06, 0.0])
    moved = fit_with_constraints(m, {"leftHand": target}).skeleton
    shift = np.linalg.norm(moved.heads - plain.heads, axis=1)
    names = moved.names
    np.testing.assert_allclose(moved.heads[i], target, atol=1e-6)
    # The correction fades along the arm and does not reach the other side.
    assert shift[names.index("leftLowerArm")] > shift[names.index("leftUpperArm")] > 0
    assert shift[names.index("rightHand")] < 0.1 * shift[i]
    np.testing.assert_array_equal(moved.tails[names.index("leftLowerArm")], moved.heads[i])


def test_confidence_flags_a_joint_off_the_body():
    m = generate_humanoid()
    sk = fit_with_constraints(m).skeleton
    heads = sk.heads.copy()
    heads[sk.index("leftLowerArm")] += [0.0, 0.0, 0.25]  # an elbow in front of the body
    bad = Skeleton(sk.names, sk.parents, heads, sk.tails)
    conf = dict(zip(sk.names, joint_confidence(m, bad), strict=True))
    assert conf["leftLowerArm"] < LOW_CONFIDENCE
    # Its mirror twin and its child's bone share the doubt; the rest of the body does not.
    near = {"leftLowerArm", "rightLowerArm", "leftHand"}
    assert min(v for k, v in conf.items() if k not in near) >= LOW_CONFIDENCE
    assert conf["leftLowerArm"] == min(conf.values())
