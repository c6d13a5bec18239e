"""What every skin of a character from a file shares, made once per rig and kept in the
library's derived cache (:mod:`reskin.assets.derived`): its base-colour texture decoded, the
wardrobe regions on it found from the skin weights, and the procedural clips retargeted onto
its skeleton as glTF animations. None of them depends on a wardrobe, so a new episode's skin
only paints, encodes and splices (see :mod:`reskin.skins.file_skin`).

Each entry is keyed by the rig's content hash and a version: bump the version when the code
that makes the entry changes what it makes.
"""

from __future__ import annotations

import copy
import json
import struct

import numpy as np

from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, PROCEDURAL_VERSION
from reskin.rigging.rigged import RiggedCharacter

KIND = "file-skin"
TEXTURE_VERSION = "1"
CLIPS_VERSION = "1"
REGIONS_KIND = "file-regions"
REGIONS_VERSION = "1"


def _raw(image: np.ndarray) -> bytes:
    return json.dumps(list(image.shape)).encode() + b"\n" + np.ascontiguousarray(image).tobytes()


def _unraw(data: bytes) -> np.ndarray | None:
    head, _, body = data.partition(b"\n")
    shape = tuple(json.loads(head))
    if len(body) != int(np.prod(shape)):
        return None
    return np.frombuffer(body, np.uint8).reshape(shape)


def base_texture(lib, rigged: RiggedCharacter, doc, index: int) -> np.ndarray:
    """(h, w, 4) uint8 RGBA of image ``index`` of the rig's ``model.glb`` (``doc``), decoded
    once per rig (read-only: a caller that paints copies it)."""
    from PIL import Image

    from reskin.assets import derived
    from reskin.core.hashing import key_of

    owner = rigged.record.content_hash
    key = key_of(KIND, "texture", TEXTURE_VERSION, owner, index)
    data = derived.read(lib, KIND, owner, key)
    image = _unraw(data) if data is not None else None
    if image is None:
        import io

        image = np.asarray(Image.open(io.BytesIO(doc.images[index][0])).convert("RGBA"))
        derived.write(lib, KIND, owner, key, _raw(image))
    return image


def labels(lib, rigged: RiggedCharacter, doc, index: int, image: np.ndarray,
           regions: dict) -> np.ndarray:
    """(h, w) int8 wardrobe region of each texel of base-colour image ``index``.

    Regions found from the skin weights depend only on the character, so that map is made
    once per rig and kept; a wardrobe that finds a region by material or mask gets its own.
    """
    from reskin.assets import derived
    from reskin.assets.arrays import pack_arrays, unpack_arrays
    from reskin.core.hashing import key_of
    from reskin.skins.file_regions import gltf_atlas_primitives, region_map
    from reskin.skins.garments import read_ref

    selectors = {k: v for k, v in regions.items() if v.material or v.mask}
    if selectors:
        return region_map(gltf_atlas_primitives(doc, index), regions, image.shape[:2], image,
                          read=lambda ref: read_ref(lib, ref)[0])
    owner = rigged.record.content_hash
    key = key_of(REGIONS_KIND, REGIONS_VERSION, owner, index)
    data = derived.read(lib, REGIONS_KIND, owner, key)
    if data is not None:
        found = unpack_arrays(data).get("labels")
        if found is not None and found.shape == image.shape[:2]:
            return found
    found = region_map(gltf_atlas_primitives(doc, index), {}, image.shape[:2], image)
    derived.write(lib, REGIONS_KIND, owner, key, pack_arrays({"labels": found}))
    return found


def clip_animations(lib, rigged: RiggedCharacter, doc, fps: float) -> tuple[dict, bytes]:
    """The procedural clips on the file's own joints as a glTF part: ({"accessors",
    "bufferViews", "animations"[, "nodes"]}, its binary), to append with
    :func:`reskin.assets.gltf.splice.append_part`. Made once per rig and frame rate.
    "nodes" is there only when writing the clips had to change a joint node (a matrix made
    TRS), and is then the document's whole node list."""
    from reskin.assets import derived
    from reskin.assets.gltf.node_anim import add_node_animations
    from reskin.core.hashing import key_of

    owner = rigged.record.content_hash
    key = key_of(KIND, "clips", CLIPS_VERSION, owner, fps, PROCEDURAL_VERSION,
                 list(PROCEDURAL_CLIPS))
    data = derived.read(lib, KIND, owner, key)
    if data is not None and len(data) >= 8:
        (n,) = struct.unpack_from("<Q", data)
        return json.loads(data[8:8 + n]), data[8 + n:]
    nodes, clips = retargeted_clips(rigged, doc, fps)
    part = {"nodes": copy.deepcopy(doc.json["nodes"]), "buffers": [{"byteLength": 0}]}
    binary = bytearray()
    add_node_animations(part, binary, nodes, clips)
    if part["nodes"] == doc.json["nodes"]:
        del part["nodes"]
    del part["buffers"]
    text = json.dumps(part, separators=(",", ":"), allow_nan=False).encode()
    derived.write(lib, KIND, owner, key, struct.pack("<Q", len(text)) + text + bytes(binary))
    return part, bytes(binary)


def retargeted_clips(rigged: RiggedCharacter, doc, fps: float) -> tuple[list[int], list]:
    """The procedural clips on the file's own joints: (node of each joint, NodeClips)."""
    from reskin.rigging.node_skeleton import node_skeleton, retarget_to_nodes
    from reskin.rigging.procedural_clips import ProceduralClips

    ns = node_skeleton(doc, None)
    artist = {int(n): i for i, n in enumerate(ns.nodes)}
    mapping = {c: artist[int(n)] for c, n in zip(rigged.skeleton.names, rigged.artist_nodes,
                                                 strict=True) if int(n) in artist}
    clips = ProceduralClips(rigged.skeleton, fps, PROCEDURAL_CLIPS).clips
    return list(ns.nodes), [retarget_to_nodes(c, rigged.skeleton, ns, mapping) for c in clips]
