"""Wardrobe regions on an imported character's own atlas: from skin weights on the three web
avatars (shirt in top, trousers in bottoms, face in none, bare skin kept), recolouring that
keeps folds and touches nothing else, and the spec's material/mask selectors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reskin.assets.gltf.read import load_gltf
from reskin.assets.safe_io import Limits
from reskin.core.errors import ReskinError
from reskin.skins import file_regions as fr
from reskin.skins.wardrobe import REGIONS, RegionLook, load_wardrobe

from ..conftest import SHARED_DATA

AVATARS = ("Asian_F_1_Casual.glb", "White_M_1_Busi.glb", "Black_F_2_Casual.glb")
TOP, BOTTOMS, SHOES = (REGIONS.index(r) for r in ("top", "bottoms", "shoes"))
RED = (0xC0 / 255, 0x39 / 255, 0x2B / 255)
NAVY = (0x1F / 255, 0x2A / 255, 0x60 / 255)

# Places in the VALID avatars' shared UV layout, as (u0, v0, u1, v1) boxes of the atlas.
FACE = (0.22, 0.12, 0.45, 0.36)  # forehead to chin, between the ears
SHIRT = (0.70, 0.60, 0.90, 0.72)  # front of the shirt / jacket / t-shirt
TROUSERS = (0.58, 0.60, 0.65, 0.72)  # front of the trousers / skirt / shorts
SHOE = (0.85, 0.30, 0.95, 0.36)  # the side of a shoe
# Bare skin the weights put in a clothes region: the legs under a skirt or shorts.
BARE_LEGS = {"Asian_F_1_Casual.glb": (0.30, 0.62, 0.40, 0.72),
             "Black_F_2_Casual.glb": (0.32, 0.62, 0.37, 0.72)}


def box(a: np.ndarray, b: tuple[float, float, float, float]) -> np.ndarray:
    h, w = a.shape[:2]
    return a[int(b[1] * h):int(b[3] * h), int(b[0] * w):int(b[2] * w)]


_CACHE: dict[str, tuple] = {}


def avatar(name: str) -> tuple[np.ndarray, list[fr.Primitive], np.ndarray]:
    """(base-colour atlas (h, w, 3) uint8, the primitives drawn with it, weights' region map)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"sample data folder {SHARED_DATA} is not present on this machine")
    if name not in _CACHE:
        path = SHARED_DATA / "avatars" / name
        doc = load_gltf(path, path.read_bytes(), Limits())
        image = fr.base_colour_image(doc.json, 0)
        atlas = np.asarray(Image.open(io.BytesIO(doc.images[image][0])).convert("RGB"))
        prims = fr.gltf_atlas_primitives(doc, image)
        _CACHE[name] = (atlas, prims, fr.region_map(prims, {}, atlas.shape[:2], atlas))
    return _CACHE[name]


def mean_hue_chroma(rgb: np.ndarray) -> tuple[float, float]:
    lab = fr.srgb_to_lab(rgb.reshape(-1, 3) / 255.0)
    return (float(np.degrees(np.arctan2(lab[:, 2].mean(), lab[:, 1].mean())) % 360),
            float(np.hypot(lab[:, 1], lab[:, 2]).mean()))


@pytest.mark.parametrize("name", AVATARS)
def test_weights_put_shirt_in_top_trousers_in_bottoms_and_the_face_in_none(name):
    atlas, prims, regions = avatar(name)
    assert len(prims) == 7  # body, eyes, glands, teeth; the wig has its own texture
    assert (box(regions, SHIRT) == TOP).mean() > 0.95
    assert (box(regions, TROUSERS) == BOTTOMS).mean() > 0.95
    assert (box(regions, SHOE) == SHOES).mean() > 0.9
    assert (box(regions, FACE) == fr.SKIN).all()
    if name in BARE_LEGS:  # legs under a skirt / shorts: bottoms by weight, kept as skin
        legs = box(regions, BARE_LEGS[name])
        assert (legs == fr.SKIN).mean() > 0.95
    for r in (TOP, BOTTOMS, SHOES):  # every region is a sizeable part of the atlas
        assert (regions == r).mean() > 0.02


@pytest.mark.parametrize("name", AVATARS)
def test_recolouring_top_and_bottoms_dyes_them_keeps_folds_and_nothing_else(name, tmp_path):
    atlas, _, regions = avatar(name)
    top = regions == TOP
    out = fr.recolour(atlas, top, RED)
    # Outside the mask nothing moves, bit for bit.
    assert np.array_equal(out[~top], atlas[~top])
    hue, chroma = mean_hue_chroma(out[top])
    goal_hue, goal_chroma = mean_hue_chroma(np.round(np.array(RED) * 255)[None])
    assert abs((hue - goal_hue + 180) % 360 - 180) < 10
    assert abs(chroma - goal_chroma) < 0.15 * goal_chroma
    # Folds: every texel's lightness follows the original's.
    before = fr.srgb_to_lab(atlas[top] / 255.0)[:, 0]
    after = fr.srgb_to_lab(out[top] / 255.0)[:, 0]
    assert np.corrcoef(before, after)[0, 1] > 0.9
    both = fr.recolour(out, regions == BOTTOMS, NAVY)
    assert np.array_equal(box(both, FACE), box(atlas, FACE))
    person = regions == fr.SKIN
    assert np.array_equal(both[person], atlas[person])
    if name == AVATARS[0]:
        sheet = Image.new("RGB", (2048, 1024))
        sheet.paste(Image.fromarray(atlas).resize((1024, 1024)), (0, 0))
        sheet.paste(Image.fromarray(both).resize((1024, 1024)), (1024, 0))
        sheet.save(tmp_path / "recolour_before_after.png")
        print(f"contact sheet: {tmp_path / 'recolour_before_after.png'}")


def test_a_shirt_hem_on_the_hips_and_a_collar_on_the_neck_join_the_top_by_colour():
    # The bones end the top at the waist and the neck; the white shirt goes on past both.
    atlas, prims, regions = avatar("Asian_F_1_Casual.glb")
    weights_only = fr.region_map(prims, {}, atlas.shape[:2])  # no image: bones alone
    lab = fr.srgb_to_lab(atlas / 255.0)
    white = (lab[..., 0] > 75) & (np.hypot(lab[..., 1], lab[..., 2]) < 12)
    assert (white & (weights_only == BOTTOMS)).sum() > 10000
    assert (white & (regions == BOTTOMS)).sum() < 100
    assert (white & (regions == TOP)).sum() > (white & (weights_only == TOP)).sum() + 50000
    assert (box(regions, FACE) == fr.SKIN).all()


def test_skin_tone_follows_each_avatars_own_face():
    tones = {}
    for name in AVATARS:
        atlas, _, _ = avatar(name)
        face = fr.srgb_to_lab(box(atlas, FACE).reshape(-1, 3) / 255.0)
        tones[name] = fr.skin_tone(face).mean
    lightness = [tones[n][0] for n in AVATARS]
    assert lightness[2] < lightness[0] - 15 and lightness[2] < lightness[1] - 15
    for t in tones.values():  # a skin hue: red-yellow
        assert 30 < np.degrees(np.arctan2(t[2], t[1])) < 80


# ---------------------------------------------------------------------------------------------
# Pure functions on small arrays


def test_vertex_regions_resolve_unmapped_joints_through_their_parents():
    # 0 hips, 1 spine, 2 finger (under 3 hand), 3 leftHand, 4 leftFoot, 5 jaw (under 6 head), 6 head
    canonical = ["hips", "spine", None, "leftHand", "leftFoot", None, "head"]
    parents = [-1, 0, 3, 0, 0, 6, 1]
    joints = np.array([[1, 0], [0, 1], [2, 1], [4, 0], [5, 1], [0, 0]])
    weights = np.array([[0.9, 0.1], [0.7, 0.3], [0.6, 0.4], [1.0, 0.0], [0.8, 0.2], [0, 0]])
    got = fr.vertex_regions(joints, weights, canonical, parents)
    assert got.dtype == np.int8
    assert got.tolist() == [TOP, BOTTOMS, fr.SKIN, SHOES, fr.SKIN, fr.SKIN]
    assert fr.vertex_head(joints, weights, canonical, parents).tolist() == [
        False, False, False, False, True, False]
    # Without parents the finger and jaw carry no region: their vertices follow the rest.
    assert fr.vertex_regions(joints, weights, canonical)[2] == TOP


def _quad(u0, v0, u1, v1):
    return (np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], float),
            np.array([[0, 1, 2], [0, 2, 3]]))


