"""VRM 0.x and 1.0 avatars: the humanoid bone map is used as the file gives it, the meta fills
provenance (the command line wins), VRM 0.x is turned to face +Z; glTF asset credits too."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reskin.assets.gltf.glb import read_glb
from reskin.assets.gltf.validate import errors_of, validate_gltf_bytes
from reskin.assets.gltf.vrm import file_credits, read_vrm
from reskin.assets.importer import ImportOptions, import_file
from reskin.cli import main

from .conftest import snapshot, triangle_gltf, write_gltf
from .gltf_edit import library_glb, library_mesh, load, save

# RiggedFigure's joints under VRM humanoid names (its own names say nothing VRM-like).
FIGURE_BONES = {
    "hips": "torso_joint_1", "spine": "torso_joint_2", "chest": "torso_joint_3",
    "neck": "neck_joint_1", "head": "neck_joint_2",
    "leftUpperArm": "arm_joint_L_1", "leftLowerArm": "arm_joint_L_2", "leftHand": "arm_joint_L_3",
    "rightUpperArm": "arm_joint_R_1", "rightLowerArm": "arm_joint_R_2",
    "rightHand": "arm_joint_R_3",
    "leftUpperLeg": "leg_joint_L_1", "leftLowerLeg": "leg_joint_L_2", "leftFoot": "leg_joint_L_3",
    "leftToes": "leg_joint_L_5",
    "rightUpperLeg": "leg_joint_R_1", "rightLowerLeg": "leg_joint_R_2",
    "rightFoot": "leg_joint_R_3", "rightToes": "leg_joint_R_5",
}
VRM1_META = {
    "name": "Figure", "version": "1", "authors": ["Ada Lovelace", "Studio North"],
    "licenseUrl": "https://vrm.dev/licenses/1.0/", "avatarPermission": "onlyAuthor",
    "commercialUsage": "personalNonProfit", "creditNotation": "required",
    "allowRedistribution": False, "modification": "prohibited",
}
VRM0_META = {
    "title": "Figure zero", "version": "1", "author": "Grace Hopper",
    "licenseName": "CC0", "allowedUserName": "Everyone", "commercialUssageName": "Allow",
}


def _nodes_by_name(js: dict) -> dict[str, int]:
    return {n["name"]: i for i, n in enumerate(js["nodes"]) if "name" in n}


def make_vrm(source: Path, out: Path, version: str, bones: dict[str, str] | None = None) -> Path:
    """RiggedFigure as a VRM ``version`` ("1.0" or "0.x"): the extension written onto it."""
    js, binary = load(source)
    index = _nodes_by_name(js)
    bones = FIGURE_BONES if bones is None else bones
    if version == "1.0":
        ext = {"VRMC_vrm": {"specVersion": "1.0", "meta": copy.deepcopy(VRM1_META),
                            "humanoid": {"humanBones": {b: {"node": index.get(n, n)}
                                                        for b, n in bones.items()}}}}
    else:
        ext = {"VRM": {"specVersion": "0.0", "exporterVersion": "UniVRM-0.99",
                       "meta": copy.deepcopy(VRM0_META),
                       "humanoid": {"humanBones": [{"bone": b, "node": index.get(n, n),
                                                    "useDefaultValues": True}
                                                   for b, n in bones.items()]}}}
    js.setdefault("extensions", {}).update(ext)
    js.setdefault("extensionsUsed", []).extend(ext)
    return save(out, js, binary)


def _corners(libroot: Path, record) -> np.ndarray:
    mesh = library_mesh(libroot, record)
    return mesh["vertices"][mesh["faces"]]


def test_vrm1_humanoid_map_and_meta_are_used(shared_data, libroot, tmp_path):
    source = shared_data / "gltf" / "RiggedFigure.glb"
    vrm = make_vrm(source, tmp_path / "figure.vrm", "1.0")
    rec, _ = import_file(libroot, vrm, "figure")
    assert rec.kind == "character" and rec.meta["format"] == "glb"
    assert rec.meta["vrm"]["version"] == "1.0"
    assert rec.meta["vrm"]["humanoid"] == FIGURE_BONES  # as the file maps it, not guessed
    assert rec.provenance["author"] == "Ada Lovelace, Studio North"
    assert rec.provenance["license"] == "LicenseRef-VRM-1.0"
    credits = rec.provenance["source_credits"]
    assert credits["license_url"] == "https://vrm.dev/licenses/1.0/"
    assert credits["license_terms"]["commercialUsage"] == "personalNonProfit"
    assert credits["license_terms"]["allowRedistribution"] is False
    glb = library_glb(libroot, rec)
    assert errors_of(validate_gltf_bytes(glb)) == []
    stored, _ = read_glb(glb)
    src, _ = load(vrm)
    assert stored["extensions"]["VRMC_vrm"] == src["extensions"]["VRMC_vrm"]  # kept intact
    assert "VRMC_vrm" in stored["extensionsUsed"]
    # The bone map's node indices still point at the same joints in model.glb.
    for bone, spec in stored["extensions"]["VRMC_vrm"]["humanoid"]["humanBones"].items():
        assert stored["nodes"][spec["node"]]["name"] == FIGURE_BONES[bone]
    # VRM 1.0 faces +Z like glTF: no turn, the same mesh as the plain GLB.
    plain, _ = import_file(libroot, source, "plain")
    assert "facing" not in rec.provenance["normalization"]
    assert np.abs(_corners(libroot, rec) - _corners(libroot, plain)).max() < 1e-6


def test_command_line_credits_win_over_the_file(shared_data, libroot, tmp_path):
    vrm = make_vrm(shared_data / "gltf" / "RiggedFigure.glb", tmp_path / "figure.vrm", "1.0")
    rec, _ = import_file(libroot, vrm, "figure",
                         ImportOptions(author="Studio South", license="CC-BY-4.0"))
    assert rec.provenance["author"] == "Studio South"
    assert rec.provenance["license"] == "CC-BY-4.0"
    assert rec.provenance["source_credits"]["author"] == "Ada Lovelace, Studio North"


def test_vrm0_map_meta_and_facing(shared_data, libroot, tmp_path):
    source = shared_data / "gltf" / "RiggedFigure.glb"
    vrm = make_vrm(source, tmp_path / "zero.vrm", "0.x")
    rec, _ = import_file(libroot, vrm, "zero")
    assert rec.meta["vrm"]["version"] == "0.0"
    assert rec.meta["vrm"]["humanoid"] == FIGURE_BONES
    assert rec.provenance["author"] == "Grace Hopper"
    assert rec.provenance["license"] == "CC0-1.0"
    assert rec.provenance["source_credits"]["license_terms"]["allowedUserName"] == "Everyone"
    assert rec.provenance["source_credits"]["title"] == "Figure zero"
    glb = library_glb(libroot, rec)
    assert errors_of(validate_gltf_bytes(glb)) == []
    stored, _ = read_glb(glb)
    assert stored["extensions"]["VRM"] == load(vrm)[0]["extensions"]["VRM"]
    # A VRM 0.x avatar faces -Z: the import turns it half round (x and z negated).
    plain, _ = import_file(libroot, source, "plain")
    assert "-Z" in rec.provenance["normalization"]["facing"]
    turned = _corners(libroot, plain) * np.array([-1, 1, -1], np.float32)
    assert np.abs(_corners(libroot, rec) - turned).max() < 1e-5


@pytest.mark.parametrize("version,field", [
    ("1.0", "extensions.VRMC_vrm.humanoid.humanBones.hips.node"),
    ("0.x", "extensions.VRM.humanoid.humanBones[0].node"),
])
def test_a_bone_that_is_not_a_node_is_refused_in_one_line(shared_data, tmp_path, version, field):
    bones = {"hips": 999, **{b: n for b, n in FIGURE_BONES.items() if b != "hips"}}
    vrm = make_vrm(shared_data / "gltf" / "RiggedFigure.glb", tmp_path / "bad.vrm", version,
                   bones)
    runner = CliRunner()
    series = tmp_path / "s"
    assert runner.invoke(main, ["init", str(series)]).exit_code == 0
    before = snapshot(series)
    result = runner.invoke(main, ["asset", "import", str(vrm), "--name", "bad", "-s",
                                  str(series)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bad.vrm" in lines[0] and field in lines[0], lines
    assert snapshot(series) == before


def test_read_vrm_is_none_for_plain_gltf(shared_data):
    js, _ = load(shared_data / "gltf" / "RiggedFigure.glb")
    assert read_vrm(js) is None


def test_glTF_asset_credits_fill_provenance(tmp_path, libroot, shared_data):
    doc = triangle_gltf()
    doc["asset"].update({"copyright": "2024 Jo Bloggs",
                         "extras": {"author": "Jo Bloggs", "license": "CC-BY-SA-4.0",
                                    "title": "Tri"}})
    rec, _ = import_file(libroot, write_gltf(tmp_path / "m" / "tri.gltf", doc), "tri")
    assert rec.provenance["author"] == "Jo Bloggs"
    assert rec.provenance["license"] == "CC-BY-SA-4.0"
    assert rec.provenance["source_credits"]["copyright"] == "2024 Jo Bloggs"
    assert rec.provenance["source_credits"]["title"] == "Tri"
    # A licence named in a copyright line is read (the Fox sample's "CC-BY 4.0 Model by ...").
    fox, _ = load(shared_data / "gltf" / "Fox.glb")
    assert file_credits(fox)["license"] == "CC-BY-4.0"
    # Free text that is no SPDX id is kept as text, never stored as the licence.
    doc["asset"]["extras"]["license"] = "ask me first"
    rec, _ = import_file(libroot, write_gltf(tmp_path / "m" / "tri2.gltf", doc), "tri2")
    assert "license" not in rec.provenance
    assert rec.provenance["source_credits"]["license_text"] == "ask me first"
