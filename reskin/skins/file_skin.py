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
import json
from collections.abc import Callable

import numpy as np

from reskin.core.errors import ReskinError
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, ProceduralClips
from reskin.rigging.rigged import RiggedCharacter
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
        if g.mesh.startswith("procedural:"):
            raise ReskinError(f"garment {g.name!r}: {g.mesh} is cut to the procedural body's "
                              f"parts and {_UNSUPPORTED}; give a mesh file or asset",
                              file=g.where or wardrobe.file,
                              field=f"{g.spec_field or 'garments'}.mesh")


def _identity(js: dict, value: Callable[[int], object]) -> dict[str, object]:
    """The identity lock's items of a file character's GLB JSON, each accessor as
    ``value(index)``: every primitive's vertex attributes and morph targets (not its indices:
    ``hide`` may drop triangles) and target names, every skin's joints and inverse binds,
    every joint node's rest transform."""
    out: dict[str, object] = {}
    for m, mesh in enumerate(js.get("meshes", [])):
        for p, prim in enumerate(mesh.get("primitives", [])):
            for name, acc in sorted(prim.get("attributes", {}).items()):
                out[f"meshes[{m}].primitives[{p}].{name}"] = value(acc)
            for t, target in enumerate(prim.get("targets", [])):
                for name, acc in sorted(target.items()):
                    out[f"meshes[{m}].primitives[{p}].targets[{t}].{name}"] = value(acc)
        names = mesh.get("extras", {}).get("targetNames")
        if names:
            out[f"meshes[{m}].targetNames"] = ",".join(names)
    joints: set[int] = set()
    for s, skin in enumerate(js.get("skins", [])):
        joints.update(int(j) for j in skin["joints"])
        out[f"skins[{s}].joints"] = ",".join(map(str, skin["joints"]))
        if "inverseBindMatrices" in skin:
            out[f"skins[{s}].inverseBindMatrices"] = value(skin["inverseBindMatrices"])
    for j in sorted(joints):
        node = js["nodes"][j]
        out[f"nodes[{j}]"] = repr([node.get(k) for k in ("name", "translation", "rotation",
                                                          "scale", "matrix")])
    return out


def identity_digest(doc) -> dict[str, object]:
    """:func:`_identity` of a parsed document, each accessor as the SHA-256 of its decoded
    array (a model that cannot be spliced is compared this way)."""
    return _identity(doc.json, lambda index: hashlib.sha256(
        np.ascontiguousarray(doc.accessors[int(index)]).tobytes()).hexdigest())


def identity_items(js: dict, binary: bytes | memoryview) -> dict[str, object]:
    """:func:`_identity` of a spliceable GLB (its JSON and binary chunk), each accessor as the
    stored bytes it reads (:func:`reskin.assets.gltf.splice.accessor_data`, no decoding: equal
    bytes are equal arrays); compare with :func:`check_same_person`."""
    from reskin.assets.gltf.splice import accessor_data

    return _identity(js, lambda index: accessor_data(js, binary, index))


def check_same_person(written: dict, source: dict, what: str) -> None:
    """Refuse (IdentityLockError) when an item of ``source`` differs in ``written`` (two
    :func:`identity_digest` or two :func:`identity_items`)."""
    from reskin.assets.gltf.splice import same_data
    from reskin.skins.identity import IdentityLockError

    def same(a, b) -> bool:
        return same_data(a, b) if isinstance(b, tuple) else a == b

    changed = sorted(k for k in source if not same(written.get(k), source[k]))
    if changed:
        raise IdentityLockError(f"identity lock: the exported {what} changes the character's "
                                f"{', '.join(changed[:3])}; refusing to store it")


def base_color_images(js: dict) -> list[int]:
    """The images some material uses as its base colour, in index order."""
    from reskin.skins.file_regions import base_colour_image

    found = {base_colour_image(js, m) for m in range(len(js.get("materials", [])))}
    return sorted(i for i in found if i is not None)


