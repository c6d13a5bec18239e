"""The worker finds the Blender shape keys of each glTF mesh of the face map: meshes named
alike, unnamed, shared by two nodes, and a second import of the same file (Blender's ".001")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from reskin.assets.gltf.accessors import BufferBuilder
from reskin.assets.gltf.glb import pack_glb
from reskin.assets.gltf.validate import validate_gltf_bytes

# (glTF mesh name or None, target names); mesh i's triangle sits at x = i.
MESHES = [("Face", ["smile", "blink"]), ("Face", ["smile", "blink"]), (None, ["jaw"]),
          ("Teeth", ["smile", "blink"])]


def _glb() -> bytes:
    doc: dict = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": 0}], "meshes": [],
                 "nodes": [], "scenes": [{"nodes": []}], "scene": 0}
    buf = BufferBuilder(doc)
    for i, (name, targets) in enumerate(MESHES):
        tri = np.array([[i, 0, 0], [i + 0.5, 0, 0], [i, 0.5, 0]], np.float32)
        pos = buf.accessor(tri, target=34962, bounds=True)
        moves = [buf.accessor(np.array([[0, 0.1 * (k + 1), 0], [0, 0, 0], [0, 0, 0]],
                                       np.float32), target=34962, bounds=True)
                 for k in range(len(targets))]
        mesh = {"primitives": [{"attributes": {"POSITION": pos},
                                "targets": [{"POSITION": a} for a in moves]}],
                "extras": {"targetNames": targets}}
        if name:
            mesh["name"] = name
        doc["meshes"].append(mesh)
    # Mesh 3 (Teeth) is used by two nodes: two objects, one datablock.
    for i, mesh in enumerate([0, 1, 2, 3, 3]):
        doc["nodes"].append({"name": f"node{i}", "mesh": mesh})
        doc["scenes"][0]["nodes"].append(i)
    return pack_glb(doc, bytes(buf.data))


def test_each_mesh_key_finds_its_own_shape_keys(tmp_path):
    glb = _glb()
    assert validate_gltf_bytes(glb)["issues"]["numErrors"] == 0
    path = tmp_path / "faces.glb"
    path.write_bytes(glb)
    out = tmp_path / "found.json"
    probe = Path(__file__).with_name("face_meshes_probe.py")
    env = os.environ | {"PROBE_OUT": str(out),
                        "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([sys.executable, str(probe), str(path)], check=True, env=env,
                   capture_output=True, timeout=120)
    imports = json.loads(out.read_text())
    assert len(imports) == 2
    for found in imports:
        assert sorted(found) == ["Face", "Face#1", "Teeth", "mesh2"]
        for key, mesh in (("Face", 0), ("Face#1", 1), ("mesh2", 2), ("Teeth", 3)):
            objs = found[key]
            assert all(abs(o["x"] - (mesh + 1 / 6)) < 1e-4 for o in objs), (key, objs)
            assert all(o["shapes"] == MESHES[mesh][1] for o in objs)
        assert len(found["Teeth"]) == 2 and len({o["data"] for o in found["Teeth"]}) == 1
    # The second import's datablocks are its own (".001" and on), not the first's.
    first = {o["data"] for objs in imports[0].values() for o in objs}
    second = {o["data"] for objs in imports[1].values() for o in objs}
    assert not first & second
