"""Hostile BVH files: each is refused by the reader, and by `reskin clip import`, in one line that
names the file (and line) and the joint or field, with exit code 2 and the library unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.cli import main
from reskin.core.errors import ReskinError
from reskin.pipeline.series_init import init_series
from reskin.rigging.bvh import BvhError, read_bvh
from reskin.rigging.names import detect_convention

# A small CMU-named skeleton (hips, spine, neck, head, arms and legs): every hostile case below
# is this file with one thing broken.
_LIMBS = {"Left": 1.0, "Right": -1.0}


def _joint(name: str, offset: tuple[float, float, float], children: str, depth: int) -> str:
    pad = "  " * depth
    body = children or f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 -2 0\n{pad}  }}\n"
    return (f"{pad}JOINT {name}\n{pad}{{\n{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}\n"
            f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation\n{body}{pad}}}\n")


def _chain(names: list[str], offsets: list[tuple[float, float, float]], depth: int) -> str:
    if not names:
        return ""
    return _joint(names[0], offsets[0], _chain(names[1:], offsets[1:], depth + 1), depth)


def _good_bvh(frames: int = 3) -> str:
    body = ""
    for side, x in _LIMBS.items():
        body += _chain([f"{side}UpLeg", f"{side}Leg", f"{side}Foot", f"{side}ToeBase"],
                       [(3 * x, -2, 0), (0, -17, 0), (0, -16, 0), (0, -2, 5)], 1)
    arms = ""
    for side, x in _LIMBS.items():
        arms += _chain([f"{side}Shoulder", f"{side}Arm", f"{side}ForeArm", f"{side}Hand"],
                       [(2 * x, 2, 0), (5 * x, 0, 0), (10 * x, 0, 0), (9 * x, 0, 0)], 4)
    neck = _chain(["Neck", "Head"], [(0, 4, 0), (0, 3, 0)], 4)
    spine = _joint("LowerBack", (0, 1, 0), _joint("Spine", (0, 8, 0), neck + arms, 2), 1)
    hierarchy = ("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n"
                 "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
                 f"{body}{spine}}}\n")
    width = 6 + 3 * (hierarchy.count("JOINT"))
    rng = np.random.default_rng(0)
    rows = []
    for f in range(frames):
        row = [0.0, 36.0, float(f)] + list(np.round(rng.uniform(-20, 20, width - 3), 3))
        rows.append(" ".join(f"{v:g}" for v in row))
    return hierarchy + f"MOTION\nFrames: {frames}\nFrame Time: 0.0333333\n" + "\n".join(rows) + "\n"


def _motion_line(text: str, frame: int) -> int:
    """1-based line number of motion frame ``frame`` (0-based)."""
    return text.splitlines().index("Frame Time: 0.0333333") + 2 + frame


def _replace_value(text: str, frame: int, column: int, value: str) -> str:
    lines = text.splitlines()
    i = _motion_line(text, frame) - 1
    row = lines[i].split()
    row[column] = value
    lines[i] = " ".join(row)
    return "\n".join(lines) + "\n"


def _hostile() -> dict[str, tuple[str, str]]:
    """case -> (file text, a regex the one-line error must match)."""
    good = _good_bvh()
    head = good.split("MOTION")[0]
    motion = "MOTION" + good.split("MOTION")[1]
    return {
        "nan_offset": (good.replace("OFFSET 0 -17 0", "OFFSET 0 nan 0", 1),
                       r"bad\.bvh:\d+: joint 'LeftLeg' OFFSET: nan is not a finite number"),
        "inf_end_site": (good.replace("OFFSET 0 -2 0", "OFFSET 0 -inf 0", 1),
                         r"bad\.bvh:\d+: End Site of 'LeftToeBase' OFFSET: -inf is not a finite"),
        "nan_motion": (_replace_value(good, 1, 7, "nan"),
                       rf"bad\.bvh:{_motion_line(good, 1)}: joint 'LeftUpLeg' Xrotation: "
                       r"frame 2: nan is not a finite number"),
        "inf_root_motion": (_replace_value(good, 2, 1, "1e999"),
                            rf"bad\.bvh:{_motion_line(good, 2)}: joint 'Hips' Yposition: "
                            r"frame 3: 1e999 is not a finite number"),
        "duplicate_name": (good.replace("JOINT RightLeg\n", "JOINT LeftLeg\n"),
                           r"bad\.bvh:\d+: joint 'LeftLeg': this joint name is used twice "
                           r"\(first on line \d+\)"),
        "huge_offset": (good.replace("OFFSET 0 -16 0", "OFFSET 0 -16 2e5", 1),
                        r"bad\.bvh:\d+: joint 'LeftFoot' OFFSET: offset .* is absurd"),
        "long_bone": (good.replace("OFFSET 0 -16 0", "OFFSET 0 -900 0", 1),
                      r"bad\.bvh:\d+: joint 'LeftFoot' OFFSET: bone of length 900 is \d+ times"),
        "channels_fewer_listed": (
            good.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n", "CHANNELS 3 Zrotation "
                         "Xrotation\n", 1),
            r"bad\.bvh:\d+: joint 'LeftUpLeg' CHANNELS: CHANNELS says 3 but lists 2 channels"),
        "channels_more_listed": (
            good.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n", "CHANNELS 2 Zrotation "
                         "Xrotation Yrotation\n", 1),
            r"bad\.bvh:\d+: joint 'LeftUpLeg' CHANNELS: CHANNELS says 2 but lists 3 channels"),
        "unknown_channel": (
            good.replace("Zrotation Xrotation Yrotation\n", "Zrotation Wrotation Yrotation\n", 1),
            r"bad\.bvh:5: joint 'Hips' CHANNELS: unknown channel 'Wrotation'"),
        "short_frame": (
            head + motion.replace(motion.splitlines()[4], motion.splitlines()[4].rsplit(" ", 1)[0]),
            rf"bad\.bvh:{_motion_line(good, 1)}: MOTION: frame 2 has \d+ values but CHANNELS "
            r"declare \d+"),
        "missing_frame": (good.replace("Frames: 3", "Frames: 4"),
                          r"bad\.bvh: MOTION: Frames says 4 but the file has 3 lines of motion"),
        "extra_frame": (good.replace("Frames: 3", "Frames: 2"),
                        rf"bad\.bvh:{_motion_line(good, 2)}: MOTION: Frames says 2 but the file "
                        r"has 3 lines"),
        "word_in_motion": (_replace_value(good, 0, 4, "oops"),
                           rf"bad\.bvh:{_motion_line(good, 0)}: joint 'Hips' Xrotation: frame 1: "
                           r"expected a number, found 'oops'"),
        "zero_frame_time": (good.replace("Frame Time: 0.0333333", "Frame Time: 0"),
                            r"bad\.bvh:\d+: Frame Time: must be positive, found 0"),
    }


def test_the_clean_file_reads_and_names_a_convention(tmp_path):
    path = tmp_path / "good.bvh"
    path.write_text(_good_bvh())
    bvh = read_bvh(path)
    assert bvh.frames == 3 and len(bvh.names) == 21 and bvh.fps == 30.0
    assert detect_convention(bvh.names) == "motionbuilder"
    assert np.isfinite(bvh.rotations).all()


def test_a_frame_wrapped_over_two_lines_still_reads(tmp_path):
    text = _good_bvh()
    lines = text.splitlines()
    i = _motion_line(text, 1) - 1
    row = lines[i].split()
    lines[i : i + 1] = [" ".join(row[:10]), " ".join(row[10:])]
    path = tmp_path / "wrapped.bvh"
    path.write_text("\n".join(lines) + "\n")
    assert read_bvh(path).frames == 3


@pytest.mark.parametrize("case", sorted(_hostile()))
def test_hostile_file_is_refused_in_one_line(tmp_path, case):
    text, pattern = _hostile()[case]
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(BvhError) as info:
        read_bvh(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert isinstance(info.value, ReskinError) and isinstance(info.value, ValueError)
    assert re.search(pattern, message), message


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("catalog.sqlite")}


def test_hostile_files_through_the_cli_exit_2_and_leave_the_library(tmp_path):
    root = init_series(tmp_path / "show")
    good = tmp_path / "good.bvh"
    good.write_text(_good_bvh())
    ok = CliRunner().invoke(main, ["clip", "import", str(good), "--name", "walk", "-s", str(root)])
    assert ok.exit_code == 0, ok.output
    before = _tree(root / ".reskin")
    listed = CliRunner().invoke(main, ["clip", "list", "-s", str(root), "--json"]).output
    for case, (text, _) in sorted(_hostile().items()):
        path = tmp_path / case / "bad.bvh"
        path.parent.mkdir()
        path.write_text(text)
        result = CliRunner().invoke(main, ["clip", "import", str(path), "--name", "walk",
                                           "-s", str(root)])
        out = result.output.strip()
        assert result.exit_code == 2, (case, result.output)
        assert len(out.splitlines()) == 1 and "Traceback" not in out, (case, out)
        assert str(path) in out, (case, out)
        assert _tree(root / ".reskin") == before, case
    assert CliRunner().invoke(main, ["clip", "list", "-s", str(root), "--json"]).output == listed