def test_texel_regions_dilate_into_the_gutter_but_never_onto_the_face():
    # A shirt island touching a face island, and a lone shoe island; 64x64 atlas.
    shirt_uv, shirt_f = _quad(0.1, 0.1, 0.5, 0.5)
    face_uv, face_f = _quad(0.5, 0.1, 0.9, 0.5)
    shoe_uv, shoe_f = _quad(0.2, 0.7, 0.4, 0.9)
    lab = fr.texel_regions([shirt_uv, face_uv, shoe_uv], [shirt_f, face_f, shoe_f],
                           [np.array([TOP, TOP]), np.array([-1, -1]),
                            np.array([SHOES, SHOES])], (64, 64), dilate=2)
    assert lab.shape == (64, 64) and lab.dtype == np.int8
    # The shirt island covers texels 6..31 and grows two texels into the gutter, but not a
    # single texel onto the face island beside it (the face grows into the gutter too).
    assert (lab[4:35, 4:30] == TOP).all()
    assert (lab[:, 32:] != TOP).all() and (lab[6:33, 32:58] == fr.SKIN).all()
    assert (lab[43:59, 11:27] == SHOES).all() and (lab == SHOES).sum() < 20 * 20
    assert lab[2, 2] == fr.SKIN and lab[60, 60] == fr.SKIN
    undilated = fr.texel_regions(shoe_uv, shoe_f, np.array([SHOES, SHOES]), (64, 64), dilate=0)
    assert (undilated == SHOES).sum() < (lab == SHOES).sum()


