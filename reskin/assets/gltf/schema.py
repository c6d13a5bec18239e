"""The glTF 2.0 JSON schema, for the properties reskin keeps: types, ranges, enums, references.

What the Khronos validator reports as a schema or link error in the JSON of a file reskin
re-emits (nodes, scenes, meshes, materials, textures, samplers, images, skins, animations,
cameras) is refused here with one line naming the field (``nodes[3].rotation``), or repaired
where nothing is guessed: an empty optional list is dropped, an extension object the file
forgot to declare in ``extensionsUsed`` is declared. Accessors, buffers and buffer views are
checked where they are decoded (:mod:`reskin.assets.gltf.accessors`) and rewritten on export.
"""

from __future__ import annotations

import math

from reskin.assets.validation import Report
from reskin.core.errors import ReskinError

_INDEX = ("int", 0, None)
_UNIT = ("num", 0.0, 1.0)

# One table per object kind: field -> rule. Rules: "str", "bool", "obj", "any",
# ("int", lo, hi), ("num", lo, hi), ("ref", collection), ("refs", collection),
# ("nums", length or None, lo, hi), ("enum", values), ("sub", kind), ("subs", kind),
# ("refmap", collection), ("refmaps", collection). A field in REQUIRED must be present.
SPEC: dict[str, dict[str, object]] = {
    "root": {"scene": ("ref", "scenes"), "scenes": ("subs", "scene"), "nodes": ("subs", "node"),
             "meshes": ("subs", "mesh"), "materials": ("subs", "material"),
             "textures": ("subs", "texture"), "images": ("subs", "image"),
             "samplers": ("subs", "sampler"), "skins": ("subs", "skin"),
             "animations": ("subs", "animation"), "cameras": ("subs", "camera"),
             "accessors": ("subs", "accessor"),
             "extensionsUsed": ("strs",), "extensionsRequired": ("strs",),
             "asset": ("sub", "asset")},
    "asset": {"version": "str", "generator": "str", "copyright": "str", "minVersion": "str"},
    "scene": {"nodes": ("refs", "nodes"), "name": "str"},
    "node": {"camera": ("ref", "cameras"), "children": ("refs", "nodes"), "skin": ("ref", "skins"),
             "matrix": ("nums", 16, None, None), "mesh": ("ref", "meshes"),
             "rotation": ("nums", 4, -1.0, 1.0), "scale": ("nums", 3, None, None),
             "translation": ("nums", 3, None, None), "weights": ("nums", None, None, None),
             "name": "str"},
    "mesh": {"primitives": ("subs", "primitive"), "weights": ("nums", None, None, None),
             "name": "str"},
    "primitive": {"attributes": ("refmap", "accessors"), "indices": ("ref", "accessors"),
                  "material": ("ref", "materials"), "mode": ("enum", (0, 1, 2, 3, 4, 5, 6)),
                  "targets": ("refmaps", "accessors")},
    "material": {"name": "str", "pbrMetallicRoughness": ("sub", "pbr"),
                 "normalTexture": ("sub", "texinfo"), "occlusionTexture": ("sub", "texinfo"),
                 "emissiveTexture": ("sub", "texinfo"), "emissiveFactor": ("nums", 3, 0.0, 1.0),
                 "alphaMode": ("enum", ("OPAQUE", "MASK", "BLEND")),
                 "alphaCutoff": ("num", 0.0, None), "doubleSided": "bool"},
    "pbr": {"baseColorFactor": ("nums", 4, 0.0, 1.0), "baseColorTexture": ("sub", "texinfo"),
            "metallicFactor": _UNIT, "roughnessFactor": _UNIT,
            "metallicRoughnessTexture": ("sub", "texinfo")},
    "texinfo": {"index": ("ref", "textures"), "texCoord": _INDEX, "scale": ("num", None, None),
                "strength": _UNIT},
    "texture": {"sampler": ("ref", "samplers"), "source": ("ref", "images"), "name": "str"},
    "sampler": {"magFilter": ("enum", (9728, 9729)),
                "minFilter": ("enum", (9728, 9729, 9984, 9985, 9986, 9987)),
                "wrapS": ("enum", (33071, 33648, 10497)), "wrapT": ("enum", (33071, 33648, 10497)),
                "name": "str"},
    "image": {"name": "str"},
    # the rest of an accessor is checked where it is decoded, and rewritten on export
    "accessor": {"normalized": "bool", "name": "str"},
    # joints and inverseBindMatrices: repair.check_skins, which names the joint at fault
    "skin": {"inverseBindMatrices": "any", "skeleton": ("ref", "nodes"), "joints": "any",
             "name": "str"},
    "animation": {"channels": ("subs", "channel"), "samplers": ("subs", "anim_sampler"),
                  "name": "str"},
    "channel": {"sampler": _INDEX, "target": ("sub", "target")},
    "target": {"node": ("ref", "nodes"),
               "path": ("enum", ("translation", "rotation", "scale", "weights"))},
    "anim_sampler": {"input": ("ref", "accessors"), "output": ("ref", "accessors"),
                     "interpolation": ("enum", ("LINEAR", "STEP", "CUBICSPLINE"))},
    "camera": {"type": ("enum", ("perspective", "orthographic")),
               "perspective": ("sub", "perspective"), "orthographic": ("sub", "orthographic"),
               "name": "str"},
    "perspective": {"aspectRatio": ("num", 0.0, None), "yfov": ("num", 0.0, None),
                    "zfar": ("num", 0.0, None), "znear": ("num", 0.0, None)},
    "KHR_texture_transform": {"offset": ("nums", 2, None, None), "rotation": ("num", None, None),
                              "scale": ("nums", 2, None, None), "texCoord": _INDEX},
    "orthographic": {"xmag": ("num", None, None), "ymag": ("num", None, None),
                     "zfar": ("num", 0.0, None), "znear": ("num", 0.0, None)},
}
EXTENSIONS = {"KHR_texture_transform"}
REQUIRED = {"root": ("asset",), "asset": ("version",), "mesh": ("primitives",),
            "primitive": ("attributes",), "texinfo": ("index",),
            "animation": ("channels", "samplers"), "channel": ("sampler", "target"),
            "target": ("path",), "anim_sampler": ("input", "output"), "camera": ("type",),
            "perspective": ("yfov", "znear"), "orthographic": ("xmag", "ymag", "zfar", "znear")}
