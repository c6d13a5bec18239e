"""glTF/GLB hostile input at volume: N seeded mutants of the sample files imported one by one.

    .venv/bin/python bench/fuzz.py [--count 500] [--seed 0] [--avatars] [--series 300]

Each mutant is refused in one line or accepted; every accepted one's stored GLB (what
``reskin asset export`` writes) is run through the Khronos validator, in batches. Prints the
bad seeds (traceback, hang, validator errors) and, last, one JSON line of counts.
``--series N`` also runs N YAML mutants of the sample series (seeds 1000..) through the dry run
and the build stopped before rendering, counting where they disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from reskin.assets.gltf.validate import errors_of, validate_many
    from tests.fuzz.gltf_cases import import_mutant, sample_files

    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0, help="first seed; mutants use seed..seed+N-1")
    ap.add_argument("--avatars", action="store_true", help="mutate the avatars too (slow)")
    ap.add_argument("--series", type=int, default=0, help="YAML mutants of the sample series")
    args = ap.parse_args()
    files = sample_files(args.avatars)
    started = time.perf_counter()
    counts: Counter = Counter()
    accepted: list[tuple[int, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seed, args.seed + args.count):
            out = import_mutant(seed, files, Path(tmp))
            counts[out.kind] += 1
            if out.kind == "bad":
                print(f"seed {seed}: {out.message.strip().splitlines()[-1][:300]}")
            elif out.kind == "accepted":
                accepted.append((seed, out.value))
    invalid = 0
    for i in range(0, len(accepted), 50):
        batch = accepted[i: i + 50]
        for (seed, _), report in zip(batch, validate_many([g for _, g in batch]), strict=True):
            errs = errors_of(report)
            if errs:
                invalid += 1
                print(f"seed {seed}: {len(errs)} validator errors, first: {errs[0][:200]}")
    result = {"mutants": args.count, "first_seed": args.seed,
              "refused": counts["refused"], "accepted": counts["accepted"],
              "bad": counts["bad"], "accepted_invalid": invalid}
    if args.series:
        result["series"] = _series(args.series)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


def _series(count: int) -> dict:
    """Dry run against build on ``count`` YAML mutants (seeds 1000..)."""
    from reskin.pipeline.series_init import create_demo
    from tests.fuzz.series_cases import agree, build_outcome, run_mutant, yaml_files

    with tempfile.TemporaryDirectory() as tmp:
        root = create_demo(Path(tmp) / "demo")
        build_outcome(root, -1)  # characters generated, rigged and skinned once
        files = yaml_files(root)
        tally: Counter = Counter()
        for seed in range(1000, 1000 + count):
            dry, build, name = run_mutant(root, seed, files)
            if not agree(dry, build):
                tally["disagree"] += 1
                print(f"series seed {seed} ({name}): dry {dry.kind} {dry.message[-200:]!r}, "
                      f"build {build.kind} {build.message[-200:]!r}")
            else:
                tally[f"both_{dry.kind}"] += 1
    return {"mutants": count, "first_seed": 1000, **tally}


if __name__ == "__main__":
    main()
