"""The procedural face: eyeballs, eyelids, brows, lips, inner mouth and teeth, and its shapes.

Every feature is a closed piece made from one UV sphere whose points are mapped through a
parametric function of the face's *controls* (jaw opening, mouth width, smile, lid closure,
brow raise, gaze...). The rest face is the map at rest controls; a canonical channel
(:data:`reskin.rigging.face_names.CHANNELS`) is a set of controls, and its morph target is the
map at those controls minus the rest (plus the chin's skin following the jaw). So every shape
is exact and smooth, and moves only what the controls move (a blink only the lids, a look only
the eyeballs: gaze rotates them about the eye centre).

Pieces are built for the character's left (+X) and mirrored; "left" is the character's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FEATURE_PARTS: tuple[str, ...] = ("eye_sclera", "eye_iris", "eye_pupil", "eyelid", "lips",
                                  "mouth_inner", "teeth", "brows")
"""Parts of the face's separate pieces (after the body's parts in the generator's list)."""

UPPER_LID_V = (0.52, 1.0)
"""The v range of the upper lids' chart in the eyelid tile (v = 0.52 at the lid's edge): the
painter draws the lash line along it."""

GAZE_DEG = 25.0  # eyeball rotation of a full look shape
_PUPIL_DEG, _IRIS_DEG = 14.0, 33.0  # angular radii about the eye's forward axis

REST: dict[str, float] = {
    "jaw": 0.0, "wide": 0.0, "smile": 0.0, "lid_l": 0.0, "lid_r": 0.0, "low_l": 0.0,
    "low_r": 0.0, "brow_l": 0.0, "brow_r": 0.0, "brow_in": 0.0, "yaw": 0.0, "pitch": 0.0,
}
"""Face controls at rest. jaw 0..1 opens the mouth; wide -1 (pucker) .. 1 (spread); smile -1
(frown) .. 1; lid_* upper lid closure (1 shut, < 0 wide open); low_* lower lid raise; brow_*
raise (-1 down .. 1 up); brow_in inner brow raise (-1 angry .. 1 worried); yaw, pitch gaze in
degrees (+yaw to the character's left, +pitch up)."""

CHANNEL_CONTROLS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"wide": -0.15},
    "FF": {"jaw": 0.08, "wide": 0.15},
    "TH": {"jaw": 0.15, "wide": 0.1},
    "DD": {"jaw": 0.2, "wide": 0.15},
    "kk": {"jaw": 0.25, "wide": 0.1},
    "CH": {"jaw": 0.15, "wide": -0.5},
    "SS": {"jaw": 0.08, "wide": 0.4},
    "nn": {"jaw": 0.15, "wide": 0.1},
    "RR": {"jaw": 0.15, "wide": -0.35},
    "aa": {"jaw": 0.85, "wide": 0.1},
    "E": {"jaw": 0.45, "wide": 0.5},
    "I": {"jaw": 0.25, "wide": 0.7},
    "O": {"jaw": 0.55, "wide": -0.6},
    "U": {"jaw": 0.2, "wide": -0.9},
    "jawOpen": {"jaw": 1.0},
    "blinkLeft": {"lid_l": 1.0},
    "blinkRight": {"lid_r": 1.0},
    "happy": {"smile": 1.0, "wide": 0.3, "jaw": 0.1, "low_l": 0.35, "low_r": 0.35,
              "brow_l": 0.15, "brow_r": 0.15},
    "sad": {"smile": -0.8, "brow_in": 0.9, "lid_l": 0.25, "lid_r": 0.25},
    "angry": {"brow_in": -1.0, "brow_l": -0.5, "brow_r": -0.5, "smile": -0.3, "wide": -0.1,
              "low_l": 0.3, "low_r": 0.3},
    "surprised": {"brow_l": 1.0, "brow_r": 1.0, "lid_l": -0.4, "lid_r": -0.4, "jaw": 0.45,
                  "wide": -0.3},
    "relaxed": {"lid_l": 0.35, "lid_r": 0.35, "smile": 0.35},
    "browUp": {"brow_l": 1.0, "brow_r": 1.0},
    "browDown": {"brow_l": -1.0, "brow_r": -1.0},
    "lookUp": {"pitch": GAZE_DEG},
    "lookDown": {"pitch": -GAZE_DEG},
    "lookLeft": {"yaw": GAZE_DEG},
    "lookRight": {"yaw": -GAZE_DEG},
}
"""Each canonical face channel as face controls (the rest for those not named)."""

