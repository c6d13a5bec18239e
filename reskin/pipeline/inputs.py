"""A series' input files read and validated before any work starts: cast, episodes, wardrobes;
and a rendered shot read back as frames for the stylizer."""

from __future__ import annotations

from pathlib import Path

from reskin.assets.character_spec import CharacterSpec, load_character
from reskin.core.errors import ReskinError
from reskin.scenes.episode import Episode, load_episode
from reskin.scenes.series import SeriesConfig
from reskin.skins.wardrobe import WardrobeSpec, load_wardrobe


def load_frameset(folder: Path, plan: dict):
    """A rendered shot (``folder`` of a render cache, its plan as a dict) as a FrameSet."""
    import numpy as np
    from PIL import Image

    from reskin.render.passes import read_shot_passes
    from reskin.render.stylize import FrameSet

    n = plan["frame_count"]
    rgba = np.stack([np.asarray(Image.open(folder / f"beauty_{i:04d}.png").convert("RGBA"),
                                np.float32) / 255.0 for i in range(n)])
    passes = read_shot_passes([folder / f"passes_{i:04d}.exr" for i in range(n)],
                              plan.get("camera_path") or [plan["camera"]]) or {}
    return FrameSet(beauty=rgba[..., :3], alpha=rgba[..., 3], **passes)


def load_cast(series: SeriesConfig) -> dict[str, CharacterSpec]:
    cast_dir = series.root / "cast"
    return {p.parent.name: load_character(p) for p in sorted(cast_dir.glob("*/character.yaml"))}


def load_inputs(
    series: SeriesConfig,
) -> tuple[dict[str, CharacterSpec], list[Episode], dict[tuple[str, str], WardrobeSpec]]:
    """Read and validate every input file before any work starts."""
    cast = load_cast(series)
    episodes = [load_episode(series.root / "episodes" / f"{e}.yaml", set(cast))
                for e in series.episode_ids()]
    if not episodes:
        raise ReskinError("no episodes (add episodes/ep01.yaml)", file=series.root / "episodes")
    wardrobes = {}
    for ep in episodes:
        for shot in ep.shots:
            for entry in shot.cast:
                k = (entry.character, ep.id)
                if k in wardrobes:
                    continue
                path = series.root / "cast" / entry.character / f"{ep.id}.yaml"
                if not path.exists():
                    raise ReskinError(
                        f"{entry.character} has no wardrobe for {ep.id} (expected {path})",
                        file=ep.file, field=f"shots.{shot.id}.cast")
                wardrobes[k] = load_wardrobe(path, entry.character, ep.id)
    return cast, episodes, wardrobes


def select_episodes(
    series: SeriesConfig, episodes: list[Episode],
    wardrobes: dict[tuple[str, str], WardrobeSpec], only: list[str] | None,
) -> tuple[list[Episode], dict[tuple[str, str], WardrobeSpec]]:
    """The episodes named by ``only`` (all when None) and their wardrobes; an unknown episode
    is a one-line error. The build and the dry run choose alike."""
    if not only:
        return episodes, wardrobes
    unknown = set(only) - {e.id for e in episodes}
    if unknown:
        raise ReskinError(f"no episode {sorted(unknown)[0]!r}", file=series.root)
    return ([e for e in episodes if e.id in only],
            {k: v for k, v in wardrobes.items() if k[1] in only})


def check_shots(known: set[str], shots: list[str] | None, option: str) -> None:
    """Every one of ``shots`` (given with ``option``) is one of the ``known`` shot ids, else a
    one-line error listing them."""
    for shot in shots or ():
        if shot not in known:
            raise ReskinError(f"no shot {shot!r} (shots: {', '.join(sorted(known))})",
                              field=option)
