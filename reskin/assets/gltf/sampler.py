"""Animation sampling as the glTF 2.0 spec defines it (section "Animations / Interpolation").

STEP holds each key until the next; LINEAR slerps rotation quaternions along the shortest path
and lerps everything else; CUBICSPLINE is the Hermite spline through the keys with their in- and
out-tangents scaled by the key interval, rotations normalised after. Times before the first key
or after the last clamp to it.
"""

from __future__ import annotations

import numpy as np


def slerp(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Unit quaternions (s, 4) between ``a`` (s, 4) and ``b`` (s, 4) at fractions ``u`` (s,),
    along the shorter arc (``b`` is negated where the two are more than 180 degrees apart)."""
    b = np.where((np.einsum("ij,ij->i", a, b) < 0)[:, None], -b, b)
    dot = np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)
    theta = np.arccos(dot)
    small = theta < 1e-6
    sin = np.where(small, 1.0, np.sin(theta))
    wa = np.where(small, 1 - u, np.sin((1 - u) * theta) / sin)
    wb = np.where(small, u, np.sin(u * theta) / sin)
    q = wa[:, None] * a + wb[:, None] * b
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def sample(times: np.ndarray, values: np.ndarray, interpolation: str | None, at: np.ndarray,
           rotation: bool) -> np.ndarray:
    """One animation sampler's values (s, w) at times ``at`` (s,).

    times  : (k,) increasing key times (s)
    values : (k, w) key values, or (3k, w) for CUBICSPLINE (in-tangent, value, out-tangent
             per key)
    interpolation : "STEP", "LINEAR" (also for None) or "CUBICSPLINE"
    rotation : values are (x, y, z, w) quaternions (slerp, renormalised)
    """
    keys = np.asarray(times, np.float64).reshape(-1)
    vals = np.asarray(values, np.float64)
    at = np.asarray(at, np.float64)
    cubic = interpolation == "CUBICSPLINE"
    if cubic:
        tri = vals.reshape(len(keys), 3, -1)
        tin, vals, tout = tri[:, 0], tri[:, 1], tri[:, 2]
    t = np.clip(at, keys[0], keys[-1])
    i = np.clip(np.searchsorted(keys, t, side="right") - 1, 0, len(keys) - 1)
    i1 = np.minimum(i + 1, len(keys) - 1)
    dt = keys[i1] - keys[i]
    u = np.where(dt > 0, (t - keys[i]) / np.where(dt > 0, dt, 1.0), 0.0)
    if interpolation == "STEP" or len(keys) == 1:
        return vals[i]
    if cubic:
        u2, u3 = u * u, u * u * u
        h = [2 * u3 - 3 * u2 + 1, u3 - 2 * u2 + u, -2 * u3 + 3 * u2, u3 - u2]
        out = (h[0][:, None] * vals[i] + (h[1] * dt)[:, None] * tout[i]
               + h[2][:, None] * vals[i1] + (h[3] * dt)[:, None] * tin[i1])
        if rotation:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out
    if rotation:
        return slerp(vals[i], vals[i1], u)
    return (1 - u)[:, None] * vals[i] + u[:, None] * vals[i1]
