"""The re-skin job: one character version + one wardrobe spec -> one immutable skin asset.

The skin's GLB carries the character's own body, skeleton and weights unchanged (identity
lock), the episode's painted texture, and the procedural clips, ready for the renderer.
"""

from __future__ import annotations

import reskin
from reskin.assets.character_spec import CharacterSpec
from reskin.assets.characters import RiggedCharacter, png_bytes
from reskin.assets.library import AssetRecord, Library
from reskin.hashing import key_of
from reskin.reskin_jobs.wardrobe import WardrobeSpec, paint_skin
from reskin.rigging.procedural_clips import PROCEDURAL_VERSION, make_clip
from reskin.scenes.episode import CLIPS

SKIN_VERSION = "1"


def skin_name(character: str, episode: str) -> str:
    return f"{character}.{episode}"


def skin_key(rigged: AssetRecord, spec: CharacterSpec, wardrobe: WardrobeSpec, fps: int) -> str:
    from reskin.assets.gltf_export import EXPORTER_VERSION

    return key_of("skin", SKIN_VERSION, EXPORTER_VERSION, PROCEDURAL_VERSION, CLIPS,
                  rigged.content_hash, spec.identity(), wardrobe.to_dict(), fps)


def ensure_skin(
    lib: Library, rigged: RiggedCharacter, spec: CharacterSpec, wardrobe: WardrobeSpec, fps: int
) -> tuple[AssetRecord, bool]:
    """The skin for ``wardrobe``; made only when no skin with exactly these inputs exists."""
    from reskin.assets.gltf_export import write_character_glb

    key = skin_key(rigged.record, spec, wardrobe, fps)
    found = lib.find_by_key("skin", key)
    if found is not None:
        return found, False
    texture = paint_skin(rigged.position, rigged.part, rigged.mesh.part_names, rigged.skeleton,
                         spec.identity(), wardrobe)
    png = png_bytes(texture)
    clips = [make_clip(name, rigged.skeleton, fps) for name in CLIPS]
    name = skin_name(spec.name, wardrobe.episode)
    glb = write_character_glb(
        rigged.mesh, rigged.skeleton, rigged.joints, rigged.weights,
        name=spec.name, texture_png=png, roughness=0.7, clips=clips,
        extras={"reskin": {"skin": name, "character": rigged.record.ref}},
    )
    record = lib.add(
        name, "skin", {"skin.glb": glb, "texture.png": png},
        meta={"character": rigged.record.ref, "episode": wardrobe.episode,
              "height": rigged.record.meta["height"], "clips": list(CLIPS),
              "wardrobe": wardrobe.to_dict()},
        provenance={"generator": "reskin.reskin", "generator_version": SKIN_VERSION,
                    "source": wardrobe.file, "author": spec.author, "license": spec.license,
                    "reskin": reskin.__version__},
        parents=(rigged.record,),
        input_key=key,
    )
    return record, True
