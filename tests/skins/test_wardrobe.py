"""Wardrobe specs: validation with file:line errors, inheritance, and painting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reskin.core.errors import ReskinError
from reskin.skins.wardrobe import load_wardrobe


def write(root: Path, name: str, text: str) -> Path:
    path = root / "cast" / "mira" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


EP02 = """\
regions:
  top: {color: "#1f8a80"}
  bottoms: {color: "#c9b48a", pattern: checks, scale: 0.1}
sleeves: short
garments:
  - {mesh: "procedural:cap", color: "#202040"}
"""


def test_inheritance_resolves_field_by_field(tmp_path):
    write(tmp_path, "ep02", EP02)
    path = write(tmp_path, "ep03", """\
base: ep02
regions:
  bottoms: {roughness: 0.9}
garments:
  - {mesh: "procedural:scarf", color: "#7a1f3d"}
hide: [shoes]
""")
    spec = load_wardrobe(path, "mira", "ep03")
    assert spec.regions["top"].color == pytest.approx((0x1F / 255, 0x8A / 255, 0x80 / 255))
    bottoms = spec.regions["bottoms"]
    assert bottoms.pattern == "checks" and bottoms.scale == 0.1 and bottoms.roughness == 0.9
    assert spec.sleeves == "short"
    assert [g.name for g in spec.garments] == ["cap", "scarf"]
    assert [g.bind for g in spec.garments] == ["joint", "transfer"]
    assert spec.garments[0].joint == "head"
    assert spec.hide == ("shoes",)
    assert [Path(p).stem for p in spec.chain] == ["ep03", "ep02"]
    # the same garment name in the child replaces the base's
    write(tmp_path, "ep04", 'base: ep03\ngarments:\n  - {mesh: "procedural:scarf", '
                            'color: "#000000"}\n')
    ep04 = load_wardrobe(tmp_path / "cast/mira/ep04.yaml", "mira", "ep04")
    assert [g.name for g in ep04.garments] == ["cap", "scarf"]
    assert ep04.garments[1].color == (0.0, 0.0, 0.0)


def test_inheritance_cycle_and_missing_base_name_file_and_line(tmp_path):
    write(tmp_path, "ep01", "regions:\n  top: {color: '#ffffff'}\nbase: ep02\n")
    write(tmp_path, "ep02", "# two\nbase: ep01\n")
    with pytest.raises(ReskinError) as err:
        load_wardrobe(tmp_path / "cast/mira/ep01.yaml", "mira", "ep01")
    msg = err.value.one_line()
    assert "ep02.yaml:2: base: inheritance cycle: ep01 -> ep02 -> ep01" in msg
    write(tmp_path, "ep05", "\nbase: ep09\n")
    with pytest.raises(ReskinError, match=r"ep05.yaml:2: base: no wardrobe 'ep09' for mira"):
        load_wardrobe(tmp_path / "cast/mira/ep05.yaml", "mira", "ep05")


@pytest.mark.parametrize("text, where", [
    ("hide: [head]\n", r"ep01.yaml:1: hide: 'head' cannot be hidden"),
    ("regions:\n  top: {color: '#ffffff', texture: cloth.png}\n",
     r"ep01.yaml:2: regions.top.texture: file not found: cloth.png"),
    ("garments:\n  - {mesh: hat.glb}\n", r"ep01.yaml:2: garments\[0\].mesh: file not found"),
    ("garments:\n  - {mesh: 'procedural:cape'}\n", r"unknown procedural garment 'cape'"),
    ("garments:\n  - {mesh: 'procedural:scarf', joint: haed}\n", r"did you mean 'head'"),
    ("regions:\n  top: {pattern: stripes}\n", r"ep01.yaml:2: regions.top.color: required"),
    ("regions:\n  top: {color: '#ffffff', texture: 'asset:denim'}\n",
     r"pin the asset version"),
    ("decals:\n  - {image: x.png, region: top, at: [0, 1], size: 0.1}\n", "file not found"),
    ("garments:\n  - {mesh: 'procedural:scarf', pattern: stripe}\n",
     r"ep01.yaml:2: garments\[0\].pattern: .*did you mean 'stripes'"),
    ("garments:\n  - {mesh: 'procedural:scarf', texture: knit.png}\n",
     r"ep01.yaml:2: garments\[0\].texture: file not found: knit.png"),
])
def test_bad_specs_are_one_line_errors(tmp_path, text, where):
    path = write(tmp_path, "ep01", text)
    with pytest.raises(ReskinError, match=where):
        load_wardrobe(path, "mira", "ep01")


def test_materials_textures_palette_and_decals_paint_only_the_wardrobe(tmp_path):
    from reskin.core.skeleton import HUMANOID_JOINTS, Skeleton
    from reskin.skins.paint import paint_materials

    Image.fromarray(np.full((4, 4, 3), 128, np.uint8)).save(tmp_path / "cloth.png")
    logo = np.zeros((8, 8, 4), np.uint8)
    logo[..., 1] = logo[..., 3] = 255  # opaque green
    Image.fromarray(logo).save(tmp_path / "logo.png")
    path = write(tmp_path, "ep01", """\
regions:
  top: {color: "#ff0000", texture: cloth.png, roughness: 0.2, metallic: 1.0}
  bottoms: {color: "#0000ff"}
palette: {"#0000ff": "#00ff00"}
decals:
  - {image: logo.png, region: top, at: [0.0, 1.0], size: 0.2}
