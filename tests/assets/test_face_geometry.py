"""The procedural face: its pieces, its canonical shapes, face parameters, hair styles, and the
morph targets' round trip through the mesh arrays and the character file."""

from __future__ import annotations

import time

import numpy as np
import pytest

from reskin.assets.character_spec import load_character
from reskin.assets.face_geometry import CHANNEL_CONTROLS, FEATURE_PARTS, GAZE_DEG
from reskin.assets.generator import PART_NAMES, HumanoidParams, generate_humanoid
from reskin.assets.hair import HAIR_STYLES
from reskin.core.errors import ReskinError
from reskin.core.mesh import Mesh
from reskin.rigging.face_names import CHANNELS, face_map

LOW = 96  # voxels per height for the tests that compare several bodies


@pytest.fixture(scope="module")
def body() -> Mesh:
    return generate_humanoid(HumanoidParams(height=1.68, build=0.95))


def _verts_of(mesh: Mesh, *parts: str) -> np.ndarray:
    ids = [PART_NAMES.index(p) for p in parts]
    return np.unique(mesh.faces[np.isin(mesh.parts, ids)])


def _moved(mesh: Mesh, name: str) -> np.ndarray:
    return np.flatnonzero(np.any(mesh.targets[name] != 0, axis=1))


def _side(mesh: Mesh, vids: np.ndarray, sign: int) -> np.ndarray:
    return vids[np.sign(mesh.vertices[vids, 0]) == sign]


def test_channel_controls_follow_the_canonical_channels():
    assert tuple(CHANNEL_CONTROLS) == CHANNELS


def test_the_body_has_the_face_parts_and_every_canonical_target(body):
    present = {body.part_names[i] for i in np.unique(body.parts)}
    assert set(FEATURE_PARTS) | {"head", "hair"} <= present
    assert tuple(body.targets) == CHANNELS
    for name, d in body.targets.items():
        assert d.shape == body.vertices.shape and d.dtype == np.float32, name
        if name != "sil":  # the rest mouth: no offsets
            assert np.abs(d).max() > 1e-3, name
    # Named 1:1 as the canonical face: every channel maps to its own target.
    fm = face_map({"body": list(body.targets)})
    assert fm.conventions == ("reskin",) and fm.missing == ()
    assert all(fm.channels[c] == (("body", i, 1.0),) for i, c in enumerate(CHANNELS))


def test_eyes_sit_in_the_face_and_the_pupil_faces_forward(body):
    eye = np.asarray(body.meta["face"]["eye_left"])
    r = body.meta["face"]["eye_radius"]
    pupil = _side(body, _verts_of(body, "eye_pupil"), 1)
    sclera = _side(body, _verts_of(body, "eye_sclera"), 1)
    assert np.allclose(np.linalg.norm(body.vertices[sclera] - eye, axis=1), r, rtol=1e-3)
    front = body.vertices[pupil].mean(axis=0) - eye
    assert front[2] > 0.9 * r and abs(front[0]) < 0.2 * r and abs(front[1]) < 0.2 * r
    assert body.meta["face"]["eye_right"] == [-eye[0], eye[1], eye[2]]


@pytest.mark.parametrize("name, sign", [("blinkLeft", 1), ("blinkRight", -1)])
def test_a_blink_moves_only_its_lids_and_closes_them_over_the_eye(body, name, sign):
    lids = _side(body, _verts_of(body, "eyelid"), sign)
    moved = _moved(body, name)
    assert set(moved) <= set(lids) and len(moved) > 0.5 * len(lids)
    key = "eye_left" if sign > 0 else "eye_right"
    eye, r = np.asarray(body.meta["face"][key]), body.meta["face"]["eye_radius"]
    eyeball_front = eye[2] + r
    closed = body.vertices[lids] + body.targets[name][lids]
    open_ = body.vertices[lids]

    def over_the_pupil(v):  # lid points straight in front of the eye's centre
        return v[(np.abs(v[:, 0] - eye[0]) < 0.25 * r) & (np.abs(v[:, 1] - eye[1]) < 0.25 * r)]

    assert len(over_the_pupil(open_)) == 0  # open: the pupil is uncovered
    cover = over_the_pupil(closed)
    assert len(cover) > 0 and cover[:, 2].min() > eyeball_front  # shut: the lid is in front


