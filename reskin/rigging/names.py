"""Joint-name maps from common rig conventions onto the canonical (VRM) humanoid names.

A rig or clip from Mixamo, MotionBuilder/CMU BVH, the older Biovision/CMU BVH naming, 3ds Max
Biped, Daz Genesis, MakeHuman, Blender Rigify or VRM maps onto
:data:`reskin.core.skeleton.HUMANOID_JOINTS`. Several source joints may lie between two
canonical ones (CMU's Spine1, MakeHuman's spine03); they are simply not mapped: retargeting works
on world rotations, so their motion still reaches the next mapped joint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reskin.core.skeleton import HUMANOID_JOINTS

CANONICAL: tuple[str, ...] = tuple(n for n, _ in HUMANOID_JOINTS)

# Per convention, canonical name -> source name; "{L}" / "{R}" stand for the side spelling
# given in _SIDES, so each limb is written once.
_TEMPLATES: dict[str, dict[str, str]] = {
    "vrm": {n: n for n in CANONICAL},
    # CMU BVH as converted for MotionBuilder (cgspeed): Mixamo-like limbs, LowerBack spine.
    "motionbuilder": {
        "hips": "Hips", "spine": "LowerBack", "chest": "Spine", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Shoulder", "{s}UpperArm": "{S}Arm", "{s}LowerArm": "{S}ForeArm",
        "{s}Hand": "{S}Hand", "{s}UpperLeg": "{S}UpLeg", "{s}LowerLeg": "{S}Leg",
        "{s}Foot": "{S}Foot", "{s}Toes": "{S}ToeBase",
    },
    "mixamo": {
        "hips": "Hips", "spine": "Spine", "chest": "Spine1", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Shoulder", "{s}UpperArm": "{S}Arm", "{s}LowerArm": "{S}ForeArm",
        "{s}Hand": "{S}Hand", "{s}UpperLeg": "{S}UpLeg", "{s}LowerLeg": "{S}Leg",
        "{s}Foot": "{S}Foot", "{s}Toes": "{S}ToeBase",
    },
    # Biovision-style BVH (older CMU exports): Collar/Shoulder/Elbow/Wrist, Hip/Knee/Ankle.
    "biovision": {
        "hips": "Hips", "chest": "Chest", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Collar", "{s}UpperArm": "{S}Shoulder", "{s}LowerArm": "{S}Elbow",
        "{s}Hand": "{S}Wrist", "{s}UpperLeg": "{S}Hip", "{s}LowerLeg": "{S}Knee",
        "{s}Foot": "{S}Ankle", "{s}Toes": "{S}Toe",
    },
    "biped": {
        "hips": "Bip01 Pelvis", "spine": "Bip01 Spine", "chest": "Bip01 Spine1",
        "neck": "Bip01 Neck", "head": "Bip01 Head", "{s}Shoulder": "Bip01 {C} Clavicle",
        "{s}UpperArm": "Bip01 {C} UpperArm", "{s}LowerArm": "Bip01 {C} Forearm",
        "{s}Hand": "Bip01 {C} Hand", "{s}UpperLeg": "Bip01 {C} Thigh",
        "{s}LowerLeg": "Bip01 {C} Calf", "{s}Foot": "Bip01 {C} Foot", "{s}Toes": "Bip01 {C} Toe0",
    },
    "daz": {
        "hips": "hip", "spine": "abdomenLower", "chest": "chestLower", "neck": "neckLower",
        "head": "head", "{s}Shoulder": "{c}Collar", "{s}UpperArm": "{c}ShldrBend",
        "{s}LowerArm": "{c}ForearmBend", "{s}Hand": "{c}Hand", "{s}UpperLeg": "{c}ThighBend",
        "{s}LowerLeg": "{c}Shin", "{s}Foot": "{c}Foot", "{s}Toes": "{c}Toe",
    },
    "makehuman": {
        "hips": "root", "spine": "spine04", "chest": "spine02", "neck": "neck01", "head": "head",
        "{s}Shoulder": "clavicle.{C}", "{s}UpperArm": "upperarm01.{C}",
        "{s}LowerArm": "lowerarm01.{C}", "{s}Hand": "wrist.{C}", "{s}UpperLeg": "upperleg01.{C}",
        "{s}LowerLeg": "lowerleg01.{C}", "{s}Foot": "foot.{C}", "{s}Toes": "toe1-1.{C}",
    },
    "rigify": {
        "hips": "DEF-spine", "spine": "DEF-spine.001", "chest": "DEF-spine.003",
        "neck": "DEF-spine.004", "head": "DEF-spine.006", "{s}Shoulder": "DEF-shoulder.{C}",
        "{s}UpperArm": "DEF-upper_arm.{C}", "{s}LowerArm": "DEF-forearm.{C}",
        "{s}Hand": "DEF-hand.{C}", "{s}UpperLeg": "DEF-thigh.{C}", "{s}LowerLeg": "DEF-shin.{C}",
        "{s}Foot": "DEF-foot.{C}", "{s}Toes": "DEF-toe.{C}",
    },
}
# side -> substitutions: {s} canonical prefix, {S} word, {C} letter, {c} lower-case letter
_SIDES = {"left": {"s": "left", "S": "Left", "C": "L", "c": "l"},
          "right": {"s": "right", "S": "Right", "C": "R", "c": "r"}}


def _expand(template: dict[str, str]) -> dict[str, str]:
    out = {}
    for canon, src in template.items():
        if "{" not in canon:
            out[canon] = src
            continue
        for sub in _SIDES.values():
            out[canon.format(**sub)] = src.format(**sub)
    return out


NAME_MAPS: dict[str, dict[str, str]] = {k: _expand(v) for k, v in _TEMPLATES.items()}
CONVENTIONS: tuple[str, ...] = tuple(NAME_MAPS)


def _normalise(name: str) -> str:
    """Drop namespaces ("mixamorig:Hips", "Armature|Hips") and case for matching."""
    return re.split(r"[:|]", name)[-1].strip().lower()


def detect_convention(names: Iterable[str]) -> str:
    """The convention whose names match most of ``names``; ties go to the earlier listed
    (MotionBuilder before Mixamo: a CMU file matches both, and only CMU has LowerBack).

    Raises ValueError when fewer than 8 canonical joints can be found in any convention.
    """
    have = {_normalise(n) for n in names}
    scores = {c: sum(_normalise(s) in have for s in m.values()) for c, m in NAME_MAPS.items()}
    best = max(CONVENTIONS, key=lambda c: scores[c])
    if scores[best] < 8:
        raise ValueError(f"joint names match no known convention (best {best!r}: "
                         f"{scores[best]} of {len(NAME_MAPS[best])} joints)")
    return best


def map_to_canonical(names: Iterable[str], convention: str | None = None) -> dict[str, str]:
    """{canonical name: source name} for the joints of ``names`` a convention names.

    convention : one of :data:`CONVENTIONS`, or None to detect it
    """
    names = list(names)
    convention = convention or detect_convention(names)
    if convention not in NAME_MAPS:
        raise ValueError(f"unknown convention {convention!r}; known: {', '.join(CONVENTIONS)}")
    by_norm = {_normalise(n): n for n in names}
    out = {}
    for canon, src in NAME_MAPS[convention].items():
        if _normalise(src) in by_norm:
            out[canon] = by_norm[_normalise(src)]
    return out
