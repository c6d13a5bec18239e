"""The glTF validator's data rules, for the data reskin keeps: refuse or repair, never pass on.

What the Khronos validator checks in accessor data and in how objects fit together, checked on
a parsed document before it is re-emitted, so that an accepted file exports with 0 errors:

- animations: input times float scalars, >= 0 and strictly increasing (duplicate keys are
  dropped, a decreasing time is refused); output counts matching the inputs (x 3 for
  CUBICSPLINE, x morph targets for weights); output formats per path; rotations unit
  quaternions (near-unit ones normalised, recorded; zero or far from unit refused); no two
  channels driving the same property; TRS paths not on a node with a matrix;
- nodes: unit rotations (same rule), matrices decomposable to TRS, morph weight counts;
- primitives: attribute names, formats and counts; JOINTS/WEIGHTS in pairs, weights >= 0
  (small negatives clamped), a joint listed once per vertex; normals unit length (normalised,
  or dropped when zero); tangents valid or dropped; colours clamped to 0..1; morph targets
  matching their base; texture bindings having their TEXCOORD; the primitive-restart index.

:func:`conform_before` runs before :func:`reskin.assets.gltf.repair.repair` (which
renormalises weights), :func:`conform` after it. Each refusal is one line naming the field.
"""

from __future__ import annotations

import re

import numpy as np

from reskin.assets.gltf.read import GltfDocument, as_float
from reskin.assets.gltf.types import BYTE, FLOAT, SHORT, UNSIGNED_BYTE, UNSIGNED_INT, UNSIGNED_SHORT
from reskin.assets.validation import Report

QUAT_REPAIR_TOL = 0.1  # |len - 1| up to this is a sloppy exporter: normalised and recorded
_UNIT_TOL = 1e-5  # below this the validator is satisfied; above it the values are rewritten
_ATTR = re.compile(r"^(POSITION|NORMAL|TANGENT|(TEXCOORD|COLOR|JOINTS|WEIGHTS)_(\d+)|_.+)$")
_NORM_INT = {(BYTE, True), (UNSIGNED_BYTE, True), (SHORT, True), (UNSIGNED_SHORT, True)}


def _acc(doc: GltfDocument, i: int) -> dict:
    return doc.json["accessors"][i]


def _fmt(acc: dict) -> tuple[str, int, bool]:
    return acc.get("type"), acc.get("componentType"), bool(acc.get("normalized", False))


def _new_float(doc: GltfDocument, values: np.ndarray, like: dict) -> int:
    """Append ``values`` as a new float accessor of ``like``'s type; returns its index."""
    accessors = doc.json["accessors"]
    acc = {"componentType": FLOAT, "type": like["type"], "count": len(values)}
    if "name" in like:
        acc["name"] = like["name"]
    accessors.append(acc)
    doc.accessors[len(accessors) - 1] = np.ascontiguousarray(values, np.float32)
    return len(accessors) - 1


def _unit_quats(q: np.ndarray, report: Report, where: str) -> np.ndarray | None:
    """``q`` (n, 4) normalised when that is needed and allowed (None when already unit);
    refuses zero, non-finite or far-from-unit quaternions."""
    n = np.linalg.norm(q, axis=-1)
    if not np.isfinite(n).all() or (n == 0).any():
        report.fatal("bad_quaternion", "rotation quaternion is zero or not finite", where)
    off = np.abs(n - 1)
    if off.max(initial=0) > QUAT_REPAIR_TOL:
        k = int(np.argmax(off))
        report.fatal("bad_quaternion", f"rotation {k} has length {n.flat[k]:.3g}; a rotation "
                     f"must be a unit quaternion (within {QUAT_REPAIR_TOL})", where)
    if off.max(initial=0) <= _UNIT_TOL:
        return None
    if off.max() > 1e-3:
        report.add("quaternion_normalised", "repaired", f"normalised {int((off > 1e-3).sum())} "
                   f"rotation(s) of length {n.min():.4g}..{n.max():.4g}", where)
    return q / n[..., None]


