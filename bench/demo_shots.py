"""The built-in demo series compiled into shot plans, for the render benches (no rendering)."""

from __future__ import annotations

from pathlib import Path


def demo_plans(tmp: Path, width: int, height: int, render: str, fps: int = 8,
               style: str = "{stylizer: toon}") -> tuple[object, dict]:
    """(the open BuildContext, episode id -> its ShotPlans) of the demo series at ``width`` x
    ``height`` with ``render`` (series.yaml's ``render:`` mapping, as YAML flow text)."""
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.inputs import load_inputs
    from reskin.pipeline.refs import prop_refs
    from reskin.pipeline.series_init import create_demo
    from reskin.scenes.compile import compile_episode

    root = create_demo(tmp / "series")
    (root / "series.yaml").write_text(
        f"name: bench\nresolution: [{width}, {height}]\nfps: {fps}\nrender: {render}\n"
        f"style: {style}\n")
    ctx = BuildContext.open(root)
    builder = Builder(ctx)
    cast, episodes, wardrobes = load_inputs(ctx.series)
    episodes = builder.speech(cast, episodes)  # lines timed by their speech, as a build does
    skins = builder.skins(cast, wardrobes)
    plans = {ep.id: compile_episode(ctx.series, ep, {c: s for (c, e), s in skins.items()
                                                     if e == ep.id}, prop_refs(ctx, [ep]))
             for ep in episodes}
    return ctx, plans


def full_shot(plans: dict):
    """The first plan with two or more characters and a set (the demo's typical frame)."""
    every = [p for ps in plans.values() for p in ps]
    return next((p for p in every if len(p.cast) >= 2 and p.stage), every[0])