def test_recolour_keeps_alpha_and_a_gradient_and_clamps_in_gamut():
    rng = np.random.default_rng(1)
    img = np.zeros((32, 32, 4), np.uint8)
    img[..., :3] = np.linspace(150, 255, 32).astype(np.uint8)[None, :, None]  # a white fold
    img[..., 3] = rng.integers(0, 256, (32, 32))
    mask = np.zeros((32, 32), bool)
    mask[4:28, 4:28] = True
    out = fr.recolour(img, mask, (0.05, 0.05, 0.3))  # dark navy: the folds must fit under it
    assert np.array_equal(out[..., 3], img[..., 3]) and np.array_equal(out[~mask], img[~mask])
    lightness = fr.srgb_to_lab(out[mask][:, :3] / 255.0)[:, 0]
    assert np.corrcoef(lightness, fr.srgb_to_lab(img[mask][:, :3] / 255.0)[:, 0])[0, 1] > 0.99
    assert lightness.min() > 0.5  # not crushed to black
    assert mean_hue_chroma(out[mask][:, :3])[0] == pytest.approx(
        mean_hue_chroma(np.array([[13, 13, 77]], np.uint8))[0], abs=5)
    assert np.array_equal(fr.recolour(img, np.zeros_like(mask), (1, 0, 0)), img)


def test_retexture_tiles_the_fabric_with_the_original_folds():
    img = np.full((64, 64, 3), 200, np.uint8)
    img[:, 32:] = 120  # a fold: the right half is darker
    mask = np.zeros((64, 64), bool)
    mask[:, 8:56] = True
    fabric = np.zeros((4, 4, 3), np.uint8)
    fabric[:, :2] = (200, 30, 30)
    fabric[:, 2:] = (30, 30, 200)
    out = fr.retexture(img, mask, fabric, scale=0.25)  # a 16-texel tile
    assert np.array_equal(out[~mask], img[~mask])
    lab = fr.srgb_to_lab(out / 255.0)
    red = (lab[..., 1] > 20) & (lab[..., 2] > 10)  # blue has a > 0 too, but b < 0
    assert red[:, 16:24].all() and red[:, 48:56].all()  # the stripes repeat every 16 texels
    assert not red[:, 8:16].any() and not red[:, 24:32].any()
    assert lab[:, 40:48, 0].mean() < lab[:, 8:16, 0].mean() - 10  # the fold shows through


def test_uv_per_metre_of_a_square():
    pos = np.array([[0, 0, 0], [2, 0, 0], [2, 2, 0], [0, 2, 0]], float)
    uv, faces = _quad(0, 0, 0.5, 0.5)
    assert fr.uv_per_metre(pos, uv, faces) == pytest.approx(0.25)


