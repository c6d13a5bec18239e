"""Style commands: lock a style's look on reference frames, check it has not moved."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from reskin.cli import _SERIES, main


@main.group()
def style() -> None:
    """Style regression gates (reference frames stored when a style is locked).

    \b
    Examples:
      reskin style lock -s my-series
      reskin style check -s my-series --style ink
    """


@style.command("lock")
@_SERIES
@click.option("--style", "name", default=None, help="Only this style (default: all).")
def lock(root: Path, name: str | None) -> None:
    """Store each style's reference frames, stylized as it is now.

    \b
    Examples:
      reskin style lock -s my-series
    """
    from reskin.pipeline.style_gate import lock_styles

    for n in lock_styles(root, name):
        click.echo(f"locked {n}")


@style.command("check")
@_SERIES
@click.option("--style", "name", default=None, help="Only this style (default: all locked).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def check(root: Path, name: str | None, as_json: bool) -> None:
    """Re-stylize the locked reference frames and compare (SSIM + masked colour histograms);
    exit 1 with a side-by-side report image when a style moved.

    \b
    Examples:
      reskin style check -s my-series
    """
    from reskin.pipeline.style_gate import check_styles

    results = check_styles(root, name)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in results], indent=1))
    else:
        for r in results:
            worst = min((f["ssim"] for f in r.frames), default=1.0)
            line = f"{r.style}: {'ok' if r.passed else 'CHANGED'} (lowest ssim {worst:.3f})"
            click.echo(line + (f"; report: {r.report}" if r.report else ""))
    if not all(r.passed for r in results):
        raise SystemExit(1)
