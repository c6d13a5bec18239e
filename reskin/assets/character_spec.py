"""cast/<name>/character.yaml: how a character is made, and the traits no wardrobe may change."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from reskin.core.colors import parse_color
from reskin.core.fields import load_yaml


@dataclass(frozen=True)
class CharacterSpec:
    name: str
    params: dict
    """Keyword arguments of the procedural generator (reskin.assets.generator.HumanoidParams)."""
    skin_tone: tuple[float, float, float]
    hair: tuple[float, float, float]
    eyes: tuple[float, float, float]
    author: str
    license: str
    file: str

    def identity(self) -> dict:
        """Everything that makes this person recognisable, as plain data (hashed into the rig)."""
        return {"params": self.params, "skin_tone": self.skin_tone, "hair": self.hair,
                "eyes": self.eyes}


def load_character(path: str | Path) -> CharacterSpec:
    from reskin.assets.generator import HumanoidParams

    path = Path(path)
    f = load_yaml(path)
    f.get("generator", str, "humanoid", choices=("humanoid",))
    params: dict = {}
    if (p := f.sub("params", None)) is not None:
        allowed = [fl.name for fl in dataclasses.fields(HumanoidParams)]
        for key in p.keys(allowed, "generator parameter"):
            params[key] = p.get(key, float)
        try:
            HumanoidParams(**params)
        except ValueError as exc:
            p.error(str(exc))
    spec = CharacterSpec(
        name=path.parent.name,
        params=params,
        skin_tone=parse_color(f.get("skin_tone", str, "#e0b08c"), f, "skin_tone"),
        hair=parse_color(f.get("hair", str, "#3b2a20"), f, "hair"),
        eyes=parse_color(f.get("eyes", str, "#2e4053"), f, "eyes"),
        author=f.get("author", str, "unknown"),
        license=f.get("license", str, "NOASSERTION"),
        file=str(path),
    )
    f.done()
    return spec
