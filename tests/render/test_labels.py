"""The explicit AI label: its size, its place in the safe area, the frames it is drawn on."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.render.captions import find_cjk_font
from reskin.render.labels import LabelRenderer, chain, label_overlay, safe_area
from reskin.scenes.series import LABEL_POSITIONS


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080), (360, 640), (108, 192)])
@pytest.mark.parametrize("text", ["AI生成", "AI-generated"])
def test_ink_is_at_least_five_percent_of_the_shorter_side_and_inside_the_safe_area(size, text):
    w, h = size
    r = LabelRenderer(w, h, text, find_cjk_font(), 0.05)
    blank = np.zeros((h, w, 3), np.uint8)
    left, top, right, bottom = safe_area(w, h)
    for position in LABEL_POSITIONS:
        drawn = r.draw(blank, position)
        white = np.nonzero(drawn.min(axis=2) >= 128)  # the glyphs, at least half covered
        assert white[0].max() - white[0].min() + 1 >= 0.05 * min(w, h), (position, size)
        touched = np.nonzero(drawn.max(axis=2) > 0)
        assert touched[1].min() >= left and touched[1].max() < right, (position, size)
        assert touched[0].min() >= top and touched[0].max() < bottom, (position, size)


def test_portrait_keeps_clear_of_the_button_column():
    r = LabelRenderer(1080, 1920, "AI生成", find_cjk_font(), 0.05)
    box = r.box("top-right")
    assert box.x + box.w <= 1080 * 0.85 and box.y >= 1920 * 0.10


def test_overlay_draws_the_opening_seconds_then_only_a_corner_mark_if_asked():
    r = LabelRenderer(108, 192, "AI生成", find_cjk_font(), 0.05)
    frame = np.full((192, 108, 3), 90, np.uint8)
    plain = label_overlay(r, 24, seconds=2.0)
    drawn = [not np.array_equal(plain(i, frame), frame) for i in range(60)]
    assert drawn == [True] * 48 + [False] * 12
    marked = label_overlay(r, 24, seconds=2.0, corner_mark=True, mark_position="bottom-left")
    late = marked(50, frame)
    assert not np.array_equal(late, frame)
    assert not np.array_equal(late, marked(0, frame))  # the mark is elsewhere
    assert np.array_equal(label_overlay(r, 4, seconds=2.0)(8, frame), frame)  # 8 / 4 = 2 s


def test_chain_applies_overlays_in_order():
    def add(n):
        return lambda i, f: f + n

    frame = np.zeros((2, 2, 3), np.uint8)
    assert chain(None, None) is None
    assert chain(None, add(1))(0, frame).max() == 1
    assert chain(add(1), None, add(2))(0, frame).max() == 3
