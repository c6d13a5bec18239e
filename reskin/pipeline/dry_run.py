"""`reskin build --dry-run`: what a build would do for each shot, and why. Makes nothing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from reskin.pipeline.cache import StepCache
from reskin.pipeline.inputs import check_shots, load_inputs, select_episodes
from reskin.pipeline.locks import locked_skin, read_lock
from reskin.pipeline.plan_cache import clips_digest, compiled_episode
from reskin.pipeline.preflight import check_build_inputs, check_cast_source
from reskin.pipeline.refs import prop_refs
from reskin.pipeline.speech_stage import SpeechStage, cast_voices
from reskin.scenes.compile import ModelRef, ShotPlan

if TYPE_CHECKING:
    from reskin.assets.library import AssetRecord
    from reskin.pipeline.context import BuildContext


def dry_run(ctx: BuildContext, only_episodes: list[str] | None = None,
            force_shots: list[str] | None = None, render_kind: str = "render") -> list[dict]:
    """What a build of ``only_episodes`` (default: all) would do for each shot, and why;
    renders nothing. It checks what the build checks first (episodes, props, locks, shots) and
    raises the same one-line ReskinError. ``render_kind``: the cache of the renderer asked
    for ("render", Blender's; "preview", ``reskin build --preview``'s)."""
    from reskin.pipeline.cast import find_cast_rig
    from reskin.skins.make import skin_key, skin_name

    cast, episodes, wardrobes = load_inputs(ctx.series)
    episodes, wardrobes = select_episodes(ctx.series, episodes, wardrobes, only_episodes)
    props = prop_refs(ctx, episodes)  # the build's own check: a missing prop is an error here
    locked_skins = {(char, ep): locked_skin(ctx.lib.root, read_lock(ctx.lib.root, ep), ep, char)
                    for char, ep in wardrobes}
    check_build_inputs(ctx, wardrobes, {k for k, v in locked_skins.items() if v is not None})
    # Lines timed by their speech, as the build times them (cached speech is read, new speech
    # is made in memory and kept nowhere): the shots' frames and keys depend on it.
    voices = cast_voices(cast, ctx.series)
    stage = SpeechStage(ctx.cache_root / "speech", store=False)
    episodes = [stage.voice_episode(ep, voices) for ep in episodes]
    refs: dict[tuple[str, str], ModelRef] = {}
    pending: dict[str, str] = {}  # episode -> why its skins are not ready
    checked: set[str] = set()
    for (char, ep), wardrobe in sorted(wardrobes.items()):
        locked = locked_skins[(char, ep)]
        if locked is not None:
            refs[(char, ep)] = _unlinked(ctx.lib.get(locked))
            continue
        rig = find_cast_rig(ctx.lib, cast[char])
        if rig is None and char not in checked:  # the build would import its model: check it
            check_cast_source(ctx.lib, cast[char])
            checked.add(char)
        found = rig and ctx.lib.find_by_key(
            "skin", skin_key(rig, cast[char], wardrobe, ctx.series.fps))
        if not found:
            made = "imported" if cast[char].source is not None else "generated"
            what = f"character will be {made} and rigged" if rig is None else \
                f"skin {skin_name(char, ep)} will be made (wardrobe or character changed)"
            pending.setdefault(ep, what)
            continue
        refs[(char, ep)] = _unlinked(found)
    check_shots({s.id for ep in episodes for s in ep.shots}, force_shots, "--shot")
    rows = []
    clips = clips_digest(ctx)
    for ep in episodes:
        if ep.id in pending:
            rows += [{"episode": ep.id, "shot": s.id, "action": "render",
                      "why": pending[ep.id]} for s in ep.shots]
            continue
        try:
            previous = json.loads((ctx.series.out_dir / ep.id / ".plans.json").read_text())
        except (OSError, ValueError):
            previous = {}
        ep_skins = {c: r for (c, e), r in refs.items() if e == ep.id}
        for plan in compiled_episode(ctx, ep, ep_skins, props, clips):
            cache = StepCache(ctx.cache_root, render_kind, plan.key, "beauty", plan.frame_count)
            missing = len(cache.missing())
            row = {"episode": ep.id, "shot": plan.shot, "frames": plan.frame_count}
            if plan.warnings:
                row["warnings"] = list(plan.warnings)
            if force_shots and plan.shot in force_shots:
                row |= {"action": "render", "why": "forced (--force)"}
            elif cache.is_done():
                row |= {"action": "cached", "why": "inputs unchanged"}
            elif missing < plan.frame_count:
                row |= {"action": "resume",
                        "why": f"{plan.frame_count - missing} of {plan.frame_count} "
                               "frames already rendered"}
            else:
                row |= {"action": "render", "why": changes_since(previous.get(plan.shot), plan)}
            rows.append(row)
    return rows


def _unlinked(skin: AssetRecord) -> ModelRef:
    """What the compiler needs of ``skin`` to key a shot; a dry run links no GLB."""
    return ModelRef(ref=skin.ref, glb="", content_hash=skin.content_hash,
                    height=float(skin.meta["height"]), face=skin.meta.get("face"))


def changes_since(previous: dict | None, plan: ShotPlan) -> str:
    """Why ``plan`` renders: which parts of it differ from ``previous`` (its entry in the last
    published build's ``.plans.json``, None when it has none)."""
    if previous is None:
        return "new shot"
    now = plan.to_dict()
    before = previous.get("plan", {})
    changed = [k for k in now if k != "cast" and now[k] != before.get(k)]
    if [c["key"] for c in now["cast"]] != [c.get("key") for c in before.get("cast", [])]:
        changed.append("skins")
    elif [{k: v for k, v in c.items() if k != "glb"} for c in now["cast"]] != \
            [{k: v for k, v in c.items() if k != "glb"} for c in before.get("cast", [])]:
        changed.append("cast")
    return ("changed: " + ", ".join(changed)) if changed else "reskin or engine version changed"
