"""Wardrobe specs (cast/<character>/<episode>.yaml) and painting them onto the body's atlas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reskin.rigging.skeleton import Skeleton
from reskin.scenes.fields import Fields, load_yaml
from reskin.scenes.series import parse_color

REGIONS = ("top", "bottoms", "shoes")
PATTERNS = ("solid", "stripes", "checks")
# Which wardrobe region covers each body part; hands, neck and head are always the person.
PART_REGION = {
    "torso": "top", "upper_arm_l": "top", "upper_arm_r": "top",
    "forearm_l": "top", "forearm_r": "top",
    "pelvis": "bottoms", "thigh_l": "bottoms", "thigh_r": "bottoms",
    "shin_l": "bottoms", "shin_r": "bottoms",
    "foot_l": "shoes", "foot_r": "shoes",
}
SHORT_SLEEVE_PARTS = ("forearm_l", "forearm_r")


@dataclass(frozen=True)
class RegionLook:
    color: tuple[float, float, float]
    pattern: str = "solid"
    pattern_color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scale: float = 0.06
    """Pattern period in metres."""


@dataclass(frozen=True)
class WardrobeSpec:
    character: str
    episode: str
    regions: dict[str, RegionLook]
    sleeves: str
    file: str

    def to_dict(self) -> dict:
        return {
            "character": self.character, "episode": self.episode, "sleeves": self.sleeves,
            "regions": {k: vars(v) for k, v in sorted(self.regions.items())},
        }


def _look(f: Fields) -> RegionLook:
    color = parse_color(f.get("color", str), f, "color")
    pattern = f.get("pattern", str, "solid", choices=PATTERNS)
    pc = f.get("pattern_color", str, None)
    look = RegionLook(
        color=color,
        pattern=pattern,
        pattern_color=parse_color(pc, f, "pattern_color") if pc else (1.0, 1.0, 1.0),
        scale=f.get("scale", float, 0.06,
                    check=lambda v: None if 0.005 <= v <= 1 else "must be 0.005..1 m"),
    )
    f.done()
    return look


def load_wardrobe(path: str | Path, character: str, episode: str) -> WardrobeSpec:
    path = Path(path)
    f = load_yaml(path)
    regions = {}
    rf = f.sub("regions")
    for key in list(rf.items):
        if key not in REGIONS:
            rf.get(key, dict, choices=REGIONS)  # raises with a did-you-mean
        regions[key] = _look(rf.sub(key))
    rf.done()
    sleeves = f.get("sleeves", str, "long", choices=("long", "short"))
    f.done()
    return WardrobeSpec(character=character, episode=episode, regions=regions, sleeves=sleeves,
                        file=str(path))


def paint_skin(
    position: np.ndarray,
    part: np.ndarray,
    part_names: tuple[str, ...],
    skeleton: Skeleton,
    identity: dict,
    spec: WardrobeSpec | None,
) -> np.ndarray:
    """Paint a character's texture atlas: the person (skin, hair, face) then the wardrobe.

    position : (s, s, 3) rest-pose point per texel, part : (s, s) body part per texel
    (from :func:`reskin.assets.texture_bake.rasterize_surface`). Returns (s, s, 3) uint8 sRGB.
    Identity traits depend only on ``identity`` and the rest pose, so every skin of a character
    shows the same face.
    """
    img = np.empty(position.shape, np.float32)
    img[:] = identity["skin_tone"]
    y, x, z = position[..., 1], position[..., 0], position[..., 2]
    head, top = skeleton.heads[skeleton.index("head")], skeleton.tails[skeleton.index("head")]
    head_len = float(top[1] - head[1])
    is_head = part == part_names.index("head")
    # Hair: a cap over the crown and the back of the head.
    hairline = head[1] + 0.62 * head_len
    hair = is_head & ((y > hairline) | ((z < head[2] - 0.02) & (y > head[1] + 0.3 * head_len)))
    img[hair] = identity["hair"]
    # Eyes and mouth on the front of the face.
    front = is_head & (z > head[2] + 0.02)
    eye_y, eye_dx, eye_r = head[1] + 0.5 * head_len, 0.16 * head_len, 0.055 * head_len
    eyes = front & (((np.abs(x) - eye_dx) ** 2 + (y - eye_y) ** 2) < eye_r ** 2)
    img[eyes] = identity["eyes"]
    mouth = front & (np.abs(x) < 0.13 * head_len) & (np.abs(y - (head[1] + 0.25 * head_len))
                                                     < 0.025 * head_len)
    img[mouth] = np.array(identity["skin_tone"]) * 0.55
    if spec is None:
        return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    for pi, name in enumerate(part_names):
        region = PART_REGION.get(name)
        if region is None or region not in spec.regions:
            continue
        if spec.sleeves == "short" and name in SHORT_SLEEVE_PARTS:
            continue
        look = spec.regions[region]
        mask = part == pi
        img[mask] = look.color
        if look.pattern == "stripes":
            band = np.floor(y / (look.scale / 2)).astype(int) % 2 == 1
            img[mask & band] = look.pattern_color
        elif look.pattern == "checks":
            cell = (np.floor(y / (look.scale / 2)) + np.floor(x / (look.scale / 2))
                    + np.floor(z / (look.scale / 2))).astype(int) % 2 == 1
            img[mask & cell] = look.pattern_color
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
