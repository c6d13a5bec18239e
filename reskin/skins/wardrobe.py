"""Wardrobe specs (cast/<character>/<episode>.yaml): parsing, validation and inheritance.

A spec may name ``base: ep02``: it is then that episode's spec with this file's changes on top
(regions merge field by field, sleeves and scalars override, decals and garments append, a
garment of the same name replaces the base's, ``hide`` and ``palette`` accumulate). Every error
names the file and line where the offending value is written. Painting lives in
:mod:`reskin.skins.paint`; garments in :mod:`reskin.skins.garments`.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reskin.core.colors import parse_color
from reskin.core.errors import ReskinError
from reskin.core.fields import Fields, load_yaml

REGIONS = ("top", "bottoms", "shoes")
PATTERNS = ("solid", "stripes", "checks")
# Which wardrobe region covers each body part; hands, neck and head are always the person.
PART_REGION = {
    "torso": "top", "upper_arm_l": "top", "upper_arm_r": "top",
    "forearm_l": "top", "forearm_r": "top",
    "pelvis": "bottoms", "thigh_l": "bottoms", "thigh_r": "bottoms",
    "shin_l": "bottoms", "shin_r": "bottoms",
    "foot_l": "shoes", "foot_r": "shoes",
}
SHORT_SLEEVE_PARTS = ("forearm_l", "forearm_r")
# Parts a wardrobe may never hide or reshape: the face is the person (identity lock).
LOCKED_PARTS = ("head",)
PROCEDURAL_GARMENTS = ("jacket", "skirt", "scarf", "cap")
BINDS = ("transfer", "joint")
ASSET_PREFIX = "asset:"
Color = tuple[float, float, float]


@dataclass(frozen=True)
class RegionLook:
    color: Color
    pattern: str = "solid"
    pattern_color: Color = (1.0, 1.0, 1.0)
    scale: float = 0.06
    """Pattern (and texture) period in metres."""
    roughness: float = 0.7
    metallic: float = 0.0
    texture: str | None = None
    """A fabric image tiled over the region: a file path or ``asset:NAME@V``."""
    texture_sha: str | None = None
    """SHA-256 of the texture file's bytes (so an edited image is a new skin)."""
    material: str | None = None
    """On an imported character: the region is the faces of primitives with this material."""
    mask: str | None = None
    """On an imported character: a greyscale image in its UV space, white = the region."""
    mask_sha: str | None = None
    """SHA-256 of the mask file's bytes."""
    where: str = field(default="", compare=False)
    """file:line of ``material:`` or ``mask:`` in the spec, for errors found on the character."""

    def to_dict(self) -> dict:
        """The fields that decide the skin's pixels; unset selectors are left out so a spec
        without them keeps the key it had before they existed."""
        d = asdict(self)
        d.pop("where")
        if self.texture_sha:
            d.pop("texture")
        if self.mask_sha:
            d.pop("mask")
        for key in ("material", "mask", "mask_sha"):
            if d.get(key, 0) is None:
                d.pop(key)
        return d


@dataclass(frozen=True)
class Decal:
    """An image placed on a region, projected along z onto its front or back."""

    image: str
    image_sha: str | None
    region: str
    at: tuple[float, float]
    """(x, y) centre in rest-pose model space, metres (x to the character's left, y up)."""
    size: float
    side: str = "front"
    opacity: float = 1.0


@dataclass(frozen=True)
class GarmentSpec:
    """A garment or accessory to attach. ``where`` (file:line) is for late errors only."""

    name: str
    mesh: str
    """``procedural:<kind>``, a mesh file path (GLB/glTF/OBJ/PLY/STL) or ``asset:NAME@V``."""
    mesh_sha: str | None
    bind: str
    joint: str | None = None
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotate: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Euler angles in degrees (x, then y, then z), applied before ``offset``."""
    size: float | None = None
    """Scale a mesh so its largest extent is this many metres (None: as authored)."""
    gap: float = 0.012
    """Procedural garments: distance off the body surface, metres."""
    color: Color | None = None
    roughness: float = 0.8
    metallic: float = 0.0
    pattern: str = "solid"
    """Fabric as for a region (stripes, checks, a tiled ``texture``), painted into the
    garment's own texture (its UVs, or an atlas unwrapped with xatlas when it has none)."""
    pattern_color: Color = (1.0, 1.0, 1.0)
    scale: float = 0.06
    texture: str | None = None
    texture_sha: str | None = None
    where: str = field(default="", compare=False)
    """file:line of ``mesh:`` in the spec, for errors found when the mesh is read."""
    spec_field: str = field(default="", compare=False)
    """The garment's field path in the spec (``garments[0]``), for the same errors."""

    @property
    def painted(self) -> bool:
        """Whether the spec paints a fabric onto the garment (else it keeps its look)."""
        return self.pattern != "solid" or self.texture is not None

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("where")
        d.pop("spec_field")
        if self.mesh_sha:
            d.pop("mesh")  # a moved file with the same bytes is the same garment
        if self.texture_sha:
            d.pop("texture")
        return d


