"""Compiled plans kept between builds: the same plans as compiling, a new key for any change."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reskin.pipeline.context import BuildContext
from reskin.pipeline.inputs import load_inputs
from reskin.pipeline.plan_cache import KIND, clips_digest, compiled_episode, plans_key
from reskin.scenes.compile import ModelRef, compile_episode
from tests.pipeline.test_build import make_tiny


def _plain(plans) -> list[dict]:
    return json.loads(json.dumps([dataclasses.asdict(p) for p in plans]))


@pytest.fixture()
def series(tmp_path):
    root = make_tiny(tmp_path / "tiny")
    with BuildContext.open(root) as ctx:
        cast, episodes, _ = load_inputs(ctx.series)
        skins = {c: ModelRef(ref=f"{c}.ep@1", glb="", content_hash=f"hash-{c}", height=1.7)
                 for c in cast}
        yield root, ctx, episodes, skins


def test_cached_plans_are_the_compiled_ones(series):
    _, ctx, episodes, skins = series
    clips = clips_digest(ctx)
    for ep in episodes:
        fresh = compile_episode(ctx.series, ep, skins, {})
        first = compiled_episode(ctx, ep, skins, {}, clips)  # compiles, keeps
        again = compiled_episode(ctx, ep, skins, {}, clips)  # reads what it kept
        assert _plain(first) == _plain(again) == _plain(fresh)
        assert [p.key for p in again] == [p.key for p in fresh]
    assert len(list((ctx.cache_root / KIND).glob("*.json"))) == len(episodes)


def test_any_input_that_changes_the_plans_changes_the_key(series):
    root, ctx, episodes, skins = series
    ep = episodes[0]
    clips = clips_digest(ctx)
    key = plans_key(ctx, ep, skins, {}, clips)
    other_skin = {**skins, "mira": dataclasses.replace(skins["mira"], content_hash="other")}
    moved = dataclasses.replace(ep, shots=(dataclasses.replace(
        ep.shots[0], camera=dataclasses.replace(ep.shots[0].camera, yaw=33.0)),
        *ep.shots[1:]))
    small = dataclasses.replace(ctx, series=dataclasses.replace(ctx.series, width=32))
    s = ctx.series
    undenoised = dataclasses.replace(ctx, series=dataclasses.replace(
        s, render=dataclasses.replace(s.render, denoise=False)))
    grainy = dataclasses.replace(ctx, series=dataclasses.replace(
        s, style=dataclasses.replace(s.style, coherence="none")))
    keys = {plans_key(ctx, ep, other_skin, {}, clips), plans_key(ctx, moved, skins, {}, clips),
            plans_key(small, ep, skins, {}, clips), plans_key(ctx, ep, skins, {}, "new clip"),
            plans_key(undenoised, ep, skins, {}, clips), plans_key(grainy, ep, skins, {}, clips)}
    assert key not in keys and len(keys) == 6
    # what the two settings change in the plans themselves
    plain = compile_episode(s, ep, skins, {})[0]
    assert compile_episode(undenoised.series, ep, skins, {})[0].key != plain.key
    assert compile_episode(grainy.series, ep, skins, {})[0].key != plain.key
    assert compile_episode(ctx.series, moved, skins, {})[0].key != \
        compiled_episode(ctx, ep, skins, {}, clips)[0].key
    # a damaged cache file is compiled again, to the same plans
    compiled_episode(ctx, ep, skins, {}, clips)
    for f in (ctx.cache_root / KIND).glob("*.json"):
        f.write_text("{not json")
    assert _plain(compiled_episode(ctx, ep, skins, {}, clips)) == \
        _plain(compile_episode(ctx.series, ep, skins, {}))