def test_region_map_uses_material_and_mask_selectors(tmp_path):
    # Three islands of a 32x32 atlas, two texels of gutter apart.
    shirt_uv, f = _quad(0.0, 0.0, 0.45, 0.45)
    legs_uv, _ = _quad(0.55, 0.55, 1.0, 1.0)
    face_uv, _ = _quad(0.55, 0.0, 1.0, 0.45)
    shirt, legs, face = np.s_[:14, :14], np.s_[18:, 18:], np.s_[:14, 18:]
    weighted = np.zeros(4, np.int8)  # the weights call both islands "top"
    prims = [fr.Primitive(f, shirt_uv, "Shirt_MAT", weighted, np.zeros(4, bool)),
             fr.Primitive(f, legs_uv, "Legs_MAT", weighted, np.zeros(4, bool)),
             fr.Primitive(f, face_uv, "Shirt_MAT", weighted, np.ones(4, bool))]
    lab = fr.region_map(prims, {}, (32, 32), dilate=0)
    assert (lab[shirt] == TOP).all() and (lab[legs] == TOP).all()
    assert (lab[face] == fr.SKIN).all()  # the head is locked
    looks = {"bottoms": RegionLook(color=RED, material="Legs_MAT")}
    lab = fr.region_map(prims, looks, (32, 32), dilate=0)
    assert (lab[legs] == BOTTOMS).all() and (lab[shirt] == TOP).all()
    # A mask replaces the weights for its region (here: all of the atlas, gutter included);
    # it cannot reach the head.
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "top.png")
    looks = {"top": RegionLook(color=RED, mask=str(tmp_path / "top.png"))}
    lab = fr.region_map(prims, looks, (32, 32), dilate=0)
    assert (lab[shirt] == TOP).all() and (lab[legs] == TOP).all() and lab[16, 16] == TOP
    assert (lab[face] == fr.SKIN).all()
    (tmp_path / "wide.png").write_bytes((tmp_path / "top.png").read_bytes())
    Image.fromarray(np.full((8, 16), 255, np.uint8)).save(tmp_path / "wide.png")
    with pytest.raises(ReskinError, match=r"ep01.yaml:4: regions.top.mask: mask .*wide.png is "
                                          r"16x8, not the shape of the texture \(32x32\)"):
        fr.region_map(prims, {"top": RegionLook(color=RED, mask=str(tmp_path / "wide.png"),
                                                where="ep01.yaml:4")}, (32, 32))
    with pytest.raises(ReskinError) as err:
        fr.region_map(prims, {"top": RegionLook(color=RED, material="Jacket",
                                                where="ep01.yaml:3")}, (32, 32))
    assert err.value.one_line() == (
        "ep01.yaml:3: regions.top.material: no primitive has material 'Jacket' (the "
        "character's materials: Legs_MAT, Shirt_MAT)")


# ---------------------------------------------------------------------------------------------
# The spec's fields


def write(root: Path, name: str, text: str) -> Path:
    path = root / "cast" / "mira" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_material_and_mask_fields_parse_hash_and_inherit(tmp_path):
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "masks" / "top.png")
    write(tmp_path, "ep01", "regions:\n  top: {color: '#c0392b', material: Shirt_MAT}\n"
                            "  bottoms: {color: '#1f2a60'}\n")
    path = write(tmp_path, "ep02", "base: ep01\nregions:\n  top:\n    color: '#c0392b'\n"
                                   "    mask: masks/top.png\n")
    ep01 = load_wardrobe(tmp_path / "cast/mira/ep01.yaml", "mira", "ep01")
    assert ep01.regions["top"].material == "Shirt_MAT" and ep01.regions["top"].mask is None
    assert ep01.regions["top"].where.endswith("ep01.yaml:2")
    spec = load_wardrobe(path, "mira", "ep02")
    top = spec.regions["top"]
    assert top.mask == str((tmp_path / "masks" / "top.png").resolve()) and top.material is None
    assert top.mask_sha and top.where.endswith("ep02.yaml:5")
    d = spec.to_dict()["regions"]
    assert d["top"]["mask_sha"] == top.mask_sha and "mask" not in d["top"]
    assert "material" not in d["top"] and "where" not in d["top"]
    assert set(d["bottoms"]) == {"color", "pattern", "pattern_color", "scale", "roughness",
                                 "metallic", "texture", "texture_sha"}  # keys as before
    # An edited mask is a new skin.
    key = spec.to_dict()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "masks" / "top.png")
    assert load_wardrobe(path, "mira", "ep02").to_dict() != key


def test_bad_mask_or_material_is_one_line_naming_file_line_and_field(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    cases = [
        ("regions:\n  top:\n    color: '#ffffff'\n    mask: masks/top.png\n",
         "4: regions.top.mask: file not found: masks/top.png"),
        ("regions:\n  top: {color: '#ffffff', mask: notes.txt}\n",
         f"2: regions.top.mask: {tmp_path / 'notes.txt'}: not a readable image (PNG or JPEG)"),
        ("regions:\n  top: {color: '#ffffff', material: ''}\n",
         "2: regions.top.material: must not be empty"),
        ("regions:\n  top: {color: '#ffffff', material: 3}\n",
         "2: regions.top.material: expected"),
        ("regions:\n  top: {color: '#ffffff', material: A, mask: notes.txt}\n",
         "2: regions.top.mask: give either material or mask"),
    ]
    for text, tail in cases:
        path = write(tmp_path, "ep01", text)
        with pytest.raises(ReskinError) as err:
            load_wardrobe(path, "mira", "ep01")
        line = err.value.one_line()
        assert line.startswith(f"{path}:{tail}") and "\n" not in line, line
