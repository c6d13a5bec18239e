"""Re-skinning for a new episode against making the character, same run.

The anchor is what a character costs once: generating the sample character (mira) and rigging
it (skeleton fit, bone-heat weights, atlas bake) into a fresh library. Then the episodes come,
each timed as a fresh ``reskin reskin mira --episode EP`` process pays for it (the in-process
caches are cleared first; the job loads the rig from the library and makes the skin):

- ``ep02``, the rig's first skin: it also exports and identity-checks the rig's body once
  (kept in the library's derived-data cache for every later skin);
- ``ep03``, the sample's ep02 plus a scarf: the scarf's first appearance on this rig, so it is
  fitted (weights transferred from the body, penetration measured through the clips' poses)
  and the fit is kept for later episodes;
- **a new episode**: ep03's look re-coloured (top, trousers pattern, scarf colour), the case a
  series meets every week: the headline ratio;
- a new episode adding a cap parented to the head, never fitted before (its first fitting);
- ``ep01``: colours and patterns only, no garments.

    .venv/bin/python bench/skin_speed.py [--repeat 3]

Prints each median time and its ratio to generate + rig (target: under 5%, for the new
episode and for a garment's first fitting, ep03 and ep10).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import reskin.assets.gltf.character  # noqa: F401 - imported once per process, as in a build
from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated
from reskin.assets.library import Library
from reskin.pipeline.series_init import create_demo
from reskin.rigging.rigged import ensure_rigged, load_rigged
from reskin.skins.make import clear_memory, ensure_skin
from reskin.skins.wardrobe import load_wardrobe

NEW_EPISODE = """\
base: ep03
regions:
  top: {color: "#2a4d8f", roughness: 0.5}
  bottoms: {color: "#3b3b3b", pattern: stripes, pattern_color: "#5a5a5a", scale: 0.05}
garments:
  - {mesh: "procedural:scarf", color: "#d9c27a", gap: 0.01}
"""
NEW_GARMENT = """\
base: ep09
garments:
  - {mesh: "procedural:cap", bind: joint, joint: head, color: "#2b3a55"}
"""
CASES = (  # (episode, spec text or None for the sample's file, label)
    ("ep02", None, "first skin of the rig (ep02, exports the body once)"),
    ("ep03", None, "ep03: + scarf, its first fitting to the rig"),
    ("ep09", NEW_EPISODE, "new episode: re-coloured, scarf worn before"),
    ("ep10", NEW_GARMENT, "new episode + cap, its first fitting"),
    ("ep01", None, "ep01: colours and patterns, no garments"),
)
HEADLINE = "ep09"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    make: list[float] = []
    times: dict[str, list[float]] = {ep: [] for ep, _, _ in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            root = create_demo(Path(tmp) / f"s{r}")
            spec = load_character(root / "cast/mira/character.yaml")
            with Library(root / ".reskin") as lib:
                clear_memory()
                t0 = time.perf_counter()
                base, _ = ensure_generated(lib, spec)
                rig_record, _ = ensure_rigged(lib, base, spec)
                make.append(time.perf_counter() - t0)
                for episode, text, _ in CASES:
                    path = root / f"cast/mira/{episode}.yaml"
                    if text is not None:
                        path.write_text(text)
                    wardrobe = load_wardrobe(path, "mira", episode)
                    clear_memory()  # each episode runs as a fresh process would
                    t0 = time.perf_counter()
                    rig = load_rigged(lib, rig_record)
                    _, fresh = ensure_skin(lib, rig, spec, wardrobe, 24)
                    times[episode].append(time.perf_counter() - t0)
                    assert fresh, episode
    m = statistics.median(make)
    print(f"{'generate + rig mira':52s} {m * 1000:8.1f} ms (median of {args.repeat})")
    for episode, _, label in CASES:
        t = statistics.median(times[episode])
        print(f"{label:52s} {t * 1000:8.1f} ms   ratio {t / m:6.1%}")
    print(f"ratio re-skin / make (new episode): {statistics.median(times[HEADLINE]) / m:.1%}"
          "  (target < 5%)")
    print(json.dumps({"bench": "skin_speed", "generate_rig_s": round(m, 4),
                      "skins_s": {ep: round(statistics.median(times[ep]), 4)
                                  for ep, _, _ in CASES},
                      "ratio_new_episode": round(statistics.median(times[HEADLINE]) / m, 4),
                      "ratio_first_fit_scarf": round(statistics.median(times["ep03"]) / m, 4),
                      "ratio_first_fit_cap": round(statistics.median(times["ep10"]) / m, 4),
                      "target": 0.05}))


if __name__ == "__main__":
    main()
