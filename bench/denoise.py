"""Clean frames from few samples: quality per second of Cycles with and without denoising.

A demo frame (two characters on the set, small resolution) rendered at 512 samples without
denoising is the reference; the same frame at 4, 8, 16 and 32 samples, noisy, denoised
(OpenImageDenoise, albedo + normal guides) and denoised with adaptive sampling, is compared
with it: PSNR and SSIM of the display image (composited over the series' backdrop, 8 bit, as
the stylizer sees it), and seconds per frame (the worker's render + PNG time). The default
the demo ships with is the cheapest setting whose PSNR is at least that of today's default
(32 samples, noisy).

Run: .venv/bin/python bench/denoise.py [--width 180 --height 320]
     .venv/bin/python bench/denoise.py --frame-1080   (one 1080x1920 frame at the new
     defaults, and a crop of it against a 512-sample reference of that crop)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
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
1/64 of the frame, so its 512-sample reference costs minutes, not hours."""


def frame_1080(worker, shot: dict, tmp: Path, frame: int) -> dict:
    """The 1080x1920 default: a crop (:data:`CROP`) at 512 samples (the reference), today's
    default (32 samples, noisy) and candidates (2 and 4 samples, denoised); the fewest samples
    at least as close as today's is the default; then one full frame at it (seconds, cache
    bytes with the toon stylizer's passes)."""
    from reskin.scenes.series import RenderSettings

    full = shot | {"width": 1080, "height": 1920}
    crop = full | {"border": CROP}
    ref_png, ref_s = render(worker, crop, tmp / "crop-ref", frame, samples=512, denoise=False,
                            noise_threshold=0.0, passes=[])
    ref = display(ref_png)
    print(f"1080x1920 crop {CROP}: reference 512 spp {ref_s:.1f} s")
    today = measure(worker, crop, tmp, frame, ref, dict(DEMO_DEFAULT, denoise_prefilter="fast"),
                    "crop-today")
    rows = [today] + [measure(worker, crop, tmp, frame, ref, v, f"crop-{n}")
                      for n in (2, 4)
                      for v in [{"samples": n, "denoise": True, "denoise_prefilter": "fast",
                                 "noise_threshold": RenderSettings().noise_threshold}]]
    chosen = choose(rows)
    settings = {k: chosen[k] for k in SETTINGS}
    t = time.perf_counter()
    _, seconds = render(worker, full, tmp / "full", frame, **settings)
    wall = time.perf_counter() - t
    cache = sum(p.stat().st_size for p in (tmp / "full").glob(f"*_{frame:04d}.*"))
    print(f"1080x1920 frame at {label(chosen)}: {seconds:.1f} s render + PNG ({wall:.1f} s "
          f"with the passes), cache {cache / 1e6:.2f} MB/frame; crop: today "
          f"{today['seconds']:.1f} s -> {chosen['seconds']:.1f} s "
          f"({today['seconds'] / chosen['seconds']:.1f}x), PSNR {today['psnr']:.2f} -> "
          f"{chosen['psnr']:.2f} dB")
    return {"crop": CROP, "crop_reference_seconds": round(ref_s, 2), "crop_rows": rows,
            "default_1080": chosen, "full_seconds": round(seconds, 2),
            "full_wall_seconds": round(wall, 2), "full_cache_bytes": cache,
            "crop_speedup": round(today["seconds"] / chosen["seconds"], 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=180)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--reference", type=int, default=512)
    ap.add_argument("--frame-1080", action="store_true",
                    help="also render one 1080x1920 frame and a crop of it (minutes)")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # also under python -P
    from demo_shots import demo_plans, full_shot

    from reskin.render.blender.client import BlenderWorker

    tmp = Path(tempfile.mkdtemp(prefix="reskin-denoise-"))
    ctx, plans = demo_plans(tmp, args.width, args.height, "{engine: cycles}")
    plan = full_shot(plans)
    ctx.close()
    shot = plan.to_dict()
    frame = plan.frame_count // 2
    print(f"shot {plan.name} frame {frame}: {args.width}x{args.height}, reference "
          f"{args.reference} spp")
    with BlenderWorker(tmp / "w.log") as worker:
        rows, ref_s = table(worker, shot, tmp, frame, args.samples, args.reference)
        chosen = choose(rows)
        print(f"reference: {ref_s:.2f} s/frame. Chosen default: {label(chosen)} (the fewest "
              f"samples at least as close to the reference as 32 samples without denoising)")
        big = frame_1080(worker, shot, tmp, frame) if args.frame_1080 else {}
    print(json.dumps({"bench": "denoise", "width": args.width, "height": args.height,
                      "reference_samples": args.reference, "reference_seconds": round(ref_s, 3),
                      "rows": rows, "chosen": chosen, **big}))


if __name__ == "__main__":
    main()
