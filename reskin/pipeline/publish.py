"""Publishing an episode: shot folders and videos, the episode video, contact sheet, subtitles."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from reskin.core.hashing import key_of
from reskin.pipeline.cache import StepCache, link_or_copy
from reskin.scenes.compile import ShotPlan
from reskin.scenes.episode import Episode

if TYPE_CHECKING:
    from reskin.pipeline.context import BuildContext


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


def publish_episode(ctx: BuildContext, ep: Episode,
                    shots: list[tuple[ShotPlan, StepCache, bool]]) -> EpisodeResult:
    """Publish ``ep`` from its styled ``shots`` (plan, styled frames, cached): one folder and MP4
    per shot, the episode's MP4, contact sheet and subtitles; only what changed is rewritten."""
    from reskin.core.atomic import write_text_atomic
    from reskin.render.outputs import contact_sheet, pick_frames, write_mp4

    out = ctx.publish_root / ep.id
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
        if not cached or stamps.get(plan.shot) != styled.dir.name or not video.exists():
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
    if not all(c for _, _, c in shots) or stamps.get("_episode") != ep_key or not (
        Path(result.video).exists() and Path(result.contact_sheet).exists()
    ):
        write_mp4(all_frames, ctx.series.fps, Path(result.video))
        rows = [(f"{p.shot}  ({p.frame_count} frames)", pick_frames(s.frames))
                for p, s, _ in shots]
        contact_sheet(rows, Path(result.contact_sheet),
                      title=f"{ctx.series.name} - {ep.id}: {ep.title}")
        stamps["_episode"] = ep_key
    write_text_atomic(stamp_path, json.dumps(stamps, indent=1))
    return result
