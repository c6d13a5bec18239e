"""Clean frames from few samples: quality per second of Cycles with and without denoising.

A demo frame (two characters on the set, small resolution) rendered at 512 samples without
denoising is the reference; the same frame at 4, 8, 16 and 32 samples, noisy, denoised
(OpenImageDenoise, albedo + normal guides) and denoised with adaptive sampling, is compared
with it: PSNR and SSIM of the display image (composited over the series' backdrop, 8 bit, as
the stylizer sees it), and seconds per frame (the worker's render + PNG time). The default
the demo ships with is the cheapest setting whose PSNR is at least that of today's default
(32 samples, noisy).

Run: .venv/bin/python bench/denoise.py [--width 180 --height 320]
     .venv/bin/python bench/denoise.py --frame-1080 [--no-table]   (1080x1920: a 1/64 crop of
     two shots against its own 512-sample reference, today's default and 1-4 samples
     denoised; full frames at today's default and at the fewest samples that hold, with the
     worker's CPU seconds beside the wall seconds, since the machine is shared)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

DEMO_DEFAULT = {"samples": 32, "denoise": False, "noise_threshold": 0.0}
"""What `reskin init` and the demo rendered with before: 32 samples, no denoiser."""


def display(png: Path, background=(0.93, 0.89, 0.82)) -> np.ndarray:
    """(h, w, 3) float64 in 0..1: the PNG over the backdrop colour."""
    from PIL import Image

    rgba = np.asarray(Image.open(png).convert("RGBA"), np.float64) / 255.0
    a = rgba[..., 3:]
    return np.round((rgba[..., :3] * a + np.asarray(background) * (1 - a)) * 255) / 255


def psnr(img: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((img - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def ssim(img: np.ndarray, ref: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(img, ref, channel_axis=-1, data_range=1.0))


def render(worker, shot: dict, out: Path, frame: int, **settings) -> tuple[Path, float]:
    """Render ``frame`` of ``shot`` with ``settings`` into ``out``; (PNG, seconds of render
    and PNG write)."""
    reply = worker.render_shot(shot | settings | {"out_dir": str(out), "frames": [frame]})
    seconds = reply["phases"]["render"] + reply["phases"].get("png", 0.0)
    return out / f"beauty_{frame:04d}.png", seconds


SETTINGS = ("samples", "denoise", "denoise_prefilter", "noise_threshold")


def variants(n: int) -> list[dict]:
    """The settings tried at ``n`` samples: noisy, denoised (fast and, at few samples, accurate
    guides), and noisy with adaptive sampling where there are samples to adapt."""
    out = [{"denoise": False, "noise_threshold": 0.0},
           {"denoise": True, "denoise_prefilter": "fast", "noise_threshold": 0.0}]
    if n <= 8:
        out.append({"denoise": True, "denoise_prefilter": "accurate", "noise_threshold": 0.0})
    if n >= 16:
        out += [{"denoise": False, "noise_threshold": t} for t in (0.01, 0.05)]
    return [{"samples": n, "denoise_prefilter": "fast"} | v for v in out]


def label(row: dict) -> str:
    dn = f"denoise {row['denoise_prefilter']:8s}" if row["denoise"] else "denoise off     "
    return (f"{row['samples']:4d} spp  {dn}  adaptive "
            f"{row['noise_threshold'] or 'off':>4}")


def measure(worker, shot: dict, tmp: Path, frame: int, ref: np.ndarray, settings: dict,
            name: str) -> dict:
    png, s = render(worker, shot, tmp / name, frame, passes=[], **settings)
    img = display(png)
    row = settings | {"psnr": round(psnr(img, ref), 2), "ssim": round(ssim(img, ref), 4),
                      "seconds": round(s, 3)}
    print(f"{label(row)}  PSNR {row['psnr']:6.2f} dB  SSIM {row['ssim']:.4f}  "
          f"{s:6.2f} s/frame", flush=True)
    return row


def table(worker, shot: dict, tmp: Path, frame: int, sample_counts: list[int],
          ref_samples: int) -> tuple[list[dict], float]:
    """One row per setting of :func:`variants`; and the reference's seconds."""
    ref_png, ref_s = render(worker, shot, tmp / "ref", frame, samples=ref_samples,
                            denoise=False, noise_threshold=0.0, passes=[])
    ref = display(ref_png)
    rows = [measure(worker, shot, tmp, frame, ref, v, f"t{i}-{n}")
            for n in sample_counts for i, v in enumerate(variants(n))]
    return rows, ref_s


