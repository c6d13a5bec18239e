"""The procedural humanoid: a closed, outward, grounded body with parts and a tiled UV atlas."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from reskin.assets.generator import (
    ATLAS_TILES,
    BODY_PARTS,
    GENERATOR_NAME,
    GENERATOR_VERSION,
    PART_NAMES,
    HumanoidParams,
    generate_humanoid,
    texture_tile,
)
from reskin.core.skeleton import HUMANOID_JOINTS

HEIGHT_TOLERANCE = 0.02  # fraction of the requested height
GROUND_TOLERANCE = 1e-3  # metres
TILE = 1.0 / ATLAS_TILES

STOCKY = HumanoidParams(height=1.2, build=1.4, leg_length=0.4, head_scale=1.5, shoulder_width=0.27)


@pytest.fixture(scope="module")
def body():
    return generate_humanoid(HumanoidParams())


@pytest.fixture(scope="module")
def stocky():
    return generate_humanoid(STOCKY)


def _trimesh(mesh, body_only=True):
    faces = mesh.faces
    if body_only:  # the voxel surface without the face's separate pieces
        faces = faces[np.isin(mesh.parts, [PART_NAMES.index(p) for p in BODY_PARTS])]
    return trimesh.Trimesh(mesh.vertices, faces, process=False)


@pytest.mark.parametrize("which", ["body", "stocky"])
def test_closed_outward_and_one_piece(which, request):
    mesh = request.getfixturevalue(which)
    # Every separate piece of the face (eyeballs, lids, brows, lips, teeth) is closed and
    # outward too.
    pieces = _trimesh(mesh, body_only=False).split(only_watertight=False)
    assert len(pieces) == 1 + 13  # 2 eyeballs, 4 lids, 2 brows, 2 lips, 2 teeth, 1 mouth
    assert all(p.is_watertight and p.is_winding_consistent and p.volume > 0 for p in pieces)
    tm = _trimesh(mesh)
    assert tm.is_watertight
    assert tm.is_winding_consistent
    assert tm.volume > 0  # consistent winding with positive volume: normals point outward
    assert len(tm.split(only_watertight=False)) == 1
    assert tm.euler_number == 2  # a sphere-like surface: no handles between limbs
    # The crown's normal points up, the toe tip's forward.
    normals = mesh.vertex_normals
    assert normals[np.argmax(mesh.vertices[:, 1]), 1] > 0.9
    assert normals[np.argmax(mesh.vertices[:, 2]), 2] > 0.9


def test_vertex_budget(body):
    assert 8_000 <= len(body.vertices) <= 32_000
    assert body.vertices.dtype == np.float32 and body.faces.dtype == np.int32


@pytest.mark.parametrize(
    "params", [HumanoidParams(), STOCKY, HumanoidParams(height=1.9, build=0.8, leg_length=0.52)]
)
def test_grounded_centred_and_as_tall_as_asked(params):
    mesh = generate_humanoid(params)
    v = mesh.vertices
    assert abs(v[:, 1].min()) <= GROUND_TOLERANCE
    assert abs(mesh.height - params.height) <= HEIGHT_TOLERANCE * params.height
    assert abs(v[:, 0].max() + v[:, 0].min()) < 1e-3  # symmetric about x = 0
    # The spine is on x = z = 0: the trunk section at chest height is centred there.
    lm = mesh.meta["landmarks"]
    chest = np.abs(v[:, 1] - lm["chest"][1]) < 0.01 * params.height
    trunk = chest & (np.abs(v[:, 0]) < 0.12 * params.height)
    assert abs(v[trunk, 0].mean()) < 0.01 * params.height
    assert abs(v[trunk, 2].mean()) < 0.03 * params.height


def test_t_pose_facing_plus_z(body):
    v, h = body.vertices, body.height
    # Arms horizontal: the span is about the height, hands at shoulder height.
    assert v[:, 0].max() - v[:, 0].min() > 0.9 * h
    hand = np.unique(body.faces[body.parts == PART_NAMES.index("hand_l")])
    assert v[hand, 1].mean() > 0.75 * h
    assert v[hand, 0].min() > 0.3 * h
    # Feet and nose point forward: the body reaches further to +Z than to -Z at both.
    foot = np.unique(body.faces[body.parts == PART_NAMES.index("foot_l")])
    assert v[foot, 2].max() > 2 * -v[foot, 2].min()
    head = np.unique(body.faces[body.parts == PART_NAMES.index("head")])
    assert v[head, 2].max() > -v[head, 2].min() + 0.01 * h  # the nose


def test_deterministic(body):
    again = generate_humanoid(HumanoidParams())
    for name, arr in body.to_arrays().items():
        assert np.array_equal(arr, again.to_arrays()[name]), name
    assert body.meta == again.meta
    assert body.meta["generator"] == GENERATOR_NAME
    assert body.meta["generator_version"] == GENERATOR_VERSION


def test_parts_cover_the_body_where_expected(body):
    assert body.part_names == PART_NAMES
    assert set(np.unique(body.parts)) == set(range(len(PART_NAMES)))
    v, h = body.vertices.astype(np.float64), body.height
    centroid = v[body.faces].mean(axis=1)

    def where(part):
        return centroid[body.parts == PART_NAMES.index(part)].mean(axis=0)

    assert where("head")[1] > where("neck")[1] > where("torso")[1] > where("pelvis")[1]
    assert where("pelvis")[1] > where("thigh_l")[1] > where("shin_l")[1] > where("foot_l")[1]
    for limb in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot"):
        left, right = where(f"{limb}_l"), where(f"{limb}_r")
        assert left[0] > 0 > right[0], limb  # left is +X
        assert np.allclose(left * [-1, 1, 1], right, atol=0.01 * h), limb
    assert where("upper_arm_l")[0] < where("forearm_l")[0] < where("hand_l")[0]


def test_uvs_stay_in_each_parts_tile(body):
    uv = body.uvs[body.uv_faces]  # (m, 3, 2)
    assert body.uvs.min() >= 0 and body.uvs.max() <= 1
    for i, name in enumerate(PART_NAMES):
        u0, v0, u1, v1 = texture_tile(i)
        assert (u0, v0) == pytest.approx(((i % ATLAS_TILES) * TILE, (i // ATLAS_TILES) * TILE))
        corners = uv[body.parts == i].reshape(-1, 2)
        # Inside the tile, off its edges (the bleed margin)...
        assert corners[:, 0].min() > u0 and corners[:, 0].max() < u1, name
        assert corners[:, 1].min() > v0 and corners[:, 1].max() < v1, name
        # ...and the chart uses most of it.
        assert np.ptp(corners[:, 0]) > 0.8 * TILE and np.ptp(corners[:, 1]) > 0.8 * TILE, name


def test_seam_faces_do_not_span_the_tile(body):
    voxel = np.isin(body.parts, [PART_NAMES.index(p) for p in BODY_PARTS])
    uv = body.uvs[body.uv_faces[voxel]]
    span = np.ptp(uv, axis=1).max(axis=1) / TILE
    assert span.max() < 0.7  # even faces around a projection pole stay well inside
    assert np.quantile(span, 0.99) < 0.1
    # The seam really is cut: some faces of every cylindrical chart use split uv corners.
    split = body.split_for_export()[0]
    assert len(split) > len(body.vertices)


def test_landmarks_name_every_joint(body):
    lm = body.meta["landmarks"]
    assert set(lm) == {name for name, _ in HUMANOID_JOINTS}
    assert all(len(p) == 3 and all(isinstance(c, float) for c in p) for p in lm.values())
    assert lm["head"][1] > lm["neck"][1] > lm["chest"][1] > lm["spine"][1] > lm["hips"][1]


def test_bigger_build_is_bigger():
    slim = _trimesh(generate_humanoid(HumanoidParams(build=0.8, voxels_per_height=80)))
    broad = _trimesh(generate_humanoid(HumanoidParams(build=1.3, voxels_per_height=80)))
    assert broad.volume > 1.3 * slim.volume
    assert abs(broad.bounds[1, 1] - slim.bounds[1, 1]) < 0.02  # same height


def test_head_scale_and_legs_move_landmarks():
    small = generate_humanoid(HumanoidParams(voxels_per_height=80))
    big = generate_humanoid(HumanoidParams(head_scale=1.4, leg_length=0.42, voxels_per_height=80))
    assert big.meta["landmarks"]["head"][1] < small.meta["landmarks"]["head"][1]
    assert big.meta["landmarks"]["leftUpperLeg"][1] < small.meta["landmarks"]["leftUpperLeg"][1]


@pytest.mark.parametrize(
    "field, value",
    [
        ("height", -1.0),
        ("height", 12.0),
        ("build", 0.1),
        ("shoulder_width", 0.9),
        ("leg_length", 0.1),
        ("arm_length", 1.0),
        ("head_scale", 0.0),
        ("voxels_per_height", 10),
        ("voxels_per_height", 160.5),
        ("build", float("nan")),
    ],
)
def test_bad_params_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        HumanoidParams(**{field: value})


def test_whole_float_resolution_is_accepted():
    # Character specs parse every parameter as a float.
    assert HumanoidParams(voxels_per_height=120.0).voxels_per_height == 120
    assert isinstance(HumanoidParams(voxels_per_height=120.0).voxels_per_height, int)


def test_no_room_for_a_torso():
    with pytest.raises(ValueError, match="torso"):
        HumanoidParams(head_scale=1.6, leg_length=0.55)


def test_texture_tile_rejects_unknown_part():
    with pytest.raises(ValueError, match="part_index"):
        texture_tile(ATLAS_TILES * ATLAS_TILES)
