"""`reskin export otio EP`: the episode as an OpenTimelineIO timeline for an editing suite.

A video track of the shot clips, each referencing its rendered MP4 (``out/<ep>/<shot>/
<shot>.mp4``), the dialogue on audio tracks (one WAV per line, written beside the timeline;
overlapping lines go to a second track), and every line as a marker on its shot's clip.
Durations are the build's: each shot's frames at the series' rate, timed by its lines' speech.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reskin.core.errors import ReskinError
from reskin.pipeline.inputs import load_inputs

if TYPE_CHECKING:
    from reskin.pipeline.build import Builder


def shot_frames(duration: float, fps: int) -> int:
    """A shot's frame count, as the compiler rounds it."""
    return max(1, round(duration * fps))


def export_otio(builder: Builder, episode_id: str, out: Path) -> dict:
    """Write ``episode_id``'s timeline to ``out`` (``.otio``; another suffix an installed OTIO
    adapter writes, e.g. ``.edl`` or ``.xml``, is passed to it). Returns {"path", "clips",
    "seconds", "missing"} (``missing``: shots not rendered yet, referenced all the same)."""
    import opentimelineio as otio
    import soundfile as sf

    ctx = builder.ctx
    cast, episodes, _ = load_inputs(ctx.series)
    ep = next((e for e in episodes if e.id == episode_id), None)
    if ep is None:
        raise ReskinError(f"no episode {episode_id!r}", file=ctx.series.root / "episodes")
    (ep,) = builder.speech(cast, [ep])
    fps = ctx.series.fps
    rate = float(fps)
    published = Path(ctx.publish_root).resolve() / ep.id
    audio_dir = out.resolve().parent / f"{out.stem}_dialogue"
    timeline = otio.schema.Timeline(name=ep.title or ep.id)
    timeline.global_start_time = otio.opentime.RationalTime(0, rate)
    video = otio.schema.Track(name="shots", kind=otio.schema.TrackKind.Video)
    dialogue: list[list[tuple[int, int, Path, str]]] = [[]]  # per track: (start, frames, ...)
    missing, cursor = [], 0
    for shot in ep.shots:
        frames = shot_frames(shot.duration, fps)
        media = published / shot.id / f"{shot.id}.mp4"
        if not media.exists():
            missing.append(shot.id)
        ref = otio.schema.ExternalReference(
            target_url=media.as_uri(),
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                    otio.opentime.RationalTime(frames, rate)))
        clip = otio.schema.Clip(name=shot.id, media_reference=ref, source_range=ref.available_range)
        for n, ln in enumerate(shot.lines):
            start = round(ln.start * fps)
            length = max(1, round(ln.duration * fps))
            clip.markers.append(otio.schema.Marker(
                name=f"{ln.speaker}: {ln.text}", color=otio.schema.MarkerColor.YELLOW,
                marked_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate),
                                                     otio.opentime.RationalTime(length, rate)),
                metadata={"reskin": {"speaker": ln.speaker, "text": ln.text,
                                     "emotion": ln.emotion}}))
            if ln.voiced is None:
                continue
            wav = audio_dir / f"{shot.id}_{n + 1:02d}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            sf.write(wav, ln.voiced.pcm, ln.voiced.sample_rate)
            sound = max(1, round(ln.voiced.duration * fps))
            at = cursor + start
            track = next((t for t in dialogue if not t or t[-1][0] + t[-1][1] <= at), None)
            if track is None:
                track = []
                dialogue.append(track)
            track.append((at, sound, wav, f"{ln.speaker}: {ln.text}"))
        video.append(clip)
        cursor += frames
    timeline.tracks.append(video)
    for k, items in enumerate(dialogue, 1):
        track = otio.schema.Track(name=f"dialogue {k}", kind=otio.schema.TrackKind.Audio)
        at = 0
        for start, length, wav, name in items:
            if start > at:
                track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(start - at,
                                                                                 rate)))
            rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                          otio.opentime.RationalTime(length, rate))
            track.append(otio.schema.Clip(name=name, source_range=rng,
                                          media_reference=otio.schema.ExternalReference(
                                              target_url=wav.as_uri(), available_range=rng)))
            at = start + length
        timeline.tracks.append(track)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        otio.adapters.write_to_file(timeline, str(out))
    except otio.exceptions.OTIOError as exc:
        raise ReskinError(f"cannot write this timeline format ({exc}); use .otio",
                          file=out) from None
    return {"path": str(out), "clips": len(ep.shots), "seconds": cursor / rate,
            "missing": missing}