SkinZ = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FaceLayout:
    """Where the face's features go (metres, the generator's frame, before grounding).

    eye      : the left eyeball's centre; eye_r its radius
    mouth_y  : height of the lips' seam; mouth_w : half the mouth's width; lip : lip radius
    brow     : (thickness, depth) of a brow; hh : head height
    skin_z   : the face's front surface z at (x (k,), y (k,)) points, before the eye sockets
    chin_y, jaw_w, head_z : chin height, jaw half-width and the head's centre depth (the chin
               skin that follows the jaw lies between them)
    """

    eye: tuple[float, float, float]
    eye_r: float
    mouth_y: float
    mouth_w: float
    lip: float
    brow: tuple[float, float]
    hh: float
    skin_z: SkinZ
    chin_y: float
    jaw_w: float
    head_z: float


@dataclass(frozen=True)
class FaceMesh:
    """The face's pieces. vertices (k, 3) float64 at rest; faces (f, 3) int64 into them; part
    (f,) index into :data:`FEATURE_PARTS`; uv (k, 2) in [0, 1] inside the part's tile."""

    vertices: np.ndarray
    faces: np.ndarray
    part: np.ndarray
    uv: np.ndarray


# ----------------------------------------------------------------------------------------------
# A UV sphere as the parameter domain of every piece.


