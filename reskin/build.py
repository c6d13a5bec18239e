"""``reskin build``: make, rig and re-skin the cast, render, stylize and publish every episode.

Every stage is keyed by its inputs, so a second build with nothing changed does no work, and
editing one shot re-renders only that shot.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reskin.assets.character_spec import CharacterSpec, load_character
from reskin.assets.library import AssetRecord, Library
from reskin.errors import ReskinError
from reskin.hashing import key_of
from reskin.render.executors import Executor, LocalExecutor
from reskin.reskin_jobs.wardrobe import WardrobeSpec, load_wardrobe
from reskin.scenes.cache import StepCache, link_or_copy
from reskin.scenes.compile import ShotPlan, SkinRef, compile_episode
from reskin.scenes.episode import Episode, load_episode
from reskin.scenes.locks import lock_path, read_lock
from reskin.scenes.series import SeriesConfig, load_series, load_style

Log = Callable[[str], None]


@dataclass
class ShotResult:
    id: str
    frames: int
    folder: str
    video: str
    cached: bool


@dataclass
class EpisodeResult:
    id: str
    video: str
    contact_sheet: str
    subtitles: str | None = None
    shots: list[ShotResult] = field(default_factory=list)


@dataclass
class BuildReport:
    series: str
    seconds: float
    assets_made: list[str]
    episodes: list[EpisodeResult]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def load_frameset(folder: Path, plan: dict):
    """A rendered shot (``folder`` of a render cache, its plan as a dict) as a FrameSet."""
    import numpy as np
    from PIL import Image

    from reskin.render.passes import read_shot_passes
    from reskin.render.stylize import FrameSet

    n = plan["frame_count"]
    rgba = np.stack([np.asarray(Image.open(folder / f"beauty_{i:04d}.png").convert("RGBA"),
                                np.float32) / 255.0 for i in range(n)])
    passes = read_shot_passes([folder / f"passes_{i:04d}.exr" for i in range(n)],
                              plan.get("camera_path") or [plan["camera"]]) or {}
    return FrameSet(beauty=rgba[..., :3], alpha=rgba[..., 3], **passes)


def load_cast(series: SeriesConfig) -> dict[str, CharacterSpec]:
    cast_dir = series.root / "cast"
    return {p.parent.name: load_character(p) for p in sorted(cast_dir.glob("*/character.yaml"))}


def load_inputs(
    series: SeriesConfig,
) -> tuple[dict[str, CharacterSpec], list[Episode], dict[tuple[str, str], WardrobeSpec]]:
    """Read and validate every input file before any work starts."""
    cast = load_cast(series)
    episodes = [load_episode(series.root / "episodes" / f"{e}.yaml", set(cast))
                for e in series.episode_ids()]
    if not episodes:
        raise ReskinError("no episodes (add episodes/ep01.yaml)", file=series.root / "episodes")
    wardrobes = {}
    for ep in episodes:
        for shot in ep.shots:
            for entry in shot.cast:
                k = (entry.character, ep.id)
                if k in wardrobes:
                    continue
                path = series.root / "cast" / entry.character / f"{ep.id}.yaml"
                if not path.exists():
                    raise ReskinError(
                        f"{entry.character} has no wardrobe for {ep.id} (expected {path})",
                        file=ep.file, field=f"shots.{shot.id}.cast")
                wardrobes[k] = load_wardrobe(path, entry.character, ep.id)
    return cast, episodes, wardrobes


class Builder:
    """One build of one series; holds the library and, if anything renders, a Blender worker."""

    def __init__(self, root: str | Path, *, log: Log | None = None, progress: bool = False,
                 executor: Executor | None = None, style: str | None = None):
        self.series = load_series(root)
        self.publish_root = self.series.out_dir
        self.style_name = f"style.{style}".lower() if style else "style.series"
        if style is not None:
            # A named style publishes beside the series' own output, never over it.
            self.series = dataclasses.replace(self.series, style=load_style(root, style))
            self.publish_root = self.series.out_dir / "styles" / style
        self.log = log or (lambda msg: None)
        self.progress = progress
        self.lib = Library(self.series.library_dir)
        self.cache_root = self.series.library_dir / "cache"
        self.made: list[str] = []
        self.executor = executor or LocalExecutor(self.series.out_dir / "logs")

    def close(self) -> None:
        self.lib.close()

    # stages ----------------------------------------------------------------------------------
    def skins(self, cast, wardrobes) -> dict[tuple[str, str], SkinRef]:
        """Generate and rig each character once, then make each episode's skin once."""
        from reskin.assets.characters import ensure_generated, ensure_rigged, load_rigged
        from reskin.reskin_jobs.job import ensure_skin, skin_key

        refs: dict[tuple[str, str], SkinRef] = {}
        rig_records: dict = {}
        loaded: dict = {}  # loading a rig costs; only when a skin must actually be made
        locks = {ep: read_lock(self.lib.root, ep) for _, ep in wardrobes}
        for (char, ep), wardrobe in sorted(wardrobes.items()):
            spec = cast[char]
            if locks[ep] is not None:
                if char not in locks[ep]:
                    raise ReskinError(f"{ep} is locked without {char}; unlock it to add them",
                                      file=lock_path(self.lib.root, ep))
                refs[(char, ep)] = self._skin_ref(self.lib.get(locks[ep][char]))
                continue
            if char not in rig_records:
                base, made = ensure_generated(self.lib, spec)
                if made:
                    self._made(base.ref, "generated")
                rig, made = ensure_rigged(self.lib, base, spec)
                if made:
                    self._made(rig.ref, "rigged")
                rig_records[char] = rig
            rig = rig_records[char]
            found = self.lib.find_by_key("skin", skin_key(rig, spec, wardrobe, self.series.fps))
            if found is None:
                if char not in loaded:
                    loaded[char] = load_rigged(self.lib, rig)
                found, _ = ensure_skin(self.lib, loaded[char], spec, wardrobe, self.series.fps,
                                       log=self.log)
                self._made(found.ref, f"re-skinned for {ep}")
            refs[(char, ep)] = self._skin_ref(found)
        return refs

    def _skin_ref(self, skin) -> SkinRef:
        """What the compiler needs of a skin; its GLB is linked where Blender can read it."""
        glb = self.cache_root / "glb" / f"{skin.blobs['skin.glb']}.glb"
        if not glb.exists():
            link_or_copy(self.lib.blob_path(skin.blobs["skin.glb"]), glb)
        return SkinRef(ref=skin.ref, glb=str(glb), content_hash=skin.content_hash,
                       height=float(skin.meta["height"]))

    def props(self, episodes: list[Episode]) -> dict[str, SkinRef]:
        """The exact library version of every prop the episodes' sets name."""
        refs: dict[str, SkinRef] = {}
        for ep in episodes:
            for shot in ep.shots:
                for prop in shot.set.props if shot.set else ():
                    if prop.asset in refs:
                        continue
                    file, field = prop.where.split("|")
                    try:
                        record = self.lib.get(prop.asset)
                    except ReskinError as exc:
                        raise ReskinError(exc.message, file=file, field=field) from None
                    if "model.glb" not in record.blobs:
                        raise ReskinError(f"{record.ref} is a {record.kind} with no model to "
                                          "place (import one with `reskin asset import`)",
                                          file=file, field=field)
                    glb = self.cache_root / "glb" / f"{record.blobs['model.glb']}.glb"
                    if not glb.exists():
                        link_or_copy(self.lib.blob_path(record.blobs["model.glb"]), glb)
                    refs[prop.asset] = SkinRef(ref=record.ref, glb=str(glb),
                                               content_hash=record.content_hash, height=0.0)
        return refs

    def lock(self, episode: str) -> dict[str, str]:
        """Lock ``episode`` to the skins it uses now (made if needed); returns them."""
        from reskin.scenes.locks import lock

        cast, episodes, wardrobes = load_inputs(self.series)
        if episode not in {e.id for e in episodes}:
            raise ReskinError(f"no episode {episode!r}", file=self.series.root / "episodes")
        skins = self.skins(cast, {k: v for k, v in wardrobes.items() if k[1] == episode})
        chosen = {char: ref.ref for (char, _), ref in sorted(skins.items())}
        lock(self.lib, episode, chosen)
        return chosen

    def dry_run(self) -> list[dict]:
        """What a build would do for each shot, and why (see reskin.scenes.dry_run)."""
        from reskin.scenes.dry_run import dry_run

        return dry_run(self)

    def preview(self, episode_id: str) -> dict:
        """Draft ``episode_id`` with the preview renderer (see reskin.render.preview_job)."""
        from reskin.render.preview_job import preview_episode

        return preview_episode(self, episode_id)

    def _made(self, ref: str, what: str) -> None:
        self.made.append(ref)
        self.log(f"{what}: {ref}")

    def render(self, plans: list[ShotPlan]) -> dict[str, tuple[StepCache, bool]]:
        """Render every plan's missing frames on the executor; returns key -> (cache, cached)."""
        from reskin.render.executors import RenderJob

        caches, jobs = {}, []
        for plan in plans:
            cache = StepCache(self.cache_root, "render", plan.key, "beauty", plan.frame_count)
            caches[plan.key] = (cache, cache.is_done())
            if not cache.is_done() and cache.missing():
                cache.dir.mkdir(parents=True, exist_ok=True)
                jobs.append(RenderJob(plan.to_dict() | {"out_dir": str(cache.dir),
                                                         "frames": cache.missing()}))
        if jobs:
            total = sum(len(j.shot["frames"]) for j in jobs)
            self.log(f"rendering {total} frames of {len(jobs)} shots")
            self.executor.run(jobs, progress=self._progress(jobs) if self.progress else None)
        for plan in plans:
            cache, cached = caches[plan.key]
            if not cached:
                missing = cache.missing()
                if missing:
                    raise ReskinError(f"render finished with {len(missing)} frames missing",
                                      field=plan.name)
                cache.mark_done(plan=plan.to_dict())
        return caches

    def stylize(self, plan: ShotPlan, rendered: StepCache) -> tuple[StepCache, bool]:
        from PIL import Image

        from reskin.fsutil import atomic_path
        from reskin.render.stylize import make_stylizer

        stylizer = make_stylizer(self.series.style)
        key = key_of("stylize", plan.key, stylizer.key())
        cache = StepCache(self.cache_root, "stylize", key, "styled", plan.frame_count)
        if cache.is_done():
            return cache, True
        style = self._style_asset(stylizer)
        styled = stylizer.stylize(load_frameset(rendered.dir, plan.to_dict()))
        cache.dir.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(styled):
            with atomic_path(cache.frame(i)) as tmp:
                Image.fromarray(img).save(tmp, format="PNG")
        cache.mark_done(style=style.ref, stylizer=stylizer.key())
        return cache, False

    def _style_asset(self, stylizer) -> AssetRecord:
        """The series style lock: the exact settings (model file hashes, seed, prompt...) a
        stylized shot used, stored once as a ``style`` asset with provenance."""
        import reskin
        from reskin.hashing import stable_json

        settings = stylizer.key()
        key = key_of("style", settings)
        found = self.lib.find_by_key("style", key)
        if found is not None:
            return found
        record = self.lib.add(
            self.style_name, "style", {"style.json": stable_json(settings).encode()},
            meta={"stylizer": stylizer.name},
            provenance={"generator": "reskin.stylize", "settings": settings,
                        "seed": settings.get("seed"), "reskin": reskin.__version__},
            input_key=key)
        self._made(record.ref, "style recorded")
        return record

    def publish(self, ep: Episode, shots: list[tuple[ShotPlan, StepCache, bool]]) -> EpisodeResult:
        from reskin.fsutil import write_text_atomic
        from reskin.render.outputs import contact_sheet, pick_frames, write_mp4

        out = self.publish_root / ep.id
        out.mkdir(parents=True, exist_ok=True)
        result = EpisodeResult(id=ep.id, video=str(out / f"{ep.id}.mp4"),
                               contact_sheet=str(out / f"{ep.id}_sheet.png"))
        stamp_path = out / ".published.json"
        try:
            stamps = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            stamps = {}
        all_frames = []
        for plan, styled, cached in shots:
            folder = out / plan.shot
            video = folder / f"{plan.shot}.mp4"
            if stamps.get(plan.shot) != styled.dir.name or not video.exists():
                tmp = out / f".{plan.shot}.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                for i, src in enumerate(styled.frames):
                    link_or_copy(src, tmp / f"frame_{i:04d}.png")
                write_mp4(styled.frames, plan.fps, tmp / video.name)
                shutil.rmtree(folder, ignore_errors=True)
                tmp.rename(folder)
                stamps[plan.shot] = styled.dir.name
            result.shots.append(ShotResult(id=plan.shot, frames=plan.frame_count,
                                           folder=str(folder), video=str(video), cached=cached))
            all_frames.extend(styled.frames)
        dialogue = [(p.start_time + ln["start"], ln["duration"], ln["speaker"], ln["text"])
                    for p, _, _ in shots for ln in p.lines]
        if dialogue:
            from reskin.scenes.subtitles import to_srt

            result.subtitles = str(out / f"{ep.id}.srt")
            write_text_atomic(Path(result.subtitles), to_srt(dialogue))
        write_text_atomic(out / ".plans.json", json.dumps(
            {p.shot: {"key": p.key, "plan": p.to_dict()} for p, _, _ in shots}, indent=1))
        ep_key = key_of([s.dir.name for _, s, _ in shots])
        if stamps.get("_episode") != ep_key or not (
            Path(result.video).exists() and Path(result.contact_sheet).exists()
        ):
            write_mp4(all_frames, self.series.fps, Path(result.video))
            rows = [(f"{p.shot}  ({p.frame_count} frames)", pick_frames(s.frames))
                    for p, s, _ in shots]
            contact_sheet(rows, Path(result.contact_sheet),
                          title=f"{self.series.name} - {ep.id}: {ep.title}")
            stamps["_episode"] = ep_key
        write_text_atomic(stamp_path, json.dumps(stamps, indent=1))
        return result

    # helpers ---------------------------------------------------------------------------------
    def _progress(self, jobs):
        """A progress callback drawing an overall bar and one bar per shot in flight."""
        from tqdm import tqdm

        sizes = {j.name: len(j.shot["frames"]) for j in jobs}
        overall = tqdm(total=sum(sizes.values()), desc="render", unit="frame", position=0)
        shots: dict = {}

        def update(name: str, n: int) -> None:
            if name not in shots:
                shots[name] = tqdm(total=sizes[name], desc=f"  {name}", unit="frame",
                                   position=len(shots) % 4 + 1, leave=False)
            shots[name].update(n)
            overall.update(n)
            if shots[name].n >= sizes[name]:
                shots[name].close()
            if overall.n >= overall.total:
                overall.close()

        return update

    def run(self, only_episodes: list[str] | None = None,
            only_shots: list[str] | None = None) -> BuildReport:
        started = time.perf_counter()
        cast, episodes, wardrobes = load_inputs(self.series)
        if only_episodes:
            unknown = set(only_episodes) - {e.id for e in episodes}
            if unknown:
                raise ReskinError(f"no episode {sorted(unknown)[0]!r}", file=self.series.root)
            episodes = [e for e in episodes if e.id in only_episodes]
            wardrobes = {k: v for k, v in wardrobes.items() if k[1] in only_episodes}
        props = self.props(episodes)  # a missing prop stops the build before any work
        skins = self.skins(cast, wardrobes)
        plans = {ep.id: compile_episode(self.series, ep,
                                        {c: s for (c, e), s in skins.items() if e == ep.id},
                                        props)
                 for ep in episodes}
        if only_shots:
            known = {p.shot for ps in plans.values() for p in ps}
            for shot in only_shots:
                if shot not in known:
                    raise ReskinError(f"no shot {shot!r} (shots: {', '.join(sorted(known))})",
                                      field="--shots")
            plans = {e: [p for p in ps if p.shot in only_shots] for e, ps in plans.items()}
            episodes = [ep for ep in episodes if plans[ep.id]]
        # Every shot of the build goes to the executor at once, so workers stay busy.
        rendered = self.render([p for ep in episodes for p in plans[ep.id]])
        results = []
        for ep in episodes:
            shots = []
            for plan in plans[ep.id]:
                cache, r_cached = rendered[plan.key]
                styled, s_cached = self.stylize(plan, cache)
                shots.append((plan, styled, r_cached and s_cached))
            results.append(self.publish(ep, shots))
        return BuildReport(series=self.series.name, seconds=round(time.perf_counter() - started, 3),
                           assets_made=self.made, episodes=results)


def build(root: str | Path, *, log: Log | None = None, progress: bool = False,
          episodes: list[str] | None = None, executor: Executor | None = None,
          shots: list[str] | None = None, style: str | None = None) -> BuildReport:
    builder = Builder(root, log=log, progress=progress, executor=executor, style=style)
    try:
        return builder.run(episodes, shots)
    finally:
        builder.close()