def conform_before(doc: GltfDocument, report: Report) -> None:
    """Repairs that must precede weight renormalisation: negative weights clamped to 0."""
    for m, mesh in enumerate(doc.json.get("meshes", [])):
        for p, prim in enumerate(mesh["primitives"]):
            attrs = prim["attributes"]
            for name in [a for a in attrs if a.startswith("WEIGHTS_")]:
                acc = _acc(doc, int(attrs[name]))
                w = doc.accessors[int(attrs[name])]
                if w.dtype.kind == "f" and np.isfinite(w).all() and (w < 0).any():
                    where = f"meshes[{m}].primitives[{p}].attributes.{name}"
                    if w.min() < -0.01:
                        report.fatal("negative_weight", f"skin weight {w.min():.3g} is "
                                     "negative", where)
                    attrs[name] = _new_float(doc, np.maximum(w, 0), acc)
                    report.add("negative_weight", "repaired", "clamped small negative skin "
                               "weights to 0", where)


def conform(doc: GltfDocument, report: Report) -> None:
    """Check (and where safe repair) everything listed in the module docstring, in place."""
    _skins(doc)
    _nodes(doc, report)
    _meshes(doc, report)
    _animations(doc, report)


def _skins(doc: GltfDocument) -> None:
    """Inverse bind matrices with a last row of exactly 0 0 0 1 (repair.check_skins refused
    those that are not affine within 1e-5; the validator wants it exact)."""
    for skin in doc.json.get("skins", []):
        if "inverseBindMatrices" not in skin:
            continue
        a = int(skin["inverseBindMatrices"])
        m = doc.accessors[a].reshape(-1, 16)
        if (m[:, [3, 7, 11, 15]] != (0, 0, 0, 1)).any():
            fixed = m.copy()
            fixed[:, [3, 7, 11, 15]] = (0, 0, 0, 1)
            skin["inverseBindMatrices"] = _new_float(doc, fixed, _acc(doc, a))


def _targets_count(js: dict, mesh: int) -> int:
    prims = js["meshes"][mesh]["primitives"]
    return len(prims[0].get("targets", []))


def _nodes(doc: GltfDocument, report: Report) -> None:
    js = doc.json
    nodes = js.get("nodes", [])
    roots = {int(n) for s in js.get("scenes", []) for n in s.get("nodes", [])}
    children = {int(c) for node in nodes for c in node.get("children", [])}
    if roots & children:
        report.fatal("scene_non_root", f"node {min(roots & children)} is listed as a scene "
                     "root but is another node's child", "scenes")
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if "rotation" in node:
            q = _unit_quats(np.asarray(node["rotation"], np.float64)[None], report,
                            f"{where}.rotation")
            if q is not None:
                node["rotation"] = [float(x) for x in q[0]]
        if "matrix" in node:
            m = np.asarray(node["matrix"], np.float64).reshape(4, 4).T
            lin = m[:3, :3]
            gram = lin.T @ lin
            size = max(float(np.abs(gram).max()), 1e-30)
            off = gram - np.diag(np.diag(gram))
            if np.abs(m[3] - (0, 0, 0, 1)).max() > 1e-6 or np.abs(off).max() > 1e-4 * size \
                    or abs(np.linalg.det(lin)) <= 1e-12 * size ** 1.5:
                report.fatal("matrix_not_trs", "matrix is not a translation, rotation and "
                             "scale (sheared, projective or singular)", f"{where}.matrix")
        if "mesh" in node:
            n_targets = _targets_count(js, int(node["mesh"]))
            if "weights" in node and len(node["weights"]) != n_targets:
                report.fatal("bad_weights", f"{len(node['weights'])} morph weights for "
                             f"{n_targets} morph targets", f"{where}.weights")
            if "skin" in node and not any(a.startswith("JOINTS_") for prim in
                                          js["meshes"][int(node["mesh"])]["primitives"]
                                          for a in prim["attributes"]):
                report.fatal("skin_without_joints", "node has a skin but its mesh has no "
                             "JOINTS_0/WEIGHTS_0", f"{where}.skin")


def _check_format(acc: dict, allowed: set, report: Report, where: str) -> None:
    t, c, norm = _fmt(acc)
    if (t, c, norm) not in allowed:
        report.fatal("bad_accessor_format", f"accessor format {t}/{c}"
                     f"{' normalized' if norm else ''} is not allowed here", where)


def _formats(types: tuple[str, ...], comps: set[tuple[int, bool]]) -> set:
    return {(t, c, n) for t in types for c, n in comps}


