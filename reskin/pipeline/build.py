"""``reskin build``: make, rig and re-skin the cast, render, stylize and publish every episode.

Every stage is keyed by its inputs, so a second build with nothing changed does no work, and
editing one shot re-renders only that shot.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reskin.assets.library import AssetRecord
from reskin.core.errors import ReskinError
from reskin.core.hashing import key_of
from reskin.pipeline.cache import StepCache
from reskin.pipeline.context import BuildContext, Log
from reskin.pipeline.inputs import check_shots, load_frameset, load_inputs, select_episodes
from reskin.pipeline.locks import locked_skin, read_lock
from reskin.pipeline.plan_cache import clips_digest, compiled_episode
from reskin.pipeline.publish import EpisodeResult, publish_episode
from reskin.pipeline.refs import prop_refs, skin_ref
from reskin.pipeline.speech_stage import speech_stems
from reskin.render.executors import Executor, LocalExecutor
from reskin.scenes.compile import ModelRef, ShotPlan
from reskin.scenes.episode import Episode


@dataclass
class BuildReport:
    series: str
    seconds: float
    assets_made: list[str]
    episodes: list[EpisodeResult]
    graphs: dict[str, dict] = field(default_factory=dict)
    """Episode id -> its flow graph (:func:`reskin.scenes.branches.graph_json`): shots,
    choices and where they lead."""

    def to_json(self) -> str:
        """The report as one line of JSON, for scripts (indenting a 2000-shot report costs
        Python's slow encoder a third of a second)."""
        return json.dumps(asdict(self), separators=(",", ":"))


class Builder:
    """One build of one series in an open :class:`BuildContext`; renders on ``executor``.

    Use it as a context manager (``with Builder(ctx) as b: b.run()``); the context, which owns
    the library, is closed by whoever opened it.
    """

    def __init__(self, ctx: BuildContext, *, executor: Executor | None = None,
                 progress: bool | str = False, style_check: bool = True):
        self.ctx = ctx
        # A locked style is checked (once) before the first shot is stylized with it.
        self.style_check = style_check
        # "bars" (tqdm, for a terminal; True means it too), "lines" (one log line per finished
        # shot, for a log file or a pipe), or False (nothing)
        self.progress = "bars" if progress is True else progress
        self.made: list[str] = []
        self.forced: set[str] = set()  # plan names dropped by forget(): why they render again
        self.executor = executor or LocalExecutor(ctx.series.out_dir / "logs")
        # Where the executor's frames are cached: Blender's under "render"; a draft renderer
        # (the preview's) names its own kind, so its frames never pass for Blender's.
        self.render_kind: str = getattr(self.executor, "cache_kind", "render")
        self._stylizer = None  # (the series stylizer, its key), made on first use

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self.executor, "close", None)
        if close is not None:
            close()

    # stages ----------------------------------------------------------------------------------
    def skins(self, cast, wardrobes) -> dict[tuple[str, str], ModelRef]:
        """Generate and rig each character once, then make each episode's skin once."""
        from reskin.pipeline.cast import ensure_cast_rig
        from reskin.rigging.rigged import load_rigged
        from reskin.skins.make import ensure_skin, skin_key

        refs: dict[tuple[str, str], ModelRef] = {}
        rig_records: dict = {}
        loaded: dict = {}  # loading a rig costs; only when a skin must actually be made
        locks = {ep: read_lock(self.ctx.lib.root, ep) for _, ep in wardrobes}
        for (char, ep), wardrobe in sorted(wardrobes.items()):
            spec = cast[char]
            locked = locked_skin(self.ctx.lib.root, locks[ep], ep, char)
            if locked is not None:
                refs[(char, ep)] = skin_ref(self.ctx, self.ctx.lib.get(locked))
                continue
            if char not in rig_records:
                rig, made = ensure_cast_rig(self.ctx.lib, spec)
                for ref, what in made:
                    self._made(ref, what)
                rig_records[char] = rig
            rig = rig_records[char]
            fps = self.ctx.series.fps
            found = self.ctx.lib.find_by_key("skin", skin_key(rig, spec, wardrobe, fps))
            if found is None:
                if char not in loaded:
                    loaded[char] = load_rigged(self.ctx.lib, rig)
                found, _ = ensure_skin(self.ctx.lib, loaded[char], spec, wardrobe, fps,
                                       log=self.ctx.log)
                self._made(found.ref, f"re-skinned for {ep}")
            refs[(char, ep)] = skin_ref(self.ctx, found)
        return refs

    def speech(self, cast, episodes: list[Episode]) -> list[Episode]:
        """Every line's speech made once (cached by voice, text, recording and engine) and
        the episodes timed by it (:mod:`reskin.pipeline.speech_stage`)."""
        from reskin.pipeline.speech_stage import SpeechStage, cast_voices

        voices = cast_voices(cast, self.ctx.series)
        stage = SpeechStage(self.ctx.cache_root / "speech", log=self.ctx.log)
        timed = [stage.voice_episode(ep, voices) for ep in episodes]
        if stage.made:
            self.ctx.log(f"speech made for {len(stage.made)} lines")
        return timed

    def check(self, wardrobes) -> None:
        """Read what the skins and the mix will read (garment meshes, images, audio) before
        any work, as the dry run does (skins locked by the episode are not remade: skipped)."""
        from reskin.pipeline.preflight import check_build_inputs

        root = self.ctx.lib.root
        locked = {(c, e) for c, e in wardrobes
                  if locked_skin(root, read_lock(root, e), e, c) is not None}
        check_build_inputs(self.ctx, wardrobes, locked)

    def lock(self, episode: str) -> dict[str, str]:
        """Lock ``episode`` to the skins it uses now (made if needed); returns them."""
        from reskin.pipeline.locks import lock

        cast, episodes, wardrobes = load_inputs(self.ctx.series)
        if episode not in {e.id for e in episodes}:
            raise ReskinError(f"no episode {episode!r}", file=self.ctx.series.root / "episodes")
        skins = self.skins(cast, {k: v for k, v in wardrobes.items() if k[1] == episode})
        chosen = {char: ref.ref for (char, _), ref in sorted(skins.items())}
        lock(self.ctx.lib, episode, chosen)
        return chosen

    def _made(self, ref: str, what: str) -> None:
        self.made.append(ref)
        self.ctx.log(f"{what}: {ref}")

    def render(self, plans: list[ShotPlan]) -> dict[str, tuple[StepCache, bool]]:
        """Render every plan's missing frames on the executor; returns key -> (cache, cached)."""
        from reskin.render.executors import RenderJob

        caches, jobs, why = {}, [], {}
        for plan in plans:
            cache = StepCache(self.ctx.cache_root, self.render_kind, plan.key, "beauty",
                              plan.frame_count)
            done = cache.is_done()
            caches[plan.key] = (cache, done)
            if not done:
                why[plan.key] = self._why(plan, cache)
            if not done and cache.missing():
                cache.dir.mkdir(parents=True, exist_ok=True)
                jobs.append(RenderJob(plan.to_dict() | {"out_dir": str(cache.dir),
                                                         "frames": cache.missing()}))
        if jobs:
            total = sum(len(j.shot["frames"]) for j in jobs)
            self.ctx.log(f"rendering {total} frames of {len(jobs)} shots")
            self.executor.run(jobs, progress=self._progress(jobs))
        for plan in plans:
            cache, cached = caches[plan.key]
            if not cached:
                missing = cache.missing()
                if missing:
                    raise ReskinError(f"render finished with {len(missing)} frames missing",
                                      field=plan.name)
                cache.mark_done(plan=plan.to_dict(), why=why[plan.key])
            self._write_performance(plan, cache)
        return caches

    def _why(self, plan: ShotPlan, cache: StepCache) -> str:
        """Why ``plan`` renders now, as the dry run says it (kept in the cache's done.json for
        the review site)."""
        from reskin.pipeline.dry_run import changes_since

        missing = len(cache.missing())
        if plan.name in self.forced:
            return "forced (--force)"
        if missing < plan.frame_count:
            return f"resumed: {plan.frame_count - missing} of {plan.frame_count} frames were " \
                   "already rendered"
        try:
            previous = json.loads((self.ctx.publish_root / plan.episode / ".plans.json")
                                  .read_text())
        except (OSError, ValueError):
            previous = {}
        return changes_since(previous.get(plan.shot), plan)

    @staticmethod
    def _write_performance(plan: ShotPlan, cache: StepCache) -> None:
        """``performance.json`` beside the shot's frames: per character and frame, the face's
        canonical weights and the gaze target (what the frames show, for tools and checks)."""
        from reskin.core.atomic import write_text_atomic
        from reskin.scenes.performance import performance_json

        path = cache.dir / "performance.json"
        if cache.dir.exists() and not path.exists():
            write_text_atomic(path, json.dumps(performance_json(plan.cast, plan.fps,
                                                                plan.lines)))

    def _stylize_cache(self, plan: ShotPlan):
        """The series stylizer and the cache entry of ``plan``'s styled frames."""
        from reskin.pipeline.references import shot_stylizer, uses_references

        style = self.ctx.series.style
        if uses_references(style):  # the shot's cast's reference renders: one per shot
            stylizer = shot_stylizer(self.ctx.lib, style, plan.to_dict())
            settings = stylizer.key()
        else:
            if self._stylizer is None:  # one per build: the series' style does not change
                stylizer = shot_stylizer(self.ctx.lib, style, plan.to_dict())
                self._stylizer = (stylizer, stylizer.key())
            stylizer, settings = self._stylizer
        key = key_of("stylize", plan.key, settings) if self.render_kind == "render" \
            else key_of("stylize", self.render_kind, plan.key, settings)
        return stylizer, StepCache(self.ctx.cache_root, "stylize", key, "styled",
                                   plan.frame_count)

    def forget(self, plan: ShotPlan) -> None:
        """Drop ``plan``'s render and stylize cache entries, so that it renders again."""
        import shutil

        _, styled = self._stylize_cache(plan)
        rendered = StepCache(self.ctx.cache_root, self.render_kind, plan.key, "beauty",
                             plan.frame_count)
        for cache in (rendered, styled):
            shutil.rmtree(cache.dir, ignore_errors=True)
        self.forced.add(plan.name)
        self.ctx.log(f"forced: {plan.name} renders again")

    def stylize(self, plan: ShotPlan, rendered: StepCache) -> tuple[StepCache, bool]:
        """Stylize ``plan``'s rendered frames once per style; returns (cache, was cached)."""
        from PIL import Image

        from reskin.core.atomic import atomic_path

        stylizer, cache = self._stylize_cache(plan)
        if cache.is_done():
            return cache, True
        if self.style_check:
            from reskin.pipeline.style_gate import require_unchanged

            name = "series" if self.ctx.style_name == "style.series" else \
                self.ctx.publish_root.name
            if require_unchanged(self.ctx.series.root, name) is not None:
                self.ctx.log(f"style {name!r} matches its lock")
            self.style_check = False
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
        from reskin.core.hashing import stable_json

        settings = stylizer.key()
        key = key_of("style", settings)
        found = self.ctx.lib.find_by_key("style", key)
        if found is not None:
            return found
        record = self.ctx.lib.add(
            self.ctx.style_name, "style", {"style.json": stable_json(settings).encode()},
            meta={"stylizer": stylizer.name},
            provenance={"generator": "reskin.stylize", "settings": settings,
                        "seed": settings.get("seed"), "reskin": reskin.__version__},
            input_key=key)
        self._made(record.ref, "style recorded")
        return record

    def _progress(self, jobs):
        """The executor's progress callback: tqdm bars, one line per finished shot, or None."""
        sizes = {j.name: len(j.shot["frames"]) for j in jobs}
        if self.progress == "lines":
            done: dict[str, int] = {}

            def line(name: str, n: int) -> None:
                done[name] = done.get(name, 0) + n
                if done[name] == sizes[name]:
                    self.ctx.log(f"rendered {name} ({sizes[name]} frames)")

            return line
        if self.progress != "bars":
            return None
        from tqdm import tqdm

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
            only_shots: list[str] | None = None,
            force_shots: list[str] | None = None) -> BuildReport:
        """Build ``only_episodes`` (default: all). Each episode is built and published whole;
        ``only_shots`` must name shots of it; ``force_shots`` are rendered again."""
        started = time.perf_counter()
        cast, episodes, wardrobes = load_inputs(self.ctx.series)
        episodes, wardrobes = select_episodes(self.ctx.series, episodes, wardrobes,
                                              only_episodes)
        props = prop_refs(self.ctx, episodes)  # a missing prop stops the build before any work
        self.check(wardrobes)
        # Every line's speech before anything is made: a bad voice or recording stops here.
        episodes = self.speech(cast, episodes)
        skins = self.skins(cast, wardrobes)
        clips = clips_digest(self.ctx)
        plans = {ep.id: compiled_episode(self.ctx, ep,
                                         {c: s for (c, e), s in skins.items() if e == ep.id},
                                         props, clips)
                 for ep in episodes}
        if self.ctx.series.licenses.allow is not None:
            # A forbidden licence stops the build before anything renders or publishes.
            from reskin.pipeline.provenance import check_licenses, episode_assets

            for ep in episodes:
                check_licenses(self.ctx.series, episode_assets(self.ctx.lib, ep, plans[ep.id],
                                                               []), ep.id)
        for ps in plans.values():  # blocking: collisions, a member leaving the frame
            for plan in ps:
                for warning in plan.warnings:
                    self.ctx.log(f"warning: {plan.name}: {warning}")
        known = {p.shot for ps in plans.values() for p in ps}
        check_shots(known, only_shots, "--shots")
        check_shots(known, force_shots, "--shot")
        if only_shots:
            # the episodes holding them, published from all their shots (the rest cached)
            episodes = [ep for ep in episodes if any(p.shot in only_shots for p in plans[ep.id])]
        if force_shots:
            for ep in episodes:
                for plan in plans[ep.id]:
                    if plan.shot in force_shots:
                        self.forget(plan)
        # Every shot of the build goes to the executor at once, so workers stay busy.
        rendered = self.render([p for ep in episodes for p in plans[ep.id]])
        results = []
        for ep in episodes:
            shots = []
            for plan in plans[ep.id]:
                cache, r_cached = rendered[plan.key]
                styled, s_cached = self.stylize(plan, cache)
                shots.append((plan, styled, r_cached and s_cached))
            results.append(publish_episode(self.ctx, ep, shots, stems=speech_stems(ep)))
        from reskin.scenes.branches import graph_json

        return BuildReport(series=self.ctx.series.name,
                           seconds=round(time.perf_counter() - started, 3),
                           assets_made=self.made, episodes=results,
                           graphs={ep.id: graph_json(ep) for ep in episodes})


def build(root: str | Path, *, log: Log | None = None, progress: bool | str = False,
          episodes: list[str] | None = None, executor: Executor | None = None,
          shots: list[str] | None = None, style: str | None = None,
          force: list[str] | None = None, style_check: bool = True,
          preview: bool = False) -> BuildReport:
    """Build the series at ``root`` (only ``episodes`` when given, whole; ``shots`` must be
    theirs; ``force`` shots render again; ``preview``: every shot drawn by the preview
    renderer instead of ``executor``, a draft kept apart in the cache). A locked style is
    checked against its lock before anything is stylized with it (``style_check=False``:
    not)."""
    with BuildContext.open(root, style=style, log=log) as ctx:
        if preview:
            from reskin.pipeline.preview_job import PreviewExecutor

            executor = PreviewExecutor(ctx.lib, ctx.series.width, ctx.series.height,
                                       ctx.series.fps)
        with Builder(ctx, executor=executor, progress=progress,
                     style_check=style_check) as builder:
            return builder.run(episodes, shots, force)
