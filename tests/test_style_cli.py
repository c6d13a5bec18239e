"""On a series built for real (tiny): the toon stylizer's delivered coherence, measured with an
evaluator written apart from the stylizer, and `reskin style lock` / `reskin style check`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from reskin.cli import main
from reskin.pipeline.inputs import load_frameset
from reskin.render.stylize.toon import ToonStylizer
from tests.pipeline.test_build import make_tiny, run_build


def forward_warp_error(img, fr):
    """Mean |I_{t+1}(p + m_t(p)) - I_t(p)| (nearest tap) over cast pixels whose target shows
    the same member at a depth within 10 %: not the stylizers' backward map."""
    img = img.astype(np.float64)
    f, h, w = fr.instance.shape
    yy, xx = np.mgrid[:h, :w]
    errs = []
    for t in range(f - 1):
        qx = np.rint(xx + fr.motion[t, ..., 0]).astype(int)
        qy = np.rint(yy + fr.motion[t, ..., 1]).astype(int)
        ok = (qx >= 0) & (qx < w) & (qy >= 0) & (qy < h) & (fr.instance[t] > 0)
        qx, qy = np.clip(qx, 0, w - 1), np.clip(qy, 0, h - 1)
        ok &= fr.instance[t + 1][qy, qx] == fr.instance[t]
        with np.errstate(invalid="ignore"):
            ok &= np.abs(fr.depth[t + 1][qy, qx] - fr.depth[t]) <= 0.1 * fr.depth[t]
        errs.append(np.abs(img[t + 1][qy, qx] - img[t]).mean(-1)[ok])
    return float(np.concatenate(errs).mean())


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("style") / "s")
    (root / "styles").mkdir()
    (root / "styles" / "flat.yaml").write_text("stylizer: toon\nlevels: 3\nink: 0.5\n")
    run_build(root)
    return root


def shots(root):
    for folder in sorted((root / ".reskin" / "cache" / "render").glob("*/done.json")):
        plan = json.loads(folder.read_text())["plan"]
        yield plan["name"], load_frameset(folder.parent, plan)


def test_toon_on_rendered_shots_is_within_the_render_s_warp_error(series):
    bg = (0.93, 0.89, 0.82)
    num = den = per_frame = 0.0
    for _, fr in shots(series):
        a = fr.alpha[..., None]
        render = (fr.beauty * a + np.asarray(bg) * (1 - a)) * 255
        den += forward_warp_error(render, fr)
        num += forward_warp_error(ToonStylizer(background=bg).stylize(fr), fr)
        per_frame += forward_warp_error(
            ToonStylizer(background=bg, coherence="none").stylize(fr), fr)
    assert num <= 1.1 * den, (num, den)
    assert num < per_frame, (num, per_frame)


def style(root, *args):
    result = CliRunner().invoke(main, ["style", *args, "-s", str(root)])
    return result.exit_code, result.output


def test_style_check_passes_unchanged_and_fails_with_an_image_when_a_setting_moves(series):
    code, out = style(series, "lock")
    assert code == 0, out
    assert "locked series" in out and "locked flat" in out
    code, out = style(series, "check")
    assert code == 0, out
    assert "series: ok" in out and "flat: ok" in out
    (series / "styles" / "flat.yaml").write_text("stylizer: toon\nlevels: 6\nink: 0.5\n")
    code, out = style(series, "check", "--json")
    assert code == 1, out
    verdicts = {r["style"]: r for r in json.loads(out)}
    assert verdicts["series"]["passed"] and not verdicts["flat"]["passed"]
    report = verdicts["flat"]["report"]
    img = Image.open(report)
    ref = next(iter((series / ".reskin" / "style-locks" / "flat").glob("ref0/locked_0000.png")))
    assert img.width == 3 * Image.open(ref).width  # locked | now | difference


def test_check_of_an_unlocked_style_is_one_line(series, tmp_path):
    code, out = style(series, "check", "--style", "nope")
    assert code == 2 and len(out.strip().splitlines()) == 1 and "nope" in out


def build(root, *args):
    result = CliRunner().invoke(main, ["build", str(root), *args])
    return result.exit_code, result.output


def test_build_refuses_a_locked_style_that_moved_unless_told(series):
    import shutil

    code, out = style(series, "lock", "--style", "series")
    assert code == 0, out
    yaml = series / "series.yaml"
    original = yaml.read_text()
    styled = series / ".reskin" / "cache" / "stylize"
    yaml.write_text(original.replace('background: "#efe3cf"}', 'background: "#efe3cf", '
                                                                'levels: 7}'))
    try:
        code, out = build(series)
        assert code == 2, out
        (line,) = out.strip().splitlines()[-1:]
        assert "no longer matches its lock" in line and "--skip-style-check" in line
        report = line.split("report: ")[1].split(" ")[0]
        assert Image.open(report).width > 0  # the side-by-side image, named in the line
        before = {p.name for p in styled.iterdir()}
        code, out = build(series, "--skip-style-check")
        assert code == 0, out
        assert {p.name for p in styled.iterdir()} > before  # stylized with the new setting
    finally:
        yaml.write_text(original)
    # Unchanged: the gate runs (nothing styled is cached) and passes, and the build goes on.
    shutil.rmtree(styled)
    code, out = build(series)
    assert code == 0, out
    assert "style 'series' matches its lock" in out
