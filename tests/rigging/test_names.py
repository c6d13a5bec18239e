"""Name maps: each convention the public rigs and mocap libraries use is detected from a whole
skeleton's names (extra joints, twist bones and fingers included) and maps its limbs right."""

from __future__ import annotations

import pytest

from reskin.rigging.names import CANONICAL, NAME_MAPS, detect_convention, map_to_canonical


def _sides(*names: str) -> list[str]:
    """Names with "{C}"/"{c}"/"{S}"/"{s}" written for both sides."""
    out = []
    for n in names:
        if "{" not in n:
            out.append(n)
            continue
        for sub in ({"C": "L", "c": "l", "S": "Left", "s": "left"},
                    {"C": "R", "c": "r", "S": "Right", "s": "right"}):
            out.append(n.format(**sub))
    return out


SKELETONS = {
    # cgspeed's "Daz-friendly" CMU release: classic Poser names, Buttock joints, no toes.
    "daz_friendly_cmu": ("poser", _sides(
        "hip", "abdomen", "chest", "neck", "head", "{s}Eye", "{c}Collar", "{c}Shldr",
        "{c}ForeArm", "{c}Hand", "{c}Thumb1", "{c}Thumb2", "{c}Index1", "{c}Mid1",
        "{c}Buttock", "{c}Thigh", "{c}Shin", "{c}Foot")),
    "genesis2": ("poser", _sides(
        "hip", "pelvis", "abdomen", "abdomen2", "chest", "neck", "head", "{c}Collar",
        "{c}Shldr", "{c}ForeArm", "{c}Hand", "{c}Thigh", "{c}Shin", "{c}Foot", "{c}Toe")),
    "genesis8": ("daz", _sides(
        "hip", "pelvis", "abdomenLower", "abdomenUpper", "chestLower", "chestUpper",
        "neckLower", "neckUpper", "head", "{c}Pectoral", "{c}Collar", "{c}ShldrBend",
        "{c}ShldrTwist", "{c}ForearmBend", "{c}ForearmTwist", "{c}Hand", "{c}ThighBend",
        "{c}ThighTwist", "{c}Shin", "{c}Foot", "{c}Metatarsals", "{c}Toe", "{c}BigToe")),
    "genesis9": ("genesis9", _sides(
        "hip", "pelvis", "spine1", "spine2", "spine3", "spine4", "neck1", "neck2", "head",
        "{c}_shoulder", "{c}_upperarm", "{c}_upperarmtwist1", "{c}_forearm",
        "{c}_forearmtwist1", "{c}_hand", "{c}_thigh", "{c}_shin", "{c}_foot", "{c}_metatarsal",
        "{c}_toes")),
    "makehuman_default": ("makehuman", _sides(
        "root", "spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "neck02",
        "neck03", "head", "jaw", "clavicle.{C}", "shoulder01.{C}", "upperarm01.{C}",
        "upperarm02.{C}", "lowerarm01.{C}", "lowerarm02.{C}", "wrist.{C}", "pelvis.{C}",
        "upperleg01.{C}", "upperleg02.{C}", "lowerleg01.{C}", "lowerleg02.{C}", "foot.{C}",
        "toe1-1.{C}", "toe1-2.{C}")),
    "makehuman_game_engine": ("unreal", _sides(
        "Root", "pelvis", "spine_01", "spine_02", "spine_03", "neck_01", "head",
        "clavicle_{c}", "upperarm_{c}", "lowerarm_{c}", "hand_{c}", "thumb_01_{c}",
        "thigh_{c}", "calf_{c}", "foot_{c}", "ball_{c}")),
    "unreal5_manny": ("unreal", _sides(
        "root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05",
        "neck_01", "neck_02", "head", "clavicle_{c}", "upperarm_{c}", "upperarm_twist_01_{c}",
        "lowerarm_{c}", "lowerarm_twist_01_{c}", "hand_{c}", "thigh_{c}", "thigh_twist_01_{c}",
        "calf_{c}", "foot_{c}", "ball_{c}", "ik_foot_{c}")),
    "blender_metarig": ("metarig", _sides(
        "spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.005", "spine.006",
        "breast.{C}", "shoulder.{C}", "upper_arm.{C}", "forearm.{C}", "hand.{C}",
        "palm.01.{C}", "pelvis.{C}", "thigh.{C}", "shin.{C}", "foot.{C}", "toe.{C}",
        "heel.02.{C}")),
    "rokoko_newton": ("rokoko", _sides(
        "Hips", "Spine1", "Spine2", "Spine3", "Spine4", "Neck", "Head", "{S}Shoulder",
        "{S}Arm", "{S}ForeArm", "{S}Hand", "{S}Thigh", "{S}Shin", "{S}Foot", "{S}Toe",
        "{S}ToeEnd")),
    "lafan1": ("mixamo", _sides(
        "Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "{S}Shoulder", "{S}Arm",
        "{S}ForeArm", "{S}Hand", "{S}UpLeg", "{S}Leg", "{S}Foot", "{S}Toe")),
    "xsens_mvn": ("biovision", _sides(
        "Hips", "Chest", "Chest2", "Chest3", "Chest4", "Neck", "Head", "{S}Collar",
        "{S}Shoulder", "{S}Elbow", "{S}Wrist", "{S}Hip", "{S}Knee", "{S}Ankle", "{S}Toe")),
    "smpl": ("smpl", _sides(
        "Pelvis", "Spine1", "Spine2", "Spine3", "Neck", "Head", "{C}_Collar", "{C}_Shoulder",
        "{C}_Elbow", "{C}_Wrist", "{C}_Hand", "{C}_Hip", "{C}_Knee", "{C}_Ankle", "{C}_Foot")),
    "smplx": ("smpl", _sides(
        "pelvis", "spine1", "spine2", "spine3", "neck", "head", "jaw", "{s}_eye_smplhf",
        "{s}_collar", "{s}_shoulder", "{s}_elbow", "{s}_wrist", "{s}_index1", "{s}_hip",
        "{s}_knee", "{s}_ankle", "{s}_foot")),
    "bandai_namco": ("suffix", _sides(
        "joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_{C}", "UpperArm_{C}",
        "LowerArm_{C}", "Hand_{C}", "UpperLeg_{C}", "LowerLeg_{C}", "Foot_{C}", "Toes_{C}")),
    "biped_bip001": ("biped", _sides(
        "Bip001", "Bip001 Pelvis", "Bip001 Spine", "Bip001 Spine1", "Bip001 Spine2",
        "Bip001 Neck", "Bip001 Head", "Bip001 {C} Clavicle", "Bip001 {C} UpperArm",
        "Bip001 {C} Forearm", "Bip001 {C} Hand", "Bip001 {C} Thigh", "Bip001 {C} Calf",
        "Bip001 {C} Foot", "Bip001 {C} Toe0")),
    "vroid": ("vroid", _sides(
        "Root", "J_Bip_C_Hips", "J_Bip_C_Spine", "J_Bip_C_Chest", "J_Bip_C_UpperChest",
        "J_Bip_C_Neck", "J_Bip_C_Head", "J_Bip_{C}_Shoulder", "J_Bip_{C}_UpperArm",
        "J_Bip_{C}_LowerArm", "J_Bip_{C}_Hand", "J_Bip_{C}_UpperLeg", "J_Bip_{C}_LowerLeg",
        "J_Bip_{C}_Foot", "J_Bip_{C}_ToeBase")),
    "character_creator": ("character_creator", _sides(
        "CC_Base_BoneRoot", "CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_Waist", "CC_Base_Spine01",
        "CC_Base_Spine02", "CC_Base_NeckTwist01", "CC_Base_Head", "CC_Base_{C}_Clavicle",
        "CC_Base_{C}_Upperarm", "CC_Base_{C}_Forearm", "CC_Base_{C}_Hand",
        "CC_Base_{C}_Thigh", "CC_Base_{C}_Calf", "CC_Base_{C}_Foot", "CC_Base_{C}_ToeBase")),
}

