"""cast/<name>/character.yaml: how a character is made, and the traits no wardrobe may change.

A character is either generated (``generator: humanoid`` with ``params``) or comes from a file
(``source: models/hero.glb`` inside the series folder, or ``source: asset:hero@3`` in the
library), never both: the first build imports the file once, rigs it once (its own humanoid
skeleton, or joints fitted by reskin) and every later build reuses those versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from reskin.core.colors import parse_color
from reskin.core.fields import Fields, load_yaml

SOURCE_SUFFIXES = (".glb", ".gltf", ".vrm", ".fbx", ".obj", ".ply", ".stl")
RIG_MODES = ("own", "auto")
ASSET_PREFIX = "asset:"


@dataclass(frozen=True)
class CharacterSource:
    """Where an imported character comes from.

    path   : the file inside the series folder (None for a library asset)
    asset  : ``NAME@V`` of a library asset (None for a file)
    sha256 : of the file's bytes (what keys the import; a moved file is the same character)
    rig    : "own" (the file's humanoid skin), "auto" (fitted by reskin) or None (own when the
             file has a skin the name maps recognise, else auto)
    """

    path: Path | None
    asset: str | None
    sha256: str | None
    unit: str = "auto"
    up: str = "auto"
    rig: str | None = None

    def key(self) -> dict:
        return {"sha256": self.sha256, "asset": self.asset, "unit": self.unit, "up": self.up,
                "rig": self.rig}


@dataclass(frozen=True)
class CharacterSpec:
    name: str
    params: dict
    """Keyword arguments of the procedural generator (reskin.assets.generator.HumanoidParams);
    ``hair: {style: ...}`` lands here as ``hair_style``."""
    skin_tone: tuple[float, float, float]
    hair: tuple[float, float, float]
    eyes: tuple[float, float, float]
    author: str
    license: str
    file: str
    source: CharacterSource | None = None
    """Set for a character from a file; then ``params`` is empty and the colours are unused."""
    voice_fields: Fields | None = dataclasses.field(default=None, compare=False, repr=False)
    """The ``voice:`` mapping as written (None: the default voice), kept with its file and
    lines: the build reads it into a :class:`reskin.scenes.speech.voice.Voice` with
    ``parse_voice`` (``reskin.pipeline.speech_stage.character_voice``), since voices belong
    to the scenes layer, above this one. Not part of :meth:`identity`: a new voice re-rigs
    nothing."""

    def identity(self) -> dict:
        """Everything that makes this person recognisable, as plain data (hashed into the rig)."""
        if self.source is not None:
            return {"source": self.source.key()}
        return {"params": self.params, "skin_tone": self.skin_tone, "hair": self.hair,
                "eyes": self.eyes}


def _source(f: Fields, root: Path) -> CharacterSource:
    text = f.get("source", str)
    unit = f.get("unit", str, "auto")
    up = f.get("up", str, "auto", choices=("auto", "y", "z"))
    rig = f.get("rig", str, None, choices=RIG_MODES)
    from reskin.assets.normalize import UNITS

    if unit != "auto" and unit not in UNITS:
        f.error(f"unknown unit {unit!r}; expected one of auto, {', '.join(UNITS)}", "unit")
    from reskin.core.paths import series_path

    path = series_path(root, text, fields=f, key="source", what="model file", must_exist=False,
                       allow_asset=True)
    if isinstance(path, str):
        return CharacterSource(None, path[len(ASSET_PREFIX):], None, unit, up, rig)
    if path.suffix.lower() not in SOURCE_SUFFIXES:
        f.error(f"unsupported model file {path.suffix or text!r}; expected one of "
                f"{', '.join(SOURCE_SUFFIXES)}", "source")
    if not path.is_file():
        f.error(f"file not found: {text} (paths are relative to the series folder {root})",
                "source")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return CharacterSource(path, None, digest, unit, up, rig)


def _hair(f: Fields) -> tuple[tuple[float, float, float], str | None]:
    """``hair:`` as (colour, style or None): a colour string, or ``{style, color}``."""
    default = "#3b2a20"
    if f.has("hair") and isinstance(f.items["hair"].value, dict):
        from reskin.assets.hair import HAIR_STYLES

        h = f.sub("hair")
        h.keys(("style", "color"), "hair field")
        style = h.get("style", str, None, choices=HAIR_STYLES)
        color = parse_color(h.get("color", str, default), h, "color")
        h.done()
        return color, style
    return parse_color(f.get("hair", str, default), f, "hair"), None


def load_character(path: str | Path, *, series_root: str | Path | None = None) -> CharacterSpec:
    """Parse and check a character file; ``series_root`` defaults to the folder above ``cast``."""
    from reskin.assets.generator import HumanoidParams

    path = Path(path)
    root = Path(series_root) if series_root is not None else path.resolve().parents[2]
    f = load_yaml(path)
    has_source = f.has("source")
    if has_source and (f.has("generator") or f.has("params")):
        f.error("give either source: (a model file) or generator:/params: (a generated "
                "character), not both", "source")
    if not has_source and not (f.has("generator") or f.has("params")):
        f.error("say how the character is made: generator: humanoid (with params:) or "
                "source: models/NAME.glb")
    source = _source(f, root) if has_source else None
    params: dict = {}
    if source is None:
        f.get("generator", str, "humanoid", choices=("humanoid",))
        from reskin.assets.hair import HAIR_STYLES

        p = f.sub("params", None)
        if p is not None:
            allowed = [fl.name for fl in dataclasses.fields(HumanoidParams)]
            for key in p.keys(allowed, "generator parameter"):
                if key == "hair_style":
                    params[key] = p.get(key, str, choices=HAIR_STYLES)
                else:
                    params[key] = p.get(key, float)
        hair_color, style = _hair(f)
        if style is not None:
            if "hair_style" in params and params["hair_style"] != style:
                f.error(f"hair.style {style!r} contradicts params.hair_style "
                        f"{params['hair_style']!r}; give the style once", "hair")
            params["hair_style"] = style
        try:
            HumanoidParams(**params)
        except ValueError as exc:
            (p or f).error(str(exc))
    else:
        hair_color, _ = _hair(f)
    spec = CharacterSpec(
        name=path.parent.name,
        params=params,
        skin_tone=parse_color(f.get("skin_tone", str, "#e0b08c"), f, "skin_tone"),
        hair=hair_color,
        eyes=parse_color(f.get("eyes", str, "#2e4053"), f, "eyes"),
        author=f.get("author", str, "unknown"),
        license=f.get("license", str, "NOASSERTION"),
        file=str(path),
        source=source,
        voice_fields=f.sub("voice", None),
    )
    f.done()
    return spec
