"""glTF/GLB hostile input at volume: N seeded mutants of the sample files imported one by one.

    .venv/bin/python bench/fuzz.py [--count 500] [--seed 0] [--avatars]

Each mutant is refused in one line or accepted; every accepted one's stored GLB (what
``reskin asset export`` writes) is run through the Khronos validator, in batches. Prints the
bad seeds (traceback, hang, validator errors) and, last, one JSON line of counts.
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
    print(json.dumps({"mutants": args.count, "first_seed": args.seed,
                      "refused": counts["refused"], "accepted": counts["accepted"],
                      "bad": counts["bad"], "accepted_invalid": invalid,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