# Strictly positive where the schema says exclusiveMinimum 0.
_POSITIVE = {("perspective", "aspectRatio"), ("perspective", "yfov"), ("perspective", "zfar"),
             ("orthographic", "zfar")}
# Lists that may not be empty but whose absence changes nothing: dropped when empty.
_DROPPABLE = {("node", "children"), ("node", "weights"), ("scene", "nodes"),
              ("mesh", "weights"), ("primitive", "targets"), ("root", "extensionsUsed"),
              ("root", "extensionsRequired")}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # 2.0 is a JSON number, not an index


def _is_num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _in_range(v: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or v >= lo) and (hi is None or v <= hi)


class _Checker:
    def __init__(self, js: dict, report: Report):
        self.js = js
        self.report = report
        self.used_extensions: set[str] = set()

    def fail(self, where: str, message: str) -> None:
        self.report.fatal("schema", message, where)

    def count(self, collection: str) -> int:
        items = self.js.get(collection, [])
        return len(items) if isinstance(items, list) else 0

    def ref(self, v: object, collection: str, where: str) -> None:
        if not _is_int(v) or not 0 <= int(v) < self.count(collection):
            self.fail(where, f"{v!r} does not exist: not an index into {collection} "
                      f"(the file has {self.count(collection)})")

    def obj(self, value: object, kind: str, where: str) -> None:
        if not isinstance(value, dict):
            self.fail(where, f"must be an object, got {type(value).__name__}")
        for key in REQUIRED.get(kind, ()):
            if key not in value:
                self.fail(f"{where}.{key}" if where else key, "required field is missing")
        exts = value.get("extensions")
        if exts is not None:
            if not isinstance(exts, dict):
                self.fail(f"{where}.extensions", "must be an object")
            for key, ext in exts.items():
                self.used_extensions.add(key)
                if not isinstance(ext, dict):
                    self.fail(f"{where}.extensions.{key}", "an extension must be an object")
                if key in EXTENSIONS:  # the extensions whose JSON reskin re-emits and checks
                    self.obj(ext, key, f"{where}.extensions.{key}")
        for key, rule in SPEC[kind].items():
            if key in value:
                self.field(value, key, rule, kind, f"{where}.{key}" if where else key)

    def field(self, parent: dict, key: str, rule: object, kind: str, where: str) -> None:
        v = parent[key]
        if isinstance(rule, str):
            ok = {"str": isinstance(v, str), "bool": isinstance(v, bool),
                  "obj": isinstance(v, dict), "any": True}[rule]
            if not ok:
                self.fail(where, f"must be a {'string' if rule == 'str' else rule}, got {v!r:.40}")
            return
        tag = rule[0]
        if isinstance(v, list) and not v and (kind, key) in _DROPPABLE:
            del parent[key]
            self.report.add("empty_list", "repaired", "dropped an empty list", where)
            return
        if tag in ("int", "num"):
            good = _is_int(v) if tag == "int" else _is_num(v)
            if not good or not _in_range(v, rule[1], rule[2]) or \
                    ((kind, key) in _POSITIVE and v <= 0):
                self.fail(where, f"{v!r:.40} is not a valid {'index' if tag == 'int' else 'number'}"
                          + (f" (range {rule[1]}..{rule[2]})" if tag == "num" else ""))
        elif tag == "enum":
            if isinstance(v, bool) or v not in rule[1]:
                self.fail(where, f"{v!r:.40} is not one of {', '.join(map(str, rule[1]))}")
        elif tag == "ref":
            self.ref(v, rule[1], where)
        elif tag in ("refs", "strs", "nums", "subs", "refmaps"):
            if not isinstance(v, list) or not v:
                self.fail(where, "must be a non-empty list")
            if tag == "refs":
                for k, x in enumerate(v):
                    self.ref(x, rule[1], f"{where}[{k}]")
                if len(set(map(int, v))) != len(v):
                    self.fail(where, "lists an index twice")
            elif tag == "strs":
                if not all(isinstance(x, str) for x in v) or len(set(v)) != len(v):
                    self.fail(where, "must be a list of distinct strings")
            elif tag == "nums":
                n, lo, hi = rule[1], rule[2], rule[3]
                if n is not None and len(v) != n:
                    self.fail(where, f"must be {n} numbers, got {len(v)}")
                if not all(_is_num(x) and _in_range(x, lo, hi) for x in v):
                    self.fail(where, "must hold finite numbers" +
                              (f" in {lo}..{hi}" if lo is not None else ""))
            elif tag == "subs":
                for k, x in enumerate(v):
                    self.obj(x, rule[1], f"{where}[{k}]")
            else:
                for k, x in enumerate(v):
                    self.refmap(x, rule[1], f"{where}[{k}]")
        elif tag == "sub":
            self.obj(v, rule[1], where)
        elif tag == "refmap":
            self.refmap(v, rule[1], where)

    def refmap(self, v: object, collection: str, where: str) -> None:
        if not isinstance(v, dict) or not v:
            self.fail(where, "must be a non-empty object of accessor indices")
        for name, x in v.items():
            self.ref(x, collection, f"{where}.{name}")