@pytest.mark.parametrize("name, axis, sign", [("lookLeft", 0, 1), ("lookRight", 0, -1),
                                              ("lookUp", 1, 1), ("lookDown", 1, -1)])
def test_a_look_rotates_both_eyeballs_about_their_centres_and_nothing_else(body, name, axis,
                                                                           sign):
    balls = _verts_of(body, "eye_sclera", "eye_iris", "eye_pupil")
    moved = _moved(body, name)
    assert set(moved) == set(balls)
    r = body.meta["face"]["eye_radius"]
    for key, s in (("eye_left", 1), ("eye_right", -1)):
        eye = np.asarray(body.meta["face"][key])
        ball = _side(body, balls, s)
        posed = body.vertices[ball] + body.targets[name][ball]
        assert np.allclose(np.linalg.norm(posed - eye, axis=1), r, rtol=1e-3)  # a rotation
        pupil = _side(body, _verts_of(body, "eye_pupil"), s)
        before = body.vertices[pupil].mean(axis=0) - eye
        after = (body.vertices[pupil] + body.targets[name][pupil]).mean(axis=0) - eye
        angle = np.degrees(np.arctan2(after[axis], after[2]) - np.arctan2(before[axis],
                                                                          before[2]))
        assert sign * angle == pytest.approx(GAZE_DEG, abs=1.0), key  # both eyes alike


def test_mouth_shapes_move_the_mouth_and_the_jaw_opens_the_chin(body):
    mouth = set(_verts_of(body, "lips", "mouth_inner", "teeth"))
    head = set(_verts_of(body, "head"))
    for name in ("aa", "O", "E", "jawOpen", "PP", "SS"):
        moved = set(_moved(body, name))
        assert moved & mouth and moved <= mouth | head, name
    chin = np.array(sorted(set(_moved(body, "jawOpen")) & head))
    assert len(chin) > 20 and (body.targets["jawOpen"][chin, 1] < 0).all()
    # aa opens the lips: the lower lip's lowest point drops by centimetres.
    lips = np.array(sorted(_verts_of(body, "lips")))
    opened = body.vertices[lips] + body.targets["aa"][lips]
    drop = body.vertices[lips, 1].min() - opened[:, 1].min()
    assert drop > 0.01
    # happy lifts the mouth's corners.
    corners = lips[np.abs(body.vertices[lips, 0]) > 0.8 * np.abs(body.vertices[lips, 0]).max()]
    assert body.targets["happy"][corners, 1].mean() > 0.003
    assert body.targets["sad"][corners, 1].mean() < -0.002


def test_brow_shapes_move_only_the_brows_and_emotions_combine_features(body):
    brows = set(_verts_of(body, "brows"))
    assert set(_moved(body, "browUp")) == brows
    assert (body.targets["browUp"][list(brows), 1] > 0).all()
    assert (body.targets["browDown"][list(brows), 1] < 0).all()
    surprised = set(_moved(body, "surprised"))
    assert brows <= surprised and surprised & set(_verts_of(body, "lips"))


def test_two_face_parameter_sets_give_two_faces():
    a = generate_humanoid(HumanoidParams(voxels_per_height=LOW))
    b = generate_humanoid(HumanoidParams(voxels_per_height=LOW, eye_size=1.3, eye_spacing=1.2,
                                         nose=1.5, jaw_width=1.25, lip_fullness=1.5,
                                         brow_weight=1.7))
    fa, fb = a.meta["face"], b.meta["face"]
    assert fb["eye_radius"] > 1.25 * fa["eye_radius"]
    assert fb["eye_left"][0] > 1.15 * fa["eye_left"][0]

    def extent(m, part, axis):
        v = m.vertices[_verts_of(m, part)]
        return float(np.ptp(v[:, axis]))

    assert extent(b, "lips", 1) > 1.3 * extent(a, "lips", 1)  # fuller lips
    assert extent(b, "brows", 1) > 1.4 * extent(a, "brows", 1)  # heavier brows
    # A wider jaw: the head is wider at the mouth; a bigger nose reaches further forward.
    for m in (a, b):
        head = m.vertices[_verts_of(m, "head")]
        y_m = m.meta["face"]["mouth"][1]
        m.meta["jaw"] = float(np.ptp(head[np.abs(head[:, 1] - y_m) < 0.01, 0]))
        m.meta["nose"] = float(head[:, 2].max())
    assert b.meta["jaw"] > a.meta["jaw"] + 0.015
    assert b.meta["nose"] > a.meta["nose"] + 0.005