def _attribute_formats(js: dict) -> dict[str, set]:
    quant = "KHR_mesh_quantization" in js.get("extensionsUsed", [])
    flt = {(FLOAT, False)}
    q_pos = {(BYTE, False), (BYTE, True), (UNSIGNED_BYTE, False), (UNSIGNED_BYTE, True),
             (SHORT, False), (SHORT, True), (UNSIGNED_SHORT, False), (UNSIGNED_SHORT, True)}
    q_nrm = {(BYTE, True), (SHORT, True)}
    return {
        "POSITION": _formats(("VEC3",), flt | (q_pos if quant else set())),
        "NORMAL": _formats(("VEC3",), flt | (q_nrm if quant else set())),
        "TANGENT": _formats(("VEC4",), flt | (q_nrm if quant else set())),
        "TEXCOORD": _formats(("VEC2",), flt | {(UNSIGNED_BYTE, True), (UNSIGNED_SHORT, True)}
                             | (q_pos if quant else set())),
        "COLOR": _formats(("VEC3", "VEC4"), flt | {(UNSIGNED_BYTE, True),
                                                    (UNSIGNED_SHORT, True)}),
        "JOINTS": _formats(("VEC4",), {(UNSIGNED_BYTE, False), (UNSIGNED_SHORT, False)}),
        "WEIGHTS": _formats(("VEC4",), flt | {(UNSIGNED_BYTE, True), (UNSIGNED_SHORT, True)}),
    }


def _texcoords_needed(js: dict, prim: dict) -> set[int]:
    """TEXCOORD sets the primitive's material binds textures to."""
    if "material" not in prim:
        return set()
    mat = js["materials"][int(prim["material"])]
    infos = [mat.get(k) for k in ("normalTexture", "occlusionTexture", "emissiveTexture")]
    pbr = mat.get("pbrMetallicRoughness", {})
    infos += [pbr.get("baseColorTexture"), pbr.get("metallicRoughnessTexture")]
    return {int(i.get("texCoord", 0)) for i in infos if i}


def _meshes(doc: GltfDocument, report: Report) -> None:
    js = doc.json
    formats = _attribute_formats(js)
    for m, mesh in enumerate(js.get("meshes", [])):
        n_targets = {len(p.get("targets", [])) for p in mesh["primitives"]}
        if len(n_targets) > 1:
            report.fatal("unequal_targets", "primitives have different numbers of morph "
                         "targets", f"meshes[{m}]")
        if "weights" in mesh and len(mesh["weights"]) != n_targets.pop():
            report.fatal("bad_weights", "morph weights do not match the morph targets",
                         f"meshes[{m}].weights")
        for p, prim in enumerate(mesh["primitives"]):
            _primitive(doc, prim, formats, report, f"meshes[{m}].primitives[{p}]")


