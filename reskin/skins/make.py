"""The re-skin job: one character version + one wardrobe spec -> one immutable skin asset.

The skin's GLB carries the character's own body, skeleton and weights unchanged (identity
lock, checked on the request and on the written file), the episode's painted texture and
material maps, its garments bound to the skeleton, and the procedural clips.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

import reskin
from reskin.assets.character_spec import CharacterSpec
from reskin.assets.library import AssetRecord, Library
from reskin.core.hashing import key_of
from reskin.core.mesh import Mesh
from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS, PROCEDURAL_VERSION, ProceduralClips
from reskin.rigging.rigged import RiggedCharacter
from reskin.skins.wardrobe import WardrobeSpec, hidden_parts

SKIN_VERSION = "5"
PNG_LEVEL = 1
"""Deflate level of the skin's PNGs (zlib's for RGB images; ISA-L's, 0-3, for palette ones)."""
Log = Callable[[str], None]


def clear_memory() -> None:
    """Forget the bodies and garment fits held in memory, as a fresh process would."""
    from reskin.skins import body_cache, garment_fit

    body_cache.clear_memory()
    garment_fit.clear_memory()


def skin_name(character: str, episode: str) -> str:
    return f"{character}.{episode}"


def skin_key(rigged: AssetRecord, spec: CharacterSpec, wardrobe: WardrobeSpec, fps: int) -> str:
    from reskin.assets.gltf.character import EXPORTER_VERSION

    return key_of("skin", SKIN_VERSION, EXPORTER_VERSION, PROCEDURAL_VERSION, PROCEDURAL_CLIPS,
                  rigged.content_hash, spec.identity(), wardrobe.to_dict(), fps)


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", optimize=False, compress_level=PNG_LEVEL)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_indexed(labels: np.ndarray, palette: np.ndarray) -> bytes:
    """A palette PNG (colour type 3) of (h, w) uint8 ``labels`` into (k, 3) uint8 ``palette``.

    Painted atlases are large areas of a few colours: one byte a texel and unfiltered rows give
    a file a fraction of the RGB one's size. The zlib stream comes from ISA-L (``isal``), which
    deflates these runs in a tenth of zlib's time (0.4 ms for a 1024² atlas, against 4.8 ms at
    zlib's fastest level) into a file as small. Deterministic (no timestamps, fixed settings).
    """
    from isal import isal_zlib

    h, w = labels.shape
    raw = np.zeros((h, w + 1), np.uint8)  # each row starts with filter type 0 (none)
    raw[:, 1:] = labels
    idat = isal_zlib.compress(raw.tobytes(), PNG_LEVEL)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", np.ascontiguousarray(palette, np.uint8).tobytes())
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def _images(lib: Library, wardrobe: WardrobeSpec) -> dict[str, np.ndarray]:
    """Every texture and decal the spec names, as (h, w, 4) float32 RGBA."""
    fields = {r.texture: f"regions.{k}.texture" for k, r in wardrobe.regions.items()
              if r.texture}
    fields.update({d.image: f"decals[{i}].image" for i, d in enumerate(wardrobe.decals)})
    fields.update({g.texture: f"{g.spec_field or g.name}.texture" for g in wardrobe.garments
                   if g.texture})
    refs = list(fields)
    if not refs:
        return {}
    from PIL import Image

    from reskin.core.errors import ReskinError
    from reskin.skins.garments import read_ref

    out = {}
    for ref in dict.fromkeys(refs):
        data, _ = read_ref(lib, ref)
        try:
            img = Image.open(io.BytesIO(data)).convert("RGBA")
        except OSError as exc:
            raise ReskinError(f"cannot read {ref} as an image: {exc}", file=wardrobe.file,
                              field=fields[ref]) from None
        out[ref] = np.asarray(img, np.float32) / 255.0
    return out


