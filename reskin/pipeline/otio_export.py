"""`reskin export otio EP`: the episode as an OpenTimelineIO timeline for an editing suite.

A video track of the shot clips, each referencing its rendered MP4 (``out/<ep>/<shot>/
<shot>.mp4``), the dialogue on audio tracks (one WAV per line, written beside the timeline;
overlapping lines go to a second track), and every line as a marker on its shot's clip.
Durations are the build's: each shot's frames at the series' rate, timed by its lines' speech.

Other formats come from the OTIO adapters on PyPI (pyproject pins them): ``.edl`` (CMX 3600,
``otio-cmx3600-adapter``; the video track), ``.xml`` (Final Cut Pro 7 XML, which Premiere and
DaVinci Resolve import; ``otio-fcp-adapter``) and ``.fcpxml`` (Final Cut Pro X;
``otio-fcpx-xml-adapter``). They count in editors' frame rates, which have none like the
sample's 8 fps: their timeline runs at the smallest of :data:`TIMECODE_RATES` that is a whole
multiple of the series' (8 fps: 24, every frame three timecode frames), so no duration is
rounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reskin.core.errors import ReskinError
from reskin.pipeline.inputs import load_inputs

if TYPE_CHECKING:
    from reskin.pipeline.build import Builder


# Export formats: name -> (OTIO adapter, file suffix, counts in SMPTE timecode).
FORMATS = {"otio": ("otio_json", ".otio", False), "edl": ("cmx_3600", ".edl", True),
           "fcp-xml": ("fcp_xml", ".xml", True), "fcpxml": ("fcpx_xml", ".fcpxml", True)}
PACKAGES = {"cmx_3600": "otio-cmx3600-adapter", "fcp_xml": "otio-fcp-adapter",
            "fcpx_xml": "otio-fcpx-xml-adapter"}
TIMECODE_RATES = (24, 25, 30, 48, 50, 60)


def export_format(out: Path, name: str | None = None) -> str:
    """The format to write ``out`` in: ``name`` (one of :data:`FORMATS`), else by suffix."""
    if name is not None:
        return name
    by_suffix = {suffix: fmt for fmt, (_, suffix, _) in FORMATS.items()}
    fmt = by_suffix.get(out.suffix.lower())
    if fmt is None:
        raise ReskinError(f"cannot tell the timeline format from {out.suffix or 'no suffix'!r} "
                          f"(.otio, .edl, .xml or .fcpxml; or --format {'|'.join(FORMATS)})",
                          file=out)
    return fmt


def timeline_scale(fps: int, timecode: bool, where: Path | None = None) -> int:
    """How many timeline frames one shot frame is: 1, or for a timecode format the factor to
    the smallest of :data:`TIMECODE_RATES` that is a whole multiple of ``fps``."""
    if not timecode or fps in TIMECODE_RATES:
        return 1
    for rate in TIMECODE_RATES:
        if rate % fps == 0:
            return rate // fps
    raise ReskinError(f"no SMPTE timecode rate ({', '.join(map(str, TIMECODE_RATES))} fps) is a "
                      f"whole multiple of the series' {fps} fps; export .otio instead",
                      file=where, field="fps")


def shot_frames(duration: float, fps: int) -> int:
    """A shot's frame count, as the compiler rounds it."""
    return max(1, round(duration * fps))


def export_otio(builder: Builder, episode_id: str, out: Path, fmt: str | None = None) -> dict:
    """Write ``episode_id``'s timeline to ``out`` in ``fmt`` (one of :data:`FORMATS`; None:
    by the suffix). Returns {"path", "format", "clips", "seconds", "rate", "missing"}
    (``missing``: shots not rendered yet, referenced all the same; ``rate``: the timeline's
    frames per second)."""
    import opentimelineio as otio
    import soundfile as sf

    fmt = export_format(out, fmt)
    adapter, _, timecode = FORMATS[fmt]

    ctx = builder.ctx
    cast, episodes, _ = load_inputs(ctx.series)
    ep = next((e for e in episodes if e.id == episode_id), None)
    if ep is None:
        raise ReskinError(f"no episode {episode_id!r}", file=ctx.series.root / "episodes")
    (ep,) = builder.speech(cast, [ep])
    fps = ctx.series.fps
    scale = timeline_scale(fps, timecode, ctx.series.root / "series.yaml")
    rate = float(fps * scale)

    def tl(frames: int) -> otio.opentime.RationalTime:  # shot frames -> timeline time
        return otio.opentime.RationalTime(frames * scale, rate)
    published = Path(ctx.publish_root).resolve() / ep.id
    audio_dir = out.resolve().parent / f"{out.stem}_dialogue"
    # the FCP X adapter finds clips again by an XPath on their name: no straight quotes
    label = (lambda t: t.replace("'", "\u2019").replace('"', "\u201d")) if fmt == "fcpxml" \
        else str
    timeline = otio.schema.Timeline(name=label(ep.title or ep.id))
    timeline.global_start_time = tl(0)
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
            available_range=otio.opentime.TimeRange(tl(0), tl(frames)))
        clip = otio.schema.Clip(name=shot.id, media_reference=ref, source_range=ref.available_range)
        for n, ln in enumerate(shot.lines):
            start = round(ln.start * fps)
            length = max(1, round(ln.duration * fps))
            clip.markers.append(otio.schema.Marker(
                name=f"{ln.speaker}: {ln.text}", color=otio.schema.MarkerColor.YELLOW,
                marked_range=otio.opentime.TimeRange(tl(start), tl(length)),
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
                track.append(otio.schema.Gap(duration=tl(start - at)))
            rng = otio.opentime.TimeRange(tl(0), tl(length))
            track.append(otio.schema.Clip(name=label(name), source_range=rng,
                                          media_reference=otio.schema.ExternalReference(
                                              target_url=wav.as_uri(), available_range=rng)))
            at = start + length
        timeline.tracks.append(track)
    out.parent.mkdir(parents=True, exist_ok=True)
    if adapter not in {a.name for a in otio.plugins.ActiveManifest().adapters}:
        raise ReskinError(f"the {fmt} adapter is not installed (pip install "
                          f"{PACKAGES[adapter]}); "
                          "export .otio instead", file=out)
    try:
        otio.adapters.write_to_file(timeline, str(out), adapter_name=adapter)
    except (otio.exceptions.OTIOError, ValueError) as exc:
        raise ReskinError(f"cannot write the timeline as {fmt} ({exc}); export .otio instead",
                          file=out) from None
    return {"path": str(out), "format": fmt, "clips": len(ep.shots), "seconds": cursor / fps,
            "rate": rate, "missing": missing}
