"""The C2PA manifest definition of a published episode file: what made it, from what.

Actions, in the order the pipeline takes them, each with reskin as the software agent:
``c2pa.created`` (the 3D render: IPTC *algorithmicMedia*), ``c2pa.placed`` (the library's
characters, skins, props and clips, which are the manifest's ingredients), ``c2pa.edited``
(stylization: *algorithmicMedia* for the built-in toon shader, *compositeWithTrainedAlgorithmic
Media* for diffusion img2img over the render, *trainedAlgorithmicMedia* at strength 1; then the
burned-in subtitles and the AI label) and ``c2pa.transcoded`` (H.264/AAC, or PNG).
Each ingredient records its asset's exact version, content hash, licence, author and source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import reskin
from reskin.core.hashing import stable_json

if TYPE_CHECKING:
    from reskin.pipeline.provenance import EpisodeProvenance
    from reskin.scenes.episode import Episode
    from reskin.scenes.series import SeriesConfig

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
AGENT = {"name": "reskin", "version": reskin.__version__}


def stylize_source_type(series: SeriesConfig) -> str | None:
    """The IPTC digital source type of the series' stylization; None when it has none."""
    style = series.style
    if style.stylizer == "none":
        return None
    if style.stylizer == "diffusion":
        full = style.strength >= 1.0
        return IPTC + ("trainedAlgorithmicMedia" if full else
                       "compositeWithTrainedAlgorithmicMedia")
    return IPTC + "algorithmicMedia"


def ingredient_label(ref: str) -> str:
    """The manifest-local id of an asset's ingredient (what ``c2pa.placed`` points at)."""
    return "reskin.asset." + ref


def episode_manifest(series: SeriesConfig, ep: Episode, prov: EpisodeProvenance, title: str,
                     aigc: dict | None) -> tuple[dict, list[tuple[dict, bytes]]]:
    """(manifest definition, [(ingredient definition, ingredient bytes)]) for the published
    file ``title`` of ``ep``; ``aigc``: its implicit label, repeated as an assertion."""
    fmt = "image/png" if title.endswith(".png") else "video/mp4"
    placed = [a for a in prov.assets if not a.used_as.startswith("from ") and a.kind != "style"]
    actions = [{"action": "c2pa.created", "softwareAgent": AGENT,
                "digitalSourceType": IPTC + "algorithmicMedia",
                "description": f"3D render ({series.render.engine}) of {ep.id}"}]
    if placed:
        actions.append({"action": "c2pa.placed", "softwareAgent": AGENT,
                        "description": "library characters, skins, props and clips",
                        "parameters": {"ingredientIds": [ingredient_label(a.ref)
                                                         for a in placed]}})
    source = stylize_source_type(series)
    if source is not None:
        actions.append({"action": "c2pa.edited", "softwareAgent": AGENT,
                        "digitalSourceType": source,
                        "description": f"stylized ({series.style.stylizer})"})
    if series.explicit_label or series.subtitles.burn:
        actions.append({"action": "c2pa.edited", "softwareAgent": AGENT,
                        "description": "drew the AI-content label and/or burned-in subtitles"})
    actions.append({"action": "c2pa.transcoded", "softwareAgent": AGENT,
                    "description": "PNG contact sheet" if fmt == "image/png" else
                    "H.264 video, AAC sound, mov_text subtitles"})
    assertions = [{"label": "c2pa.actions", "data": {"actions": actions}}]
    if aigc is not None:
        assertions.append({"label": "org.reskin.aigc", "data": {"AIGC": aigc}})
    manifest = {
        "claim_generator_info": [AGENT],
        "title": title, "format": fmt,
        "assertions": assertions,
    }
    ingredients = []
    for a in prov.assets:
        definition = {
            "title": a.ref, "format": "application/octet-stream",
            "relationship": "componentOf", "label": ingredient_label(a.ref),
            "instance_id": f"reskin:asset:{a.content_hash}",
            "description": f"{a.kind} {a.ref} ({a.used_as})",
            "metadata": {"reskin:ref": a.ref, "reskin:kind": a.kind,
                         "reskin:contentHash": a.content_hash, "reskin:license": a.license,
                         "reskin:author": a.author or "", "reskin:source": a.source or "",
                         "reskin:usedAs": a.used_as},
        }
        ingredients.append((definition, stable_json(a.to_dict()).encode()))
    return manifest, ingredients