def make_skin_glb(lib: Library, rigged: RiggedCharacter, spec: CharacterSpec,
                  wardrobe: WardrobeSpec, fps: int, log: Log | None = None
                  ) -> tuple[bytes, bytes, dict]:
    """Build a skin without storing it: (GLB bytes, base-colour PNG, metadata).

    Raises :class:`~reskin.skins.identity.IdentityLockError` for a spec that would change
    the person, before anything is written.
    """
    from reskin.assets.gltf.character import finish_character_parts
    from reskin.assets.gltf.glb import pack_glb
    from reskin.skins import identity
    from reskin.skins.body_cache import verified_body
    from reskin.skins.garment_fit import wardrobe_garments
    from reskin.skins.paint import paint_indexed, paint_materials
    from reskin.skins.skin_glb import add_to_skin, body_arrays_of

    log = log or (lambda msg: None)
    mesh, skeleton = rigged.mesh, rigged.skeleton
    # 1. The body the spec asks for, refused before any work if it changes the person.
    hidden = hidden_parts(wardrobe, mesh.part_names)
    keep = identity.kept_faces(mesh, hidden)
    vertices, _ = identity.padded_vertices(mesh, wardrobe.padding)
    identity.check_body_request(mesh, vertices, keep, wardrobe)
    body = Mesh(vertices=vertices, faces=mesh.faces[keep], uvs=mesh.uvs,
                uv_faces=mesh.uv_faces[keep], parts=mesh.parts[keep], part_names=mesh.part_names,
                targets=mesh.targets)
    # 2. Textures and material maps: a palette image when the spec paints whole regions.
    images = _images(lib, wardrobe)  # every texture and decal the spec names, decoded once
    indexed = paint_indexed(rigged.position, rigged.part, mesh.part_names, skeleton,
                            spec.identity(), wardrobe)
    if indexed is not None:
        png = _png_indexed(indexed[0].labels, indexed[0].palette)
        mr_png = (_png_indexed(indexed[1].labels, indexed[1].palette)
                  if indexed[1] is not None else None)
    else:
        texture, metal_rough = paint_materials(
            rigged.position, rigged.part, mesh.part_names, skeleton, spec.identity(), wardrobe,
            images)
        png = _png(texture)
        mr_png = _png(metal_rough) if metal_rough is not None else None
    # 3. Garments, bound to the skeleton, and how deep they sink into the body in the clips
    # (fitted once per garment and rig, see reskin.skins.garment_fit).
    clips = ProceduralClips(skeleton, fps, PROCEDURAL_CLIPS)
    garments, depth = wardrobe_garments(lib, rigged, wardrobe, clips, images, log, spec.name)
    # 4. The GLB: the character's body (exported and checked against the rig once per rig),
    # then the skin's material and additions; the written body is verified afterwards.
    name = skin_name(spec.name, wardrobe.episode)
    checked = verified_body(lib, rigged, body, keep, hidden, clips, spec.name)
    doc, binary = finish_character_parts(
        checked.body, texture_png=png, roughness=0.7,
        extras={"reskin": {"skin": name, "character": rigged.record.ref}},
    )
    binary = bytearray(binary)
    if garments or mr_png is not None:
        add_to_skin(doc, binary, garments, skeleton.heads.astype(np.float64), mr_png)
    glb = pack_glb(doc, binary)
    # The identity lock on what is written: the document and binary chunk just packed.
    identity.check_same_body(body_arrays_of(doc, binary), checked.arrays, f"skin {name}")
    from reskin.rigging.face_names import gltf_face_map

    meta = {
        "face": gltf_face_map(doc).to_json(),
        "hidden": list(hidden),
        "garments": [{"name": g.spec.name, "bind": g.spec.bind, "joint": g.spec.joint,
                      "vertices": len(g.vertices),
                      "matched": round(float(np.mean(g.matched)), 4),
                      "penetration_m": round(depth.get(g.spec.name, 0.0), 5)}
                     for g in garments],
    }
    return glb, png, meta


def ensure_skin(
    lib: Library, rigged: RiggedCharacter, spec: CharacterSpec, wardrobe: WardrobeSpec, fps: int,
    log: Log | None = None,
) -> tuple[AssetRecord, bool]:
    """The skin for ``wardrobe``; made only when no skin with exactly these inputs exists."""
    key = skin_key(rigged.record, spec, wardrobe, fps)
    found = lib.find_by_key("skin", key)
    if found is not None:
        return found, False
    if rigged.from_file:
        from reskin.skins.file_skin import make_file_skin_glb

        glb, png, extra = make_file_skin_glb(lib, rigged, spec, wardrobe, fps,
                                             _images(lib, wardrobe), log)
    else:
        glb, png, extra = make_skin_glb(lib, rigged, spec, wardrobe, fps, log)
    name = skin_name(spec.name, wardrobe.episode)
    inputs = {str(Path(p).name): p for p in wardrobe.chain}
    record = lib.add(
        name, "skin", {"skin.glb": glb, "texture.png": png},
        meta={"character": rigged.record.ref, "episode": wardrobe.episode,
              "height": rigged.record.meta["height"], "clips": list(PROCEDURAL_CLIPS),
              "wardrobe": wardrobe.to_dict(), **extra},
        provenance={"generator": "reskin.reskin", "generator_version": SKIN_VERSION,
                    "source": wardrobe.file, "inherits": list(inputs)[1:],
                    "author": spec.author, "license": spec.license,
                    "reskin": reskin.__version__},
        parents=(rigged.record,),
        input_key=key,
    )
    return record, True
