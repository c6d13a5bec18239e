"""A long series: how a build's bookkeeping grows with its episodes, same run.

A series of ``--episodes`` episodes (default 100) is written to a temporary folder: 3
generated characters, each with a new wardrobe every episode (other colours and patterns),
and 20 shots per episode (one or two characters, the procedural clips, every framing). The
cache is filled once by ``reskin build`` itself with the smallest render the build supports
(Blender Workbench at 16x16, 2 frames a shot, no lines, the toon stylizer). Then, at 10 and
at 100 episodes (the same series file, ``episodes:`` cut), the commands a user runs again
and again are measured through the CLI's own code (in-process, as ``reskin build`` calls
them):

- ``reskin build --dry-run``: what would render, and why;
- the no-op ``reskin build``: everything cached, nothing to do (target: under 2 s at 100
  episodes);

with the catalog's size (library SQLite + cache folder) and the process's peak memory
(``resource.getrusage``). The anchor is the 10-episode figure of the same run: cost per
episode should stay flat as episodes grow (ratio of per-episode costs, 100 vs 10).

    .venv/bin/python bench/scale.py [--episodes 100] [--fill-jobs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHOTS = 20
CHARACTERS = {  # name: (generator params, skin tone, hair)
    "ada": ({"height": 1.66, "build": 0.9}, "#e8c1a0", {"style": "bob", "color": "#2b1d16"}),
    "ben": ({"height": 1.82, "build": 1.1}, "#8d5a3b", {"style": "short", "color": "#111111"}),
    "cyd": ({"height": 1.74, "build": 1.0}, "#c99572", {"style": "long", "color": "#6b4a2b"}),
}
FRAMINGS = ("medium", "closeup", "wide")
CLIPS = ("idle", "wave", "nod")
PATTERNS = ("stripes", "checks", None)


def _colour(rng: random.Random) -> str:
    return "#" + "".join(f"{rng.randrange(256):02x}" for _ in range(3))


def write_series(root: Path, episodes: int, seed: int = 0) -> Path:
    """A series of ``episodes`` episodes at ``root`` (see the module doc); returns root."""
    from reskin.pipeline.series_init import init_series

    rng = random.Random(seed)
    init_series(root)  # as `reskin init` makes it; then its files are written over
    (root / "series.yaml").write_text(
        "name: Scale bench\nresolution: [16, 16]\nfps: 8\n"
        "render: {engine: workbench, samples: 1}\n"
        "style: {stylizer: toon, background: \"#efe3cf\", levels: 4}\n")
    names = sorted(CHARACTERS)
    for name, (params, tone, hair) in CHARACTERS.items():
        d = root / "cast" / name
        d.mkdir()
        p = ", ".join(f"{k}: {v}" for k, v in params.items())
        h = ", ".join(f"{k}: \"{v}\"" for k, v in hair.items())
        (d / "character.yaml").write_text(
            f"generator: humanoid\nparams: {{{p}}}\nskin_tone: \"{tone}\"\nhair: {{{h}}}\n"
            "voice: {language: en-us}\n")
    for e in range(1, episodes + 1):
        ep = f"ep{e:03d}"
        for name in names:  # a new wardrobe per episode
            pattern = rng.choice(PATTERNS)
            top = f"{{color: \"{_colour(rng)}\"" + (
                f", pattern: {pattern}, pattern_color: \"{_colour(rng)}\", scale: 0.08}}"
                if pattern else "}")
            (root / "cast" / name / f"{ep}.yaml").write_text(
                f"regions:\n  top: {top}\n  bottoms: {{color: \"{_colour(rng)}\"}}\n"
                f"  shoes: {{color: \"{_colour(rng)}\"}}\n")
        shots = []
        for s in range(1, SHOTS + 1):
            cast = rng.sample(names, rng.choice((1, 2)))
            framing = "two-shot" if len(cast) == 2 else rng.choice(FRAMINGS)
            members = "\n".join(f"      - {{character: {c}, clip: {rng.choice(CLIPS)}}}"
                                for c in cast)
            shots.append(f"  - id: s{s:02d}\n    duration: 0.25\n    cast:\n{members}\n"
                         f"    camera: {{framing: {framing}, yaw: {rng.randrange(-30, 31)}}}\n"
                         "    lights: three-point\n")
        (root / "episodes" / f"{ep}.yaml").write_text(
            f"title: Episode {e}\nshots:\n" + "".join(shots))
    return root


MEASURE = r"""
import contextlib, io, json, resource, sys, time
t0 = time.perf_counter()
from reskin.cli import main
imported = time.perf_counter() - t0
t0, c0 = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(sys.argv[1:], standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": seconds, "cpu_s": cpu, "import_s": imported,
                  "lines": out.getvalue().count("\n"),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def reskin(*args: str, quiet: bool = True) -> dict:
    """``reskin ARGS`` in a fresh process, through the CLI's own code (``reskin.cli.main``):
    the command's seconds and CPU seconds (after the CLI's import; CPU time is what a busy
    machine changes least), the process's peak memory and its whole wall time (interpreter,
    imports and all)."""
    t0 = time.perf_counter()
    # -P: the reskin this bench runs with, not one in the current folder
    done = subprocess.run([sys.executable, "-P", "-c", MEASURE, *args], capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"reskin {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out | {"process_s": wall}


def catalog_mb(root: Path) -> dict:
    """The library's SQLite catalog, its object store (skins, rigs) and the cache, in MB."""
    lib = root / ".reskin"

    def size(paths) -> float:
        return round(sum(p.stat().st_size for p in paths if p.is_file()) / 2**20, 2)

    return {"library_db_mb": size(lib.glob("catalog.sqlite*")),
            "objects_mb": size((lib / "objects").rglob("*")),
            "cache_mb": size((lib / "cache").rglob("*"))}


def measure(root: Path, repeat: int) -> dict:
    """Median dry run and no-op build of the series at ``root`` (all cached), its catalog."""
    runs = {"dry_run": [reskin("build", str(root), "--preview", "--dry-run")
                        for _ in range(repeat)],
            "noop": [reskin("build", str(root), "--preview") for _ in range(repeat)]}
    out: dict = {}
    for what, rs in runs.items():
        rs.sort(key=lambda r: r["seconds"])
        mid = rs[len(rs) // 2]
        out[what] = {k: round(v, 3) for k, v in mid.items()}
    return out | catalog_mb(root)


def _episodes(root: Path, later: Path, n: int) -> None:
    """The series at ``root`` made to hold its first ``n`` episodes (the rest wait in
    ``later``; a kept series may hold any number of them)."""
    every = sorted([*(root / "episodes").glob("*.yaml"), *later.glob("*.yaml")],
                   key=lambda p: p.name)
    for i, p in enumerate(every):
        p.rename((root / "episodes" if i < n else later) / p.name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--small", type=int, default=10, help="the anchor's episodes")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path,
                    help="build the series here and keep it (a second run reuses its cache)")
    args = ap.parse_args()
    tmp = None
    if args.keep is None:
        tmp = tempfile.mkdtemp(prefix="reskin-scale-")
        root = Path(tmp) / "series"
    else:
        root = args.keep
    later = root.parent / (root.name + "-later-episodes")
    if not (root / "series.yaml").exists():
        write_series(root, args.episodes)
    later.mkdir(exist_ok=True)
    figures: dict = {}
    try:
        for n in (args.small, args.episodes):
            _episodes(root, later, n)
            t0 = time.perf_counter()
            fill = reskin("build", str(root), "--preview")  # renders what is missing
            print(f"{n} episodes: built (what was missing) in {time.perf_counter() - t0:.1f} s"
                  " (draft renders by the preview renderer, 16x16, 2 frames a shot)", flush=True)
            figures[n] = measure(root, args.repeat) | {"fill_s": round(fill["process_s"], 1)}
            f = figures[n]
            print(f"{n:4d} episodes ({n * SHOTS} shots): dry run {f['dry_run']['seconds']:.2f} s"
                  f", no-op build {f['noop']['seconds']:.2f} s "
                  f"({f['noop']['cpu_s']:.2f} s CPU; process "
                  f"{f['noop']['process_s']:.2f} s), peak {f['noop']['peak_mb']:.0f} MB, "
                  f"catalog {f['library_db_mb']} MB, objects {f['objects_mb']} MB, cache "
                  f"{f['cache_mb']} MB", flush=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    small, big = figures[args.small], figures[args.episodes]
    per = {w: (big[w]["seconds"] / args.episodes) / (small[w]["seconds"] / args.small)
           for w in ("dry_run", "noop")}
    # What one more episode costs: the difference of the two, per episode (the fixed part,
    # imports, cast, rigs, is paid once whatever the length).
    marginal = {w: (big[w]["cpu_s"] - small[w]["cpu_s"]) / (args.episodes - args.small)
                for w in ("dry_run", "noop")}
    print(f"cost per episode, {args.episodes} vs {args.small} episodes: dry run "
          f"{per['dry_run']:.2f}x, no-op {per['noop']:.2f}x (flat: 1.0); one more episode: "
          f"dry run {marginal['dry_run'] * 1000:.0f} ms, no-op {marginal['noop'] * 1000:.0f} ms"
          " of CPU")
    print(json.dumps({
        "bench": "scale", "episodes": args.episodes, "shots": args.episodes * SHOTS,
        "noop_s": big["noop"]["seconds"], "noop_process_s": big["noop"]["process_s"],
        "dry_run_s": big["dry_run"]["seconds"],
        "noop_s_small": small["noop"]["seconds"], "dry_run_s_small": small["dry_run"]["seconds"],
        "per_episode_ratio_noop": round(per["noop"], 3),
        "per_episode_ratio_dry_run": round(per["dry_run"], 3),
        "noop_cpu_s": big["noop"]["cpu_s"], "noop_cpu_s_small": small["noop"]["cpu_s"],
        "marginal_episode_cpu_s": {w: round(v, 4) for w, v in marginal.items()},
        "peak_mb_noop": big["noop"]["peak_mb"], "peak_mb_dry_run": big["dry_run"]["peak_mb"],
        "library_db_mb": big["library_db_mb"], "objects_mb": big["objects_mb"],
        "cache_mb": big["cache_mb"],
        "small": small, "large": big, "target_noop_s": 2.0}))


if __name__ == "__main__":
    main()
