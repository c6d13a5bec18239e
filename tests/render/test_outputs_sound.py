"""MP4s with sound: one video and one AAC stream of equal length, an embedded subtitle track."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from reskin.render import audio, probe
from reskin.render.audio import SR
from reskin.render.outputs import write_mp4

SRT = "1\n00:00:00,100 --> 00:00:00,600\nMIRA: 你收到那封信了吗？\n"


def frames(tmp_path, n: int, w: int = 54, h: int = 96) -> list:
    paths = []
    for i in range(n):
        p = tmp_path / f"f{i:03d}.png"
        iio.imwrite(p, np.full((h, w, 3), (i * 7) % 255, np.uint8))
        paths.append(p)
    return paths


@pytest.mark.parametrize("fps,n", [(24, 37), (30, 16), (25, 13), (4, 6)])
def test_video_and_audio_last_exactly_as_long_as_the_frames(tmp_path, fps, n):
    video = tmp_path / "ep.mp4"
    too_short = np.full(SR // 5, 0.1, np.float32)
    write_mp4(frames(tmp_path, n), fps, video, audio=too_short, subtitles=SRT)
    info = probe.probe(video)
    assert [s.kind for s in info.streams] == ["video", "audio", "subtitle"]
    a = info.of("audio")[0]
    assert (a.codec, a.sample_rate, a.channels) == ("aac", 48000, "mono")
    assert info.of("subtitle")[0].codec == "mov_text"
    d = probe.stream_durations(video)
    assert abs(d["video"] - n / fps) < 1e-6
    assert abs(d["audio"] - d["video"]) <= 1 / fps  # within a frame (here: to the sample)
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".png"] == ["ep.mp4"]


def test_a_silent_episode_still_has_an_audio_track(tmp_path):
    video = tmp_path / "silent.mp4"
    write_mp4(frames(tmp_path, 8), 4, video, audio=np.zeros(0, np.float32))
    info = probe.probe(video)
    assert len(info.of("video")) == 1 and len(info.of("audio")) == 1
    pcm = probe.decode_audio(video)
    assert pcm.size == 2 * SR and np.abs(pcm).max() < 1e-3


def test_sound_survives_aac_at_the_target_loudness_and_subtitles_embed(tmp_path):
    t = np.arange(3 * SR) / SR
    speech = (0.5 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t)))
    mix = audio.episode_mix([(0.0, speech.astype(np.float32))], 3.0, target_lufs=-14.0)
    video = tmp_path / "ep.mp4"
    write_mp4(frames(tmp_path, 72), 24, video, audio=mix, subtitles=SRT)
    decoded = probe.decode_audio(video)
    assert abs(audio.loudness(decoded) - -14.0) < 0.5
    assert "MIRA: 你收到那封信了吗？" in probe.decode_subtitles(video)


def test_video_only_when_no_sound_is_given(tmp_path):
    video = tmp_path / "preview.mp4"
    write_mp4(frames(tmp_path, 4), 4, video)
    assert [s.kind for s in probe.probe(video).streams] == ["video"]
    assert probe.video_frames(video) == 4
