"""Interactive episodes: ``reskin export web`` (an offline web package that plays branches)."""

from __future__ import annotations

from pathlib import Path

import click

from reskin.cli import _SERIES, _log, main


@main.group()
def export() -> None:
    """Hand an episode to other tools: a web package (interactive episodes), an editorial
    timeline (OpenTimelineIO).

    \b
    Examples:
      reskin export web ep01 -s my-series -o site/ep01
      reskin export otio ep05 -s my-series -o ep05.otio
    """


@export.command("web")
@click.argument("episode")
@_SERIES
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="The folder to write (made or refreshed).")
@click.option("--quiet", "-q", is_flag=True, help="No warnings on stderr.")
def web(episode: str, root: Path, out_dir: Path, quiet: bool) -> None:
    """Write EPISODE as a static web package: index.html, a small player, the shot MP4s,
    WebVTT subtitles and the branch graph. It plays offline, choices and all.

    \b
    Examples:
      reskin export web ep03 -s my-series -o site/ep03
    """
    from reskin.pipeline.web_export import export_web

    package = export_web(root, episode, out_dir)
    log = _log(quiet)
    for warning in package.warnings:
        log(f"warning: {warning}")
    click.echo(f"{episode}: {len(package.shots)} shots -> {package.index}")
