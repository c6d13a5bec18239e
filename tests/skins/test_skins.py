"""Re-skin jobs for real: identity lock, garments bound to the skeleton, cache, validator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.gltf.glb import read_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.library import Library
from reskin.pipeline.series_init import create_demo
from reskin.rigging.procedural_clips import make_clip
from reskin.rigging.rigged import ensure_rigged, load_rigged
from reskin.rigging.skinning import lbs
from reskin.skins.identity import IdentityLockError, expected_body, kept_faces
from reskin.skins.make import ensure_skin
from reskin.skins.penetration import garment_penetration, pose_matrices
from reskin.skins.skin_glb import body_arrays
from reskin.skins.wardrobe import load_wardrobe

PENETRATION_BOUND = 0.01  # metres: the scarf may not sink more than 1 cm in any clip frame


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = create_demo(tmp_path_factory.mktemp("skins") / "s")
    (root / "cast/mira/ep04.yaml").write_text("base: ep01\nhide: [shoes]\n")
    lib = Library(root / ".reskin")
    spec = load_character(root / "cast/mira/character.yaml")
    base, _ = ensure_generated(lib, spec)
    rig_record, _ = ensure_rigged(lib, base, spec)
    rig = load_rigged(lib, rig_record)
    skins = {}
    for ep in ("ep01", "ep02", "ep03", "ep04"):
        wardrobe = load_wardrobe(root / f"cast/mira/{ep}.yaml", "mira", ep)
        skins[ep], fresh = ensure_skin(lib, rig, spec, wardrobe, 8)
        assert fresh
    yield root, lib, spec, rig, skins
    lib.close()


def glb_of(lib, record) -> bytes:
    return lib.read_blob(record.blobs["skin.glb"])


def test_body_and_skeleton_are_identical_in_every_skin(made):
    _, lib, _, rig, skins = made
    first = body_arrays(glb_of(lib, skins["ep01"]))
    for ep in ("ep02", "ep03"):
        other = body_arrays(glb_of(lib, skins[ep]))
        for key in ("position", "joints", "weights", "joint_translation", "inverse_bind"):
            assert other[key].tobytes() == first[key].tobytes(), (ep, key)
    assert first["position"].tobytes() == np.asarray(rig.mesh.vertices, np.float32)[
        rig.mesh.split_for_export()[0]].tobytes()
    # hidden shoes: the rest of the body is still bit-identical, the feet are gone
    hidden = body_arrays(glb_of(lib, skins["ep04"]))
    keep = kept_faces(rig.mesh, ("foot_l", "foot_r"))
    assert skins["ep04"].meta["hidden"] == ["foot_l", "foot_r"]
    assert hidden["position"].tobytes() == expected_body(rig.mesh, keep)[0].tobytes()
    assert len(hidden["position"]) < len(first["position"])


def test_a_spec_that_moves_the_body_is_refused(made):
    root, lib, spec, rig, _ = made
    path = root / "cast/mira/ep05.yaml"
    path.write_text("base: ep02\npadding: {top: 0.02}\n")
    before = [r.ref for r in lib.list()]
    with pytest.raises(IdentityLockError) as err:
        ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep05"), 8)
    line = err.value.one_line()
    assert "\n" not in line
    assert "ep05.yaml: identity lock: padding.top would move" in line and "cm" in line
    assert [r.ref for r in lib.list()] == before


def test_unchanged_spec_is_a_cache_hit(made):
    root, lib, spec, rig, skins = made
    path = root / "cast/mira/ep03.yaml"
    path.write_text(path.read_text() + "\n# a comment changes nothing\n")
    again, fresh = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep03"), 8)
    assert not fresh and again.ref == skins["ep03"].ref
    # ...but editing the base it inherits from makes a new skin
    base = root / "cast/mira/ep02.yaml"
    base.write_text(base.read_text().replace("#f2f2f2", "#e0e0e0"))
    changed, fresh = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep03"), 8)
    assert fresh and changed.ref == "mira.ep03@2"


def test_every_skin_passes_the_gltf_validator(made):
    _, lib, _, _, skins = made
    for ep, record in skins.items():
        report = validate_gltf_bytes(glb_of(lib, record))
        assert report["issues"]["numErrors"] == 0, (ep, errors_of(report))


def test_scarf_follows_the_body_through_every_clip(made):
    from reskin.pipeline.continuity import garments_of_glb

    _, lib, _, rig, skins = made
    (scarf, _), = garments_of_glb(glb_of(lib, skins["ep03"]), rig)
    meta = skins["ep03"].meta["garments"][0]
    assert meta["name"] == "scarf" and meta["bind"] == "transfer"
    assert 0.05 < meta["matched"] < 1.0  # some vertices were inpainted
    assert meta["penetration_m"] < PENETRATION_BOUND
    neck = rig.skeleton.index("neck")
    rest_offset = scarf.mesh.vertices.mean(axis=0) - rig.skeleton.heads[neck]
    for name in ("idle", "wave", "nod"):
        clip = make_clip(name, rig.skeleton, 8)
        frames = range(clip.frames)
        mats = pose_matrices(rig.skeleton, clip, frames)
        posed = lbs(scarf.mesh.vertices, scarf.joints, scarf.weights, mats)
        # the scarf stays where the neck is: its centre keeps its offset from the neck joint
        neck_at = mats[:, neck, :3, :3] @ rig.skeleton.heads[neck] + mats[:, neck, :3, 3]
        drift = np.linalg.norm(posed.mean(axis=1) - neck_at - rest_offset, axis=1)
        assert drift.max() < 0.02, (name, drift.max())
        # and never sinks into the body by more than the bound
        class G:  # the penetration check takes garments as the job builds them
            spec = type("S", (), {"name": "scarf"})
            vertices, joints, weights = scarf.mesh.vertices, scarf.joints, scarf.weights
        depth = garment_penetration(rig.mesh.vertices, rig.mesh.faces, rig.joints,
                                    rig.weights, rig.skeleton, [G], [clip], clip.frames)
        assert depth["scarf"] < PENETRATION_BOUND, (name, depth)


def test_a_sinking_garment_warns(made):
    root, lib, spec, rig, _ = made
    path = root / "cast/mira/ep06.yaml"
    path.write_text("base: ep01\ngarments:\n  - {mesh: 'procedural:jacket', gap: 0.0, "
                    "offset: [0, 0, -0.04]}\n")
    said = []
    record, _ = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep06"), 8,
                            log=said.append)
    assert record.meta["garments"][0]["penetration_m"] > 0.01
    assert any("garment 'jacket' sinks" in s and "threshold 1 cm" in s for s in said)


def test_greenman_hat_is_parented_to_the_head_joint(made, shared_data):
    root, lib, spec, rig, _ = made
    path = root / "cast/mira/ep07.yaml"
    import shutil

    hat = shutil.copy(shared_data / "gltf" / "greenman_hat.glb", root / "greenman_hat.glb")
    hat = Path(hat).name  # a series names its files relative to its folder, inside it
    path.write_text(f"base: ep01\ngarments:\n  - {{mesh: '{hat}', bind: joint, joint: head, "
                    "size: 0.32, offset: [0, 0.24, 0], name: hat}\n")
    record, _ = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep07"), 8)
    glb = glb_of(lib, record)
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    doc, _ = read_glb(glb)
    head_node = doc["skins"][0]["joints"][rig.skeleton.index("head")]
    hat_node = next(i for i, n in enumerate(doc["nodes"]) if n.get("name") == "hat")
    assert hat_node in doc["nodes"][head_node]["children"] and "skin" not in doc["nodes"][hat_node]
    assert doc["images"][-1]["mimeType"] == "image/png"  # the hat keeps its own texture
    assert record.meta["garments"][0]["penetration_m"] < PENETRATION_BOUND


def test_cached_body_gives_the_same_skin_and_a_bad_cache_is_a_miss(made):
    from reskin.skins import body_cache
    from reskin.skins.make import make_skin_glb

    root, lib, spec, rig, _ = made
    wardrobe = load_wardrobe(root / "cast/mira/ep01.yaml", "mira", "ep01")
    body_cache.clear_memory()
    warm = make_skin_glb(lib, rig, spec, wardrobe, 8)[0]  # body from the library's cache
    files = list((lib.root / "cache" / "skin-body").rglob("*.bin"))
    assert files
    for f in files:  # a corrupt cache file is made again, never trusted
        f.write_bytes(f.read_bytes()[:-10] + b"0123456789")
    body_cache.clear_memory()
    cold = make_skin_glb(lib, rig, spec, wardrobe, 8)[0]
    assert warm == cold
    body_cache.clear_memory()
    assert make_skin_glb(lib, rig, spec, wardrobe, 8)[0] == cold
    assert validate_gltf_bytes(cold)["issues"]["numErrors"] == 0


@pytest.mark.parametrize("text", [
    "regions:\n  top: {color: '#b8322a', pattern: stripes, pattern_color: '#f3efe6', "
    "scale: 0.08}\n  bottoms: {color: '#1f2a44', pattern: checks, pattern_color: '#0f1a34', "
    "scale: 0.1, roughness: 0.3, metallic: 0.2}\nsleeves: short\n",
    "regions:\n  shoes: {color: '#3a2a1e'}\n  top: {color: '#ff0000'}\n"
    "palette: {'#ff0000': '#00ff00'}\n",
])
def test_palette_painting_is_texel_painting_exactly(made, text):
    from reskin.skins.paint import _paint_texels, paint_indexed

    root, _, spec, rig, _ = made
    path = root / "cast/mira/paint-check.yaml"
    path.write_text(text)
    wardrobe = load_wardrobe(path, "mira", "paint-check")
    args = (rig.position, rig.part, rig.mesh.part_names, rig.skeleton, spec.identity(), wardrobe)
    assert rig.position.dtype == np.float16  # the rig's atlas as stored
    base, mr = paint_indexed(*args)
    texels, texel_mr = _paint_texels(*args)
    assert np.array_equal(base.rgb(), texels)
    assert (mr is None) == (texel_mr is None)
    if mr is not None:
        assert np.array_equal(mr.rgb(), texel_mr)
    assert len(np.unique(base.labels)) >= 6  # identity, clothes and pattern colours all there
    # and the palette PNG the skin stores decodes to exactly that image
    import io

    from PIL import Image

    from reskin.skins.make import _png_indexed

    decoded = np.asarray(Image.open(io.BytesIO(_png_indexed(base.labels, base.palette)))
                         .convert("RGB"))
    assert np.array_equal(decoded, texels)


def test_a_garment_is_fitted_once_per_rig_and_reused_by_later_episodes(made):
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, ProceduralClips
    from reskin.skins.garment_fit import PENETRATION_FRAMES, clear_memory, fit_garments
    from reskin.skins.garments import build_garment

    root, lib, spec, rig, skins = made
    clips = ProceduralClips(rig.skeleton, 8, PROCEDURAL_CLIPS)  # as the job names them

    def fit(text: str):
        path = root / "cast/mira/fit-check.yaml"
        path.write_text(text)
        wardrobe = load_wardrobe(path, "mira", "fit-check")
        garments = [build_garment(g, rig.mesh, rig.skeleton, None) for g in wardrobe.garments]
        clear_memory()  # from the library's cache, as a fresh process would
        return fit_garments(lib, garments, rig, clips, PENETRATION_FRAMES)

    # ep03 (made by the fixture) fitted this scarf; a new colour is the same fit, from cache
    (scarf,), depth, fitted = fit("garments:\n  - {mesh: 'procedural:scarf', "
                                  "color: '#123456', gap: 0.01}\n")
    assert fitted == 0
    assert abs(depth["scarf"] - skins["ep03"].meta["garments"][0]["penetration_m"]) < 1e-5
    # a scarf further off the body is other geometry: fitted afresh
    (looser,), _, fitted = fit("garments:\n  - {mesh: 'procedural:scarf', gap: 0.02}\n")
    assert fitted == 1 and not np.array_equal(looser.weights, np.zeros_like(looser.weights))
    # a damaged cache file is a miss, fitted again to the same answer
    for f in (lib.root / "cache" / "garment-fit").rglob("*.bin"):
        f.write_bytes(f.read_bytes()[:-7] + b"garbage")
    (again,), depth2, fitted = fit("garments:\n  - {mesh: 'procedural:scarf', "
                                   "color: '#123456', gap: 0.01}\n")
    assert fitted == 1
    assert np.array_equal(again.weights, scarf.weights) and depth2 == depth


def test_the_fits_test_poses_are_kept_and_read_back_to_the_bit(made):
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, ProceduralClips, clip_list
    from reskin.skins.garment_fit import PENETRATION_FRAMES, _poses
    from reskin.skins.penetration import sample_poses

    _, lib, _, rig, _ = made
    clips = ProceduralClips(rig.skeleton, 8, PROCEDURAL_CLIPS)
    made_now = sample_poses(rig.skeleton, clip_list(clips), PENETRATION_FRAMES)
    first = _poses(lib, rig, clips, PENETRATION_FRAMES)  # made, or kept by an earlier fit
    fresh = ProceduralClips(rig.skeleton, 8, PROCEDURAL_CLIPS)
    kept = _poses(lib, rig, fresh, PENETRATION_FRAMES)
    assert np.array_equal(first, made_now) and np.array_equal(kept, made_now)
    assert "clips" not in fresh.__dict__  # read back: the clips were never made
    for f in (lib.root / "cache" / "garment-fit").rglob("*.bin"):  # damaged: made again
        f.write_bytes(f.read_bytes()[:-7] + b"garbage")
    assert np.array_equal(_poses(lib, rig, ProceduralClips(rig.skeleton, 8, PROCEDURAL_CLIPS),
                                 PENETRATION_FRAMES), made_now)


@pytest.mark.parametrize("deepest", [0.006, 0.03, 0.07])
def test_penetration_depth_is_the_distance_of_the_deepest_vertex(made, deepest):
    """Against a brute-force closest point: points pushed ``deepest`` metres into the torso
    (and some left outside) at rest; 7 cm is past ``CLOSE``, the far-vertex path."""
    import trimesh

    from reskin.skins.penetration import CLOSE

    _, _, _, rig, _ = made
    body = trimesh.Trimesh(rig.mesh.vertices, rig.mesh.faces, process=False)
    torso = np.flatnonzero((rig.mesh.parts == rig.mesh.part_names.index("torso"))
                           & (np.abs(body.face_normals[:, 2]) > 0.9))  # its front and back
    rng = np.random.default_rng(7)
    face = rng.choice(torso, 120)
    bary = rng.dirichlet(np.ones(3), len(face))
    surface = np.einsum("fk,fkd->fd", bary, body.vertices[body.faces[face]])
    offset = rng.uniform(-deepest, 0.02, len(face))
    offset[0] = -deepest
    points = surface + body.face_normals[face] * offset[:, None]
    _, dist, _ = trimesh.proximity.closest_point_naive(body, points)
    expected = dist[offset < 0].max()  # every pushed-in point is inside the thick torso

    class G:  # a garment of loose points, skinned like the body at their surface point
        spec = type("S", (), {"name": "dots"})
        vertices = points.astype(np.float32)
        joints = rig.joints[body.faces[face, 0]]
        weights = rig.weights[body.faces[face, 0]]

    depth = garment_penetration(rig.mesh.vertices, rig.mesh.faces, rig.joints, rig.weights,
                                rig.skeleton, [G], [], 4)["dots"]
    assert deepest < CLOSE or deepest > CLOSE + 0.02  # each case is one path or the other
    assert abs(depth - expected) < 1e-6, (depth, expected)


def _garment_of(glb: bytes, name: str) -> dict:
    """A garment primitive's arrays and its base-colour image, straight from the GLB."""
    import io

    from PIL import Image

    from reskin.assets.gltf.accessors import accessor_array

    doc, binary = read_glb(glb)
    mesh = next(m for m in doc["meshes"] if m["name"] == name)
    prim = mesh["primitives"][0]
    out = {k: accessor_array(doc, binary, prim["attributes"][a]) for k, a in (
        ("position", "POSITION"), ("uv", "TEXCOORD_0"), ("joints", "JOINTS_0"),
        ("weights", "WEIGHTS_0"))}
    out["faces"] = accessor_array(doc, binary, prim["indices"]).reshape(-1, 3)
    pbr = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    image = doc["images"][doc["textures"][pbr["baseColorTexture"]["index"]]["source"]]
    view = doc["bufferViews"][image["bufferView"]]
    png = bytes(binary[view.get("byteOffset", 0):view.get("byteOffset", 0) + view["byteLength"]])
    out["image"] = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return out


