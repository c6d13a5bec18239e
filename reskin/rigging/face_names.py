"""The canonical face and name maps onto it from the morph-target conventions characters ship.

One set of face channels the whole chain speaks (:data:`CHANNELS`): the 15 Oculus visemes, the
jaw, both blinks, the five VRM 1.0 emotions, two brow channels and four gaze directions. A
character's morph targets (glTF ``mesh.extras.targetNames``) map onto them through one recipe per
channel and convention: ARKit's 52 (and Ready Player Me's extras), Oculus / Ready Player Me /
VRChat visemes, Character Creator 4, CC3+ (``A01_...``) and CC3, the Rocketbox
``h_expressions.*`` set of the VALID avatars, VRoid (``Fcl_*``), VRM 0.x preset names used as
target names, and MakeHuman's face pose units baked as shape keys (MPFB / MHX2 use the
``face-poseunits.json`` names). A VRM file's own expression binds (``VRMC_vrm.expressions``,
``VRM.blendShapeMaster``) come first: the file says what each expression is.

A recipe is a weighted sum of source shapes, and may span meshes (the avatars' lower teeth carry
their own viseme shapes, Ready Player Me's eyelashes their own blinks): every mesh holding a
target of the name gets it. Terms written ``?name`` are optional. A character lacking shapes
degrades: consonant visemes from a mix of the vowels it has, then every viseme from a jaw-open
shape or a jaw joint (an open amount per viseme), gaze from eye joints; a blink without lids is
reported missing. "Left" is always the character's own left. Targets named exactly as the
channels themselves (reskin's procedural faces) are the ``reskin`` convention, mapped 1:1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa",
                            "E", "I", "O", "U")
EMOTIONS: tuple[str, ...] = ("happy", "sad", "angry", "surprised", "relaxed")
GAZE: tuple[str, ...] = ("lookUp", "lookDown", "lookLeft", "lookRight")
CHANNELS: tuple[str, ...] = (VISEMES + ("jawOpen", "blinkLeft", "blinkRight") + EMOTIONS
                             + ("browUp", "browDown") + GAZE)

# Apple ARKit's 52 blend shapes (ARFaceAnchor.BlendShapeLocation), in Apple's order.
ARKIT_52: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)
# Ready Player Me's extras beside ARKit's.
RPM_EXTRAS: tuple[str, ...] = ("mouthOpen", "mouthSmile", "eyesClosed", "eyesLookUp",
                               "eyesLookDown")

# How far the jaw opens for each viseme (0 closed, 1 the jaw-open shape at full), when a face
# has nothing better than one jaw shape or a jaw joint.
JAW_OPEN: dict[str, float] = {
    "sil": 0.0, "PP": 0.0, "FF": 0.1, "TH": 0.15, "DD": 0.2, "kk": 0.25, "CH": 0.2, "SS": 0.1,
    "nn": 0.15, "RR": 0.2, "aa": 0.7, "E": 0.4, "I": 0.25, "O": 0.5, "U": 0.2,
}
# Consonant visemes as mixes of the vowel visemes, for faces that ship vowels only (VRM, VRoid).
VOWEL_MIX: dict[str, str] = {
    "FF": "I*0.3 + U*0.2", "TH": "aa*0.2 + I*0.2", "DD": "aa*0.3 + I*0.2",
    "kk": "aa*0.4 + E*0.2", "CH": "U*0.5 + I*0.2", "SS": "I*0.5 + E*0.1",
    "nn": "aa*0.2 + E*0.2", "RR": "U*0.4 + O*0.2",
}
# Shape names that open the jaw, tried when no convention is detected.
_JAW_SHAPES = ("jawOpen", "Jaw_Open", "A25_Jaw_Open", "mouthOpen", "MouthOpen_h", "JawDrop",
               "Mouth_Open", "jaw_open")

# Recipes: canonical channel -> alternatives separated by "|", each a sum of "name*weight" terms
# ("?name" optional). The first alternative whose required terms are all present is used.
_ARKIT: dict[str, str] = {
    "jawOpen": "jawOpen | mouthOpen",
    "blinkLeft": "eyeBlinkLeft | eyesClosed*0.5",
    "blinkRight": "eyeBlinkRight | eyesClosed*0.5",
    "happy": "mouthSmileLeft*0.7 + mouthSmileRight*0.7 + ?cheekSquintLeft*0.3"
             " + ?cheekSquintRight*0.3 + ?eyeSquintLeft*0.2 + ?eyeSquintRight*0.2"
             " | mouthSmile*0.7 + ?cheekSquintLeft*0.3 + ?cheekSquintRight*0.3",
    "sad": "mouthFrownLeft*0.6 + mouthFrownRight*0.6 + ?browInnerUp*0.7"
           " + ?mouthShrugLower*0.3",
    "angry": "browDownLeft*0.8 + browDownRight*0.8 + ?noseSneerLeft*0.4 + ?noseSneerRight*0.4"
             " + ?eyeSquintLeft*0.3 + ?eyeSquintRight*0.3 + ?mouthPressLeft*0.3"
             " + ?mouthPressRight*0.3",
    "surprised": "eyeWideLeft*0.8 + eyeWideRight*0.8 + browInnerUp*0.8"
                 " + ?browOuterUpLeft*0.6 + ?browOuterUpRight*0.6 + ?jawOpen*0.3",
    "relaxed": "mouthSmileLeft*0.3 + mouthSmileRight*0.3 + ?eyeBlinkLeft*0.25"
               " + ?eyeBlinkRight*0.25 | mouthSmile*0.3",
    "browUp": "browInnerUp*0.6 + ?browOuterUpLeft*0.6 + ?browOuterUpRight*0.6",
    "browDown": "browDownLeft + browDownRight",
    "lookUp": "eyeLookUpLeft + eyeLookUpRight | eyesLookUp",
    "lookDown": "eyeLookDownLeft + eyeLookDownRight | eyesLookDown",
    "lookLeft": "eyeLookOutLeft + eyeLookInRight",
    "lookRight": "eyeLookInLeft + eyeLookOutRight",
    # Visemes from the mouth shapes (ARKit has none of its own).
    "PP": "mouthPressLeft*0.5 + mouthPressRight*0.5 + ?mouthRollLower*0.3"
          " + ?mouthRollUpper*0.3 | mouthClose*0.6",
    "FF": "mouthRollLower*0.6 + ?mouthUpperUpLeft*0.3 + ?mouthUpperUpRight*0.3 + ?jawOpen*0.05",
    "TH": "jawOpen*0.15 + ?tongueOut*0.4",
    "DD": "jawOpen*0.2 + ?mouthStretchLeft*0.2 + ?mouthStretchRight*0.2",
    "kk": "jawOpen*0.25 + ?mouthStretchLeft*0.3 + ?mouthStretchRight*0.3",
    "CH": "mouthFunnel*0.5 + ?jawOpen*0.15 + ?mouthShrugUpper*0.2",
    "SS": "mouthStretchLeft*0.4 + mouthStretchRight*0.4 + ?jawOpen*0.05"
          " + ?mouthSmileLeft*0.2 + ?mouthSmileRight*0.2",
    "nn": "jawOpen*0.15 + ?mouthStretchLeft*0.1 + ?mouthStretchRight*0.1",
    "RR": "mouthFunnel*0.3 + mouthPucker*0.3 + ?jawOpen*0.1",
    "aa": "jawOpen*0.6 + ?mouthLowerDownLeft*0.2 + ?mouthLowerDownRight*0.2",
    "E": "jawOpen*0.3 + ?mouthStretchLeft*0.4 + ?mouthStretchRight*0.4",
    "I": "jawOpen*0.15 + ?mouthSmileLeft*0.3 + ?mouthSmileRight*0.3 + ?mouthStretchLeft*0.3"
         " + ?mouthStretchRight*0.3",
    "O": "mouthFunnel*0.6 + ?jawOpen*0.35",
    "U": "mouthPucker*0.8 + ?mouthFunnel*0.2 + ?jawOpen*0.1",
}
_OCULUS_NAMES = {"sil": "sil", "PP": "PP", "FF": "FF", "TH": "TH", "DD": "DD", "kk": "kk",
                 "CH": "CH", "SS": "SS", "nn": "nn", "RR": "RR", "aa": "aa", "E": "E", "I": "I",
                 "O": "O", "U": "U"}
_VRCHAT_NAMES = {"sil": "sil", "PP": "pp", "FF": "ff", "TH": "th", "DD": "dd", "kk": "kk",
                 "CH": "ch", "SS": "ss", "nn": "nn", "RR": "rr", "aa": "aa", "E": "e", "I": "ih",
                 "O": "oh", "U": "ou"}
_OCULUS = {v: f"viseme_{o}" for v, o in _OCULUS_NAMES.items()}
_VRCHAT = {v: f"vrc.v_{o}" for v, o in _VRCHAT_NAMES.items()}
_CC4: dict[str, str] = {
    "PP": "V_Explosive", "FF": "V_Dental_Lip",
    "TH": "V_Lip_Open*0.5 + ?V_Tongue_Out*0.6",
    "DD": "V_Lip_Open*0.5 + ?V_Open*0.2 + ?V_Tongue_up*0.5",
    "kk": "V_Lip_Open*0.6 + ?V_Open*0.2 + ?V_Tongue_Raise*0.5",
    "CH": "V_Affricate", "SS": "V_Wide*0.6 + ?V_Lip_Open*0.2",
    "nn": "V_Lip_Open*0.5 + ?V_Tongue_up*0.5",
    "RR": "V_Tight*0.6 + ?V_Lip_Open*0.2 + ?V_Tongue_Curl_U*0.3",
    "aa": "V_Open", "E": "V_Wide*0.7 + V_Open*0.3", "I": "V_Wide", "O": "V_Tight_O",
    "U": "V_Tight",
    "jawOpen": "Jaw_Open",
    "blinkLeft": "Eye_Blink_L | Eyes_Blink*0.5", "blinkRight": "Eye_Blink_R | Eyes_Blink*0.5",
    "happy": "Mouth_Smile_L*0.7 + Mouth_Smile_R*0.7 + ?Cheek_Raise_L*0.4 + ?Cheek_Raise_R*0.4"
             " + ?Eye_Squint_L*0.2 + ?Eye_Squint_R*0.2",
    "sad": "Mouth_Frown_L*0.6 + Mouth_Frown_R*0.6 + ?Brow_Raise_Inner_L*0.6"
           " + ?Brow_Raise_Inner_R*0.6",
    "angry": "Brow_Drop_L*0.8 + Brow_Drop_R*0.8 + ?Brow_Compress_L*0.5 + ?Brow_Compress_R*0.5"
             " + ?Nose_Sneer_L*0.4 + ?Nose_Sneer_R*0.4 + ?Mouth_Press_L*0.3"
             " + ?Mouth_Press_R*0.3",
    "surprised": "Eye_Wide_L*0.7 + Eye_Wide_R*0.7 + Brow_Raise_Inner_L*0.7"
                 " + Brow_Raise_Inner_R*0.7 + ?Brow_Raise_Outer_L*0.6"
                 " + ?Brow_Raise_Outer_R*0.6 + ?Jaw_Open*0.3",
    "relaxed": "Mouth_Smile_L*0.3 + Mouth_Smile_R*0.3 + ?Eye_Blink_L*0.25 + ?Eye_Blink_R*0.25",
    "browUp": "Brow_Raise_Inner_L*0.5 + Brow_Raise_Inner_R*0.5 + ?Brow_Raise_Outer_L*0.5"
              " + ?Brow_Raise_Outer_R*0.5",
    "browDown": "Brow_Drop_L + Brow_Drop_R",
    "lookUp": "Eye_L_Look_Up + Eye_R_Look_Up", "lookDown": "Eye_L_Look_Down + Eye_R_Look_Down",
    "lookLeft": "Eye_L_Look_L + Eye_R_Look_L", "lookRight": "Eye_L_Look_R + Eye_R_Look_R",
}
# CC3 spells the visemes without "V_" (and "Tight-O"); its expressions share CC4's names.
_CC3_RENAME = {"V_Open": "Open", "V_Explosive": "Explosive", "V_Dental_Lip": "Dental_Lip",
               "V_Tight_O": "Tight-O", "V_Tight": "Tight", "V_Wide": "Wide",
               "V_Affricate": "Affricate", "V_Lip_Open": "Lip_Open", "V_Tongue_up": "Tongue_up",
               "V_Tongue_Raise": "Tongue_Raise", "V_Tongue_Out": "Tongue_Out",
               "V_Tongue_Curl_U": "Tongue_Curl-U", "Eyes_Blink": "Eye_Blink"}
# CC3+ ("ExPlus") numbers the ARKit set: A01_Brow_Inner_Up ... A52_Tongue_Out.
_CC3PLUS_RENAME = {a: f"A{i + 1:02d}_{n}" for i, (a, n) in enumerate((
    ("browInnerUp", "Brow_Inner_Up"), ("browDownLeft", "Brow_Down_Left"),
    ("browDownRight", "Brow_Down_Right"), ("browOuterUpLeft", "Brow_Outer_Up_Left"),
    ("browOuterUpRight", "Brow_Outer_Up_Right"), ("eyeLookUpLeft", "Eye_Look_Up_Left"),
    ("eyeLookUpRight", "Eye_Look_Up_Right"), ("eyeLookDownLeft", "Eye_Look_Down_Left"),
    ("eyeLookDownRight", "Eye_Look_Down_Right"), ("eyeLookOutLeft", "Eye_Look_Out_Left"),
    ("eyeLookInLeft", "Eye_Look_In_Left"), ("eyeLookInRight", "Eye_Look_In_Right"),
    ("eyeLookOutRight", "Eye_Look_Out_Right"), ("eyeBlinkLeft", "Eye_Blink_Left"),
    ("eyeBlinkRight", "Eye_Blink_Right"), ("eyeSquintLeft", "Eye_Squint_Left"),
    ("eyeSquintRight", "Eye_Squint_Right"), ("eyeWideLeft", "Eye_Wide_Left"),
    ("eyeWideRight", "Eye_Wide_Right"), ("cheekPuff", "Cheek_Puff"),
    ("cheekSquintLeft", "Cheek_Squint_Left"), ("cheekSquintRight", "Cheek_Squint_Right"),
    ("noseSneerLeft", "Nose_Sneer_Left"), ("noseSneerRight", "Nose_Sneer_Right"),
    ("jawOpen", "Jaw_Open"), ("jawForward", "Jaw_Forward"), ("jawLeft", "Jaw_Left"),
    ("jawRight", "Jaw_Right"), ("mouthFunnel", "Mouth_Funnel"), ("mouthPucker", "Mouth_Pucker"),
    ("mouthLeft", "Mouth_Left"), ("mouthRight", "Mouth_Right"),
    ("mouthRollUpper", "Mouth_Roll_Upper"), ("mouthRollLower", "Mouth_Roll_Lower"),
    ("mouthShrugUpper", "Mouth_Shrug_Upper"), ("mouthShrugLower", "Mouth_Shrug_Lower"),
    ("mouthClose", "Mouth_Close"), ("mouthSmileLeft", "Mouth_Smile_Left"),
    ("mouthSmileRight", "Mouth_Smile_Right"), ("mouthFrownLeft", "Mouth_Frown_Left"),
    ("mouthFrownRight", "Mouth_Frown_Right"), ("mouthDimpleLeft", "Mouth_Dimple_Left"),
    ("mouthDimpleRight", "Mouth_Dimple_Right"), ("mouthUpperUpLeft", "Mouth_Upper_Up_Left"),
    ("mouthUpperUpRight", "Mouth_Upper_Up_Right"),
    ("mouthLowerDownLeft", "Mouth_Lower_Down_Left"),
    ("mouthLowerDownRight", "Mouth_Lower_Down_Right"), ("mouthPressLeft", "Mouth_Press_Left"),
    ("mouthPressRight", "Mouth_Press_Right"), ("mouthStretchLeft", "Mouth_Stretch_Left"),
    ("mouthStretchRight", "Mouth_Stretch_Right"), ("tongueOut", "Tongue_Out")))}
# Rocketbox / VALID avatars: the head's h_expressions.* (matched by the part after the dot) and
# the lower teeth's own t_* viseme shapes, driven with the head's.
_ROCKETBOX: dict[str, str] = {
    "PP": "MPB_Up_h*0.5 + MPB_Down_h*0.5 + ?t_MPB_h",
    "FF": "FV_h + ?t_FV_h", "TH": "TD_I_h*0.6 + ?H_EST_h*0.2 + ?t_TD_I_h*0.6",
    "DD": "TD_I_h*0.5 + H_EST_h*0.5 + ?t_TD_I_h*0.5 + ?t_H_EST_h*0.5",
    "kk": "KG_h + ?t_KG_h", "CH": "SH_CH_h + ?t_SH_CH_h", "SS": "S_h + ?t_S_h",
    "nn": "TD_I_h*0.4 + H_EST_h*0.4 + ?t_TD_I_h*0.4 + ?t_H_EST_h*0.4",
    "RR": "UH_OO_h*0.6 + SH_CH_h*0.3 + ?t_UH_OO_h*0.6 + ?t_SH_CH_h*0.3",
    "aa": "AE_AA_h + ?t_AE_AA_h", "E": "Ax_E_h + ?t_Ax_E_h", "I": "TD_I_h + ?t_TD_I_h",
    "O": "AO_a_h + ?t_AO_a_h", "U": "UW_U_h + ?t_UW_U_h",
    "jawOpen": "MouthOpen_h + ?t_MouthOpen_h",
    "blinkLeft": "LeyeClose_h", "blinkRight": "ReyeClose_h",
    "happy": "LsmileClose_h*0.8 + RsmileClose_h*0.8 + ?Lsquint_h*0.3 + ?Rsquint_h*0.3",
    "sad": "LmouthSad_h*0.7 + RmouthSad_h*0.7 + ?Lsad_h*0.6 + ?Rsad_h*0.6",
    "angry": "LbrowDown_h*0.8 + RbrowDown_h*0.8 + ?Ldisgust_h*0.3 + ?Rdisgust_h*0.3"
             " + ?Lsquint_h*0.3 + ?Rsquint_h*0.3",
    "surprised": "LbrowUp_h*0.8 + RbrowUp_h*0.8 + ?LLbrowUp_h*0.6 + ?RRbrowUp_h*0.6"
                 " + ?LeyeOpen_h*0.6 + ?ReyeOpen_h*0.6 + ?MouthOpen_h*0.3"
                 " + ?t_MouthOpen_h*0.3",
    "relaxed": "LsmileClose_h*0.3 + RsmileClose_h*0.3 + ?LeyeClose_h*0.2 + ?ReyeClose_h*0.2",
    "browUp": "LbrowUp_h + RbrowUp_h + ?LLbrowUp_h*0.5 + ?RRbrowUp_h*0.5",
    "browDown": "LbrowDown_h + RbrowDown_h + ?LLbrowDown_h*0.5 + ?RRbrowDown_h*0.5",
}
_VROID: dict[str, str] = {
    "aa": "Fcl_MTH_A", "I": "Fcl_MTH_I", "U": "Fcl_MTH_U", "E": "Fcl_MTH_E", "O": "Fcl_MTH_O",
    "blinkLeft": "Fcl_EYE_Close_L | Fcl_EYE_Close*0.5",
    "blinkRight": "Fcl_EYE_Close_R | Fcl_EYE_Close*0.5",
    "happy": "Fcl_ALL_Joy", "angry": "Fcl_ALL_Angry", "sad": "Fcl_ALL_Sorrow",
    "surprised": "Fcl_ALL_Surprised", "relaxed": "Fcl_ALL_Fun",
    "browUp": "Fcl_BRW_Surprised", "browDown": "Fcl_BRW_Angry",
}
# VRM 0.x preset names used as target names (many VRM-derived and MMD-converted files).
_VRM_NAMES: dict[str, str] = {
    "aa": "A", "I": "I", "U": "U", "E": "E", "O": "O",
    "blinkLeft": "Blink_L | Blink*0.5", "blinkRight": "Blink_R | Blink*0.5",
    "happy": "Joy", "angry": "Angry", "sad": "Sorrow", "relaxed": "Fun", "surprised": "Surprised",
    "lookUp": "LookUp", "lookDown": "LookDown", "lookLeft": "LookLeft", "lookRight": "LookRight",
}
# MakeHuman's face pose units (data/poseunits/face-poseunits.json) baked as shape keys.
_MAKEHUMAN: dict[str, str] = {
    "jawOpen": "JawDrop",
    "blinkLeft": "LeftUpperLidClosed", "blinkRight": "RightUpperLidClosed",
    "happy": "MouthLeftPullUp*0.7 + MouthRightPullUp*0.7 + ?LeftCheekUp*0.4 + ?RightCheekUp*0.4",
    "sad": "MouthLeftPullDown*0.6 + MouthRightPullDown*0.6 + ?LeftInnerBrowUp*0.6"
           " + ?RightInnerBrowUp*0.6",
    "angry": "LeftBrowDown*0.8 + RightBrowDown*0.8 + ?NoseWrinkler*0.4 + ?LeftLowerLidUp*0.3"
             " + ?RightLowerLidUp*0.3",
    "surprised": "LeftUpperLidOpen*0.6 + RightUpperLidOpen*0.6 + LeftInnerBrowUp*0.6"
                 " + RightInnerBrowUp*0.6 + ?LeftOuterBrowUp*0.6 + ?RightOuterBrowUp*0.6"
                 " + ?JawDrop*0.3",
    "relaxed": "MouthLeftPullUp*0.3 + MouthRightPullUp*0.3 + ?LeftUpperLidClosed*0.25"
               " + ?RightUpperLidClosed*0.25",
    "browUp": "LeftInnerBrowUp*0.5 + RightInnerBrowUp*0.5 + ?LeftOuterBrowUp*0.5"
              " + ?RightOuterBrowUp*0.5",
    "browDown": "LeftBrowDown + RightBrowDown",
    "lookUp": "LeftEyeUp + RightEyeUp", "lookDown": "LeftEyeDown + RightEyeDown",
    "lookLeft": "LeftEyeturnLeft + RightEyeturnLeft",
    "lookRight": "LeftEyeturnRight + RightEyeturnRight",
    "aa": "JawDrop*0.7 + ?lowerLipDown*0.3", "E": "JawDrop*0.4 + UpperLipStretched*0.4",
    "I": "JawDrop*0.2 + MouthLeftPullSide*0.4 + MouthRightPullSide*0.4",
    "O": "LipsKiss*0.5 + JawDrop*0.4", "U": "LipsKiss*0.9 + ?JawDrop*0.1",
    "PP": "lowerLipUp*0.5", "FF": "lowerLipBackward*0.6 + ?UpperLipUp*0.2",
}


def _renamed(recipes: dict[str, str], rename: dict[str, str]) -> dict[str, str]:
    pattern = re.compile(r"[A-Za-z0-9_.\-]+")
    return {ch: pattern.sub(lambda m: rename.get(m.group(0), m.group(0)), r)
            for ch, r in recipes.items()}


# reskin's own: morph targets named exactly as the canonical channels (the procedural
# humanoid's face), each mapping 1:1. It needs many of its names before it counts (see
# _MIN_NAMES_OF): a few of them ("E", "I", "jawOpen") are also other conventions' names.
_CANONICAL: dict[str, str] = {ch: ch for ch in CHANNELS}

# In priority order: a channel comes from the first detected convention that has it.
_CONVENTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("reskin", _CANONICAL), ("oculus", _OCULUS), ("vrchat", _VRCHAT), ("cc4", _CC4),
    ("cc3plus", _renamed(_ARKIT, _CC3PLUS_RENAME)),
    ("cc3", {**_renamed(_CC4, _CC3_RENAME), "jawOpen": "Jaw_Open | Mouth_Open",
             "happy": _CC4["happy"] + " | Mouth_Smile*0.7"}),
    ("arkit", _ARKIT), ("rocketbox", _ROCKETBOX), ("vroid", _VROID), ("vrm-names", _VRM_NAMES),
    ("makehuman", _MAKEHUMAN),
)
_MIN_NAMES = 2  # distinct names of a convention a face must have before it is used
_MIN_NAMES_OF = {"reskin": 8}

# VRM preset expression -> canonical channel (VRM 1.0 and, lower-cased, VRM 0.x).
_VRM1_PRESETS = {"aa": "aa", "ih": "I", "ou": "U", "ee": "E", "oh": "O", "blinkLeft": "blinkLeft",
                 "blinkRight": "blinkRight", "happy": "happy", "angry": "angry", "sad": "sad",
                 "relaxed": "relaxed", "surprised": "surprised", "lookUp": "lookUp",
                 "lookDown": "lookDown", "lookLeft": "lookLeft", "lookRight": "lookRight"}
_VRM0_PRESETS = {"a": "aa", "i": "I", "u": "U", "e": "E", "o": "O", "blink_l": "blinkLeft",
                 "blink_r": "blinkRight", "joy": "happy", "angry": "angry", "sorrow": "sad",
                 "fun": "relaxed", "surprised": "surprised", "lookup": "lookUp",
                 "lookdown": "lookDown", "lookleft": "lookLeft", "lookright": "lookRight"}

Bind = tuple[str, int, float]  # (mesh name, morph target index, weight)


@dataclass(frozen=True)
class FaceMap:
    """A character's face in canonical channels.

    channels    : channel -> binds (mesh name, target index, weight) to set at channel value 1;
                  empty for a channel made by joints or the rest pose (see ``sources``)
    sources     : channel -> what it came from ("from jawOpen", "from 0.5 h_expressions.MPB_Up_h
                  + ...", "rest pose", "from jaw joint Jaw (open 0.7)", "missing")
    conventions : the naming conventions detected, in the order they were used
    jaw_joint   : the jaw joint driving visemes (when no shape does), or None
    jaw_open    : viseme -> jaw opening 0..1 for the visemes the jaw joint drives
    eye_joints  : (left, right) eye joints when gaze comes from them, or None
    """

    channels: dict[str, tuple[Bind, ...]]
    sources: dict[str, str]
    conventions: tuple[str, ...]
    jaw_joint: str | None = None
    jaw_open: dict[str, float] = field(default_factory=dict)
    eye_joints: tuple[str, str] | None = None

    def has(self, channel: str) -> bool:
        """Whether the face can show ``channel`` (any source but "missing")."""
        return self.sources.get(channel, "missing") != "missing"

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(c for c in CHANNELS if not self.has(c))

    def to_json(self) -> dict:
        """A JSON-able dict (channels in :data:`CHANNELS` order)."""
        return {
            "conventions": list(self.conventions),
            "visemes": sum(self.has(v) for v in VISEMES),
            "missing": list(self.missing),
            "jaw_joint": self.jaw_joint, "jaw_open": dict(self.jaw_open),
            "eye_joints": list(self.eye_joints) if self.eye_joints else None,
            "channels": {c: {"source": self.sources[c],
                             "binds": [[m, i, round(w, 6)] for m, i, w in self.channels[c]]}
                         for c in CHANNELS},
        }


@dataclass(frozen=True)
class _Term:
    name: str
    weight: float
    optional: bool


def _parse(recipe: str) -> list[list[_Term]]:
    out = []
    for alt in recipe.split("|"):
        terms = []
        for raw in alt.split("+"):
            raw = raw.strip()
            optional = raw.startswith("?")
            name, _, w = raw.lstrip("?").partition("*")
            terms.append(_Term(name.strip(), float(w) if w else 1.0, optional))
        out.append(terms)
    return out


_PARSED = tuple((conv, {ch: _parse(r) for ch, r in recipes.items()})
                for conv, recipes in _CONVENTIONS)


class _Names:
    """Target-name lookup over all meshes: exact, then the part after the last '.', then
    either case-folded (exporters prefix "Mesh.name", engines re-case ARKit names). Each mesh
    holding the name gives its first target of that name."""

    def __init__(self, targets: dict[str, list[str]]):
        self.order = {m: k for k, m in enumerate(targets)}
        self.tables: list[dict[str, dict[str, int]]] = [{}, {}, {}, {}]
        for mesh, names in targets.items():
            for idx, name in enumerate(names):
                if not name:
                    continue
                tail = name.rsplit(".", 1)[-1]
                for table, key in zip(self.tables, (name, tail, name.lower(), tail.lower()),
                                      strict=True):
                    table.setdefault(key, {}).setdefault(mesh, idx)

    def find(self, name: str) -> list[tuple[str, int]]:
        # One- and two-letter names (VRM's "A", "I") are matched exactly only.
        tables = self.tables if len(name) > 2 else self.tables[:2]
        for table, key in zip(tables, (name, name, name.lower(), name.lower()), strict=False):
            hit = table.get(key)
            if hit:
                return sorted(hit.items(), key=lambda kv: self.order[kv[0]])
        return []


def _merge(binds: list[Bind]) -> tuple[Bind, ...]:
    acc: dict[tuple[str, int], float] = {}
    for m, i, w in binds:
        acc[(m, i)] = acc.get((m, i), 0.0) + w
    return tuple((m, i, w) for (m, i), w in acc.items() if w != 0.0)


def _describe(parts: list[tuple[str, float]]) -> str:
    return "from " + " + ".join(n if w == 1.0 else f"{w:g} {n}" for n, w in parts)


def _resolve(alts: list[list[_Term]], names: _Names, targets: dict[str, list[str]]
             ) -> tuple[tuple[Bind, ...], str] | None:
    for terms in alts:
        found = [(t, names.find(t.name)) for t in terms]
        if any(not hits and not t.optional for t, hits in found):
            continue
        if not any(hits for _, hits in found):
            continue
        binds, parts = [], []
        for t, hits in found:
            for mesh, idx in hits:
                binds.append((mesh, idx, t.weight))
            if hits:
                parts.append((targets[hits[0][0]][hits[0][1]], t.weight))
        return _merge(binds), _describe(parts)
    return None


def _recipe_names(recipes: dict[str, list[list[_Term]]]) -> set[str]:
    return {t.name for alts in recipes.values() for terms in alts for t in terms}


def _obj(x: object) -> dict:
    return x if isinstance(x, dict) else {}


def _list(x: object) -> list:
    return x if isinstance(x, list) else []


def _vrm_binds(doc: dict, targets: dict[str, list[str]]
               ) -> tuple[str, dict[str, tuple[list[Bind], str]]]:
    """(convention, channel -> (binds, label)) from a VRM document's own expressions;
    ("", {}) when it has none. A both-eyes blink goes half on each side, where the file has no
    one-eye blink."""
    ext = doc.get("extensions", doc)
    if not isinstance(ext, dict):
        return "", {}
    keys = mesh_keys(doc) if isinstance(doc.get("meshes"), list) else list(targets)
    nodes = doc.get("nodes") if isinstance(doc.get("nodes"), list) else []

    def mesh_of(i: object) -> str | None:
        ok = isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(keys)
        return keys[i] if ok and keys[i] in targets else None

    def node_mesh(n: object) -> str | None:
        ok = isinstance(n, int) and not isinstance(n, bool) and 0 <= n < len(nodes)
        return mesh_of(nodes[n].get("mesh")) if ok and isinstance(nodes[n], dict) else None

    # (label, channels, [(mesh, index, weight)]) per expression, one-eye blinks before "blink".
    found: list[tuple[str, list[str], list[tuple[str | None, object, object]]]] = []
    v1, v0 = ext.get("VRMC_vrm"), ext.get("VRM")
    if isinstance(v1, dict):
        conv, label = "vrm1", "VRM expression"
        preset = _obj(_obj(v1.get("expressions")).get("preset"))
        for name in sorted(preset, key=lambda n: (n == "blink", n)):
            spec = preset[name]
            chans = (["blinkLeft", "blinkRight"] if name == "blink"
                     else [_VRM1_PRESETS[name]] if name in _VRM1_PRESETS else [])
            if isinstance(spec, dict) and chans:
                found.append((name, chans, [
                    (node_mesh(b.get("node")), b.get("index"), b.get("weight", 1.0))
                    for b in _list(spec.get("morphTargetBinds")) if isinstance(b, dict)]))
    elif isinstance(v0, dict):
        conv, label = "vrm0", "VRM 0.x blend shape"
        groups = [g for g in _list(_obj(v0.get("blendShapeMaster")).get("blendShapeGroups"))
                  if isinstance(g, dict)]
        for g in groups:
            preset = str(g.get("presetName") or "").lower()
            if preset in ("", "unknown"):
                preset = str(g.get("name") or "").lower()
            chans = (["blinkLeft", "blinkRight"] if preset == "blink"
                     else [_VRM0_PRESETS[preset]] if preset in _VRM0_PRESETS else [])
            if chans:  # VRM 0.x weights are percent
                found.append((str(g.get("name") or preset), chans, [
                    (mesh_of(b.get("mesh")), b.get("index"),
                     b.get("weight", 100) / 100.0 if isinstance(b.get("weight", 100),
                                                                (int, float)) else None)
                    for b in _list(g.get("binds")) if isinstance(b, dict)]))
        found.sort(key=lambda f: len(f[1]))  # one-eye blinks first
    else:
        return "", {}
    out: dict[str, tuple[list[Bind], str]] = {}
    for name, chans, binds in found:
        half = 0.5 if len(chans) == 2 else 1.0
        good = [(m, i, float(w) * half) for m, i, w in binds
                if m is not None and isinstance(i, int) and not isinstance(i, bool)
                and 0 <= i < len(targets[m]) and isinstance(w, (int, float)) and w]
        for ch in chans:
            if good and ch not in out:
                out[ch] = (good, f"from {label} {name}")
    return conv, out


def _joint(joints: Sequence[str], word: str, side: str | None) -> str | None:
    """The shortest joint whose name holds ``word`` (and the side), leaf helpers excluded."""
    found = []
    for j in joints:
        low = j.lower().rsplit(":", 1)[-1]
        if word not in low or re.search(r"end|tip|nub|brow|lid|lash|target|gland", low):
            continue
        if side is not None:
            s = side[0]
            pat = rf"{side}|(^|[^a-z]){s}([^a-z]|$)"
            if not re.search(pat, low.replace(word, " ")):
                continue
        found.append(j)
    return min(found, key=lambda n: (len(n), n)) if found else None


def face_map(targets: dict[str, list[str]], vrm_ext: dict | None = None,
             joints: Sequence[str] = ()) -> FaceMap:
    """Map a character's morph targets (mesh name -> its target names, in target order) onto
    :data:`CHANNELS`.

    ``vrm_ext`` is the glTF JSON document (or its ``extensions`` object) of a VRM file; its
    expression binds win over names. Mesh indices resolve through the document's meshes as
    :func:`mesh_keys` names them (or the order of ``targets`` when only extensions are given).
    ``joints`` (skin joint names) give the jaw and eye joint fallbacks. Deterministic.
    """
    names = _Names(targets)
    channels: dict[str, tuple[Bind, ...]] = {}
    sources: dict[str, str] = {}
    used: list[str] = []

    if vrm_ext:
        conv, binds = _vrm_binds(vrm_ext, targets)
        for ch in CHANNELS:
            if ch in binds:
                channels[ch], sources[ch] = _merge(binds[ch][0]), binds[ch][1]
        if binds:
            used.append(conv)

    for conv, recipes in _PARSED:
        if (sum(bool(names.find(n)) for n in _recipe_names(recipes))
                < _MIN_NAMES_OF.get(conv, _MIN_NAMES)):
            continue
        took = False
        for ch in CHANNELS:
            if ch in sources or ch not in recipes:
                continue
            hit = _resolve(recipes[ch], names, targets)
            if hit:
                channels[ch], sources[ch] = hit
                took = True
        if took:
            used.append(conv)

    if "jawOpen" not in sources:
        hit = _resolve(_parse(" | ".join(_JAW_SHAPES)), names, targets)
        if hit:
            channels["jawOpen"], sources["jawOpen"] = hit

    vowels = {v for v in ("aa", "E", "I", "O", "U") if v in sources}
    for v in VISEMES:
        if v in sources:
            continue
        mix = VOWEL_MIX.get(v)
        if v in ("sil", "PP") and vowels:  # closed lips: the rest pose
            channels[v], sources[v] = (), "rest pose"
        elif mix and all(t.name in vowels for t in _parse(mix)[0]):
            terms = _parse(mix)[0]
            channels[v] = _merge([(m, i, w * t.weight) for t in terms
                                  for m, i, w in channels[t.name]])
            sources[v] = _describe([(t.name, t.weight) for t in terms]) + " (viseme mix)"

    jaw_joint, jaw_open = None, {}
    for v in VISEMES:
        if v in sources:
            continue
        amount = JAW_OPEN[v]
        if "jawOpen" in sources:
            channels[v] = _merge([(m, i, w * amount) for m, i, w in channels["jawOpen"]])
            sources[v] = f"from {amount:g} jawOpen" if amount else "rest pose (jaw closed)"
        elif (jaw_joint := jaw_joint or _joint(joints, "jaw", None)) is not None:
            channels[v], jaw_open[v] = (), amount
            sources[v] = f"from jaw joint {jaw_joint} (open {amount:g})"

    eye_joints = None
    left, right = _joint(joints, "eye", "left"), _joint(joints, "eye", "right")
    if left and right and left != right:
        for ch in GAZE:
            if ch not in sources:
                channels[ch], sources[ch] = (), f"from eye joints {left}, {right}"
                eye_joints = (left, right)

    for ch in CHANNELS:
        channels.setdefault(ch, ())
        sources.setdefault(ch, "missing")
    return FaceMap({c: channels[c] for c in CHANNELS}, {c: sources[c] for c in CHANNELS},
                   tuple(used), jaw_joint if jaw_open else None, jaw_open, eye_joints)


def mesh_keys(js: dict) -> list[str]:
    """One unique name per glTF mesh (in mesh order): its name, ``mesh{i}`` when unnamed, and
    ``name#i`` for a repeated name."""
    out, seen = [], set()
    for i, m in enumerate(_list(js.get("meshes"))):
        name = m.get("name") if isinstance(m, dict) and isinstance(m.get("name"), str) else ""
        key = name or f"mesh{i}"
        if key in seen:
            key = f"{key}#{i}"
        seen.add(key)
        out.append(key)
    return out


def gltf_targets(js: dict) -> dict[str, list[str]]:
    """Mesh key -> target names ("" where unnamed) for every mesh of a glTF JSON document that
    has morph targets; reads the JSON only (no buffers)."""
    out = {}
    for key, m in zip(mesh_keys(js), _list(js.get("meshes")), strict=True):
        prims = _list(_obj(m).get("primitives"))
        n = max((len(_list(p.get("targets"))) for p in prims if isinstance(p, dict)), default=0)
        if not n:
            continue
        names = [s if isinstance(s, str) else ""
                 for s in _list(_obj(m.get("extras")).get("targetNames"))][:n]
        out[key] = names + [""] * (n - len(names))
    return out


def gltf_face_map(js: dict) -> FaceMap:
    """:func:`face_map` of a glTF JSON document: its meshes' target names, its VRM extension
    if any, and its skins' joint names."""
    nodes = _list(js.get("nodes"))
    names = {_obj(nodes[j]).get("name") for s in _list(js.get("skins"))
             for j in _list(_obj(s).get("joints"))
             if isinstance(j, int) and not isinstance(j, bool) and 0 <= j < len(nodes)}
    joints = sorted(n for n in names if isinstance(n, str) and n)
    ext = _obj(js.get("extensions"))
    vrm = js if "VRMC_vrm" in ext or "VRM" in ext else None
    return face_map(gltf_targets(js), vrm, joints)
