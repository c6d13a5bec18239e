"""A skin of a character from a file is its model.glb spliced: the body's stored bytes as
they are (compared as bytes by the identity lock), the painted base colour in place of the
file's, the clips and hidden regions appended; the per-rig cache changes no byte of it."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from reskin.assets.character_spec import load_character
from reskin.assets.gltf.glb import pack_glb, read_glb, split_glb
from reskin.assets.gltf.splice import spliceable
from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.assets.library import Library
from reskin.pipeline.cast import ensure_cast_rig
from reskin.pipeline.series_init import init_series
from reskin.rigging.file_rig import read_model
from reskin.rigging.rigged import load_rigged
from reskin.skins.file_skin import (
    base_color_images,
    check_same_person,
    identity_digest,
    identity_items,
    make_file_skin_glb,
    splice_source,
)
from reskin.skins.identity import IdentityLockError
from reskin.skins.make import _images
from reskin.skins.wardrobe import load_wardrobe
from tests.conftest import SHARED_DATA

FPS = 8


@pytest.fixture(scope="module")
def hana(tmp_path_factory):
    if not SHARED_DATA.exists():
        pytest.skip(f"sample data folder {SHARED_DATA} is not present on this machine")
    root = init_series(tmp_path_factory.mktemp("file-skin") / "show")
    (root / "models").mkdir()
    shutil.copy(SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb", root / "models" / "hana.glb")
    cast = root / "cast" / "hana"
    cast.mkdir(parents=True)
    (cast / "character.yaml").write_text("source: models/hana.glb\n")
    (cast / "ep01.yaml").write_text("regions:\n  top: {color: '#2e86c1'}\n"
                                    "  bottoms: {color: '#1f2a44'}\n")
    (cast / "ep02.yaml").write_text("regions:\n  top: {color: '#c0392b'}\nhide: [shoes]\n")
    spec = load_character(cast / "character.yaml")
    with Library(root / ".reskin") as lib:
        rig, _ = ensure_cast_rig(lib, spec)
        yield root, lib, spec, load_rigged(lib, rig)


def _skin(hana, episode: str):
    root, lib, spec, rigged = hana
    wardrobe = load_wardrobe(root / "cast" / "hana" / f"{episode}.yaml", "hana", episode)
    return make_file_skin_glb(lib, rigged, spec, wardrobe, FPS, _images(lib, wardrobe))


def test_a_skin_is_the_model_spliced_and_the_cache_changes_no_byte(hana):
    root, lib, spec, rigged = hana
    shutil.rmtree(lib.root / "cache", ignore_errors=True)
    cold, cold_png, meta = _skin(hana, "ep01")  # regions, texture and clips made and kept
    warm, warm_png, _ = _skin(hana, "ep01")  # all three read back
    assert warm == cold and warm_png == cold_png
    model = lib.read_blob(rigged.record.blobs["model.glb"])
    m_js, m_bin = read_glb(model)
    s_js, s_bin = read_glb(cold)
    # The body is the model's bytes: every accessor it had reads the same stored bytes.
    check_same_person(identity_items(s_js, bytes(s_bin)), identity_items(m_js, bytes(m_bin)),
                      "skin")
    n = len(m_js["accessors"])
    assert s_js["accessors"][:n] == m_js["accessors"]
    # The base colour is a PNG in the webp's place (closed up: no dead bytes), the normal
    # map still WebP; the clips follow the model's data.
    colour = base_color_images(s_js)[0]
    assert s_js["images"][colour]["mimeType"] == "image/png"
    assert [t.get("source") for t in s_js["textures"]].count(colour) == 1
    used = {a["bufferView"] for a in s_js["accessors"] if "bufferView" in a}
    used |= {im["bufferView"] for im in s_js["images"]}
    assert used == set(range(len(s_js["bufferViews"])))
    covered = sum(v["byteLength"] + (-v["byteLength"] % 4) for v in s_js["bufferViews"])
    assert covered == len(s_bin)
    assert {"idle", "wave", "nod"} <= {a["name"] for a in s_js["animations"]}
    report = validate_gltf_bytes(cold)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:3]
    # The painted texture: the shirt changed, the face texels are the model's, bit for bit.
    src = read_model(model)
    before = np.asarray(Image.open(io.BytesIO(src.images[colour][0])).convert("RGBA"))
    after = np.asarray(Image.open(io.BytesIO(s_bin[
        s_js["bufferViews"][s_js["images"][colour]["bufferView"]]["byteOffset"]:][
        :s_js["bufferViews"][s_js["images"][colour]["bufferView"]]["byteLength"]])))
    h, w = before.shape[:2]
    face = (slice(int(0.12 * h), int(0.36 * h)), slice(int(0.22 * w), int(0.45 * w)))
    assert np.array_equal(after[face][..., :3], before[face][..., :3])
    changed = (after[..., :3] != before[..., :3]).any(axis=2).mean()
    assert 0.1 < changed < 0.6
    with Image.open(io.BytesIO(cold_png)) as preview:
        assert preview.size == (1024, 1024) and preview.mode == "RGB"
    assert meta["hidden_triangles"] == 0 and meta["face"]


def test_hidden_shoes_leave_the_index_buffers_and_the_file_still_validates(hana):
    glb, _, meta = _skin(hana, "ep02")
    assert meta["hidden"] == ["shoes"] and meta["hidden_triangles"] > 100
    doc = read_model(glb)
    kept = sum(len(doc.accessors[p["indices"]]) // 3 for m in doc.json["meshes"]
               for p in m["primitives"])
    model = read_model(hana[1].read_blob(hana[3].record.blobs["model.glb"]))
    total = sum(len(model.accessors[p["indices"]]) // 3 for m in model.json["meshes"]
                for p in m["primitives"])
    assert kept == total - meta["hidden_triangles"]
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:3]


def test_the_lock_refuses_a_skin_whose_body_bytes_differ(hana):
    glb, _, _ = _skin(hana, "ep01")
    js, binary = read_glb(glb)
    source = identity_items(js, bytes(binary))
    acc = js["meshes"][0]["primitives"][0]["targets"][3]["POSITION"]
    view = js["bufferViews"][js["accessors"][acc]["bufferView"]]
    binary[view["byteOffset"] + js["accessors"][acc].get("byteOffset", 0) + 2] ^= 0x10
    with pytest.raises(IdentityLockError, match="targets"):
        check_same_person(identity_items(js, bytes(binary)), source, "skin x")


def test_a_model_that_cannot_be_spliced_is_re_emitted_plainly_first():
    avatar = (SHARED_DATA / "avatars" / "Asian_F_1_Casual.glb").read_bytes()  # meshopt
    text, binary = splice_source(avatar)
    plain = pack_glb(json.loads(text), bytes(binary))
    assert spliceable(json.loads(split_glb(plain)[0]))
    assert identity_digest(read_model(plain)) == identity_digest(read_model(avatar))