def test_a_striped_scarf_without_uvs_is_unwrapped_and_painted(made):
    from reskin.rigging.procedural_clips import make_clip as clip_of

    root, lib, spec, rig, _ = made
    path = root / "cast/mira/ep08.yaml"
    path.write_text("base: ep01\ngarments:\n  - {mesh: 'procedural:scarf', color: '#c01020', "
                    "pattern: stripes, pattern_color: '#f0f0f0', scale: 0.02}\n")
    record, _ = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep08"), 8)
    glb = glb_of(lib, record)
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    scarf = _garment_of(glb, "scarf")
    # Points all over the surface, looked up in the baked texture through their UVs, wear the
    # stripe their rest-pose height falls in (red below, white above each 1 cm boundary).
    v, uv, f, img = scarf["position"], scarf["uv"], scarf["faces"], scarf["image"]
    bary = np.random.default_rng(3).dirichlet(np.ones(3), (len(f), 8))  # (h, 8, 3)
    point = np.einsum("hsk,hkd->hsd", bary, v[f]).reshape(-1, 3)
    at = np.einsum("hsk,hkd->hsd", bary, uv[f]).reshape(-1, 2)
    h, w = img.shape[:2]
    texel = img[np.clip((at[:, 1] * h).astype(int), 0, h - 1),
                np.clip((at[:, 0] * w).astype(int), 0, w - 1)].astype(int)
    white = np.floor(point[:, 1] / 0.01).astype(int) % 2 == 1
    expected = np.where(white[:, None], [240, 240, 240], [192, 16, 32])
    # a texel spans about a millimetre: judge the points clear of a stripe's edge
    clear = np.abs(point[:, 1] / 0.01 - np.round(point[:, 1] / 0.01)) > 0.15
    close = np.abs(texel - expected).max(axis=1) <= 2
    assert clear.sum() > 3000 and close[clear].mean() > 0.99, close[clear].mean()
    assert white[clear].mean() > 0.3 and (~white[clear]).mean() > 0.3
    # Unwrapping split vertices along seams; the copies move together in every pose.
    clip = clip_of("wave", rig.skeleton, 8)
    posed = lbs(v, scarf["joints"], scarf["weights"],
                pose_matrices(rig.skeleton, clip, range(0, clip.frames, 4)))
    _, first, inverse = np.unique(v, axis=0, return_index=True, return_inverse=True)
    assert len(first) < len(v)  # there are seams
    assert np.abs(posed - posed[:, first[inverse.ravel()]]).max() < 1e-6


