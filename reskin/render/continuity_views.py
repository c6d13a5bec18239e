"""Drawing a continuity sheet's rows: one character's body and skins, posed and lit alike by the
preview renderer, and the difference heat maps between them (the job is
:mod:`reskin.pipeline.continuity`)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from reskin.core.mesh import Mesh
from reskin.rigging.rigged import RiggedCharacter

VIEWS = (("front", 0.0), ("three-quarter", 35.0), ("back", 180.0))
POSE = ("idle", 0)
"""Clip and frame every view is drawn in."""
DIFF_THRESHOLD = 24
"""A pixel 'differs' when a channel changes by more than this (0..255)."""


@dataclass
class SkinView:
    """One row: a body texture, the body faces shown, and the garments (as rigs of their own)."""

    label: str
    texture: np.ndarray
    keep: np.ndarray
    garments: list[tuple[RiggedCharacter, np.ndarray]]


def garments_of_glb(glb: bytes, rig: RiggedCharacter, names: set[str] | None = None
                    ) -> list[tuple[RiggedCharacter, np.ndarray]]:
    """The garments a skin GLB adds to the body, each as a (rig, texture) the preview can pose.

    Reads back what was published (not the spec), so the sheet shows exactly the asset.
    names : the garments' node names (the skin's ``meta["garments"]``); needed for a character
    from a file, whose own meshes are many, and whose garments hang on the artist's joints.
    """
    from PIL import Image

    from reskin.assets.gltf.accessors import accessor_array
    from reskin.assets.gltf.glb import read_glb

    doc, binary = read_glb(glb)
    skin_joints = doc["skins"][0]["joints"]
    parent_of = {c: i for i, n in enumerate(doc["nodes"]) for c in n.get("children", [])}
    from_file = rig.artist_nodes is not None
    canon_of = {int(n): c for c, n in enumerate(rig.artist_nodes)
                if n >= 0} if from_file else {}
    out = []
    for node_index, node in enumerate(doc["nodes"]):
        mi = node.get("mesh")
        if mi is None or (mi == 0 and not from_file):
            continue
        if names is not None and node.get("name") not in names:
            continue
        prim = doc["meshes"][mi]["primitives"][0]
        a = prim["attributes"]
        v = accessor_array(doc, binary, a["POSITION"]).astype(np.float32)
        f = accessor_array(doc, binary, prim["indices"]).reshape(-1, 3).astype(np.int32)
        if "skin" in node:
            joints = accessor_array(doc, binary, a["JOINTS_0"]).astype(np.uint16)
            weights = accessor_array(doc, binary, a["WEIGHTS_0"]).astype(np.float32)
            if from_file:  # slots of the garment skin -> its artist joints -> canonical joints
                nodes = np.asarray(doc["skins"][node["skin"]]["joints"])
                joints = np.vectorize(lambda k: canon_of.get(int(k), 0))(nodes[joints]).astype(
                    np.uint16)
        elif from_file:  # model-space vertices under the artist joint a canonical one maps to
            joints = np.zeros((len(v), 4), np.uint16)
            joints[:, 0] = canon_of.get(parent_of[node_index], 0)
            weights = np.zeros((len(v), 4), np.float32)
            weights[:, 0] = 1.0
        else:
            ji = skin_joints.index(parent_of[node_index])
            v = v + rig.skeleton.heads[ji]
            joints = np.zeros((len(v), 4), np.uint16)
            joints[:, 0] = ji
            weights = np.zeros((len(v), 4), np.float32)
            weights[:, 0] = 1.0
        pbr = doc["materials"][prim["material"]].get("pbrMetallicRoughness", {})
        if "TEXCOORD_0" in a and "baseColorTexture" in pbr:
            uv = accessor_array(doc, binary, a["TEXCOORD_0"]).astype(np.float32)
            uv = np.column_stack([uv[:, 0], 1.0 - uv[:, 1]])  # the Mesh keeps v up
            image = doc["images"][doc["textures"][pbr["baseColorTexture"]["index"]]["source"]]
            view = doc["bufferViews"][image["bufferView"]]
            start = view.get("byteOffset", 0)
            texture = np.asarray(Image.open(io.BytesIO(bytes(
                binary[start:start + view["byteLength"]]))).convert("RGB"))
        else:
            uv = np.zeros((len(v), 2), np.float32)
            lin = np.asarray(pbr.get("baseColorFactor", [0.5, 0.5, 0.5, 1])[:3])
            srgb = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
            texture = np.tile((np.clip(srgb, 0, 1) * 255).astype(np.uint8), (4, 4, 1))
        mesh = Mesh(vertices=v, faces=f, uvs=uv, uv_faces=f, parts=np.zeros(len(f), np.int16),
                    part_names=("garment",))
        out.append((RiggedCharacter(record=rig.record, mesh=mesh, skeleton=rig.skeleton,
                                    joints=joints, weights=weights,
                                    position=rig.position[:1, :1], part=rig.part[:1, :1]),
                    texture))
    return out


def _body(rig: RiggedCharacter, keep: np.ndarray) -> RiggedCharacter:
    m = rig.mesh
    mesh = Mesh(vertices=m.vertices, faces=m.faces[keep], uvs=m.uvs, uv_faces=m.uv_faces[keep],
                parts=m.parts[keep], part_names=m.part_names)
    return RiggedCharacter(record=rig.record, mesh=mesh, skeleton=rig.skeleton,
                           joints=rig.joints, weights=rig.weights, position=rig.position,
                           part=rig.part)


def render_row(renderer, rig: RiggedCharacter, row: SkinView, fps: int,  # noqa: ANN001
               garments_only: bool = False) -> np.ndarray:
    """(views, h, w, 4) uint8: ``row`` in every view of :data:`VIEWS`."""
    from reskin.render.preview import PreviewCharacter

    height = float(rig.mesh.height)
    characters, members = {}, []
    parts = [] if garments_only else [(_body(rig, row.keep), row.texture)]
    for i, (r, tex) in enumerate(parts + row.garments):
        key = f"m{i}"
        characters[key] = PreviewCharacter.from_rig(r, tex, fps, (POSE[0],))
        members.append(key)
    target = [0.0, height * 0.55, 0.0]
    camera = {"location": [0.0, height * 0.55, height * 1.9], "target": target,
              "lens_mm": 50.0, "sensor_mm": 24.0}
    light = {"type": "SUN", "location": [0.6, height * 1.5, height * 2.0], "target": target}
    out = []
    for _, yaw in VIEWS:
        shot = {"frame_count": 1, "camera": camera, "lights": [light],
                "cast": [{"key": k, "clip": POSE[0], "position": [0.0, 0.0, 0.0],
                          "facing_deg": yaw} for k in members]}
        out.append(renderer.render_shot(shot, characters, frames=[POSE[1]])[0])
    return np.stack(out)


def wardrobe_texture(rig: RiggedCharacter) -> np.ndarray:
    """(s, s, 3) uint8 atlas: white on every body part a wardrobe region may cover."""
    from reskin.skins.wardrobe import PART_REGION

    ids = [i for i, p in enumerate(rig.mesh.part_names) if p in PART_REGION]
    mask = np.isin(rig.part, ids)
    return np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)


def heat_map(base: np.ndarray, skin: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, float]:
    """Difference image of two renders (h, w, 4) and the share of differing pixels that lie in
    ``allowed`` (h, w) bool. Heat runs black-red-yellow; allowed areas are tinted blue."""
    diff = np.abs(base[..., :3].astype(np.int16) - skin[..., :3].astype(np.int16)).max(axis=-1)
    differs = diff > DIFF_THRESHOLD
    share = float((differs & allowed).sum() / max(differs.sum(), 1))
    t = np.clip(diff / 160.0, 0, 1)
    img = np.zeros(diff.shape + (3,), np.float32)
    img[..., 0] = np.clip(2 * t, 0, 1)
    img[..., 1] = np.clip(2 * t - 1, 0, 1)
    img[..., 2] = np.where(allowed & (t < 0.1), 0.25, 0.0)
    return (img * 255).astype(np.uint8), share


FACE_ROW = (("neutral", {}), ("happy", {"happy": 1.0}), ("sad", {"sad": 1.0}),
            ("angry", {"angry": 1.0}), ("blink", {"blinkLeft": 1.0, "blinkRight": 1.0}))
"""The continuity sheet's face row: neutral, three emotions and a blink."""


