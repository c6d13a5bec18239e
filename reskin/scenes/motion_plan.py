"""The compiler's side of blocking: per shot, each cast member's pose track, its cache key and
the warnings a director wants (two people walking into each other, someone leaving the frame).

A compiled cast member with a track gets ``motion`` in the plan::

    {"fps": 24, "rotations": [[[x, y, z, w] * 21] * f], "root": [[x, y, z] * f],
     "facing_deg": [f], "joints": [21 canonical names]}

and ``clip`` None: the Blender worker writes it as a motion GLB for the character
(:mod:`reskin.rigging.motion_glb`) and plays it instead of a baked clip. ``motion_key``
identifies it for the render key from its inputs (the blocking, the clips' exact versions,
seats), so a dry run that reads no GLB keys a shot as the build does.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from reskin.core.hashing import key_of
from reskin.scenes.blocking import check_blocking, wall_z
from reskin.scenes.blocking_track import DEFAULT_WALK, Seat, final_mark, resolve_track
from reskin.scenes.clip_source import ClipSource

BLOCKING_VERSION = "1"
COLLIDE_M = 0.4
"""Two roots closer than this (metres, on the floor) are two bodies walking into each other."""


def seat_height(glb: str, scale: float) -> float:
    """A prop's seat height: the top of its bounds (from its meshes' POSITION min/max through
    the node transforms), times its scale."""
    from reskin.assets.gltf.scene import world_matrices
    from reskin.rigging.motion_glb import read_json

    js = read_json(glb)
    world = world_matrices(js)
    top = 0.0
    for n, node in enumerate(js.get("nodes", [])):
        if "mesh" not in node:
            continue
        for prim in js["meshes"][node["mesh"]].get("primitives", []):
            acc = js["accessors"][prim["attributes"]["POSITION"]]
            lo, hi = np.array(acc["min"], np.float64), np.array(acc["max"], np.float64)
            corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                for z in (lo[2], hi[2])])
            top = max(top, float((corners @ world[n].T)[:, 1].max()))
    return top * scale


def _identities(entry, clips: ClipSource) -> list[str]:
    refs = [(entry.clip, entry.blocking.clip_where)] if not entry.blocking.actions else []
    for a in entry.blocking.actions:
        if a.do == "walk":
            refs.append((a.clip or DEFAULT_WALK, a.where))
        elif a.do == "clip":
            refs.append((a.clip, a.where))
    return [clips.identity(r, w) for r, w in refs]


def plan_blocking(spec, cast: list[dict], skins: dict, props: dict, fps: int, frames: int,
                  clips: ClipSource) -> None:
    """Give every member of ``cast`` (compiled dicts, in ``spec.cast`` order) that needs one
    its ``motion`` (when its skin GLB is at hand) and ``motion_key``, and move its
    ``position`` / ``facing_deg`` to its final mark, where the framing looks."""
    starts = {e.character: e.position for e in spec.cast}
    positions = [e.position for e in spec.cast]
    check_blocking(list(spec.cast), [p.asset for p in spec.set.props] if spec.set else [],
                   wall_z(spec, positions))
    seat_xz = {p.asset: p.position for p in spec.set.props} if spec.set else {}
    marks0 = {e.character: final_mark(e.position, e.facing, e.blocking, starts, seat_xz)[0]
              for e in spec.cast}
    seats: dict[str, Seat] = {}
    if spec.set is not None:
        for p in spec.set.props:
            ref = props.get(p.asset)
            if ref is not None and p.asset not in seats:
                height = seat_height(ref.glb, p.scale) if ref.glb else 0.45
                seats[p.asset] = Seat(xz=p.position, height=height)
    for member, entry in zip(cast, spec.cast, strict=True):
        b = entry.blocking
        if not b.needs_track(entry.clip):
            continue
        mark, facing = final_mark(entry.position, entry.facing, b, marks0, seat_xz)
        member["position"] = [mark[0], 0.0, mark[1]]
        member["facing_deg"] = facing
        member["clip"] = None
        member["motion_key"] = key_of(
            "motion", BLOCKING_VERSION, entry.clip, asdict(b), entry.position, entry.facing,
            _identities(entry, clips), {k: (s.xz, round(s.height, 4)) for k, s in seats.items()},
            marks0, fps, frames)
        glb = skins[entry.character].glb
        if not glb:
            continue  # a dry run keys the shot; it needs no poses
        if ("rig", glb) not in clips.derived:
            from reskin.rigging.motion_glb import read_json, skin_rig

            clips.derived[("rig", glb)] = skin_rig(read_json(glb))
        rig = clips.derived[("rig", glb)]
        track = resolve_track(entry.character, entry.clip, b, entry.position, entry.facing,
                              rig.skeleton, skins[entry.character].content_hash, fps, frames,
                              clips, marks0, seats)
        member["motion"] = {
            "fps": fps, "joints": list(rig.skeleton.names),
            "rotations": np.round(track.rotations, 6).tolist(),
            "root": np.round(track.root, 5).tolist(),
            "facing_deg": np.round(track.facing, 3).tolist(),
        }


def blocking_warnings(shot: str, cast: list[dict], path: list[dict], heights: dict[str, float],
                      width: int, height: int, fps: int) -> list[str]:
    """Warnings for a compiled shot: cast members within :data:`COLLIDE_M` of each other while
    one of them moves, and members who leave the frame (in frame, then out)."""
    out = []
    roots = {}
    for c in cast:
        if c.get("motion"):
            roots[c["name"]] = np.array(c["motion"]["root"], np.float64)
        else:
            roots[c["name"]] = np.array([c["position"]] * len(path), np.float64)
    names = list(roots)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            n = min(len(roots[a]), len(roots[b]))
            d = np.linalg.norm(roots[a][:n, [0, 2]] - roots[b][:n, [0, 2]], axis=1)
            moving = np.zeros(n, bool)
            for r in (roots[a], roots[b]):
                if n > 1:
                    moving[1:] |= np.linalg.norm(np.diff(r[:n, [0, 2]], axis=0), axis=1) > 1e-4
            hit = np.flatnonzero((d < COLLIDE_M) & moving)
            if len(hit):
                k = int(hit[0])
                out.append(f"shot {shot}: {a} and {b} walk into each other at {k / fps:.2f} s "
                           f"({d[k]:.2f} m apart)")
    for c in cast:
        if not c.get("motion"):
            continue
        inside = np.array([_in_frame(roots[c["name"]][k], heights[c["name"]],
                                     path[min(k, len(path) - 1)], width / height)
                           for k in range(len(roots[c["name"]]))])
        left = np.flatnonzero(inside[:-1] & ~inside[1:])
        if len(left):
            out.append(f"shot {shot}: {c['name']} leaves the frame at "
                       f"{(left[0] + 1) / fps:.2f} s")
    return out


def _in_frame(root: np.ndarray, height: float, cam: dict, aspect: float) -> bool:
    """Whether the body's centre line (hips up to the head) has a point inside the frame."""
    loc, tgt = np.array(cam["location"]), np.array(cam["target"])
    fwd = tgt - loc
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= max(np.linalg.norm(right), 1e-9)
    up = np.cross(right, fwd)
    half_h = (cam.get("sensor_mm", 24.0) / 2) / cam["lens_mm"]
    for y in np.linspace(root[1], 0.93 * height, 4):
        p = np.array([root[0], y, root[2]]) - loc
        z = p @ fwd
        if z <= 0.05:
            continue
        if abs(p @ right / z) <= half_h * aspect and abs(p @ up / z) <= half_h:
            return True
    return False

