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
        # Method 0: a tenth of the default's time for a file a fifth larger.
        img.save(buf, format="WEBP", lossless=True, quality=0, method=0)
    else:
        img.save(buf, format="PNG" if mime == "image/png" else "JPEG", **(
            {"compress_level": 1} if mime == "image/png" else {"quality": 95}))
    return buf.getvalue()


def base_color_images(js: dict) -> list[int]:
    """The images some material uses as its base colour, in index order."""
    from reskin.skins.file_regions import base_colour_image

    found = {base_colour_image(js, m) for m in range(len(js.get("materials", [])))}
    return sorted(i for i in found if i is not None)


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


REGIONS_KIND = "file-regions"
REGIONS_VERSION = "1"


def _labels(lib, rigged: RiggedCharacter, doc, index: int, image: np.ndarray,
            regions: dict) -> np.ndarray:
    """(h, w) int8 wardrobe region of each texel of base-colour image ``index``.

    Regions found from the skin weights depend only on the character, so that map is made
    once per rig and kept in the library's derived cache; a wardrobe that finds a region by
    material or mask gets its own map.
    """
    from reskin.assets import derived
    from reskin.assets.arrays import pack_arrays, unpack_arrays
    from reskin.core.hashing import key_of
    from reskin.skins.file_regions import gltf_atlas_primitives, region_map
    from reskin.skins.garments import read_ref

    prims = gltf_atlas_primitives(doc, index)
    selectors = {k: v for k, v in regions.items() if v.material or v.mask}
    if selectors:
        return region_map(prims, regions, image.shape[:2], image,
                          read=lambda ref: read_ref(lib, ref)[0])
    owner = rigged.record.content_hash
    key = key_of(REGIONS_KIND, REGIONS_VERSION, owner, index)
    data = derived.read(lib, REGIONS_KIND, owner, key)
    if data is not None:
        labels = unpack_arrays(data).get("labels")
        if labels is not None and labels.shape == image.shape[:2]:
            return labels
    labels = region_map(prims, {}, image.shape[:2], image)
    derived.write(lib, REGIONS_KIND, owner, key, pack_arrays({"labels": labels}))
    return labels


def _recolour_textures(lib, rigged: RiggedCharacter, doc, wardrobe: WardrobeSpec,
                       images: dict) -> np.ndarray | None:
    """Paint the wardrobe's regions onto every base-colour image of ``doc``, in place.

    Returns the first base-colour image after painting ((h, w, 4) uint8), for the library's
    ``texture.png`` (previews and continuity sheets read it), or None when the file has none.
    """
    from reskin.skins.file_regions import recolour, retexture

    first = None
    regions = {k: v for k, v in wardrobe.regions.items() if k in REGIONS}
    for index in base_color_images(doc.json):
        if index not in doc.images:
            continue
        data, mime = doc.images[index]
        image = _decode(data)
        painted = image
        if regions:
            labels = _labels(lib, rigged, doc, index, image, regions)
            for r, name in enumerate(REGIONS):
                look = regions.get(name)
                mask = labels == r
                if look is None or not mask.any():
                    continue
                if look.texture:
                    painted = retexture(painted, mask, images[look.texture])
                else:
                    painted = recolour(painted, mask, look.color)
        if painted is not image:
            doc.images[index] = (_encode(painted, mime), mime)
        if first is None:
            first = painted
    return first


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


def _clips(rigged: RiggedCharacter, doc, fps: float) -> tuple[list[int], list]:
    """The procedural clips on the file's own joints: (node of each joint, NodeClips)."""
    from reskin.rigging.node_skeleton import node_skeleton, retarget_to_nodes

    ns = node_skeleton(doc, None)
    artist = {int(n): i for i, n in enumerate(ns.nodes)}
    mapping = {c: artist[int(n)] for c, n in zip(rigged.skeleton.names, rigged.artist_nodes,
                                                 strict=True) if int(n) in artist}
    clips = ProceduralClips(rigged.skeleton, fps, PROCEDURAL_CLIPS).clips
    return list(ns.nodes), [retarget_to_nodes(c, rigged.skeleton, ns, mapping) for c in clips]


