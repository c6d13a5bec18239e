"""An episode's provenance: the assets it used (transitively), the series' licence policy,
credits, and the labels and C2PA manifest its published files carry.

:func:`prepare_episode` runs before anything is published (a forbidden licence stops the
episode there, in one line); :func:`publish_frame`, :func:`episode_overlay` and
:func:`finish_episode` are the hooks :func:`reskin.pipeline.publish.publish_episode` calls.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import reskin
from reskin.assets.library import AssetRecord, Library
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.pipeline.cache import StepCache, link_or_copy
from reskin.scenes.compile import ShotPlan
from reskin.scenes.episode import Episode

if TYPE_CHECKING:
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.publish import EpisodeResult
    from reskin.scenes.series import SeriesConfig

PROVENANCE_FILE = "provenance.json"
"""Beside a published episode: what :func:`episode_report` prints."""
UNKNOWN_LICENSE = "NOASSERTION"
_CC = re.compile(r"^CC-(BY(?:-NC)?(?:-SA|-ND)?)-(\d\.\d)$")


@dataclass(frozen=True)
class UsedAsset:
    """One library asset an episode used, directly or as an ancestor of one it used."""

    ref: str
    kind: str
    version: int
    license: str
    """Its own licence, or (for what reskin derived) its sources' licences."""
    author: str | None
    source: str | None
    generator: str | None
    content_hash: str
    used_as: str
    """How the episode came to use it: "skin", "prop", "clip", "style", or "from REF"."""
    own_license: bool = True
    """False when ``license`` was inherited from the asset's parents."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpisodeProvenance:
    """What the publish hooks need: the assets, the labels to write, the signing to do."""

    series: str
    episode: str
    content_id: str
    """ProduceID: this episode's content, from its series, id and styled frames."""
    assets: list[UsedAsset] = field(default_factory=list)
    aigc_base: dict | None = None
    """The AIGC object (its ProduceID the episode's), or None when implicit labels are off."""
    key: str = ""
    """Changes whenever a label, the signing or the assets change (for the publish stamps)."""

    def aigc(self, part: str | None = None) -> dict | None:
        """The AIGC object of one published file (``part``: a shot id, "sheet"; None: the
        episode MP4)."""
        if self.aigc_base is None:
            return None
        pid = self.content_id if part is None else f"{self.content_id}/{part}"
        return self.aigc_base | {"ProduceID": pid}

    def tags(self, part: str | None = None) -> dict[str, str] | None:
        """The MP4 container tags for ``part`` (see :meth:`aigc`)."""
        from reskin.render.aigc_meta import mp4_tags

        aigc = self.aigc(part)
        return None if aigc is None else mp4_tags(aigc)


# the assets ---------------------------------------------------------------------------------
def _effective(rec: AssetRecord, lib: Library, memo: dict[str, tuple[str, bool]]
               ) -> tuple[str, bool]:
    """(licence, own): ``rec``'s licence, else the AND of its parents' (what reskin derived
    from sources carries their terms)."""
    if rec.ref in memo:
        return memo[rec.ref]
    own = rec.provenance.get("license")
    if own:
        memo[rec.ref] = (str(own), True)
    else:
        found = sorted({_effective(lib.get(p), lib, memo)[0] for p in rec.parents})
        memo[rec.ref] = (" AND ".join(found) if found else UNKNOWN_LICENSE, False)
    return memo[rec.ref]


def _clip_refs(ep: Episode) -> list[str]:
    from reskin.scenes.blocking_track import DEFAULT_WALK
    from reskin.scenes.clip_source import BLOCKING_CLIPS, PROCEDURAL_CLIPS

    names = []
    for spec in ep.shots:
        for entry in spec.cast:
            names.append(entry.clip)
            for a in entry.blocking.actions:
                if a.do in ("walk", "clip"):
                    names.append(a.clip or (DEFAULT_WALK if a.do == "walk" else None))
    return [n for n in dict.fromkeys(names)
            if n and n not in PROCEDURAL_CLIPS and n not in BLOCKING_CLIPS]


