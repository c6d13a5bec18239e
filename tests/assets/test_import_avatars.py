"""Web avatars as they ship (EXT_meshopt_compression, KHR_mesh_quantization, EXT_texture_webp):
decoded on import into a plain GLB the validator accepts, with every mesh, joint, morph target
(names included) and texture kept."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from reskin.assets.arrays import unpack_arrays
from reskin.assets.gltf.read import load_gltf
from reskin.assets.gltf.validate import validate_gltf_bytes
from reskin.assets.importer import import_file
from reskin.assets.library import Library
from reskin.assets.safe_io import Limits
from reskin.core.errors import ReskinError

from .conftest import snapshot

AVATARS = ("Asian_F_1_Casual.glb", "White_M_1_Busi.glb", "Black_F_2_Casual.glb")


def _source_json(path: Path) -> dict:
    data = path.read_bytes()
    n = struct.unpack("<I", data[12:16])[0]
    return json.loads(data[20:20 + n])


def _target_names(js: dict) -> list[list[str]]:
    return [m.get("extras", {}).get("targetNames", []) for m in js["meshes"]]


@pytest.mark.parametrize("name", AVATARS)
def test_avatar_imports_whole_and_validates(shared_data, libroot, name):
    path = shared_data / "avatars" / name
    src = _source_json(path)
    assert "EXT_meshopt_compression" in src["extensionsRequired"]  # the fixture is compressed
    rec, _ = import_file(libroot, path, "avatar")
    with Library(libroot) as lib:
        glb = lib.read_blob(rec.blobs["model.glb"])
        mesh = unpack_arrays(lib.read_blob(rec.blobs["mesh.npz"]))
    report = validate_gltf_bytes(glb)
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"][:5]
    doc = load_gltf(Path("x.glb"), glb, Limits())
    js = doc.json
    assert "EXT_meshopt_compression" not in js.get("extensionsUsed", [])
    assert len(js["meshes"]) == len(src["meshes"]) >= 7
    # Morph targets: count and names of every mesh survive.
    assert _target_names(js) == _target_names(src)
    def count(d):
        return sum(len(p.get("targets", [])) for m in d["meshes"] for p in m["primitives"])
    assert count(js) == count(src) >= 96
    joints = {j for s in js["skins"] for j in s["joints"]}
    assert rec.meta["joints"] == len(joints) == len(src["skins"][0]["joints"])
    assert {js["nodes"][j]["name"] for j in joints} >= {"Hips", "LeftArm", "LeftForeArm",
                                                        "LeftUpLeg", "Head"}
    assert len(doc.images) == len(src["images"]) >= 2
    assert {m for _, m in doc.images.values()} == {"image/webp"}
    # Decoded geometry is a standing person: metres, feet on the floor, a plausible height.
    v = mesh["vertices"]
    assert 1.4 < v[:, 1].max() < 2.1 and abs(v[:, 1].min()) < 1e-4
    assert np.isfinite(v).all() and len(mesh["part_names"]) == len(src["meshes"])


def test_corrupt_meshopt_stream_is_one_line(shared_data, tmp_path, libroot):
    data = bytearray((shared_data / "avatars" / AVATARS[0]).read_bytes())
    n = struct.unpack("<I", data[12:16])[0]
    # Scribble over the start of the binary chunk, where the compressed streams live.
    start = 20 + n + 8
    data[start:start + 4096] = bytes(4096)
    bad = tmp_path / "scribbled.glb"
    bad.write_bytes(bytes(data))
    before = snapshot(libroot)
    with pytest.raises(ReskinError) as err:
        import_file(libroot, bad, "bad")
    line = err.value.one_line()
    assert "scribbled.glb" in line and "\n" not in line
    assert snapshot(libroot) == before
