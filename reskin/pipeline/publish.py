"""Publishing an episode: shot folders and videos, the episode video with its sound and
subtitles, contact sheet, SRT.

Sound enters through one seam: each shot's dialogue is a list of line clips (start s in the
shot, PCM, sample rate), given in ``stems`` by whoever synthesised or loaded the lines, or read
from ``dialogue.wav`` beside the shot's styled frames. Every MP4 gets an audio track (silence
when nobody speaks); the episode's is the mix with the series' music and ambience beds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reskin.core.hashing import key_of
from reskin.pipeline.cache import StepCache
from reskin.scenes.compile import ShotPlan
from reskin.scenes.episode import Episode

if TYPE_CHECKING:
    from reskin.pipeline.context import BuildContext

LineClip = tuple[float, np.ndarray, int]
"""One spoken line: (start s within the shot, (n,) or (n, ch) PCM, its sample rate)."""
DIALOGUE_WAV = "dialogue.wav"
"""A shot's dialogue stem, read from beside its styled frames when ``stems`` has none."""


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
    audio: str | None = None
    """The episode's final mix as a WAV (48 kHz mono), the same sound the MP4 carries."""


def _file_hash(path: Path | None) -> str | None:
    if path is None:
        return None
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return f"unreadable:{path}"  # reading it later reports the problem in one line
    return h.hexdigest()


def _write_if_changed(path: Path, text: str) -> None:
    """``text`` written to ``path`` atomically, unless the file holds it already."""
    from reskin.core.atomic import write_text_atomic

    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_text_atomic(path, text)


def shot_dialogue(plan: ShotPlan, styled: StepCache,
                  stems: Mapping[str, Sequence[LineClip]] | None) -> np.ndarray:
    """(round(frames / fps * 48000),) float32: ``plan``'s dialogue stem from ``stems`` or from
    ``dialogue.wav`` beside its styled frames; silence when it has neither."""
    from reskin.render.audio import SR, mix_shot, read_audio

    clips = (stems or {}).get(plan.shot)
    if clips is None and (styled.dir / DIALOGUE_WAV).exists():
        clips = [(0.0, read_audio(styled.dir / DIALOGUE_WAV), SR)]
    return mix_shot(list(clips or []), plan.frame_count / plan.fps)


def _beds(ctx: BuildContext) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The series' music and ambience beds, (n,) PCM at 48 kHz each, or None where unset."""
    from reskin.render.audio import read_audio

    sound = ctx.series.sound
    music = sound.music and read_audio(sound.music, field="music", where=sound.music_where)
    ambience = sound.ambience and read_audio(sound.ambience, field="ambience",
                                             where=sound.ambience_where)
    return music, ambience


def _burner(ctx: BuildContext, cues: list):
    """The burned-in subtitles' frame overlay, or None when the series does not burn them."""
    subs = ctx.series.subtitles
    if not subs.burn:
        return None
    from reskin.render.captions import CaptionRenderer, burner, find_cjk_font

    font = find_cjk_font(subs.font or "auto", where=subs.font_where)
    renderer = CaptionRenderer(ctx.series.width, ctx.series.height, font, subs.size)
    return burner(cues, ctx.series.fps, renderer)


