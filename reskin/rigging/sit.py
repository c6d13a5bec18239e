"""A procedural sit-down on the canonical skeleton, for any seat height.

The seated pose is solved from the skeleton's own leg lengths: thighs forward (level, or
sloping down onto a high seat), shins down to the floor (tucked back under a low seat), feet
flat where they stood, the pelvis (the hips joint less :func:`seat_clearance`, the flesh under
it) exactly on the seat. The clip blends from standing to that pose; its root moves back and
down, so a character standing a thigh's length in front of a seat sits on it without its feet
moving. Like the other procedural clips it is written for identity rest rotations.
"""

from __future__ import annotations

import numpy as np

from reskin.core.clip import Clip
from reskin.core.skeleton import Skeleton, forward_kinematics
from reskin.core.transforms import quat_mul
from reskin.rigging.foot_contact import leg_ik
from reskin.rigging.locomotion import slerp, smoothstep
from reskin.rigging.procedural_clips import axis_angle, make_clip

SIT_SECONDS = 1.2
LEAN_DEG = 12.0  # the spine leans forward this much when seated


def seat_clearance(skeleton: Skeleton) -> float:
    """Metres from the hips joint down to what rests on a seat (buttocks, backs of the thighs):
    0.12 of the leg (thigh + shin), about 10 cm on an adult."""
    h = skeleton.heads.astype(np.float64)
    leg = sum(np.linalg.norm(h[skeleton.index(f"left{b}")] - h[skeleton.index(f"left{a}")])
              for a, b in (("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot")))
    return 0.12 * float(leg)


def seated_offset(skeleton: Skeleton, seat_height: float) -> tuple[np.ndarray, dict[str, float]]:
    """Root offset (3,) from the standing root to the seated one (same facing, +Z forward) and
    the leg angles (radians about +X: thigh, knee, foot) that keep the feet where they stood."""
    h = skeleton.heads.astype(np.float64)
    hip, knee, ankle = (h[skeleton.index(f"left{b}")] for b in ("UpperLeg", "LowerLeg", "Foot"))
    a, b = float(np.linalg.norm(knee - hip)), float(np.linalg.norm(ankle - knee))
    hips = h[skeleton.index("hips")]
    hip_y = seat_height + seat_clearance(skeleton) + (hip[1] - hips[1])  # leg joint's height
    drop = hip_y - ankle[1]
    if drop > b:  # a high seat: thighs slope down, shins vertical
        thigh = -(np.pi / 2 - np.arcsin(np.clip((drop - b) / a, -1, 1)))
        shin = 0.0
    else:  # a low seat: thighs level, shins tucked back
        thigh = -np.pi / 2
        shin = float(np.arccos(np.clip(drop / b, -1, 1)))
    # Horizontal reach of the leg from hip to ankle (forward +Z) in the seated pose.
    reach = -np.sin(thigh) * a - np.sin(shin) * b
    offset = np.array([0.0, hip_y - hip[1], (ankle[2] - hip[2]) - reach])
    return offset, {"thigh": thigh, "knee": shin - thigh, "foot": -shin}


def sit_clip(skeleton: Skeleton, fps: float, seat_height: float, seconds: float = SIT_SECONDS,
             name: str = "sit") -> Clip:
    """Stand (the idle stance) to seated on a seat ``seat_height`` metres above the floor (the
    floor being the skeleton's y = 0) over ``seconds``, then hold for one more second."""
    frames = max(2, int(round((seconds + 1.0) * fps)) + 1)
    t = np.arange(frames) / fps
    w = smoothstep(t / seconds)
    stand = make_clip("idle", skeleton, fps, seconds=0.0)
    base = stand.for_skeleton(skeleton.names)[0].astype(np.float64)
    offset, angles = seated_offset(skeleton, seat_height)
    seated = base.copy()
    x = (1.0, 0.0, 0.0)
    for side in ("left", "right"):
        for joint, key in (("UpperLeg", "thigh"), ("LowerLeg", "knee"), ("Foot", "foot")):
            i = skeleton.index(f"{side}{joint}")
            seated[i] = axis_angle(x, np.array([angles[key]]))[0]
    for joint, share in (("spine", 0.6), ("chest", 0.4)):
        i = skeleton.index(joint)
        seated[i] = axis_angle(x, np.array([np.radians(LEAN_DEG) * share]))[0]
    # Hands towards the knees: the upper arms forward a little from hanging.
    fwd = axis_angle(x, np.array([-np.radians(25)]))[0]
    for side in ("left", "right"):
        i = skeleton.index(f"{side}UpperArm")
        seated[i] = quat_mul(fwd, base[i])
    rot = slerp(np.broadcast_to(base, (frames,) + base.shape),
                np.broadcast_to(seated, (frames,) + base.shape), w[:, None])
    root = np.repeat(skeleton.heads[skeleton.index("hips")][None].astype(np.float64), frames, 0)
    # The hips drop late and move back early, as people reach back for the seat.
    back = smoothstep(t / (0.8 * seconds))
    root[:, 1] += offset[1] * w
    root[:, 2] += offset[2] * back
    # The hips' path and the leg angles are blended on different curves, so between the two
    # poses the blend alone would push the feet through the floor; IK holds each ankle where
    # it stood (the end pose already has them there).
    rot = np.ascontiguousarray(rot, dtype=np.float64)
    world = forward_kinematics(skeleton, rot, root)
    for side in ("left", "right"):
        stood = world[0, skeleton.index(f"{side}Foot"), :3, 3]
        leg_ik(skeleton, rot, world, side, np.broadcast_to(stood, (frames, 3)), np.ones(frames))
        world = forward_kinematics(skeleton, rot, root)
    return Clip(name=name, fps=float(fps), joint_names=skeleton.names,
                rotations=rot.astype(np.float32), root_translation=root.astype(np.float32))
