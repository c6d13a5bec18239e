"""Importing OBJs without axis metadata: the up-axis guess stands a humanoid upright whichever
way it was authored, and says so when it is not certain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.arrays import unpack_arrays
from reskin.assets.generator import HumanoidParams, generate_humanoid
from reskin.assets.importer import ImportOptions, import_file
from reskin.assets.library import Library
from reskin.assets.normalize import guess_up
from reskin.cli import main

Y_TO_Z_UP = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float)  # (x, y, z) -> (x, -z, y)


def _obj(path: Path, v: np.ndarray, f: np.ndarray) -> Path:
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in v]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in f]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def body():
    mesh = generate_humanoid(HumanoidParams(voxels_per_height=48))
    # The voxel body alone (its vertices come first): an importer keeps the face's separate
    # pieces apart, which reorders vertices, and these tests follow vertices by index.
    faces = mesh.faces[mesh.parts <= mesh.part_names.index("hair")]
    return mesh.vertices[:faces.max() + 1].astype(np.float64), faces


@pytest.mark.parametrize("name, rotate, scale", [
    ("y_up", False, 1.0), ("z_up", True, 1.0), ("y_up_cm", False, 100.0),
    ("z_up_cm", True, 100.0)])
def test_humanoid_imports_upright_with_feet_on_the_floor(tmp_path, libroot, body, name, rotate,
                                                         scale):
    v, f = body
    src = (v @ Y_TO_Z_UP.T if rotate else v) * scale
    path = _obj(tmp_path / f"{name}.obj", src, f)
    rec, report = import_file(libroot, path, "hero", ImportOptions(kind="character"))
    norm = rec.provenance["normalization"]
    assert norm["up"] == ("z" if rotate else "y") and norm["up_certain"]
    assert not [x for x in report.findings if x.code == "up_uncertain"]
    with Library(libroot) as lib:
        out = unpack_arrays(lib.read_blob(rec.blobs["mesh.npz"]))["vertices"]
    assert out[:, 1].min() == pytest.approx(0.0, abs=1e-4)
    assert np.ptp(out[:, 1]) == pytest.approx(np.ptp(v[:, 1]), rel=1e-3)  # height along +Y
    # upright, not upside down: the heights are the source's, not mirrored
    np.testing.assert_allclose(np.sort(out[:, 1]), np.sort(v[:, 1]), atol=2e-3)


def test_an_uncertain_guess_is_reported_on_import_and_in_asset_show(tmp_path):
    assert guess_up(np.array([-1, -1, -1.0]), np.array([1, 1, 1.05]), "obj")[1] is False
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1.05, 1.05)])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    path = _obj(tmp_path / "crate.obj", v, f)
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path / "s")]).exit_code == 0
    result = runner.invoke(main, ["asset", "import", str(path), "--name", "crate",
                                  "-s", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    said = ("up axis guessed as +Y, not certain: about as tall along y as along z, assumed y "
            "(OBJ default); pass --up z if it lies down")
    assert f"{path}: warning: {said}" in result.output
    shown = runner.invoke(main, ["asset", "show", "crate", "-s", str(tmp_path / "s")])
    assert f"  warning: {said}" in shown.output.splitlines()


def _placed(v: np.ndarray, *, soles: float, back_at_zero: bool) -> np.ndarray:
    """The Y-up body with its soles ``soles`` (fraction of height) off y = 0 and, if asked, its
    back on z = 0: a file's own placement, which must not decide the up axis by accident."""
    v = v.copy()
    v[:, 1] += soles * np.ptp(v[:, 1]) - v[:, 1].min()
    if back_at_zero:
        v[:, 2] -= v[:, 2].min()
    return v


# Metres, centimetres, millimetres, inches.
SCALES = (1.0, 100.0, 1000.0, 1 / 0.0254)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("rotate", [False, True], ids=["y_up", "z_up"])
@pytest.mark.parametrize("soles, back_at_zero", [
    (0.0, False), (0.0, True), (-0.03, True), (0.02, True), (-0.05, False)])
def test_a_standing_humanoid_is_guessed_upright_wherever_it_stands(body, scale, rotate, soles,
                                                                   back_at_zero):
    v = _placed(body[0], soles=soles, back_at_zero=back_at_zero)
    src = (v @ Y_TO_Z_UP.T if rotate else v) * scale
    axis, certain, why = guess_up(src.min(axis=0), src.max(axis=0), "obj")
    assert (axis, certain) == ("z" if rotate else "y", True), why


def test_a_slab_on_the_floor_still_lies_on_it():
    # A rug 3 long, 1 cm thick, on z = 0 (Z-up) or y = 0 (Y-up): the floor, not the long side.
    assert guess_up(np.array([-1, -1.5, 0.0]), np.array([1, 1.5, 0.01]), "obj")[0] == "z"
    assert guess_up(np.array([-1, 0.0, -1.5]), np.array([1, 0.01, 1.5]), "obj")[0] == "y"


@pytest.mark.parametrize("scale", [1.0, 100.0])
@pytest.mark.parametrize("kind", [None, "character"])
def test_y_up_obj_with_its_back_on_z_zero_imports_standing(tmp_path, libroot, body, scale, kind):
    """The reported case: a Y-up humanoid OBJ, feet at y = 0 (soles a little below), imported as
    a new user would (as a prop, and as a character), stands upright, head up."""
    v0, f = body
    v = _placed(v0, soles=-0.03, back_at_zero=True) * scale
    path = _obj(tmp_path / "standing.obj", v, f)
    rec, report = import_file(libroot, path, "hero", ImportOptions(kind=kind))
    norm = rec.provenance["normalization"]
    assert norm["up"] == "y" and norm["up_certain"], norm["up_reason"]
    assert not [x for x in report.findings if x.code == "up_uncertain"]
    with Library(libroot) as lib:
        out = unpack_arrays(lib.read_blob(rec.blobs["mesh.npz"]))["vertices"]
    assert out[:, 1].min() == pytest.approx(0.0, abs=1e-4)
    height = np.ptp(out[:, 1])
    assert height == pytest.approx(np.ptp(v0[:, 1]) * scale * {1.0: 1.0, 100.0: 0.01}[scale],
                                   rel=1e-3)
    # Head up: the highest point is still the source's highest, the crown on the spine (x = 0),
    # not a sole. (Found by position: OBJ's six decimals may weld two crown vertices into one.)
    top = out[np.argmax(out[:, 1])]
    src_top = v[np.argmax(v[:, 1])] * {1.0: 1.0, 100.0: 0.01}[scale]
    assert abs(top[0] - src_top[0]) < 1e-3 * height and abs(top[0]) < 0.01 * height
