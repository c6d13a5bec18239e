"""Hostile skeletons through `reskin asset import`: each refused in one line naming the file and
the field, exit code 2, the series (and its library) byte for byte unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reskin.cli import main

from .conftest import snapshot
from .gltf_edit import float_accessor, load, save


def _cycle(js: dict, _binary: bytearray) -> None:
    """Two joints each the other's child: hips' parent link is cut and turned into a loop."""
    joints = js["skins"][0]["joints"]
    hips, spine = joints[0], joints[1]
    for node in js["nodes"]:
        if hips in node.get("children", []):
            node["children"].remove(hips)
    js["nodes"][spine]["children"].append(hips)


def _self_child(js: dict, _binary: bytearray) -> None:
    j = js["skins"][0]["joints"][3]
    js["nodes"][j].setdefault("children", []).append(j)


def _duplicate(js: dict, _binary: bytearray) -> None:
    joints = js["skins"][0]["joints"]
    joints[5] = joints[2]


def _not_a_node(js: dict, _binary: bytearray) -> None:
    js["skins"][0]["joints"][4] = len(js["nodes"]) + 7


def _ibm_count(js: dict, _binary: bytearray) -> None:
    js["accessors"][js["skins"][0]["inverseBindMatrices"]]["count"] -= 1


def _ibm_type(js: dict, _binary: bytearray) -> None:
    js["accessors"][js["skins"][0]["inverseBindMatrices"]]["type"] = "VEC4"


def _ibm_values(js: dict, binary: bytearray, row: float, scale: float) -> None:
    ibm = float_accessor(js, binary, js["skins"][0]["inverseBindMatrices"]).reshape(-1, 4, 4)
    ibm[6, :3, :3] *= scale  # column-major: [column][row]
    ibm[6, 0, 3] = row


def _ibm_not_affine(js: dict, binary: bytearray) -> None:
    _ibm_values(js, binary, 0.5, 1.0)


def _ibm_singular(js: dict, binary: bytearray) -> None:
    _ibm_values(js, binary, 0.0, 0.0)


def _no_joints(js: dict, _binary: bytearray) -> None:
    js["skins"][0]["joints"] = []


def _bad_skin_index(js: dict, _binary: bytearray) -> None:
    next(n for n in js["nodes"] if "skin" in n)["skin"] = 3


CASES: list[tuple[str, Callable[[dict, bytearray], None], str, str]] = [
    ("cycle", _cycle, "skins[0].joints[", "cycle"),
    ("self_child", _self_child, "skins[0].joints[", "cycle"),
    ("duplicate", _duplicate, "skins[0].joints[5]", "listed twice"),
    ("not_a_node", _not_a_node, "skins[0].joints[4]", "is not a node"),
    ("ibm_count", _ibm_count, "skins[0].inverseBindMatrices", "18 matrices for 19 joints"),
    ("ibm_type", _ibm_type, "skins[0].inverseBindMatrices", "not float MAT4"),
    ("ibm_not_affine", _ibm_not_affine, "skins[0].inverseBindMatrices", "matrix 6 is not affine"),
    ("ibm_singular", _ibm_singular, "skins[0].inverseBindMatrices", "matrix 6 is singular"),
    ("no_joints", _no_joints, "skins[0].joints", "non-empty"),
    ("bad_skin_index", _bad_skin_index, "nodes[1].skin", "does not exist"),
]


@pytest.fixture
def series(tmp_path) -> Path:
    root = tmp_path / "s"
    assert CliRunner().invoke(main, ["init", str(root)]).exit_code == 0
    return root


@pytest.mark.parametrize("name,edit,field,words", CASES, ids=[c[0] for c in CASES])
def test_hostile_skeleton_is_refused_in_one_line(shared_data, tmp_path, series, name, edit,
                                                 field, words):
    js, binary = load(shared_data / "gltf" / "RiggedFigure.glb")
    edit(js, binary)
    bad = save(tmp_path / f"{name}.glb", js, binary)
    before = snapshot(series)
    result = CliRunner().invoke(main, ["asset", "import", str(bad), "--name", name, "-s",
                                       str(series)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"{name}.glb" in lines[0] and field in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert snapshot(series) == before
