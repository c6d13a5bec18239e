"""Re-skin jobs over a series: one character or the whole cast for one episode.

The skins are made by the build's own path (``Builder.skins`` -> ``ensure_skin``), so a skin
made here is the skin a later build renders, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reskin.core.errors import ReskinError

Log = Callable[[str], None]


def wardrobe_episodes(root: Path, character: str) -> list[str]:
    """Every episode a character has a wardrobe spec for, sorted."""
    folder = Path(root) / "cast" / character
    return sorted(p.stem for p in folder.glob("*.yaml") if p.stem != "character")


def reskin_episode(root: str | Path, episode: str, characters: list[str] | None = None,
                   log: Log | None = None) -> list[dict]:
    """Make (or find) the skins of ``characters`` (default: every cast member with a wardrobe
    for ``episode``). Returns one row per skin: character, episode, skin ref, glb, made, and
    its garments (name, bind, penetration_m: how deep it sinks into the body in the clips)."""
    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.inputs import load_cast
    from reskin.skins.wardrobe import load_wardrobe

    with BuildContext.open(root, log=log) as ctx, Builder(ctx) as builder:
        cast = load_cast(ctx.series)
        cast_dir = ctx.series.root / "cast"
        if characters:
            for c in characters:
                if c not in cast:
                    known = ", ".join(sorted(cast)) or "none"
                    raise ReskinError(f"no character {c!r} (cast: {known})", file=cast_dir)
        names = characters or sorted(c for c in cast if (cast_dir / c / f"{episode}.yaml")
                                     .exists())
        if not names:
            raise ReskinError(f"no cast member has a wardrobe for {episode!r}", file=cast_dir)
        wardrobes = {}
        for c in names:
            path = cast_dir / c / f"{episode}.yaml"
            if not path.exists():
                raise ReskinError(f"{c} has no wardrobe for {episode} (expected {path})")
            wardrobes[(c, episode)] = load_wardrobe(path, c, episode)
        refs = builder.skins(cast, wardrobes)
        rows = []
        for (c, e), r in sorted(refs.items()):
            garments = ctx.lib.get(r.ref).meta.get("garments", [])
            rows.append({"character": c, "episode": e, "skin": r.ref, "glb": r.glb,
                         "made": r.ref in builder.made,
                         "garments": [{k: g[k] for k in ("name", "bind", "penetration_m")}
                                      for g in garments]})
        return rows