@pytest.mark.parametrize("style", HAIR_STYLES)
def test_every_hair_style_is_its_own_part_on_the_head(style):
    m = generate_humanoid(HumanoidParams(voxels_per_height=LOW, hair_style=style))
    hair = m.vertices[_verts_of(m, "hair")]
    head = m.vertices[_verts_of(m, "head")]
    assert len(hair) > 100
    assert hair[:, 1].max() > head[:, 1].max()  # over the crown
    assert hair[:, 1].min() > 0.6 * m.height  # and nowhere else
    reach = {"short": (0, 0), "bob": (1, 0), "long": (1, 1), "ponytail": (0, 1), "bun": (0, 0)}
    low, back = reach[style]
    chin = m.meta["face"]["mouth"][1] - 0.015
    if low:  # bob and long hair fall past the mouth
        assert hair[:, 1].min() < chin
    if back:  # long hair and a ponytail hang behind the neck
        assert hair[:, 2].min() < head[:, 2].min() - 0.03


def test_bad_face_parameters_name_the_field():
    for field, value in (("eye_size", 3.0), ("nose", 0.1), ("jaw_width", 2.0),
                         ("lip_fullness", 0.0), ("brow_weight", 5.0), ("eye_spacing", 0.5),
                         ("hair_style", "mohawk")):
        with pytest.raises(ValueError, match=field):
            HumanoidParams(**{field: value})


def test_mesh_arrays_keep_the_targets_and_store_them_sparsely(body):
    arrays = body.to_arrays()
    again = Mesh.from_arrays(arrays)
    assert tuple(again.targets) == tuple(body.targets)
    for name, d in body.targets.items():
        assert np.array_equal(again.targets[name], d), name
    stored = sum(a.nbytes for k, a in arrays.items() if k.startswith("targets."))
    dense = sum(d.nbytes for d in body.targets.values())
    assert stored < 0.25 * dense
    assert Mesh.from_arrays({k: a for k, a in arrays.items()
                             if not k.startswith("targets.")}).targets == {}
    with pytest.raises(ValueError, match="target 'x'"):
        Mesh(body.vertices, body.faces, body.uvs, body.uv_faces, body.parts, body.part_names,
             targets={"x": np.zeros((3, 3), np.float32)})


def test_generation_stays_fast():
    start = time.perf_counter()
    generate_humanoid(HumanoidParams(height=1.84, build=1.15, shoulder_width=0.25))
    assert time.perf_counter() - start < 5.0


def test_character_file_takes_a_hair_style_and_face_parameters(tmp_path):
    path = tmp_path / "cast" / "ana" / "character.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("generator: humanoid\nparams:\n  eye_size: 1.2\n  nose: 0.8\n"
                    "hair: {style: ponytail, color: '#402010'}\n")
    spec = load_character(path)
    assert spec.params == {"eye_size": 1.2, "nose": 0.8, "hair_style": "ponytail"}
    assert spec.hair == pytest.approx((0x40 / 255, 0x20 / 255, 0x10 / 255))
    path.write_text("generator: humanoid\nhair: '#402010'\n")  # a colour alone, as before
    assert load_character(path).params == {}
    path.write_text("generator: humanoid\nhair: {style: mohawk}\n")
    with pytest.raises(ReskinError) as err:
        load_character(path)
    assert "hair.style" in err.value.one_line() and "mohawk" in err.value.one_line()
    path.write_text("generator: humanoid\nparams:\n  lip_fullness: 4\n")
    with pytest.raises(ReskinError) as err:
        load_character(path)
    assert "lip_fullness must be in" in err.value.one_line()