@dataclass(frozen=True)
class WardrobeSpec:
    character: str
    episode: str
    regions: dict[str, RegionLook]
    sleeves: str
    file: str
    decals: tuple[Decal, ...] = ()
    garments: tuple[GarmentSpec, ...] = ()
    hide: tuple[str, ...] = ()
    """Body parts removed under garments (region names are expanded to their parts)."""
    padding: dict[str, float] = field(default_factory=dict)
    """region -> metres to push its surface out (refused by the identity lock where visible)."""
    palette: tuple[tuple[Color, Color], ...] = ()
    chain: tuple[str, ...] = ()
    """The spec files this one resolved through, leaf first."""

    def to_dict(self) -> dict:
        """Everything that decides the skin's pixels and geometry (the cache key); file paths
        of images and meshes enter as their content hashes."""
        regions = {k: v.to_dict() for k, v in sorted(self.regions.items())}
        decals = []
        for dc in self.decals:
            d = asdict(dc)
            if dc.image_sha:
                d.pop("image")
            decals.append(d)
        return {
            "character": self.character, "episode": self.episode, "sleeves": self.sleeves,
            "regions": regions, "decals": decals,
            "garments": [g.to_dict() for g in self.garments], "hide": list(self.hide),
            "padding": dict(sorted(self.padding.items())),
            "palette": [list(map(list, p)) for p in self.palette],
        }


def _unit(v: float) -> str | None:
    return None if 0.0 <= v <= 1.0 else "must be 0..1"


def _series_root(spec_path: Path) -> Path:
    return spec_path.resolve().parents[2]  # <series>/cast/<character>/<episode>.yaml


def _file_ref(f: Fields, key: str, root: Path, kind: str = "image") -> tuple[str, str | None]:
    """A file path relative to the series (checked to exist and to be an ``kind``: image or
    mesh; hashed) or a pinned asset ref."""
    from reskin.core.paths import series_path
    from reskin.skins.file_checks import image_problem, mesh_problem

    path = series_path(root, f.get(key, str), fields=f, key=key, allow_asset=True)
    if isinstance(path, str):
        return path, None  # a pinned library version: checked when the skin is made
    data = path.read_bytes()
    problem = mesh_problem(path, data) if kind == "mesh" else image_problem(data)
    if problem:
        f.error(f"{path}: {problem}", key)
    return str(path), hashlib.sha256(data).hexdigest()


def _region_layer(f: Fields, root: Path) -> dict:
    """The fields written for one region, validated, without defaults (for merging)."""
    out: dict = {"_line": f"{f.file}:{f.line}"}
    if f.has("color"):
        out["color"] = parse_color(f.get("color", str), f, "color")
    if f.has("pattern"):
        out["pattern"] = f.get("pattern", str, choices=PATTERNS)
    if f.has("pattern_color"):
        out["pattern_color"] = parse_color(f.get("pattern_color", str), f, "pattern_color")
    if f.has("scale"):
        out["scale"] = f.get("scale", float,
                             check=lambda v: None if 0.005 <= v <= 1 else "must be 0.005..1 m")
    for key in ("roughness", "metallic"):
        if f.has(key):
            out[key] = f.get(key, float, check=_unit)
    if f.has("texture"):
        out["texture"], out["texture_sha"] = _file_ref(f, "texture", root)
    if f.has("material") and f.has("mask"):
        f.error("give either material or mask (how to find the region), not both", "mask")
    if f.has("material"):
        out["material"] = f.get("material", str,
                                check=lambda v: None if v.strip() else "must not be empty")
        out["mask"] = out["mask_sha"] = None  # overrides a base's mask
        out["where"] = f"{f.file}:{f.items['material'].line}"
    if f.has("mask"):
        if f.get("mask", str).startswith(ASSET_PREFIX):
            f.error("a mask is drawn for one character: give a file path in the series", "mask")
        out["mask"], out["mask_sha"] = _file_ref(f, "mask", root)
        out["material"] = None  # overrides a base's material
        out["where"] = f"{f.file}:{f.items['mask'].line}"
    f.done()
    return out


