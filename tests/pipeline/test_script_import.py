"""A screenplay imported into the sample series: an episode that compiles, covered by the rules
of docs/coverage.md (the 180-degree line, the speaker in frame, cuts on line boundaries), and a
re-import that changes nothing and keeps hand edits."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.cli import main
from reskin.pipeline.inputs import load_cast
from reskin.pipeline.script_import import import_script
from reskin.pipeline.series_init import create_demo
from reskin.pipeline.speech_stage import SpeechStage, cast_voices
from reskin.scenes.compile import ModelRef, compile_episode
from reskin.scenes.coverage import camera_side
from reskin.scenes.episode import load_episode
from reskin.scenes.series import load_series
from tests.scenes.test_compile_framing import project

SCRIPT = Path(__file__).parents[1] / "scenes" / "screenplay.fountain"
HEAD = 0.93


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = create_demo(tmp_path_factory.mktemp("script") / "s")
    (result,) = import_script(root, SCRIPT)
    series = load_series(root)
    cast = load_cast(series)
    episode = load_episode(result.path, set(cast))
    timed = SpeechStage(None).voice_episode(episode, cast_voices(cast, series))
    skins = {n: ModelRef(ref=f"{n}@1", glb="", content_hash="0",
                         height=float(spec.params["height"])) for n, spec in cast.items()}
    plans = compile_episode(series, timed, skins)
    return root, result, timed, plans, skins


def test_the_screenplay_becomes_an_episode_that_builds(imported):
    root, result, timed, plans, _ = imported
    assert result.episode == "ep05" and result.status == "new"
    assert set(result.wardrobes) == {"cast/mira/ep05.yaml", "cast/theo/ep05.yaml"}
    lines = [ln for s in timed.shots for ln in s.lines]
    assert len(lines) == 12
    assert [ln.emotion for ln in lines if ln.emotion] == ["angry", "sad"]
    assert sum(ln.speaker == "theo" and "我们" in ln.text for ln in lines) == 1  # the @ cue
    text = result.path.read_text()
    assert "# (whispering)" in text and "# She turns to him." in text
    assert "lights: night-interior" in text and "lights: day-exterior" in text
    assert "{do: turn, face: theo}" in text
    # the build's own checks (episodes, wardrobes, props, shots) accept it
    dry = CliRunner().invoke(main, ["build", str(root), "-e", "ep05", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert len(plans) == len(timed.shots) and not any(p.warnings for p in plans)


def _xz(p) -> tuple[float, float]:
    return p[0], p[2]


def test_every_camera_of_a_scene_is_on_one_side_of_the_principals_axis(imported):
    _, _, _, plans, _ = imported
    for scene in ("sc01", "sc02"):
        sides = []
        for plan in (p for p in plans if p.shot.startswith(scene)):
            by = {c["name"]: c for c in plan.cast}
            if len(by) < 2:
                continue
            left, right = sorted(by.values(), key=lambda c: c["position"][0])
            for cam in plan.camera_path or [plan.camera]:
                sides.append(camera_side(_xz(cam["location"]), _xz(left["position"]),
                                         _xz(right["position"])))
        assert len(sides) >= 5 and all(s > 0.05 for s in sides), (scene, sides)


def test_every_line_is_held_by_a_shot_that_shows_its_speaker(imported):
    _, _, timed, plans, skins = imported
    for plan in plans:
        aspect = plan.width / plan.height
        by = {c["name"]: c for c in plan.cast}
        for ln in plan.lines:
            member = by[ln["speaker"]]
            x, _, z = member["position"]
            head = (x, HEAD * skins[ln["speaker"]].height, z)
            u, v = project(plan.camera, head, aspect)
            assert 0.05 < u < 0.95 and 0.02 < v < 0.98, (plan.shot, ln["text"], u, v)


def test_cuts_fall_on_line_boundaries(imported):
    _, _, timed, plans, _ = imported
    for spec, plan in zip(timed.shots, plans, strict=True):
        start, end = plan.start_time, plan.start_time + plan.frame_count / plan.fps
        for ln in spec.lines:  # every line lies whole inside one shot
            assert ln.start >= 0 and plan.start_time + ln.start + ln.duration <= end + 1e-6
            assert ln.voiced.duration <= spec.duration - ln.start + 1e-6
        assert math.isclose(end - start, plan.frame_count / plan.fps)
    held = [ln.text for s in timed.shots for ln in s.lines]
    assert len(held) == len(set(held)) == 12


def test_the_coverage_follows_its_rules(imported):
    _, _, timed, plans, _ = imported
    kinds = [s.id.split("-", 2)[2] for s in timed.shots]
    assert kinds[0] == "establishing" and kinds[1] == "closeup"  # the hook
    assert sum(k == "establishing" for k in kinds) == 2
    assert {"over-shoulder", "two-shot", "reaction"} <= set(kinds)
    assert timed.shots[0].duration + timed.shots[1].duration < 3.0
    emotional = [s for s in timed.shots if any(ln.emotion for ln in s.lines)]
    assert all(s.camera.framing == "closeup" for s in emotional)
    close = sum(k in ("closeup", "over-shoulder", "reaction") for k in kinds)
    assert close / len(kinds) > 0.6  # micro-drama: close and medium-close dominate
    for plan in plans:
        assert plan.width / plan.height == pytest.approx(9 / 16)
    assert np.isfinite([p.camera["location"] for p in plans]).all()


def test_reimport_changes_nothing_and_keeps_hand_edits(imported):
    root, result, *_ = imported
    before = result.path.read_bytes()
    mtime = result.path.stat().st_mtime_ns
    (again,) = import_script(root, SCRIPT)
    assert again.status == "unchanged" and not again.wardrobes
    assert result.path.read_bytes() == before and result.path.stat().st_mtime_ns == mtime
    result.path.write_text(before.decode().replace("Sure of what?", "Sure of what, Theo?"))
    cli = CliRunner().invoke(main, ["script", "import", str(SCRIPT), "-s", str(root)])
    assert cli.exit_code == 2
    assert cli.output.count("\n") == 1 and "edited since the last import" in cli.output
    assert "Sure of what, Theo?" in result.path.read_text()
    forced = CliRunner().invoke(main, ["script", "import", str(SCRIPT), "-s", str(root),
                                       "--force"])
    assert forced.exit_code == 0, forced.output
    assert result.path.read_bytes() == before


def test_an_unknown_speaker_is_one_line_listing_the_cast(tmp_path):
    root = create_demo(tmp_path / "s")
    bad = tmp_path / "bad.fountain"
    bad.write_text("INT. ROOM - DAY\n\nMIRA\nHello.\n\n@林\n你好。\n")
    before = (root / "episodes" / "ep01.yaml").read_bytes()
    cli = CliRunner().invoke(main, ["script", "import", str(bad), "-s", str(root)])
    assert cli.exit_code == 2
    assert cli.output.strip() == (
        "reskin: error: bad.fountain:6: speaker: unknown speaker '林' (the cast is: mira, "
        "theo; map another name on the title page: `Cast: 林 = mira`)")
    assert (root / "episodes" / "ep01.yaml").read_bytes() == before  # nothing written


def test_editing_one_line_changes_only_the_plan_of_the_shot_that_holds_it(imported, tmp_path):
    root, result, _, plans, skins = imported
    import_script(root, SCRIPT, force=True)  # as imported (an earlier test edits by hand)
    edited = tmp_path / "screenplay.fountain"
    edited.write_text(SCRIPT.read_text().replace("Sure of what?", "Sure of that?"))
    (again,) = import_script(root, edited)
    assert again.status == "written"
    series = load_series(root)
    cast = load_cast(series)
    timed = SpeechStage(None).voice_episode(load_episode(again.path, set(cast)),
                                            cast_voices(cast, series))
    after = compile_episode(series, timed, skins)
    changed = [a.shot for a, b in zip(after, plans, strict=True) if a.key != b.key]
    assert changed == ["sc01-07-closeup"]
