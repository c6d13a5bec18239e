"""Render benchmarks, each a ratio against an anchor measured in the same run.

1. reskin's render of a shot (fresh worker process) vs a hand-written bpy script rendering the
   same shot with the same settings and passes (fresh process): reskin's overhead (target
   <= 5 %), and the cache bytes per frame each leaves.
2. A 20-shot episode in one long-lived worker vs a fresh Blender process per shot.
3. Preview renderer frames/s vs Blender Workbench frames/s on the same shot.

Run: .venv/bin/python bench/render.py [--width 180 --height 320 --frames 8 --samples N]
     (quicker: --shots 10 --no-preview)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=180)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--samples", type=int, default=None,
                    help="Cycles samples (default: the series default)")
    ap.add_argument("--shots", type=int, default=20)
    ap.add_argument("--overhead-repeat", type=int, default=3,
                    help="runs of each side of the overhead bench (best of)")
    ap.add_argument("--preview-size", type=int, nargs=2, default=(360, 640),
                    metavar=("W", "H"), help="preview and Workbench resolution")
    ap.add_argument("--preview-frames", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=3, help="preview timings (median)")
    ap.add_argument("--no-workbench", action="store_true",
                    help="skip the Workbench anchor")
    ap.add_argument("--only-preview", action="store_true",
                    help="skip the Cycles overhead and worker benches (1. and 2.)")
    ap.add_argument("--no-preview", action="store_true",
                    help="skip the preview bench (3.)")
    args = ap.parse_args()

    sys.path.insert(0, str(HERE))  # bench/demo_shots.py, also under python -P
    from demo_shots import demo_plans, full_shot

    tmp = Path(tempfile.mkdtemp(prefix="reskin-bench-"))
    render = "{engine: cycles" + (f", samples: {args.samples}" if args.samples else "") + "}"
    # The demo's toon stylizer: the passes written are the ones it reads.
    ctx, plans = demo_plans(tmp, args.width, args.height, render)
    first = next(iter(plans.values()))[0]
    shot = dataclasses.replace(first, frame_count=args.frames).to_dict()
    # The preview's target is two skinned characters and a set: the first such shot.
    preview_shot = dataclasses.replace(full_shot(plans), frame_count=args.preview_frames
                                       ).to_dict()
    print(f"shot: {args.width}x{args.height}, {args.frames} frames, Cycles {first.samples} spp, "
          f"denoise {'on' if first.denoise else 'off'}, noise threshold "
          f"{first.noise_threshold}, passes {', '.join(first.passes) or 'none'}")

    cycles = {}
    if not args.only_preview:
        cycles = cycles_benches(args, tmp, shot)
    preview = {} if args.no_preview else preview_bench(args, tmp, ctx, preview_shot)
    ctx.close()
    print(json.dumps({"bench": "render", "width": args.width, "height": args.height,
                      "samples": first.samples, "denoise": first.denoise,
                      "noise_threshold": first.noise_threshold, "passes": list(first.passes),
                      **cycles, **preview}))


def cycles_benches(args, tmp: Path, shot: dict) -> dict:  # noqa: ANN001
    """1. and 2.: seconds of the hand-written script and of the worker (fresh processes, the
    same shot, settings and passes), bytes per frame each leaves; one worker for many shots
    against a fresh process per shot, and where the one worker's time goes."""
    from reskin.render.blender.client import BlenderWorker

    # 1. overhead against a hand-written script: best of --overhead-repeat each, interleaved
    # (the machine is shared; the order alternates so neither always runs first). Also the
    # processes' own CPU seconds (user + system), which other users' load disturbs less.
    spec = tmp / "shot.json"
    spec.write_text(json.dumps(shot))
    hands, ours, hand_cpu, own_cpu, phases = [], [], [], [], {}
    for k in range(args.overhead_repeat):
        for who in (("hand", "ours") if k % 2 == 0 else ("ours", "hand")):
            out = tmp / f"{who}{k}"
            out.mkdir()
            cpu = children_cpu()
            t = time.perf_counter()
            if who == "hand":
                subprocess.run([sys.executable, str(HERE / "handwritten_shot.py"), str(spec),
                                str(out)], check=True, capture_output=True)
                hands.append(time.perf_counter() - t)
                hand_cpu.append(children_cpu() - cpu)
            else:
                with BlenderWorker(tmp / "logs" / f"w{k}.log") as worker:
                    phases = worker.render_shot(shot | {"out_dir": str(out),
                                                        "frames": list(range(args.frames))}
                                                )["phases"]
                ours.append(time.perf_counter() - t)
                own_cpu.append(children_cpu() - cpu)
    hand, own = min(hands), min(ours)
    cpu_pct = 100 * (min(own_cpu) / min(hand_cpu) - 1)
    hand_bytes = sum(p.stat().st_size for p in (tmp / "hand0").iterdir()) / args.frames
    own_bytes = sum(p.stat().st_size for p in (tmp / "ours0").iterdir()
                    if p.suffix in (".png", ".exr")) / args.frames
    print(f"hand-written bpy script: {hand:6.2f} s   reskin worker: {own:6.2f} s   "
          f"overhead {100 * (own / hand - 1):+.1f} % (best of {args.overhead_repeat} each; both "
          f"write the same passes)")
    print(f"CPU seconds: hand-written {min(hand_cpu):6.2f}   reskin worker {min(own_cpu):6.2f}   "
          f"overhead {cpu_pct:+.1f} % (best of {args.overhead_repeat} each)")
    print(f"cache per frame: reskin {own_bytes / 1e3:.0f} kB (PNG + EXR of the asked "
          f"channels, half, ZIP), hand-written {hand_bytes / 1e3:.0f} kB (PNG + Blender's "
          f"own multilayer EXR of the same passes)")
    print("worker phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()))

    # 2. one worker for many shots vs a fresh process per shot
    shots = [shot | {"frame_count": 2, "frames": [0, 1], "out_dir": str(tmp / f"many/{i}"),
                     "camera": shot["camera"]} for i in range(args.shots)]
    # Interleaved: the one worker's shot i, then a fresh process's shot i (the one worker
    # idles meanwhile), so a change in the shared machine's load falls on both alike.
    many: dict[str, float] = {}
    split: dict[str, float] = {}  # the one worker's render phase: Cycles sync, trace, after
    fresh_render = 0.0  # the fresh processes' own render phases: what a warm worker saves there
    fresh = 0.0
    fresh_cpu = 0.0  # CPU seconds of the fresh processes; the one worker's is the rest
    cpu_start = children_cpu()
    t = time.perf_counter()
    one_worker = BlenderWorker(tmp / "logs" / "one.log")
    started = one = time.perf_counter() - t
    try:
        for i, s in enumerate(shots):
            t = time.perf_counter()
            reply = one_worker.render_shot(s)
            one += time.perf_counter() - t
            for k, v in reply["phases"].items():
                many[k] = many.get(k, 0.0) + v
            for k, v in reply.get("render_split", {}).items():
                split[k] = split.get(k, 0.0) + v
            cpu = children_cpu()
            t = time.perf_counter()
            with BlenderWorker(tmp / "logs" / f"fresh{i}.log") as worker:
                fresh_render += worker.render_shot(s | {"out_dir": str(tmp / f"fresh/{i}")}
                                                   )["phases"]["render"]
            fresh += time.perf_counter() - t
            fresh_cpu += children_cpu() - cpu
    finally:
        t = time.perf_counter()
        one_worker.close()
        one += time.perf_counter() - t
    one_cpu = children_cpu() - cpu_start - fresh_cpu
    print(f"{args.shots} shots x 2 frames: one worker {one:6.2f} s   fresh process per shot "
          f"{fresh:6.2f} s   speed-up {fresh / one:.2f}x (interleaved shot by shot)")
    print(f"CPU seconds: one worker {one_cpu:6.2f}   fresh processes {fresh_cpu:6.2f}   "
          f"ratio {fresh_cpu / one_cpu:.2f}x")
    other = one - started - sum(many.values())
    print(f"one worker's time: start {started:.2f} s, " + ", ".join(
        f"{k} {v:.2f} s" for k, v in many.items()) + f", other {other:.2f} s")
    trace = split.get("trace", 0.0)
    print(f"render phase: one worker {many.get('render', 0.0):.2f} s (Cycles " + ", ".join(
        f"{k} {v:.2f} s" for k, v in split.items()) + f"), fresh processes {fresh_render:.2f} s")
    if trace:
        # Path tracing and denoising are pixel work that every process pays alike: even a
        # worker that did nothing else could be at most fresh / trace faster.
        print(f"ceiling: fresh / (one worker's path tracing + denoising) = "
              f"{fresh / trace:.2f}x")
    return {"handwritten_s": round(hand, 3), "worker_s": round(own, 3),
            "overhead_pct": round(100 * (own / hand - 1), 2),
            "handwritten_cpu_s": round(min(hand_cpu), 3), "worker_cpu_s": round(min(own_cpu), 3),
            "overhead_cpu_pct": round(cpu_pct, 2),
            "cache_bytes_per_frame": round(own_bytes), "handwritten_bytes_per_frame":
            round(hand_bytes), "worker_phases_s": phases,
            "one_worker_s": round(one, 3), "fresh_per_shot_s": round(fresh, 3),
            "one_worker_speedup": round(fresh / one, 3),
            "one_worker_cpu_s": round(one_cpu, 3), "fresh_per_shot_cpu_s": round(fresh_cpu, 3),
            "one_worker_cpu_ratio": round(fresh_cpu / one_cpu, 3),
            "one_worker_phases_s": {k: round(v, 3) for k, v in many.items()},
            "one_worker_render_split_s": {k: round(v, 3) for k, v in split.items()},
            "fresh_render_s": round(fresh_render, 3),
            "one_worker_ceiling": round(fresh / trace, 3) if trace else None}


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished child processes so far."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def preview_bench(args, tmp: Path, ctx, shot: dict) -> dict:  # noqa: ANN001
    """3. preview frames/s (every cast member skinned, the set) vs Workbench, same shot and
    resolution, medians of ``args.repeat`` timings each."""
    import io

    import numpy as np
    from PIL import Image

    from reskin.render.blender.client import BlenderWorker
    from reskin.render.preview import PreviewCharacter, PreviewRenderer
    from reskin.rigging.procedural_clips import PROCEDURAL_CLIPS
    from reskin.rigging.rigged import load_rigged

    w, h = args.preview_size
    frames = args.preview_frames
    wb = shot | {"engine": "workbench", "frame_count": frames, "frames": list(range(frames)),
                 "width": w, "height": h, "out_dir": str(tmp / "wb")}
    chars = {}
    for member in shot["cast"]:
        skin = ctx.lib.get(member["key"])
        rig = load_rigged(ctx.lib, ctx.lib.get(skin.meta["character"]))
        tex = np.asarray(Image.open(io.BytesIO(ctx.lib.read_blob(skin.blobs["texture.png"])))
                         .convert("RGB"))
        chars[member["key"]] = PreviewCharacter.from_rig(rig, tex, 8, PROCEDURAL_CLIPS)
    faces = sum(len(c.rig.mesh.faces) for c in chars.values())
    print(f"preview shot: {len(shot['cast'])} characters ({faces} faces), "
          f"set: {bool(shot.get('set'))}, {w}x{h}, {frames} frames")
    wb_fps = float("nan")
    if not args.no_workbench:
        times = []
        with BlenderWorker(tmp / "logs" / "wb.log") as worker:
            worker.render_shot(wb | {"frames": [0]})  # warm: character import, shader compile
            for _ in range(args.repeat):
                t = time.perf_counter()
                worker.render_shot(wb)
                times.append(time.perf_counter() - t)
        wb_fps = frames / float(np.median(times))
    fps = {}
    # the default (no multisampling, synchronous reads), 4x, and the default pipelined
    for key, samples, pipelined in ((0, 0, False), (4, 4, False), ("pipelined", 0, True)):
        times = []
        with PreviewRenderer(w, h, samples=samples, pipelined=pipelined) as pr:
            pr.render_shot(wb, chars, frames=[0])
            for _ in range(args.repeat):
                t = time.perf_counter()
                pr.render_shot(wb, chars)  # uploads included: one per shot
                times.append(time.perf_counter() - t)
        fps[key] = frames / float(np.median(times))
        print(f"preview (MSAA {samples}x{', pipelined' if pipelined else ''}) "
              f"{fps[key]:6.2f} frames/s   Blender Workbench {wb_fps:6.2f} frames/s   "
              f"ratio {fps[key] / wb_fps:.2f}x (median of {args.repeat})")
    return {"preview_width": w, "preview_height": h, "preview_characters": len(shot["cast"]),
            "preview_fps": round(fps[0], 2), "preview_fps_msaa4": round(fps[4], 2),
            "preview_fps_pipelined": round(fps["pipelined"], 2),
            "workbench_fps": round(wb_fps, 2),
            "preview_vs_workbench": round(fps[0] / wb_fps, 3)}


if __name__ == "__main__":
    main()
