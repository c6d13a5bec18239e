"""GLB export: a small real rig through the real Khronos validator, pygltflib and trimesh."""

from __future__ import annotations

import io

import numpy as np
import pygltflib as gl
import pytest
import trimesh
from PIL import Image

from reskin import __version__
from reskin.assets.gltf.character import write_character_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.core.clip import Clip
from reskin.core.mesh import Mesh
from reskin.core.skeleton import Skeleton

AROUND, RINGS, HEIGHT, RADIUS = 12, 7, 1.5, 0.2
JOINT_NAMES = ("hips", "spine", "chest")


def _tube() -> Mesh:
    """An open cylinder along +Y: welded around, with a UV seam where u wraps from 1 to 0.

    Positions: RINGS * AROUND welded vertices; UVs: RINGS * (AROUND + 1), the seam column twice.
    Three parts by height, like a lower/middle/upper body.
    """
    ang = 2 * np.pi * np.arange(AROUND) / AROUND
    ys = np.linspace(0.0, HEIGHT, RINGS)
    verts = np.array(
        [[RADIUS * np.sin(a), y, RADIUS * np.cos(a)] for y in ys for a in ang], np.float32
    )
    uvs = np.array(
        [[c / AROUND, r / (RINGS - 1)] for r in range(RINGS) for c in range(AROUND + 1)],
        np.float32,
    )
    faces, uv_faces, parts = [], [], []
    for r in range(RINGS - 1):
        for c in range(AROUND):
            v00, v01 = r * AROUND + c, r * AROUND + (c + 1) % AROUND
            v10, v11 = v00 + AROUND, v01 + AROUND
            t00, t01 = r * (AROUND + 1) + c, r * (AROUND + 1) + c + 1
            t10, t11 = t00 + AROUND + 1, t01 + AROUND + 1
            faces += [[v00, v01, v11], [v00, v11, v10]]
            uv_faces += [[t00, t01, t11], [t00, t11, t10]]
            parts += [min(3 * r // (RINGS - 1), 2)] * 2
    return Mesh(
        vertices=verts,
        faces=np.array(faces, np.int32),
        uvs=uvs,
        uv_faces=np.array(uv_faces, np.int32),
        parts=np.array(parts, np.int16),
        part_names=("lower", "middle", "upper"),
    )


def _chain() -> Skeleton:
    heads = np.array([[0, 0, 0], [0, 0.5, 0], [0, 1.0, 0]], np.float32)
    tails = np.array([[0, 0.5, 0], [0, 1.0, 0], [0, 1.5, 0]], np.float32)
    return Skeleton(JOINT_NAMES, np.array([-1, 0, 1], np.int32), heads, tails)


def _weights(mesh: Mesh, skel: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) joints and weights by inverse squared distance to each bone segment.

    The fourth influence is unused (joint 0, weight 0), as rigs with fewer than 4 often are.
    """
    p = mesh.vertices.astype(np.float64)
    a, b = skel.heads.astype(np.float64), skel.tails.astype(np.float64)
    ab = b - a
    t = np.clip(np.einsum("njk,jk->nj", p[:, None] - a[None], ab) / (ab * ab).sum(1), 0, 1)
    d = np.linalg.norm(p[:, None] - (a[None] + t[..., None] * ab[None]), axis=2)
    w = 1.0 / (d + 0.05) ** 2
    w /= w.sum(1, keepdims=True)
    joints = np.zeros((len(p), 4), np.uint16)
    joints[:, :3] = [0, 1, 2]
    weights = np.zeros((len(p), 4), np.float32)
    weights[:, :3] = w
    return joints, weights


def _bend_clip(skel: Skeleton) -> Clip:
    """5 frames at 24 fps bending the spine 0..60 degrees about Z; hips drift along +X.

    Lists joints in a different order than the skeleton and names one it lacks (ignored).
    """
    f = 5
    half = np.radians(np.linspace(0, 60, f)) / 2
    rot = np.zeros((f, 3, 4), np.float32)
    rot[..., 3] = 1.0
    rot[:, 0] = np.stack([0 * half, 0 * half, np.sin(half), np.cos(half)], 1)  # spine
    root = np.repeat(skel.heads[:1], f, axis=0) + np.linspace(0, 0.1, f)[:, None] * [1, 0, 0]
    return Clip("bend", 24.0, ("spine", "hips", "tail"), rot, root.astype(np.float32))


def _png() -> bytes:
    yy, xx = np.mgrid[0:16, 0:16]
    rgb = np.stack([xx * 16, yy * 16, (xx + yy) * 8], -1).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def rig() -> dict:
    mesh, skel = _tube(), _chain()
    joints, weights = _weights(mesh, skel)
    kw = dict(
        name="lin",
        texture_png=_png(),
        base_color=(1.0, 0.9, 0.8, 1.0),
        clips=[_bend_clip(skel)],
        extras={"reskin": {"asset": "lin@1", "source_sha256": "ab" * 32}, "tags": []},
    )
    glb = write_character_glb(mesh, skel, joints, weights, **kw)
    return {"mesh": mesh, "skel": skel, "joints": joints, "weights": weights, "kw": kw, "glb": glb}


def _read(gltf: gl.GLTF2, index: int) -> np.ndarray:
    """Accessor ``index`` of a GLB as an (count, width) array (no sparse, no stride)."""
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = {
        gl.FLOAT: np.float32,
        gl.UNSIGNED_BYTE: np.uint8,
        gl.UNSIGNED_SHORT: np.uint16,
        gl.UNSIGNED_INT: np.uint32,
    }[acc.componentType]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    data = np.frombuffer(gltf.binary_blob(), dtype, acc.count * width, start)
    return data.reshape(acc.count, width)


def test_validator_reports_no_errors(rig: dict) -> None:
    report = validate_gltf_bytes(rig["glb"])
    assert errors_of(report) == []
    assert report["issues"]["numErrors"] == 0
    # The one warning is by design: the skinned mesh node sits under the character node (one
    # subtree per character). glTF ignores its parents' transforms, which is harmless here as
    # the character node is identity and the joints, which do place the mesh, are under it too.
    warnings = [
        (m["code"], m.get("pointer")) for m in report["issues"]["messages"] if m["severity"] == 1
    ]
    assert warnings == [("NODE_SKINNED_MESH_NON_ROOT", "/nodes/1")]


def test_structure_reads_back(rig: dict) -> None:
    mesh, skel = rig["mesh"], rig["skel"]
    gltf = gl.GLTF2.load_from_bytes(rig["glb"])
    src, uv, faces = mesh.split_for_export()
    assert len(src) == RINGS * (AROUND + 1) > len(mesh.vertices)  # split at the seam

    assert gltf.asset.generator == f"reskin {__version__}"
    assert gltf.asset.extras == rig["kw"]["extras"]  # empty list kept verbatim

    prim = gltf.meshes[0].primitives[0]
    assert gltf.accessors[prim.attributes.POSITION].count == len(src)
    np.testing.assert_array_equal(_read(gltf, prim.attributes.POSITION), mesh.vertices[src])
    np.testing.assert_array_equal(_read(gltf, prim.indices).reshape(-1, 3), faces)
    np.testing.assert_allclose(_read(gltf, prim.attributes.TEXCOORD_0)[:, 1], 1 - uv[:, 1])
    normals = _read(gltf, prim.attributes.NORMAL)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    weights = _read(gltf, prim.attributes.WEIGHTS_0)
    joints = _read(gltf, prim.attributes.JOINTS_0)
    assert joints.dtype == np.uint8
    np.testing.assert_allclose(weights.sum(1, dtype=np.float32), 1.0, atol=1e-7)
    np.testing.assert_allclose(weights, rig["weights"][src], atol=1e-6)
    assert (joints[weights == 0] == 0).all()

    # Scene root -> character node -> mesh node + joint hierarchy.
    (root,) = gltf.scenes[gltf.scene].nodes
    character = gltf.nodes[root]
    assert character.name == "lin"
    (skin,) = gltf.skins
    mesh_node = next(gltf.nodes[c] for c in character.children if gltf.nodes[c].mesh is not None)
    assert mesh_node.skin == 0
    assert [gltf.nodes[j].name for j in skin.joints] == list(JOINT_NAMES)
    assert len(skin.joints) == len(skel.names)
    assert skin.skeleton == skin.joints[0] and skin.skeleton in character.children
    spine = gltf.nodes[skin.joints[1]]
    assert spine.translation == pytest.approx([0, 0.5, 0])
    assert gltf.nodes[skin.joints[0]].children == [skin.joints[1]]
    ibm = _read(gltf, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    np.testing.assert_array_equal(ibm[:, :3, 3], -skel.heads)

    (anim,) = gltf.animations
    assert anim.name == "bend"
    paths = sorted((gltf.nodes[c.target.node].name, c.target.path) for c in anim.channels)
    assert paths == [("hips", "rotation"), ("hips", "translation"), ("spine", "rotation")]
    for sampler in anim.samplers:
        assert sampler.interpolation == "LINEAR"
        t = gltf.accessors[sampler.input]
        assert t.count == 5
        assert t.min == [0.0] and t.max == [pytest.approx(4 / 24)]
    spine_ch = next(c for c in anim.channels if gltf.nodes[c.target.node].name == "spine")
    q = _read(gltf, anim.samplers[spine_ch.sampler].output)
    np.testing.assert_allclose(
        q[-1], [0, 0, np.sin(np.radians(30)), np.cos(np.radians(30))], atol=1e-6
    )


def test_texture_embedded_unchanged(rig: dict) -> None:
    gltf = gl.GLTF2.load_from_bytes(rig["glb"])
    (image,) = gltf.images
    assert image.mimeType == "image/png"
    view = gltf.bufferViews[image.bufferView]
    png = gltf.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    assert png == rig["kw"]["texture_png"]
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(decoded, np.asarray(Image.open(io.BytesIO(_png()))))
    pbr = gltf.materials[0].pbrMetallicRoughness
    assert pbr.baseColorTexture.index == 0
    assert gltf.textures[0].source == 0


def test_deterministic(rig: dict) -> None:
    kw = dict(rig["kw"])
    # Equal extras in another key order must not change a byte.
    kw["extras"] = dict(reversed(list(kw["extras"].items())))
    again = write_character_glb(rig["mesh"], rig["skel"], rig["joints"], rig["weights"], **kw)
    assert again == rig["glb"]


def test_trimesh_round_trip(rig: dict) -> None:
    mesh = rig["mesh"]
    src, uv, _ = mesh.split_for_export()
    scene = trimesh.load(io.BytesIO(rig["glb"]), file_type="glb", process=False)
    (geom,) = scene.geometry.values()
    assert np.allclose(geom.vertices, mesh.vertices[src], atol=1e-6)
    assert np.allclose(geom.visual.uv, uv, atol=1e-6)  # trimesh flips v back to OBJ's convention


def test_minimal_export_validates(rig: dict) -> None:
    """No texture, no clips, no extras: still a valid GLB."""
    glb = write_character_glb(rig["mesh"], rig["skel"], rig["joints"], rig["weights"], name="x")
    assert errors_of(validate_gltf_bytes(glb)) == []
    assert gl.GLTF2.load_from_bytes(glb).animations == []


def test_errors_of_reports_real_errors() -> None:
    report = validate_gltf_bytes(b'{"asset": {}}')
    errors = errors_of(report)
    assert errors and any("/asset" in e for e in errors)


def test_missing_validator_names_the_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RESKIN_GLTF_VALIDATOR", str(tmp_path))
    with pytest.raises(RuntimeError, match=str(tmp_path)):
        validate_gltf_bytes(b"{}")


def test_bad_weights_rejected(rig: dict) -> None:
    weights = rig["weights"].copy()
    weights[3] = 0
    with pytest.raises(ValueError, match="no skin weight"):
        write_character_glb(rig["mesh"], rig["skel"], rig["joints"], weights, name="x")