def is_today(row: dict) -> bool:
    return (row["samples"] == DEMO_DEFAULT["samples"] and not row["denoise"]
            and not row["noise_threshold"])


def choose(rows: list[dict]) -> dict:
    """The cheapest setting at least as close to the reference as today's default: fewest
    samples (a cost that does not move with the machine's load), then fast guides, then
    without adaptive sampling."""
    today = next(r for r in rows if is_today(r))
    good = [r for r in rows if r["psnr"] >= today["psnr"]]
    return min(good, key=lambda r: (r["samples"], r["denoise_prefilter"] != "fast",
                                    r["noise_threshold"] > 0, -r["psnr"]))


CROP = [0.62, 0.06, 0.745, 0.185]
"""x0, y0, x1, y1 (fractions, y from the top) of the two-shot: a face, hair and a sweater;
1/64 of the frame, so its 512-sample reference costs a minute, not hours."""

OTHER_CROP = [0.4375, 0.4375, 0.5625, 0.5625]
"""The centre 1/64 of another shot's frame (not chosen for its content: in the demo it is a
striped shirt, flat colour with sharp edges, where 32 raw samples are already close)."""

CANDIDATES_1080 = (1, 2, 3, 4)
"""Samples tried, denoised, at 1080x1920."""


def worker_cpu(worker) -> float:
    """CPU seconds the worker process has used (Linux ``/proc``; NaN elsewhere): on a shared
    machine a steadier cost than wall seconds, which move with the other processes' load."""
    try:
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def full_frame(worker, shot: dict, out: Path, frame: int, settings: dict) -> dict:
    """One 1080x1920 frame with the stylizer's passes: seconds (render + PNG + EXR), the
    worker's CPU seconds, the phases and the render's split (sync / trace / after)."""
    cpu = worker_cpu(worker)
    reply = worker.render_shot(shot | settings | {"out_dir": str(out), "frames": [frame]})
    ph = reply["phases"]
    cache = sum(p.stat().st_size for p in out.glob(f"*_{frame:04d}.*"))
    return {"settings": settings,
            "seconds": round(ph["render"] + ph.get("png", 0.0) + ph.get("exr", 0.0), 2),
            "cpu_seconds": round(worker_cpu(worker) - cpu, 2), "phases": ph,
            "render_split": reply.get("render_split", {}), "cache_bytes": cache}


