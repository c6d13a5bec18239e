"""series.yaml's sound and subtitle options, and their one-line errors."""

from __future__ import annotations

import pytest

from reskin.core.errors import ReskinError
from reskin.scenes.series import SoundSettings, SubtitleSettings, load_series


def series(tmp_path, extra: str):
    (tmp_path / "series.yaml").write_text("name: s\n" + extra)
    return load_series(tmp_path)


def error(tmp_path, extra: str) -> str:
    with pytest.raises(ReskinError) as err:
        series(tmp_path, extra)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_defaults_are_quiet_beds_off_and_subtitles_not_burned(tmp_path):
    s = series(tmp_path, "")
    assert s.sound == SoundSettings() and s.subtitles == SubtitleSettings()
    assert s.sound.loudness == -14.0 and s.sound.ducking == -12.0
    assert s.subtitles.burn is False


def test_music_ambience_and_subtitles_are_read(tmp_path):
    (tmp_path / "sound").mkdir()
    (tmp_path / "sound" / "theme.ogg").write_bytes(b"x")
    (tmp_path / "room.wav").write_bytes(b"x")
    s = series(tmp_path, "music: sound/theme.ogg\nambience: room.wav\nloudness: -16\n"
                         "ducking: -9\nsubtitles: {burn: true, font: auto, size: 0.05}\n")
    assert s.sound.music == tmp_path / "sound" / "theme.ogg"
    assert s.sound.ambience == tmp_path / "room.wav"
    assert s.sound.music_where.endswith("series.yaml:2")
    assert (s.sound.loudness, s.sound.ducking) == (-16.0, -9.0)
    assert s.subtitles == SubtitleSettings(burn=True, font=None, size=0.05)


def test_bad_sound_options_are_one_line(tmp_path):
    assert error(tmp_path, "music: gone.ogg\n").startswith(
        f"{tmp_path}/series.yaml:2: music: music file not found: gone.ogg (paths are relative")
    assert "ambience: ambience file '../../etc/hosts' is outside the series folder" in error(
        tmp_path, "ambience: ../../etc/hosts\n")
    assert error(tmp_path, "loudness: 3\n").endswith("loudness: must be -40..-5 LUFS")
    assert error(tmp_path, "ducking: 6\n").endswith("ducking: must be -40..0 dB")
    assert "music: expected text" in error(tmp_path, "music: [a, b]\n")


def test_bad_subtitle_options_are_one_line(tmp_path):
    assert error(tmp_path, "subtitles: {burn: yes please}\n").endswith(
        "subtitles.burn: expected true/false, got str 'yes please'")
    assert error(tmp_path, "subtitles: {size: 2}\n").endswith(
        "subtitles.size: must be 0.01..0.2")
    assert "subtitles.font: font file not found" in error(
        tmp_path, "subtitles: {burn: true, font: fonts/none.ttf}\n")
    assert "subtitles.bunr: unknown field (did you mean 'burn'?)" in error(
        tmp_path, "subtitles: {bunr: true}\n")
