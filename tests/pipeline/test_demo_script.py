"""The sample series ships its screenplay: importing reskin/data/demo/script.fountain writes
exactly the shipped episodes/ep01.yaml (so the two cannot drift), and again changes nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import reskin
from reskin.cli import main
from reskin.pipeline.script_import import import_script
from reskin.pipeline.series_init import create_demo
from reskin.scenes.episode import load_episode

DEMO = Path(reskin.__file__).parent / "data" / "demo"


def test_the_shipped_screenplay_writes_the_shipped_episode(tmp_path):
    root = create_demo(tmp_path / "s")
    (root / "episodes" / "ep01.yaml").unlink()
    (first,) = import_script(root, root / "script.fountain")
    assert (first.episode, first.status) == ("ep01", "new") and not first.wardrobes
    shipped = (DEMO / "episodes" / "ep01.yaml").read_text(encoding="utf-8")
    assert first.path.read_text(encoding="utf-8") == shipped
    # what the notes direct is in the episode: names, cameras, clips, the recording, lengths
    ep = load_episode(first.path, {"mira", "theo"})
    a, b = ep.shots
    assert (a.id, b.id) == ("s01-medium", "s02-closeup")
    assert a.duration == 2.0 and a.cast[0].clip == "wave" and a.camera.framing == "medium"
    assert (b.camera.framing, b.camera.move, b.camera.amount, b.camera.lens) == (
        "closeup", "dolly", 0.15, 60.0)
    assert b.cast[0].clip == "nod" and b.lines[0].audio.name == "s02_01.wav"
    assert a.set is None and a.cast[0].position == (0.0, 0.0)  # no heading: the default stage


def test_importing_the_sample_screenplay_is_idempotent(tmp_path):
    root = create_demo(tmp_path / "s")
    path = root / "episodes" / "ep01.yaml"
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    for _ in range(2):  # the shipped file is what the import writes: nothing to overwrite
        cli = CliRunner().invoke(main, ["script", "import", str(root / "script.fountain"),
                                        "-s", str(root)])
        assert cli.exit_code == 0, cli.output
        assert cli.output == f"ep01: unchanged {path}\n"
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