def _hide_faces(doc, js: dict, binary: bytearray, canon_of_node: dict[int, str],
                hidden: tuple[str, ...]) -> int:
    """Drop hidden regions' triangles from the index buffers of ``js`` (new index accessors
    appended to ``binary``, read from the untouched ``doc``); returns how many went."""
    from reskin.assets.gltf.accessors import BufferBuilder
    from reskin.assets.gltf.scene import triangles
    from reskin.assets.gltf.types import ELEMENT_ARRAY_BUFFER

    codes = [REGIONS.index(r) for r in hidden if r in REGIONS]
    if not codes:
        return 0
    dropped = 0
    for (m, p), regions in _face_regions(doc, _resolve(doc, canon_of_node)).items():
        prim = js["meshes"][m]["primitives"][p]
        n = len(doc.accessors[int(prim["attributes"]["POSITION"])])
        faces = triangles(doc, doc.json["meshes"][m]["primitives"][p], n)
        keep = ~np.isin(regions, codes)
        if keep.all():
            continue
        dropped += int((~keep).sum())
        dtype = np.uint16 if n < 0xFFFF else np.uint32
        prim["indices"] = BufferBuilder(js, binary).accessor(
            faces[keep].reshape(-1).astype(dtype), target=ELEMENT_ARRAY_BUFFER)
        if "mode" in prim:
            prim["mode"] = 4  # strips and fans came out as a triangle list
    return dropped


def _recolour_textures(lib, rigged: RiggedCharacter, doc, js: dict, binary: bytearray,
                       wardrobe: WardrobeSpec, images: dict
                       ) -> tuple[np.ndarray | None, bytearray]:
    """Paint the wardrobe's regions onto every base-colour image of ``doc``: each painted
    image replaces the file's in ``js`` and ``binary`` (as a lossless PNG).

    Returns (the first base-colour image after painting ((h, w, 4) uint8), for the library's
    ``texture.png`` (previews and continuity sheets read it), or None when the file has none;
    the new binary).
    """
    from reskin.assets.gltf.splice import replace_image
    from reskin.skins.fast_png import png_bytes
    from reskin.skins.file_regions import recolour, retexture
    from reskin.skins.file_skin_cache import base_texture, labels

    first = None
    regions = {k: v for k, v in wardrobe.regions.items() if k in REGIONS}
    for index in base_color_images(doc.json):
        if index not in doc.images:
            continue
        image = base_texture(lib, rigged, doc, index)
        painted = image
        if regions:
            found = labels(lib, rigged, doc, index, image, regions)
            for r, name in enumerate(REGIONS):
                look = regions.get(name)
                if look is None:
                    continue
                mask = found == r
                if not mask.any():
                    continue
                if look.texture:
                    painted = retexture(painted, mask, images[look.texture])
                else:
                    painted = recolour(painted, mask, look.color)
        if painted is not image:
            # Lossless, so texels the wardrobe did not touch (the face) keep their values.
            binary = replace_image(js, binary, index, png_bytes(painted), "image/png")
        if first is None:
            first = painted
    return first, binary


def _face_regions(doc, canon_of_node: dict[int, str]) -> dict[tuple[int, int], np.ndarray]:
    """(mesh, primitive) -> (m,) int8 region of each triangle from the skin weights (-1: the
    person), for ``hide``."""
    from reskin.assets.gltf.read import as_float
    from reskin.assets.gltf.scene import triangles
    from reskin.skins.file_regions import face_regions, vertex_regions

    js = doc.json
    out = {}
    for node in js.get("nodes", []):
        if "mesh" not in node or "skin" not in node:
            continue
        joint_nodes = js["skins"][int(node["skin"])]["joints"]
        canon = [canon_of_node.get(int(j)) for j in joint_nodes]
        for p, prim in enumerate(js["meshes"][int(node["mesh"])]["primitives"]):
            attrs = prim["attributes"]
            if "JOINTS_0" not in attrs:
                continue
            n = len(doc.accessors[int(attrs["POSITION"])])
            faces = triangles(doc, prim, n)
            if faces is None:
                continue
            region = vertex_regions(doc.accessors[int(attrs["JOINTS_0"])],
                                    as_float(doc, int(attrs["WEIGHTS_0"])), canon)
            out[(int(node["mesh"]), p)] = face_regions(faces, region)
    return out


