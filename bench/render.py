"""Render benchmarks, each a ratio against an anchor measured in the same run.

1. reskin's render of a shot (fresh worker process) vs a hand-written bpy script rendering the
   same shot (fresh process): reskin's overhead (target < 10 %).
2. A 20-shot episode in one long-lived worker vs a fresh Blender process per shot.
3. Preview renderer frames/s vs Blender Workbench frames/s on the same shot.

Run: .venv/bin/python bench/render.py [--width 180 --height 320 --frames 8 --samples 8]
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
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--shots", type=int, default=20)
    ap.add_argument("--preview-size", type=int, nargs=2, default=(360, 640),
                    metavar=("W", "H"), help="preview and Workbench resolution")
    ap.add_argument("--preview-frames", type=int, default=48)
    ap.add_argument("--repeat", type=int, default=3, help="preview timings (median)")
    ap.add_argument("--no-workbench", action="store_true",
                    help="skip the Workbench anchor")
    ap.add_argument("--only-preview", action="store_true",
                    help="skip the Cycles overhead and worker benches (1. and 2.)")
    args = ap.parse_args()

    from reskin.pipeline.build import Builder
    from reskin.pipeline.context import BuildContext
    from reskin.pipeline.inputs import load_inputs
    from reskin.pipeline.refs import prop_refs
    from reskin.pipeline.series_init import create_demo
    from reskin.scenes.compile import compile_episode

    tmp = Path(tempfile.mkdtemp(prefix="reskin-bench-"))
    root = create_demo(tmp / "series")
    (root / "series.yaml").write_text(
        f"name: bench\nresolution: [{args.width}, {args.height}]\nfps: 8\n"
        f"render: {{engine: cycles, samples: {args.samples}}}\nstyle: {{stylizer: none}}\n")
    ctx = BuildContext.open(root)
    builder = Builder(ctx)
    cast, episodes, wardrobes = load_inputs(ctx.series)
    episodes = builder.speech(cast, episodes)  # lines timed by their speech, as a build does
    skins = builder.skins(cast, wardrobes)
    plans = {ep.id: compile_episode(ctx.series, ep, {c: s for (c, e), s in skins.items()
                                                     if e == ep.id}, prop_refs(ctx, [ep]))
             for ep in episodes}
    shot = dataclasses.replace(plans[episodes[0].id][0], frame_count=args.frames).to_dict()
    # The preview's target is two skinned characters and a set: the first such shot.
    full = [p for ps in plans.values() for p in ps if len(p.cast) >= 2 and p.stage]
    preview_shot = dataclasses.replace((full or plans[episodes[0].id])[0],
                                       frame_count=args.preview_frames).to_dict()
    print(f"shot: {args.width}x{args.height}, {args.frames} frames, Cycles {args.samples} spp")

    hand = ours = one = fresh = float("nan")
    if not args.only_preview:
        hand, ours, one, fresh = cycles_benches(args, tmp, shot)
    preview = preview_bench(args, tmp, ctx, preview_shot)
    ctx.close()
    print(json.dumps({"bench": "render", "width": args.width, "height": args.height,
                      "handwritten_s": round(hand, 3), "worker_s": round(ours, 3),
                      "overhead_pct": round(100 * (ours / hand - 1), 2),
                      "one_worker_s": round(one, 3), "fresh_per_shot_s": round(fresh, 3),
                      "one_worker_speedup": round(fresh / one, 3), **preview}))


def cycles_benches(args, tmp: Path, shot: dict) -> tuple[float, float, float, float]:  # noqa: ANN001
    """1. and 2.: seconds of the hand-written script, the worker, one worker for many shots
    and a fresh process per shot."""
    from reskin.render.blender.client import BlenderWorker

    # 1. overhead against a hand-written script
    spec = tmp / "shot.json"
    spec.write_text(json.dumps(shot))
    (tmp / "hand").mkdir()
    t = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / "handwritten_shot.py"), str(spec),
                    str(tmp / "hand")], check=True, capture_output=True)
    hand = time.perf_counter() - t
    t = time.perf_counter()
    with BlenderWorker(tmp / "logs" / "w.log") as worker:
        worker.render_shot(shot | {"out_dir": str(tmp / "reskin"),
                                   "frames": list(range(args.frames))})
    ours = time.perf_counter() - t
    print(f"hand-written bpy script: {hand:6.2f} s   reskin worker: {ours:6.2f} s   "
          f"overhead {100 * (ours / hand - 1):+.1f} % (reskin also writes EXR passes)")

    # 2. one worker for many shots vs a fresh process per shot
    shots = [shot | {"frame_count": 2, "frames": [0, 1], "out_dir": str(tmp / f"many/{i}"),
                     "camera": shot["camera"]} for i in range(args.shots)]
    t = time.perf_counter()
    with BlenderWorker(tmp / "logs" / "one.log") as worker:
        for s in shots:
            worker.render_shot(s)
    one = time.perf_counter() - t
    t = time.perf_counter()
    for i, s in enumerate(shots):
        with BlenderWorker(tmp / "logs" / f"fresh{i}.log") as worker:
            worker.render_shot(s | {"out_dir": str(tmp / f"fresh/{i}")})
    fresh = time.perf_counter() - t
    print(f"{args.shots} shots x 2 frames: one worker {one:6.2f} s   fresh process per shot "
          f"{fresh:6.2f} s   speed-up {fresh / one:.2f}x")

    return hand, ours, one, fresh


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
    for samples in (0, 4):  # the default (no multisampling), and 4x
        times = []
        with PreviewRenderer(w, h, samples=samples) as pr:
            pr.render_shot(wb, chars, frames=[0])
            for _ in range(args.repeat):
                t = time.perf_counter()
                pr.render_shot(wb, chars)  # uploads included: one per shot
                times.append(time.perf_counter() - t)
        fps[samples] = frames / float(np.median(times))
        print(f"preview (MSAA {samples}x) {fps[samples]:6.2f} frames/s   Blender Workbench "
              f"{wb_fps:6.2f} frames/s   ratio {fps[samples] / wb_fps:.2f}x "
              f"(median of {args.repeat})")
    return {"preview_width": w, "preview_height": h, "preview_characters": len(shot["cast"]),
            "preview_fps": round(fps[0], 2), "preview_fps_msaa4": round(fps[4], 2),
            "workbench_fps": round(wb_fps, 2),
            "preview_vs_workbench": round(fps[0] / wb_fps, 3)}


if __name__ == "__main__":
    main()
