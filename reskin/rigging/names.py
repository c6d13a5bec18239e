"""Joint-name maps from common rig conventions onto the canonical (VRM) humanoid names.

A rig or clip from Mixamo (and the Mixamo-named mocap sets: Perception Neuron, LAFAN1),
MotionBuilder/CMU BVH, the older Biovision/CMU BVH naming (and Xsens MVN), 3ds Max Biped, Daz
Genesis 3/8 and 9, classic Poser / Genesis 1-2 (and the "Daz-friendly" CMU release), MakeHuman's
default and game-engine skeletons, the Unreal mannequin, Blender's metarig and Rigify, Rokoko,
SMPL/SMPL-X (AMASS), side-suffixed Unity-style names (Bandai Namco's motion set), VRoid,
Character Creator or VRM maps onto :data:`reskin.core.skeleton.HUMANOID_JOINTS`.
Several source joints may lie between two canonical ones (CMU's Spine1, MakeHuman's spine03);
they are simply not mapped: retargeting works on world rotations, so their motion still reaches
the next mapped joint. A convention may spell a joint more than one way (Bip01 / Bip001, SMPL's
L_Hip / left_hip): the first spelling present is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reskin.core.skeleton import HUMANOID_JOINTS

CANONICAL: tuple[str, ...] = tuple(n for n, _ in HUMANOID_JOINTS)

# Per convention, canonical name -> source name, or a tuple of the spellings one convention
# uses (the first is the usual one); "{s}", "{S}", "{C}", "{c}" stand for the side spellings
# given in _SIDES, so each limb is written once.
_TEMPLATES: dict[str, dict[str, str | tuple[str, ...]]] = {
    "vrm": {n: n for n in CANONICAL},
    # CMU BVH as converted for MotionBuilder (cgspeed): Mixamo-like limbs, LowerBack spine.
    "motionbuilder": {
        "hips": "Hips", "spine": "LowerBack", "chest": "Spine", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Shoulder", "{s}UpperArm": "{S}Arm", "{s}LowerArm": "{S}ForeArm",
        "{s}Hand": "{S}Hand", "{s}UpperLeg": "{S}UpLeg", "{s}LowerLeg": "{S}Leg",
        "{s}Foot": "{S}Foot", "{s}Toes": "{S}ToeBase",
    },
    # Mixamo; also Perception Neuron, Ubisoft LAFAN1 and Truebones' Mixamo-named clips, which
    # end the leg in "LeftToe".
    "mixamo": {
        "hips": "Hips", "spine": "Spine", "chest": "Spine1", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Shoulder", "{s}UpperArm": "{S}Arm", "{s}LowerArm": "{S}ForeArm",
        "{s}Hand": "{S}Hand", "{s}UpperLeg": "{S}UpLeg", "{s}LowerLeg": "{S}Leg",
        "{s}Foot": "{S}Foot", "{s}Toes": ("{S}ToeBase", "{S}Toe"),
    },
    # Biovision-style BVH (older CMU exports, Xsens MVN): Collar/Shoulder/Elbow/Wrist,
    # Hip/Knee/Ankle.
    "biovision": {
        "hips": "Hips", "chest": "Chest", "neck": "Neck", "head": "Head",
        "{s}Shoulder": "{S}Collar", "{s}UpperArm": "{S}Shoulder", "{s}LowerArm": "{S}Elbow",
        "{s}Hand": "{S}Wrist", "{s}UpperLeg": "{S}Hip", "{s}LowerLeg": "{S}Knee",
        "{s}Foot": "{S}Ankle", "{s}Toes": "{S}Toe",
    },
    # 3ds Max Biped: "Bip01" in older files, "Bip001" in newer ones.
    "biped": {
        "hips": ("Bip01 Pelvis", "Bip001 Pelvis"), "spine": ("Bip01 Spine", "Bip001 Spine"),
        "chest": ("Bip01 Spine1", "Bip001 Spine1"), "neck": ("Bip01 Neck", "Bip001 Neck"),
        "head": ("Bip01 Head", "Bip001 Head"),
        "{s}Shoulder": ("Bip01 {C} Clavicle", "Bip001 {C} Clavicle"),
        "{s}UpperArm": ("Bip01 {C} UpperArm", "Bip001 {C} UpperArm"),
        "{s}LowerArm": ("Bip01 {C} Forearm", "Bip001 {C} Forearm"),
        "{s}Hand": ("Bip01 {C} Hand", "Bip001 {C} Hand"),
        "{s}UpperLeg": ("Bip01 {C} Thigh", "Bip001 {C} Thigh"),
        "{s}LowerLeg": ("Bip01 {C} Calf", "Bip001 {C} Calf"),
        "{s}Foot": ("Bip01 {C} Foot", "Bip001 {C} Foot"),
        "{s}Toes": ("Bip01 {C} Toe0", "Bip001 {C} Toe0"),
    },
    # Daz Genesis 3 and 8: Bend/Twist pairs on the limbs (the Bend joint carries the swing).
    "daz": {
        "hips": "hip", "spine": "abdomenLower", "chest": ("chestLower", "chestUpper"),
        "neck": ("neckLower", "neckUpper"), "head": "head", "{s}Shoulder": "{c}Collar",
        "{s}UpperArm": "{c}ShldrBend", "{s}LowerArm": "{c}ForearmBend", "{s}Hand": "{c}Hand",
        "{s}UpperLeg": "{c}ThighBend", "{s}LowerLeg": "{c}Shin", "{s}Foot": "{c}Foot",
        "{s}Toes": "{c}Toe",
    },
    # Classic Poser figures, Daz Genesis 1 and 2, and the "Daz-friendly" CMU BVH release.
    "poser": {
        "hips": "hip", "spine": "abdomen", "chest": "chest", "neck": "neck", "head": "head",
        "{s}Shoulder": "{c}Collar", "{s}UpperArm": "{c}Shldr", "{s}LowerArm": "{c}ForeArm",
        "{s}Hand": "{c}Hand", "{s}UpperLeg": "{c}Thigh", "{s}LowerLeg": "{c}Shin",
        "{s}Foot": "{c}Foot", "{s}Toes": "{c}Toe",
    },
    # Daz Genesis 9: snake-case with a side prefix.
    "genesis9": {
        "hips": "hip", "spine": "spine1", "chest": ("spine3", "spine2"),
        "neck": ("neck1", "neck2"), "head": "head", "{s}Shoulder": "{c}_shoulder",
        "{s}UpperArm": "{c}_upperarm", "{s}LowerArm": "{c}_forearm", "{s}Hand": "{c}_hand",
        "{s}UpperLeg": "{c}_thigh", "{s}LowerLeg": "{c}_shin", "{s}Foot": "{c}_foot",
        "{s}Toes": "{c}_toes",
    },
    # MakeHuman's default skeleton (163 joints, or 137 without toes).
    "makehuman": {
        "hips": "root", "spine": "spine04", "chest": "spine02", "neck": "neck01", "head": "head",
        "{s}Shoulder": "clavicle.{C}", "{s}UpperArm": "upperarm01.{C}",
        "{s}LowerArm": "lowerarm01.{C}", "{s}Hand": "wrist.{C}", "{s}UpperLeg": "upperleg01.{C}",
        "{s}LowerLeg": "lowerleg01.{C}", "{s}Foot": "foot.{C}", "{s}Toes": "toe1-1.{C}",
    },
    # Unreal Engine 4/5 mannequin, also MakeHuman's "game engine" skeleton.
    "unreal": {
        "hips": "pelvis", "spine": "spine_01", "chest": ("spine_03", "spine_02"),
        "neck": "neck_01", "head": "head", "{s}Shoulder": "clavicle_{c}",
        "{s}UpperArm": "upperarm_{c}", "{s}LowerArm": "lowerarm_{c}", "{s}Hand": "hand_{c}",
        "{s}UpperLeg": "thigh_{c}", "{s}LowerLeg": "calf_{c}", "{s}Foot": "foot_{c}",
        "{s}Toes": "ball_{c}",
    },
    "rigify": {
        "hips": "DEF-spine", "spine": "DEF-spine.001", "chest": "DEF-spine.003",
        "neck": "DEF-spine.004", "head": "DEF-spine.006", "{s}Shoulder": "DEF-shoulder.{C}",
        "{s}UpperArm": "DEF-upper_arm.{C}", "{s}LowerArm": "DEF-forearm.{C}",
        "{s}Hand": "DEF-hand.{C}", "{s}UpperLeg": "DEF-thigh.{C}", "{s}LowerLeg": "DEF-shin.{C}",
        "{s}Foot": "DEF-foot.{C}", "{s}Toes": "DEF-toe.{C}",
    },
    # Blender's human metarig (the bones Rigify generates its DEF- bones from).
    "metarig": {
        "hips": "spine", "spine": "spine.001", "chest": "spine.003", "neck": "spine.004",
        "head": "spine.006", "{s}Shoulder": "shoulder.{C}", "{s}UpperArm": "upper_arm.{C}",
        "{s}LowerArm": "forearm.{C}", "{s}Hand": "hand.{C}", "{s}UpperLeg": "thigh.{C}",
        "{s}LowerLeg": "shin.{C}", "{s}Foot": "foot.{C}", "{s}Toes": "toe.{C}",
    },
    # Rokoko Studio (Newton skeleton): Thigh/Shin legs, Spine1-4.
    "rokoko": {
        "hips": "Hips", "spine": "Spine1", "chest": ("Spine3", "Spine2"), "neck": "Neck",
        "head": "Head", "{s}Shoulder": "{S}Shoulder", "{s}UpperArm": "{S}Arm",
        "{s}LowerArm": "{S}ForeArm", "{s}Hand": "{S}Hand", "{s}UpperLeg": "{S}Thigh",
        "{s}LowerLeg": "{S}Shin", "{s}Foot": "{S}Foot", "{s}Toes": "{S}Toe",
    },
    # SMPL / SMPL-X joints, as AMASS and HumanML3D conversions to BVH name them. Beware: SMPL's
    # "Shoulder" is the upper arm and its "Foot" the toes.
    "smpl": {
        "hips": "Pelvis", "spine": "Spine1", "chest": "Spine3", "neck": "Neck", "head": "Head",
        "{s}Shoulder": ("{C}_Collar", "{s}_collar"),
        "{s}UpperArm": ("{C}_Shoulder", "{s}_shoulder"),
        "{s}LowerArm": ("{C}_Elbow", "{s}_elbow"), "{s}Hand": ("{C}_Wrist", "{s}_wrist"),
        "{s}UpperLeg": ("{C}_Hip", "{s}_hip"), "{s}LowerLeg": ("{C}_Knee", "{s}_knee"),
        "{s}Foot": ("{C}_Ankle", "{s}_ankle"), "{s}Toes": ("{C}_Foot", "{s}_foot"),
    },
    # Unity-style humanoid names with a side suffix (the Bandai Namco Research motion set).
    "suffix": {
        "hips": ("Hips", "Pelvis"), "spine": "Spine", "chest": "Chest", "neck": "Neck",
        "head": "Head", "{s}Shoulder": "Shoulder_{C}", "{s}UpperArm": "UpperArm_{C}",
        "{s}LowerArm": "LowerArm_{C}", "{s}Hand": "Hand_{C}", "{s}UpperLeg": "UpperLeg_{C}",
        "{s}LowerLeg": "LowerLeg_{C}", "{s}Foot": "Foot_{C}", "{s}Toes": ("Toes_{C}", "Toe_{C}"),
    },
    # VRoid Studio exports (J_Bip_ prefix, C for the centre line).
    "vroid": {
        "hips": "J_Bip_C_Hips", "spine": "J_Bip_C_Spine", "chest": "J_Bip_C_Chest",
        "neck": "J_Bip_C_Neck", "head": "J_Bip_C_Head", "{s}Shoulder": "J_Bip_{C}_Shoulder",
        "{s}UpperArm": "J_Bip_{C}_UpperArm", "{s}LowerArm": "J_Bip_{C}_LowerArm",
        "{s}Hand": "J_Bip_{C}_Hand", "{s}UpperLeg": "J_Bip_{C}_UpperLeg",
        "{s}LowerLeg": "J_Bip_{C}_LowerLeg", "{s}Foot": "J_Bip_{C}_Foot",
        "{s}Toes": "J_Bip_{C}_ToeBase",
    },
    # Reallusion Character Creator / iClone.
    "character_creator": {
        "hips": "CC_Base_Hip", "spine": "CC_Base_Waist", "chest": "CC_Base_Spine02",
        "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        "{s}Shoulder": "CC_Base_{C}_Clavicle", "{s}UpperArm": "CC_Base_{C}_Upperarm",
        "{s}LowerArm": "CC_Base_{C}_Forearm", "{s}Hand": "CC_Base_{C}_Hand",
        "{s}UpperLeg": "CC_Base_{C}_Thigh", "{s}LowerLeg": "CC_Base_{C}_Calf",
        "{s}Foot": "CC_Base_{C}_Foot", "{s}Toes": "CC_Base_{C}_ToeBase",
    },
}
# side -> substitutions: {s} canonical prefix, {S} word, {C} letter, {c} lower-case letter
_SIDES = {"left": {"s": "left", "S": "Left", "C": "L", "c": "l"},
          "right": {"s": "right", "S": "Right", "C": "R", "c": "r"}}


def _expand(template: dict[str, str | tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    out = {}
    for canon, src in template.items():
        spellings = (src,) if isinstance(src, str) else src
        if "{" not in canon:
            out[canon] = spellings
            continue
        for sub in _SIDES.values():
            out[canon.format(**sub)] = tuple(s.format(**sub) for s in spellings)
    return out


# Every spelling per convention, canonical name -> (source names, usual one first).
NAME_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    k: _expand(v) for k, v in _TEMPLATES.items()}
# The usual spelling: canonical name -> source name.
NAME_MAPS: dict[str, dict[str, str]] = {
    k: {c: s[0] for c, s in m.items()} for k, m in NAME_SPELLINGS.items()}
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
    scores = {c: sum(any(_normalise(s) in have for s in spellings) for spellings in m.values())
              for c, m in NAME_SPELLINGS.items()}
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
    for canon, spellings in NAME_SPELLINGS[convention].items():
        for src in spellings:
            if _normalise(src) in by_norm:
                out[canon] = by_norm[_normalise(src)]
                break
    return out
