"""The procedural face through the re-skin chain: rigged with its morph targets, exported as
named glTF targets that validate, bit-identical in every skin (identity lock), painted by part."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.generator import PART_NAMES, HumanoidParams, generate_humanoid
from reskin.assets.gltf.glb import read_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.library import Library
from reskin.pipeline.series_init import create_demo
from reskin.rigging.face_names import CHANNELS, gltf_face_map
from reskin.rigging.rigged import ensure_rigged, load_rigged
from reskin.skins.identity import IdentityLockError, check_exported, check_same_body
from reskin.skins.make import ensure_skin
from reskin.skins.paint import identity_colors, paint_materials
from reskin.skins.skin_glb import body_arrays
from reskin.skins.wardrobe import load_wardrobe


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = create_demo(tmp_path_factory.mktemp("face") / "s")
    lib = Library(root / ".reskin")
    spec = load_character(root / "cast/mira/character.yaml")
    base, _ = ensure_generated(lib, spec)
    rig = load_rigged(lib, ensure_rigged(lib, base, spec)[0])
    skins = {ep: ensure_skin(lib, rig, spec, load_wardrobe(root / f"cast/mira/{ep}.yaml",
                                                            "mira", ep), 8)[0]
             for ep in ("ep01", "ep02")}
    yield lib, spec, rig, {ep: lib.read_blob(r.blobs["skin.glb"]) for ep, r in skins.items()}, \
        skins
    lib.close()


def test_the_rig_keeps_the_generated_face_targets(made):
    _, spec, rig, _, _ = made
    fresh = generate_humanoid(HumanoidParams(**spec.params))
    assert tuple(rig.mesh.targets) == CHANNELS
    for name in CHANNELS:
        assert np.array_equal(rig.mesh.targets[name], fresh.targets[name]), name
    # The face's pieces ride on the head (no canonical joint of their own): all of each
    # eyeball's weight is on one joint, the head.
    head = rig.skeleton.index("head")
    eye = np.unique(rig.mesh.faces[rig.mesh.parts == PART_NAMES.index("eye_iris")])
    main = rig.joints[eye, np.argmax(rig.weights[eye], axis=1)]
    assert (main == head).all()


def test_the_skin_glb_names_its_targets_and_validates(made):
    _, _, _, glbs, skins = made
    report = validate_gltf_bytes(glbs["ep01"])
    assert errors_of(report) == []
    doc, _ = read_glb(glbs["ep01"])
    body = doc["meshes"][0]
    assert body["extras"]["targetNames"] == list(CHANNELS)
    assert body["weights"] == [0.0] * len(CHANNELS)
    assert len(body["primitives"][0]["targets"]) == len(CHANNELS)
    face = gltf_face_map(doc)
    assert face.conventions == ("reskin",) and face.missing == ()
    assert skins["ep01"].meta["face"]["missing"] == []
    assert skins["ep01"].meta["face"]["visemes"] == 15


def test_targets_are_bit_identical_in_every_skin_and_are_the_rigs(made):
    _, _, rig, glbs, _ = made
    a, b = body_arrays(glbs["ep01"]), body_arrays(glbs["ep02"])
    assert a["targets"].shape == (len(CHANNELS),) + a["position"].shape
    assert a["targets"].tobytes() == b["targets"].tobytes()
    assert list(a["target_names"]) == list(CHANNELS) == list(b["target_names"])
    src = rig.mesh.split_for_export()[0]
    for k, name in enumerate(CHANNELS):
        assert a["targets"][k].tobytes() == rig.mesh.targets[name][src].tobytes(), name


def test_the_identity_lock_refuses_a_changed_face_shape(made):
    _, _, rig, glbs, _ = made
    checked = body_arrays(glbs["ep01"])
    tampered = {k: v.copy() for k, v in checked.items()}
    k = list(CHANNELS).index("happy")
    moved = np.flatnonzero(np.any(tampered["targets"][k] != 0, axis=1))[0]
    tampered["targets"][k, moved, 1] += 1e-4
    with pytest.raises(IdentityLockError, match="face morph targets"):
        check_same_body(tampered, checked, "skin x")
    keep = np.ones(len(rig.mesh.faces), bool)
    check_exported(checked, rig.mesh, rig.skeleton, rig.joints, rig.weights, keep, "body")
    with pytest.raises(IdentityLockError, match="face morph targets"):
        check_exported(tampered, rig.mesh, rig.skeleton, rig.joints, rig.weights, keep, "body")
    renamed = dict(checked, target_names=np.array(["smile"] + list(CHANNELS[1:])))
    with pytest.raises(IdentityLockError, match="face morph targets"):
        check_same_body(renamed, checked, "skin x")


def test_the_modelled_face_is_painted_by_part(made):
    _, spec, rig, _, _ = made
    rgb, _ = paint_materials(rig.position, rig.part, rig.mesh.part_names, rig.skeleton,
                             spec.identity(), None)
    colors = identity_colors(spec.identity())

    def texels(part):
        return rgb[rig.part == PART_NAMES.index(part)].astype(np.float64) / 255

    def near(got, want):
        return np.linalg.norm(got - np.asarray(want), axis=1) < 2.5 / 255

    assert near(texels("eye_sclera"), colors[4]).all() and texels("eye_sclera").mean() > 0.8
    assert near(texels("eye_iris"), colors[2]).all()
    assert near(texels("eye_pupil"), colors[6]).all() and texels("eye_pupil").max() < 0.1
    assert near(texels("brows"), spec.hair).all() and near(texels("hair"), spec.hair).all()
    assert texels("mouth_inner").max() < 0.45
    lid = texels("eyelid")
    lash = near(lid, colors[5])
    assert 0.03 < lash.mean() < 0.3  # a lash line along the upper lids, the rest lid skin
    assert near(lid[~lash], colors[7]).all()
    # The head is skin only: the painted eyes and mouth gave way to the modelled ones.
    assert near(texels("head"), spec.skin_tone).all()


def test_skin_meta_face_is_json(made):
    _, _, _, _, skins = made
    json.dumps(skins["ep02"].meta["face"])
