"""Style regression gates: lock a style's look on reference frames, check it later.

``lock_styles`` takes a small fixed set of reference frames from the series' rendered shots
(the first ``FRAMES`` frames of up to ``SHOTS`` shots, with their passes: the stylizers carry
decisions from frame to frame, so a reference is a short run, not one still), stylizes them
with each named style (the series' own as ``series``, and every ``styles/NAME.yaml``) and
stores inputs, outputs and the style's settings under ``.reskin/style-locks/NAME/``.
``check_styles`` re-stylizes the stored inputs and compares (see
:mod:`reskin.render.stylize.gate`); a style past the thresholds fails with a side-by-side
report image under ``out/style-check/``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from reskin.core.errors import ReskinError

FRAMES = 3
SHOTS = 2


@dataclass
class StyleCheck:
    style: str
    passed: bool
    frames: list[dict] = field(default_factory=list)
    report: str | None = None


def _styles(root: Path):  # noqa: ANN202
    from reskin.scenes.series import load_series, load_style

    series = load_series(root)
    out = {"series": series.style}
    for p in sorted((root / "styles").glob("*.yaml")):
        out[p.stem] = load_style(root, p.stem)
    return series, out


def _reference_shots(series) -> list[Path]:  # noqa: ANN001
    cache = series.library_dir / "cache" / "render"
    done = sorted(p.parent for p in cache.glob("*/done.json")) if cache.is_dir() else []
    if not done:
        raise ReskinError("no rendered shots to lock a style on (run `reskin build` first)",
                          file=cache)
    return done[:SHOTS]


def _frameset(folder: Path):  # noqa: ANN202
    from reskin.pipeline.inputs import load_frameset

    plan = json.loads((folder / "plan.json").read_text())
    return load_frameset(folder, plan)


def _stylizer(series, style, folder: Path):  # noqa: ANN001, ANN202
    """The stylizer a build would use on the shot stored in ``folder`` (with its cast's
    reference renders, for a continuity IP-Adapter)."""
    from reskin.assets.library import Library
    from reskin.pipeline.references import shot_stylizer

    with Library(series.library_dir) as lib:
        return shot_stylizer(lib, style, json.loads((folder / "plan.json").read_text()))


def _stylize(series, style, folder: Path) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    from reskin.render.stylize.warp import instance_of

    frames = _frameset(folder)
    return _stylizer(series, style, folder).stylize(frames), instance_of(frames)


def lock_styles(root: str | Path, only: str | None = None) -> list[str]:
    """Store each style's reference frames (all styles, or ``only``); returns the names."""
    from PIL import Image

    series, styles = _styles(Path(root))
    if only is not None and only not in styles:
        raise ReskinError(f"no style {only!r} (styles: {', '.join(styles)})", field="--style")
    shots = _reference_shots(series)
    locks = series.library_dir / "style-locks"
    names = []
    for name, style in styles.items():
        if only is not None and name != only:
            continue
        dest = locks / name
        shutil.rmtree(dest, ignore_errors=True)
        for i, src in enumerate(shots):
            shot = dest / f"ref{i}"
            shot.mkdir(parents=True)
            plan = json.loads((src / "done.json").read_text())["plan"]
            n = min(FRAMES, plan["frame_count"])
            for f in range(n):
                for stem in ("beauty", "passes"):
                    ext = "png" if stem == "beauty" else "exr"
                    p = src / f"{stem}_{f:04d}.{ext}"
                    if p.exists():
                        shutil.copy2(p, shot / p.name)
            plan = dict(plan, frame_count=n)
            if plan.get("camera_path"):
                plan["camera_path"] = plan["camera_path"][:n]
            (shot / "plan.json").write_text(json.dumps(plan))
            styled, _ = _stylize(series, style, shot)
            for f, img in enumerate(styled):
                Image.fromarray(img).save(shot / f"locked_{f:04d}.png")
        (dest / "style.json").write_text(json.dumps(_stylizer(series, style, dest / "ref0").key(),
                                                    default=str, indent=1))
        names.append(name)
    return names


def check_styles(root: str | Path, only: str | None = None) -> list[StyleCheck]:
    """Re-stylize every locked style's reference frames and compare with the locked ones."""
    from PIL import Image

    from reskin.render.stylize.gate import compare_frame, side_by_side

    series, styles = _styles(Path(root))
    locks = series.library_dir / "style-locks"
    results = []
    for name, style in styles.items():
        if (only is not None and name != only) or not (locks / name).is_dir():
            continue
        check = StyleCheck(name, True)
        olds, news, labels = [], [], []
        for shot in sorted((locks / name).glob("ref*")):
            styled, inst = _stylize(series, style, shot)
            for f, now in enumerate(styled):
                old = np.asarray(Image.open(shot / f"locked_{f:04d}.png").convert("RGB"))
                v = compare_frame(old, now, inst[f])
                check.frames.append({"ref": f"{shot.name}/{f}"} | asdict(v))
                check.passed &= v.passed
                olds.append(old)
                news.append(now)
                labels.append(f"{shot.name}/{f} ssim {v.ssim:.3f} hist {v.histogram:.3f}")
        if not check.passed:
            out = series.out_dir / "style-check" / f"{name}.png"
            check.report = str(side_by_side(np.stack(olds), np.stack(news), out, labels))
        results.append(check)
    if only is not None and not results:
        raise ReskinError(f"style {only!r} is not locked (run `reskin style lock`)",
                          file=locks)
    return results


def locked(root: str | Path, name: str) -> bool:
    """Whether style ``name`` ('series' or a styles/NAME.yaml stem) has stored lock frames."""
    from reskin.scenes.series import load_series

    return (load_series(root).library_dir / "style-locks" / name / "style.json").is_file()


def require_unchanged(root: str | Path, name: str) -> StyleCheck | None:
    """The build's gate: when style ``name`` is locked, re-stylize its reference frames and
    raise one line naming the report image if they moved. None when it is not locked."""
    if not locked(root, name):
        return None
    (check,) = check_styles(root, name)
    if not check.passed:
        worst = min((f["ssim"] for f in check.frames), default=1.0)
        raise ReskinError(f"style {name!r} no longer matches its lock (lowest ssim "
                          f"{worst:.3f}); report: {check.report} (re-lock it with `reskin "
                          "style lock`, or build with --skip-style-check)",
                          field=f"style.{name}")
    return check