def splice_source(model: bytes) -> tuple[bytes, bytes | memoryview]:
    """(JSON chunk, binary chunk) of a rig's ``model.glb`` to splice a skin onto: the file's
    own when it is spliceable (a library model always is), else the file re-emitted plainly
    (decoded, then checked to be the same person)."""
    from reskin.assets.gltf.glb import split_glb
    from reskin.assets.gltf.splice import spliceable
    from reskin.assets.gltf.write import write_glb
    from reskin.rigging.file_rig import read_model

    text, binary = split_glb(memoryview(model))
    if spliceable(json.loads(bytes(text))):
        return bytes(text), binary if binary is not None else b""
    doc = read_model(model)
    plain = write_glb(doc)
    check_same_person(identity_digest(read_model(plain)), identity_digest(doc), "model")
    text, binary = split_glb(plain)
    return text, binary or b""


def make_file_skin_glb(lib, rigged: RiggedCharacter, spec, wardrobe: WardrobeSpec, fps: int,
                       images: dict, log: Log | None = None) -> tuple[bytes, bytes, dict]:
    """A skin of a file character without storing it: (GLB bytes, base-colour PNG, metadata).

    The skin is ``model.glb`` spliced (:mod:`reskin.assets.gltf.splice`): its JSON and binary
    chunk as they are, the painted base colour in place of the file's, and hidden regions'
    index buffers, the clips (cached per rig) and garments appended; so every body accessor
    keeps its bytes, and the lock compares them as bytes.

    images : every texture the spec names, decoded ((h, w, 4) float32, by reference).
    Raises :class:`~reskin.skins.identity.IdentityLockError` for a spec that would change the
    person, before anything is written, and when the written file differs from the person.
    """
    from reskin.assets.gltf.glb import pack_glb, split_glb
    from reskin.assets.gltf.splice import append_part, lazy_document
    from reskin.skins.fast_png import png_bytes
    from reskin.skins.file_skin_cache import clip_animations

    refuse_unsupported(wardrobe)
    text, source_bin = splice_source(lib.read_blob(rigged.record.blobs["model.glb"]))
    doc = lazy_document(text, source_bin)  # the source, read as needed, never edited
    js, binary = json.loads(text), bytearray(source_bin)
    fabric = {ref: (np.clip(img, 0, 1) * 255).astype(np.uint8) for ref, img in images.items()}
    texture, binary = _recolour_textures(lib, rigged, doc, js, binary, wardrobe, fabric)
    canon_of_node = {int(n): c for c, n in zip(rigged.skeleton.names, rigged.artist_nodes,
                                               strict=True) if n >= 0}
    hidden = tuple(h for h in wardrobe.hide if h in REGIONS)
    dropped = _hide_faces(doc, js, binary, canon_of_node, hidden)
    # Clip names become Blender actions: an artist's animation that shares one gets a prefix.
    taken = set(PROCEDURAL_CLIPS)
    for anim in js.get("animations", []):
        if anim.get("name") in taken:
            anim["name"] = f"file:{anim['name']}"
    name = f"{spec.name}.{wardrobe.episode}"
    js.setdefault("asset", {})["extras"] = {"reskin": {"character": rigged.record.ref,
                                                       "skin": name}}
    part, part_bin = clip_animations(lib, rigged, doc, fps)
    if "nodes" in part:
        js["nodes"] = part.pop("nodes")
    append_part(js, binary, part, part_bin)
    garments: list = []
    depth: dict[str, float] = {}
    if wardrobe.garments:
        from reskin.skins.garment_fit import wardrobe_garments
        from reskin.skins.skin_glb import add_to_skin

        garments, depth = wardrobe_garments(
            lib, rigged, wardrobe, ProceduralClips(rigged.skeleton, fps, PROCEDURAL_CLIPS),
            images, log or (lambda m: None), spec.name)
        add_to_skin(js, binary, garments, rigged.skeleton.heads.astype(np.float64),
                    placement=garment_placement(js, binary, rigged))
    glb = pack_glb(js, binary, sort_keys=True)
    # The identity lock on what is written: the packed file's own JSON and binary chunk.
    written_text, written_bin = split_glb(memoryview(glb))
    check_same_person(identity_items(json.loads(bytes(written_text)), written_bin or b""),
                      identity_items(doc.json, source_bin), f"skin {name}")
    if texture is None:
        texture = np.full((4, 4, 4), 200, np.uint8)
    from reskin.rigging.face_names import gltf_face_map

    meta = {"hidden": list(hidden), "hidden_triangles": dropped,
            "face": gltf_face_map(js).to_json(),
            "garments": [{"name": g.spec.name, "bind": g.spec.bind, "joint": g.spec.joint,
                          "vertices": len(g.vertices),
                          "matched": round(float(np.mean(g.matched)), 4),
                          "penetration_m": round(depth.get(g.spec.name, 0.0), 5)}
                         for g in garments],
            "source_rig": rigged.record.meta.get("rig")}
    return glb, png_bytes(preview_texture(texture)), meta