def frame_1080(worker, crops: list[tuple[str, dict, int, list[float]]], tmp: Path,
               size: tuple[int, int] = (1080, 1920)) -> dict:
    """The 1080x1920 default. On each crop of ``crops`` ((name, shot, frame, box)), a 512-sample
    render is the reference, and today's default (32 samples, noisy) and
    :data:`CANDIDATES_1080` samples, denoised, are compared with it; the default is the fewest
    samples at least as close as today's on every crop. Then full frames of the first shot:
    today's default, that default and the fewest samples that hold on the first crop alone."""
    from reskin.scenes.series import RenderSettings

    threshold = RenderSettings().noise_threshold
    settings = [dict(DEMO_DEFAULT, denoise_prefilter="fast")] + [
        {"samples": n, "denoise": True, "denoise_prefilter": "fast", "noise_threshold": threshold}
        for n in CANDIDATES_1080]
    per_crop = {}
    for name, shot, frame, box in crops:
        crop = shot | {"width": size[0], "height": size[1], "border": box}
        ref_png, ref_s = render(worker, crop, tmp / f"{name}-ref", frame, samples=512,
                                denoise=False, noise_threshold=0.0, passes=[])
        ref = display(ref_png)
        print(f"1080x1920 crop '{name}' ({crop['name']} frame {frame}, {box}): reference "
              f"512 spp {ref_s:.1f} s", flush=True)
        per_crop[name] = [measure(worker, crop, tmp, frame, ref, v, f"{name}-{i}")
                          for i, v in enumerate(settings)]

    def holds(i: int, names: list[str]) -> bool:
        return all(per_crop[n][i]["psnr"] >= per_crop[n][0]["psnr"] for n in names)

    names = list(per_crop)
    every = next((i for i in range(1, len(settings)) if holds(i, names)), None)
    first = next((i for i in range(1, len(settings)) if holds(i, names[:1])), None)
    _, shot, frame, _ = crops[0]
    full = shot | {"width": size[0], "height": size[1]}
    frames = {"today": full_frame(worker, full, tmp / "full-today", frame, settings[0])}
    for key, i in (("every_crop", every), ("first_crop", first)):
        if i is not None and (key == "every_crop" or i != every):
            frames[key] = full_frame(worker, full, tmp / f"full-{key}", frame, settings[i])
    today = frames["today"]
    for key, f in frames.items():
        f["ratio"] = round(today["seconds"] / f["seconds"], 2)
        f["cpu_ratio"] = round(today["cpu_seconds"] / f["cpu_seconds"], 2)
        print(f"1080x1920 frame, {key:10s} {f['settings']['samples']:3d} spp "
              f"{'denoised' if f['settings']['denoise'] else 'noisy   '}: {f['seconds']:7.1f} s "
              f"({f['ratio']:5.2f}x today), worker CPU {f['cpu_seconds']:7.1f} s "
              f"({f['cpu_ratio']:5.2f}x), phases {f['phases']}, render split "
              f"{f['render_split']}, cache {f['cache_bytes'] / 1e6:.2f} MB", flush=True)
    rows = [{"settings": {k: v[k] for k in SETTINGS}} | {
        n: {"psnr": per_crop[n][i]["psnr"], "seconds": per_crop[n][i]["seconds"]}
        for n in names} for i, v in enumerate(settings)]
    return {"crops": {n: {"shot": s["name"], "frame": f, "box": b} for n, s, f, b in crops},
            "crop_rows": rows, "default_1080": settings[every] if every else None,
            "default_1080_first_crop": settings[first] if first else None,
            "full_frames": frames}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=180)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--reference", type=int, default=512)
    ap.add_argument("--frame-1080", action="store_true",
                    help="also render 1080x1920 frames and crops of two shots (minutes)")
    ap.add_argument("--no-table", action="store_true",
                    help="with --frame-1080: only the 1080x1920 part")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under python -P
    from demo_shots import demo_plans, full_shot

    from reskin.render.blender.client import BlenderWorker

    tmp = Path(tempfile.mkdtemp(prefix="reskin-denoise-"))
    ctx, plans = demo_plans(tmp, args.width, args.height, "{engine: cycles}")
    plan = full_shot(plans)
    other = next(p for ps in plans.values() for p in ps if p.name != plan.name)
    ctx.close()
    shot = plan.to_dict()
    frame = plan.frame_count // 2
    small = {}
    with BlenderWorker(tmp / "w.log") as worker:
        if not (args.no_table and args.frame_1080):
            print(f"shot {plan.name} frame {frame}: {args.width}x{args.height}, reference "
                  f"{args.reference} spp")
            rows, ref_s = table(worker, shot, tmp, frame, args.samples, args.reference)
            chosen = choose(rows)
            print(f"reference: {ref_s:.2f} s/frame. Chosen default: {label(chosen)} (the "
                  f"fewest samples at least as close to the reference as 32 samples without "
                  f"denoising)")
            small = {"width": args.width, "height": args.height,
                     "reference_samples": args.reference, "reference_seconds": round(ref_s, 3),
                     "rows": rows, "chosen": chosen}
        big = frame_1080(worker, [("two-shot face", shot, frame, CROP),
                                  ("other shot centre", other.to_dict(),
                                   other.frame_count // 4, OTHER_CROP)],
                         tmp) if args.frame_1080 else {}
    print(json.dumps({"bench": "denoise", **small, **big}))


if __name__ == "__main__":
    main()
