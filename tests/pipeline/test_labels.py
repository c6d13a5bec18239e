"""Issue #20 for real: a tiny stylized series built, its episode labelled (explicit notice on
the opening 2 s, AIGC metadata in every MP4 and PNG), C2PA-signed with a test certificate,
its credits written; a forbidden licence stops the build before anything is published."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.assets.library import Library
from reskin.cli import main
from reskin.pipeline.c2pa_sign import make_test_keys, verify
from reskin.render.captions import find_cjk_font
from reskin.render.labels import LabelRenderer, safe_area
from tests.pipeline.test_build import make_tiny

W, H, FPS = 108, 192, 4
SERIES = f"""\
name: tiny
resolution: [{W}, {H}]
fps: {FPS}
render: {{engine: cycles, samples: 2}}
style: {{stylizer: toon, background: "#efe3cf"}}
labels: {{language: zh, producer: Test Studio}}
signing: {{cert: keys/signer-chain.pem, key: keys/signer-key.pem}}
licenses: {{allow: [CC0-1.0, CC-BY-4.0]}}
"""


def build(root: Path, *args: str):
    return CliRunner().invoke(main, ["build", str(root), "-e", "ep01", "--json", *args])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("labels") / "tiny")
    keys = make_test_keys(root / "keys")
    (root / "series.yaml").write_text(SERIES)
    ep = root / "episodes" / "ep01.yaml"  # 2 shots of 1.5 s: 12 frames, 3 s
    ep.write_text(ep.read_text().replace("duration: 0.75", "duration: 1.5"))
    char = root / "cast" / "mira" / "character.yaml"
    char.write_text(char.read_text().replace("license: CC0-1.0", "license: CC-BY-4.0")
                    .replace("author: reskin sample series", "author: Ada Modeller"))
    result = build(root)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (episode,) = report["episodes"]
    return root, episode, keys


def ffmpeg_tags(path: str) -> dict[str, str]:
    """Container tags read by imageio-ffmpeg's own ffmpeg (no reskin code in the way)."""
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", path, "-f",
                          "ffmetadata", "-"], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines()
                if "=" in line and not line.startswith(";"))


def test_label_is_on_the_first_two_seconds_only(built):
    _, episode, _ = built
    video = iio.imread(episode["video"]).astype(int)  # (n, h, w, 3)
    clean = np.concatenate([np.stack([iio.imread(p)[..., :3] for p in
                                      sorted(Path(s["folder"]).glob("frame_*.png"))])
                            for s in episode["shots"]]).astype(int)
    assert video.shape == clean.shape == (12, H, W, 3)
    renderer = LabelRenderer(W, H, "AI生成", find_cjk_font(), 0.05)
    assert renderer.ink_height >= 0.05 * min(W, H)
    box = renderer.box("top-left")
    left, top, right, bottom = safe_area(W, H)
    assert left <= box.x and box.x + box.w <= right and top <= box.y and box.y + box.h <= bottom
    diff = np.abs(video - clean).mean(axis=3)
    inside = diff[:, box.y:box.y + box.h, box.x:box.x + box.w].mean(axis=(1, 2))
    outside = diff.copy()
    outside[:, box.y:box.y + box.h, box.x:box.x + box.w] = 0
    opening = 2 * FPS
    assert (inside[:opening] > 25).all(), inside
    assert (inside[opening:] < 4).all(), inside  # only the codec's noise after 2 s
    sheet = iio.imread(episode["contact_sheet"])[..., :3]  # a published image: labelled too
    corner = LabelRenderer(sheet.shape[1], sheet.shape[0], "AI生成", find_cjk_font(), 0.05)
    b = corner.box("top-right")
    assert (sheet[b.y:b.y + b.h, b.x:b.x + b.w].min(axis=2) >= 240).sum() > 10
    noise = outside.mean(axis=(1, 2))  # H.264 at this size: a few levels everywhere
    assert noise.max() < 8 and noise[:opening].mean() < noise[opening:].mean() + 1