def episode_assets(lib: Library, ep: Episode, plans: list[ShotPlan],
                   styles: list[str]) -> list[UsedAsset]:
    """Every asset ``ep`` used, each once, in the order met: skins, props, clips and
    ``styles`` (style asset refs), each followed by its lineage (character, rig, imports)."""
    direct: list[tuple[str, str]] = []
    for plan in plans:
        direct += [(c["key"], "skin") for c in plan.cast]
        direct += [(p["key"], "prop") for p in (plan.stage or {}).get("props", [])]
    direct += [(c, "clip") for c in _clip_refs(ep)]
    direct += [(s, "style") for s in styles]
    seen: dict[str, UsedAsset] = {}
    memo: dict[str, tuple[str, bool]] = {}
    for ref, role in dict.fromkeys(direct):
        try:
            top = lib.get(ref)
        except ReskinError:
            if role == "clip":  # a name the build resolved elsewhere (a procedural walk)
                continue
            raise
        for rec in lib.lineage(top):
            if rec.ref in seen:
                continue
            lic, own = _effective(rec, lib, memo)
            p = rec.provenance
            seen[rec.ref] = UsedAsset(
                ref=rec.ref, kind=rec.kind, version=rec.version, license=lic,
                author=p.get("author"), source=p.get("source"), generator=p.get("generator"),
                content_hash=rec.content_hash, own_license=own,
                used_as=role if rec.ref == top.ref else f"from {top.ref}")
    return list(seen.values())


# the licence policy -------------------------------------------------------------------------
def license_allowed(expr: str, allow: tuple[str, ...]) -> bool:
    """Whether SPDX ``expr`` is within ``allow``: ``A OR B`` needs one of them, ``A AND B``
    both (parentheses are read as grouping of these two)."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1].strip()
    if " OR " in expr:
        return any(license_allowed(e, allow) for e in expr.split(" OR "))
    if " AND " in expr:
        return all(license_allowed(e, allow) for e in expr.split(" AND "))
    return expr.removesuffix("+") in allow or expr in allow


def check_licenses(series: SeriesConfig, assets: list[UsedAsset], episode: str) -> None:
    """Refuse (one line, exit 2) the first asset whose licence the series' policy forbids."""
    allow = series.licenses.allow
    if allow is None:
        return
    for a in assets:
        if a.own_license and not license_allowed(a.license, allow):
            raise ReskinError(
                f"{episode} uses {a.ref} ({a.kind}, licence {a.license}), which the series' "
                f"licence policy does not allow (allowed: {', '.join(allow) or 'none'})",
                file=series.licenses.where or series.root / "series.yaml",
                field="licenses.allow")


# credits ------------------------------------------------------------------------------------
def license_url(spdx: str) -> str | None:
    m = _CC.match(spdx)
    if m:
        return f"https://creativecommons.org/licenses/{m.group(1).lower()}/{m.group(2)}/"
    return None


def needs_attribution(spdx: str) -> bool:
    return any(_CC.match(part.strip("() ")) for part in re.split(r" AND | OR ", spdx))


def credits_text(series: str, episode: str, title: str, assets: list[UsedAsset]) -> str:
    """The episode's credits: an attribution for every CC-BY-family asset (title, author,
    source, licence with its link, and that reskin adapted it), then every asset used."""
    lines = [f"{series} - {episode}: {title}", "",
             "Attributions (Creative Commons licences that require credit):"]
    credited = [a for a in assets if a.own_license and needs_attribution(a.license)]
    for a in credited:
        url = license_url(a.license)
        lines.append(f"- {a.ref} by {a.author or 'unknown author'}"
                     f"{', from ' + a.source if a.source else ''}; licensed {a.license}"
                     f"{' (' + url + ')' if url else ''}; adapted (rigged, re-skinned, "
                     "rendered and stylized) by reskin")
    if not credited:
        lines.append("- none")
    lines += ["", "Every asset used:"]
    lines += [f"- {a.ref} ({a.kind}, {a.used_as}): {a.license}; author {a.author or '-'}; "
              f"source {a.source or '-'}" for a in assets]
    return "\n".join(lines) + "\n"


# the publish hooks --------------------------------------------------------------------------
def prepare_episode(ctx: BuildContext, ep: Episode,
                    shots: list[tuple[ShotPlan, StepCache, bool]]) -> EpisodeProvenance:
    """The episode's assets and labels, read before anything is published; a forbidden licence
    raises here (one line, exit 2)."""
    from reskin.render.aigc_meta import aigc_label

    series = ctx.series
    styles = []
    for _, styled, _ in shots:
        try:
            style = json.loads((styled.dir / "done.json").read_text()).get("style")
        except (OSError, ValueError):
            style = None
        if style and style not in styles:
            styles.append(style)
    assets = episode_assets(ctx.lib, ep, [p for p, _, _ in shots], styles)
    check_licenses(series, assets, ep.id)
    content_id = "reskin:" + key_of("episode", series.name, ep.id,
                                    [s.dir.name for _, s, _ in shots])[:32]
    labels = series.labels
    aigc = aigc_label(labels.producer or series.name, content_id) if labels.implicit else None
    signing = series.signing
    sign_key = signing and [_file_key(signing.cert), _file_key(signing.key), signing.alg]
    key = key_of("provenance", asdict(labels) | {"where": None}, series.explicit_label,
                 sign_key, series.licenses.allow, [a.to_dict() for a in assets])
    return EpisodeProvenance(series=series.name, episode=ep.id, content_id=content_id,
                             assets=assets, aigc_base=aigc, key=key)


