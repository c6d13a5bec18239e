"""The implicit AI label: the AIGC JSON in PNG chunks and MP4 metadata, read back by
independent readers (Pillow, imageio-ffmpeg's ffmpeg)."""

from __future__ import annotations

import json
import subprocess

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from reskin.core.errors import ReskinError
from reskin.render.aigc_meta import (
    FIELDS,
    aigc_label,
    mp4_tags,
    png_with_aigc,
    read_aigc,
    read_png_aigc,
    write_png_aigc,
)
from reskin.render.outputs import write_mp4

AIGC = aigc_label("夜班 Studio = 1; #2", "reskin:abc")


def test_the_label_has_the_standards_fields_in_order():
    assert tuple(AIGC) == FIELDS and AIGC["Label"] == "1"
    assert AIGC["ContentProducer"] == "夜班 Studio = 1; #2" and AIGC["ProduceID"] == "reskin:abc"


def test_png_gets_itxt_and_xmp_without_changing_a_pixel(tmp_path):
    src = tmp_path / "a.png"
    img = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    iio.imwrite(src, img)
    dst = tmp_path / "b.png"
    write_png_aigc(src, dst, AIGC)
    assert np.array_equal(iio.imread(dst), img)
    with Image.open(dst) as im:
        assert json.loads(im.text["AIGC"]) == AIGC
        assert "http://www.tc260.org.cn/ns/AIGC/1.0/" in im.text["XML:com.adobe.xmp"]
    assert read_aigc(dst) == AIGC and read_png_aigc(src) is None
    # written again: replaced, not doubled; the XMP alone is enough to read it
    again = png_with_aigc(dst.read_bytes(), AIGC | {"ProduceID": "x"})
    assert again.count(b"iTXtAIGC") == 1
    xmp_only = again.replace(b"iTXtAIGC", b"iTXtXXXX")  # (breaks that chunk's CRC: ignored)
    (tmp_path / "c.png").write_bytes(xmp_only)
    assert read_png_aigc(tmp_path / "c.png")["ProduceID"] == "x"


def test_mp4_metadata_reads_back_with_imageio_ffmpeg(tmp_path):
    frames = []
    for i in range(3):
        frames.append(tmp_path / f"f{i}.png")
        iio.imwrite(frames[-1], np.full((32, 32, 3), 40 * i, np.uint8))
    video = tmp_path / "v.mp4"
    write_mp4(frames, 4, video, metadata=mp4_tags(AIGC))
    out = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(video),
                          "-f", "ffmetadata", "-"], capture_output=True, text=True).stdout
    assert "AIGC=" in out and "Studio" in out
    assert read_aigc(video) == AIGC  # escaping of '=', ';', '#' undone
    assert iio.imread(video).shape == (3, 32, 32, 3)


def test_a_file_without_a_label_reads_as_none_and_a_missing_one_is_one_line(tmp_path):
    frame = tmp_path / "f.png"
    iio.imwrite(frame, np.zeros((16, 16, 3), np.uint8))
    write_mp4([frame], 4, tmp_path / "v.mp4")
    assert read_aigc(tmp_path / "v.mp4") is None and read_aigc(frame) is None
    with pytest.raises(ReskinError):
        read_aigc(tmp_path / "nowhere.mp4")