def check_schema(js: dict, report: Report) -> None:
    """Check ``js`` (a parsed glTF) against the glTF 2.0 schema for the objects reskin keeps;
    refuses with one line naming the field, or repairs in place (recorded in ``report``)."""
    if not isinstance(js, dict):
        raise ReskinError("glTF JSON is not an object")
    checker = _Checker(js, report)
    checker.obj(js, "root", "")
    for a, anim in enumerate(js.get("animations", [])):
        for c, channel in enumerate(anim["channels"]):
            if int(channel["sampler"]) >= len(anim["samplers"]):
                checker.fail(f"animations[{a}].channels[{c}].sampler",
                             f"{channel['sampler']} is not one of the animation's "
                             f"{len(anim['samplers'])} samplers")
    for n, node in enumerate(js.get("nodes", [])):
        if "matrix" in node and any(k in node for k in ("translation", "rotation", "scale")):
            checker.fail(f"nodes[{n}]", "has both a matrix and translation/rotation/scale")
    for c, cam in enumerate(js.get("cameras", [])):
        if cam["type"] not in cam:
            checker.fail(f"cameras[{c}].{cam['type']}", "required field is missing")
    for a, acc in enumerate(js.get("accessors", [])):
        if acc.get("normalized") and acc.get("componentType") not in (5120, 5121, 5122, 5123):
            del acc["normalized"]  # meaningless there (decoding ignores it); the validator refuses
            report.add("normalized_invalid", "repaired", "dropped normalized: only (u)byte and "
                       "(u)short accessors can be normalized", f"accessors[{a}]")
    _declare_extensions(js, checker.used_extensions, report)


def _declare_extensions(js: dict, used: set[str], report: Report) -> None:
    """Extensions present in the file but not declared in ``extensionsUsed``: declared."""
    declared = set(js.get("extensionsUsed", []))
    missing = sorted(used - declared)
    if missing:
        js["extensionsUsed"] = sorted(declared | used)
        report.add("undeclared_extension", "repaired",
                   f"declared extension(s) used but not in extensionsUsed: {', '.join(missing)}",
                   "extensionsUsed")
