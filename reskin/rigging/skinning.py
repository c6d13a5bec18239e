"""Skinning on arrays: linear blend (LBS) and dual-quaternion (DQS), numpy and torch.

Both take rest vertices, per-vertex influences (joint index + weight, k per vertex) and the
skinning matrices ``world @ inverse(bind)`` of one frame (j, 4, 4) or of many (f, j, 4, 4).

LBS blends the matrices and is what glTF viewers and Blender's armature modifier do by default;
it collapses volume at twisting joints (the "candy wrapper"). DQS (Kavan et al. 2008, "Geometric
Skinning with Approximate Dual Quaternion Blending") blends rigid transforms as unit dual
quaternions instead, which keeps the blend rigid: it is Blender's "Preserve Volume". DQS assumes
rigid skinning matrices (rotation + translation); any scale in them is ignored.

Every function takes optional morph targets (``morphs``, a
:class:`reskin.rigging.morphs.MorphTargets`) and their weights (``morph_weights``, (k,) held for
every frame or (f, k) per frame): the mesh is morphed first, ``rest + sum_k w_k delta_k``, then
skinned, as glTF and Blender (shape keys, then armature) do. Only the vertices a target moves are
touched per frame; LBS adds their blended rotation times their offset to the operator's result.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix

from reskin.core.transforms import matrix_to_quat, quat_mul
from reskin.rigging.morphs import MorphTargets, morph_weights_for

if TYPE_CHECKING:
    import torch

# Frames per block of the many-frame path: bounds the (n, 3 * block) intermediate.
_FRAME_BLOCK = 64


def _frames(matrices: np.ndarray) -> tuple[np.ndarray, bool]:
    m = np.asarray(matrices, np.float64)
    if m.ndim == 3:
        return m[None], True
    if m.ndim != 4 or m.shape[-2:] != (4, 4):
        raise ValueError(f"matrices must be (j, 4, 4) or (f, j, 4, 4), got {m.shape}")
    return m, False


def _check(vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, n_joints: int) -> None:
    n = len(vertices)
    if vertices.shape != (n, 3):
        raise ValueError(f"vertices must be (n, 3), got {vertices.shape}")
    if joints.shape != weights.shape or joints.shape[0] != n:
        raise ValueError(f"joints {joints.shape} and weights {weights.shape} must be ({n}, k)")
    if joints.size and (joints.min() < 0 or joints.max() >= n_joints):
        raise ValueError(f"joint indices must be in [0, {n_joints})")


def skinning_operator(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, n_joints: int
) -> csr_matrix:
    """LBS as one sparse linear map: posed (n, 3) = A @ M, with A (n, 4 j) and M (4 j, 3).

    Row n of A holds w_nk * (x, y, z, 1) in the 4 columns of joint j_nk, and M stacks the
    transposed top 3x4 block of every skinning matrix. Many frames are one sparse-dense product
    with M (4 j, 3 f): the weights and rest positions are touched once, not once per frame.
    """
    v = np.asarray(vertices, np.float64)
    jn = np.asarray(joints, np.int64)
    w = np.asarray(weights, np.float64)
    _check(v, jn, w, n_joints)
    n, k = jn.shape
    vh = np.concatenate([v, np.ones((n, 1))], axis=1)  # (n, 4)
    vals = (w[:, :, None] * vh[:, None, :]).reshape(n, 4 * k)
    cols = (4 * jn[:, :, None] + np.arange(4)).reshape(n, 4 * k)
    rows = np.repeat(np.arange(n), 4 * k)
    a = csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(n, 4 * n_joints))
    a.sum_duplicates()  # the same joint in two slots of a row adds, as in the blend
    return a


def _morph_check(morphs: MorphTargets | None, morph_weights: np.ndarray | None, n: int,
                 frames: int) -> np.ndarray | None:
    """Morph weights as (frames, k), or None when there is nothing to morph."""
    if morphs is None:
        return None
    if morph_weights is None:
        raise ValueError("morphs given without morph_weights")
    if morphs.n_vertices != n:
        raise ValueError(f"morph targets are for {morphs.n_vertices} vertices, mesh has {n}")
    return morph_weights_for(morphs, morph_weights, frames)


def lbs(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, matrices: np.ndarray, *,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Pose rest vertices with linear blend skinning.

    vertices : (n, 3) rest positions
    joints   : (n, k) int joint index per influence
    weights  : (n, k) float, rows sum to 1
    matrices : (j, 4, 4) or (f, j, 4, 4) skinning matrices (world @ inverse bind)
    morphs, morph_weights : optional morph targets and weights (k,) or (f, k), applied first
    returns (n, 3) or (f, n, 3) float64 posed positions
    """
    mats, single = _frames(matrices)
    f, j = mats.shape[:2]
    mw = _morph_check(morphs, morph_weights, len(vertices), f)
    if f == 1:
        v = np.asarray(vertices, np.float64)
        jn = np.asarray(joints, np.int64)
        w = np.asarray(weights, np.float64)
        _check(v, jn, w, j)
        if mw is not None:
            v = v.copy()
            v[morphs.index] += morphs.offsets(mw)[0]
        # Blend the 3x4 affine parts per vertex, then apply once: cheaper than k transforms.
        blended = np.einsum("nk,nkij->nij", w, mats[0][jn, :3, :])  # (n, 3, 4)
        out = (np.einsum("nij,nj->ni", blended[..., :3], v) + blended[..., 3])[None]
    else:
        out = lbs_many(skinning_operator(vertices, joints, weights, j), mats,
                       morphs=morphs, morph_weights=mw)
    return out[0] if single else out


