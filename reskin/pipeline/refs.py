"""What the scene compiler is given of library assets: a skin's or a prop's exact version, with
its GLB linked into the cache where the Blender worker can read it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reskin.assets.library import AssetRecord
from reskin.core.errors import ReskinError
from reskin.pipeline.cache import link_or_copy
from reskin.scenes.compile import ModelRef
from reskin.scenes.episode import Episode

if TYPE_CHECKING:
    from reskin.pipeline.context import BuildContext


def skin_ref(ctx: BuildContext, skin: AssetRecord) -> ModelRef:
    """What the compiler needs of a skin; its GLB is linked where Blender can read it."""
    glb = ctx.cache_root / "glb" / f"{skin.blobs['skin.glb']}.glb"
    if not glb.exists():
        link_or_copy(ctx.lib.blob_path(skin.blobs["skin.glb"]), glb)
    return ModelRef(ref=skin.ref, glb=str(glb), content_hash=skin.content_hash,
                   height=float(skin.meta["height"]), face=skin.meta.get("face"))


def prop_refs(ctx: BuildContext, episodes: list[Episode]) -> dict[str, ModelRef]:
    """The exact library version of every prop the episodes' sets name."""
    refs: dict[str, ModelRef] = {}
    for ep in episodes:
        for shot in ep.shots:
            for prop in shot.set.props if shot.set else ():
                if prop.asset in refs:
                    continue
                file, field = prop.where.split("|")
                try:
                    record = ctx.lib.get(prop.asset)
                except ReskinError as exc:
                    raise ReskinError(exc.message, file=file, field=field) from None
                if "model.glb" not in record.blobs:
                    raise ReskinError(f"{record.ref} is a {record.kind} with no model to "
                                      "place (import one with `reskin asset import`)",
                                      file=file, field=field)
                glb = ctx.cache_root / "glb" / f"{record.blobs['model.glb']}.glb"
                if not glb.exists():
                    link_or_copy(ctx.lib.blob_path(record.blobs["model.glb"]), glb)
                refs[prop.asset] = ModelRef(ref=record.ref, glb=str(glb),
                                           content_hash=record.content_hash, height=0.0)
    return refs