# What a few limbs must map to: the joints whose names differ most between conventions.
EXPECTED = {
    "daz_friendly_cmu": {"leftShoulder": "lCollar", "leftUpperArm": "lShldr",
                         "rightUpperLeg": "rThigh", "spine": "abdomen"},
    "genesis2": {"leftLowerArm": "lForeArm", "leftToes": "lToe", "hips": "hip"},
    "genesis8": {"leftUpperArm": "lShldrBend", "leftLowerArm": "lForearmBend",
                 "rightUpperLeg": "rThighBend", "chest": "chestLower", "neck": "neckLower"},
    "genesis9": {"leftUpperArm": "l_upperarm", "rightLowerLeg": "r_shin", "chest": "spine3"},
    "makehuman_default": {"leftHand": "wrist.L", "rightUpperLeg": "upperleg01.R"},
    "makehuman_game_engine": {"hips": "pelvis", "leftLowerLeg": "calf_l", "chest": "spine_03",
                              "rightToes": "ball_r"},
    "unreal5_manny": {"leftUpperArm": "upperarm_l", "rightHand": "hand_r"},
    "blender_metarig": {"hips": "spine", "chest": "spine.003", "rightUpperLeg": "thigh.R"},
    "rokoko_newton": {"leftUpperLeg": "LeftThigh", "leftToes": "LeftToe", "chest": "Spine3"},
    "lafan1": {"leftToes": "LeftToe", "chest": "Spine1"},
    "xsens_mvn": {"leftUpperArm": "LeftShoulder", "rightFoot": "RightAnkle"},
    "smpl": {"leftUpperArm": "L_Shoulder", "leftHand": "L_Wrist", "leftFoot": "L_Ankle",
             "leftToes": "L_Foot", "hips": "Pelvis"},
    "smplx": {"rightUpperArm": "right_shoulder", "rightToes": "right_foot"},
    "bandai_namco": {"leftUpperArm": "UpperArm_L", "rightToes": "Toes_R"},
    "biped_bip001": {"leftUpperArm": "Bip001 L UpperArm", "hips": "Bip001 Pelvis"},
    "vroid": {"leftLowerArm": "J_Bip_L_LowerArm"},
    "character_creator": {"hips": "CC_Base_Hip", "rightLowerLeg": "CC_Base_R_Calf"},
}


