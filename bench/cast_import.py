"""Characters from files: import + rig once, against re-skinning them for an episode, same run.

For each avatar in ../shared/data/avatars (and a copy stripped of its skeleton, as a 3D
generator delivers it), through the commands a user types, in-process:

- ``reskin asset import FILE --name NAME`` then ``reskin rig NAME`` (own rig, or fitted for the
  stripped copy): the anchor, what a character costs once;
- ``reskin skin NAME -e ep01``: the character's first skin (it also finds the wardrobe regions
  on the texture from the weights, kept in the library's derived cache for later skins);
- ``reskin skin NAME -e epNN``: a new episode's colours, the case a series meets every week
  (``--weekly N`` new episodes, each its own colours; the median is reported, as one run on a
  shared machine is noisy).

    .venv/bin/python bench/cast_import.py [--avatars A.glb ...] [--weekly 3]

Prints each time and the ratio of the weekly re-skin to import + rig; the last line is one JSON
object of all figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
AVATARS = ROOT.parent / "shared" / "data" / "avatars"
sys.path.insert(0, str(ROOT))


def _run(args: list[str]) -> float:
    from reskin.cli import main

    started = time.perf_counter()
    result = CliRunner().invoke(main, args)
    if result.exit_code != 0:
        raise SystemExit(f"`reskin {' '.join(args)}` failed: {result.output}")
    return time.perf_counter() - started


def measure(path: Path, work: Path, name: str, strip: bool, weekly: int = 3) -> dict:
    from reskin.pipeline.series_init import init_series
    from reskin.skins.make import clear_memory

    series = init_series(work / name)
    src = path
    if strip:
        from tests.rigging.strip_rig import strip_rig

        src = work / f"{name}_static.glb"
        strip_rig(path, src)
    s = ["-s", str(series)]
    t_import = _run(["asset", "import", str(src), "--name", name, "--kind", "character", *s])
    t_rig = _run(["rig", name, *s])
    (series / "cast" / name).mkdir(parents=True)
    (series / "cast" / name / "character.yaml").write_text(f"source: asset:{name}@1\n")
    colours = ["#c0392b", "#2e86c1", "#27ae60", "#f1c40f", "#8e44ad", "#d35400", "#16a085"]
    episodes = [f"ep{k + 1:02d}" for k in range(1 + weekly)]
    for k, ep in enumerate(episodes):
        (series / "cast" / name / f"{ep}.yaml").write_text(
            f"regions:\n  top: {{color: '{colours[k % len(colours)]}'}}\n"
            "  bottoms: {color: '#1f2a44'}\n")
    clear_memory()
    t_first = _run(["skin", name, "-e", episodes[0], *s])
    weeks = []
    for ep in episodes[1:]:
        clear_memory()
        weeks.append(_run(["skin", name, "-e", ep, *s]))
    t_weekly = statistics.median(weeks)
    once = t_import + t_rig
    return {"avatar": path.name, "stripped": strip, "import_s": round(t_import, 3),
            "rig_s": round(t_rig, 3), "first_skin_s": round(t_first, 3),
            "weekly_skin_s": round(t_weekly, 3), "weekly_runs_s": [round(t, 3) for t in weeks],
            "weekly_over_import_rig": round(t_weekly / once, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--avatars", nargs="*", default=None)
    parser.add_argument("--weekly", type=int, default=3, help="new episodes skinned per avatar")
    args = parser.parse_args()
    files = [AVATARS / a for a in args.avatars] if args.avatars else sorted(AVATARS.glob("*.glb"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="reskin-bench-cast-") as tmp:
        for i, path in enumerate(files):
            for strip in (False, True):
                row = measure(path, Path(tmp), f"c{i}{'s' if strip else 'o'}", strip,
                              max(1, args.weekly))
                rows.append(row)
                print(f"{row['avatar']:<24} {'stripped' if strip else 'own rig ':<9} "
                      f"import {row['import_s']:6.2f} s  rig {row['rig_s']:6.2f} s  "
                      f"first skin {row['first_skin_s']:6.2f} s  weekly skin "
                      f"{row['weekly_skin_s']:6.2f} s  = {row['weekly_over_import_rig']:.0%} "
                      "of import + rig")
    print(json.dumps({"cast_import": rows}))


if __name__ == "__main__":
    main()