def preview_texture(texture: np.ndarray, size: int = 1024) -> np.ndarray:
    """(h', w', 3) uint8: (h, w, 3|4) ``texture`` at most ``size`` wide, for the library's
    ``texture.png`` (what previews and continuity sheets draw: 1024 is plenty)."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(texture)).convert("RGB")
    w, h = img.size
    if w > size:
        if w % size == 0 and h % (w // size) == 0:
            img = img.reduce(w // size)  # a box filter: each texel the mean of the ones it covers
        else:
            img = img.resize((size, round(size * h / w)), Image.BILINEAR)
    return np.asarray(img)


def _resolve(doc, canon_of_node: dict[int, str]) -> dict[int, str]:
    """Every skin joint's canonical name: its own, or its nearest mapped ancestor's."""
    from reskin.assets.gltf.scene import parent_table

    parents = parent_table(doc.json)
    out = {}
    for skin in doc.json.get("skins", []):
        for j in skin["joints"]:
            k = int(j)
            while k >= 0 and k not in canon_of_node:
                k = int(parents[k])
            if k >= 0:
                out[int(j)] = canon_of_node[k]
    return out


def garment_placement(js: dict, binary: bytearray, rigged: RiggedCharacter):
    """Where garments go on a file character's skeleton: each canonical joint's accessories
    under the artist joint it maps to (or its nearest mapped ancestor), and a new skin over
    those joints whose inverse binds take model-space garment vertices (the body's own skins
    may fold the file's vertex quantisation into theirs)."""
    from reskin.assets.gltf.accessors import BufferBuilder
    from reskin.assets.gltf.scene import world_matrices
    from reskin.skins.skin_glb import GarmentPlacement

    parents = rigged.skeleton.parents
    node_of = []
    for c in range(len(rigged.skeleton.names)):
        k = c
        while k >= 0 and rigged.artist_nodes[k] < 0:
            k = int(parents[k])
        node_of.append(int(rigged.artist_nodes[k if k >= 0 else 0]))
    unique = list(dict.fromkeys(node_of))
    world = world_matrices(js)
    inverse = np.linalg.inv(world[unique])
    acc = BufferBuilder(js, binary).accessor(
        np.ascontiguousarray(inverse.transpose(0, 2, 1).reshape(-1, 16), np.float32))
    js["skins"].append({"name": "garments", "joints": unique, "inverseBindMatrices": acc})
    return GarmentPlacement(joint_nodes=np.asarray(node_of), unplace=np.linalg.inv(
        world[node_of]), skin=len(js["skins"]) - 1,
        slots=np.array([unique.index(n) for n in node_of]))


def texture_and_regions(lib, rigged: RiggedCharacter, size: int = 1024
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The file's own base colour and, white, where its wardrobe regions may paint: two
    (s, s, 3) uint8 images in its UV space (as the library's ``texture.png``), for the
    continuity sheet's base row and its "allowed to change" mask."""
    from PIL import Image

    from reskin.assets.gltf.splice import lazy_document
    from reskin.skins.file_skin_cache import base_texture, labels

    doc = lazy_document(*splice_source(lib.read_blob(rigged.record.blobs["model.glb"])))
    found = [i for i in base_color_images(doc.json) if i in doc.images]
    if not found:
        grey = np.full((size, size, 3), 200, np.uint8)
        return grey, np.zeros_like(grey)
    image = base_texture(lib, rigged, doc, found[0])
    regions = labels(lib, rigged, doc, found[0], image, {})

    def small(a: np.ndarray, resample: int) -> np.ndarray:
        return np.asarray(Image.fromarray(a).resize((size, size), resample))
    mask = np.repeat(((regions >= 0) * 255).astype(np.uint8)[..., None], 3, axis=2)
    return small(np.ascontiguousarray(image[..., :3]), Image.BILINEAR), small(mask, Image.NEAREST)