""")
    spec = load_wardrobe(path, "mira", "ep01")
    assert spec.regions["top"].texture_sha and spec.decals[0].image_sha
    # a tiny atlas: one column per part, rest positions on a plane in front (z > 0) or behind
    names = ("head", "torso", "pelvis", "hand_l")
    part = np.array([[0, 1, 2, 3], [0, 1, 2, 3]], np.int16)
    position = np.zeros((2, 4, 3), np.float32)
    position[..., 1] = 1.0
    position[0, :, 2], position[1, :, 2] = 0.1, -0.1
    n = len(HUMANOID_JOINTS)
    heads = np.zeros((n, 3), np.float32)
    heads[:, 1] = np.linspace(0, 1.5, n)
    skel = Skeleton(tuple(j for j, _ in HUMANOID_JOINTS), np.array(
        [-1 if p is None else [j for j, _ in HUMANOID_JOINTS].index(p)
         for _, p in HUMANOID_JOINTS], np.int32), heads, heads + [0, 0.1, 0])
    identity = {"skin_tone": (0.8, 0.6, 0.5), "hair": (0, 0, 0), "eyes": (0, 0, 1)}
    images = {spec.regions["top"].texture: np.asarray(Image.open(tmp_path / "cloth.png")
                                                     .convert("RGBA"), np.float32) / 255,
              spec.decals[0].image: np.asarray(Image.open(tmp_path / "logo.png"),
                                               np.float32) / 255}
    rgb, mr = paint_materials(position, part, names, skel, identity, spec, images)
    bare, _ = paint_materials(position, part, names, skel, identity, None)
    assert tuple(rgb[1, 1]) == (128, 0, 0)  # back of torso: red tinted cloth texture
    assert tuple(rgb[0, 1]) == (0, 255, 0)  # front of torso: the decal
    assert tuple(rgb[0, 2]) == (0, 255, 0)  # bottoms: blue remapped to green by the palette
    assert (rgb[:, [0, 3]] == bare[:, [0, 3]]).all()  # head and hands untouched
    assert mr[0, 1, 1] == 51 and mr[0, 1, 2] == 255 and mr[0, 0, 1] == 179


def test_unknown_region_is_named_with_the_known_ones(tmp_path):
    path = write(tmp_path, "ep01", "# juno\nsleeves: long\nregions:\n  top: {color: '#ff0000'}\n"
                                   "  jacket:\n    color: '#ffffff'\n")
    with pytest.raises(ReskinError) as err:
        load_wardrobe(path, "mira", "ep01")
    assert err.value.one_line() == (f"{path}:5: regions.jacket: unknown region "
                                    "(known: top, bottoms, shoes)")
    path = write(tmp_path, "ep02", "regions:\n  top: {color: '#ff0000'}\npadding:\n  topp: 0.01\n")
    with pytest.raises(ReskinError) as err:
        load_wardrobe(path, "mira", "ep02")
    assert err.value.one_line() == (f"{path}:4: padding.topp: unknown region "
                                    "(known: top, bottoms, shoes; did you mean 'top'?)")


def test_a_file_that_is_not_what_its_field_wants_names_the_spec_line_field_and_file(tmp_path):
    (tmp_path / "hat.glb").write_bytes(b"this is not a model")
    (tmp_path / "cloth.png").write_bytes(b"not a png either")
    (tmp_path / "logo.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    cases = [
        ("garments:\n  - name: hat\n    mesh: hat.glb\n",
         f"3: garments[0].mesh: {tmp_path / 'hat.glb'}: not a GLB model (its header is not "
         "'glTF')"),
        ("garments:\n  - {mesh: notes.txt}\n",
         f"2: garments[0].mesh: {tmp_path / 'notes.txt'}: not a mesh file (GLB, GLTF, OBJ, "
         "PLY, STL)"),
        ("regions:\n  top: {color: '#ffffff', texture: cloth.png}\n",
         f"2: regions.top.texture: {tmp_path / 'cloth.png'}: not a readable image (PNG or JPEG)"),
        ("decals:\n  - {image: logo.png, region: top, at: [0, 1.3], size: 0.1}\n",
         f"2: decals[0].image: {tmp_path / 'logo.png'}: not a readable image (PNG or JPEG)"),
    ]
    for text, tail in cases:
        path = write(tmp_path, "ep01", text)
        with pytest.raises(ReskinError) as err:
            load_wardrobe(path, "mira", "ep01")
        assert err.value.one_line() == f"{path}:{tail}"


def test_a_mesh_that_fails_to_parse_later_names_the_spec_line_field_and_file(tmp_path):
    from reskin.skins.garments import build_garment

    (tmp_path / "hat.glb").write_bytes(b"glTF" + b"\x00" * 40)
    path = write(tmp_path, "ep01", "garments:\n  - name: hat\n    mesh: hat.glb\n"
                                   "    bind: transfer\n")
    spec = load_wardrobe(path, "mira", "ep01").garments[0]
    with pytest.raises(ReskinError) as err:  # the body is not needed to read the file
        build_garment(spec, None, None, lambda ref: (Path(ref).read_bytes(), ".glb"))
    msg = err.value.one_line()
    assert msg.startswith(f"{path}:3: garments[0].mesh: cannot read {tmp_path / 'hat.glb'} "
                          "as a mesh: ")