def test_aigc_metadata_reads_back_from_every_mp4_and_png(built):
    _, episode, _ = built
    for video in [episode["video"]] + [s["video"] for s in episode["shots"]]:
        aigc = json.loads(ffmpeg_tags(video)["AIGC"])
        assert aigc["Label"] == "1" and aigc["ContentProducer"] == "Test Studio"
        assert aigc["ProduceID"].startswith("reskin:")
        assert list(aigc) == ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
                              "ContentPropagator", "PropagateID", "ReservedCode2"]
    pngs = [episode["contact_sheet"]] + [str(p) for s in episode["shots"]
                                          for p in Path(s["folder"]).glob("frame_*.png")]
    ids = set()
    for png in pngs:
        with Image.open(png) as im:
            aigc = json.loads(im.text["AIGC"])
            assert "TC260:AIGC" in im.text["XML:com.adobe.xmp"]
        assert aigc["Label"] == "1" and aigc["ContentProducer"] == "Test Studio"
        ids.add(aigc["ProduceID"])
    assert len(ids) == 3  # the sheet and each shot have their own content id
    result = CliRunner().invoke(main, ["provenance", "check", episode["contact_sheet"],
                                       "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["aigc"]["ContentProducer"] == "Test Studio"


def test_c2pa_manifest_verifies_and_lists_the_cast_by_content_hash(built):
    root, episode, keys = built
    trusted = verify(Path(episode["video"]), trust=keys.ca)
    assert trusted.ok and trusted.trusted and trusted.failures == []
    untrusted = verify(Path(episode["video"]))
    assert untrusted.ok and not untrusted.trusted  # a test certificate: valid, not trusted
    manifest = trusted.manifest
    hashes = {i["metadata"]["reskin:contentHash"]: i["title"] for i in manifest["ingredients"]}
    with Library(root / ".reskin") as lib:
        skin, character = lib.get("mira.ep01"), lib.get("mira@1")
        assert hashes[skin.content_hash] == skin.ref
        assert hashes[character.content_hash] == character.ref
    actions = next(a["data"]["actions"] for a in manifest["assertions"]
                   if a["label"].startswith("c2pa.actions"))
    names = [a["action"] for a in actions]
    assert names[0] == "c2pa.created" and "c2pa.placed" in names
    assert "c2pa.edited" in names and names[-1] == "c2pa.transcoded"
    assert all(a["softwareAgent"]["name"] == "reskin" for a in actions)
    assert actions[0]["digitalSourceType"].endswith("/algorithmicMedia")
    assert verify(Path(episode["contact_sheet"]), trust=keys.ca).trusted
    result = CliRunner().invoke(main, ["provenance", "check", episode["video"]])
    assert result.exit_code == 0 and "NOT on a trust list" in result.output, result.output
    assert "ingredient: mira.ep01@1" in result.output


def test_one_flipped_byte_of_video_fails_verification(built, tmp_path):
    _, episode, keys = built
    data = bytearray(Path(episode["video"]).read_bytes())
    data[data.index(b"mdat") + 64] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    result = verify(tampered, trust=keys.ca)
    assert not result.ok and result.state == "Invalid" and result.failures
    cli = CliRunner().invoke(main, ["provenance", "check", str(tampered)])
    assert cli.exit_code == 1 and "FAILED" in cli.output


def test_credits_and_the_asset_list(built):
    root, episode, _ = built
    credits = (Path(episode["video"]).parent / "ep01_credits.txt").read_text()
    line = next(ln for ln in credits.splitlines() if ln.startswith("- mira@1 by"))
    assert "Ada Modeller" in line and "CC-BY-4.0" in line
    assert "https://creativecommons.org/licenses/by/4.0/" in line
    result = CliRunner().invoke(main, ["provenance", "ep01", "-s", str(root), "--json"])
    assert result.exit_code == 0, result.output
    assets = {a["ref"]: a for a in json.loads(result.output)["assets"]}
    assert assets["mira.ep01@1"]["used_as"] == "skin"
    assert assets["mira.ep01@1"]["license"] == "CC-BY-4.0"
    rig = assets["mira@2"]  # the rig reskin made: its character's terms
    assert rig["used_as"] == "from mira.ep01@1" and rig["license"] == "CC-BY-4.0"
    assert assets["mira@1"]["own_license"] and assets["mira@1"]["author"] == "Ada Modeller"
    assert assets["style.series@1"]["used_as"] == "style"
    text = CliRunner().invoke(main, ["provenance", "ep01", "-s", str(root)])
    assert text.exit_code == 0 and "mira@1" in text.output


def test_a_forbidden_licence_stops_the_build_and_publishes_nothing(built, tmp_path):
    root, _, _ = built
    copy = tmp_path / "strict"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("out"))  # renders stay cached
    yaml = copy / "series.yaml"
    yaml.write_text(yaml.read_text().replace("[CC0-1.0, CC-BY-4.0]", "[CC0-1.0, MIT]"))
    result = build(copy)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "mira.ep01@1" in line and "CC-BY-4.0" in line and "licenses.allow" in line
    assert "Traceback" not in result.output
    assert not (copy / "out" / "ep01").exists()
