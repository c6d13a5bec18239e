"""What the importer accepts is valid: animation and node data the glTF validator would flag
are repaired (recorded in the import report) or refused in one line naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.gltf.glb import read_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.importer import prepare
from reskin.core.errors import ReskinError
from tests.assets.gltf_edit import float_accessor, load, save


def _rotation_sampler(js: dict) -> tuple[int, dict]:
    """(animation-0 sampler index, sampler) of the first rotation channel."""
    ch = next(c for c in js["animations"][0]["channels"] if c["target"]["path"] == "rotation")
    return ch["sampler"], js["animations"][0]["samplers"][ch["sampler"]]


def _figure(shared_data):
    return load(shared_data / "gltf" / "RiggedFigure.glb")


def test_near_unit_rotations_are_normalised_and_recorded(shared_data, tmp_path):
    js, binary = _figure(shared_data)
    s, sampler = _rotation_sampler(js)
    q = float_accessor(js, binary, sampler["output"])
    q *= 1.05  # a sloppy exporter: 5 % long
    prepared = prepare(save(tmp_path / "long.glb", js, binary))
    codes = [f["code"] for f in prepared.provenance["validation"]]
    assert "quaternion_normalised" in codes
    out, _ = read_glb(prepared.blobs["model.glb"])
    assert errors_of(validate_gltf_bytes(prepared.blobs["model.glb"])) == []
    assert out["animations"]


@pytest.mark.parametrize("scale, words", [(0.54, "has length 0.54"), (0.0, "zero or not finite")])
def test_far_from_unit_or_zero_rotations_are_refused(shared_data, tmp_path, scale, words):
    js, binary = _figure(shared_data)
    s, sampler = _rotation_sampler(js)
    float_accessor(js, binary, sampler["output"])[:] *= scale
    with pytest.raises(ReskinError) as err:
        prepare(save(tmp_path / "bad.glb", js, binary))
    assert f"animations[0].samplers[{s}].output" in str(err.value) and words in str(err.value)


def test_repeated_key_times_are_dropped_decreasing_ones_refused(shared_data, tmp_path):
    js, binary = load(shared_data / "gltf" / "CesiumMan.glb")
    s, sampler = _rotation_sampler(js)
    times = float_accessor(js, binary, sampler["input"])
    times[2, 0] = times[1, 0]
    prepared = prepare(save(tmp_path / "dup.glb", js, binary))
    assert "duplicate_keys" in [f["code"] for f in prepared.provenance["validation"]]
    assert errors_of(validate_gltf_bytes(prepared.blobs["model.glb"])) == []
    times[2, 0] = times[1, 0] - 0.01
    with pytest.raises(ReskinError, match=r"samplers\[\d+\]\.input: key time 2 .* times must "
                                          "increase"):
        prepare(save(tmp_path / "back.glb", js, binary))


def test_output_count_must_match_input(shared_data, tmp_path):
    js, binary = _figure(shared_data)
    s, sampler = _rotation_sampler(js)
    js["accessors"][sampler["output"]]["count"] -= 1
    with pytest.raises(ReskinError, match=rf"samplers\[{s}\]\.output: output has \d+ values"):
        prepare(save(tmp_path / "count.glb", js, binary))


def test_schema_errors_name_the_field(shared_data, tmp_path):
    js, binary = _figure(shared_data)
    js["nodes"][1]["name"] = 7
    js["animations"][0]["channels"][0]["target"]["path"] = "colour"
    with pytest.raises(ReskinError, match=r"nodes\[1\]\.name: must be a string"):
        prepare(save(tmp_path / "name.glb", js, binary))
    js["nodes"][1]["name"] = "ok"
    with pytest.raises(ReskinError, match=r"channels\[0\]\.target\.path: 'colour' is not one"):
        prepare(save(tmp_path / "path.glb", js, binary))


def test_negative_and_unnormalised_weights_are_repaired_exactly(shared_data, tmp_path):
    js, binary = load(shared_data / "gltf" / "CesiumMan.glb")
    prim = js["meshes"][0]["primitives"][0]
    w = float_accessor(js, binary, prim["attributes"]["WEIGHTS_0"])
    w[:10, 3] = -0.001
    w[10:20] *= 1.00001
    prepared = prepare(save(tmp_path / "w.glb", js, binary))
    codes = {f["code"] for f in prepared.provenance["validation"]}
    assert {"negative_weight", "weights_not_normalised"} <= codes
    assert errors_of(validate_gltf_bytes(prepared.blobs["model.glb"])) == []
    assert np.isfinite(w).all()
