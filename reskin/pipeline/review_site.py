"""``reskin review``: a static review site of a series, for a director, in one folder.

What it shows is read from what the build left: the published episodes (``out/EP``: the MP4,
the contact sheet, ``.plans.json``, ``provenance.json``), the render cache (beauty frames, the
EXR passes, and in ``done.json`` why the shot last rendered), the dry run (what the next build
would do, and why), the library (each asset's provenance and lineage) and the series' notes
(:mod:`reskin.pipeline.review_notes`). Optional pictures are shown where they exist:
``out/EP/EP_storyboard.png`` (``reskin storyboard``) and ``out/continuity/CHARACTER.png``
(``reskin skin sheet``).

Every file a page uses is copied into the site (no link leaves it), written to a temporary
name and renamed; copies and pass images already up to date are kept. The pages themselves are
drawn by :mod:`reskin.pipeline.review_pages`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from reskin.core.errors import ReskinError

REVIEW_DATA = Path(__file__).resolve().parents[1] / "data" / "review"
MARKER = ".reskin-review"
"""In a site's folder: the folder is reskin's to refresh (files no page uses are removed)."""
SHOWN_FRAMES = 4
"""Frames per shot page (spread over the shot, first and last included)."""


@dataclass
class ShotEntry:
    """One shot of an episode as the site shows it (paths relative to the site's folder)."""

    id: str
    state: str
    """What the next build does with it (the dry run's action): cached, render, resume."""
    why_now: str
    last_why: str | None = None
    """Why its published frames were rendered (None: not rendered, or before this was kept)."""
    frames: int = 0
    """Published frames (0: not rendered yet)."""
    page: str | None = None
    next: list[str] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    video: str | None = None
    styled: list[tuple[int, str]] = field(default_factory=list)
    beauty: list[tuple[int, str]] = field(default_factory=list)
    passes: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    """(frame, {pass name: image}) for the frames shown; empty when the engine wrote none."""
    cast: list[str] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(speaker, text) of each line, as written."""


@dataclass
class EpisodeEntry:
    id: str
    title: str
    built: bool
    page: str
    video: str | None = None
    sheet: str | None = None
    storyboard: str | None = None
    credits: str | None = None
    shots: list[ShotEntry] = field(default_factory=list)
    assets: list[dict] = field(default_factory=list)
    """provenance.json's assets (ref, kind, version, license, author, source, used_as...)."""


@dataclass
class ReviewSite:
    series: str
    folder: str
    index: str
    served: bool
    episodes: list[EpisodeEntry]
    characters: dict[str, str | None]
    """Character -> its continuity sheet in the site, None where it has none."""
    assets: dict[str, dict]
    """Ref -> the asset's provenance row, with its library record's ``parents`` and ``created``."""
    state_error: str | None = None
    """The dry run's one-line error when the series' inputs are broken (states unknown then)."""
    files: list[str] = field(default_factory=list)

    def shot_ids(self) -> set[tuple[str, str]]:
        """Every (episode, shot) of the series: what a note may be on."""
        return {(e.id, s.id) for e in self.episodes for s in e.shots}

    def summary(self) -> dict:
        """What was written, for ``reskin review --json``."""
        return {"series": self.series, "folder": self.folder, "index": self.index,
                "served": self.served, "state_error": self.state_error,
                "pages": [f for f in self.files if f.endswith(".html")],
                "files": len(self.files),
                "episodes": [{"id": e.id, "built": e.built, "page": e.page,
                              "shots": [{k: getattr(s, k) for k in _SUMMARY} | {
                                  "notes": len(s.notes)} for s in e.shots]}
                             for e in self.episodes]}


_SUMMARY = ("id", "state", "why_now", "last_why", "frames", "page")


class _Writer:
    """Places files in the site's folder and remembers which (paths relative to it)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.files: list[str] = []

    def copy(self, src: Path, rel: str) -> str:
        """``src`` copied to ``rel`` unless the copy there is already the same (size, time)."""
        from reskin.core.atomic import atomic_path

        dst = self.folder / rel
        s = src.stat()
        if not (dst.exists() and dst.stat().st_size == s.st_size
                and dst.stat().st_mtime_ns == s.st_mtime_ns):
            with atomic_path(dst) as tmp:
                shutil.copy2(src, tmp)
        self.files.append(rel)
        return rel

    def text(self, rel: str, text: str) -> str:
        from reskin.core.atomic import write_text_atomic

        write_text_atomic(self.folder / rel, text)
        self.files.append(rel)
        return rel

    def prune(self) -> None:
        """Remove what an earlier run wrote and this one did not (and emptied folders)."""
        keep = set(self.files) | {MARKER}
        for path in sorted(self.folder.rglob("*"), reverse=True):
            rel = path.relative_to(self.folder).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _open_folder(out: Path) -> Path:
    """``out`` made ready: new, empty, or an earlier review site (never someone's folder)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / MARKER).exists())):
        raise ReskinError(f"not a review site's folder (no {MARKER}): choose a new or empty "
                          "folder", file=out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `reskin review`; refreshed (and pruned) by it\n")
    return out


def _states(ctx) -> tuple[dict[tuple[str, str], dict], str | None]:  # noqa: ANN001
    """(episode, shot) -> the dry run's row; or the dry run's error when the inputs are bad."""
    from reskin.pipeline.dry_run import dry_run

    try:
        rows = dry_run(ctx)
    except ReskinError as exc:
        return {}, exc.one_line()
    return {(r["episode"], r["shot"]): r for r in rows}, None


def _shot(w: _Writer, ctx, ep: str, spec, entry: dict | None, row: dict | None,  # noqa: ANN001
          notes: list[dict], nxt: list[str]) -> ShotEntry:
    from reskin.pipeline.review_notes import shot_notes
    from reskin.render.outputs import pick_frames
    from reskin.render.pass_images import PASS_NAMES, write_pass_images

    s = ShotEntry(id=spec.id, state=row["action"] if row else "unknown",
                  why_now=row["why"] if row else "unknown", next=nxt,
                  notes=shot_notes(notes, ep, spec.id),
                  cast=[c.character for c in spec.cast],
                  lines=[(ln.speaker, ln.text) for ln in spec.lines])
    published = ctx.publish_root / ep / spec.id
    frames = sorted(published.glob("frame_*.png"))
    if entry is None or not frames:
        return s
    plan = entry["plan"]
    base = f"{ep}/{spec.id}"
    s.frames, s.page = len(frames), f"{base}/index.html"
    video = published / f"{spec.id}.mp4"
    s.video = w.copy(video, f"{base}/{spec.id}.mp4") if video.exists() else None
    render = ctx.cache_root / "render" / entry["key"]
    try:
        s.last_why = json.loads((render / "done.json").read_text()).get("why")
    except (OSError, ValueError):
        s.last_why = None
    cameras = plan.get("camera_path") or [plan["camera"]]
    for path in pick_frames(frames, SHOWN_FRAMES):
        i = int(path.stem.split("_")[1])
        s.styled.append((i, w.copy(path, f"{base}/frame_{i:04d}.png")))
        beauty = render / f"beauty_{i:04d}.png"
        if beauty.exists():
            s.beauty.append((i, w.copy(beauty, f"{base}/beauty_{i:04d}.png")))
        exr = render / f"passes_{i:04d}.exr"
        if not exr.exists():
            continue
        out = {name: f"{base}/{name}_{i:04d}.png" for name in PASS_NAMES}
        stale = {n: w.folder / r for n, r in out.items()
                 if not (w.folder / r).exists()
                 or (w.folder / r).stat().st_mtime_ns < exr.stat().st_mtime_ns}
        if stale:
            write_pass_images(exr, cameras[min(i, len(cameras) - 1)], stale,
                              last=i == plan["frame_count"] - 1)
        w.files += out.values()
        s.passes.append((i, out))
    return s


def _episode(w: _Writer, ctx, episode, states: dict, notes: list[dict]) -> EpisodeEntry:  # noqa: ANN001
    from reskin.scenes.branches import graph_json

    folder = ctx.publish_root / episode.id
    try:
        plans = json.loads((folder / ".plans.json").read_text())
    except (OSError, ValueError):
        plans = None
    e = EpisodeEntry(id=episode.id, title=episode.title, built=plans is not None,
                     page=f"{episode.id}/index.html")
    nxt = {n["id"]: n["next"] for n in graph_json(episode)["nodes"]}
    for spec in episode.shots:
        e.shots.append(_shot(w, ctx, episode.id, spec, (plans or {}).get(spec.id),
                             states.get((episode.id, spec.id)), notes, nxt.get(spec.id, [])))
    for attr, name in (("video", f"{episode.id}.mp4"), ("sheet", f"{episode.id}_sheet.png"),
                       ("storyboard", f"{episode.id}_storyboard.png")):
        if plans is not None and (folder / name).exists():
            setattr(e, attr, w.copy(folder / name, f"{episode.id}/{name}"))
    try:
        prov = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError):
        prov = {}
    e.assets = prov.get("assets", [])
    credits = folder / str(prov.get("credits", ""))
    if prov.get("credits") and credits.is_file():
        e.credits = w.copy(credits, f"{episode.id}/{credits.name}")
    return e


def write_review_site(root: str | Path, out: str | Path | None = None, *,
                      served: bool = False) -> ReviewSite:
    """Write the review site of the series at ``root`` into ``out`` (default ``out/review`` of
    the series). ``served``: pages carry the notes form, for :mod:`reskin.pipeline.review_server`.

    An episode not built yet gets a page saying so, with its shots and what a build would do.
    """
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.inputs import load_cast
    from reskin.pipeline.review_notes import load_notes
    from reskin.pipeline.review_pages import asset_page, episode_page, index_page, shot_page
    from reskin.scenes.episode import load_episode

    with BuildContext.open(root) as ctx:
        series = ctx.series
        folder = _open_folder(Path(out) if out is not None else series.out_dir / "review")
        w = _Writer(folder)
        notes = load_notes(series.root)
        cast = load_cast(series)
        episodes = [load_episode(series.root / "episodes" / f"{e}.yaml", set(cast),
                                 root=series.root) for e in series.episode_ids()]
        states, error = _states(ctx)
        entries = [_episode(w, ctx, ep, states, notes) for ep in episodes]
        characters = {}
        for name in sorted(cast):
            sheet = series.out_dir / "continuity" / f"{name}.png"
            characters[name] = w.copy(sheet, f"characters/{name}.png") if sheet.exists() \
                else None
        assets: dict[str, dict] = {}
        for e in entries:
            for a in e.assets:
                row = assets.setdefault(a["ref"], dict(a, episodes=[]))
                row["episodes"].append(e.id)
        for ref, row in assets.items():
            try:
                record = ctx.lib.get(ref)
            except ReskinError:  # removed from the library since: the published row remains
                row |= {"parents": [], "created": None}
                continue
            row |= {"parents": list(record.parents), "created": record.created}
    site = ReviewSite(series=series.name, folder=str(folder), index=str(folder / "index.html"),
                      served=served, episodes=entries, characters=characters, assets=assets,
                      state_error=error)
    for asset in ("review.css", "review.js"):
        w.copy(REVIEW_DATA / asset, asset)
    w.text("index.html", index_page(site))
    w.text("assets.html", asset_page(site))
    for e in entries:
        w.text(e.page, episode_page(site, e))
        for s in e.shots:
            if s.page:
                w.text(s.page, shot_page(site, e, s))
    w.prune()
    site.files = sorted(set(w.files))
    return site
