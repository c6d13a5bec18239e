"""Splicing a GLB: an image swapped in place (the buffer closed up behind it), parts appended,
accessors read lazily and compared as stored bytes."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.glb import pack_glb, read_glb, split_glb
from reskin.assets.gltf.read import GltfDocument
from reskin.assets.gltf.splice import (
    accessor_data,
    append_part,
    lazy_document,
    replace_image,
    same_data,
    spliceable,
)
from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.rigging.file_rig import read_model


@pytest.fixture
def cesium(shared_data) -> bytes:
    return (shared_data / "gltf" / "CesiumMan.glb").read_bytes()


def _png(colour: tuple[int, int, int], size: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def _with_tail(glb: bytes) -> tuple[dict, bytearray, int]:
    """CesiumMan with one more accessor after its image (so a swap must move it)."""
    js, binary = read_glb(glb)
    tail = BufferBuilder(js, binary).accessor(np.arange(12, dtype=np.float32).reshape(4, 3))
    js["buffers"][0]["byteLength"] = len(binary)
    return js, binary, tail


def test_an_image_swapped_in_place_moves_what_follows_and_leaves_no_dead_bytes(cesium):
    js, binary, tail = _with_tail(cesium)
    before = read_model(pack_glb(js, binary))
    view = js["images"][0]["bufferView"]
    old_length = js["bufferViews"][view]["byteLength"]
    new = _png((200, 30, 40))
    size = len(binary)
    out = replace_image(js, binary, 0, new, "image/png")
    assert js["images"][0]["bufferView"] == view  # the same view, holding the new bytes
    assert len(out) == size - old_length + len(new) + (-(len(new) - old_length) % 4)
    glb = pack_glb(js, out)
    after = read_model(glb)
    for i in range(len(before.json["accessors"])):  # every accessor, the moved one too
        assert np.array_equal(before.accessors[i], after.accessors[i]), i
    assert np.array_equal(after.accessors[tail], np.arange(12, dtype=np.float32).reshape(4, 3))
    assert after.images[0][0] == new
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:3]


def test_an_image_whose_view_is_shared_goes_in_a_new_view(cesium):
    js, binary = read_glb(cesium)
    view = js["images"][0]["bufferView"]
    js["images"].append({"bufferView": view, "mimeType": "image/png"})  # a second reader
    new = _png((10, 20, 30))
    out = replace_image(js, binary, 0, new, "image/png")
    assert js["images"][0]["bufferView"] == len(js["bufferViews"]) - 1
    after = read_model(pack_glb(js, out))
    assert after.images[0][0] == new
    assert after.images[1][0] == read_model(cesium).images[0][0]  # the other reader's bytes


def test_a_webp_texture_turned_png_shows_it_as_its_source():
    js = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": 4}],
          "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 4}],
          "images": [{"bufferView": 0, "mimeType": "image/webp"}],
          "textures": [{"extensions": {"EXT_texture_webp": {"source": 0}}}],
          "extensionsUsed": ["EXT_texture_webp"], "extensionsRequired": ["EXT_texture_webp"]}
    out = replace_image(js, bytearray(b"RIFF"), 0, _png((1, 2, 3)), "image/png")
    assert js["textures"] == [{"source": 0}] and "extensionsUsed" not in js
    assert js["images"][0]["mimeType"] == "image/png" and js["buffers"][0]["byteLength"] == len(
        out)


def test_an_appended_part_keeps_its_accessors_and_the_documents(cesium):
    js, binary = read_glb(cesium)
    part: dict = {"nodes": js["nodes"]}
    data = bytearray()
    times = BufferBuilder(part, data).accessor(np.array([0.0, 1.0], np.float32), bounds=True)
    values = BufferBuilder(part, data).accessor(np.array([[0, 0, 0, 1]] * 2, np.float32))
    part["animations"] = [{"name": "still", "channels": [
        {"sampler": 0, "target": {"node": 0, "path": "rotation"}}],
        "samplers": [{"input": times, "output": values}]}]
    before = read_model(cesium)
    n_acc, n_anim = len(js["accessors"]), len(js.get("animations", []))
    append_part(js, binary, part, bytes(data))
    after = read_model(pack_glb(js, binary))
    assert all(np.array_equal(before.accessors[i], after.accessors[i]) for i in range(n_acc))
    anim = after.json["animations"][n_anim]
    assert anim["samplers"][0] == {"input": n_acc, "output": n_acc + 1}
    assert np.array_equal(after.accessors[n_acc + 1], np.array([[0, 0, 0, 1]] * 2, np.float32))


def test_a_lazy_document_decodes_what_is_read_and_the_same_values(cesium):
    text, binary = split_glb(cesium)
    lazy = lazy_document(text, memoryview(binary))
    full = read_model(cesium)
    assert isinstance(lazy, GltfDocument) and len(lazy.accessors) == 0
    assert np.array_equal(lazy.accessors[3], full.accessors[3]) and len(lazy.accessors) == 1
    assert all(np.array_equal(lazy.accessors[i], full.accessors[i])
               for i in range(len(full.json["accessors"])))
    assert lazy.images == full.images and lazy.json == json.loads(text)


def test_accessor_data_sees_one_changed_byte_and_one_changed_layout(cesium):
    js, binary = read_glb(cesium)
    a = accessor_data(js, bytes(binary), 0)
    assert same_data(a, accessor_data(js, bytes(binary), 0))
    view = js["bufferViews"][js["accessors"][0]["bufferView"]]
    at = view.get("byteOffset", 0) + js["accessors"][0].get("byteOffset", 0) + 5
    binary[at] ^= 1
    assert not same_data(a, accessor_data(js, bytes(binary), 0))
    binary[at] ^= 1
    js["accessors"][0]["normalized"] = True
    assert not same_data(a, accessor_data(js, bytes(binary), 0))
    assert not same_data(a, None) and same_data(None, None)


def test_compressed_or_external_data_is_not_spliceable(shared_data, cesium):
    avatar = (shared_data / "avatars" / "Asian_F_1_Casual.glb").read_bytes()
    assert not spliceable(read_glb(avatar)[0])  # meshopt-compressed views
    assert spliceable(read_glb(cesium)[0])
    assert not spliceable({"buffers": [{"uri": "x.bin", "byteLength": 4}]})
