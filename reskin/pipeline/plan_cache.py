"""Compiled shot plans kept between builds, keyed by everything the compiler reads.

Compiling an episode (timing, blocking, framing, faces: :func:`reskin.scenes.compile.
compile_episode`) costs a few milliseconds a shot: a second of a no-op build of a 100-episode
series. Its result depends only on its arguments and the library's clip assets, so it is kept
as JSON under ``.reskin/cache/plans/<key>.json``, keyed by the episode as loaded and voiced
(every field of every shot and line, speech included: a digest of its pickle), the skins
and props it places (their refs, files and content hashes), the series settings (all of
them: what the compiler reads from them grows, e.g. passes from the style), the clip assets
(their refs and content hashes), the versions of reskin and the plan format, and the source of
the code that compiles (so a changed compiler in a development checkout is never served an old
plan under an unchanged version number).
A key that differs in anything compiles afresh; a plan that is not plain JSON is not kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import reskin
from reskin.core.atomic import write_text_atomic
from reskin.core.hashing import key_of
from reskin.scenes.compile import RENDER_PLAN_VERSION, ModelRef, ShotPlan, compile_episode

if TYPE_CHECKING:
    from reskin.pipeline.context import BuildContext
    from reskin.scenes.episode import Episode

PLAN_CACHE_VERSION = "1"
KIND = "plans"


def clips_digest(ctx: BuildContext) -> str:
    """The library's clip assets (refs and content), once per build: a shot naming a clip by
    name resolves to its newest version, so a new version changes every key."""
    return key_of([(r.ref, r.content_hash) for r in ctx.lib.list("clip")])


def _digest(value: object) -> str:
    """SHA-256 of ``value``'s pickle: every field of every dataclass in it, at C speed (a fifth
    of a JSON walk's time). Pickling is deterministic for the same parse (no sets are in an
    episode); two equal values pickled differently would only miss the cache, never hit."""
    return hashlib.sha256(pickle.dumps(value, protocol=5)).hexdigest()


@cache
def code_digest() -> str:
    """SHA-256 over the source of the layers the compiler runs (core, rigging, scenes), once
    per process: about 200 small files, a few milliseconds."""
    pkg = Path(reskin.__file__).parent
    h = hashlib.sha256()
    for layer in ("core", "rigging", "scenes"):
        for f in sorted((pkg / layer).rglob("*.py")):
            h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def plans_key(ctx: BuildContext, ep: Episode, skins: dict[str, ModelRef],
              props: dict[str, ModelRef], clips: str) -> str:
    """The cache key of ``ep``'s compiled plans (see the module's docstring)."""
    return key_of(KIND, PLAN_CACHE_VERSION, RENDER_PLAN_VERSION, reskin.__version__,
                  sys.version, code_digest(), _digest(ctx.series),
                  _digest((ep, sorted(skins.items()), sorted(props.items()))), clips)


def compiled_episode(ctx: BuildContext, ep: Episode, skins: dict[str, ModelRef],
                     props: dict[str, ModelRef], clips: str) -> list[ShotPlan]:
    """``compile_episode(ctx.series, ep, skins, props)``, from the cache when the same
    inputs were compiled before. ``clips``: :func:`clips_digest`."""
    key = plans_key(ctx, ep, skins, props, clips)
    path = ctx.cache_root / KIND / f"{key}.json"
    try:
        return [ShotPlan(**d) for d in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        pass  # not compiled yet, or unreadable: compile
    plans = compile_episode(ctx.series, ep, skins, props)
    try:
        text = json.dumps([dataclasses.asdict(p) for p in plans], separators=(",", ":"))
    except (TypeError, ValueError):  # not plain data: compiled every time
        return plans
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    # The plans as a reader of the file gets them (tuples as lists), so that a first build and
    # a cached one hand the same values on.
    return [ShotPlan(**d) for d in json.loads(text)]
