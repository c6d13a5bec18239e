"""An interactive episode built for real, exported as a web package and played in headless
Chromium (Debian's chromium + chromium-driver, driven by selenium)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from reskin.cli import main
from reskin.pipeline.build import build
from reskin.render.executors import LocalExecutor
from tests.browser import chromium, served
from tests.pipeline.test_build import make_tiny

# One choice, two branches that rejoin at s03; lines timed explicitly (short shots).
BRANCHING = """\
title: The Letter
shots:
  - id: s01
    duration: 0.75
    cast: [{character: mira, clip: idle}]
    camera: {framing: medium}
    lines:
      - {speaker: mira, text: "A letter.", at: 0.1, duration: 0.5}
    choice:
      prompt: Open the letter?
      options:
        - {label: Open it, goto: s02-open}
        - {label: Burn it, goto: s02-burn}
      timeout: 1.5
      default: 1
  - id: s02-open
    duration: 0.75
    cast: [{character: mira, clip: nod}]
    camera: {framing: closeup}
    lines:
      - {speaker: mira, text: "Oh no.", at: 0.1, duration: 0.4}
    goto: s03
  - id: s02-burn
    duration: 0.75
    cast: [{character: mira, clip: wave}]
    camera: {framing: closeup, yaw: 20}
  - id: s03
    duration: 0.75
    cast: [{character: mira, clip: idle}]
    camera: {framing: wide}
"""


class CountingExecutor(LocalExecutor):
    """The real local executor, counting the shots it is asked to render."""

    def __init__(self, log_dir: Path):
        super().__init__(log_dir)
        self.rendered: list[str] = []

    def run(self, jobs, progress=None) -> None:
        self.rendered += [j.name for j in jobs]
        super().run(jobs, progress)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("web") / "tiny")
    (root / "episodes" / "ep02.yaml").unlink()
    (root / "episodes" / "ep01.yaml").write_text(BRANCHING)
    executor = CountingExecutor(root / "out" / "logs")
    build(root, executor=executor)
    again = CountingExecutor(root / "out" / "logs")
    build(root, executor=again)
    return root, executor.rendered, again.rendered


def test_each_shot_renders_once_shared_ones_too(series):
    _, first, second = series
    # s03 is on both paths and s01 before them: every shot once, none again
    assert sorted(first) == sorted(f"ep01/{s}" for s in ("s01", "s02-open", "s02-burn", "s03"))
    assert second == []


def test_build_json_lists_the_graph(series):
    root, _, _ = series
    result = CliRunner().invoke(main, ["build", str(root), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    graph = json.loads(result.output)["graphs"]["ep01"]
    assert graph["start"] == "s01"
    assert {n["id"]: n["next"] for n in graph["nodes"]}["s01"] == ["s02-open", "s02-burn"]


@pytest.mark.parametrize("old, new, expected", [
    ("goto: s03", "goto: s09", "ep01.yaml:22: shots[1].goto: goes to 's09'"),
    ("goto: s03", "goto: s01\n  - id: s04\n    duration: 1\n    cast: [{character: mira}]\n"
     "    goto: s04",
     "ep01.yaml:26: shots[2].goto: these shots loop for ever with no choice to leave: s04 -> s04"),
])
def test_malformed_branch_is_one_line_exit_2(tmp_path, old, new, expected):
    root = make_tiny(tmp_path / "tiny")
    (root / "episodes" / "ep01.yaml").write_text(BRANCHING.replace(old, new))
    result = CliRunner().invoke(main, ["build", str(root)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
    assert "ep01.yaml:" in lines[0]


@pytest.fixture(scope="module")
def package(series, tmp_path_factory):
    root, _, _ = series
    out = tmp_path_factory.mktemp("pkg") / "ep01"
    result = CliRunner().invoke(main, ["export", "web", "ep01", "-s", str(root), "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_package_is_self_contained(package):
    names = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert names == ["graph.json", "index.html", "player.css", "player.js",
                     *[f"shots/{s}.mp4" for s in ("s01", "s02-burn", "s02-open", "s03")],
                     *[f"subs/{s}.vtt" for s in ("s01", "s02-burn", "s02-open", "s03")]]
    vtt = (package / "subs" / "s02-open.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "00:00:00.100 --> 00:00:00.500\nMIRA: Oh no." in vtt
    page = (package / "index.html").read_text()
    assert "http" not in page.replace('"http-equiv"', "")  # nothing fetched from elsewhere


@pytest.fixture(scope="module")
def browser(package):
    with served(package) as base:
        driver = chromium(1080, 1920)
        driver.base = f"{base}/index.html"
        yield driver
        driver.quit()


def _open(driver) -> None:
    driver.get(driver.base)
    driver.find_element(By.ID, "start").click()


def _src(driver) -> str:
    return driver.execute_script("return document.getElementById('video').currentSrc")


def _wait_choice(driver):
    WebDriverWait(driver, 15).until(
        lambda d: d.find_element(By.ID, "choice").is_displayed())


def test_clicking_an_option_plays_its_branch(browser):
    _open(browser)
    assert _src(browser).endswith("/shots/s01.mp4")
    _wait_choice(browser)
    # Read the overlay and click in one step: on a loaded machine the choice's short timeout
    # could otherwise run out between reading the buttons and clicking one.
    prompt, labels = browser.execute_script(
        "var b = Array.from(document.querySelectorAll('#options button'));"
        "var out = [document.getElementById('prompt').textContent, b.map(x => x.textContent)];"
        "b[0].click(); return out;")
    assert prompt == "Open the letter?"
    assert labels == ["Open it", "Burn it"]
    WebDriverWait(browser, 5).until(lambda d: _src(d).endswith("/shots/s02-open.mp4"))
    assert not browser.find_element(By.ID, "choice").is_displayed()
    # the branch rejoins: s02-open goes on to s03, skipping s02-burn
    WebDriverWait(browser, 15).until(lambda d: _src(d).endswith("/shots/s03.mp4"))
    WebDriverWait(browser, 15).until(
        lambda d: d.execute_script("return window.reskinPlayer.state.ended"))
    path = browser.execute_script("return window.reskinPlayer.state.path")
    assert path == ["s01", "s02-open", "s03"]


def test_timeout_takes_the_default(browser):
    _open(browser)
    _wait_choice(browser)
    WebDriverWait(browser, 5).until(lambda d: _src(d).endswith("/shots/s02-burn.mp4"))
    chosen = browser.execute_script("return window.reskinPlayer.state.chosen")
    assert chosen == [{"shot": "s01", "option": 1, "timedOut": True}]


def test_subtitle_cue_shows_at_its_time(browser):
    _open(browser)
    browser.execute_script("var v = document.getElementById('video'); v.pause();"
                           "v.currentTime = 0.3;")
    WebDriverWait(browser, 5).until(
        lambda d: d.find_element(By.ID, "subtitle").text == "MIRA: A letter.")
    browser.execute_script("var v = document.getElementById('video'); v.currentTime = 0.7;")
    WebDriverWait(browser, 5).until(
        lambda d: not d.find_element(By.ID, "subtitle").is_displayed())


def test_choice_overlay_fits_the_9x16_frame(browser, tmp_path):
    _open(browser)
    _wait_choice(browser)
    browser.execute_script("window.reskinPlayer.hold()")  # the timeout would hide it
    rect = browser.execute_script(
        "function r(id) { var b = document.getElementById(id).getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom]; }"
        "return {stage: r('stage'), choice: r('choice'), w: innerWidth, h: innerHeight};")
    png = browser.get_screenshot_as_png()
    (tmp_path / "choice.png").write_bytes(png)
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    assert shot.size == (1080, 1920) and (rect["w"], rect["h"]) == (1080, 1920)
    sl, st, sr, sb = rect["stage"]
    assert abs((sr - sl) / (sb - st) - 9 / 16) < 0.01 and sr - sl == 1080
    cl, ct, cr, cb = rect["choice"]
    assert sl <= cl < cr <= sr and st <= ct < cb <= sb
    # the overlay's dark blue panel is what the screenshot shows there
    r, g, b = shot.getpixel((int(cl + 10), int(cb - 10)))
    assert b > r + 10 and b > g + 10, (r, g, b)


# ep01's "Burn it" branch goes on into ep02, which plays on along its own flow to its end.
ONWARD = """\
title: After the Fire
shots:
  - id: s01
    duration: 0.75
    cast: [{character: mira, clip: wave}]
    camera: {framing: medium}
    lines:
      - {speaker: mira, text: "Ashes.", at: 0.1, duration: 0.5}
  - id: s02
    duration: 0.75
    cast: [{character: mira, clip: idle}]
    camera: {framing: closeup}
