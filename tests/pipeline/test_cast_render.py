"""Imported characters in a built episode, through real Blender: a rigged avatar (own rig) and a
skeleton-stripped one (auto rig) beside the procedural character; their shirts change colour
between episodes while their faces stay the person's, and their hands follow the wrists."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reskin.assets.gltf.read import as_float
from reskin.assets.gltf.scene import (
    sample_animation,
    skin_matrices,
    skinned_positions,
    world_matrices,
)
from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.assets.library import Library
from reskin.core.transforms import trs_matrix
from reskin.pipeline.build import build
from reskin.render.passes import read_shot_passes
from reskin.rigging.file_rig import read_model
from reskin.rigging.rigged import load_rigged
from tests.conftest import SHARED_DATA
from tests.render.series import sample_cast_series
from tests.rigging.strip_rig import strip_rig
from tests.scenes.test_compile_framing import project

SERIES = """\
name: imported cast
resolution: [108, 192]
fps: 4
render: {engine: cycles, samples: 4, passes: [instance]}
style: {stylizer: none}
"""
EPISODE = """\
shots:
  - id: two
    duration: 0.25
    cast:
      - {character: hana, position: [-0.45, 0], clip: idle}
      - {character: ken, position: [0.45, 0], clip: idle}
    camera: {framing: two-shot}
    lights: three-point
  - id: trio
    duration: 0.25
    cast:
      - {character: mira, position: [0, 0]}
      - {character: hana, position: [-0.8, 0.2]}
      - {character: ken, position: [0.8, 0.2]}
    camera: {framing: wide}
  - id: enter
    duration: 1.5
    cast:
      - character: hana
        position: [-1.6, 0]
        actions: [{do: walk, to: [-0.4, 0]}]
      - {character: ken, position: [0.6, 0]}
    camera: {framing: wide}