def _primitive(doc: GltfDocument, prim: dict, formats: dict, report: Report, where: str) -> None:
    js = doc.json
    attrs = prim["attributes"]
    sets: dict[str, set[int]] = {}
    for name in list(attrs):
        match = _ATTR.match(name)
        if not match:
            report.fatal("bad_attribute", f"{name!r} is not a glTF attribute name",
                         f"{where}.attributes")
        if match.group(2):
            sets.setdefault(match.group(2), set()).add(int(match.group(3)))
        kind = match.group(2) or name
        if kind in formats:
            _check_format(_acc(doc, int(attrs[name])), formats[kind], report,
                          f"{where}.attributes.{name}")
    for kind, ids in sets.items():
        if ids != set(range(len(ids))):
            report.fatal("bad_attribute", f"{kind}_n sets must be numbered 0, 1, ... without "
                         "gaps", f"{where}.attributes")
    if sets.get("JOINTS", set()) != sets.get("WEIGHTS", set()):
        report.fatal("bad_attribute", "JOINTS_n and WEIGHTS_n must come in pairs",
                     f"{where}.attributes")
    counts = {int(_acc(doc, int(a))["count"]) for a in attrs.values()}
    if len(counts) > 1:
        report.fatal("unequal_counts", "attributes have different vertex counts "
                     f"({', '.join(map(str, sorted(counts)))})", f"{where}.attributes")
    n = counts.pop()
    missing_uv = {t for t in _texcoords_needed(js, prim) if f"TEXCOORD_{t}" not in attrs}
    if missing_uv:
        # Viewers sample such a texture at (0, 0) anyway; say so in the file, so it is valid.
        for t in range(max(missing_uv) + 1):
            if f"TEXCOORD_{t}" not in attrs:
                attrs[f"TEXCOORD_{t}"] = _new_float(doc, np.zeros((n, 2)), {"type": "VEC2"})
        report.add("missing_texcoord", "repaired", "the material binds a texture but the "
                   "primitive has no texture coordinates: set them to (0, 0)", where)
    for t, target in enumerate(prim.get("targets", [])):
        for name in [k for k in target if k in ("NORMAL", "TANGENT") and k not in attrs]:
            del target[name]  # its base was dropped (broken); the offsets mean nothing alone
            report.add("bad_target", "repaired", f"dropped morph {name} offsets: the primitive "
                       f"has no {name}", f"{where}.targets[{t}]")
        for name, a in target.items():
            tw = f"{where}.targets[{t}].{name}"
            if name not in attrs:
                report.fatal("bad_target", f"morph target {name} has no base attribute", tw)
            if int(_acc(doc, int(a))["count"]) != n:
                report.fatal("bad_target", "morph target has a different vertex count", tw)
            if name in ("POSITION", "NORMAL", "TANGENT"):
                _check_format(_acc(doc, int(a)), _formats(("VEC3",), {(FLOAT, False)})
                              | (formats["NORMAL"] - _formats(("VEC3",), {(FLOAT, False)})),
                              report, tw)
    if "NORMAL" in attrs:
        _normals(doc, prim, report, where)
    if "TANGENT" in attrs:
        _tangents(doc, prim, report, where)
    for name in [a for a in attrs if a.startswith("COLOR_")]:
        c = doc.accessors[int(attrs[name])]
        if c.dtype.kind == "f" and ((c < 0) | (c > 1)).any():
            attrs[name] = _new_float(doc, np.clip(c, 0, 1), _acc(doc, int(attrs[name])))
            report.add("color_clamped", "repaired", f"clamped {name} to 0..1", where)
    _joints(doc, prim, report, where)
    if "indices" in prim:
        idx = doc.accessors[int(prim["indices"])]
        acc = _acc(doc, int(prim["indices"]))
        _check_format(acc, _formats(("SCALAR",), {(UNSIGNED_BYTE, False),
                                                  (UNSIGNED_SHORT, False),
                                                  (UNSIGNED_INT, False)}), report,
                      f"{where}.indices")
        if len(idx) and int(idx.max()) == np.iinfo(idx.dtype).max:
            # The all-ones value means "primitive restart"; store the indices wider.
            wide = idx.astype(np.uint32)
            accessors = js["accessors"]
            accessors.append({"componentType": UNSIGNED_INT, "type": "SCALAR",
                              "count": len(wide)})
            doc.accessors[len(accessors) - 1] = wide
            prim["indices"] = len(accessors) - 1


def _drop(prim: dict, name: str) -> None:
    """Remove attribute ``name`` from the primitive and from its morph targets."""
    del prim["attributes"][name]
    for target in prim.get("targets", []):
        target.pop(name, None)


def _normals(doc: GltfDocument, prim: dict, report: Report, where: str) -> None:
    attrs = prim["attributes"]
    a = int(attrs["NORMAL"])
    v = as_float(doc, a)
    length = np.linalg.norm(v, axis=1)
    if not len(v) or np.abs(length - 1).max() <= 5e-4:
        return
    if (length < 1e-6).any() or not np.isfinite(length).all():
        _drop(prim, "NORMAL")
        report.add("bad_normals", "repaired", "dropped NORMAL: some normals have zero length "
                   "(viewers recompute them)", where)
        return
    attrs["NORMAL"] = _new_float(doc, v / length[:, None], _acc(doc, a))
    report.add("bad_normals", "repaired", f"normalised NORMAL (lengths {length.min():.3g}.."
               f"{length.max():.3g})", where)


def _tangents(doc: GltfDocument, prim: dict, report: Report, where: str) -> None:
    attrs = prim["attributes"]
    v = as_float(doc, int(attrs["TANGENT"]))
    length = np.linalg.norm(v[:, :3], axis=1)
    if len(v) and (np.abs(length - 1).max() > 5e-4 or not np.isin(v[:, 3], (-1.0, 1.0)).all()):
        _drop(prim, "TANGENT")
        report.add("bad_tangents", "repaired", "dropped TANGENT: not unit vectors with a w of "
                   "1 or -1 (viewers recompute them)", where)


