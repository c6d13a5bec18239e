"""The penetration check's bind-pose candidates give the KD-tree reference's depths, and a fit
that searches the body once for both the weight transfer and the penetration check gives what
the two searching on their own give."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.library import Library
from reskin.pipeline.series_init import create_demo
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, ProceduralClips, clip_list
from reskin.rigging.rigged import ensure_rigged, load_rigged
from reskin.skins.garment_fit import PENETRATION_FRAMES, _fit
from reskin.skins.garments import bind_garment, build_garment
from reskin.skins.penetration import bind_candidates, garment_penetration, sample_poses
from reskin.skins.wardrobe import load_wardrobe
from tests.skins.penetration_reference import garment_penetration_kdtree

BOUND = 1e-4  # metres: the fast depth may differ from the reference's by at most this


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """mira's rig, the clips' test poses and two garments bound to it: the sample's scarf
    (weights transferred from the body) and a cap (fixed to the head)."""
    root = create_demo(tmp_path_factory.mktemp("pen") / "s")
    spec = load_character(root / "cast/mira/character.yaml")
    with Library(root / ".reskin") as lib:
        base, _ = ensure_generated(lib, spec)
        rig = load_rigged(lib, ensure_rigged(lib, base, spec)[0])
    path = root / "cast/mira/fit.yaml"
    path.write_text("garments:\n  - {mesh: 'procedural:scarf', gap: 0.01}\n"
                    "  - {mesh: 'procedural:cap', bind: joint, joint: head}\n")
    garments = [bind_garment(build_garment(g, rig.mesh, rig.skeleton, None), rig.mesh,
                             rig.skeleton, rig.joints, rig.weights)
                for g in load_wardrobe(path, "mira", "fit").garments]
    poses = sample_poses(rig.skeleton, clip_list(ProceduralClips(rig.skeleton, 24,
                                                                 PROCEDURAL_CLIPS)),
                         PENETRATION_FRAMES)
    return rig, garments, poses


def _both(rig, garments, poses):
    """(fast depths, reference depths); the fast ones with the bind-pose candidates searched
    by the check itself and given by the caller are asserted the same."""
    args = (rig.mesh.vertices, rig.mesh.faces, rig.joints, rig.weights, rig.skeleton,
            garments, ())
    fast = garment_penetration(*args, poses=poses)
    given = [bind_candidates(g.vertices, rig.mesh.vertices, rig.mesh.faces) for g in garments]
    assert garment_penetration(*args, poses=poses, candidates=given) == fast
    return fast, garment_penetration_kdtree(*args, poses=poses)


def test_sample_garments_sink_as_deep_as_the_reference_says(fitted):
    rig, garments, poses = fitted
    assert len(poses) > 5  # the clips' frames, not only the rest pose
    fast, reference = _both(rig, garments, poses)
    assert fast.keys() == reference.keys() == {"scarf", "cap"}
    for name in fast:
        assert abs(fast[name] - reference[name]) <= BOUND, (name, fast, reference)
    assert reference["scarf"] > 0  # the scarf touches the neck: a depth, not a trivial 0


@pytest.mark.parametrize("scale, noise", [(0.9, 0.003), (0.75, 0.01), (1.15, 0.005),
                                          (0.65, 0.02)])
def test_perturbed_and_scaled_garments_match_the_reference(fitted, scale, noise):
    """Shrunk into the body (centimetres deep, the far-vertex path too), grown off it, and
    roughened: each garment on its own and both at once."""
    rig, garments, poses = fitted
    rng = np.random.default_rng(int(scale * 100))
    moved = []
    for g in garments:
        v = np.asarray(g.vertices, np.float64)
        c = v.mean(axis=0)
        moved.append(replace(g, vertices=(c + (v - c) * scale
                                          + rng.normal(0, noise, v.shape)).astype(np.float32)))
    for chosen in ([moved[0]], [moved[1]], moved):
        fast, reference = _both(rig, chosen, poses)
        for name in fast:
            assert abs(fast[name] - reference[name]) <= BOUND, (name, fast, reference)
    if scale < 0.8:
        assert min(reference.values()) > 0.01  # deep enough to warn: the case that matters


def test_a_fit_binds_and_measures_as_the_separate_searches_do(fitted, tmp_path):
    """_fit searches the body once; bind_garment and garment_penetration searching on their
    own give the same weights, matches and depth, for a transferred garment, a joint-bound
    one and a large one (a jacket pushed into the body)."""
    rig, garments, poses = fitted
    path = tmp_path / "jacket.yaml"
    path.write_text("garments:\n  - {mesh: 'procedural:jacket', gap: 0.0, "
                    "offset: [0, 0, -0.04]}\n")
    specs = [g.spec for g in garments] + list(load_wardrobe(path, "mira", "j").garments)
    for spec in specs:
        g = build_garment(spec, rig.mesh, rig.skeleton, None)
        fit = _fit(g, rig, poses)
        bound = bind_garment(g, rig.mesh, rig.skeleton, rig.joints, rig.weights)
        depth = garment_penetration(rig.mesh.vertices, rig.mesh.faces, rig.joints, rig.weights,
                                    rig.skeleton, [bound], (), poses=poses)[spec.name]
        assert np.array_equal(fit["joints"], bound.joints), spec.name
        assert np.array_equal(fit["weights"], bound.weights), spec.name
        assert np.array_equal(fit["matched"], bound.matched), spec.name
        assert fit["depth"][0] == depth, spec.name
    assert depth > 0.01  # the jacket sinks: the depth measured is not a trivial 0
