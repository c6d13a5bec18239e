"""What a build reads, read before any work: shared by ``reskin build`` and its dry run.

Loading the YAML already checks every file a series names exists inside it
(:mod:`reskin.core.paths`). This reads them as the jobs will: each wardrobe's garment meshes
parsed and its textures, decals and masks decoded, its ``asset:`` references found in the
library, the series music and ambience decoded, and (dry run) each cast member's model file
put through the importer's checks when it is not in the library yet. The build calls
:func:`check_build_inputs` before making anything and the dry run calls it too, so both refuse
a bad input with the same line, and a build never fails on one after hours of rendering.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reskin.core.errors import ReskinError

if TYPE_CHECKING:
    from reskin.assets.character_spec import CharacterSpec
    from reskin.assets.library import Library
    from reskin.pipeline.context import BuildContext
    from reskin.skins.wardrobe import WardrobeSpec


def _read(lib: Library, ref: str, file: str, field: str) -> tuple[bytes, str]:
    """A wardrobe file's bytes and suffix (a series path or ``asset:NAME@V``), one-line errors
    naming the wardrobe file and field."""
    from reskin.skins.garments import read_ref

    try:
        return read_ref(lib, ref)
    except ReskinError as exc:
        raise ReskinError(exc.message, file=file, field=field) from None
    except OSError as exc:
        raise ReskinError(f"cannot read {ref}: {exc.strerror or exc}", file=file,
                          field=field) from None


def check_image(lib: Library, ref: str, file: str, field: str) -> None:
    """``ref`` decodes as an image, as the skin job decodes it."""
    from PIL import Image

    data, _ = _read(lib, ref, file, field)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.convert("RGBA")
    except (OSError, ValueError, SyntaxError) as exc:
        raise ReskinError(f"cannot read {ref} as an image: {exc}", file=file,
                          field=field) from None


def check_wardrobe(lib: Library, wardrobe: WardrobeSpec) -> None:
    """Every file a wardrobe names read as the skin job reads it: garment meshes parsed,
    textures, decals and masks decoded, library references found."""
    from reskin.skins.garments import load_mesh_bytes

    file = str(wardrobe.file)
    for key, region in sorted(wardrobe.regions.items()):
        if region.texture:
            check_image(lib, region.texture, file, f"regions.{key}.texture")
        if getattr(region, "mask", None):
            check_image(lib, region.mask, file, f"regions.{key}.mask")
    for i, decal in enumerate(wardrobe.decals):
        check_image(lib, decal.image, file, f"decals[{i}].image")
    for g in wardrobe.garments:
        field = f"{g.spec_field or g.name}"
        if g.texture:
            check_image(lib, g.texture, file, f"{field}.texture")
        if g.mesh.startswith("procedural:"):
            continue
        data, suffix = _read(lib, g.mesh, g.where, f"{field}.mesh")
        load_mesh_bytes(data, suffix, g.where, f"{field}.mesh", g.mesh)


def check_sound(ctx: BuildContext) -> None:
    """The series music and ambience decode (the episode mix reads them after rendering)."""
    from reskin.render.audio import read_audio

    sound = ctx.series.sound
    if sound.music:
        read_audio(sound.music, field="music", where=sound.music_where)
    if sound.ambience:
        read_audio(sound.ambience, field="ambience", where=sound.ambience_where)


def check_cast_source(lib: Library, spec: CharacterSpec) -> None:
    """A file character's model, put through the importer's checks, when the build would
    import it (it is not in the library yet); an ``asset:`` source found. Reads, writes
    nothing. Files of other formats (FBX: converted by Blender) are left to the build."""
    from pathlib import Path

    from reskin.pipeline.cast import ensure_imported, import_key

    src = spec.source
    if src is None:
        return
    if src.asset is not None:
        ensure_imported(lib, spec)  # an asset source: only looked up
        return
    from reskin.assets.importer import FORMATS, ImportOptions, prepare

    path = Path(src.path)
    if path.suffix.lower() not in FORMATS or lib.find_by_key("character", import_key(spec)):
        return
    prepare(path, ImportOptions(kind="character", unit=src.unit, up=src.up))


def check_build_inputs(ctx: BuildContext, wardrobes: dict[tuple[str, str], WardrobeSpec],
                       skip: set[tuple[str, str]] = frozenset()) -> None:
    """What the build reads beyond the YAML, read now (``skip``: locked skins, not remade)."""
    for key, wardrobe in sorted(wardrobes.items()):
        if key not in skip:
            check_wardrobe(ctx.lib, wardrobe)
    check_sound(ctx)
