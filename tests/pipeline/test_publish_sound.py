"""Publishing with sound: the episode MP4's mix, beds, subtitles, caching and bad files.

The frames are stand-ins (flat PNGs in the styled-frame cache); publishing is the real thing.
"""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
import soundfile

from reskin.assets.library import Library
from reskin.core.errors import ReskinError
from reskin.pipeline.cache import StepCache
from reskin.pipeline.context import BuildContext
from reskin.pipeline.publish import DIALOGUE_WAV, publish_episode
from reskin.render import audio, probe
from reskin.render.audio import SR
from reskin.scenes.compile import ShotPlan
from reskin.scenes.episode import Episode

FPS = 8


def tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def band_db(x: np.ndarray, freq: float) -> float:
    spec = np.fft.rfft(x * np.hanning(x.size))
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(20 * np.log10(np.sqrt(np.sum(np.abs(spec[np.abs(f - freq) < 40]) ** 2))
                               / x.size + 1e-12))


def make_series(root, extra: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "series.yaml").write_text(f"name: s\nresolution: [108, 192]\nfps: {FPS}\n{extra}")
    Library(root / ".reskin", create=True).close()


def shots_of(ctx: BuildContext, spec: list[tuple[str, int, list[dict]]]):
    """(plan, styled cache, cached) per (shot id, frames, lines), with grey frames."""
    out = []
    for sid, n, lines in spec:
        plan = ShotPlan(episode="ep01", shot=sid, width=108, height=192, fps=FPS,
                        frame_count=n, engine="cycles", samples=1, camera={}, lights=[],
                        cast=[], lines=lines, key=f"k-{sid}")
        styled = StepCache(ctx.cache_root, "stylize", f"styled-{sid}", "styled", n)
        styled.dir.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            iio.imwrite(styled.frame(i), np.full((192, 108, 3), 90, np.uint8))
        styled.mark_done()
        out.append((plan, styled, True))
    return out


EPISODE = Episode(id="ep01", title="Letters", shots=(), file="episodes/ep01.yaml")
LINE = {"speaker": "mira", "text": "你收到那封信了吗？", "start": 0.5, "duration": 1.0}
SPEC = [("s01", 16, [LINE]), ("s02", 12, [])]  # 2.0 s + 1.5 s


def test_episode_mp4_carries_the_mix_with_ducked_music_and_subtitles(tmp_path):
    root = tmp_path / "s"
    make_series(root, "music: theme.wav\n")
    soundfile.write(str(root / "theme.wav"), tone(2000, 1.3, 44100), 44100)
    with BuildContext.open(root) as ctx:
        shots = shots_of(ctx, SPEC)
        # the line at 0.5 s of s01, and a second clip in s02 (stems from the caller)
        stems = {"s01": [(0.5, tone(220, 1.0, 22050), 22050)],
                 "s02": [(0.25, tone(220, 0.5), SR)]}
        result = publish_episode(ctx, EPISODE, shots, stems=stems)
    info = probe.probe(result.video)
    assert [s.kind for s in info.streams] == ["video", "audio", "subtitle"]
    d = probe.stream_durations(result.video)
    assert abs(d["video"] - 3.5) < 1e-6 and abs(d["audio"] - d["video"]) <= 1 / FPS
    pcm = probe.decode_audio(result.video)
    assert abs(audio.loudness(pcm) - -14.0) < 0.5
    seg = {k: pcm[int(a * SR):int(b * SR)] for k, (a, b) in
           {"before": (0.05, 0.4), "line": (0.7, 1.3), "after": (2.05, 2.2)}.items()}
    assert band_db(seg["line"], 220) > band_db(seg["before"], 220) + 30  # the line is heard
    assert -14 < band_db(seg["line"], 2000) - band_db(seg["before"], 2000) < -9  # music ducks
    assert "MIRA: 你收到那封信了吗？" in probe.decode_subtitles(result.video)
    assert "00:00:00,500 --> 00:00:01,500" in open(result.subtitles).read()
    assert abs(audio.loudness(audio.read_audio(result.audio)) - -14.0) < 0.2
    for s in result.shots:  # each shot's MP4 has its own dialogue stem
        assert [x.kind for x in probe.probe(s.video).streams] == ["video", "audio"]
    assert np.abs(probe.decode_audio(result.shots[1].video)).max() > 0.1


def test_republishing_is_cached_and_a_new_music_file_remuxes_only_the_episode(tmp_path):
    root = tmp_path / "s"
    make_series(root, "music: theme.wav\n")
    soundfile.write(str(root / "theme.wav"), tone(1000, 1.0), SR)
    with BuildContext.open(root) as ctx:
        shots = shots_of(ctx, SPEC)
        first = publish_episode(ctx, EPISODE, shots)
        times = {p: p.stat().st_mtime_ns for p in (root / "out" / "ep01").rglob("*.mp4")}
        publish_episode(ctx, EPISODE, shots)
        assert {p: p.stat().st_mtime_ns for p in times} == times
        soundfile.write(str(root / "theme.wav"), tone(1500, 1.0), SR)
        publish_episode(ctx, EPISODE, shots)
    changed = {p.name for p in times if p.stat().st_mtime_ns != times[p]}
    assert changed == {"ep01.mp4"}
    assert band_db(probe.decode_audio(first.video)[: SR], 1500) > -60


def test_a_dialogue_wav_beside_the_frames_is_the_shots_stem(tmp_path):
    root = tmp_path / "s"
    make_series(root)
    with BuildContext.open(root) as ctx:
        shots = shots_of(ctx, SPEC)
        soundfile.write(str(shots[1][1].dir / DIALOGUE_WAV), tone(440, 0.5, 16000), 16000)
        result = publish_episode(ctx, EPISODE, shots)
    pcm = probe.decode_audio(result.video)
    assert band_db(pcm[int(2.1 * SR):int(2.4 * SR)], 440) > band_db(pcm[: SR], 440) + 30
    silent = probe.decode_audio(result.shots[0].video)  # s01 has no stem: a silent track
    assert silent.size == 2 * SR and np.abs(silent).max() < 1e-3


def test_a_bad_music_file_is_one_line_and_nothing_is_published(tmp_path):
    root = tmp_path / "s"
    make_series(root, "music: theme.ogg\n")
    (root / "theme.ogg").write_bytes(b"OggS but not really")
    with BuildContext.open(root) as ctx:
        with pytest.raises(ReskinError) as err:
            publish_episode(ctx, EPISODE, shots_of(ctx, SPEC))
    msg = str(err.value)
    assert "\n" not in msg and "theme.ogg" in msg and "series.yaml:4: music" in msg
    assert not (root / "out" / "ep01").exists()


def test_burned_in_subtitles_are_in_the_episode_picture_only(tmp_path):
    root = tmp_path / "s"
    # the AI label (on by default, tests/pipeline/test_labels.py) would be bright text too
    make_series(root, "subtitles: {burn: true, size: 0.1}\nlabels: {explicit: false}\n")
    with BuildContext.open(root) as ctx:
        result = publish_episode(ctx, EPISODE, shots_of(ctx, SPEC))
    frames = iio.imread(result.video)  # (n, h, w, 3)
    assert frames.shape[:3] == (28, 192, 108)
    text = frames[8].astype(int)  # 1.0 s: the line is showing
    bright = np.nonzero(text.max(axis=2) > 200)
    assert bright[0].size > 50 and bright[0].min() >= 192 * 2 / 3 - 2
    assert frames[2].max() < 140 and frames[20].max() < 140  # before and after the line
    shot_frames = iio.imread(result.shots[0].video)
    assert shot_frames[8].max() < 140  # shot videos stay clean for editing
