"""Re-skinning for a new episode against making the character, same run.

The anchor is what a character costs once: generating the sample character (mira) and rigging
it (skeleton fit, bone-heat weights, atlas bake), each into a fresh library. The measured job is
what every later episode costs: one new skin from a wardrobe spec (paint, garments bound by
weight transfer and a joint-parented accessory, penetration check through the clips, GLB
export, identity lock, library write) with the rig already made.

The series already has an earlier episode's skin (ep02, made right after the rig and timed as
"first skin": it also exports and identity-checks the rig's body once, kept in the library's
derived-data cache). Before the new episode, the in-process caches are cleared, so the job
costs what a fresh ``reskin reskin mira --episode EP`` process pays: load the rig, make the skin.

    .venv/bin/python bench/reskin_job.py [--repeat 3] [--plain]

``--plain`` re-skins with the sample's ep01 spec (no garments) instead of ep03-style garments.
Prints each median time and the ratios (target: under 5%).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import reskin.assets.gltf_export  # noqa: F401 - imported once per process, as in a build
from reskin.assets.character_spec import load_character
from reskin.assets.characters import ensure_generated, ensure_rigged, load_rigged
from reskin.assets.library import Library
from reskin.reskin_jobs.body_cache import clear_memory
from reskin.reskin_jobs.job import ensure_skin
from reskin.reskin_jobs.wardrobe import load_wardrobe
from reskin.series_init import create_demo

NEW_EPISODE = """\
base: ep02
regions:
  top: {color: "#1f8a80", roughness: 0.5}
garments:
  - {mesh: "procedural:scarf", color: "#7a1f3d"}
  - {mesh: "procedural:cap", color: "#2b3a55"}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    make, first, skin = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            root = create_demo(Path(tmp) / f"s{r}")
            spec = load_character(root / "cast/mira/character.yaml")
            with Library(root / ".reskin") as lib:
                t0 = time.perf_counter()
                base, _ = ensure_generated(lib, spec)
                rig_record, _ = ensure_rigged(lib, base, spec)
                make.append(time.perf_counter() - t0)
                clear_memory()
                earlier = load_wardrobe(root / "cast/mira/ep02.yaml", "mira", "ep02")
                t0 = time.perf_counter()
                _, fresh = ensure_skin(lib, load_rigged(lib, rig_record), spec, earlier, 24)
                first.append(time.perf_counter() - t0)
                assert fresh
                clear_memory()  # the new episode runs as a fresh process would
                path = root / "cast/mira/ep01.yaml"
                if not args.plain:
                    path = root / "cast/mira/ep09.yaml"
                    path.write_text(NEW_EPISODE)
                wardrobe = load_wardrobe(path, "mira", path.stem)
                t0 = time.perf_counter()
                # The job as the build runs it: load the rig, then make the skin.
                rig = load_rigged(lib, rig_record)
                _, fresh = ensure_skin(lib, rig, spec, wardrobe, 24)
                skin.append(time.perf_counter() - t0)
                assert fresh
    m, f, s = (statistics.median(x) for x in (make, first, skin))
    what = "ep01 (no garments)" if args.plain else "scarf + cap, inherited spec"
    print(f"generate + rig mira:         {m * 1000:8.1f} ms (median of {args.repeat})")
    print(f"first skin of the rig:       {f * 1000:8.1f} ms (ep02, exports the body once)  "
          f"ratio {f / m:.1%}")
    print(f"re-skin for a new episode:   {s * 1000:8.1f} ms ({what})")
    print(f"ratio re-skin / make:        {s / m:8.1%}  (target < 5%)")


if __name__ == "__main__":
    main()