def _sphere(lats_deg: np.ndarray, segs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit sphere with its poles on +-X: rings at polar angles ``lats_deg`` (0 < a < 180,
    increasing, measured from +X), ``segs`` vertices a ring, one vertex per pole.

    Returns (points (k, 3), faces (f, 3) int64, polar angle per vertex (k,) degrees).
    """
    th = np.radians(np.asarray(lats_deg, float))
    ph = np.linspace(0.0, 2 * np.pi, segs, endpoint=False)
    ring = np.stack([np.repeat(np.cos(th), segs),
                     np.outer(np.sin(th), np.cos(ph)).ravel(),
                     np.outer(np.sin(th), np.sin(ph)).ravel()], axis=1)
    pts = np.vstack([[1.0, 0.0, 0.0], ring, [-1.0, 0.0, 0.0]])
    lat = np.r_[0.0, np.repeat(lats_deg, segs), 180.0]
    n_r = len(th)
    faces = []
    j = np.arange(segs)
    j2 = (j + 1) % segs
    faces.append(np.stack([np.zeros(segs, int), 1 + j2, 1 + j], 1))
    for r in range(n_r - 1):
        a, b = 1 + r * segs + j, 1 + r * segs + j2
        c, d = 1 + (r + 1) * segs + j, 1 + (r + 1) * segs + j2
        faces += [np.stack([a, b, d], 1), np.stack([a, d, c], 1)]
    last = len(pts) - 1
    faces.append(np.stack([np.full(segs, last), 1 + (n_r - 1) * segs + j,
                           1 + (n_r - 1) * segs + j2], 1))
    return pts, np.concatenate(faces).astype(np.int64), lat


def _outward(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``f`` wound so that the closed piece ``v[f]`` has positive volume."""
    t = v[f]
    vol = np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum()
    return f if vol > 0 else f[:, ::-1]


def _unit(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / max(hi - lo, 1e-12)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


# ----------------------------------------------------------------------------------------------
# Pieces: each maps the sphere's points (k, 3) and the controls to (k, 3) positions for the
# character's left (the mouth pieces span both sides).


def _rot(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    # Rotating about X by -pitch turns the forward axis (+Z) up (+Y) for a positive pitch.
    rx = np.array([[1, 0, 0], [0, math.cos(-p), -math.sin(-p)], [0, math.sin(-p), math.cos(-p)]])
    return ry @ rx


def _eyeball(lay: FaceLayout, P: np.ndarray, c: dict, side: int) -> np.ndarray:
    # Sphere points with the pole forward: (x, y, z) = (P1, P2, P0).
    p = lay.eye_r * np.stack([P[:, 1], P[:, 2], P[:, 0]], 1)
    yaw = c["yaw"] * side  # mirrored afterwards: the right eye turns the same way in the end
    return np.asarray(lay.eye) + p @ _rot(yaw, c["pitch"]).T


def _lid_params(P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(across -1..1, t 0 far edge .. 1 moving edge, thickness -1..1) of lid sphere points."""
    a, b, cc = P[:, 0], P[:, 1], P[:, 2]
    s = np.clip(b / np.maximum(np.sqrt(np.maximum(1 - a * a, 0.0)), 0.3), -1.0, 1.0)
    return a, s, cc


def _upper_lid(lay: FaceLayout, P: np.ndarray, c: dict, side: int) -> np.ndarray:
    a, s, th = _lid_params(P)
    close = c["lid_l" if side > 0 else "lid_r"]
    t = (1.0 - s) / 2.0
    phi_w = 75.0
    edge = 26.0 + close * (-22.0 - 26.0) - 30.0 * max(1.0 - close, 0.0) * a * a
    theta = np.radians(80.0 + t * (edge - 80.0))
    phi = np.radians(a * phi_w)
    r = lay.eye_r * (1.10 + 0.05 * th)
    d = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta), np.cos(theta) * np.cos(phi)], 1)
    return np.asarray(lay.eye) + r[:, None] * d


def _lower_lid(lay: FaceLayout, P: np.ndarray, c: dict, side: int) -> np.ndarray:
    a, s, th = _lid_params(P)
    close = c["lid_l" if side > 0 else "lid_r"]
    raise_ = c["low_l" if side > 0 else "low_r"] + 0.55 * max(close, 0.0)
    t = (1.0 + s) / 2.0
    phi_w = 75.0
    edge = -30.0 + 18.0 * raise_ + 24.0 * (1.0 - 0.5 * raise_) * a * a
    theta = np.radians(-75.0 + t * (edge + 75.0))
    phi = np.radians(a * phi_w)
    r = lay.eye_r * (1.07 + 0.04 * th)
    d = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta), np.cos(theta) * np.cos(phi)], 1)
    return np.asarray(lay.eye) + r[:, None] * d


def _brow(lay: FaceLayout, P: np.ndarray, c: dict, side: int) -> np.ndarray:
    a, b, cc = P[:, 0], P[:, 1], P[:, 2]
    r = lay.eye_r
    ex, ey, _ = lay.eye
    thick, depth = lay.brow
    s = -a  # -1 at the inner end (towards the nose), +1 at the outer end
    raise_ = c["brow_l" if side > 0 else "brow_r"]
    x = ex + 0.1 * r + s * 1.25 * r
    y0 = (ey + 1.55 * r + 0.25 * r * (1 - s * s) + 0.45 * r * raise_
          + 0.4 * r * c["brow_in"] * (1 - s) / 2)
    z = lay.skin_z(x, y0) + (0.15 + 0.5 * cc) * depth
    return np.stack([x, y0 + b * thick, z], 1)


def _mouth_frame(lay: FaceLayout, s: np.ndarray, c: dict):
    """Shared by the mouth pieces: (x, upper lip centre y, lower lip centre y, forward push,
    pucker) at positions ``s`` (-1..1) across the mouth."""
    L, w = lay.lip, lay.mouth_w
    pucker = max(-c["wide"], 0.0)
    wscale = 1.0 + 0.22 * c["wide"] + 0.08 * c["smile"]
    drop = 0.085 * lay.hh * c["jaw"]
    lift = c["smile"] * 0.25 * w * s * s
    taper = 1.0 - s * s
    yu = lay.mouth_y + 0.6 * L * taper + 0.08 * drop * taper + lift
    yl = lay.mouth_y - 0.65 * L * taper - drop * (1.0 - 0.55 * s * s) + lift
    return s * w * wscale, yu, yl, pucker * 0.9 * L, pucker


def _lip(lay: FaceLayout, P: np.ndarray, c: dict, upper: bool) -> np.ndarray:
    a, b, cc = P[:, 0], P[:, 1], P[:, 2]
    # The lower lip stops just short of the corners, where the upper lip's tips are: two
    # pieces touching at a point would weld into one non-manifold piece in any importer.
    x, yu, yl, push, pucker = _mouth_frame(lay, a if upper else 0.96 * a, c)
    radius = lay.lip * (0.85 if upper else 1.0) * (1.0 + 0.35 * pucker)
    yc = yu if upper else yl
    z = lay.skin_z(x, yc) + 0.35 * lay.lip + push
    return np.stack([x, yc + b * radius, z + cc * radius], 1)


def _spread(P: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a, b, cc = P[:, 0], P[:, 1], P[:, 2]
    bs = np.clip(b / np.maximum(np.sqrt(np.maximum(1 - a * a, 0.0)), floor), -1.0, 1.0)
    return a, bs, cc


def _inner_mouth(lay: FaceLayout, P: np.ndarray, c: dict) -> np.ndarray:
    a, bs, cc = _spread(P, 0.2)
    x, yu, yl, push, _ = _mouth_frame(lay, 0.96 * a, c)
    L = lay.lip
    mid, half = (yu + yl) / 2, (yu - yl) / 2 + 0.1 * L
    y = mid + bs * half
    z = lay.skin_z(x, mid) + (-0.2 + 0.75 * cc) * L + 0.6 * push
    return np.stack([x, y, z], 1)


def _teeth(lay: FaceLayout, P: np.ndarray, c: dict, upper: bool) -> np.ndarray:
    a, bs, cc = _spread(P, 0.6)
    # The teeth span the middle of the mouth: the lips there, not at the corners, cover them.
    x, yu, yl, push, _ = _mouth_frame(lay, 0.62 * a, c)
    L = lay.lip
    # Hidden behind the lips at rest; a band of them shows as the jaw opens.
    if upper:
        y = yu - 1.05 * L + bs * 0.55 * L
        z = lay.skin_z(x, yu - L) + (0.55 + 0.12 * cc) * L + 0.6 * push
    else:
        y = yl + 0.9 * L + bs * 0.45 * L
        z = lay.skin_z(x, yl + 0.9 * L) + (0.45 + 0.1 * cc) * L + 0.6 * push
    return np.stack([x, y, z], 1)


@dataclass(frozen=True)
class _Piece:
    part: str
    points: np.ndarray  # (k, 3) sphere parameters
    faces: np.ndarray
    lat: np.ndarray
    build: Callable[[dict], np.ndarray]  # controls -> (k, 3) positions, mirrored as needed
    uv: np.ndarray  # (k, 2)
    face_part: np.ndarray | None = None  # (f,) part names index override (the eyeball)


def _pieces(lay: FaceLayout) -> list[_Piece]:
    out: list[_Piece] = []
    mirror = np.array([-1.0, 1.0, 1.0])

    # Eyeballs: ring latitudes on the pupil's and the iris' edges keep those borders clean.
    lats = np.r_[_PUPIL_DEG / 2, _PUPIL_DEG, (_PUPIL_DEG + _IRIS_DEG) / 2, _IRIS_DEG,
                 np.linspace(_IRIS_DEG, 180.0, 14)[1:-1]]
    P, F, lat = _sphere(lats, 28)
    face_lat = lat[F].mean(axis=1)
    eye_part = np.where(face_lat < _PUPIL_DEG, FEATURE_PARTS.index("eye_pupil"),
                        np.where(face_lat < _IRIS_DEG, FEATURE_PARTS.index("eye_iris"),
                                 FEATURE_PARTS.index("eye_sclera")))
    eye_uv = np.stack([_unit(P[:, 1]), _unit(P[:, 2])], 1)
    lid_lats = np.linspace(0.0, 180.0, 22)[1:-1]
    LP, LF, llat = _sphere(lid_lats, 20)
    a, s, _ = _lid_params(LP)
    u = (a + 1) / 2
    v_lo, v_hi = UPPER_LID_V
    upper_uv = np.stack([u, v_lo + (v_hi - v_lo) * (1 + s) / 2], 1)
    lower_uv = np.stack([u, 0.48 * (1 - s) / 2], 1)
    BP, BF, blat = _sphere(np.linspace(0.0, 180.0, 14)[1:-1], 12)
    brow_uv = np.stack([(BP[:, 0] + 1) / 2, (BP[:, 1] + 1) / 2], 1)
    for side in (1, -1):
        m = mirror if side < 0 else np.ones(3)

        def at(fn, side=side, m=m):
            return lambda c: fn(c, side) * m

        out.append(_Piece("eye_sclera", P, F, lat,
                          at(lambda c, sd, P=P: _eyeball(lay, P, c, sd)), eye_uv, eye_part))
        out.append(_Piece("eyelid", LP, LF, llat,
                          at(lambda c, sd, P=LP: _upper_lid(lay, P, c, sd)), upper_uv))
        out.append(_Piece("eyelid", LP, LF, llat,
                          at(lambda c, sd, P=LP: _lower_lid(lay, P, c, sd)), lower_uv))
        out.append(_Piece("brows", BP, BF, blat,
                          at(lambda c, sd, P=BP: _brow(lay, P, c, sd)), brow_uv))

    MP, MF, mlat = _sphere(np.linspace(0.0, 180.0, 24)[1:-1], 14)
    mouth_uv = np.stack([(MP[:, 0] + 1) / 2, (MP[:, 1] + 1) / 2], 1)
    out.append(_Piece("lips", MP, MF, mlat, lambda c: _lip(lay, MP, c, True), mouth_uv))
    out.append(_Piece("lips", MP, MF, mlat, lambda c: _lip(lay, MP, c, False), mouth_uv))
    out.append(_Piece("mouth_inner", MP, MF, mlat, lambda c: _inner_mouth(lay, MP, c),
                      mouth_uv))
    TP, TF, tlat = _sphere(np.linspace(0.0, 180.0, 18)[1:-1], 10)
    teeth_uv = np.stack([(TP[:, 0] + 1) / 2, (TP[:, 1] + 1) / 2], 1)
    out.append(_Piece("teeth", TP, TF, tlat, lambda c: _teeth(lay, TP, c, True), teeth_uv))
    out.append(_Piece("teeth", TP, TF, tlat, lambda c: _teeth(lay, TP, c, False), teeth_uv))
    return out


def _controls(channel_controls: dict[str, float]) -> dict:
    unknown = set(channel_controls) - set(REST)
    if unknown:
        raise ValueError(f"unknown face controls {sorted(unknown)}")
    return {**REST, **channel_controls}


class FaceRig:
    """The face's pieces of one layout: the rest mesh and the pose of any controls."""

    def __init__(self, layout: FaceLayout):
        self.layout = layout
        self.pieces = _pieces(layout)
        rest = _controls({})
        verts, faces, parts, uvs = [], [], [], []
        base = 0
        for piece in self.pieces:
            v = piece.build(rest)
            f = _outward(v, piece.faces)
            verts.append(v)
            faces.append(f + base)
            if piece.face_part is not None:
                parts.append(piece.face_part)
            else:
                parts.append(np.full(len(f), FEATURE_PARTS.index(piece.part)))
            uvs.append(piece.uv)
            base += len(v)
        self.rest = FaceMesh(np.concatenate(verts), np.concatenate(faces),
                             np.concatenate(parts).astype(np.int64), np.concatenate(uvs))

    def pose(self, controls: dict[str, float]) -> np.ndarray:
        """(k, 3) float64 positions of the pieces at ``controls`` (rest for those not given)."""
        c = _controls(controls)
        return np.concatenate([p.build(c) for p in self.pieces])

    def chin_offsets(self, skin: np.ndarray, jaw: float) -> np.ndarray:
        """(h, 3) float64 offsets of the head's skin vertices ``skin`` (h, 3) that follow the
        jaw opening ``jaw`` (0..1): the chin and the skin under the lower lip drop with it."""
        lay = self.layout
        if jaw == 0.0:
            return np.zeros_like(skin)
        x, y, z = skin[:, 0], skin[:, 1], skin[:, 2]
        below = _smoothstep((lay.mouth_y - 0.2 * lay.lip - y) / (1.6 * lay.lip))
        above_neck = _smoothstep((y - (lay.chin_y - 0.12 * lay.hh)) / (0.1 * lay.hh))
        lateral = _smoothstep((lay.jaw_w - np.abs(x)) / (0.12 * lay.hh))
        front = _smoothstep((z - lay.head_z) / (0.15 * lay.hh))
        w = below * above_neck * lateral * front
        drop = 0.085 * lay.hh * jaw
        return np.stack([np.zeros_like(w), -drop * w, -0.25 * drop * w], 1)