"""
WARDROBES = {"ep01": {"hana": "#c0392b", "ken": "#2e86c1"},
             "ep02": {"hana": "#27ae60", "ken": "#f1c40f"}}


GARMENTS = {
    "ep01": {"hana": "", "ken": ""},
    # A bag in hana's left hand (bound to the joint) and a belt around ken's waist (bound to
    # the body by weight transfer): garments on imported characters.
    "ep02": {"hana": "garments:\n  - {name: bag, mesh: models/bag.obj, bind: joint, joint: "
                     "leftHand, offset: [0.06, -0.08, 0], color: '#6e4b2a'}\n",
             "ken": "garments:\n  - {name: belt, mesh: models/belt.obj, bind: transfer, "
                    "color: '#222222'}\n"},
}


def _garment_files(models: Path) -> None:
    import trimesh

    bag = trimesh.creation.box(extents=(0.06, 0.12, 0.16))
    bag.export(models / "bag.obj")
    ken = trimesh.load(models / "ken_static.glb", force="mesh")
    v = ken.vertices[:, [0, 2, 1]] * [1, -1, 1] if np.ptp(ken.vertices[:, 2]) > np.ptp(
        ken.vertices[:, 1]) else ken.vertices  # glTF is Y-up; be safe either way
    y = v[:, 1].min() + 0.56 * np.ptp(v[:, 1])
    ring = v[np.abs(v[:, 1] - y) < 0.02]
    centre = ring.mean(axis=0)
    radius = float(np.linalg.norm((ring - centre)[:, [0, 2]], axis=1).max()) + 0.015
    belt = trimesh.creation.annulus(r_min=radius, r_max=radius + 0.01, height=0.06)
    belt.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]))
    belt.apply_translation([centre[0], y, centre[2]])
    belt.export(models / "belt.obj")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = sample_cast_series(tmp_path_factory.mktemp("cast") / "s", SERIES, EPISODE)
    (root / "episodes" / "ep02.yaml").write_text(EPISODE)
    models = root / "models"
    models.mkdir()
    shutil.copy(SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb", models / "hana.glb")
    strip_rig(SHARED_DATA / "avatars" / "White_M_1_Busi.glb", models / "ken_static.glb")
    _garment_files(models)
    cast = {"hana": "source: models/hana.glb\n",
            "ken": "source: models/ken_static.glb\nlicense: MIT\nauthor: Tiffany Do\n"}
    for name, text in cast.items():
        (root / "cast" / name).mkdir()
        (root / "cast" / name / "character.yaml").write_text(text)
        for ep, colours in WARDROBES.items():
            (root / "cast" / name / f"{ep}.yaml").write_text(
                f"regions:\n  top: {{color: '{colours[name]}'}}\n" + GARMENTS[ep][name])
    from click.testing import CliRunner

    from reskin.cli import main

    walk = SHARED_DATA / "bvh" / "cmu_12_03_walk.bvh"
    result = CliRunner().invoke(main, ["clip", "import", str(walk), "--name", "walk", "-s",
                                       str(root)])
    assert result.exit_code == 0, result.output
    report = build(root)
    return root, report


def _shot(root: Path, episode: str, shot: str):
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        if plan["name"] == f"{episode}/{shot}":
            beauty = np.asarray(Image.open(render / "beauty_0000.png").convert("RGBA"),
                                np.float32) / 255
            passes = read_shot_passes(sorted(render.glob("passes_*.exr")), [plan["camera"]])
            return plan, beauty, passes["instance"][0]
    raise AssertionError(f"no render of {episode}/{shot}")


def test_imported_characters_stand_where_the_framing_puts_them(built):
    root, _ = built
    plan, beauty, inst = _shot(root, "ep01", "two")
    cols = np.arange(inst.shape[1])
    hana, ken = inst == 1, inst == 2
    assert hana.sum() > 400 and ken.sum() > 400
    assert cols[np.nonzero(hana)[1]].mean() < inst.shape[1] / 2 < cols[np.nonzero(ken)[1]].mean()
    # Textured, not a flat silhouette: the avatar's pixels vary.
    assert beauty[hana][:, :3].std(axis=0).mean() > 0.04
    _, _, trio = _shot(root, "ep01", "trio")
    assert all((trio == k).sum() > 100 for k in (1, 2, 3))


def _head_pixels(root: Path, plan: dict, inst: np.ndarray, member: int, name: str):
    """Pixels of cast member ``member`` within a head's radius of its head joint's image."""
    with Library(root / ".reskin") as lib:
        skin = lib.get(plan["cast"][member - 1]["key"])
        rig = load_rigged(lib, lib.get(skin.meta["character"]))
    sk = rig.skeleton
    head = sk.heads[sk.index("head")].astype(np.float64) + [0, 0.08, 0]
    head = head + np.array(plan["cast"][member - 1]["position"])
    h, w = inst.shape
    x, y = project(plan["camera"], head, w / h)
    top = project(plan["camera"], head + [0, 0.09, 0], w / h)[1]
    r = max(2.0, abs(y - top) * h)
    yy, xx = np.mgrid[0:h, 0:w]
    return (inst == member) & ((xx - x * w) ** 2 + (yy - y * h) ** 2 < r * r)


def test_shirts_change_between_episodes_and_faces_do_not(built):
    root, _ = built
    plan1, b1, inst1 = _shot(root, "ep01", "two")
    plan2, b2, inst2 = _shot(root, "ep02", "two")
    assert plan1["camera"] == plan2["camera"]
    for member, name in ((1, "hana"), (2, "ken")):
        body = (inst1 == member) & (inst2 == member)
        diff = np.abs(b1[..., :3] - b2[..., :3]).max(axis=2)
        face = _head_pixels(root, plan1, inst1, member, name) & body
        assert face.sum() >= 6, name
        changed = body & (diff > 0.15)
        assert changed.sum() > 0.1 * body.sum(), name  # the shirt is a good part of them
        assert float(diff[face].mean()) < 0.04, name  # the face is the person: noise only
        assert (changed & face).sum() <= 0.1 * face.sum(), name


def test_every_imported_skin_validates_and_keeps_its_morph_targets(built):
    root, _ = built
    src = read_model((SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb").read_bytes())
    names = [m.get("extras", {}).get("targetNames", []) for m in src.json["meshes"]]
    with Library(root / ".reskin") as lib:
        skins = [r for r in lib.list() if r.kind == "skin" and r.name.split(".")[0] in
                 ("hana", "ken")]
        assert len(skins) == 4
        for skin in skins:
            glb = lib.read_blob(skin.blobs["skin.glb"])
            report = validate_gltf_bytes(glb)
            assert report["issues"]["numErrors"] == 0, (skin.ref, report["issues"]["messages"][:3])
            doc = read_model(glb)
            assert {"idle", "wave", "nod"} <= {a["name"] for a in doc.json["animations"]}
            if skin.name.startswith("hana"):
                assert [m.get("extras", {}).get("targetNames", [])
                        for m in doc.json["meshes"][:len(names)]] == names


def _pose(doc, anim: dict, t: float) -> np.ndarray:
    """World matrices of every node at time ``t`` of ``anim``."""
    from reskin.assets.gltf.scene import node_local, node_trs

    js = doc.json
    local = np.stack([node_local(n) for n in js["nodes"]])
    for node, paths in sample_animation(doc, anim, np.array([t])).items():
        tr, rot, sc = node_trs(js["nodes"][node])
        tr = paths.get("translation", [tr])[0]
        rot = paths.get("rotation", [rot])[0]
        sc = paths.get("scale", [sc])[0]
        local[node] = trs_matrix(np.asarray(tr), np.asarray(rot), np.asarray(sc))
    return world_matrices(js, local)


@pytest.mark.parametrize("name", ["hana", "ken"])
def test_hands_follow_the_wrists_through_a_clip(built, name):
    root, _ = built
    with Library(root / ".reskin") as lib:
        skin = next(r for r in lib.list() if r.name == f"{name}.ep01")
        doc = read_model(lib.read_blob(skin.blobs["skin.glb"]))
        rig = load_rigged(lib, lib.get(skin.meta["character"]))
    js = doc.json
    hand_node = int(rig.artist_nodes[rig.skeleton.index("leftHand")])
    body = next(i for i, n in enumerate(js["nodes"]) if "skin" in n and "mesh" in n)
    node = js["nodes"][body]
    prim = js["meshes"][node["mesh"]]["primitives"][0]
    pos = as_float(doc, prim["attributes"]["POSITION"])
    joints = doc.accessors[prim["attributes"]["JOINTS_0"]].astype(np.int64)
    weights = as_float(doc, prim["attributes"]["WEIGHTS_0"])
    skin_joints = js["skins"][node["skin"]]["joints"]
    # The hand is the hand joint and everything below it (an artist's fingers).
    hand, todo = set(), [hand_node]
    while todo:
        k = todo.pop()
        hand.add(k)
        todo += js["nodes"][k].get("children", [])
    in_hand = np.isin(np.asarray(skin_joints)[joints], list(hand))
    on_hand = (weights * in_hand).sum(axis=1) > 0.98
    assert on_hand.sum() > 50
    wave = next(a for a in js["animations"] if a["name"] == "wave")
    rest_world = world_matrices(js)
    rest = skinned_positions(pos[on_hand], joints[on_hand], weights[on_hand],
                             skin_matrices(doc, node["skin"], rest_world))
    rel_rest = rest - rest_world[hand_node][:3, 3]
    moved = 0.0
    for t in np.linspace(0.0, 3.5, 8):
        world = _pose(doc, wave, float(t))
        posed = skinned_positions(pos[on_hand], joints[on_hand], weights[on_hand],
                                  skin_matrices(doc, node["skin"], world))
        wrist = world[hand_node][:3, 3]
        # Rigid with the hand: distances to the wrist are kept within a centimetre.
        d_rest = np.linalg.norm(rel_rest, axis=1)
        d_now = np.linalg.norm(posed - wrist, axis=1)
        assert np.abs(d_now - d_rest).max() < 0.01, (name, t)
        moved = max(moved, float(np.linalg.norm(wrist - rest_world[hand_node][:3, 3])))
    assert moved > 0.2  # the wave really moves the hand


def test_garments_hang_on_imported_characters(built):
    root, _ = built
    with Library(root / ".reskin") as lib:
        hana = lib.get("hana.ep02")
        ken = lib.get("ken.ep02")
        hana_doc = read_model(lib.read_blob(hana.blobs["skin.glb"]))
        ken_doc = read_model(lib.read_blob(ken.blobs["skin.glb"]))
        hana_rig = load_rigged(lib, lib.get(hana.meta["character"]))
    assert [g["name"] for g in hana.meta["garments"]] == ["bag"]
    nodes = hana_doc.json["nodes"]
    bag = next(i for i, n in enumerate(nodes) if n.get("name") == "bag")
    hand = int(hana_rig.artist_nodes[hana_rig.skeleton.index("leftHand")])
    assert bag in nodes[hand].get("children", [])
    # At rest the bag sits by the hand where the spec put it, in model space.
    world = world_matrices(hana_doc.json)
    prim = hana_doc.json["meshes"][nodes[bag]["mesh"]]["primitives"][0]
    pts = as_float(hana_doc, prim["attributes"]["POSITION"])
    placed = pts @ world[bag][:3, :3].T + world[bag][:3, 3]
    want = hana_rig.skeleton.heads[hana_rig.skeleton.index("leftHand")] + [0.06, -0.08, 0]
    assert np.linalg.norm(placed.mean(axis=0) - want) < 0.01
    belt = next(n for n in ken_doc.json["nodes"] if n.get("name") == "belt")
    assert ken_doc.json["skins"][belt["skin"]]["name"] == "garments"
    _, b1, inst1 = _shot(root, "ep01", "two")
    _, b2, inst2 = _shot(root, "ep02", "two")
    assert (inst2 == 2).sum() >= (inst1 == 2).sum()  # the belt adds to ken's pixels


def test_preview_draws_imported_characters_textured_where_blender_does(built):
    from click.testing import CliRunner

    from reskin.cli import main

    root, _ = built
    result = CliRunner().invoke(main, ["render", "ep01", "-s", str(root), "--preview", "--json"])
    assert result.exit_code == 0, result.output
    _, beauty, inst = _shot(root, "ep01", "two")
    preview = np.asarray(Image.open(root / "out" / "ep01" / "preview" / "two" /
                                    "preview_0000.png").convert("RGB")).astype(np.float32) / 255
    blender = beauty[..., 3] > 0.5
    background = preview[0, 0]
    drawn = np.abs(preview - background).max(axis=-1) > 0.05
    iou = (blender & drawn).sum() / (blender | drawn).sum()
    assert iou > 0.8, f"silhouettes overlap only {iou:.2f}"
    # Textured, not a flat silhouette: hana's red shirt is there, and the pixels vary.
    hana = drawn & (inst == 1)
    red = (preview[..., 0] > preview[..., 1] + 0.2) & (preview[..., 0] > preview[..., 2] + 0.2)
    assert (hana & red).sum() > 0.1 * hana.sum()
    assert preview[hana].std(axis=0).mean() > 0.05


def test_continuity_sheet_of_an_imported_character(built, tmp_path):
    from click.testing import CliRunner

    from reskin.cli import main

    root, _ = built
    out = tmp_path / "hana.png"
    result = CliRunner().invoke(main, ["skin", "sheet", "hana", "-s", str(root), "-o", str(out),
                                       "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    # Every episode's changes lie where its wardrobe may paint (the face and skin stay).
    assert set(report["confined"]) == {"ep01", "ep02"}
    assert min(report["confined"].values()) > 0.95
    sheet = np.asarray(Image.open(out).convert("RGB"))
    assert sheet.shape[0] > 300 and sheet.std() > 20


def test_continuity_sheet_face_row_blinks_and_smiles(built, tmp_path):
    """The sheet's face row: the same face in every skin; the blink closes the eyes only."""
    from click.testing import CliRunner

    from reskin.cli import main

    root, _ = built
    out = tmp_path / "hana.png"
    result = CliRunner().invoke(main, ["skin", "sheet", "hana", "-s", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(np.int16)
    label, size, rows = 22, 240, 3  # base, ep01, ep02; default views 240 x 360
    top = (360 + label) * rows

    def tile(row: int, col: int) -> np.ndarray:
        y = top + row * (size + label) + label
        return sheet[y:y + size, col * size:(col + 1) * size]

    neutral, happy, blink = tile(0, 0), tile(0, 1), tile(0, 4)
    for other in (happy, blink):
        changed = np.abs(other - neutral).max(axis=-1) > 24
        assert 10 < changed.sum() < 0.08 * changed.size
    # The blink changes one narrow band (the eyes), nothing above or below it.
    changed = np.abs(blink - neutral).max(axis=-1) > 24
    rows_changed = np.nonzero(changed.any(axis=1))[0]
    assert np.ptp(rows_changed) < 0.12 * size
    # Every skin wears the same face: the episodes' face tiles equal the base's at the eyes.
    eyes = slice(int(rows_changed.min()) - 5, int(rows_changed.max()) + 5)
    for r in (1, 2):
        assert np.abs(tile(r, 4)[eyes] - blink[eyes]).mean() < 3


def test_an_imported_character_walks_into_the_shot(built):
    """Blocking on characters from files: hana (own rig) walks to her mark on the CMU walk,
    retargeted onto the artist's joints."""
    root, _ = built
    for render in (root / ".reskin" / "cache" / "render").iterdir():
        plan = json.loads((render / "done.json").read_text())["plan"]
        if plan["name"] == "ep01/enter":
            break
    else:
        raise AssertionError("no render of ep01/enter")
    passes = read_shot_passes(sorted(render.glob("passes_*.exr")),
                              plan.get("camera_path") or [plan["camera"]])
    inst = passes["instance"]
    hana = plan["cast"][0]
    assert hana["motion"] is not None
    root_path = np.asarray(hana["motion"]["root"])
    assert abs(root_path[-1][0] - -0.4) < 0.05 and abs(root_path[-1][2]) < 0.05
    cols = np.arange(inst.shape[2])
    first, last = inst[0] == 1, inst[-1] == 1
    assert first.sum() > 30 and last.sum() > 30
    assert cols[np.nonzero(last)[1]].mean() > cols[np.nonzero(first)[1]].mean() + 5