def lbs_many(
    operator: csr_matrix, matrices: np.ndarray, dtype: type = np.float64, *,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
) -> np.ndarray:
    """LBS of many frames through a precomputed :func:`skinning_operator`.

    operator : (n, 4 j) sparse; matrices : (f, j, 4, 4)
    morphs, morph_weights : optional morph targets and weights (k,) or (f, k), applied first
    returns (f, n, 3) posed positions in ``dtype`` (float32 halves the memory traffic)
    """
    mats = np.asarray(matrices)
    f, j = mats.shape[:2]
    if operator.shape[1] != 4 * j:
        raise ValueError(f"operator is for {operator.shape[1] // 4} joints, matrices have {j}")
    mw = _morph_check(morphs, morph_weights, operator.shape[0], f)
    op = operator.astype(dtype)
    if mw is not None:
        # LBS is linear in the position: posed(rest + d) = posed(rest) + R_blend d, where
        # R_blend is the weight blend of the joints' 3x3 parts, needed on the moved rows only.
        # The operator's homogeneous columns (every 4th) hold exactly those weights.
        blend_op = op[morphs.index][:, 3::4]  # (m, j)
        idx = morphs.index
    out = np.empty((f, operator.shape[0], 3), dtype)
    for s in range(0, f, _FRAME_BLOCK):
        block = mats[s : s + _FRAME_BLOCK, :, :3, :].astype(dtype)  # (b, j, 3, 4)
        b = len(block)
        # M[4 j + c, 3 t + r] = block[t, j, r, c]
        m = np.ascontiguousarray(block.transpose(1, 3, 0, 2)).reshape(4 * j, 3 * b)
        out[s : s + b] = (op @ m).reshape(-1, b, 3).transpose(1, 0, 2)
        if mw is not None:
            rot = np.ascontiguousarray(block[..., :3].transpose(1, 0, 2, 3)).reshape(j, 9 * b)
            r_blend = (blend_op @ rot).reshape(-1, b, 3, 3)  # (m, b, 3, 3)
            d = morphs.offsets(mw[s : s + b], dtype)  # (b, m, 3)
            dt = d.transpose(1, 0, 2)  # (m, b, 3); three broadcasts beat einsum's slow path
            corr = (r_blend[..., 0] * dt[..., :1] + r_blend[..., 1] * dt[..., 1:2]
                    + r_blend[..., 2] * dt[..., 2:])  # (m, b, 3)
            out[s : s + b, idx] += corr.transpose(1, 0, 2)
    return out


# ---- dual quaternions ---------------------------------------------------------------------


