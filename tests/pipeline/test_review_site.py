"""`reskin review`: a tiny series built for real (Blender), its review site opened in headless
Chromium, every link and image walked, and a note typed through the served page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from reskin.cli import main
from reskin.pipeline.build import Builder, build
from reskin.pipeline.context import BuildContext
from reskin.pipeline.continuity import continuity_sheet
from reskin.pipeline.storyboard import storyboard
from tests.browser import chromium
from tests.pipeline.test_build import make_tiny
from tests.pipeline.test_web_export import BRANCHING

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """ep01 (a choice, two branches that rejoin) built; ep02 not; a continuity sheet and a
    storyboard drawn; then s03's camera edited, so the next build would render it again."""
    root = make_tiny(tmp_path_factory.mktemp("review") / "tiny")
    (root / "episodes" / "ep01.yaml").write_text(BRANCHING)
    build(root, episodes=["ep01"])
    continuity_sheet(root, "mira", root / "out" / "continuity" / "mira.png", width=60, height=90)
    with BuildContext.open(root) as ctx, Builder(ctx) as builder:
        storyboard(builder, "ep01", root / "out" / "ep01" / "ep01_storyboard.png")
    ep01 = root / "episodes" / "ep01.yaml"
    ep01.write_text(ep01.read_text().replace("camera: {framing: wide}",
                                             "camera: {framing: medium}"))
    return root