def publish_episode(ctx: BuildContext, ep: Episode,
                    shots: list[tuple[ShotPlan, StepCache, bool]],
                    stems: Mapping[str, Sequence[LineClip]] | None = None) -> EpisodeResult:
    """Publish ``ep`` from its styled ``shots`` (plan, styled frames, cached): one folder and MP4
    per shot, the episode's MP4 (AAC mix, embedded subtitles, burned-in ones if asked),
    its WAV, contact sheet and SRT; only what changed is rewritten.

    stems : shot id -> the shot's line clips (see :data:`LineClip`); a shot not in it uses
            ``dialogue.wav`` beside its styled frames, else is silent.
    """
    from reskin.pipeline import provenance
    from reskin.render.audio import episode_mix, write_wav
    from reskin.render.captions import Cue
    from reskin.render.outputs import contact_sheet, pick_frames, write_mp4

    series = ctx.series
    out = ctx.publish_root / ep.id
    result = EpisodeResult(id=ep.id, video=str(out / f"{ep.id}.mp4"),
                           contact_sheet=str(out / f"{ep.id}_sheet.png"),
                           audio=str(out / f"{ep.id}.wav"))
    stamp_path = out / ".published.json"
    try:
        stamps = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamps = {}

    # Everything that can fail on a user's file is read before anything is written.
    dialogue = [shot_dialogue(plan, styled, stems) for plan, styled, _ in shots]
    starts, t = [], 0
    for plan, _, _ in shots:  # frame-exact: the sound and the subtitles follow the picture
        starts.append(t / series.fps)
        t += plan.frame_count
    ep_seconds = t / series.fps
    lines = [(start + ln["start"], min(ln["duration"], ep_seconds - start - ln["start"]),
              ln["speaker"], ln["text"])
             for (p, _, _), start in zip(shots, starts, strict=True) for ln in p.lines
             if start + ln["start"] < ep_seconds]
    cues = [Cue(s, s + d, text) for s, d, _, text in lines]
    prov = provenance.prepare_episode(ctx, ep, shots)  # a forbidden licence stops it here
    srt = None
    if lines:
        from reskin.scenes.subtitles import to_srt

        srt = to_srt(lines)
    sound = series.sound
    stem_keys = [key_of(d) for d in dialogue]  # hashed once: the episode's key and each shot's
    sound_key = key_of("sound", stem_keys, starts,
                       _file_hash(sound.music), _file_hash(sound.ambience), sound.loudness,
                       sound.ducking)
    ep_key = key_of([s.dir.name for _, s, _ in shots], sound_key, srt,
                    series.subtitles.burn and [series.subtitles.size,
                                               str(series.subtitles.font)], prov.key)
    episode_stale = not all(c for _, _, c in shots) or stamps.get("_episode") != ep_key or not (
        Path(result.video).exists() and Path(result.contact_sheet).exists()
        and Path(result.audio).exists())
    music, ambience = _beds(ctx) if episode_stale else (None, None)
    # Fonts for the burned-in subtitles and label, read (and refused) before anything is
    # written; only the episode's MP4 draws them, so an unchanged episode reads none.
    overlay = provenance.episode_overlay(ctx, _burner(ctx, cues)) if episode_stale else None

    out.mkdir(parents=True, exist_ok=True)
    all_frames = []
    for (plan, styled, cached), stem, stem_key in zip(shots, dialogue, stem_keys, strict=True):
        folder = out / plan.shot
        video = folder / f"{plan.shot}.mp4"
        stamp = key_of(styled.dir.name, stem_key, prov.key)
        if not cached or stamps.get(plan.shot) != stamp or not video.exists():
            tmp = out / f".{plan.shot}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            for i, src in enumerate(styled.frames):
                provenance.publish_frame(src, tmp / f"frame_{i:04d}.png", prov, plan.shot)
            write_wav(stem, tmp / f"{plan.shot}.wav")
            write_mp4(styled.frames, plan.fps, tmp / video.name, audio=stem,
                      metadata=prov.tags(plan.shot))
            shutil.rmtree(folder, ignore_errors=True)
            tmp.rename(folder)
            stamps[plan.shot] = stamp
        result.shots.append(ShotResult(id=plan.shot, frames=plan.frame_count,
                                       folder=str(folder), video=str(video), cached=cached))
        all_frames.extend(styled.frames)
    if srt is not None:
        result.subtitles = str(out / f"{ep.id}.srt")
        _write_if_changed(Path(result.subtitles), srt)
    # Compact JSON (the C encoder; an indented dump is the pure-Python one, 40 ms an episode),
    # rewritten only when it changed: a no-op build of a long series writes nothing here.
    _write_if_changed(out / ".plans.json", json.dumps(
        {p.shot: {"key": p.key, "plan": p.to_dict()} for p, _, _ in shots},
        separators=(",", ":")))
    if episode_stale:
        mix = episode_mix(list(zip(starts, dialogue, strict=True)), ep_seconds, music, ambience,
                          duck_db=sound.ducking, target_lufs=sound.loudness)
        write_wav(mix, Path(result.audio))
        write_mp4(all_frames, series.fps, Path(result.video), audio=mix, subtitles=srt,
                  overlay=overlay, metadata=prov.tags())
        rows = [(f"{p.shot}  ({p.frame_count} frames)", pick_frames(s.frames))
                for p, s, _ in shots]
        contact_sheet(rows, Path(result.contact_sheet),
                      title=f"{series.name} - {ep.id}: {ep.title}")
        provenance.finish_episode(ctx, ep, prov, result)  # labels, C2PA, credits
        stamps["_episode"] = ep_key
    _write_if_changed(stamp_path, json.dumps(stamps, indent=1))
    return result