def matrices_to_dual_quats(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit dual quaternions of rigid 4x4 transforms.

    matrices : (..., 4, 4); returns real (..., 4) and dual (..., 4) parts (x, y, z, w), with
    dual = 0.5 * (t, 0) * real. Scale or shear in the matrices is dropped (orthonormalised out).
    """
    m = np.asarray(matrices, np.float64)
    # Polar decomposition's rotation: robust to float32 round-off in imported matrices.
    u, _, vt = np.linalg.svd(m[..., :3, :3])
    rot = u @ vt
    real = matrix_to_quat(rot)
    t = np.concatenate([m[..., :3, 3], np.zeros(m.shape[:-2] + (1,))], axis=-1)
    dual = 0.5 * quat_mul(t, real)
    return real, dual


def dqs(
    vertices: np.ndarray, joints: np.ndarray, weights: np.ndarray, matrices: np.ndarray, *,
    morphs: MorphTargets | None = None, morph_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Pose rest vertices with dual-quaternion skinning.

    vertices : (n, 3) rest positions; joints (n, k) int; weights (n, k) rows summing to 1
    matrices : (j, 4, 4) or (f, j, 4, 4) rigid skinning matrices (world @ inverse bind)
    morphs, morph_weights : optional morph targets and weights (k,) or (f, k), applied first
    returns (n, 3) or (f, n, 3) float64 posed positions

    Each influence's quaternion is flipped onto the hemisphere of the vertex's first influence
    (the heaviest, as :func:`reskin.rigging.weights.normalize_top_k` orders them), so the blend
    takes the short way round; a vertex with one influence moves exactly rigidly.
    """
    mats, single = _frames(matrices)
    v = np.asarray(vertices, np.float64)
    jn = np.asarray(joints, np.int64)
    w = np.asarray(weights, np.float64)
    _check(v, jn, w, mats.shape[1])
    mw = _morph_check(morphs, morph_weights, len(v), len(mats))
    real, dual = matrices_to_dual_quats(mats)  # (f, j, 4)
    out = np.empty((len(mats), len(v), 3))
    for s in range(0, len(mats), 8):  # (b, n, k, 4) gathers stay small
        r, d = real[s : s + 8][:, jn], dual[s : s + 8][:, jn]
        sign = np.where(np.einsum("bnkc,bnc->bnk", r, r[:, :, 0]) < 0, -1.0, 1.0)
        ws = w[None] * sign
        b0 = np.einsum("bnk,bnkc->bnc", ws, r)
        be = np.einsum("bnk,bnkc->bnc", ws, d)
        norm = np.linalg.norm(b0, axis=-1, keepdims=True)
        b0, be = b0 / norm, be / norm
        vb = v
        if mw is not None:
            vb = np.repeat(v[None], len(b0), axis=0)
            vb[:, morphs.index] += morphs.offsets(mw[s : s + 8])
        out[s : s + 8] = _apply_dq(b0, be, vb)
    return out[0] if single else out


def _apply_dq(real: np.ndarray, dual: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Transform points v (n, 3) by normalised dual quaternions (..., n, 4) -> (..., n, 3)."""
    q, w0 = real[..., :3], real[..., 3:]
    qe, we = dual[..., :3], dual[..., 3:]
    # Rotation: v + 2 q x (q x v + w v); translation: 2 (w0 qe - we q + q x qe).
    rot = v + 2.0 * np.cross(q, np.cross(q, v) + w0 * v)
    trans = 2.0 * (w0 * qe - we * q + np.cross(q, qe))
    return rot + trans


# ---- torch: batches of frames -------------------------------------------------------------


def skin_torch(
    vertices: np.ndarray | torch.Tensor,
    joints: np.ndarray | torch.Tensor,
    weights: np.ndarray | torch.Tensor,
    matrices: np.ndarray | torch.Tensor,
    *,
    method: str = "lbs",
    device: str | None = None,
    dtype: torch.dtype | None = None,
    frame_block: int = 64,
    morphs: MorphTargets | None = None,
    morph_weights: np.ndarray | torch.Tensor | None = None,
) -> torch.Tensor:
    """LBS or DQS of a batch of frames with torch (CPU or GPU), as :func:`lbs` and :func:`dqs`.

    vertices (n, 3); joints (n, k) int; weights (n, k); matrices (f, j, 4, 4)
    method   : "lbs" or "dqs"
    morphs, morph_weights : optional morph targets and weights (k,) or (f, k), applied first
    returns (f, n, 3) tensor on ``device`` in ``dtype`` (default float32)
    """
    import torch

    if method not in ("lbs", "dqs"):
        raise ValueError(f"method must be 'lbs' or 'dqs', got {method!r}")
    dtype = dtype or torch.float32
    dev = torch.device(device or "cpu")
    mats_np = matrices if isinstance(matrices, torch.Tensor) else np.asarray(matrices)
    if method == "dqs":
        # The dual quaternions of j joints are cheap; convert them once in float64.
        mats_np = mats_np.cpu().numpy() if isinstance(mats_np, torch.Tensor) else mats_np
        real, dual = matrices_to_dual_quats(mats_np)
        table = torch.as_tensor(np.concatenate([real, dual], axis=-1), dtype=dtype, device=dev)
    else:
        table = torch.as_tensor(mats_np, dtype=dtype, device=dev)[..., :3, :].flatten(-2)
    v = torch.as_tensor(vertices, dtype=dtype, device=dev)
    jn = torch.as_tensor(np.asarray(joints, np.int64) if not isinstance(joints, torch.Tensor)
                         else joints, device=dev).long()
    w = torch.as_tensor(weights, dtype=dtype, device=dev)
    f = table.shape[0]
    if isinstance(morph_weights, torch.Tensor):
        morph_weights = morph_weights.detach().cpu().numpy()
    mw = _morph_check(morphs, morph_weights, v.shape[0], f)
    if mw is not None:
        # (3 m, k) sparse deltas times (k, b) weights gives the moved vertices' offsets.
        dt = morphs.deltas.T.tocsr()
        deltas_t = _torch_csr(dt, dev, dtype)
        mw_t = torch.as_tensor(np.ascontiguousarray(mw), dtype=dtype, device=dev)
        idx = torch.as_tensor(morphs.index, device=dev)

        def offsets(s: int, b: int) -> torch.Tensor:  # (b, m, 3)
            return (deltas_t @ mw_t[s : s + b].T).reshape(-1, 3, b).permute(2, 0, 1)
    out = torch.empty((f, v.shape[0], 3), dtype=dtype, device=dev)
    if method == "lbs":
        # The sparse-operator form (see skinning_operator): one CSR x dense product per block,
        # several times faster than gathering (b, n, k, 12) matrices.
        op = skinning_operator(v.double().cpu().numpy(), jn.cpu().numpy(),
                               w.double().cpu().numpy(), table.shape[1])
        a = _torch_csr(op, dev, dtype)
        if mw is not None:  # as in lbs_many: the blended 3x3 parts of the moved rows
            blend_op = _torch_csr(op[morphs.index][:, 3::4].tocsr(), dev, dtype)
        j = table.shape[1]
        for s in range(0, f, frame_block):
            block = table[s : s + frame_block].unflatten(-1, (3, 4))  # (b, j, 3, 4)
            b = block.shape[0]
            m = block.permute(1, 3, 0, 2).reshape(4 * j, 3 * b)
            out[s : s + b] = (a @ m).reshape(-1, b, 3).transpose(0, 1)
            if mw is not None:
                rot = block[..., :3].permute(1, 0, 2, 3).reshape(j, 9 * b)
                r_blend = (blend_op @ rot).reshape(-1, b, 3, 3)  # (m, b, 3, 3)
                out[s : s + b, idx] += torch.einsum("mbrc,bmc->bmr", r_blend, offsets(s, b))
        return out
    for s in range(0, f, frame_block):
        g = table[s : s + frame_block][:, jn]  # (b, n, k, 8)
        r, d = g[..., :4], g[..., 4:]
        sign = torch.where((r * r[:, :, :1]).sum(-1) < 0, -1.0, 1.0).to(dtype)
        ws = w[None] * sign
        b0 = torch.einsum("bnk,bnkc->bnc", ws, r)
        be = torch.einsum("bnk,bnkc->bnc", ws, d)
        norm = b0.norm(dim=-1, keepdim=True)
        b0, be = b0 / norm, be / norm
        q, w0, qe, we = b0[..., :3], b0[..., 3:], be[..., :3], be[..., 3:]
        vb = v.expand_as(q)
        if mw is not None:
            vb = vb.clone()
            vb[:, idx] += offsets(s, q.shape[0])
        rot = vb + 2.0 * torch.cross(q, torch.cross(q, vb, dim=-1) + w0 * vb, dim=-1)
        trans = 2.0 * (w0 * qe - we * q + torch.cross(q, qe, dim=-1))
        out[s : s + frame_block] = rot + trans
    return out


def _torch_csr(m: csr_matrix, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(np.int64)),
            torch.from_numpy(m.indices.astype(np.int64)),
            torch.from_numpy(np.asarray(m.data, np.float64)), size=m.shape,
        ).to(device=device, dtype=dtype)
