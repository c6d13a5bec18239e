"""Burned-in subtitles: real CJK glyphs (no tofu), wrapping, the vertical frame's safe area."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from reskin.core.errors import ReskinError
from reskin.render.captions import (
    BOTTOM,
    MARGIN,
    CaptionRenderer,
    Cue,
    burner,
    find_cjk_font,
    wrap,
)

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # no CJK coverage
LINE = "你收到那封信了吗"


def burned(font, text: str, size: float = 0.08, w: int = 540, h: int = 960) -> np.ndarray:
    renderer = CaptionRenderer(w, h, font, size)
    return renderer.draw(np.zeros((h, w, 3), np.uint8), text)


def test_chinese_line_renders_real_glyphs_where_a_latin_font_draws_tofu():
    cjk, latin = burned(find_cjk_font(), LINE), burned(DEJAVU, LINE)
    _, n_cjk = ndimage.label(cjk[..., 0] > 200)
    _, n_box = ndimage.label(latin[..., 0] > 200)
    # DejaVu has no glyph for these: one .notdef box per character, each one blob
    assert n_box == len(LINE)
    # the real characters are made of separate strokes: many more pieces of ink
    assert n_cjk >= 2.5 * len(LINE)
    cjk_font = CaptionRenderer(540, 960, find_cjk_font()).font
    tofu = bytes(cjk_font.getmask("\uffff"))  # the CJK font's own .notdef
    masks = [bytes(cjk_font.getmask(c)) for c in LINE]
    assert len(set(masks)) == len(LINE) and tofu not in masks
    dejavu_font = CaptionRenderer(540, 960, DEJAVU).font
    assert len({bytes(dejavu_font.getmask(c)) for c in LINE}) == 1  # all the same box


def test_subtitle_sits_in_the_bottom_third_inside_the_margins():
    w, h = 540, 960
    long = "你收到那封信了吗？我今天早上也收到了，可是我不敢打开它，因为我害怕里面写着的东西。"
    frame = burned(find_cjk_font(), long, 0.045, w, h)
    ys, xs = np.nonzero(frame.max(axis=2) > 0)
    assert ys.min() >= h * 2 / 3 and ys.max() <= h * (1 - BOTTOM)
    assert xs.min() >= w * MARGIN - 4 and xs.max() <= w * (1 - MARGIN) + 4
    assert len(CaptionRenderer(w, h, find_cjk_font(), 0.045).lines(long)) >= 2


def test_wrapping_by_width_words_for_latin_characters_for_cjk():
    measure = len  # one unit per character
    latin = wrap("You got the letter too? This morning.", measure, 12)
    assert latin == ["You got the", "letter too?", "This", "morning."]
    said = "你收到那封信了吗？我今天早上也收到了。"
    cjk = wrap(said, measure, 5)
    assert all(len(x) <= 6 for x in cjk) and "".join(cjk) == said
    assert not any(x[0] in "，。？" for x in cjk)  # punctuation never starts a line
    assert max(map(len, wrap("Supercalifragilistic", measure, 6))) <= 6
    mixed = wrap("我说 OK 然后走了", measure, 6)
    assert "".join(mixed).replace(" ", "") == "我说OK然后走了"


def test_burner_shows_each_cue_only_at_its_frames():
    renderer = CaptionRenderer(108, 192, find_cjk_font(), 0.1)
    overlay = burner([Cue(0.5, 1.0, "你好")], 4, renderer)
    blank = np.zeros((192, 108, 3), np.uint8)
    shown = [bool(overlay(i, blank).any()) for i in range(6)]
    assert shown == [False, False, True, True, False, False]


def test_missing_font_is_one_line(tmp_path):
    with pytest.raises(ReskinError) as err:
        find_cjk_font(tmp_path / "nope.ttf", where="series.yaml:7")
    assert str(err.value) == "series.yaml:7: subtitles.font: font file not found"
