"""`reskin skin`: the whole cast for an episode, one character, and the continuity sheet; a
character named like a subcommand; the deprecated `reskin reskin` alias."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from reskin.cli import main
from reskin.pipeline.series_init import create_demo


def test_skin_cast_then_character_then_sheet(tmp_path):
    root = create_demo(tmp_path / "s")
    run = CliRunner().invoke(main, ["skin", "--episode", "ep02", "-s", str(root), "--json"])
    assert run.exit_code == 0, run.output
    rows = json.loads(run.output.splitlines()[-1] if run.output.startswith("reskin") else
                      run.output[run.output.index("["):])
    assert [(r["character"], r["skin"], r["made"]) for r in rows] == [
        ("mira", "mira.ep02@1", True), ("theo", "theo.ep02@1", True)]
    theo = rows[1]["garments"]
    assert [(g["name"], g["bind"]) for g in theo] == [("scarf", "transfer"), ("cap", "joint")]
    assert all(0 <= g["penetration_m"] < 0.01 for g in theo)
    again = CliRunner().invoke(main, ["skin", "theo", "-e", "ep02", "-s", str(root)])
    assert again.exit_code == 0, again.output
    assert "theo ep02: theo.ep02@1 (cached), wearing scarf (transfer, " in again.output
    assert "mm into the body at worst); cap (joint, " in again.output
    bad = CliRunner().invoke(main, ["skin", "zed", "-e", "ep02", "-s", str(root)])
    assert bad.exit_code == 2 and "no character 'zed'" in bad.output
    sheet = tmp_path / "mira.png"
    result = CliRunner().invoke(main, ["skin", "sheet", "mira", "-s", str(root), "-o",
                                       str(sheet), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["episodes"] == ["ep01", "ep02", "ep03"]
    # nearly every changed pixel is in the clothes or garments, none on the face
    assert all(share > 0.97 for share in report["confined"].values()), report
    img = np.asarray(Image.open(sheet))
    assert img.shape[0] > 4 * 300 and img.shape[1] == 6 * 240


def test_a_character_named_like_a_subcommand_and_the_old_command_name(tmp_path):
    root = create_demo(tmp_path / "s")
    theo = root / "cast" / "theo"
    sheet = root / "cast" / "sheet"
    sheet.mkdir()
    (sheet / "character.yaml").write_text(
        (theo / "character.yaml").read_text().replace("height: 1.84", "height: 1.7"))
    (sheet / "ep01.yaml").write_text((theo / "ep01.yaml").read_text())
    for args in (["skin", "sheet", "-e", "ep01"], ["skin", "make", "sheet", "-e", "ep01"]):
        run = CliRunner().invoke(main, [*args, "-s", str(root)])
        assert run.exit_code == 0, run.output
        assert run.output.splitlines()[-1].startswith("sheet ep01: sheet.ep01@1 ("), run.output
    old = CliRunner().invoke(main, ["reskin", "sheet", "-e", "ep01", "-s", str(root)])
    assert old.exit_code == 0, old.output
    assert "`reskin reskin` is deprecated; use `reskin skin`" in old.output
    assert "sheet ep01: sheet.ep01@1 (cached)" in old.output
    listed = CliRunner().invoke(main, ["--help"]).output.split("Commands:")[1]
    assert "  skin " in listed and "  reskin " not in listed