def review(*args: str) -> dict:
    result = CliRunner().invoke(main, ["review", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def site(series, tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "review"
    return series, out, review(str(series), "-o", str(out))


@pytest.fixture(scope="module")
def browser():
    driver = chromium(1280, 900)
    yield driver
    driver.quit()


_PAGE = """
return {
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  images: Array.from(document.images).map(i => [i.src, i.complete, i.naturalWidth]),
  videos: Array.from(document.querySelectorAll('video')).map(v => v.currentSrc || v.src),
  files: Array.from(document.querySelectorAll('link[href], script[src]'))
              .map(e => e.href || e.src).filter(u => !u.startsWith('data:')),
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
};"""


def walk(driver, base: str, folder: Path, start: str = "index.html") -> set[str]:
    """Open every page reachable from ``start``; check that every link, image, video,
    stylesheet and script is a file inside ``folder``, that images decode, videos load and
    fragments name an element, and that the console shows no error. Returns the pages seen."""
    def local(url: str) -> str:
        assert url.startswith(base), f"{url} leaves the site"
        rel = unquote(urlsplit(url).path)[len(unquote(urlsplit(base).path)):]
        assert (folder / rel).is_file(), f"{url}: no file {rel}"
        return rel

    driver.get_log("browser")  # drop what came before
    todo, seen, fragments = [start], set(), []
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        driver.get(base + page)
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return Array.from(document.images).every(i => i.complete) && "
            "Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 1 "
            "|| v.error)"))
        found = driver.execute_script(_PAGE)
        for src, complete, width in found["images"]:
            local(src)
            assert complete and width > 0, f"{page}: image {src} does not decode"
        for src in found["videos"] + found["files"]:
            local(src)
        errors = driver.execute_script("return Array.from(document.querySelectorAll('video'))"
                                       ".filter(v => v.error).map(v => v.src)")
        assert errors == [], f"{page}: videos that do not play: {errors}"
        for href in found["links"]:
            rel = local(href.split("#")[0])
            if "#" in href:
                fragments.append((rel, href.split("#", 1)[1], page))
            if rel.endswith(".html"):
                todo.append(rel)
        seen_ids = found["ids"]
        for _, frag, _ in [f for f in fragments if f[0] == page]:
            assert unquote(frag) in seen_ids, f"{page} has no #{frag}"
        logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert logs == [], f"{page}: console errors {logs}"
    for rel, frag, source in fragments:  # the ones checked before their page was opened
        assert rel in seen, f"{source}: {rel}#{frag} never opened"
    return seen


def test_json_says_what_was_written(site):
    _, out, report = site
    assert report["folder"] == str(out) and report["index"] == str(out / "index.html")
    assert set(report["pages"]) == {"index.html", "assets.html", "ep01/index.html",
                                    "ep02/index.html",
                                    *(f"ep01/{s}/index.html"
                                      for s in ("s01", "s02-open", "s02-burn", "s03"))}
    ep01, ep02 = report["episodes"]
    assert (ep01["built"], ep02["built"]) == (True, False)
    shots = {s["id"]: s for s in ep01["shots"]}
    # why each shot last rendered, as the build recorded it; what the next build would do
    assert {s["last_why"] for s in shots.values()} == {"new shot"}
    assert {k: s["state"] for k, s in shots.items()} == {
        "s01": "cached", "s02-open": "cached", "s02-burn": "cached", "s03": "render"}
    assert shots["s03"]["why_now"].startswith("changed: ") and "camera" in shots["s03"]["why_now"]
    assert all(s["frames"] == 0 and s["page"] is None for s in ep02["shots"])
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert report["files"] == len(on_disk) - 1 and set(report["pages"]) <= on_disk


def test_a_second_run_refreshes_the_folder(site, tmp_path):
    root, out, report = site
    again = tmp_path / "again"
    review(str(root), "-o", str(again))
    (again / "ep01" / "old-shot").mkdir()
    (again / "ep01" / "old-shot" / "index.html").write_text("a shot since removed")
    frame = again / "ep01" / "s01" / "depth_0000.png"
    before = frame.stat().st_mtime_ns
    assert review(str(root), "-o", str(again))["files"] == report["files"]
    assert not (again / "ep01" / "old-shot").exists()
    assert frame.stat().st_mtime_ns == before  # up to date: not drawn again


def test_every_link_and_image_resolves_with_no_console_error(site, browser):
    _, out, report = site
    seen = walk(browser, out.as_uri() + "/", out)
    assert seen == set(report["pages"])  # every page is reachable from the index


def test_pages_show_video_storyboard_sheets_passes_and_provenance(site):
    _, out, _ = site
    ep = (out / "ep01" / "index.html").read_text()
    assert '<video controls preload="metadata" src="ep01.mp4">' in ep
    assert 'src="ep01_storyboard.png"' in ep and 'src="ep01_sheet.png"' in ep
    assert "../assets.html#mira.ep01@1" in ep and "renders next build" in ep
    index = (out / "index.html").read_text()
    assert 'src="characters/mira.png"' in index and "no continuity sheet yet" in index  # theo
    assets = (out / "assets.html").read_text()
    assert 'id="mira@1"' in assets and '<a href="assets.html#mira@2">mira@2</a>' in assets
    shot = (out / "ep01" / "s02-open" / "index.html").read_text()
    for name in ("frame", "beauty", "depth", "normal", "motion"):
        assert f'src="{name}_0001.png"' in shot
    assert "<b>mira</b>: Oh no." in shot


def test_pass_images_show_the_character(site):
    _, out, _ = site
    folder = out / "ep01" / "s01"
    alpha = np.asarray(Image.open(folder / "beauty_0001.png").convert("RGBA"))[..., 3]
    body, void = alpha == 255, alpha == 0  # the edges between are part covered
    depth = np.asarray(Image.open(folder / "depth_0001.png"))
    normal = np.asarray(Image.open(folder / "normal_0001.png"))
    assert depth.shape == normal.shape == (96, 54, 3)
    # the character is lit in the depth image, the background black; normals face the camera
    assert body.mean() > 0.15 and void.mean() > 0.15
    assert depth[body].min() > 30 and depth[void].max() == 0
    assert normal[body][:, 2].mean() > 200 and normal[void].max() == 0
    motion = np.asarray(Image.open(folder / "motion_0002.png"))
    assert motion.max() == 0  # the last frame's motion points past the shot: drawn still


def test_unbuilt_episode_says_not_rendered_yet(site):
    _, out, _ = site
    page = (out / "ep02" / "index.html").read_text()
    assert "ep02 is not rendered yet" in page and "<video" not in page
    assert page.count("not rendered yet</td>") == 2  # its two shots, listed


def test_a_series_with_nothing_built_is_a_valid_site(tmp_path, browser):
    root = make_tiny(tmp_path / "fresh")
    report = review(str(root))
    out = root / "out" / "review"
    assert report["folder"] == str(out) and not any(e["built"] for e in report["episodes"])
    walk(browser, out.as_uri() + "/", out)
    assert "character will be generated and rigged" in (out / "ep01" / "index.html").read_text()


def test_bad_input_is_one_line_exit_2(tmp_path, series):
    runner = CliRunner()
    result = runner.invoke(main, ["review", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "series.yaml" in result.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("keep me")
    result = runner.invoke(main, ["review", str(series), "-o", str(tmp_path / "mine")])
    assert result.exit_code == 2 and "not a review site's folder" in result.output
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "keep me"
    result = runner.invoke(main, ["review", str(series), "--port", "9000"])
    assert result.exit_code == 2 and "--port needs --serve" in result.output


def _post(url: str, data: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_note_typed_on_the_served_page_lands_in_notes_yaml(series, tmp_path, browser):
    out = tmp_path / "served"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from reskin.cli import main; main()", "review", str(series),
         "--serve", "--port", "0", "-o", str(out)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert line.startswith("reskin: serving http://127.0.0.1:"), line
        url = line.split()[2]
        base = url.rsplit("/", 1)[0] + "/"
        browser.get_log("browser")
        browser.get(base + "ep01/s02-open/index.html")
        box = browser.find_element(By.ID, "note")
        box.send_keys("Hold on the letter a beat longer.")
        browser.find_element(By.ID, "note-save").click()
        WebDriverWait(browser, 10).until(
            lambda d: d.find_element(By.ID, "note-status").text == "saved to review/notes.yaml")
        notes = yaml.safe_load((series / "review" / "notes.yaml").read_text())
        assert [{k: n[k] for k in ("episode", "shot", "note")} for n in notes] == [
            {"episode": "ep01", "shot": "s02-open", "note": "Hold on the letter a beat longer."}]
        assert notes[0]["time"].endswith("+00:00")
        # shown on the page, and again when it is opened afresh
        browser.refresh()
        WebDriverWait(browser, 10).until(
            lambda d: "Hold on the letter" in d.find_element(By.ID, "notes").text)
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
        # bad input is refused and written nowhere
        status, answer = _post(base + "api/notes", {"episode": "ep01", "shot": "s09",
                                                    "note": "x"})
        assert status == 400 and "no shot" in answer["error"]
        status, answer = _post(base + "api/notes", {"episode": "ep01", "shot": "s01",
                                                    "note": "  "})
        assert status == 400 and "empty" in answer["error"]
        status, answer = _post(base + "api/notes", {"episode": ["ep01"], "shot": "s01",
                                                    "note": "x"})
        assert status == 400 and "no shot" in answer["error"]
        assert len(yaml.safe_load((series / "review" / "notes.yaml").read_text())) == 1
        # the served site's pages are as clean as the static one's
        walk(browser, base, out)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    # the static site shows the note too, and counts it
    static = tmp_path / "static"
    review(str(series), "-o", str(static))
    assert "Hold on the letter a beat longer." in \
        (static / "ep01" / "s02-open" / "index.html").read_text()
    (series / "review" / "notes.yaml").unlink()


def test_a_broken_notes_file_is_one_line_with_its_line(tmp_path, series):
    notes = series / "review" / "notes.yaml"
    notes.parent.mkdir(exist_ok=True)
    notes.write_text("- {episode: ep01, shot: s01, note: fine}\n- {episode: ep01\n")
    try:
        result = CliRunner().invoke(main, ["review", str(series), "-o", str(tmp_path / "s")])
    finally:
        notes.unlink()
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "notes.yaml:" in result.output


def test_notes_saved_at_once_are_all_kept(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from reskin.pipeline.review_notes import add_note, load_notes

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: add_note(tmp_path, "ep01", "s01", f"note {i}"), range(24)))
    notes = load_notes(tmp_path)
    assert sorted(n["note"] for n in notes) == sorted(f"note {i}" for i in range(24))
    assert not [p for p in (tmp_path / "review").iterdir() if p.name.endswith(".tmp.yaml")]