def _decal(f: Fields, root: Path) -> Decal:
    image, sha = _file_ref(f, "image", root)
    decal = Decal(
        image=image, image_sha=sha,
        region=f.get("region", str, choices=REGIONS),
        at=f.numbers("at", 2),
        size=f.get("size", float,
                   check=lambda v: None if 0.005 <= v <= 2 else "must be 0.005..2 m"),
        side=f.get("side", str, "front", choices=("front", "back")),
        opacity=f.get("opacity", float, 1.0, check=_unit),
    )
    f.done()
    return decal


def _garment(f: Fields, root: Path, index: int) -> GarmentSpec:
    from reskin.core.skeleton import HUMANOID_JOINTS

    text = f.get("mesh", str)
    where = f"{f.file}:{f.items['mesh'].line}"
    if text.startswith("procedural:"):
        kind = text.split(":", 1)[1]
        if kind not in PROCEDURAL_GARMENTS:
            f.error(f"unknown procedural garment {kind!r} (known: "
                    f"{', '.join(PROCEDURAL_GARMENTS)})", "mesh")
        mesh, sha = text, None
        default_bind = "joint" if kind == "cap" else "transfer"
        default_name = kind
    else:
        mesh, sha = _file_ref(f, "mesh", root, "mesh")
        default_bind = None
        default_name = Path(text.split("@")[0]).stem.lower() or f"garment{index}"
    bind = f.get("bind", str, default_bind if default_bind else ..., choices=BINDS)
    joints = [n for n, _ in HUMANOID_JOINTS]
    joint = f.get("joint", str, "head" if mesh == "procedural:cap" else None)
    if bind == "joint" and joint is None:
        f.error("bind: joint needs `joint:` (the joint the accessory follows, e.g. head)")
    if joint is not None and joint not in joints:
        f.get("joint", str, choices=joints)  # raises with a did-you-mean
    color = f.get("color", str, None)
    texture, texture_sha = _file_ref(f, "texture", root) if f.has("texture") else (None, None)
    spec = GarmentSpec(
        name=f.get("name", str, default_name),
        mesh=mesh, mesh_sha=sha, bind=bind, joint=joint,
        offset=f.numbers("offset", 3, (0.0, 0.0, 0.0)),
        rotate=f.numbers("rotate", 3, (0.0, 0.0, 0.0)),
        size=f.get("size", float, None,
                   check=lambda v: None if 0.01 <= v <= 3 else "must be 0.01..3 m"),
        gap=f.get("gap", float, 0.012,
                  check=lambda v: None if 0.0 <= v <= 0.1 else "must be 0..0.1 m"),
        color=parse_color(color, f, "color") if color else None,
        roughness=f.get("roughness", float, 0.8, check=_unit),
        metallic=f.get("metallic", float, 0.0, check=_unit),
        pattern=f.get("pattern", str, "solid", choices=PATTERNS),
        pattern_color=(parse_color(f.get("pattern_color", str), f, "pattern_color")
                       if f.has("pattern_color") else (1.0, 1.0, 1.0)),
        scale=f.get("scale", float, 0.06,
                    check=lambda v: None if 0.005 <= v <= 1 else "must be 0.005..1 m"),
        texture=texture, texture_sha=texture_sha,
        where=where, spec_field=f.path,
    )
    f.done()
    return spec