def _joints(doc: GltfDocument, prim: dict, report: Report, where: str) -> None:
    attrs = prim["attributes"]
    sets = sorted(int(a.split("_")[1]) for a in attrs if a.startswith("JOINTS_"))
    if not sets:
        return
    joints = np.concatenate([doc.accessors[int(attrs[f"JOINTS_{k}"])].astype(np.int64)
                             for k in sets], axis=1)
    weights = np.concatenate([as_float(doc, int(attrs[f"WEIGHTS_{k}"])) for k in sets], axis=1)
    srt = np.sort(np.where(weights > 0, joints, -1 - np.arange(joints.shape[1])), axis=1)
    dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
    if dup.any():
        v = int(np.argmax(dup.any(axis=1)))
        report.fatal("duplicate_joint", f"vertex {v} lists the same joint twice",
                     f"{where}.attributes.JOINTS_0")


def _animations(doc: GltfDocument, report: Report) -> None:
    js = doc.json
    nodes = js.get("nodes", [])
    for a, anim in enumerate(js.get("animations", [])):
        seen: dict[tuple[int, str], int] = {}
        for c, channel in enumerate(anim["channels"]):
            target = channel["target"]
            if "node" not in target:
                continue
            where = f"animations[{a}].channels[{c}]"
            key = (int(target["node"]), target["path"])
            if key in seen:
                report.fatal("duplicate_target", f"drives the same property as channel "
                             f"{seen[key]}", f"{where}.target")
            seen[key] = c
            node = nodes[key[0]]
            if key[1] != "weights" and "matrix" in node:
                report.fatal("target_matrix", "animates translation/rotation/scale of a node "
                             "that has a matrix", f"{where}.target")
            morphs = _targets_count(js, int(node["mesh"])) if "mesh" in node else 0
            if key[1] == "weights" and not morphs:
                report.fatal("target_weights", "animates morph weights of a node without "
                             "morph targets", f"{where}.target")
            s = int(channel["sampler"])
            _sampler(doc, anim["samplers"][s], key[1], morphs, report,
                     f"animations[{a}].samplers[{s}]")


def _sampler(doc: GltfDocument, sampler: dict, path: str, morphs: int, report: Report,
             where: str) -> None:
    i_acc = int(sampler["input"])
    _check_format(_acc(doc, i_acc), {("SCALAR", FLOAT, False)}, report, f"{where}.input")
    times = doc.accessors[i_acc].astype(np.float64).reshape(-1)
    cubic = sampler.get("interpolation") == "CUBICSPLINE"
    if len(times) < (2 if cubic else 1):
        report.fatal("few_keys", f"{len(times)} key(s) is too few", f"{where}.input")
    if (times < 0).any():
        report.fatal("negative_time", f"key time {times.min():.4g} is negative", f"{where}.input")
    o_acc = int(sampler["output"])
    out_acc = _acc(doc, o_acc)
    width = morphs if path == "weights" else 1
    expect = len(times) * (3 if cubic else 1) * width
    if int(out_acc["count"]) != expect:
        report.fatal("output_count", f"output has {out_acc['count']} values for {len(times)} "
                     f"key times (expected {expect})", f"{where}.output")
    vec = {"translation": ("VEC3",), "scale": ("VEC3",), "rotation": ("VEC4",),
           "weights": ("SCALAR",)}[path]
    comps = {(FLOAT, False)} | (_NORM_INT if path in ("rotation", "weights") else set())
    _check_format(out_acc, _formats(vec, comps), report, f"{where}.output")
    dt = np.diff(times)
    if (dt < 0).any():
        k = int(np.argmax(dt < 0)) + 1
        report.fatal("time_decreasing", f"key time {k} ({times[k]:.4g}) is before key {k - 1} "
                     f"({times[k - 1]:.4g}): times must increase", f"{where}.input")
    if path == "rotation":
        values = as_float(doc, o_acc).reshape(len(times), 3 if cubic else 1, 4)
        mid = values[:, 1 if cubic else 0]
        fixed = _unit_quats(mid, report, f"{where}.output")
        if fixed is not None:
            values[:, 1 if cubic else 0] = fixed
            sampler["output"] = o_acc = _new_float(doc, values.reshape(-1, 4), out_acc)
    if (dt == 0).any():
        keep = np.concatenate([[True], dt > 0])  # the first of equal times
        per = (3 if cubic else 1) * width
        vals = as_float(doc, o_acc)
        rows = np.repeat(keep, per)
        sampler["input"] = _new_float(doc, times[keep], _acc(doc, i_acc))
        sampler["output"] = _new_float(doc, vals[rows], _acc(doc, o_acc))
        report.add("duplicate_keys", "repaired", f"dropped {int((~keep).sum())} key(s) at a "
                   "time already keyed", f"{where}.input")
