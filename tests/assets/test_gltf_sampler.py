"""The one glTF animation sampler follows the spec: slerp, Hermite splines, STEP, clamping."""

from __future__ import annotations

import numpy as np
import pytest

from reskin.assets.gltf.sampler import sample


def _angle_deg(q: np.ndarray) -> np.ndarray:
    """Rotation angle (degrees) of (s, 4) unit quaternions (x, y, z, w)."""
    return np.degrees(2 * np.arctan2(np.linalg.norm(q[:, :3], axis=1), np.abs(q[:, 3])))


def _z_rotation(deg: float) -> np.ndarray:
    h = np.radians(deg) / 2
    return np.array([0.0, 0.0, np.sin(h), np.cos(h)])


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["same_hemisphere", "negated_key"])
def test_linear_rotation_is_slerp_along_the_shortest_arc(sign):
    keys = np.array([0.0, 2.0])
    values = np.stack([_z_rotation(0), sign * _z_rotation(90)])
    at = np.array([1.0, 0.5, 1.5])  # u = 1/2, 1/4, 3/4
    q = sample(keys, values, "LINEAR", at, rotation=True)
    assert _angle_deg(q[:1])[0] == pytest.approx(45.0, abs=1e-12)
    # slerp turns at constant speed (nlerp would be 0.92 degrees off at u = 0.22)
    np.testing.assert_allclose(_angle_deg(q), [45.0, 22.5, 67.5], atol=1e-10)
    np.testing.assert_allclose(q[0], _z_rotation(45), atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)


def test_linear_non_rotation_is_lerp():
    out = sample(np.array([1.0, 3.0]), np.array([[0.0, 10.0], [4.0, -10.0]]), "LINEAR",
                 np.array([1.5, 2.0]), rotation=False)
    np.testing.assert_allclose(out, [[1.0, 5.0], [2.0, 0.0]])


def test_cubicspline_matches_the_hermite_formula_with_scaled_tangents():
    keys = np.array([1.0, 3.0, 4.0])
    # (in-tangent, value, out-tangent) per key, as the spec lays them out
    a = np.array([[0.3, -1.0], [2.0, 0.5], [-1.0, 1.0]])  # in-tangents
    v = np.array([[0.0, 1.0], [1.0, -2.0], [3.0, 0.0]])  # values
    b = np.array([[1.5, 0.25], [-0.5, 4.0], [0.7, 0.0]])  # out-tangents
    values = np.stack([a, v, b], axis=1).reshape(-1, 2)
    at = np.array([1.0, 1.4, 2.0, 2.9, 3.0, 3.25, 3.8, 4.0])
    out = sample(keys, values, "CUBICSPLINE", at, rotation=False)
    for t, got in zip(at, out, strict=True):
        k = min(int(np.searchsorted(keys, t, side="right")) - 1, len(keys) - 2)
        td = keys[k + 1] - keys[k]
        s = (t - keys[k]) / td
        want = ((2 * s**3 - 3 * s**2 + 1) * v[k] + td * (s**3 - 2 * s**2 + s) * b[k]
                + (-2 * s**3 + 3 * s**2) * v[k + 1] + td * (s**3 - s**2) * a[k + 1])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the keys themselves are hit exactly
    np.testing.assert_allclose(out[[0, 4, 7]], v)


def test_cubicspline_rotation_is_normalised():
    keys = np.array([0.0, 1.0])
    zero = np.zeros(4)
    values = np.stack([zero, _z_rotation(0), np.array([0.0, 0.0, 1.0, 0.0]),
                       zero, _z_rotation(90), zero])
    q = sample(keys, values, "CUBICSPLINE", np.linspace(0, 1, 9), rotation=True)
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-14)


def test_step_holds_each_key_until_the_next():
    keys = np.array([0.0, 1.0, 2.0])
    values = np.array([[1.0], [5.0], [-3.0]])
    out = sample(keys, values, "STEP", np.array([0.0, 0.5, 0.999, 1.0, 1.7, 2.0]), False)
    np.testing.assert_array_equal(out[:, 0], [1, 1, 1, 5, 5, -3])


@pytest.mark.parametrize("interpolation", ["STEP", "LINEAR", "CUBICSPLINE"])
def test_times_outside_the_keys_clamp(interpolation):
    keys = np.array([0.5, 1.0, 2.0])
    v = np.array([[0.0, 1.0, 0.0], [2.0, 2.0, 2.0], [7.0, -1.0, 3.0]])
    values = np.repeat(v, 3, axis=0) if interpolation == "CUBICSPLINE" else v
    out = sample(keys, values, interpolation, np.array([-10.0, 0.0, 0.5, 2.0, 2.5, 99.0]),
                 rotation=False)
    np.testing.assert_array_equal(out, v[[0, 0, 0, 2, 2, 2]])


def test_a_single_key_is_held():
    q = np.array([[0.0, 0.6, 0.0, 0.8]])
    for interpolation in ("STEP", "LINEAR"):
        out = sample(np.array([0.3]), q, interpolation, np.array([0.0, 0.3, 5.0]), True)
        np.testing.assert_array_equal(out, np.repeat(q, 3, axis=0))