def _layer(path: Path) -> tuple[dict, tuple[str, Fields] | None]:
    """One spec file validated on its own: (the values it sets, its ``base`` and where)."""
    from reskin.assets.generator import PART_NAMES

    f = load_yaml(path)
    root = _series_root(path)
    layer: dict = {}
    base = (f.get("base", str), f) if f.has("base") else None
    if (rf := f.sub("regions", None)) is not None:
        layer["regions"] = {}
        for key in rf.keys(REGIONS, "region"):
            layer["regions"][key] = _region_layer(rf.sub(key), root)
        rf.done()
    if f.has("sleeves"):
        layer["sleeves"] = f.get("sleeves", str, choices=("long", "short"))
    layer["decals"] = [_decal(d, root) for d in f.list_of_fields("decals", [])]
    layer["garments"] = [_garment(g, root, i)
                         for i, g in enumerate(f.list_of_fields("garments", []))]
    hide = f.get("hide", list, [])
    hidable = REGIONS + tuple(p for p in PART_NAMES if p not in LOCKED_PARTS)
    layer["hide"] = []
    for item in hide:
        name = item.value if hasattr(item, "value") else item
        if name in LOCKED_PARTS:
            f.error(f"{name!r} cannot be hidden: the face is part of the identity lock", "hide",
                    item.line)
        if name not in hidable:
            f.error(f"{name!r} is not a region or body part (one of {', '.join(hidable)})",
                    "hide", item.line)
        layer["hide"].append(name)
    layer["padding"] = {}
    if (pf := f.sub("padding", None)) is not None:
        for key in pf.keys(REGIONS, "region"):
            layer["padding"][key] = pf.get(
                key, float, check=lambda v: None if -0.05 <= v <= 0.05 else "must be -0.05..0.05 m")
        pf.done()
    layer["palette"] = {}
    if (cf := f.sub("palette", None)) is not None:
        for key in list(cf.items):
            src = parse_color(key, cf, key)
            layer["palette"][src] = parse_color(cf.get(key, str), cf, key)
        cf.done()
    f.done()
    return layer, base


def _merge(base: dict, top: dict) -> dict:
    """``top`` over ``base`` (both layers as :func:`_layer` returns them)."""
    out = dict(base)
    regions = {k: dict(v) for k, v in base.get("regions", {}).items()}
    for k, v in top.get("regions", {}).items():
        regions[k] = {**regions.get(k, {}), **v}
    out["regions"] = regions
    if "sleeves" in top:
        out["sleeves"] = top["sleeves"]
    out["decals"] = base.get("decals", []) + top["decals"]
    named = {g.name: g for g in base.get("garments", [])}
    for g in top["garments"]:
        named[g.name] = g  # same name: the episode's version replaces the base's
    out["garments"] = list(named.values())
    out["hide"] = list(dict.fromkeys(base.get("hide", []) + top["hide"]))
    out["padding"] = {**base.get("padding", {}), **top["padding"]}
    out["palette"] = {**base.get("palette", {}), **top["palette"]}
    return out


def _resolve(path: Path, chain: tuple[Path, ...]) -> tuple[dict, tuple[Path, ...]]:
    layer, base = _layer(path)
    chain = chain + (path.resolve(),)
    if base is None:
        return layer, chain
    name, f = base
    parent = path.parent / f"{name}.yaml"
    if "/" in name or "\\" in name or not name:
        f.error(f"base must name an episode of the same character (e.g. ep02), got {name!r}",
                "base")
    if parent.resolve() in chain:
        loop = " -> ".join(p.stem for p in chain + (parent.resolve(),))
        f.error(f"inheritance cycle: {loop}", "base")
    if not parent.is_file():
        f.error(f"no wardrobe {name!r} for {path.parent.name} (expected {parent})", "base")
    inherited, full_chain = _resolve(parent, chain)
    return _merge(inherited, layer), full_chain


def load_wardrobe(path: str | Path, character: str, episode: str) -> WardrobeSpec:
    """Read, validate and resolve (inheritance included) one wardrobe spec."""
    path = Path(path)
    merged, chain = _resolve(path, ())
    regions = {}
    for key, fields_ in sorted(merged.get("regions", {}).items()):
        values = {k: v for k, v in fields_.items() if k != "_line"}
        if "color" not in values:
            raise ReskinError("required field is missing", file=fields_["_line"],
                              field=f"regions.{key}.color")
        regions[key] = RegionLook(**values)
    return WardrobeSpec(
        character=character, episode=episode, regions=regions,
        sleeves=merged.get("sleeves", "long"), file=str(path),
        decals=tuple(merged["decals"]), garments=tuple(merged["garments"]),
        hide=tuple(merged["hide"]), padding=merged["padding"],
        palette=tuple(sorted(merged["palette"].items())),
        chain=tuple(str(p) for p in chain),
    )


def hidden_parts(spec: WardrobeSpec, part_names: tuple[str, ...]) -> tuple[str, ...]:
    """The body parts ``spec.hide`` removes (regions expanded), in ``part_names`` order."""
    names = set(spec.hide)
    return tuple(p for p in part_names
                 if p in names or PART_REGION.get(p) in names)