"""


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    root = make_tiny(tmp_path_factory.mktemp("cross") / "tiny")
    (root / "episodes" / "ep01.yaml").write_text(BRANCHING.replace(
        "    camera: {framing: closeup, yaw: 20}\n",
        "    camera: {framing: closeup, yaw: 20}\n    goto: ep02#s01\n"))
    (root / "episodes" / "ep02.yaml").write_text(ONWARD)
    build(root)
    out = tmp_path_factory.mktemp("pkg") / "ep01"
    result = CliRunner().invoke(main, ["export", "web", "ep01", "-s", str(root), "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_a_goto_into_another_episode_packs_its_flow_from_there(crossing):
    graph = json.loads((crossing / "graph.json").read_text())
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert list(nodes) == ["s01", "s02-open", "s02-burn", "s03", "ep02#s01", "ep02#s02"]
    assert nodes["s02-burn"]["next"] == ["ep02#s01"]
    assert nodes["ep02#s01"]["next"] == ["ep02#s02"] and nodes["ep02#s02"]["next"] == []
    assert nodes["ep02#s01"]["cues"] == [{"start": 0.1, "end": 0.6, "text": "MIRA: Ashes."}]
    assert (crossing / "shots" / "ep02--s02.mp4").stat().st_size > 0


def test_playback_goes_on_into_the_other_episode(crossing):
    with served(crossing) as base:
        driver = chromium(1080, 1920)
        try:
            driver.get(f"{base}/index.html")
            driver.find_element(By.ID, "start").click()
            _wait_choice(driver)  # and let the timeout take the default: "Burn it"
            WebDriverWait(driver, 15).until(lambda d: _src(d).endswith("/shots/ep02--s01.mp4"))
            WebDriverWait(driver, 15).until(
                lambda d: d.find_element(By.ID, "subtitle").text == "MIRA: Ashes.")
            WebDriverWait(driver, 15).until(lambda d: _src(d).endswith("/shots/ep02--s02.mp4"))
            WebDriverWait(driver, 15).until(
                lambda d: d.execute_script("return window.reskinPlayer.state.ended"))
            path = driver.execute_script("return window.reskinPlayer.state.path")
            assert path == ["s01", "s02-burn", "ep02#s01", "ep02#s02"]
            assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        finally:
            driver.quit()