def _file_key(path: Path) -> str:
    try:
        return key_of(Path(path).read_bytes().hex())
    except OSError:
        return f"unreadable:{path}"


def publish_frame(src: Path, dst: Path, prov: EpisodeProvenance, part: str) -> None:
    """Put one styled frame into a shot folder: linked, or (implicit labels on) a copy with
    the AIGC metadata (the cache's own file is never changed)."""
    aigc = prov.aigc(part)
    if aigc is None:
        link_or_copy(src, dst)
        return
    from reskin.render.aigc_meta import write_png_aigc

    dst.parent.mkdir(parents=True, exist_ok=True)
    write_png_aigc(src, dst, aigc)


def episode_overlay(ctx: BuildContext, overlay):
    """``overlay`` (burned-in subtitles, or None) followed by the explicit label, when the
    series has one."""
    if not ctx.series.explicit_label:
        return overlay
    from reskin.render.captions import find_cjk_font
    from reskin.render.labels import LabelRenderer, chain, label_overlay

    s, labels = ctx.series, ctx.series.labels
    renderer = LabelRenderer(s.width, s.height, labels.wording,
                             find_cjk_font(s.subtitles.font or "auto", where=labels.where),
                             labels.size)
    return chain(overlay, label_overlay(renderer, s.fps, seconds=labels.seconds,
                                        position=labels.position,
                                        corner_mark=labels.corner_mark,
                                        mark_position=labels.mark_position))


def finish_episode(ctx: BuildContext, ep: Episode, prov: EpisodeProvenance,
                   result: EpisodeResult) -> None:
    """After the episode's MP4 and contact sheet are written: the sheet's AIGC metadata, the
    C2PA manifests of both (when ``signing:`` is set), the credits text and provenance.json."""
    from reskin.core.atomic import write_text_atomic
    from reskin.render.aigc_meta import write_png_aigc

    out = Path(result.video).parent
    sheet = Path(result.contact_sheet)
    if ctx.series.explicit_label:
        _label_image(ctx, sheet)
    if (aigc := prov.aigc("sheet")) is not None:
        write_png_aigc(sheet, sheet, aigc)
    credits = out / f"{ep.id}_credits.txt"
    write_text_atomic(credits, credits_text(ctx.series.name, ep.id, ep.title, prov.assets))
    signing = ctx.series.signing
    if signing is not None:
        from reskin.pipeline.c2pa_manifest import episode_manifest
        from reskin.pipeline.c2pa_sign import sign_file

        for path, part in ((Path(result.video), None), (sheet, "sheet")):
            manifest, ingredients = episode_manifest(ctx.series, ep, prov, path.name,
                                                     prov.aigc(part))
            sign_file(path, manifest, ingredients, cert=signing.cert, key=signing.key,
                      alg=signing.alg, where=signing.where)
    write_text_atomic(out / PROVENANCE_FILE, json.dumps({
        "series": prov.series, "episode": prov.episode, "content_id": prov.content_id,
        "reskin": reskin.__version__, "aigc": prov.aigc(), "signed": signing is not None,
        "credits": credits.name, "assets": [a.to_dict() for a in prov.assets]},
        indent=1, ensure_ascii=False))


def _label_image(ctx: BuildContext, path: Path) -> None:
    """Draw the explicit label onto a published image (the contact sheet), top right."""
    import numpy as np
    from PIL import Image

    from reskin.core.atomic import atomic_path
    from reskin.render.captions import find_cjk_font
    from reskin.render.labels import LabelRenderer

    labels = ctx.series.labels
    with Image.open(path) as im:
        frame = np.asarray(im.convert("RGB"))
    renderer = LabelRenderer(frame.shape[1], frame.shape[0], labels.wording,
                             find_cjk_font(ctx.series.subtitles.font or "auto",
                                           where=labels.where), labels.size)
    with atomic_path(path) as tmp:
        Image.fromarray(renderer.draw(frame, "top-right")).save(tmp, format="PNG")


def episode_report(series: SeriesConfig, episode: str) -> dict:
    """What a published episode used (its provenance.json); one line when it is not built."""
    path = series.out_dir / episode / PROVENANCE_FILE
    try:
        return json.loads(path.read_text())
    except OSError:
        known = series.episode_ids()
        if episode not in known:
            raise ReskinError(f"no episode {episode!r} (episodes: {', '.join(known) or 'none'})",
                              file=series.root / "episodes") from None
        raise ReskinError(f"{episode} is not published yet (run `reskin build -e {episode}`)",
                          file=path) from None
    except ValueError:
        raise ReskinError("unreadable provenance record (build the episode again)",
                          file=path) from None

