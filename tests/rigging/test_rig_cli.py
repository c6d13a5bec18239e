"""`reskin rig`, `reskin clip import/list` and `reskin rig preview` on a small generated body."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.arrays import unpack_arrays
from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.library import Library
from reskin.cli import main
from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.pipeline.series_init import init_series
from reskin.rigging.bvh import read_bvh
from reskin.rigging.clip_assets import clip_for_character, load_clip_asset, source_frame
from reskin.rigging.names import map_to_canonical
from reskin.rigging.rigged import find_rigged

LIMB_BOUND = 2.0  # degrees, as tests/rigging/test_retarget.py holds the direct retarget to
HUB_BOUND = 20.0  # spine, neck, clavicles: the two skeletons differ there
LEG_BOUND = 20.0  # legs and feet: leg IK and flat-foot alignment move them (test_foot_contact.py)
LIMBS = ("UpperArm", "LowerArm", "Hand", "UpperLeg", "LowerLeg", "Foot", "Toes")


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """A series whose library holds mira@1, a coarse generated (unrigged) body."""
    root = init_series(tmp_path_factory.mktemp("rig") / "show")
    (root / "cast" / "mira").mkdir()
    (root / "cast" / "mira" / "character.yaml").write_text(
        "params:\n  voxels_per_height: 60\nauthor: tests\nlicense: CC0-1.0\n")
    with Library(root / ".reskin") as lib:
        ensure_generated(lib, load_character(root / "cast" / "mira" / "character.yaml"))
    return root


@pytest.fixture(scope="module")
def rigged(series):
    result = _run("rig", "mira", "-s", str(series))
    assert result.exit_code == 0, result.output
    with Library(series / ".reskin") as lib:
        return lib.get("mira@2")


@pytest.fixture
def walk(series, rigged, shared_data):
    """The CMU walk imported as clip asset `walk` (importing the same file again is a no-op)."""
    path = shared_data / "bvh" / "cmu_12_03_walk.bvh"
    result = _run("clip", "import", str(path), "--name", "walk", "-s", str(series),
                  "--license", "CC0-1.0", "--author", "CMU Graphics Lab")
    assert result.exit_code == 0, result.output
    return path


def test_rig_stores_a_new_version_with_its_parent(series, rigged):
    assert rigged.parents == ("mira@1",) and rigged.meta["stage"] == "rigged"
    assert rigged.provenance["skeleton"] == "fitted" and rigged.provenance["influences"] == 4
    with Library(series / ".reskin") as lib:
        rig = unpack_arrays(lib.read_blob(rigged.blobs["rig.npz"]))
        assert rig["skin_weights"].shape == (rigged.meta["vertices"], 4)
        np.testing.assert_allclose(rig["skin_weights"].sum(axis=1), 1.0, atol=1e-5)
        # Made as the build makes it, so a build reuses it instead of rigging again.
        spec = load_character(series / "cast" / "mira" / "character.yaml")
        assert find_rigged(lib, spec).ref == "mira@2"
    again = _run("rig", "mira", "-s", str(series))
    assert again.exit_code == 0 and "already holds this rig" in again.output

    # A hand-corrected joint and 8 influences, rigged from the unrigged version.
    fix = series / "fix.yaml"
    fix.write_text("leftHand: [0.72, 1.40, 0.01]\n")
    result = _run("rig", "mira@1", "-s", str(series), "--skeleton", str(fix), "--influences", "8")
    assert result.exit_code == 0, result.output
    with Library(series / ".reskin") as lib:
        rec = lib.get("mira")
        assert rec.parents == ("mira@1",) and rec.version == 3
        rig = unpack_arrays(lib.read_blob(rec.blobs["rig.npz"]))
    sk = Skeleton.from_arrays(rig)
    np.testing.assert_allclose(sk.heads[sk.index("leftHand")], [0.72, 1.40, 0.01], atol=1e-6)
    np.testing.assert_allclose(sk.tails[sk.index("leftLowerArm")], [0.72, 1.40, 0.01], atol=1e-6)
    assert rig["skin_weights"].shape[1] == 8
    assert rec.provenance["overrides"] == {"leftHand": [0.72, 1.4, 0.01]}


@pytest.mark.parametrize("text, field", [
    ("leftHand: [0.7, 1.4, 0.0]\nleftHnd: [0.7, 1.4, 0.0]\n", "leftHnd"),
    ("head: [0.0, 1.6]\n", "head"),
    ("rightFoot: [0.1, 0.1, 40.0]\n", "rightFoot"),
])
def test_bad_override_file_is_one_line_naming_file_and_field(series, rigged, text, field):
    bad = series / "bad_skeleton.yaml"
    bad.write_text(text)
    with Library(series / ".reskin") as lib:
        before = len(lib.history("mira"))
    result = _run("rig", "mira@1", "-s", str(series), "--skeleton", str(bad))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"reskin: error: {bad}:")
    assert f": {field}: " in lines[0] and "Traceback" not in result.output
    with Library(series / ".reskin") as lib:
        assert len(lib.history("mira")) == before


def test_clip_import_stores_the_file_as_a_clip_asset(series, walk):
    text = walk.read_text()
    frames = int(text.split("Frames:")[1].split()[0])
    fps = 1.0 / float(text.split("Frame Time:")[1].split()[0])
    with Library(series / ".reskin") as lib:
        clip, skeleton, rec = load_clip_asset(lib, "walk")
    lead, trail = rec.meta["trimmed"]  # T-pose / calibration frames cut on import
    assert lead + trail <= 4
    assert rec.kind == "clip" and rec.meta["frames"] == frames - lead - trail == clip.frames
    assert clip.fps == pytest.approx(fps, rel=1e-4) and rec.meta["fps"] == clip.fps
    prov = rec.provenance
    assert prov["source_sha256"] == hashlib.sha256(walk.read_bytes()).hexdigest()
    assert prov["convention"] == "motionbuilder" and prov["license"] == "CC0-1.0"
    assert prov["author"] == "CMU Graphics Lab" and prov["frames"] in (frames,
                                                                      frames - lead - trail)
    assert set(clip.joint_names) == set(skeleton.names) and "hips" in skeleton.names
    listed = json.loads(_run("clip", "list", "-s", str(series), "--json").output)
    assert [c["ref"] for c in listed] == ["walk@1"] and listed[0]["frames"] == clip.frames
    bad = _run("clip", "import", str(walk), "--name", "wave", "-s", str(series))
    assert bad.exit_code == 2 and "procedural clip" in bad.output


def test_retargeted_walk_keeps_limb_directions(series, rigged, walk):
    with Library(series / ".reskin") as lib:
        skeleton = Skeleton.from_arrays(unpack_arrays(lib.read_blob(rigged.blobs["rig.npz"])))
        clip = clip_for_character(lib, "walk", skeleton)
        lead, trail = lib.get("walk").meta["trimmed"]
    heads = forward_kinematics(skeleton, clip.for_skeleton(skeleton.names),
                               clip.root_translation)[..., :3, 3]
    bvh = read_bvh(walk)
    assert clip.frames == bvh.frames - lead - trail
    src = {c: bvh.index(s) for c, s in map_to_canonical(bvh.names).items()}
    rest = bvh.rest_positions()
    _, pos = bvh.world()
    pos = pos[lead:len(pos) - trail]  # the frames the clip kept
    pos = pos @ source_frame(rest, src).T  # the source in reskin's axes

    def unit(v):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    checked = 0
    for i, parent in enumerate(skeleton.names):
        for k in np.flatnonzero(skeleton.parents == i):
            child = skeleton.names[k]
            if parent == "hips" or child not in src or parent not in src:
                continue  # the hips' children hang off the pelvis, not off a bone
            if np.linalg.norm(rest[src[child]] - rest[src[parent]]) < 1e-6:
                continue
            ours = unit(heads[:, k] - heads[:, i])
            theirs = unit(pos[:, src[child]] - pos[:, src[parent]])
            angle = np.degrees(np.arccos(np.clip((ours * theirs).sum(-1), -1, 1))).max()
            bound = LIMB_BOUND if child.endswith(LIMBS) else HUB_BOUND
            if child.endswith(("LowerLeg", "Foot", "Toes")):
                bound = LEG_BOUND  # planting the feet bends the legs on purpose
            assert angle < bound, f"{parent}->{child} off by {angle:.1f} degrees"
            checked += 1
    assert checked >= 12


def test_preview_of_the_walk_is_an_mp4_of_the_moving_character(series, rigged, walk, tmp_path):
    import imageio_ffmpeg

    from reskin.render.rig_preview import BACKGROUND

    out = tmp_path / "walk.mp4"
    result = _run("rig", "preview", "mira@2", "--clip", "walk", "-o", str(out), "-s", str(series),
                  "--frames", "16", "--size", "96x160")
    assert result.exit_code == 0, result.output
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    w, h = meta["size"]
    assert (w, h) == (96, 160)
    frames = np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]).astype(int)
    assert len(frames) == 16
    background = np.array(BACKGROUND) * 255
    body = np.abs(frames - background).max(axis=-1) > 30
    share = body.mean(axis=(1, 2))
    assert (share > 0.01).all(), f"character missing from some frames: {share.round(3)}"
    assert (body[:, 0, :].mean() < 0.05) and (body[:, -1, :].mean() < 0.05)  # whole body framed
    assert (body[0] ^ body[-1]).mean() > 0.005  # the walk moves the limbs
    assert np.abs(frames[0] - frames[-1]).mean() > 1.0


def test_preview_errors_are_one_line(series, rigged, tmp_path):
    out = str(tmp_path / "x.mp4")
    for args, text in [
        (["mira@2", "--clip", "nope"], "procedural clips: idle, wave, nod"),
        (["mira@1", "--clip", "wave"], "not a rigged character"),
        (["mira@2", "--clip", "wave", "--size", "31x40"], "--size"),
    ]:
        result = _run("rig", "preview", *args, "-o", out, "-s", str(series))
        assert result.exit_code == 2 and text in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_rig_help_shows_the_options_and_the_preview_command():
    result = _run("rig", "-h")
    assert result.exit_code == 0
    assert "--skeleton" in result.output and "--recompute-weights" in result.output
    assert "preview" in result.output and "_rig" not in result.output