def target_weights(face: dict | None, channels: dict[str, float], where: list[tuple[int, int]],
                   mesh_keys: list[str]) -> np.ndarray:
    """(k,) weights of the morph targets ``where`` ((glTF mesh, target) each) that play the
    canonical ``channels`` ({channel: amount}) through a face map (FaceMap JSON)."""
    out = np.zeros(len(where))
    if not face:
        return out
    index = {w: i for i, w in enumerate(where)}
    for channel, amount in channels.items():
        for mesh_key, target, weight in face.get("channels", {}).get(channel, {}).get("binds",
                                                                                       []):
            if mesh_key in mesh_keys:
                i = index.get((mesh_keys.index(mesh_key), int(target)))
                if i is not None:
                    out[i] += amount * weight
    return np.clip(out, 0.0, 1.0)


def face_row(renderer, rig: RiggedCharacter, texture: np.ndarray, morphs,  # noqa: ANN001
             weights: list[np.ndarray], fps: int, size: int) -> np.ndarray:
    """(n, size, size, 4) uint8 close-ups of the face, one per (k,) morph weights vector."""
    from reskin.render.preview import PreviewCharacter

    sk = rig.skeleton
    head = sk.heads[sk.index("head")].astype(np.float64)
    top = float(rig.mesh.vertices[:, 1].max())
    centre = [float(head[0]), (float(head[1]) + top) / 2, float(head[2])]
    span = max(top - float(head[1]), 0.12)
    camera = {"location": [centre[0], centre[1], centre[2] + 4.5 * span], "target": centre,
              "lens_mm": 50.0, "sensor_mm": 24.0}
    light = {"type": "SUN", "location": [0.4, centre[1] + 0.6, 2.0], "target": centre}
    ch = PreviewCharacter.from_rig(rig, texture, fps, (POSE[0],))
    ch.morphs = morphs
    out = []
    for w in weights:
        shot = {"frame_count": 1, "camera": camera, "lights": [light],
                "cast": [{"key": "face", "clip": POSE[0], "position": [0.0, 0.0, 0.0],
                          "facing_deg": 0.0, "morph_weights": w if morphs is not None else None}]}
        out.append(renderer.render_shot(shot, {"face": ch}, frames=[POSE[1]])[0])
    return np.stack(out)