def make_file_skin_glb(lib, rigged: RiggedCharacter, spec, wardrobe: WardrobeSpec, fps: int,
                       images: dict, log: Log | None = None) -> tuple[bytes, bytes, dict]:
    """A skin of a file character without storing it: (GLB bytes, base-colour PNG, metadata).

    images : every texture the spec names, decoded ((h, w, 4) float32, by reference).
    Raises :class:`~reskin.skins.identity.IdentityLockError` for a spec that would change the
    person, before anything is written, and when the written file differs from the person.
    """
    from PIL import Image

    from reskin.assets.gltf.glb import pack_glb, read_glb
    from reskin.assets.gltf.node_anim import add_node_animations
    from reskin.assets.gltf.write import write_glb
    from reskin.rigging.file_rig import read_model

    refuse_unsupported(wardrobe)
    model = lib.read_blob(rigged.record.blobs["model.glb"])
    doc = read_model(model)
    source = identity_digest(doc)
    fabric = {ref: (np.clip(img, 0, 1) * 255).astype(np.uint8) for ref, img in images.items()}
    texture = _recolour_textures(lib, rigged, doc, wardrobe, fabric)
    canon_of_node = {int(n): c for c, n in zip(rigged.skeleton.names, rigged.artist_nodes,
                                               strict=True) if n >= 0}
    hidden = tuple(h for h in wardrobe.hide if h in REGIONS)
    dropped = _hide_faces(doc, _face_regions(doc, _resolve(doc, canon_of_node)), hidden)
    # Clip names become Blender actions: an artist's animation that shares one gets a prefix.
    taken = set(PROCEDURAL_CLIPS)
    for anim in doc.json.get("animations", []):
        if anim.get("name") in taken:
            anim["name"] = f"file:{anim['name']}"
    name = f"{spec.name}.{wardrobe.episode}"
    glb = write_glb(doc, extras={"reskin": {"skin": name, "character": rigged.record.ref}})
    js, binary = read_glb(glb)
    nodes, clips = _clips(rigged, doc, fps)
    add_node_animations(js, binary, nodes, clips)
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
    glb = pack_glb(js, bytes(binary), sort_keys=True)
    check_same_person(identity_digest(read_model(glb)), source, f"skin {name}")
    if texture is None:
        texture = np.full((4, 4, 4), 200, np.uint8)
    buf = io.BytesIO()
    # The library's texture.png is what previews and continuity sheets draw: 1024 is plenty.
    small = Image.fromarray(texture[..., :3])
    if max(small.size) > 1024:
        small = small.resize((1024, round(1024 * small.height / small.width)), Image.BILINEAR)
    small.save(buf, format="PNG", compress_level=1)
    from reskin.rigging.face_names import gltf_face_map

    meta = {"hidden": list(hidden), "hidden_triangles": dropped,
            "face": gltf_face_map(js).to_json(),
            "garments": [{"name": g.spec.name, "bind": g.spec.bind, "joint": g.spec.joint,
                          "vertices": len(g.vertices),
                          "matched": round(float(np.mean(g.matched)), 4),
                          "penetration_m": round(depth.get(g.spec.name, 0.0), 5)}
                         for g in garments],
            "source_rig": rigged.record.meta.get("rig")}
    return glb, buf.getvalue(), meta


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

    from reskin.rigging.file_rig import read_model

    doc = read_model(lib.read_blob(rigged.record.blobs["model.glb"]))
    found = [i for i in base_color_images(doc.json) if i in doc.images]
    if not found:
        grey = np.full((size, size, 3), 200, np.uint8)
        return grey, np.zeros_like(grey)
    image = _decode(doc.images[found[0]][0])
    labels = _labels(lib, rigged, doc, found[0], image, {})
    def small(a: np.ndarray, resample: int) -> np.ndarray:
        return np.asarray(Image.fromarray(a).resize((size, size), resample))
    mask = np.repeat(((labels >= 0) * 255).astype(np.uint8)[..., None], 3, axis=2)
    return small(image[..., :3], Image.BILINEAR), small(mask, Image.NEAREST)