def test_a_garment_texture_is_tiled_over_it_and_tinted(made):
    from PIL import Image

    root, lib, spec, rig, _ = made
    cells = np.array([[[255, 255, 255], [40, 200, 40]], [[40, 40, 220], [250, 200, 0]]],
                     np.uint8)  # 2x2 cells of four colours
    Image.fromarray(cells).save(root / "knit.png")
    path = root / "cast/mira/ep11.yaml"
    path.write_text("base: ep01\ngarments:\n  - {mesh: 'procedural:scarf', color: '#ffffff', "
                    "texture: knit.png, scale: 0.05}\n")
    record, _ = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep11"), 8)
    glb = glb_of(lib, record)
    assert validate_gltf_bytes(glb)["issues"]["numErrors"] == 0
    scarf = _garment_of(glb, "scarf")
    v, uv, f, img = scarf["position"], scarf["uv"], scarf["faces"], scarf["image"]
    bary = np.random.default_rng(5).dirichlet(np.ones(3), (len(f), 8))
    point = np.einsum("hsk,hkd->hsd", bary, v[f]).reshape(-1, 3)
    at = np.einsum("hsk,hkd->hsd", bary, uv[f]).reshape(-1, 2)
    h, w = img.shape[:2]
    texel = img[np.clip((at[:, 1] * h).astype(int), 0, h - 1),
                np.clip((at[:, 0] * w).astype(int), 0, w - 1)].astype(int)
    # The wrap-around projection: u along x + z, v down the height, one tile per 5 cm.
    u = np.mod((point[:, 0] + point[:, 2]) / 0.05, 1.0) * 2
    t = np.mod(-point[:, 1] / 0.05, 1.0) * 2
    expected = cells[t.astype(int) % 2, u.astype(int) % 2].astype(int)
    clear = (np.abs(u - np.round(u)) > 0.1) & (np.abs(t - np.round(t)) > 0.1)
    close = np.abs(texel - expected).max(axis=1) <= 3
    assert clear.sum() > 2000 and close[clear].mean() > 0.98, close[clear].mean()
    assert len(np.unique(expected[clear], axis=0)) == 4  # every cell shows up


PATHOLOGICAL = ("cycloidal_nonmanifold.ply", "joined_tetrahedra_dupface.obj",
                "large_block_obb_far_from_origin.STL", "nancolor.obj", "notenoughindices.obj",
                "soup.stl")


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_a_bad_mesh_worn_as_a_painted_accessory_still_makes_a_valid_skin(made, shared_data,
                                                                         name):
    """Non-manifold, duplicated, degenerate, far-off or triangle-soup garments are bound,
    checked for penetration (0 for one out of the body's reach), unwrapped and painted."""
    import shutil

    root, lib, spec, rig, _ = made
    shutil.copy(shared_data / "meshes" / "pathological" / name, root / name)
    path = root / "cast/mira/ep14.yaml"
    path.write_text(f"base: ep01\ngarments:\n  - {{mesh: '{name}', bind: joint, joint: head, "
                    "size: 0.2, name: thing, pattern: stripes, scale: 0.04}\n")
    record, _ = ensure_skin(lib, rig, spec, load_wardrobe(path, "mira", "ep14"), 8)
    report = validate_gltf_bytes(glb_of(lib, record))
    assert report["issues"]["numErrors"] == 0, errors_of(report)
    assert record.meta["garments"][0]["penetration_m"] >= 0.0
