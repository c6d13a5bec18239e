"""Skins of a character that came from a file: its own GLB, re-coloured, with the clips added.

The rigged ``model.glb`` is the person: every mesh, vertex, morph target, joint, bind matrix
and skin weight in it is carried into every skin bit for bit (checked on the written file).
A wardrobe changes only what it may:

- region colours and fabrics, painted onto the base-colour texture where the region shows
  (found by material, by a mask image in the character's UV space, or from the skin weights),
  keeping the texture's shading (see :mod:`reskin.skins.file_regions`);
- ``hide``: a region's triangles are left out of the index buffers (the vertices stay);
- the procedural clips, retargeted onto the file's own skeleton, as glTF animations.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np

from reskin.core.errors import ReskinError
from reskin.skins.wardrobe import REGIONS, WardrobeSpec

Log = Callable[[str], None]
_UNSUPPORTED = "is not supported on a character from a file yet"


def refuse_unsupported(wardrobe: WardrobeSpec) -> None:
    """One line for a spec field a file character cannot take (rather than ignoring it)."""
    from reskin.skins.identity import IdentityLockError
    from reskin.skins.wardrobe import LOCKED_PARTS

    if wardrobe.padding:
        raise IdentityLockError("identity lock: padding would reshape an imported character's "
                                "body; a wardrobe may only recolour or hide its regions",
                                file=wardrobe.file, field="padding")
    if set(wardrobe.hide) & set(LOCKED_PARTS):
        raise IdentityLockError("identity lock: the head is the person and cannot be hidden",
                                file=wardrobe.file, field="hide")
    for key, look in wardrobe.regions.items():
        if look.pattern != "solid":
            raise ReskinError(f"pattern {look.pattern!r} {_UNSUPPORTED}: use color or texture",
                              file=wardrobe.file, field=f"regions.{key}.pattern")
    if wardrobe.decals:
        raise ReskinError(f"decals {_UNSUPPORTED}", file=wardrobe.file, field="decals")
    for g in wardrobe.garments:
        if g.bind != "joint":
            raise ReskinError(f"garment {g.name!r}: bind: {g.bind} {_UNSUPPORTED} (bind: joint "
                              "works)", file=wardrobe.file, field=g.spec_field or "garments")


def identity_digest(doc) -> dict[str, str]:
    """What the identity lock compares on a file character, as SHA-256 per item: every
    primitive's vertex attributes and morph targets (not its indices: ``hide`` may drop
    triangles), every skin's joints and inverse binds, every joint node's rest transform."""
    js = doc.json

    def h(index: int) -> str:
        return hashlib.sha256(np.ascontiguousarray(doc.accessors[int(index)]).tobytes()
                              ).hexdigest()

    out: dict[str, str] = {}
    for m, mesh in enumerate(js.get("meshes", [])):
        for p, prim in enumerate(mesh.get("primitives", [])):
            for name, acc in sorted(prim.get("attributes", {}).items()):
                out[f"meshes[{m}].primitives[{p}].{name}"] = h(acc)
            for t, target in enumerate(prim.get("targets", [])):
                for name, acc in sorted(target.items()):
                    out[f"meshes[{m}].primitives[{p}].targets[{t}].{name}"] = h(acc)
        names = mesh.get("extras", {}).get("targetNames")
        if names:
            out[f"meshes[{m}].targetNames"] = ",".join(names)
    joints: set[int] = set()
    for s, skin in enumerate(js.get("skins", [])):
        joints.update(int(j) for j in skin["joints"])
        out[f"skins[{s}].joints"] = ",".join(map(str, skin["joints"]))
        if "inverseBindMatrices" in skin:
            out[f"skins[{s}].inverseBindMatrices"] = h(skin["inverseBindMatrices"])
    for j in sorted(joints):
        node = js["nodes"][j]
        out[f"nodes[{j}]"] = repr([node.get(k) for k in ("name", "translation", "rotation",
                                                          "scale", "matrix")])
    return out


def check_same_person(written: dict[str, str], source: dict[str, str], what: str) -> None:
    from reskin.skins.identity import IdentityLockError

    changed = sorted(k for k in source if written.get(k) != source[k])
    if changed:
        raise IdentityLockError(f"identity lock: the exported {what} changes the character's "
                                f"{', '.join(changed[:3])}; refusing to store it")


def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def _encode(image: np.ndarray, mime: str) -> bytes:
    """Lossless, so texels the wardrobe did not touch (the face) keep their exact values."""
    from PIL import Image

    buf = io.BytesIO()
    img = Image.fromarray(image)
    if mime == "image/webp":
        img.save(buf, format="WEBP", lossless=True, quality=60, method=2)
    else:
        img.save(buf, format="PNG" if mime == "image/png" else "JPEG", **(
            {"compress_level": 1} if mime == "image/png" else {"quality": 95}))
    return buf.getvalue()


def base_color_images(js: dict) -> dict[int, list[int]]:
    """image index -> the materials whose base colour it is."""
    out: dict[int, list[int]] = {}
    for m, mat in enumerate(js.get("materials", [])):
        tex = mat.get("pbrMetallicRoughness", {}).get("baseColorTexture")
        if tex is None:
            continue
        texture = js["textures"][int(tex["index"])]
        src = texture.get("source")
        for ext in texture.get("extensions", {}).values():
            src = ext.get("source", src)
        if src is not None:
            out.setdefault(int(src), []).append(m)
    return out


def _hide_faces(doc, region_of_face: dict[tuple[int, int], np.ndarray],
                hidden: tuple[str, ...]) -> int:
    """Drop hidden regions' triangles from the index buffers; returns how many went."""
    from reskin.assets.gltf.repair import _new_accessor
    from reskin.assets.gltf.scene import triangles
    from reskin.assets.gltf.types import COMPONENT_TYPES

    codes = [REGIONS.index(r) for r in hidden if r in REGIONS]
    if not codes:
        return 0
    dropped = 0
    for (m, p), regions in region_of_face.items():
        prim = doc.json["meshes"][m]["primitives"][p]
        n = len(doc.accessors[int(prim["attributes"]["POSITION"])])
        faces = triangles(doc, prim, n)
        keep = ~np.isin(regions, codes)
        if keep.all():
            continue
        dropped += int((~keep).sum())
        dtype = np.uint16 if n < 0xFFFF else np.uint32
        prim["indices"] = _new_accessor(doc, faces[keep].reshape(-1).astype(dtype), {
            "componentType": COMPONENT_TYPES[np.dtype(dtype)], "type": "SCALAR"})
    return dropped