@pytest.mark.parametrize("skeleton", sorted(SKELETONS))
def test_each_library_convention_is_detected_and_mapped(skeleton):
    convention, names = SKELETONS[skeleton]
    assert detect_convention(names) == convention
    mapping = map_to_canonical(names)
    assert set(mapping) <= set(CANONICAL)
    assert len(set(mapping.values())) == len(mapping)  # no source joint drives two
    # Every joint the convention names is found (the Daz-friendly release has no toes).
    missing = set(NAME_MAPS[convention]) - set(mapping)
    assert missing <= ({"leftToes", "rightToes"} if skeleton == "daz_friendly_cmu" else set())
    for canon, src in EXPECTED[skeleton].items():
        assert mapping[canon] == src, canon


def test_every_convention_detects_itself_and_no_other():
    for convention, mapping in NAME_MAPS.items():
        assert len(mapping) >= 20, convention
        assert detect_convention(mapping.values()) == convention
        assert detect_convention([f"Armature|{n}" for n in mapping.values()]) == convention


def test_poser_and_genesis8_are_told_apart_by_their_limbs():
    poser = dict(map_to_canonical(SKELETONS["genesis2"][1]))
    g8 = map_to_canonical(SKELETONS["genesis8"][1])
    assert poser["leftUpperArm"] == "lShldr" and g8["leftUpperArm"] == "lShldrBend"
    # An explicit convention wins over detection.
    assert map_to_canonical(SKELETONS["genesis8"][1], "poser").get("leftUpperArm") is None
